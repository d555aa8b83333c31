#!/usr/bin/env bash
# t0601-cli: every `crowd` command against a real stack. The stack gives
# MariaDB (and a central with one node, for CLOUD_CROWD_CONFIG); a config
# folder made by `crowd install` points at that MariaDB with its own
# database and a user with a password, and `crowd` runs its own central
# (server start -d / stop / restart / status, stale pid files) and nodes
# (node start -d / stop / restart, foreground, a central that cannot be
# reached). Then: load_schema (refused over unfinished jobs, --force),
# submit and status with --wait (plain timestamped lines, the terminal bar
# through script(1), exit 0 / 1), jobs, nodes, blacklist, cleanup (jobs
# set back in time with SQL), console (password through a pipe), a schema
# out of date, a wrong config path, and bad input to each command.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --nodes 1
CROWD=$BIN/crowd
T=$STACK_DIR/t0601
C=$T/conf
DB=cloud_crowd_t0601
mkdir -p "$T"
[[ -x $CROWD ]] || { not_ok "crowd is built ($CROWD)"; done_testing; }

# Ports claimed the way the stack claims its own (released at stack stop).
base=$(bash -c '. "$1/stack/lib.sh"; claim_block 4 "$2"' _ "$REPO" "$STACK_DIR") ||
	{ not_ok "claim 4 ports"; done_testing; }
CPORT=$base NP1=$((base + 1)) NP2=$((base + 2)) NP3=$((base + 3))
CURL=http://127.0.0.1:$CPORT

cc() { run "$CROWD" -c "$C" "$@"; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
# gone PID...: none of them runs (a zombie waiting for init counts as gone)
gone() {
	local p
	for p in "$@"; do alive "$p" && return 1; done
	return 0
}
# none_of_config: no live process has "-c $C " on its command line
none_of_config() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[[ $(tr '\0' ' ' <"$f" 2>/dev/null) == *"-c $C "* ]] && alive "$p" && return 1
	done
	return 0
}
listed() { "$CROWD" -c "$C" nodes 2>/dev/null | grep -q "^$1 "; }
not_listed() { ! listed "$1"; }
LOGLINE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z crowd\[[0-9]+\] info: '

# ---- the command line itself ---------------------------------------------------
run "$CROWD" --version
rc_is 0 "--version exits 0"
like "$OUT" '^crowd [0-9]+\.[0-9]+\.[0-9]+ \(schema [0-9]+\)$' "--version names the version and schema"
run "$CROWD" --help
rc_is 0 "--help exits 0"
missing=""
for o in config server daemon port tag host listen days force set options file callback \
	email wait timeout page per-page json help version; do
	[[ $OUT == *"--$o"* ]] || missing+=" --$o"
done
for cmd in install load_schema server node cleanup console submit status jobs nodes blacklist; do
	[[ $OUT == *"  $cmd "* ]] || missing+=" $cmd"
done
is "$missing" "" "--help lists every option and command"
run "$CROWD"
rc_is 2 "no command: exit 2"
err_like "no command" "... saying so"
run "$CROWD" frobnicate
rc_is 2 "unknown command: exit 2"
err_like "unknown command 'frobnicate'" "... naming it"
run "$CROWD" --frob nodes
rc_is 2 "unknown option: exit 2"
run "$CROWD" submit --days 3 noop x
rc_is 2 "an option of another command: exit 2"
err_like "option --days does not apply to 'submit'" "... saying which"

# ---- a wrong config path -------------------------------------------------------
run "$CROWD" -c "$T/nope" nodes
rc_is 3 "-c to a missing folder: exit 3"
err_like "$T/nope/crowd.conf: cannot open: No such file" "... naming the file"
err_like "came from -c" "... and where the folder came from"
CLOUD_CROWD_CONFIG=$T/nope2 run "$CROWD" jobs
rc_is 3 "CLOUD_CROWD_CONFIG to a missing folder: exit 3"
err_like "$T/nope2/crowd.conf.*CLOUD_CROWD_CONFIG" "... naming the file and the variable"
mkdir -p "$T/bad"
printf 'central_server = http://127.0.0.1:1\nmax_workers = lots\n' >"$T/bad/crowd.conf"
run "$CROWD" -c "$T/bad" nodes
rc_is 3 "an invalid crowd.conf: exit 3"
err_like "$T/bad/crowd.conf:2: max_workers: 'lots'" "... with file:line: key: reason"
printf 'central_server = http://127.0.0.1:1\nmax_wrokers = 2\n' >"$T/bad/crowd.conf"
run "$CROWD" -c "$T/bad" nodes
rc_is 3 "a typo'd key: exit 3"
err_like "$T/bad/crowd.conf:2: max_wrokers: unknown key; did you mean max_workers\?" "... naming file:line and the key it may be"
[[ $ERR != *"make one with"* ]] && ok "... without 'make one with: crowd install' (the file is there)" ||
	not_ok "... without 'make one with: crowd install' (the file is there)"
printf '[database]\nsokcet = /x\n' >"$T/bad/crowd.conf"
run "$CROWD" -c "$T/bad" nodes
err_like "crowd.conf:2: database.sokcet: unknown key; did you mean socket\?" "a typo in [database]: did you mean too"
CLOUD_CROWD_CONFIG=$CROWD_CONF run "$CROWD" nodes
rc_is 0 "CLOUD_CROWD_CONFIG to the stack's config: nodes works"
like "$OUT" "127\.0\.0\.1:$NODE_PORT " "... and lists the stack's node"
CLOUD_CROWD_CONFIG=$T/nope2 run "$CROWD" -c "$CROWD_CONF" nodes
rc_is 0 "-c wins over CLOUD_CROWD_CONFIG"
CROWD_CONFIG=$T/nope3 CLOUD_CROWD_CONFIG=$CROWD_CONF run "$CROWD" nodes
rc_is 3 "CROWD_CONFIG (set for actions) comes before CLOUD_CROWD_CONFIG: exit 3"
err_like "came from \\\$CROWD_CONFIG" "... and is named"
run "$CROWD" -c "$CROWD_CONF" node start -d -H 'vm;id'
rc_is 2 "node -H with a character no host has: exit 2"
err_like "--host 'vm;id': not a host name" "... naming it"
run "$CROWD" -c "$CROWD_CONF" node start -d -H '::1'
rc_is 2 "node -H with an IPv6 address without brackets: exit 2"
run "$CROWD" -c "$CROWD_CONF" node start -d -p ' 80'
rc_is 2 "node -p with a blank: exit 2"

# ---- one table of exit codes for every program (core/exitcode.h) ----------
vers=""
for prog in crowd-server ccdistribute crowd-node; do
	run "$BIN/$prog" --version
	rc_is 0 "$prog --version: exit 0"
	like "$OUT" "^$prog [0-9]+\.[0-9]+\.[0-9]+$" "... naming the version"
	vers+=" ${OUT##* }"
	run "$BIN/$prog" --frobnicate
	rc_is 2 "$prog with an unknown option: exit 2"
	run "$BIN/$prog" -c "$T/nope"
	rc_is 3 "$prog -c to a missing folder: exit 3"
	err_like "$T/nope/crowd.conf: cannot open" "... naming the file"
done
run "$CROWD" --version
v=${OUT#crowd }
v=${v%% *}
is "$vers" " $v $v $v" "every program shows the same version as crowd ($v)"
run "$BIN/crowd-node" -c "$CROWD_CONF" -p 0 -H 'a b'
rc_is 2 "crowd-node -H with a blank: exit 2"
for prog in crowd-save crowd-download; do
	run "$BIN/$prog"
	rc_is 2 "$prog without arguments: exit 2"
done
CROWD_ACTION=noop CROWD_JOB_ID=1 CROWD_WORK_UNIT_ID=1 run "$BIN/crowd-save" -c "$T/nope" "$T/x"
rc_is 3 "crowd-save -c to a missing folder: exit 3"
run "$BIN/crowd-download" -c "$T/nope" "file://$T/x" "$T/y"
rc_is 3 "crowd-download -c to a missing folder: exit 3"

# ---- install -------------------------------------------------------------------
sql "CREATE USER IF NOT EXISTS 't0601'@'localhost' IDENTIFIED BY 'p\"w\\\\ x'; GRANT ALL ON \`$DB\`.* TO 't0601'@'localhost'"
sets=(--set "central_server=$CURL" --set "server_port=$CPORT" --set node_host=127.0.0.1
	--set "node_port=$NP1" --set max_workers=2 --set work_unit_retries=1
	--set check_in_interval=5 --set retry_backoff=0 --set server_workers=2
	--set "database.socket=$MYSQL_SOCKET" --set "database.database=$DB"
	--set database.username=t0601 --set 'database.password=p"w\ x')
run "$CROWD" install "$C" "${sets[@]}" --with-test-actions
rc_is 0 "install DIR --set ... --with-test-actions: exit 0"
err_like "next: crowd -c $C load_schema" "... the next step is load_schema (central_server and [database] were set)"
[[ $ERR != *"next: set"* ]] && ok "... not 'next: set central_server and [database]'" ||
	not_ok "... not 'next: set central_server and [database]'"
like "$ERR" "${LOGLINE}wrote $C/crowd.conf" "install logs with timestamps"
is "$(stat -c %a "$C/crowd.conf")" 600 "crowd.conf is mode 600 (it holds passwords)"
keys=$("$BIN/crowd-server" --help | sed -n 's/^  \([a-z0-9_]*\) .*(default: .*)$/\1/p')
nkeys=$(wc -w <<<"$keys")
undocumented=""
for k in $keys; do grep -Eq "^(# )?$k =" "$C/crowd.conf" || undocumented+=" $k"; done
is "$undocumented" "" "crowd.conf documents every one of the $nkeys keys of crowd-server --help"
check "... each with its help as a comment" grep -qx '# units a node runs at once (0 = no limit) (default: 4)' "$C/crowd.conf"
check "... the defaults commented out" grep -qx '# log_level = info' "$C/crowd.conf"
check "... and --set keys live" grep -qx "central_server = $CURL" "$C/crowd.conf"
missing=""
for a in "$REPO"/actions/*/; do
	n=$(basename "$a")
	[[ -e $a/process || -e $a/process.c ]] || continue
	[[ -x $C/actions/$n/process && ! -L $C/actions/$n/process ]] || missing+=" $n"
done
is "$missing" "" "with --with-test-actions every shipped action is copied in with an executable process"
check "the compiled noop/process is the build's" cmp -s "$C/actions/noop/process" "$REPO/build/$VARIANT/actions/noop/process"
check "action scripts keep their mode" test -x "$C/actions/word_count/merge"
check "no C sources are copied" test ! -e "$C/actions/noop/process.c"
sum=$(md5sum <"$C/crowd.conf")
run "$CROWD" install "$C"
rc_is 0 "install again: exit 0"
err_like "kept the existing $C/crowd.conf" "... keeping crowd.conf"
is "$(md5sum <"$C/crowd.conf")" "$sum" "... unchanged"
run "$CROWD" install "$C" --set max_workers=3
rc_is 1 "install --set over an existing crowd.conf without --force: exit 1"
err_like "exists.*--force" "... pointing at --force"
run "$CROWD" install "$T/x1" --set no_such_key=1
rc_is 2 "install --set of an unknown key: exit 2"
err_like "no_such_key: unknown key" "... naming it"
check "... and nothing is created" test ! -e "$T/x1"
run "$CROWD" install "$T/x1" --set max_wrokers=1
rc_is 2 "install --set of a typo'd key: exit 2"
err_like "max_wrokers: unknown key \(did you mean max_workers\?" "... with did you mean"
run "$CROWD" install "$T/prod" --set "central_server=$CURL"
rc_is 0 "install without --with-test-actions: exit 0"
test_only=$(cd "$REPO/actions" && ls -d -- */test-only 2>/dev/null | cut -d/ -f1 | sort | tr '\n' ' ')
real=$(cd "$REPO/actions" && for a in */; do a=${a%/}; [[ -e $a/test-only ]] || echo "$a"; done | sort | tr '\n' ' ')
is "$(cd "$T/prod/actions" && ls | sort | tr '\n' ' ')" "$real" "... copies only the real actions ($real)"
like "$test_only" "always_fail .*slow_noop" "... the test actions are marked test-only ($test_only)"
err_like "left out [0-9]+ test actions \(--with-test-actions copies them\)" "... and says it left the test ones out"
err_like "next: set \[database\] in $T/prod/crowd.conf" "... next: only what --set did not give ([database])"
[[ $ERR != *"set central_server"* ]] && ok "... not central_server, given with --set" ||
	not_ok "... not central_server, given with --set"
run "$CROWD" install "$T/prod2"
err_like "next: set central_server and \[database\] in" "install without --set: next names both"
run "$CROWD" install "$T/x2" --set max_workers=lots
rc_is 3 "install --set of an invalid value: exit 3"
err_like "max_workers: 'lots' is not a whole number" "... with the config's reason"
check "... and nothing is created" test ! -e "$T/x2"
: >"$T/afile"
run "$CROWD" install "$T/afile"
rc_is 1 "install onto a file: exit 1"
err_like "is not a folder" "... saying so"
run "$CROWD" install
rc_is 2 "install without DIR: exit 2"

# ---- database: missing, no schema, load_schema, console ------------------------
cc cleanup
rc_is 4 "cleanup on a database that does not exist: exit 4"
err_like "Unknown database '$DB'" "... naming the database"
err_like "CREATE DATABASE $DB" "... and how to create it"
sql "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
cc cleanup
rc_is 4 "cleanup before the schema is loaded: exit 4"
err_like "Run exactly:
  crowd -c $C load_schema" "... saying exactly what to run"
cc server start -d -l 127.0.0.1
rc_is 4 "server start before the schema is loaded: exit 4"
check "... starting nothing" test ! -e "$C/run/crowd-server.pid"
cc load_schema extra
rc_is 2 "load_schema with an argument: exit 2"
cc load_schema
rc_is 0 "load_schema on the new database: exit 0"
like "$ERR" "${LOGLINE}schema version [0-9]+ loaded into database '$DB'" "... logged with a timestamp"
want=$(sed -n "s/.*INSERT INTO schema_migrations.*VALUES *( *'\([^']*\)'.*/\1/p" "$REPO/sql/schema.sql" | tail -n 1)
is "$(sql "SELECT version FROM \`$DB\`.schema_migrations")" "$want" "... the schema version is in the database"
cc console -- -N -B -e 'SELECT CURRENT_USER()'
rc_is 0 "console runs the client"
is "$OUT" "t0601@localhost" "... as the configured user, its password (with \" and \\) passed through a pipe"
"$CROWD" -c "$C" console -- -N -B -e 'SELECT SLEEP(3)' >/dev/null 2>&1 </dev/null &
con=$!
if wait_until 5 bash -c "tr '\\0' ' ' </proc/$con/cmdline | grep -q defaults-extra-file=/dev/fd/"; then
	cmdline=$(tr '\0' ' ' <"/proc/$con/cmdline")
	like "$cmdline" "mariadb --defaults-extra-file=/dev/fd/[0-9]+ --socket=$MYSQL_SOCKET --user=t0601 " \
		"... the client gets the password from a pipe (crowd execs it)"
	[[ $cmdline != *'p"w'* ]] && ok "... never on its command line" || not_ok "... never on its command line"
else
	not_ok "... the client gets the password from a pipe (crowd execs it)"
fi
wait "$con"

# ---- server start -d / status / stop / restart, stale pid files ----------------
cc server start -d -l 127.0.0.1
rc_is 0 "server start -d: exit 0"
like "$ERR" "${LOGLINE}central server ready: http://127\.0\.0\.1:$CPORT/" "... logged with a timestamp"
pool=$(cat "$C/run/crowd-server.pid" 2>/dev/null)
ngx=$(cat "$C/run/nginx.pid" 2>/dev/null)
check "... crowd-server runs (pid file $pool)" alive "$pool"
check "... nginx runs (pid file $ngx)" alive "$ngx"
http GET "$CURL/heartbeat"
is "$BODY" buh-bump "... central answers its heartbeat"
addr=$(ss -Hltn "sport = :$CPORT" | awk '{print $4}' | sort -u | tr '\n' ' ')
is "$addr" "127.0.0.1:$CPORT " "... nginx listens on the --listen address only"
check "... logs under log_path" test -s "$C/log/server.log"
cc server status
rc_is 0 "server status: exit 0 while running"
like "$OUT" "crowd-server: running \(pid $pool\)" "... with the pids"
like "$OUT" "liveness: ok \(http://127\.0\.0\.1:$CPORT/heartbeat: buh-bump\)" "... central's liveness"
like "$OUT" "readiness: (ok|degraded|unknown \(central has no /health\))" "... and its readiness"
cc server start -d -l 127.0.0.1
rc_is 1 "server start while running: exit 1"
err_like "already running \(pid $pool" "... naming the pid"
cc server frobnicate
rc_is 2 "server frobnicate: exit 2"
cc server stop
rc_is 0 "server stop: exit 0"
check "... crowd-server is gone" gone "$pool"
check "... nginx is gone" gone "$ngx"
check "... no pid files left" test ! -e "$C/run/crowd-server.pid" -a ! -e "$C/run/nginx.pid"
check "... no socket left" test ! -e "$C/run/crowd-server.sock"
http GET "$CURL/heartbeat"
is "$STATUS" 000 "... nothing answers on its port"
cc server status
rc_is 1 "server status: exit 1 when stopped"
cc server stop
rc_is 0 "server stop when stopped: exit 0"
err_like "was not running" "... saying so"

# stale: a pid that is gone, and a live stranger that must not be signalled
sh -c 'exit 0' &
dead=$!
wait "$dead"
sleep 300 &
stranger=$!
echo "$dead" >"$C/run/crowd-server.pid"
echo "$stranger" >"$C/run/nginx.pid"
cc server start -d -l 127.0.0.1
rc_is 0 "server start -d over stale pid files: exit 0"
err_like "stale pid file $C/run/crowd-server.pid: pid $dead is not running; removed it" "... a dead pid is reported"
err_like "stale pid file $C/run/nginx.pid: pid $stranger is another program \(sleep 300\)" "... a reused pid is reported"
check "... and the stranger is left alone" alive "$stranger"
kill "$stranger"
pool=$(cat "$C/run/crowd-server.pid")
ngx=$(cat "$C/run/nginx.pid")
cc server restart -d -l 127.0.0.1
rc_is 0 "server restart -d: exit 0"
pool2=$(cat "$C/run/crowd-server.pid")
ngx2=$(cat "$C/run/nginx.pid")
check "... new processes ($pool -> $pool2, $ngx -> $ngx2)" test "$pool" != "$pool2" -a "$ngx" != "$ngx2"
check "... the old ones are gone" gone "$pool" "$ngx"
http GET "$CURL/heartbeat"
is "$BODY" buh-bump "... and central answers"

# restart with a config it cannot run: refused, the running server untouched
cp "$C/crowd.conf" "$T/crowd.conf.good"
sed -i 's/^password = .*/password = wrong/' "$C/crowd.conf"
grep -q '^password = wrong' "$C/crowd.conf" || sed -i 's/^\[database\]$/[database]\npassword = wrong/' "$C/crowd.conf"
nginxconf=$(md5sum <"$C/run/nginx.conf")
cc server restart -d -l 127.0.0.1
rc_is 4 "server restart -d with a wrong database password: exit 4"
err_like "Access denied for user 't0601'" "... naming the database's reason"
err_like "restart refused: nothing was stopped" "... saying nothing was stopped"
check "... crowd-server still runs (pid $pool2)" alive "$pool2"
check "... nginx still runs (pid $ngx2)" alive "$ngx2"
is "$(cat "$C/run/crowd-server.pid") $(cat "$C/run/nginx.pid")" "$pool2 $ngx2" "... the same pid files"
is "$(md5sum <"$C/run/nginx.conf")" "$nginxconf" "... its nginx.conf untouched"
http GET "$CURL/heartbeat"
is "$BODY" buh-bump "... and central still answers"
cp "$T/crowd.conf.good" "$C/crowd.conf"
cc server restart -d -l 'bad;addr'
rc_is 2 "server restart -d with a bad --listen: exit 2"
check "... the server still runs" alive "$pool2"

# ---- nodes ---------------------------------------------------------------------
cc node start -d
rc_is 0 "node start -d: exit 0"
n1=$(cat "$C/run/node-$NP1.pid" 2>/dev/null)
check "... runs with its pid file (port node_port $NP1)" alive "$n1"
like "$ERR" "${LOGLINE}node 127\.0\.0\.1:$NP1 ready and checked in" "... logged when checked in"
cc nodes
rc_is 0 "nodes: exit 0"
like "$OUT" "127\.0\.0\.1:$NP1 +- +available +0/2 " "... lists the node with busy/max workers (max_workers = 2)"
cc node start -d
rc_is 1 "node start while running: exit 1"
err_like "already running \(pid $n1" "... naming the pid"
cc node start -d -p "$NP2" -t gpu
rc_is 0 "node start -d -p PORT -t TAG: exit 0"
cc nodes --json
is "$(jq -r --arg h "127.0.0.1:$NP2" '.nodes[] | select(.host == $h) | .tag' <<<"$OUT")" gpu "nodes --json: the second node with its tag"
cc node status -p "$NP2"
rc_is 0 "node status: exit 0 while running"
n2=$(cat "$C/run/node-$NP2.pid")
cc node stop -p "$NP2"
rc_is 0 "node stop -p PORT: exit 0"
check "... the node is gone" gone "$n2"
check "... it checked out first" grep -q "checked out of $CURL as 127.0.0.1:$NP2" "$C/log/node-$NP2.log"
check "... central no longer lists it" not_listed "127.0.0.1:$NP2"
cc node status -p "$NP2"
rc_is 1 "node status: exit 1 when stopped"
sleep 300 &
stranger=$!
echo "$stranger" >"$C/run/node-$NP2.pid"
cc node stop -p "$NP2"
rc_is 0 "node stop over a stale pid file: exit 0"
err_like "stale pid file $C/run/node-$NP2.pid: pid $stranger is another program" "... reported"
check "... removed" test ! -e "$C/run/node-$NP2.pid"
check "... the stranger left alone" alive "$stranger"
kill "$stranger"
cc node restart -d
rc_is 0 "node restart -d: exit 0"
n1b=$(cat "$C/run/node-$NP1.pid")
check "... a new node process ($n1 -> $n1b)" test "$n1" != "$n1b"
check "... listed" listed "127.0.0.1:$NP1"
for bad in notaport 70000 0; do
	cc node start -d -p "$bad"
	rc_is 2 "node start -p $bad: exit 2"
done
cc node frobnicate
rc_is 2 "node frobnicate: exit 2"

# foreground: Ctrl-C/SIGTERM to crowd checks the node out and stops it
"$CROWD" -c "$C" node start -p "$NP3" >"$T/fg.out" 2>&1 </dev/null &
fg=$!
if wait_until 20 listed "127.0.0.1:$NP3"; then
	ok "node start (foreground): the node checks in"
	kill -TERM "$fg"
	wait "$fg"
	is "$?" 0 "... SIGTERM to crowd: exit 0"
	check "... the node checked out" grep -q "checked out of $CURL as 127.0.0.1:$NP3" "$T/fg.out"
	check "... its logs were on crowd's output" grep -q "crowd-node\[[0-9]*\] info: listening on port $NP3" "$T/fg.out"
	check "... no pid file left" test ! -e "$C/run/node-$NP3.pid"
else
	not_ok "node start (foreground): the node checks in"
	sed 's/^/# /' "$T/fg.out"
	kill "$fg" 2>/dev/null
fi

# a node whose central cannot be reached
run "$CROWD" install "$T/lost" --set central_server=http://127.0.0.1:9 --set "node_port=$NP2" --set node_host=127.0.0.1
run "$CROWD" -c "$T/lost" node start -d
rc_is 5 "node start -d with central unreachable: exit 5 (the node cannot check in)"
err_like "exited while starting: it cannot check in" "... saying the node exited"
err_like "cannot check in with central at http://127.0.0.1:9" "... with the node's own reason"
check "... no pid file left" test ! -e "$T/lost/run/node-$NP2.pid"

# ---- submit and status -----------------------------------------------------------
cc submit noop alpha beta gamma --wait
rc_is 0 "submit --wait of a job that succeeds: exit 0"
is "$(jq -c '[.status,.outputs]' <<<"$OUT")" '["succeeded",["alpha","beta","gamma"]]' "... stdout is only the job JSON with its outputs (jq reads it whole)"
is "$(wc -l <<<"$OUT")" 1 "... one line on stdout"
like "$(grep -m 1 'Z job [0-9]*: ' <<<"$ERR")" '^[0-9-]{10}T[0-9:.]{12}Z job [0-9]+: (processing|succeeded), [0-9]+% done(, [0-9]+/3 units)?, [0-9.]+ s$' "... progress lines are timestamped, on stderr, with done/total units"
like "$ERR" "${LOGLINE}submitted job [0-9]+: noop, 3 inputs" "... the submission is logged"
run bash -c "'$CROWD' -c '$C' submit noop piped --wait 2>/dev/null | jq -r '.outputs[0]'"
is "$OUT" piped "submit --wait | jq: stdout carries only the JSON"

cc submit slow_noop a b c d --options '{"sleep": 2}'
rc_is 0 "submit without --wait: exit 0"
sid=$(jq -r .id <<<"$OUT")
is "$(jq -r .status <<<"$OUT")" processing "... prints the job, still processing"
cc status "$sid" --wait
rc_is 0 "status --wait on a running job: exit 0 when it succeeds"
nlines=$(grep -c "Z job $sid: " <<<"$ERR")
check "... several progress lines on stderr ($nlines)" test "$nlines" -ge 3
like "$ERR" "Z job $sid: processing, 0% done, 0/4 units" "... starting at 0%, 0/4 units"
like "$ERR" "Z job $sid: processing, 50% done, 2/4 units" "... then 50% (two at a time), 2/4 units"
like "$ERR" "Z job $sid: succeeded, 100% done, 4/4 units" "... then done, 4/4"
like "$ERR" "Z job $sid succeeded in [0-9.]+ s" "... and a summary line"
is "$(grep -c . <<<"$OUT")" 1 "... stdout holds only the job JSON"
is "$(tail -n 1 <<<"$OUT" | jq -c .outputs)" '["a","b","c","d"]' "... then the job JSON"

if command -v script >/dev/null; then
	cc submit slow_noop x y --options '{"sleep": 1}'
	tid=$(jq -r .id <<<"$OUT")
	script -qec "$CROWD -c $C status $tid --wait" /dev/null >"$T/tty.out" 2>&1 </dev/null
	is "$?" 0 "status --wait on a terminal: exit 0"
	tty=$(tr -d '\033' <"$T/tty.out")
	like "$tty" $'\r''job '"$tid"' \[[-#]+\] +[0-9]+%  processing  [0-2]/2 units  0:0[0-9]\[K' "... a live bar (percent, done/total units, elapsed) redrawn with \\r"
	like "$tty" "job $tid \[#+\] 100%  succeeded" "... filled at the end"
	like "$(tail -n 1 "$T/tty.out" | tr -d '\r')" '^\{"id":'"$tid"',.*"status":"succeeded"' "... then the job JSON"
else
	skip "status --wait on a terminal" "script(1) is not installed"
fi

cc submit always_fail x --wait
rc_is 1 "submit --wait of a job that fails: exit 1"
fid=$(tail -n 1 <<<"$OUT" | jq -r .id)
err_like "job $fid failed: \[\"deliberate failure\"\]" "... the reason on stderr"
cc status "$fid"
rc_is 1 "status of a failed job: exit 1"
cc status "$fid" --wait
rc_is 1 "status --wait of a failed job: exit 1"
like "$ERR" "Z job $fid failed in" "... with its summary line (on stderr)"

printf '{"action": "noop", "inputs": [1, 2.5, {"k": "v"}]}' >"$T/job.json"
cc submit --file "$T/job.json" --wait
rc_is 0 "submit --file JOB.json --wait: exit 0"
is "$(tail -n 1 <<<"$OUT" | jq -c .outputs)" '[1,2.5,{"k":"v"}]' "... inputs keep their JSON types"
run bash -c "printf '%s' '{\"action\":\"noop\",\"inputs\":[\"s\"]}' | '$CROWD' -c '$C' submit --file - --wait"
rc_is 0 "submit --file - reads the job from stdin"

# bad input to submit and status
cc submit noop a --options '{bad'
rc_is 2 "submit --options with bad JSON: exit 2"
err_like "--options is not valid JSON" "... saying so"
cc submit noop a --options '[1]'
rc_is 2 "submit --options that is not an object: exit 2"
cc submit
rc_is 2 "submit without an action: exit 2"
cc submit noop
rc_is 2 "submit without inputs: exit 2"
err_like "at least one INPUT" "... saying so"
cc submit 'Bad!' x
rc_is 2 "submit of an invalid action name: exit 2"
cc submit no_such_action x
rc_is 5 "submit of an unknown action: exit 5 (central refuses)"
err_like "central refused the job: .*no_such_action.*\(HTTP 4[0-9][0-9]\)" "... with central's reason and status"
cc submit --file "$T/missing.json"
rc_is 2 "submit --file of a missing file: exit 2"
printf '{"action": ' >"$T/broken.json"
cc submit --file "$T/broken.json"
rc_is 2 "submit --file of broken JSON: exit 2"
err_like "line 1" "... with where"
for bad in abc 0 -1 1.5 12x; do
	cc status -- "$bad"
	rc_is 2 "status '$bad' (not a job id): exit 2"
done
cc status 99999999
rc_is 5 "status of an unknown job: exit 5 (central answers 404)"
err_like "job 99999999 not found" "... saying so"
cc status 1 2
rc_is 2 "status with two ids: exit 2"
run "$CROWD" -c "$C" -s http://127.0.0.1:9 status 1
rc_is 5 "status with central unreachable (-s): exit 5"
err_like "cannot reach the central server" "... saying so"

# ---- jobs, nodes, blacklist ---------------------------------------------------------
cc jobs
rc_is 0 "jobs: exit 0"
like "$OUT" "^ +ID +STATUS +DONE +UNITS +TIME +ACTION +CREATED" "... a header"
like "$OUT" "$sid +succeeded +100% +0 +0:0[0-9] +slow_noop" "... a line per job"
like "$OUT" "page 1 of 1 \([0-9]+ jobs, 20 per page\)" "... and the page"
total=$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")
cc jobs --per-page 1 --page 2
is "$(grep -cE '^ +[0-9]+ ' <<<"$OUT")" 1 "jobs --per-page 1 --page 2: one job"
like "$OUT" "page 2 of $total" "... page 2 of $total"
cc jobs --json
is "$(jq .total <<<"$OUT")" "$total" "jobs --json: central's JSON"
cc jobs --per-page 0
rc_is 2 "jobs --per-page 0: exit 2"
cc jobs --page x
rc_is 2 "jobs --page x: exit 2"
cc nodes extra
rc_is 2 "nodes with an argument: exit 2"

cc blacklist add slow_noop
rc_is 0 "blacklist add: exit 0"
[[ $ERR != *"no installed action"* ]] && ok "... no warning for an installed action" ||
	not_ok "... no warning for an installed action"
cc blacklist add slow_noop
rc_is 5 "blacklist add of a listed action: exit 5 (central refuses)"
err_like "already blacklisted" "... central's reason"
cc blacklist add no_such_action_t0601
rc_is 0 "blacklist add of an action nobody has: exit 0"
err_like "warning: no installed action is named 'no_such_action_t0601' \(not in $C/actions, nor in central's GET /actions\)" "... with a warning on stderr"
cc blacklist rm no_such_action_t0601
cc blacklist ls
like "$OUT" "^slow_noop +since " "blacklist ls lists it"
cc blacklist add 'Bad!'
rc_is 2 "blacklist add of an invalid name: exit 2"
cc blacklist rm never_listed
rc_is 5 "blacklist rm of an unlisted action: exit 5 (central refuses)"
cc blacklist frobnicate
rc_is 2 "blacklist frobnicate: exit 2"

# ---- load_schema refuses over unfinished jobs --------------------------------------
cc submit slow_noop held --options '{"sleep": 0}'
hid=$(jq -r .id <<<"$OUT")
cc status "$hid" --wait --timeout 1
rc_is 1 "status --wait --timeout on a held job: exit 1 when the time is up"
err_like "still processing .*--timeout 1" "... saying so"
before=$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")
cc load_schema
rc_is 1 "load_schema with an unfinished job: exit 1"
err_like "holds 1 unfinished job .*--force" "... saying why and how to force it"
is "$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")" "$before" "... nothing dropped"
cc blacklist rm slow_noop
rc_is 0 "blacklist rm: exit 0"
cc status "$hid" --wait --timeout 30
rc_is 0 "... the held job then runs and succeeds"

# ---- cleanup ---------------------------------------------------------------------
old1=$sid old2=$fid
sql "UPDATE \`$DB\`.jobs SET updated_at = NOW(6) - INTERVAL 10 DAY WHERE id IN ($old1, $old2)"
cc blacklist add slow_noop
cc submit slow_noop stuck
stuck=$(jq -r .id <<<"$OUT")
sql "UPDATE \`$DB\`.jobs SET updated_at = NOW(6) - INTERVAL 30 DAY WHERE id = $stuck"
before=$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")
cc cleanup --days 20
rc_is 0 "cleanup --days 20: exit 0"
err_like "removed 0 jobs" "... removes nothing finished in the last 20 days"
cc cleanup
rc_is 0 "cleanup (7 days): exit 0"
err_like "${LOGLINE}removed 2 jobs" "... removes the two jobs finished 10 days ago"
is "$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs WHERE id IN ($old1, $old2)")" 0 "... they are gone"
is "$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")" "$((before - 2))" "... the others stay"
is "$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs WHERE id = $stuck")" 1 "... an unfinished job stays, however old"
for bad in x -1 99999; do
	cc cleanup --days "$bad"
	rc_is 2 "cleanup --days $bad: exit 2"
done
cc cleanup extra
rc_is 2 "cleanup with an argument: exit 2"

# ---- a schema out of date; load_schema --force ----------------------------------
sql "UPDATE \`$DB\`.schema_migrations SET version = '19990101000000'"
cc cleanup
rc_is 4 "cleanup with the schema out of date: exit 4"
err_like "does not have schema version $want" "... saying which version it expects"
err_like "crowd -c $C load_schema" "... and exactly what to run"
cc load_schema --force
rc_is 0 "load_schema --force over an unfinished job: exit 0"
err_like "--force: dropping 1 unfinished job" "... saying what it drops"
is "$(sql "SELECT COUNT(*) FROM \`$DB\`.jobs")" 0 "... the jobs are gone"
cc cleanup
rc_is 0 "... and the schema is current again"

# ---- stop everything ----------------------------------------------------------------
cc node restart -d
rc_is 0 "node restart -d after the new schema: exit 0"
check "... listed again" listed "127.0.0.1:$NP1"
n1=$(cat "$C/run/node-$NP1.pid")
cc node stop
rc_is 0 "node stop: exit 0"
check "... the node is gone" gone "$n1"
check "... central no longer lists it (it checked out)" not_listed "127.0.0.1:$NP1"
cc server stop
rc_is 0 "server stop: exit 0"
left=$(ls "$C/run"/*.pid 2>/dev/null | tr '\n' ' ')
is "$left" "" "no pid file is left in pid_path"
check "no process of this config is left" wait_until 5 none_of_config

# ---- deploy/: the files an operator copies are valid -------------------------------
D=$REPO/deploy
mkdir -p "$T/deploy"
sed 's/central[0-9]\.example\.org/127.0.0.1/' "$D/nginx/cloud-crowd.conf" >"$T/deploy/site.conf"
printf 'pid %s/nginx.pid;\nevents {}\nhttp {\n\tinclude /etc/nginx/mime.types;\n\tinclude %s/site.conf;\n}\n' \
	"$T/deploy" "$T/deploy" >"$T/deploy/nginx.conf"
check "deploy/nginx/cloud-crowd.conf: nginx -t accepts the site" \
	nginx -t -q -p "$T/deploy" -c "$T/deploy/nginx.conf" -e "$T/deploy/error.log"
like "$(grep -A4 '^upstream crowd_central' "$D/nginx/cloud-crowd.conf" | grep -c 'server .*:9174')" '^[2-9]$' \
	"... with several central pool upstreams"
if command -v systemd-analyze >/dev/null; then
	units=()
	for f in "$D"/systemd/*.service; do
		n=$(basename "$f")
		[[ $n == *@.service ]] && n=${n/@/@9063}
		sed "s|/opt/cloud-crowd|$REPO|g; s|^User=crowd|User=root|; s|^Group=crowd|Group=root|" "$f" >"$T/deploy/$n"
		units+=("$T/deploy/$n")
	done
	out=$(cd "$T/deploy" && systemd-analyze verify --man=no "${units[@]}" 2>&1)
	is "$out" "" "deploy/systemd: systemd-analyze verify finds nothing wrong (${#units[@]} units)"
else
	skip "deploy/systemd: systemd-analyze verify" "systemd-analyze is not installed"
fi
for u in crowd-server ccdistribute crowd-node; do
	check "deploy/systemd/$u.service runs the binary" grep -q "^ExecStart=/opt/cloud-crowd/build/release/bin/$u -c /etc/cloud-crowd" "$D/systemd/$u.service"
done
check "... ccdistribute with --loop" grep -q -- "--loop$" "$D/systemd/ccdistribute.service"
cron=$(grep -v '^#' "$D/cron/cloud-crowd" | grep .)
is "$(awk 'NF < 7 || $6 != "crowd" {print "bad: " $0}' <<<"$cron")" "" "deploy/cron: every line has 5 time fields, the user and a command"
like "$cron" '(^|'$'\n'')\* +\* +\* +\* +\* +crowd +/opt/cloud-crowd/build/release/bin/ccdistribute -c /etc/cloud-crowd' "... the dispatch safety net every minute"
like "$cron" '[0-9]+ +[0-9]+ +\* +\* +\* +crowd +/opt/cloud-crowd/build/release/bin/crowd -c /etc/cloud-crowd cleanup --days 7' "... and a daily cleanup"
if command -v logrotate >/dev/null; then
	sed 's/^\tsu crowd crowd$/\tsu root root/' "$D/logrotate/cloud-crowd" >"$T/deploy/logrotate"
	out=$(logrotate -d -s "$T/deploy/logrotate.state" "$T/deploy/logrotate" 2>&1)
	rc=$?
	is "$rc $(grep -c '^error' <<<"$out")" "0 0" "deploy/logrotate: logrotate -d accepts it"
else
	skip "deploy/logrotate: logrotate -d accepts it" "logrotate is not installed"
fi

done_testing
