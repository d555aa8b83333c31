#!/usr/bin/env bash
# t0402-failures: the dispatch guarantees under stress and failure, each a
# bug the original showed (shared/protocol/PITFALLS.md):
#  - exactly once: 4 dispatchers at once (the loop, two cron-style one-shot
#    runners, the FastCGI pool) over 2,000 units on 3 nodes;
#  - node loss: a node SIGKILLed in the middle of a 200-unit job;
#  - ghost assignments (1): max_workers 1, results racing the assignment;
#  - a crashed node restarting on its port (5, 6): its old units are
#    released and it can bind while its orphans live;
#  - leases: a node that stays registered but never reports (its agent
#    frozen with SIGSTOP) does not hold its unit forever: the lease
#    expires, the attempt counts as failed, the unit runs on another node,
#    and the frozen node's late report, once it thaws, changes nothing.
. "$(dirname "$0")/lib.sh"

start_node() {   # start_node PORT: a node agent like stack/start.sh starts it
	local port=$1
	setsid "$BIN/crowd-node" -c "$CROWD_CONF" -p "$port" -H 127.0.0.1 \
		</dev/null >>"$STACK_DIR/log/node-$port.out" 2>&1 &
	echo $! >"$STACK_DIR/run/node-$port.pid"
}

# ======== stack A: 3 nodes ==================================================
stack_up --nodes 3 --set dispatch_interval=1
A=$STACK_DIR
read -r -a ports <<<"$NODE_PORTS"

# ---- exactly once with 4 dispatchers ----------------------------------------
runs=$A/runs.log
: >"$runs"
cron() { while [[ -e $A/cron.on ]]; do "$BIN/ccdistribute" -c "$CROWD_CONF" 2>>"$A/log/cron.out"; done; }
touch "$A/cron.on"
cron & c1=$!
cron & c2=$!
inputs=$(seq -s, 1 2000)
form_post /jobs "job={\"action\":\"count_runs\",\"inputs\":[$inputs],\"options\":{\"log\":\"$runs\"}}"
id=$(jq -r .id <<<"$BODY")
t0=$SECONDS
wait_job "$id" 400
rm -f "$A/cron.on"
wait "$c1" "$c2"
diag "2,000 units in $((SECONDS - t0)) s"
is "$(jq -r .status <<<"$JOB")" succeeded "the 2,000-unit job succeeded"
is "$(jq -c '.outputs == [range(1;2001)]' <<<"$JOB")" true "all 2,000 outputs, in input order"
is "$(wc -l <"$runs")" 2000 "the action ran exactly 2,000 times"
is "$(awk '{print $1}' "$runs" | sort -u | wc -l)" 2000 "... once for each unit"
used=$(for p in "${ports[@]}"; do grep -c 'count_runs process started' "$A/log/node-$p.log"; done | paste -sd' ')
diag "units per node: $used"
check "all three nodes took part" bash -c "! grep -qw 0 <<<'$used'"
is "$(grep -c 'is overloaded (503)' "$A/log/server.log")" 0 \
	"nodes that were only full (503 Node Full) were never marked busy"
passes=$(grep -c 'pass:' "$A/log/cron.out" || true)
diag "one-shot dispatcher passes that sent units: $passes"

# ---- node loss: SIGKILL one node in the middle of a 200-unit job -------------
form_post /jobs "job={\"action\":\"slow_noop\",\"inputs\":[$(seq -s, 1 200)],\"options\":{\"sleep\":0.3}}"
id=$(jq -r .id <<<"$BODY")
wait_until 60 bash -c "(( \$(curl -s $CROWD_URL/jobs/$id | jq .percent_complete) >= 15 ))"
victim=${ports[0]}
kill -9 "$(cat "$A/run/node-$victim.pid")"
diag "killed node $victim (SIGKILL) at $(curl -s "$CROWD_URL/jobs/$id" | jq .percent_complete) %"
t0=$SECONDS
# Bound: the node is noticed when a POST to it fails or after
# check_in_interval (5 s) x node_expiry_intervals (3) of silence; then its
# units are released and run elsewhere.
wait_job "$id" 90
diag "the job finished $((SECONDS - t0)) s after the kill"
is "$(jq -r .status <<<"$JOB")" succeeded "the job still succeeds after losing a node"
is "$(jq -c '.outputs == [range(1;201)]' <<<"$JOB")" true "every one of the 200 outputs is present, in order"
check "it finished within 90 s of the kill" test $((SECONDS - t0)) -le 90
http GET /status
is "$(jq -r --arg h "127.0.0.1:$victim" '[.nodes[]|select(.host==$h)]|length' <<<"$BODY")" 0 \
	"the dead node is gone from /status"

# ======== stack B: 1 node, max_workers 1 ======================================
stack_up --nodes 1 --set max_workers=1 --set dispatch_interval=1
port=$NODE_PORTS

# ---- ghost assignments: results race the recording of the assignment ------
form_post /jobs "job={\"action\":\"noop\",\"inputs\":[$(seq -s, 1 100)]}"
id=$(jq -r .id <<<"$BODY")
wait_job "$id" 120
is "$(jq -r .status <<<"$JOB")" succeeded "100 fast units on one max_workers=1 node: the job completes"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE node_record_id IS NOT NULL OR worker_pid IS NOT NULL")" 0 \
	"no finished unit was given a node or pid afterwards (no ghosts)"
http GET /status
is "$(jq -c '.nodes[0]|[.workers,.status]' <<<"$BODY")" '[[],"available"]' "the node has no ghost workers and is available"

# ---- a node that crashes and restarts on its port ---------------------------
form_post /jobs 'job={"action":"slow_noop","inputs":["r"],"options":{"sleep":4}}'
id=$(jq -r .id <<<"$BODY")
wait_until 20 bash -c "[[ \$(mariadb --no-defaults -S $MYSQL_SOCKET -u root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM work_units WHERE job_id=$id AND worker_pid IS NOT NULL') == 1 ]]"
old_pid=$(sql "SELECT worker_pid FROM work_units WHERE job_id=$id")
kill -9 "$(cat "$STACK_DIR/run/node-$port.pid")"
check "the orphaned action of the dead node still runs" kill -0 "$old_pid"
start_node "$port"
check "the restarted node listens on its port while the orphan lives" \
	wait_until 15 curl -sf "http://127.0.0.1:$port/heartbeat"
wait_until 15 bash -c "[[ \$(mariadb --no-defaults -S $MYSQL_SOCKET -u root -N -B cloud_crowd -e 'SELECT IFNULL(worker_pid,0) FROM work_units WHERE job_id=$id') != $old_pid ]]"
new_pid=$(sql "SELECT IFNULL(worker_pid,0) FROM work_units WHERE job_id=$id")
check "the restarted node gets no credit for its old process's unit ($old_pid -> $new_pid)" test "$new_pid" != "$old_pid"
wait_job "$id" 40
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["r"]]' "the unit ran again and the job succeeded"

# ======== stack C: 2 nodes, short leases, check-ins far apart ================
stack_up --nodes 2 --set check_in_interval=300 --set action_timeout=3 \
	--set lease_grace=2 --set retry_backoff=0 --set dispatch_interval=1
form_post /jobs 'job={"action":"slow_noop","inputs":["x"],"options":{"sleep":1}}'
id=$(jq -r .id <<<"$BODY")
wait_until 20 bash -c "[[ \$(mariadb --no-defaults -S $MYSQL_SOCKET -u root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM work_units WHERE job_id=$id AND worker_pid IS NOT NULL') == 1 ]]"
frozen_host=$(sql "SELECT n.host FROM work_units w JOIN node_records n ON n.id = w.node_record_id WHERE w.job_id=$id")
frozen_port=${frozen_host##*:}
frozen_pid=$(cat "$STACK_DIR/run/node-$frozen_port.pid")
kill -STOP "$frozen_pid"
diag "froze the node agent of $frozen_host (pid $frozen_pid) while its unit runs"
# lease = action_timeout 3 s + lease_grace 2 s
wait_job "$id" 40
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["x"]]' \
	"the job succeeds although the node holding its unit never reported"
# (the sweep runs in whichever dispatcher gets there first: pool or loop)
like "$(cat "$STACK_DIR/log/server.log" "$STACK_DIR/log/ccdistribute.out" | grep 'lease expired' | head -1)" \
	"unit [0-9]+: lease expired on $frozen_host, counting a failed attempt" \
	"the unit's lease expired and counted as a failed attempt"
other=$(for p in $NODE_PORTS; do [[ $p != "$frozen_port" ]] && echo "$p"; done)
like "$(grep -c 'slow_noop process started' "$STACK_DIR/log/node-$other.log")" '^[1-9]' \
	"the retry ran on the other node"
kill -CONT "$frozen_pid"
# The job is complete and its units removed: the late report gets a 404
# and the node drops it.
wait_until 15 grep -q 'central does not know it any more (404); result dropped' \
	"$STACK_DIR/log/node-$frozen_port.log"
check "the thawed node's late report is refused (404) and dropped" \
	grep -q 'central does not know it any more (404); result dropped' "$STACK_DIR/log/node-$frozen_port.log"
http GET "/jobs/$id"
is "$(jq -c '[.status,.outputs]' <<<"$BODY")" '["succeeded",["x"]]' "... and the job is unchanged"

# The unit counters kept on each job agree with the unit rows.
is "$(sql "SELECT COUNT(*) FROM jobs j WHERE units_total <> (SELECT COUNT(*) FROM work_units w WHERE w.job_id = j.id) OR units_done <> (SELECT COUNT(*) FROM work_units w WHERE w.job_id = j.id AND w.status IN (2, 3))")" 0 \
	"every job's unit counters match its unit rows"

done_testing
