#!/usr/bin/env bash
# t0406-capacity: central owns capacity and liveness. A node that behaves
# exactly like the original Ruby node (tests/tools/ruby_node: it accepts
# every POST /work, never answers 503, checks in once at start and then
# only every 300 s, and its workers report with their pid and no token)
# runs with max_workers 2 beside FOUR racing dispatchers: the stack's
# ccdistribute --loop, a second --loop with a config copy of its own
# (pid_path), and two loops of one-shot ccdistribute passes. Over a job of
# 60 units, sampled all along: the node never runs more than 2 units (its
# own exact count, and central's slots and assigned units), it is never
# dropped (the stack's check_in_interval is 5 s, but this node announced
# none: 300 s), and the job completes with every output once, in order.
# Then the liveness rules over curl: a node's announced check_in_interval
# is kept, a bad one refused.
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --set dispatch_interval=1 --set retry_backoff=1
T=$STACK_DIR/t0406
mkdir -p "$T"
RUBY_NODE=$REPO/build/$VARIANT/tests/tools/ruby_node
EXTRA=()
cleanup_extra() {
	touch "$T/stop"
	local p
	for p in "${EXTRA[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${EXTRA[@]}"; do wait "$p" 2>/dev/null; done
	EXTRA=()
}
on_exit() {
	local rc=$?
	cleanup_extra
	(exit "$rc")
	_stack_cleanup
}
trap on_exit EXIT

# ---- the original's node -----------------------------------------------------
port=$(free_port)
host=127.0.0.1:$port
"$RUBY_NODE" --central "$CROWD_URL" --port "$port" --max-workers 2 \
	--actions slow_noop,noop 2>"$T/ruby_node.log" &
EXTRA+=($!)
check "the Ruby-like node checks in" wait_until 10 bash -c \
	"[[ \$(mariadb --no-defaults -S '$MYSQL_SOCKET' -u root -N -B cloud_crowd -e \"SELECT COUNT(*) FROM node_records WHERE host = '$host'\") == 1 ]]"
is "$(sql "SELECT CONCAT_WS(' ', max_workers, check_in_interval, instance IS NULL) FROM node_records WHERE host = '$host'")" \
	"2 300 1" "it announced no interval: it is expected every 300 s"

# ---- four racing dispatchers ---------------------------------------------------
cp -r "$CROWD_CONF" "$T/conf2"
mkdir -p "$T/run2"
sed -i "s|^pid_path = .*|pid_path = $T/run2|" "$T/conf2/crowd.conf"
"$BIN/ccdistribute" -c "$T/conf2" --loop 2>"$T/loop2.log" &
EXTRA+=($!)
for k in 1 2; do
	(
		while [[ ! -e $T/stop ]]; do
			"$BIN/ccdistribute" -c "$CROWD_CONF" 2>>"$T/oneshot$k.log" || sleep 0.2
		done
	) &
	EXTRA+=($!)
done
check "the second --loop dispatcher runs" wait_until 5 test -S "$T/run2/ccdistribute.sock"

# ---- a job of 60 units, sampled while it runs ----------------------------------
INPUTS=$(jq -n -c '[range(0; 60) | "cap-\(.)"]')
post_job "{\"action\":\"slow_noop\",\"inputs\":$INPUTS,\"options\":{\"sleep\":0.6}}"
t0=$SECONDS
max_node=0 max_slots=0 max_assigned=0 samples=0 dropped=0 status=processing
while ((SECONDS - t0 < 120)); do
	working=$(curl -s --max-time 2 "http://$host/counts" | jq -r '.working // 0')
	read -r slots assigned present < <(sql "SELECT COALESCE(MAX(n.slots_used), 0),
		(SELECT COUNT(*) FROM work_units w JOIN node_records m ON m.id = w.node_record_id
		 WHERE m.host = '$host'), COUNT(n.id) FROM node_records n WHERE n.host = '$host'")
	((working > max_node)) && max_node=$working
	((slots > max_slots)) && max_slots=$slots
	((assigned > max_assigned)) && max_assigned=$assigned
	((present == 1)) || dropped=$((dropped + 1))
	samples=$((samples + 1))
	status=$(curl -s "$CROWD_URL/jobs/$ID" | jq -r .status)
	[[ $status == processing ]] || break
	sleep 0.1
done
elapsed=$((SECONDS - t0))
diag "$samples samples over $elapsed s: node ran at most $max_node at once; central counted at most $max_slots slots, $max_assigned units assigned"
counts=$(curl -s "http://$host/counts")
diag "the node's own counts: $counts"
is "$(jq -r .max_working <<<"$counts")" 2 "the node never ran more than its max_workers (2) units at once (its exact count)"
check "... nor in any sample of the node ($max_node)" test "$max_node" -le 2
check "... nor in central's slots ($max_slots) or assigned units ($max_assigned)" \
	test "$max_slots" -le 2 -a "$max_assigned" -le 2
is "$dropped" 0 "the node was never dropped while the job ran ($elapsed s; the stack's own nodes would expire after 15 s)"
check "the job ran longer than 15 s (so an expiry on the stack's interval would have shown)" test "$elapsed" -ge 15
wait_job "$ID" 30
is "$(jq -c '[.status, .outputs]' <<<"$JOB" | md5sum)" \
	"$(printf '["succeeded",%s]\n' "$INPUTS" | md5sum)" \
	"the job succeeded, every output once and in input order"
is "$(jq -r .received <<<"$counts")" 60 "the node was sent each of the 60 units once"
is "$(grep -c 'checked in' "$T/ruby_node.log")" 1 "it checked in once (its 300 s interval)"
is "$(sql "SELECT slots_used FROM node_records WHERE host = '$host'")" 0 "every slot came back"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE reservation IS NOT NULL OR reserved_until IS NOT NULL")" 0 \
	"no reservation is left"
grep -h 'corrected' "$T"/*.log "$STACK_DIR"/log/ccdistribute.out 2>/dev/null | head -n 5 | sed 's/^/# drift: /'
cleanup_extra

# ---- liveness over curl ----------------------------------------------------------
ci_node() {
	http PUT "/node/$1" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$2"
}
ci_node 127.0.0.1:1 'busy=false&tag&max_workers=4&enabled_actions=noop&instance=i1&check_in_interval=20'
is "$STATUS" 204 "a check-in announcing check_in_interval=20 is accepted"
is "$(sql "SELECT check_in_interval FROM node_records WHERE host = '127.0.0.1:1'")" 20 "... and kept"
ci_node 127.0.0.1:1 'busy=false&tag&max_workers=4&enabled_actions=noop&instance=i1&check_in_interval=0'
is "$STATUS" 400 "check_in_interval=0 is refused (400)"
ci_node 127.0.0.1:1 'busy=false&tag&max_workers=4&enabled_actions=noop&instance=i1&check_in_interval=x'
is "$STATUS" 400 "check_in_interval=x is refused (400)"
ci_node 127.0.0.1:2 'busy=false&tag&max_workers=4&enabled_actions=noop'
is "$(sql "SELECT check_in_interval FROM node_records WHERE host = '127.0.0.1:2'")" 300 \
	"the original's check-in (no interval, no instance): 300 s"
ci_node 127.0.0.1:3 'busy=false&tag&max_workers=4&enabled_actions=noop&instance=i3'
is "$(sql "SELECT check_in_interval FROM node_records WHERE host = '127.0.0.1:3'")" 5 \
	"our node before it announces one (instance, no interval): the config's check_in_interval"
sql "UPDATE node_records SET updated_at = NOW(6) - INTERVAL 30 SECOND WHERE host LIKE '127.0.0.1:_'" >/dev/null
check "after 30 s of silence only the node with a 5 s interval (x3) is dropped" wait_until 10 bash -c \
	"[[ \$(mariadb --no-defaults -S '$MYSQL_SOCKET' -u root -N -B cloud_crowd -e \"SELECT GROUP_CONCAT(host ORDER BY host) FROM node_records WHERE host LIKE '127.0.0.1:_'\") == '127.0.0.1:1,127.0.0.1:2' ]]"

done_testing
