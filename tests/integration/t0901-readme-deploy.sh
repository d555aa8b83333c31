#!/usr/bin/env bash
# t0901-readme-deploy: the README's one-machine deploy ("From one machine
# to a cluster", step 1), run as written. The commands are not copied
# here: they are read at run time from README.md, the fenced ```sh block
# right after "**1. One machine.**", so the README and this test cannot
# drift apart. Each command of the block (a line, or several joined by a
# trailing backslash or an open quote) runs in this shell, in order, as
# one TAP line "README step: <command>", until one fails; `cd`, `B=` and
# `export` carry over to the next as they do in a terminal. Then the job
# that the README's `submit ... --wait` printed must have succeeded with
# `wc -w` of the file it submitted.
#
# Substitutions, made with sed on the extracted lines, and nothing else:
#   /opt/cloud-crowd/build/release/  -> $REPO/build/$VARIANT/ (B=: the
#                                       build under test)
#   /opt/cloud-crowd                 -> $REPO (this checkout)
#   `&& make` ending the line        -> `&& make VARIANT=$VARIANT` (the same
#                                       variant; `make deps` runs as written)
#   /etc/cloud-crowd                 -> $T/etc/cloud-crowd (a temp config
#                                       folder; pid_path, log_path and the
#                                       storage default to folders in it)
#   the line `systemctl enable --now mariadb ...`
#                                    -> readme_start_mariadb: a private
#                                       mariadbd (--no-defaults, no TCP
#                                       port) on a datadir and socket under
#                                       $T/mysql, the datadir made as the
#                                       mariadb-server package makes
#                                       /var/lib/mysql (mariadb-install-db:
#                                       root@localhost by unix_socket)
#   `mariadb ` starting a line       -> `mariadb --socket=$T/mysql/mysqld.sock `
#                                       (root over the unix socket, as
#                                       Debian's root gets in)
#   `crowd install DIR`              -> the same plus --set server_port=P
#                                       --set node_port=N --set
#                                       central_server=http://localhost:P
#                                       (free ports claimed as stack/lib.sh
#                                       does, not 9173 and 9063) and --set
#                                       database.socket=$T/mysql/mysqld.sock
# A substitution that applies to no line is a failure (the README changed:
# change this list with it). The systemd unit and the init script that the
# MariaDB start line names (`systemctl ... mariadb`, and the `service
# mariadb start` of its comment) must exist. CROWD_CONFIG and
# CLOUD_CROWD_CONFIG are unset first (the README exports the latter), and
# so are MAKEFLAGS and MAKELEVEL (set under `make test`; a terminal has
# none). Each step may take STEP_TIMEOUT seconds (default 300). As root only (the
# README's "As root"), and not in the asan variant (a slow scenario, run
# by the release build). The exit trap stops whatever was started, on
# failure too: crowd node stop, crowd server stop, the private mariadbd,
# then any process still naming $T; $T is kept (logs shown) on failure.
# T0901_README=FILE reads the block from FILE instead of README.md (to see
# the test fail on a broken copy).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

README=${T0901_README:-$REPO/README.md} # another copy, to try a broken README
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
PATH=$PATH:/usr/sbin:/sbin
unset CROWD_CONFIG CLOUD_CROWD_CONFIG MAKEFLAGS MFLAGS MAKELEVEL

if [[ $VARIANT == asan ]]; then
	skip "README one-machine deploy" "a slow scenario, run in the release variant only"
	done_testing
fi
if ((EUID != 0)); then
	skip "README one-machine deploy" "the README's step 1 runs as root"
	done_testing
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/crowd-$TEST_NAME.XXXXXX") || { not_ok "mktemp"; done_testing; }
CONF=$T/etc/cloud-crowd
SOCK=$T/mysql/mysqld.sock
CROWD=$REPO/build/$VARIANT/bin/crowd
mkdir -p "$T/run" "$T/log" "$T/mysql/tmp" "$T/steps"

# ---- cleanup: whatever happens, stop what the test started ------------------
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
# ours: live pids whose command line names $T (every process the steps start
# is given a path in it: -c $CONF, --datadir=...), but not this script's
ours() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		[[ $(tr '\0' ' ' 2>/dev/null <"$f") == *"$T/"* ]] && alive "$p" && printf '%s\n' "$p"
	done
}
mariadbd_pid() {
	local p=""
	[[ -r $T/mysql/mariadbd.pid ]] && read -r p <"$T/mysql/mariadbd.pid"
	[[ -z $p && -r $T/mysql/launch.pid ]] && read -r p <"$T/mysql/launch.pid"
	[[ $p =~ ^[0-9]+$ ]] && printf '%s\n' "$p"
}
stop_node() { [[ -f $CONF/crowd.conf && -x $CROWD ]] && "$CROWD" -c "$CONF" node stop >>"$T/log/stop.out" 2>&1; }
stop_server() { [[ -f $CONF/crowd.conf && -x $CROWD ]] && "$CROWD" -c "$CONF" server stop >>"$T/log/stop.out" 2>&1; }
stop_mariadb() {
	local p
	p=$(mariadbd_pid)
	[[ -n $p ]] && alive "$p" || return 0
	[[ $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") == *"$T/"* ]] || return 0
	kill -TERM "$p" 2>/dev/null
	wait_until 60 bash -c '! kill -0 "$1" 2>/dev/null || [[ $(awk "{print \$3}" /proc/$1/stat 2>/dev/null) == Z ]]' _ "$p"
}
cleanup() {
	local rc=$1 p f
	stop_node
	stop_server
	stop_mariadb
	for p in $(ours); do
		printf '# still running, killed: %s: %s\n' "$p" "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"
		kill -KILL "$p" 2>/dev/null
	done
	bash -c '. "$1/stack/lib.sh"; release_ports "$2"' _ "$REPO" "$T"
	# shellcheck disable=SC2154  # both are set by lib.sh
	if ((rc != 0 || _tap_failed > 0 || !_tap_done)); then
		printf '# kept %s; last lines of its logs:\n' "$T"
		for f in "$T"/log/* "$CONF"/log/* "$T"/steps/*; do
			[[ -s $f ]] || continue
			printf '# --- %s\n' "$f"
			tail -n 12 -- "$f" | cut -c 1-300 | sed 's/^/#   /'
		done
	else
		rm -rf -- "$T"
	fi
}
trap 'rc=$?; cleanup "$rc"; exit "$rc"' EXIT

# ---- ports, and a MariaDB datadir as the Debian package leaves it -----------
base=$(bash -c '. "$1/stack/lib.sh"; claim_block 2 "$2"' _ "$REPO" "$T") ||
	{ not_ok "claim 2 free ports"; done_testing; }
PORT=$base
NODE_PORT=$((base + 1))

if mariadb-install-db --no-defaults --user=root --datadir="$T/mysql/data" \
	--skip-name-resolve --skip-test-db >"$T/log/mariadb-install.out" 2>&1; then
	ok "a MariaDB datadir as mariadb-server makes it (mariadb-install-db, root by unix_socket)"
else
	not_ok "mariadb-install-db --datadir=$T/mysql/data"
	done_testing
fi

# readme_start_mariadb: what stands for the README's MariaDB start line: a
# private mariadbd on that datadir, in its own session, ready when it
# answers a ping on its socket.
readme_start_mariadb() {
	rm -f -- "$SOCK"
	(
		setsid mariadbd --no-defaults --user=root --datadir="$T/mysql/data" \
			--socket="$SOCK" --skip-networking --pid-file="$T/mysql/mariadbd.pid" \
			--log-error="$T/log/mariadb.err" --tmpdir="$T/mysql/tmp" \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--skip-log-bin --innodb-log-file-size=16M --innodb-buffer-pool-size=64M \
			</dev/null >>"$T/log/mariadbd.out" 2>&1 &
		echo "$!" >"$T/mysql/launch.pid"
	)
	wait_until 60 mariadb-admin --no-defaults --socket="$SOCK" ping && return 0
	echo "mariadbd on $SOCK did not answer in 60 s; $T/log/mariadb.err:" >&2
	tail -n 20 "$T/log/mariadb.err" >&2 2>/dev/null
	return 1
}

# ---- the README's block --------------------------------------------------------
mapfile -t block < <(awk '
	/^\*\*1\. One machine\.\*\*/ { found = 1; next }
	found && !inblock && /^\*\*[0-9]+\./ { exit }
	found && !inblock && /^```sh[[:space:]]*$/ { inblock = 1; next }
	inblock && /^```[[:space:]]*$/ { exit }
	inblock { print }
' "$README")
if ((${#block[@]} == 0)); then
	not_ok "README.md has a \`\`\`sh block after **1. One machine.**"
	done_testing
fi
# commands: a line, joined with the next while it ends in a backslash or
# leaves a quote open (bash -n tells)
cmds=()
buf=""
for line in "${block[@]}"; do
	buf+=${buf:+$'\n'}$line
	[[ $line == *\\ ]] && continue
	bash -n -c "$buf" 2>/dev/null || continue
	[[ $buf =~ ^[[:space:]]*(#.*)?$ ]] || cmds+=("$buf")
	buf=""
done
if [[ -n $buf ]]; then
	not_ok "README step 1: every command is complete"
	diag "unfinished: $buf"
	done_testing
fi
ok "README step 1: ${#cmds[@]} commands read from README.md"

# ---- substitutions -------------------------------------------------------------
sedq() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }  # quoted for a replacement
rules=(
	"B=: the build under test|s|/opt/cloud-crowd/build/release/|$(sedq "$REPO/build/$VARIANT/")|g"
	"/opt/cloud-crowd: the checkout|s|/opt/cloud-crowd|$(sedq "$REPO")|g"
	"make: the variant under test|s|&& make\$|\\&\\& make VARIANT=$(sedq "$VARIANT")|"
	"/etc/cloud-crowd: a temp config folder|s|/etc/cloud-crowd|$(sedq "$CONF")|g"
	"the MariaDB start line: a private mariadbd|s|^systemctl enable --now mariadb\\([[:space:]].*\\)\\{0,1\\}\$|readme_start_mariadb|"
	"mariadb client: its socket|s|^mariadb |mariadb --socket=$(sedq "$SOCK") |"
	"crowd install: ports and the database socket|s|crowd install \\([^ ]*\\)|crowd install \\1 --set server_port=$PORT --set node_port=$NODE_PORT --set central_server=http://localhost:$PORT --set database.socket=$(sedq "$SOCK")|"
)
sed_args=()
all=$(printf '%s\n' "${cmds[@]}")
for r in "${rules[@]}"; do
	desc=${r%%|*}
	expr=${r#*|}
	sed_args+=(-e "$expr")
	if [[ $(sed -e "$expr" <<<"$all") == "$all" ]]; then
		not_ok "substitution applies to a README line: $desc"
		diag "sed -e '$expr' changes no line of the block: the README's step 1 lost that line, or changed it (then change this test's substitutions with it)"
	fi
done
((_tap_failed == 0)) || done_testing

# The MariaDB start line names its systemd unit and, in its comment, the
# command without systemd: both must exist on this Debian.
start_line=$(printf '%s\n' "${cmds[@]}" | grep -m1 '^systemctl enable --now mariadb')
unit=$(sed -n 's/^systemctl enable --now \([a-z0-9_@.-]*\).*/\1/p' <<<"$start_line")
svc=$(sed -n 's/.*#.*service \([a-z0-9_.-]*\) start.*/\1/p' <<<"$start_line")
if [[ -z $svc ]]; then
	not_ok "the MariaDB start line says how to start it without systemd (service NAME start)"
else
	check "without systemd: /etc/init.d/$svc exists (service $svc start)" test -x "/etc/init.d/$svc"
fi
check "with systemd: the $unit unit exists" \
	bash -c 'for d in /lib/systemd/system /usr/lib/systemd/system /etc/systemd/system; do [[ -e $d/$1.service ]] && exit 0; done; exit 1' _ "$unit"

# ---- run each step -------------------------------------------------------------
# run_step I CMD: CMD in this shell (so cd, B= and export carry over), stdout
# and stderr to $T/steps/I.out and I.err. A watchdog (its own bash, so no
# trap of this script runs in it; told to end by a file, not a signal)
# stops this shell's children (the step's command) after STEP_TIMEOUT s.
run_step() {
	local i=$1 cmd=$2 wd rc flag=$T/steps/timed-out
	rm -f -- "$flag" "$flag.done"
	# shellcheck disable=SC2016 # expanded by the watchdog's bash
	bash -c 'end=$((SECONDS + $1))
		while ((SECONDS < end)); do [[ -e $2.done ]] && exit 0; sleep 0.2; done
		touch "$2"
		for p in $(pgrep -P "$3"); do [[ $p == "$$" ]] || kill -TERM "$p"; done' \
		_ "$STEP_TIMEOUT" "$flag" "$$" </dev/null >/dev/null 2>&1 &
	wd=$!
	eval "$cmd" </dev/null >"$T/steps/$i.out" 2>"$T/steps/$i.err"
	rc=$?
	touch "$flag.done"
	wait "$wd"
	[[ -e $flag ]] && echo "(stopped after $STEP_TIMEOUT s)" >>"$T/steps/$i.err"
	return "$rc"
}

submit_i=""
i=0
for cmd in "${cmds[@]}"; do
	i=$((i + 1))
	desc=${cmd%%$'\n'*}
	desc=$(sed -E 's/[[:space:]]{2,}#.*$//; s/[[:space:]]*\\$//' <<<"$desc")
	[[ $cmd == *$'\n'* ]] && desc+=" ..."
	run=$(sed "${sed_args[@]}" <<<"$cmd")
	t0=$SECONDS
	if run_step "$i" "$run"; then
		ok "README step: $desc"
		((SECONDS - t0 < 10)) || diag "(took $((SECONDS - t0)) s)"
	else
		rc=$?
		not_ok "README step: $desc"
		diag "exit status $rc; ran: $run"
		diag "stdout: $(tail -n 15 "$T/steps/$i.out" | cut -c 1-300)"
		diag "stderr: $(tail -n 15 "$T/steps/$i.err" | cut -c 1-300)"
		diag "later steps not run"
		done_testing
	fi
	[[ $cmd == *" submit "*--wait* ]] && submit_i=$i
done

# ---- the job's total -------------------------------------------------------------
if [[ -z $submit_i ]]; then
	not_ok "the README's step 1 ends with a submit ... --wait"
	done_testing
fi
job=$(tail -n 1 "$T/steps/$submit_i.out")
file=$(grep -o 'file://[^ ]*' <<<"${cmds[submit_i - 1]}" | head -n 1)
file=${file#file://}
words=$(wc -w <"$file")
is "$(jq -r .status <<<"$job" 2>/dev/null)" succeeded "the submitted job succeeded"
is "$(jq -c .outputs <<<"$job" 2>/dev/null)" "[$words]" "its output is wc -w of $file ($words)"

# ---- stop what the README started ---------------------------------------------
check "crowd node stop" stop_node
check "crowd server stop" stop_server
check "the private mariadbd stops" stop_mariadb
left=$(ours)
is "$left" "" "no process the test started is left running"

done_testing
