#!/usr/bin/env bash
# t0405-no-hostage: central is never held hostage by the parties it calls.
# A pool process makes no outbound call (it wakes ccdistribute --loop,
# lib/central/wake.h), so while one node is frozen (SIGSTOP), another
# never answers (it checked in once, then only accepts connections: what
# central sees of a node behind a broken link or a wedged proxy) and every
# callback receiver hangs, the API answers
# at once, the healthy nodes keep receiving work, a callback to a refused
# port is tried at once (not behind the hanging ones), and a hanging
# callback is never sent twice while it is in flight. Then: the dispatcher
# delivers due retries with no other traffic, every callback carries a
# delivery id, and the pool survives its parent's death without a stray
# process left serving.
. "$(dirname "$0")/lib.sh"

# dispatch_interval and check_in_interval are long, so that no timer pass
# and no check-in wakes the dispatcher: what happens in seconds was driven
# by the wake-ups the pool sends. server_timeout (a callback's deadline)
# outlasts the test, so a hanging callback stays in flight throughout.
stack_up --nodes 3 --set max_workers=4 --set node_timeout=8 --set connect_timeout=3 \
	--set server_timeout=300 --set retry_backoff=1 --set work_unit_retries=2 \
	--set dispatch_interval=120 --set check_in_interval=300
SINK=$REPO/build/$VARIANT/tests/tools/callback_sink
TMP=$STACK_DIR/t0405
mkdir -p "$TMP"
read -r -a PORTS <<<"$NODE_PORTS"

# ---- the hostile world ------------------------------------------------------
hang_port=$(free_port)
"$SINK" "$hang_port" "$TMP/hang.txt" hang &
sink_pid=$!
refused_port=$(free_port)     # claimed, nobody listens: connects are refused
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$hang_port" ||
	diag "the hanging sink does not listen on $hang_port"

frozen=${PORTS[2]}
frozen_pid=$(cat "$STACK_DIR/run/node-$frozen.pid")
kill -STOP "$frozen_pid"
diag "froze the node agent on port $frozen (pid $frozen_pid)"
# the silent node: a listener that takes every request and never answers
silent_port=$(free_port)
"$SINK" "$silent_port" "$TMP/silent.txt" hang &
silent_pid=$!
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$silent_port" ||
	diag "the silent node does not listen on $silent_port"
http PUT "/node/127.0.0.1:$silent_port" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary 'busy=false&tag=silent&max_workers=4&enabled_actions=noop%2Cslow_noop'
is "$STATUS" 204 "a node that will never answer checks in (once, as a cut-off node would have)"
# shellcheck disable=SC2154 # rc is set in the trap itself
trap 'rc=$?; kill "$silent_pid" "$sink_pid" 2>/dev/null; kill -CONT "$frozen_pid" 2>/dev/null; (exit $rc); _stack_cleanup' EXIT

# ---- jobs whose callbacks hang, and one whose callback is refused ------------
ids=()
for i in 1 2 3 4 5 6; do
	post_job "{\"action\":\"slow_noop\",\"inputs\":[\"h$i-a\",\"h$i-b\",\"h$i-c\"],\"options\":{\"seconds\":0.3},\"callback_url\":\"http://127.0.0.1:$hang_port/cb/$i\"}"
	ids+=("$ID")
done
post_job "{\"action\":\"noop\",\"inputs\":[\"refused\"],\"callback_url\":\"http://127.0.0.1:$refused_port/cb\"}"
refused_id=$ID

# ---- latency of the API meanwhile ---------------------------------------------
# p99 over 60 requests of each kind while the above is under way. The
# figure that failed before was 10 s and more (a pool process waiting on
# a node or a receiver); the bound here is generous for ASan and a busy
# machine, the real figure is printed.
probe() {
	local kind=$1 i t
	for i in $(seq 1 60); do
		case $kind in
		heartbeat) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 "$CROWD_URL/heartbeat") ;;
		post) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 \
			--data-urlencode 'job={"action":"noop","inputs":["p"]}' "$CROWD_URL/jobs") ;;
		get) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 "$CROWD_URL/jobs/${ids[0]}") ;;
		esac
		echo "$t"
	done | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99+0.999); if (i>NR) i=NR; printf "%.0f %.0f\n", a[int(NR/2)]*1000, a[i]*1000}'
}
for kind in heartbeat post get; do
	read -r p50 p99 < <(probe "$kind")
	diag "$kind: p50 $p50 ms, p99 $p99 ms (frozen node, silent node, hanging callbacks)"
	check "$kind answers at once while nodes and receivers hang (p99 $p99 ms < 1000 ms)" \
		test "$p99" -lt 1000
done

# ---- the healthy nodes kept receiving work -------------------------------------
all_done=1
for id in "${ids[@]}" "$refused_id"; do
	wait_job "$id" 90 || all_done=0
	[[ $(jq -r .status <<<"$JOB") == succeeded ]] || all_done=0
done
is "$all_done" 1 "every job succeeded on the two healthy nodes"

# ---- callbacks ------------------------------------------------------------------
check "the refused callback was tried at once, not behind the hanging ones" \
	wait_until 15 grep -q "job $refused_id: callback http://127.0.0.1:$refused_port/cb failed" \
	"$STACK_DIR/log/ccdistribute.out"
hung() { grep -c ' /cb/' "$TMP/hang.txt"; }
check "every job's hanging callback is in flight at once (6)" wait_until 15 test "$(hung)" -ge 6
sleep 3
is "$(grep ' /cb/' "$TMP/hang.txt" | cut -d' ' -f2 | sort | uniq -d | wc -l)" 0 \
	"no hanging callback was sent twice while in flight"
like "$(head -n 1 "$TMP/hang.txt.delivery" 2>/dev/null)" '^[0-9]+:[0-9T:.Z-]+:[0-9.]+$' \
	"callbacks carry X-CloudCrowd-Delivery: JOB:CREATED_AT:SECONDS"
kill -CONT "$frozen_pid"

# ---- a failing unit is retried on time with no other traffic ---------------------
# dispatch_interval is 60 s: only the wake-up with a delay (retry_backoff
# 1 s) that the report sent can make the second attempt run within seconds.
post_job '{"action":"always_fail","inputs":["x"]}'
t0=$SECONDS
wait_job "$ID" 40
is "$(jq -r .status <<<"$JOB")" failed "a unit that always fails ends its job as failed"
took=$((SECONDS - t0))
diag "an always_fail job with 2 attempts took $took s (dispatch_interval 60 s)"
check "its retry ran when due, not on the next timer pass ($took s < 30 s)" test "$took" -lt 30

# ---- the pool's parent dies: no pool process lingers ------------------------------
pool_pid=$(cat "$STACK_DIR/run/crowd-server.pid")
children=$(pgrep -P "$pool_pid" | wc -l)
check "the pool has its processes ($children)" test "$children" -ge 2
kill -KILL "$pool_pid"
check "its processes end with it (none left serving on a removed socket)" \
	wait_until 10 bash -c "! pgrep -f '[c]rowd-server -c $CROWD_CONF' >/dev/null"

done_testing
