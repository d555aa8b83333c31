# stack/lib.sh - shell functions shared by the stack scripts (start.sh,
# stop.sh, demo.sh). Sourced, never run. Every message carries an ISO-8601
# UTC time and the script's name; errors go to stderr.
#
# Background processes are started with `spawn`: each runs in its own
# session (setsid, so it outlives the caller's terminal and process group)
# and writes its own pid file before it execs, so the pid is exact whether
# or not setsid had to fork.  `stop_pid` only signals a pid whose command
# line still names the stack folder, so a stale pid file can never make us
# kill a stranger that reused the pid.

# shellcheck shell=bash

STACK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(cd "$STACK_LIB_DIR/.." && pwd)}
PROG=${PROG:-$(basename "$0" .sh)}

# Ports the stack scripts pick from when none is given: below Linux's
# ephemeral range (32768-60999) and far from the demo's fixed ports
# (9173 nginx, 9063 node, 9306 MariaDB).
PORT_MIN=${CROWD_PORT_MIN:-20000}
PORT_MAX=${CROWD_PORT_MAX:-31999}
# Port claims: one folder per port, made with mkdir (atomic), so two stacks
# starting at once never pick the same port before either has bound it.
PORT_CLAIMS=${CROWD_PORT_CLAIMS:-${TMPDIR:-/tmp}/cloudcrowd-ports}

ts() { date -u +%FT%TZ; }
say() { printf '%s %s: %s\n' "$(ts)" "$PROG" "$*"; }
warn() { printf '%s %s: WARNING: %s\n' "$(ts)" "$PROG" "$*" >&2; }
die() { printf '%s %s: ERROR: %s\n' "$(ts)" "$PROG" "$*" >&2; exit 1; }

# tail_log FILE [N]: the last N lines of FILE, indented, on stderr.
tail_log() {
	local f=$1 n=${2:-30}
	if [[ -s $f ]]; then
		printf '%s %s: --- last %s lines of %s ---\n' "$(ts)" "$PROG" "$n" "$f" >&2
		tail -n "$n" -- "$f" | sed 's/^/    /' >&2
	else
		printf '%s %s: (%s is empty or missing)\n' "$(ts)" "$PROG" "$f" >&2
	fi
}

# abspath PATH: absolute form of PATH (which need not exist yet).
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "${1#./}" ;;
	esac
}

# pid_alive PID: true while PID runs (and is not a zombie).
pid_alive() {
	local pid=$1 state
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# pid_owned PID DIR: PID runs and its command line mentions a path inside
# DIR (every stack process is given one: -c DIR/conf, --datadir=DIR/...).
pid_owned() {
	local pid=$1 dir=$2 cmd
	pid_alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$dir/"* ]]
}

# read_pid FILE: the pid in FILE, or nothing.
read_pid() {
	local p=""
	[[ -r $1 ]] && read -r p <"$1" 2>/dev/null
	[[ $p =~ ^[0-9]+$ ]] && printf '%s\n' "$p"
	return 0
}

# descendants PID: every descendant pid of PID (children first level down).
descendants() {
	local kid
	for kid in $(pgrep -P "$1" 2>/dev/null); do
		printf '%s\n' "$kid"
		descendants "$kid"
	done
}

# spawn NAME PIDFILE LOGFILE CMD...: start CMD in the background in its own
# session, stdin from /dev/null, stdout+stderr appended to LOGFILE; the
# child writes PIDFILE itself before exec.
spawn() {
	local name=$1 pidfile=$2 logfile=$3
	shift 3
	rm -f -- "$pidfile"
	printf '%s %s: starting %s: %s\n' "$(ts)" "$PROG" "$name" "$*" >>"$logfile"
	# shellcheck disable=SC2016 # $$ and $0 belong to the child shell
	setsid bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
		"$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
	disown "$!" 2>/dev/null || true # no "Killed" notes from this shell
	# wait for the pid file (the child writes it at once)
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.05
	done
	die "$name: no pid file $pidfile after 10 s"
}

# wait_ready NAME PIDFILE LOGFILE TIMEOUT_S CMD...: poll CMD every 0.1 s
# until it succeeds. Fails (tailing LOGFILE) if the process exits first or
# TIMEOUT_S passes. PIDFILE may be "" when there is no process to watch.
wait_ready() {
	local name=$1 pidfile=$2 logfile=$3 timeout=$4 pid=""
	shift 4
	local deadline=$((SECONDS + timeout))
	[[ -n $pidfile ]] && pid=$(read_pid "$pidfile")
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [[ -n $pid ]] && ! pid_alive "$pid"; then
			printf '%s %s: ERROR: %s (pid %s) exited while starting\n' \
				"$(ts)" "$PROG" "$name" "$pid" >&2
			tail_log "$logfile"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			printf '%s %s: ERROR: %s not ready after %s s (waiting for: %s)\n' \
				"$(ts)" "$PROG" "$name" "$timeout" "$*" >&2
			tail_log "$logfile"
			return 1
		fi
		sleep 0.1
	done
}

# port_in_use PORT: something listens on PORT (any address).
port_in_use() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# listening HOST PORT: a socket listens on HOST:PORT.
listening() {
	ss -Hltn "sport = :$2" 2>/dev/null | awk '{print $4}' | grep -qx "$1:$2"
}

# claim_port PORT OWNERDIR: claim PORT for the stack in OWNERDIR. A claim
# whose owner folder is gone, or whose owner no longer lists it, is stale
# and taken over.
claim_port() {
	local port=$1 owner=$2 d="$PORT_CLAIMS/$1" o=""
	mkdir -p "$PORT_CLAIMS" 2>/dev/null || true
	chmod 1777 "$PORT_CLAIMS" 2>/dev/null || true
	if ! mkdir "$d" 2>/dev/null; then
		[[ -r $d/owner ]] && read -r o <"$d/owner"
		if [[ -z $o ]]; then
			# being written right now, or a crash between mkdir and write:
			# only take it over when it is old
			[[ -n $(find "$d" -maxdepth 0 -mmin +1 2>/dev/null) ]] || return 1
		elif [[ -d $o ]] && grep -qx "$port" "$o/run/ports" 2>/dev/null; then
			return 1
		elif [[ -d $o && $o != "$owner" && ! -e $o/run/ports ]]; then
			# owner exists but has not written run/ports yet: still starting
			[[ -n $(find "$d" -maxdepth 0 -mmin +1 2>/dev/null) ]] || return 1
		fi
		rm -rf -- "$d"
		mkdir "$d" 2>/dev/null || return 1
	fi
	# list it as ours first, then name the owner: a reader that sees the
	# owner always finds the port in the owner's list
	printf '%s\n' "$port" >>"$owner/run/ports"
	printf '%s\n' "$owner" >"$d/owner"
	return 0
}

# release_ports OWNERDIR: drop every claim the stack in OWNERDIR holds.
release_ports() {
	local owner=$1 port o
	[[ -r $owner/run/ports ]] || return 0
	while read -r port; do
		[[ $port =~ ^[0-9]+$ ]] || continue
		o=""
		[[ -r $PORT_CLAIMS/$port/owner ]] && read -r o <"$PORT_CLAIMS/$port/owner"
		[[ $o == "$owner" ]] && rm -rf -- "${PORT_CLAIMS:?}/$port"
	done <"$owner/run/ports"
	rm -f -- "$owner/run/ports"
}

# claim_block COUNT OWNERDIR: claim COUNT consecutive free ports; prints the
# first. Random start so parallel stacks rarely even contend.
claim_block() {
	local count=$1 owner=$2 try base p ok claimed
	local span=$((PORT_MAX - PORT_MIN + 1 - count))
	for ((try = 0; try < 200; try++)); do
		base=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % span))
		ok=1
		claimed=()
		for ((p = base; p < base + count; p++)); do
			if port_in_use "$p" || ! claim_port "$p" "$owner"; then
				ok=0
				break
			fi
			claimed+=("$p")
		done
		if ((ok)); then
			printf '%s\n' "$base"
			return 0
		fi
		for p in "${claimed[@]}"; do
			rm -rf -- "${PORT_CLAIMS:?}/$p"
			sed -i "/^$p\$/d" "$owner/run/ports" 2>/dev/null || true
		done
	done
	die "no block of $count free ports in $PORT_MIN-$PORT_MAX"
}

# mysql_client SOCKET ARGS...: the mariadb client on a stack's socket, as
# root, ignoring every option file on the machine.
mysql_client() {
	local sock=$1
	shift
	mariadb --no-defaults --socket="$sock" --user=root "$@"
}
