#!/usr/bin/env bash
# t0303-node-doors: secrets and doors of issue 12, part 7, against a real
# stack. A second crowd-node on a busy port exits 6 naming the pid that
# holds it, and the first node stays checked in (same instance) and keeps
# running jobs. 600 idle, half-sent connections without credentials do not
# silence the node: its heartbeat answers another client at once, the
# flooding address holds at most node_connections_per_ip connections, and
# the node closes them within seconds. node_allow refuses other addresses
# at connect. A unit whose action leaves setsid'd descendants (two levels
# deep) leaves nothing behind once it ends, whether it succeeds or its
# action is killed. A callback URL's password never reaches a log: every
# log shows user:***@, and GET /log redacts lines already on disk. The
# stack's nginx user file is mode 0640.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --auth --set check_in_interval=1 --set callback_retries=1 \
	--set retry_backoff=0 --set work_unit_retries=1

NODE_BIN=$BIN/crowd-node
STRAYS=()
FLOOD=""
# At exit, whatever this test started that may still run: the flood, and
# descendants of the test action (only while they are still that sleep:
# a pid the node killed may belong to someone else by now).
cleanup_strays() {
	local p
	[[ -n $FLOOD ]] && kill -KILL "$FLOOD" 2>/dev/null
	for p in "${STRAYS[@]}"; do
		[[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == "sleep 1000 " ]] &&
			kill -KILL "$p" 2>/dev/null
	done
}
trap 'rc=$?; cleanup_strays; (exit $rc); _stack_cleanup' EXIT

# start_node NAME CONFDIR PORT [args]: sets NPID; true once it logs.
start_node() {
	local name=$1 conf=$2 port=$3 out=$STACK_DIR/log/node-$1.out
	shift 3
	"$NODE_BIN" -c "$conf" -p "$port" -H 127.0.0.1 "$@" >"$out" 2>&1 &
	NPID=$!
	echo "$NPID" >"$STACK_DIR/run/node-$name.pid"
	wait_until 15 grep -q 'logging to' "$out"
}

status_node() {
	http GET /status
	jq -c --arg h "$1" '.nodes[] | select(.host == $h)' <<<"$BODY" 2>/dev/null
}
node_listed() { [[ -n $(status_node "$1") ]]; }
instance_of() { sql "SELECT instance FROM node_records WHERE host = '127.0.0.1:$1'"; }
heartbeat_from() { # SOURCE-ADDRESS PORT: "buh-bump 200", or " 000" unanswered
	curl -s --max-time 3 --interface "$1" -u "$CROWD_LOGIN:$CROWD_PASSWORD" \
		-o - -w ' %{http_code}' "http://127.0.0.1:$2/heartbeat" 2>/dev/null
}
gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

# The fixture action that leaves setsid'd descendants.
cp -r "$REPO/tests/fixtures/actions/setsid_orphan" "$CROWD_CONF/actions/"

# --- the first node -------------------------------------------------------------
P=$NODE_PORT
start_node a "$CROWD_CONF" "$P" || not_ok "node a starts on port $P"
A_PID=$NPID
check "node a is listed" wait_until 10 node_listed "127.0.0.1:$P"
inst=$(instance_of "$P")
like "$inst" "^$A_PID\\." "node_records holds node a's instance"

# --- a second node on the busy port ---------------------------------------------
conf=$(conf_copy second node_tag=intruder)
"$NODE_BIN" -c "$conf" -p "$P" -H 127.0.0.1 >"$STACK_DIR/log/node-second.out" 2>&1 &
B_PID=$!
exited() { ! kill -0 "$B_PID" 2>/dev/null; }
check "a second node on port $P exits at once" wait_until 10 exited
wait_until 1 exited && { wait "$B_PID"; rc=$?; } || rc=running
is "$rc" 6 "... with 6 (a process would not start)"
like "$(cat "$STACK_DIR/log/node-second.out")" "port $P in use by pid $A_PID \\(crowd-node\\)" \
	"... saying which pid holds the port"
# Node a checks in every second: watch its registration for 3 s.
same_instance() { [[ $(instance_of "$P") == "$inst" ]]; }
flipped() { ! same_instance; }
if wait_until 3 flipped; then not_ok "node a's registration was not taken over"; else ok "node a's registration was not taken over"; fi
# (still running: never let it check node a out)
[[ $rc == running ]] && kill -KILL "$B_PID" 2>/dev/null
check "node a is still listed" node_listed "127.0.0.1:$P"
is "$(status_node "127.0.0.1:$P" | jq -r '.tag // ""')" "" "with its own tag, not the intruder's"
post_job '{"action":"noop","inputs":["still here"]}'
wait_job "$ID" 30
is "$(jq -c '[.status, .outputs]' <<<"$JOB")" '["succeeded",["still here"]]' \
	"node a keeps running jobs"

# --- 600 idle connections without credentials ---------------------------------
flood_log=$STACK_DIR/flood.out
(
	trap '' PIPE
	ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	fds=()
	for ((i = 0; i < 600; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$P" || continue
		{ printf 'GET /heartbeat HTTP/1.1\r\nHost: x\r\n' >&"$fd"; } 2>/dev/null
		fds+=("$fd")
	done
	echo "opened ${#fds[@]}" >"$flood_log"
	sleep 120
) 2>/dev/null &
FLOOD=$!
check "the flood opened its connections" wait_until 20 test -s "$flood_log"
diag "$(cat "$flood_log")"
is "$(heartbeat_from 127.0.0.2 "$P")" "buh-bump 200" \
	"during the flood, another client's heartbeat is answered at once"
established() { ss -Htn state established "( sport = :$P and dst 127.0.0.1 )" | wc -l; }
n=$(established)
if ((n <= 64)); then ok "the flooding address holds at most 64 connections ($n)"; else not_ok "the flooding address holds at most 64 connections ($n)"; fi
none_left() { (($(established) == 0)); }
check "the node closes the idle, half-sent connections within seconds" wait_until 12 none_left
is "$(heartbeat_from 127.0.0.1 "$P")" "buh-bump 200" "then the flooding address is answered again"
kill -KILL "$FLOOD" 2>/dev/null
wait "$FLOOD" 2>/dev/null
FLOOD=""

# --- node_allow -------------------------------------------------------------------
conf=$(conf_copy allow "node_allow=127.0.0.2, 10.0.0.0/8")
cp=$(free_port)
start_node allow "$conf" "$cp" || not_ok "node allow starts"
C_PID=$NPID
is "$(heartbeat_from 127.0.0.2 "$cp")" "buh-bump 200" "node_allow: a listed address is answered"
like "$(heartbeat_from 127.0.0.1 "$cp")" " 000$" "node_allow: any other is refused at connect"
kill -TERM "$C_PID"
wait "$C_PID"
conf=$(conf_copy badallow "node_allow=central.example.org")
out=$("$NODE_BIN" -c "$conf" -p 0 -H 127.0.0.1 2>&1)
like "$?:$out" "^3:.*node_allow: 'central\\.example\\.org' is not an IP address" \
	"a bad node_allow exits 3 (config), naming the key and the entry"

# --- descendants that leave the unit's process group ----------------------------
post_job '{"action":"setsid_orphan","inputs":["x"]}'
wait_job "$ID" 30
is "$(jq -r .status <<<"$JOB")" succeeded "setsid_orphan succeeded"
mapfile -t pids < <(jq -r '.outputs[0][]' <<<"$JOB" 2>/dev/null)
STRAYS+=("${pids[@]}")
is "${#pids[@]}" 3 "it reported the pids of its three descendants"
check "none of them outlives the unit (setsid, and two levels down)" wait_until 5 gone "${pids[@]}"

pidfile=$STACK_DIR/orphan-pids
post_job "{\"action\":\"setsid_orphan\",\"inputs\":[\"y\"],\"options\":{\"pidfile\":\"$pidfile\"}}"
check "the held action wrote its pids" wait_until 15 test -s "$pidfile"
read -r apid p1 p2 p3 <"$pidfile"
STRAYS+=("$p1" "$p2" "$p3")
check "its descendants run while the unit runs" eval '! gone "$p1" "$p2" "$p3"'
kill -KILL "$apid"
wait_job "$ID" 30
is "$(jq -r .status <<<"$JOB")" failed "the unit whose action was killed failed"
check "its descendants are killed with it" wait_until 5 gone "$p1" "$p2" "$p3"
http GET "http://127.0.0.1:$P/heartbeat"
is "$STATUS $BODY" "200 buh-bump" "node a lives on"

# --- credentials in URLs never reach a log -----------------------------------------
is "$(stat -c %a "$CROWD_CONF/htpasswd" 2>&1)" 640 "the nginx user file (htpasswd) is mode 0640"
sink=$(free_port)         # nothing listens there: the delivery fails, logged
post_job "{\"action\":\"noop\",\"inputs\":[\"cb\"],\"callback_url\":\"http://cbuser:cbsecret-t0303@127.0.0.1:$sink/done\"}"
wait_job "$ID" 30
logged() { grep -rqs "cbuser:\*\*\*@127\.0\.0\.1:$sink" "$STACK_DIR/log/"; }
check "the callback's delivery is logged, its password as ***" wait_until 20 logged
is "$(grep -rls 'cbsecret-t0303' "$STACK_DIR/log/" | tr '\n' ' ')" "" "no log holds the callback's password"
# A line written before redaction existed (or by another program).
printf '2024-01-01T00:00:00.000Z old[1] info: fetched http://olduser:oldsecret@h.example/x?X-Amz-Signature=abcdef\n' \
	>>"$STACK_DIR/log/server.log"
http GET /log
like "$BODY" 'fetched http://olduser:\*\*\*@h\.example/x\?X-Amz-Signature=\*\*\*' \
	"GET /log redacts lines already on disk"
[[ $BODY != *oldsecret* && $BODY != *abcdef* && $BODY != *cbsecret* ]] &&
	ok "GET /log shows no password or signature" || not_ok "GET /log shows no password or signature"
if grep -qs "cbuser:" "$STACK_DIR/log/server.log"; then
	like "$BODY" "cbuser:\\*\\*\\*@127\\.0\\.0\\.1:$sink" "GET /log shows the callback's URL redacted"
fi

kill -TERM "$A_PID"
wait "$A_PID"
is "$?" 0 "node a exits 0 on SIGTERM"

done_testing
