#!/usr/bin/env bash
# t0408-waiting-get: GET /jobs/:id?wait=S answers as soon as the job is
# complete, or after S seconds with its current state; bad values of wait
# are 400; at most half the pool waits at once (the other waiting requests
# are answered at once), so with more waiting clients than pool processes
# the API still answers promptly; a stop signal ends the waits.
. "$(dirname "$0")/lib.sh"

stack_up --workers 4 --nodes 1 --set max_workers=4
TMP=$STACK_DIR/t0408
mkdir -p "$TMP"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. wait=30: the answer comes when the job completes ----------------------
post_job '{"action":"slow_noop","inputs":["a"],"options":{"sleep":2}}'
id=$ID
t0=$(now_ms)
curl -s --max-time 40 -o "$TMP/w1.json" "$CROWD_URL/jobs/$id?wait=30" &
w1=$!
# meanwhile, plain GETs every 0.1 s: when is it first seen complete?
seen=0
while (($(now_ms) - t0 < 20000)); do
	if [[ $(curl -s "$CROWD_URL/jobs/$id" | jq -r .status) == succeeded ]]; then
		seen=$(now_ms)
		break
	fi
	sleep 0.1
done
wait "$w1"
answered=$(now_ms)
is "$(jq -r .status "$TMP/w1.json")" succeeded "GET ?wait=30 answers the job succeeded"
gap=$((answered - seen))
diag "wait=30: answered after $((answered - t0)) ms, $gap ms after plain GETs first saw it complete"
check "... within 1 s of its completion (answered $((answered - t0)) ms after the request; seen complete at $((seen - t0)) ms)" \
	test "$seen" -gt 0 -a "$gap" -gt -1000 -a "$gap" -lt 1000
is "$(jq -c 'del(.time_taken)' "$TMP/w1.json")" "$(curl -s "$CROWD_URL/jobs/$id" | jq -c 'del(.time_taken)')" \
	"... with the same JSON as a plain GET"

# ---- 2. wait=1 on a running job: its current state after ~1 s ----------------
post_job '{"action":"slow_noop","inputs":["long"],"options":{"sleep":40}}'
long=$ID
t0=$(now_ms)
http GET "/jobs/$long?wait=1"
took=$(($(now_ms) - t0))
is "$STATUS $(jq -r .status <<<"$BODY")" "200 processing" "GET ?wait=1 on a running job answers 200 processing"
diag "wait=1 answered in $took ms"
check "... after about 1 s ($took ms, 900 to 2000)" test "$took" -ge 900 -a "$took" -lt 2000

# ---- 4. bad values: 400, nothing waits ---------------------------------------------
for w in abc -1 61 1e3 99999999999999999999 '1%20OR%201=1' '' 2s; do
	t0=$(now_ms)
	http GET "/jobs/$long?wait=$w"
	took=$(($(now_ms) - t0))
	if [[ $STATUS == 400 && $(jq -r .error <<<"$BODY") == "wait must be a number of seconds from 0 to 60"* && $took -lt 1000 ]]; then
		ok "GET ?wait=$w: 400 at once"
	else
		not_ok "GET ?wait=$w: 400 at once"
		diag "got $STATUS $BODY in $took ms"
	fi
done

# ---- 3. more waiting clients than pool processes ----------------------------------
# 8 clients wait 15 s on the long job with 4 pool processes: 2 hold the
# waiting places (server_workers / 2), the others are answered at once.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s --max-time 40 -o "$TMP/many-$i.json" -w '%{time_total}\n' \
		"$CROWD_URL/jobs/$long?wait=15" >"$TMP/many-$i.time" &
	pids+=($!)
done
sleep 0.5
probe() {
	local kind=$1 i t
	for i in $(seq 1 50); do
		case $kind in
		heartbeat) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 "$CROWD_URL/heartbeat") ;;
		post) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 \
			--data-urlencode 'job={"action":"noop","inputs":["p"]}' "$CROWD_URL/jobs") ;;
		get) t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 "$CROWD_URL/jobs/$long") ;;
		esac
		echo "$t"
	done | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99+0.999); if (i>NR) i=NR; printf "%.0f %.0f\n", a[int(NR/2)]*1000, a[i]*1000}'
}
for kind in heartbeat post get; do
	read -r p50 p99 < <(probe "$kind")
	diag "$kind: p50 $p50 ms, p99 $p99 ms (8 clients waiting on 4 pool processes)"
	check "$kind answers promptly while 8 clients wait (p99 $p99 ms < 1000 ms)" \
		test "$p99" -lt 1000
done
still=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && still=$((still + 1)); done
diag "after the probes, $still of 8 waiting clients were still waiting"
wait "${pids[@]}"
long_waits=0 quick=0 all_processing=1
for i in 1 2 3 4 5 6 7 8; do
	t=$(cat "$TMP/many-$i.time")
	[[ $(jq -r .status "$TMP/many-$i.json") == processing ]] || all_processing=0
	if awk -v t="$t" 'BEGIN{exit !(t >= 10)}'; then long_waits=$((long_waits + 1)); fi
	if awk -v t="$t" 'BEGIN{exit !(t < 2)}'; then quick=$((quick + 1)); fi
done
diag "of 8 waiting clients: $long_waits waited the 15 s, $quick were answered at once ($(cat "$TMP"/many-*.time | tr '\n' ' '))"
check "at most 2 of them waited (server_workers 4 / 2), at least one did ($long_waits)" \
	test "$long_waits" -ge 1 -a "$long_waits" -le 2
is "$quick" $((8 - long_waits)) "... the others were answered at once"
is "$all_processing" 1 "... every answer the job's current state (processing)"

# ---- crowd submit --wait polls with the waiting GET ------------------------------------
run "$BIN/crowd" -c "$CROWD_CONF" submit slow_noop cli --options '{"sleep":3}' --wait
rc_is 0 "crowd submit --wait of a 3 s job: exit 0"
cid=$(jq -r .id <<<"$OUT")
is "$(jq -r .status <<<"$OUT")" succeeded "... the job succeeded"
gets=$(grep -c "GET /jobs/${cid}[? ]" "$STACK_DIR/log/nginx-access.log")
waits=$(grep -c "GET /jobs/$cid?wait=2.0 " "$STACK_DIR/log/nginx-access.log")
diag "crowd submit --wait: $gets GETs of job $cid, $waits of them ?wait=2.0"
check "... polled with GET /jobs/$cid?wait=2.0, a few times, not every 0.5 s ($waits of $gets GETs)" \
	test "$waits" -ge 1 -a "$gets" -le 4

# ---- 5. a stop signal ends a wait ----------------------------------------------------
{
	curl -s --max-time 40 -o "$TMP/stop.json" -w '%{http_code}' "$CROWD_URL/jobs/$long?wait=30" >"$TMP/stop.code"
	now_ms >"$TMP/stop.at"
} &
w=$!
sleep 0.5
pool_pid=$(cat "$STACK_DIR/run/crowd-server.pid")
t0=$(now_ms)
kill -TERM "$pool_pid"
wait "$w"
took=$(($(cat "$TMP/stop.at") - t0))
diag "the waiting client was answered $took ms after SIGTERM to the pool"
is "$(cat "$TMP/stop.code") $(jq -r .status "$TMP/stop.json" 2>/dev/null)" "200 processing" \
	"SIGTERM to the pool: a waiting client gets the job's current state"
check "... at once, not after its 30 s ($took ms < 2000 ms)" test "$took" -lt 2000
check "... and the pool stops" wait_until 10 bash -c "! pgrep -f '[c]rowd-server -c $CROWD_CONF' >/dev/null"

done_testing
