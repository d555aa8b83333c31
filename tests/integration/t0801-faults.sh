#!/usr/bin/env bash
# t0801-faults: the fault suite. Each scenario injects a real fault into a
# real stack (two nodes) while a job runs, then checks that every output
# came back exactly once and in input order, and that the API kept
# answering (or answered 503 with a JSON error, never 502, while MariaDB
# was away). Scenarios here: SIGKILL of one pool process, of all of them
# (three times, a second apart), of the pool's parent, of ccdistribute
# mid-pass, of MariaDB (restarted 10 s later), of a node; a result too
# large for central (the node reports the failure instead) and a unit too
# large for its node (each refusal is a failed attempt); and the asset
# store full; a node that takes units and never answers (each send spends
# an attempt). Other faults
# have their own tests: a frozen node, a cut-off node and hanging
# callbacks (t0405), a frozen node past its lease (t0402), forged reports
# (t0403), a second node on a busy port (t0303), a network cut (t0602).
. "$(dirname "$0")/lib.sh"

stack_up --nodes 2 --set max_workers=4 --set dispatch_interval=5 --set retry_backoff=1 \
	--set node_timeout=5
POOL_PIDFILE=$STACK_DIR/run/crowd-server.pid

# run_job NAME N SLEEP: post a slow_noop job of N inputs "NAME-i" and set
# INPUTS (its inputs as a JSON array) and ID.
run_job() {
	INPUTS=$(jq -n -c --arg n "$1" --argjson c "$2" '[range(0; $c) | "\($n)-\(.)"]')
	post_job "{\"action\":\"slow_noop\",\"inputs\":$INPUTS,\"options\":{\"sleep\":$3}}"
}

# outputs_ok NAME: the job ($ID) succeeded with its inputs as outputs,
# each once, in order.
outputs_ok() {
	wait_job "$ID" "${2:-90}"
	is "$(jq -c '[.status, .outputs]' <<<"$JOB" | md5sum)" \
		"$(printf '["succeeded",%s]\n' "$INPUTS" | md5sum)" \
		"$1: the job succeeded, every output once and in input order"
}

# api_answers S: GET /heartbeat answers buh-bump within S seconds.
api_answers() {
	wait_until "$1" bash -c "[[ \$(curl -s --max-time 1 '$CROWD_URL/heartbeat') == buh-bump ]]"
}

pool_children() { pgrep -P "$(cat "$POOL_PIDFILE")"; }

# ---- one pool process -------------------------------------------------------
run_job one 60 0.2
sleep 2
victim=$(pool_children | head -n 1)
kill -KILL "$victim"
diag "SIGKILLed pool process $victim"
check "one pool process killed: the API answers within 2 s" api_answers 2
outputs_ok "one pool process killed"

# ---- all pool processes, three times, a second apart ------------------------
run_job all 60 0.2
sleep 2
for _ in 1 2 3; do
	pool_children | xargs -r kill -KILL
	sleep 1
done
diag "SIGKILLed every pool process three times"
check "all pool processes killed: the API answers within 5 s" api_answers 5
outputs_ok "all pool processes killed"

# ---- the pool's parent: its children go with it; a new pool serves ------------
parent=$(cat "$POOL_PIDFILE")
kill -KILL "$parent"
check "the pool's parent killed: no pool process stays behind" \
	wait_until 10 bash -c "! pgrep -f '[c]rowd-server -c $CROWD_CONF' >/dev/null"
setsid "$BIN/crowd-server" -c "$CROWD_CONF" </dev/null >>"$STACK_DIR/log/crowd-server.out" 2>&1 &
echo $! >"$POOL_PIDFILE"
check "a new crowd-server serves (what systemd does)" api_answers 10
run_job parent 20 0.1
outputs_ok "after the pool's parent was replaced"

# ---- ccdistribute, mid-pass ------------------------------------------------------
# Every dispatcher is SIGKILLed while its round waits on a frozen node (its
# units reserved, their slots claimed): the reservations carry a deadline
# (node_timeout + 10 s = 15 s here), and a new dispatcher's passes release
# them once it passes, so nothing stays stranded (it used to be 5 minutes).
# No reservation ever outlives its deadline by more than a few seconds.
DISP_PIDFILE=$STACK_DIR/run/ccdistribute.pid
disp_cmd() { tr '\0' ' ' <"/proc/$(cat "$DISP_PIDFILE")/cmdline"; }
read -r -a DISP_ARGV <<<"$(disp_cmd)"
read -r -a PORTS <<<"$NODE_PORTS"
frozen_pid=$(cat "$STACK_DIR/run/node-${PORTS[1]}.pid")
# a round hangs on the frozen node: reservations made a second ago or more
reserved() { (($(sql "SELECT COUNT(*) FROM work_units WHERE reservation IS NOT NULL AND reserved_until < NOW(6) + INTERVAL 14 SECOND") > 0)); }
# reservations past their deadline by more than one send's wait
# (node_timeout, 5 s here: a pass may be waiting on a node when the
# deadline passes; the next one releases them) and a couple of seconds
overdue() { sql "SELECT COUNT(*) FROM work_units WHERE reserved_until < NOW(6) - INTERVAL 8 SECOND"; }
kill -STOP "$frozen_pid"      # idle, with free slots: the first round hangs on it
run_job dispatcher 80 0.3
check "a round waits on the frozen node with units reserved" wait_until 20 reserved
kill -KILL "$(cat "$DISP_PIDFILE")" 2>/dev/null
for p in $(pgrep -f "[c]cdistribute -c $CROWD_CONF"); do kill -KILL "$p"; done
t_kill=$SECONDS
stranded=$(sql "SELECT COUNT(*) FROM work_units WHERE reservation IS NOT NULL")
deadline_in=$(sql "SELECT CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(6), MAX(reserved_until)) / 1e6) FROM work_units WHERE reservation IS NOT NULL")
diag "SIGKILLed every dispatcher mid-pass: $stranded units reserved, deadline in ${deadline_in:-?} s"
check "no dispatcher is left" bash -c "! pgrep -f '[c]cdistribute -c $CROWD_CONF'"
check "the reservations carry a deadline within node_timeout + 10 s" \
	test "${deadline_in:-99}" -le 15
setsid "${DISP_ARGV[@]}" </dev/null >>"$STACK_DIR/log/ccdistribute.out" 2>&1 &
echo $! >"$DISP_PIDFILE"
worst=0
while ((SECONDS - t_kill < 60)); do
	o=$(overdue)
	((o > worst)) && worst=$o
	[[ $(curl -s "$CROWD_URL/jobs/$ID" | jq -r .status) == processing ]] || break
	# the node thaws once the dead dispatcher's deadline has passed
	((SECONDS - t_kill == 20)) && kill -CONT "$frozen_pid"
	sleep 0.2
done
kill -CONT "$frozen_pid"
is "$worst" 0 "no reservation outlived its deadline by more than node_timeout + 3 s"
check "the dead dispatcher's reservations were released by then" \
	test "$(overdue)" -eq 0
outputs_ok "every dispatcher killed mid-pass, a new one started" 60
diag "the job finished $((SECONDS - t_kill)) s after the kill"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE reservation IS NOT NULL OR reserved_until IS NOT NULL")" 0 \
	"no reservation is left behind"
is "$(sql "SELECT COUNT(*) FROM node_records n WHERE slots_used <> (SELECT COUNT(*) FROM work_units w WHERE w.node_record_id = n.id)")" 0 \
	"every node's slot count matches the units it holds"
check "the frozen node is back: it answers its heartbeat" \
	wait_until 10 curl -sf "http://127.0.0.1:${PORTS[1]}/heartbeat"

# ---- MariaDB, away for 10 s ----------------------------------------------------
MYSQL_PIDFILE=$STACK_DIR/run/mariadb.pid
mpid=$(cat "$MYSQL_PIDFILE")
mapfile -d '' -t MYSQLD_ARGV <"/proc/$mpid/cmdline"
run_job mariadb 40 0.2
sleep 1
kill -KILL "$mpid"
diag "SIGKILLed MariaDB (pid $mpid)"
sleep 1
http GET "/jobs/$ID"
is "$STATUS" 503 "while MariaDB is away, GET /jobs/:id answers 503 (not 502)"
like "$(jq -r .error <<<"$BODY" 2>/dev/null)" "MySQL|database" "... with a JSON error naming the database"
http POST /jobs --data-urlencode 'job={"action":"noop","inputs":["x"]}'
is "$STATUS" 503 "... and POST /jobs answers 503"
sleep 8
rm -f -- "$MYSQL_SOCKET"
setsid "${MYSQLD_ARGV[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
echo $! >"$MYSQL_PIDFILE"
check "MariaDB is back" wait_until 30 mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping
check "the API serves jobs again within 10 s of MariaDB's return, nothing restarted" \
	wait_until 10 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$CROWD_URL/jobs/$ID') == 200 ]]"
outputs_ok "MariaDB killed and back"
check "crowd-server was not restarted" kill -0 "$(cat "$POOL_PIDFILE")"
check "ccdistribute was not restarted" kill -0 "$(cat "$DISP_PIDFILE")"

# ---- a node ---------------------------------------------------------------------
run_job node 40 0.3
sleep 2
kill -KILL "$(cat "$STACK_DIR/run/node-${PORTS[0]}.pid")"
diag "SIGKILLed the node on port ${PORTS[0]}"
outputs_ok "a node killed mid-job" 120

# ---- a result too large for central ------------------------------------------------
# max_body_kb 64: a 100 KB result is refused (413); the node reports the
# attempt as failed with that reason at once, and the unit ends failed
# after its attempts, instead of the result being retried or lost.
stack_up --nodes 0 --set max_body_kb=64 --set retry_backoff=1 --set work_unit_retries=2
cp -r "$REPO/tests/fixtures/actions/big_output" "$REPO/tests/fixtures/actions/save_blob" \
	"$CROWD_CONF/actions/"
setsid "$BIN/crowd-node" -c "$CROWD_CONF" -p "$NODE_PORT" -H 127.0.0.1 \
	</dev/null >>"$STACK_DIR/log/node-$NODE_PORT.log.out" 2>&1 &
echo $! >"$STACK_DIR/run/node-$NODE_PORT.pid"
check "a node with the big_output action checks in" \
	wait_until 15 bash -c "[[ \$(mariadb --no-defaults --socket='$MYSQL_SOCKET' --user=root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM node_records') == 1 ]]"
post_job '{"action":"big_output","inputs":["100"]}'
wait_job "$ID" 60
is "$(jq -r .status <<<"$JOB")" failed "a unit whose result is too large for central fails"
like "$(jq -c .outputs <<<"$JOB")" "refused by central as too large \\(HTTP 413\\)" \
	"... with the reason as its output"
post_job '{"action":"big_output","inputs":["20"]}'
wait_job "$ID" 60
is "$(jq -r '.status' <<<"$JOB")" succeeded "a 20 KB result still goes through"

# ---- a unit too large for its node ------------------------------------------------
# 30 KB of '/' is 30 KB in the job's JSON but 90 KB form-encoded in
# POST /work: the node refuses it (413). Each refusal is a failed attempt
# with the node's reason, so the unit is sent work_unit_retries (2) times,
# not once per pass forever.
slashes=$(head -c 30000 /dev/zero | tr '\0' '/')
json_post /jobs "{\"action\":\"noop\",\"inputs\":[\"$slashes\"]}"
ID=$(jq -r .id <<<"$BODY")
wait_job "$ID" 60
is "$(jq -r .status <<<"$JOB")" failed "a unit its node refuses as too large fails"
like "$(jq -c .outputs <<<"$JOB")" "refused the unit: HTTP 413" "... with the node's reason"
is "$(grep -c "refused unit .*HTTP 413" "$STACK_DIR/log/ccdistribute.out")" 2 \
	"... after work_unit_retries (2) sends, no more"

# ---- the asset store full ----------------------------------------------------------
# local_storage_path on a 1 MB tmpfs: a unit whose crowd-save finds no
# space fails with the reason, after its attempts; the API and smaller
# units go on. (Skipped where tmpfs cannot be mounted.)
STORE=$STACK_DIR/storage
if mount -t tmpfs -o size=1m tmpfs "$STORE" 2>/dev/null; then
	# shellcheck disable=SC2154 # rc is set in the trap itself
	trap 'rc=$?; umount "$STORE" 2>/dev/null; (exit $rc); _stack_cleanup' EXIT
	post_job '{"action":"save_blob","inputs":["2048"]}'
	wait_job "$ID" 60
	is "$(jq -r .status <<<"$JOB")" failed "a unit that finds the asset store full fails"
	like "$(jq -c .outputs <<<"$JOB")" "[Nn]o space left" "... with the reason"
	check "... while the API answers" api_answers 2
	post_job '{"action":"save_blob","inputs":["100"]}'
	wait_job "$ID" 60
	is "$(jq -r .status <<<"$JOB")" succeeded "a 100 KB file still fits and is stored"
	umount "$STORE"
else
	skip "the asset store full" "tmpfs cannot be mounted here"
fi

# ---- nodes that take the unit and never answer ------------------------------------
# The only node left accepts the connection and the request, and never
# answers (SIGSTOPped, or hung). It may have started the unit, so the send
# spends an attempt, and the node is benched; a benched node's probe is
# only ever a unit that has not failed yet. A second such node gets the
# unit's last attempt (work_unit_retries 2): the unit fails with the
# reason, and a third is never sent it.
kill -TERM "$(cat "$STACK_DIR/run/node-$NODE_PORT.pid")"
nodes_known() { mariadb --no-defaults --socket="$MYSQL_SOCKET" --user=root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM node_records'; }
wait_until 15 bash -c "[[ \$(mariadb --no-defaults --socket='$MYSQL_SOCKET' --user=root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM node_records') == 0 ]]" ||
	diag "the node did not check out ($(nodes_known) left)"
TMP=$STACK_DIR/t0801
mkdir -p "$TMP"
SILENT_PIDS=()
# shellcheck disable=SC2154 # rc is set in the trap itself
trap 'rc=$?; kill "${SILENT_PIDS[@]}" 2>/dev/null; umount "$STORE" 2>/dev/null; (exit $rc); _stack_cleanup' EXIT
# silent_node NAME: a listener that takes every request and never answers,
# checked in as a node (the sink writes each request to $TMP/NAME.txt)
silent_node() {
	local port
	port=$(free_port)
	"$REPO/build/$VARIANT/tests/tools/callback_sink" "$port" "$TMP/$1.txt" hang &
	SILENT_PIDS+=($!)
	wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
		diag "the silent node $1 does not listen on $port"
	http PUT "/node/127.0.0.1:$port" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-binary "busy=false&tag=$1&max_workers=4&enabled_actions=noop"
}
sends() { cat "$TMP/$1.txt" 2>/dev/null | grep -c '^POST /work'; }
silent_node silent1
is "$STATUS" 204 "a node that never answers checks in"
post_job '{"action":"noop","inputs":["unanswered"]}'
check "... it is sent the unit" wait_until 30 bash -c "[[ \$(grep -c '^POST /work' '$TMP/silent1.txt' 2>/dev/null) == 1 ]]"
check "the send spends an attempt" wait_until 30 bash -c \
	"[[ \$(mariadb --no-defaults --socket='$MYSQL_SOCKET' --user=root -N -B cloud_crowd -e 'SELECT attempts FROM work_units WHERE job_id=$ID') == 1 ]]"
sleep 8    # past the first bench (5 s): the probe is not this unit
is "$(sends silent1)" 1 "a benched node is not probed with a unit that failed"
silent_node silent2
wait_job "$ID" 60
is "$(jq -r .status <<<"$JOB")" failed "the unit's last attempt, on a second such node, fails it"
like "$(jq -c .outputs <<<"$JOB")" "did not answer POST /work within" "... with the reason"
silent_node silent3
sleep 3
is "$(sends silent1)+$(sends silent2)+$(sends silent3)" "1+1+0" \
	"... sent work_unit_retries (2) times in all, no more"

done_testing
