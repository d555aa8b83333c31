#!/usr/bin/env bash
# t0301-node: real crowd-node processes against the real central server
# (nginx + crowd-server + MariaDB) over loopback. The stack runs no nodes
# and no ccdistribute; the test starts its own nodes (-p 0, pid files in
# the stack's run/ so stack/stop.sh ends them) and posts work units to them
# directly, built from the work_units rows central created. The actions it
# posts are blacklisted in central so that central's own dispatch passes
# never send them anywhere. Checked: check-in and periodic check-in seen in
# /status and node_records, units of shipped actions run on real files and
# their results reach MySQL, a failing action's stderr is the output, an
# action killed with SIGKILL is reported failed, bad POST /work bodies are
# 400 and run nothing, max_load 0 gives 503, basic auth and max_workers on
# the node, no descriptor of the node in actions, a restarted node can
# bind its port while an orphan action lives (PITFALLS 6), each action the
# node skips is logged with why (not executable, no process, bad name), a
# node that cannot reach central exits non-zero, SIGTERM checks out.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --no-dispatcher --set check_in_interval=1 \
	--set work_unit_retries=1 --set action_timeout=60

NODE_BIN=$BIN/crowd-node
ORPHANS=()
trap 'rc=$?; for p in "${ORPHANS[@]}"; do kill -KILL -- "-$p" "$p" 2>/dev/null; done; (exit $rc); _stack_cleanup' EXIT

# start_node NAME CONFDIR [args]: sets NPID and NPORT (the node picks a
# free port and says which on stderr).
start_node() {
	local name=$1 conf=$2 out=$STACK_DIR/log/node-$1.out
	shift 2
	"$NODE_BIN" -c "$conf" -p "${PORT_ARG:-0}" -H 127.0.0.1 "$@" >"$out" 2>&1 &
	NPID=$!
	echo "$NPID" >"$STACK_DIR/run/node-$name.pid"
	NPORT=""
	wait_until 15 grep -q 'logging to' "$out" || return 1
	NPORT=$(sed -n 's/^crowd-node 127\.0\.0\.1:\([0-9]*\): logging to .*/\1/p' "$out" | head -n 1)
	[[ -n $NPORT ]]
}

# status_node HOST: the node's entry in central's /status ("" if absent).
status_node() {
	http GET /status
	jq -c --arg h "$1" '.nodes[] | select(.host == $h)' <<<"$BODY" 2>/dev/null
}
node_listed() { [[ -n $(status_node "$1") ]]; }
node_unlisted() { [[ -z $(status_node "$1") ]]; }

# unit_json ID: the unit as central sends it in POST /work, with a new
# assignment token as a dispatch pass gives it (central hears a result
# only with the token of the unit's current assignment).
unit_json() {
	mariadb --no-defaults --socket="$MYSQL_SOCKET" --user=root -N -B -r cloud_crowd -e "
	UPDATE work_units SET token = LEFT(SHA2(CONCAT(RAND(), ':', id), 256), 32)
	WHERE id = $1;
	SELECT JSON_OBJECT('id', w.id, 'job_id', w.job_id, 'input', w.input,
	  'attempts', w.attempts, 'action', w.action,
	  'options', JSON_EXTRACT(j.options, '\$'), 'status', w.status,
	  'input_is_json', JSON_EXTRACT(IF(w.input_is_json, 'true', 'false'), '\$'),
	  'token', w.token)
	FROM work_units w JOIN jobs j ON j.id = w.job_id WHERE w.id = $1"
}
unit_field() { sql "SELECT $2 FROM work_units WHERE id = $1"; }
unit_status_is() { [[ $(unit_field "$1" status) == "$2" ]]; }
job_status_is() { http GET "/jobs/$1"; [[ $(jq -r .status <<<"$BODY") == "$2" ]]; }

# new_job JSON: creates it, sets JOB (id) and UNITS (unit ids in order).
new_job() {
	form_post /jobs "job=$1"
	JOB=$(jq -r '.id // empty' <<<"$BODY")
	UNITS=()
	[[ -n $JOB ]] || { diag "POST /jobs $1 -> $STATUS $BODY"; return 1; }
	mapfile -t UNITS < <(sql "SELECT id FROM work_units WHERE job_id = $JOB ORDER BY position, id")
}

# post_unit PORT ID [curl args]: POST /work with the unit's JSON.
post_unit() {
	local port=$1 id=$2
	shift 2
	http POST "http://127.0.0.1:$port/work" --data-urlencode "work_unit=$(unit_json "$id")" "$@"
}

started_count() { grep -c ' started, pid ' "$1" 2>/dev/null || true; }

# --- central knows nothing of these actions' units: no dispatch ------------
for a in noop word_count always_fail echo slow_noop; do
	form_post /blacklist "action=$a"
	[[ $STATUS == 2* ]] || diag "POST /blacklist $a -> $STATUS $BODY"
done
is "$(sql 'SELECT COUNT(*) FROM black_listed_actions')" 5 "the actions used here are blacklisted in central"

# --- a node starts, checks in, and keeps checking in -------------------------
start_node one "$CROWD_CONF" -t tag-one || not_ok "node one starts"
ONE=$NPORT
ONE_PID=$NPID
ONE_LOG=$STACK_DIR/log/node-$ONE.log
like "$ONE" '^[0-9]+$' "node one listens on a port of its own choice ($ONE)"
http GET "http://127.0.0.1:$ONE/heartbeat"
is "$STATUS $BODY" "200 buh-bump" "GET /heartbeat on the node"
check "node one appears in /status" wait_until 10 node_listed "127.0.0.1:$ONE"
is "$(status_node "127.0.0.1:$ONE" | jq -r '.tag + " " + .status')" "tag-one available" \
	"/status shows its tag and that it is available"
row=$(sql "SELECT CONCAT_WS(' ', enabled_actions, max_workers, busy, instance) FROM node_records WHERE host = '127.0.0.1:$ONE'")
want_actions=$(cd "$CROWD_CONF/actions" && for a in *; do [[ -x $a/process ]] && printf '%s\n' "$a"; done | sort | paste -sd,)
like "$row" "^$want_actions [0-9]+ 0 $ONE_PID\.[0-9]+$" \
	"node_records: enabled actions, max_workers, not busy, instance <pid>.<usec>"
first=$(sql "SELECT updated_at FROM node_records WHERE host = '127.0.0.1:$ONE'")
checked_again() { [[ $(sql "SELECT updated_at FROM node_records WHERE host = '127.0.0.1:$ONE'") > "$first" ]]; }
check "periodic check-in: node_records.updated_at moves (check_in_interval 1)" wait_until 10 checked_again

# --- noop: results reach work_units ------------------------------------------
new_job '{"action":"noop","inputs":["alpha",42,{"k":[1,2]}],"options":{"note":"t0301"}}'
is "${#UNITS[@]}" 3 "noop job has 3 units"
post_unit "$ONE" "${UNITS[0]}"
is "$STATUS" 200 "POST /work noop unit 1 -> 200"
like "$BODY" '^\{"pid":[0-9]+\}$' "answer is {\"pid\": N}"
check "unit 1 succeeded in MySQL" wait_until 10 unit_status_is "${UNITS[0]}" 2
is "$(unit_field "${UNITS[0]}" output)" '{"output":"alpha"}' "unit 1 output is {\"output\":\"alpha\"}"
like "$(unit_field "${UNITS[0]}" time)" '^[0-9.e-]+$' "unit 1 time recorded"
post_unit "$ONE" "${UNITS[1]}"
post_unit "$ONE" "${UNITS[2]}"
check "noop job succeeded" wait_until 10 job_status_is "$JOB" succeeded
is "$(jq -c .outputs <<<"$BODY")" '["alpha",42,{"k":[1,2]}]' \
	"outputs keep each input's JSON type (number, object), in input order"
check "scratch folders are gone" test -z "$(ls -A "$STACK_DIR/tmp/noop" 2>/dev/null)"

# --- word_count on a real file, process then merge -----------------------------
words=$STACK_DIR/words.txt
for i in $(seq 1 500); do printf 'word%d lorem ipsum, dolor\tsit\n' "$i"; done >"$words"
printf 'three more words\n' >"$STACK_DIR/words2.txt"
want=$(wc -w <"$words" | tr -d ' ')
new_job "{\"action\":\"word_count\",\"inputs\":[\"file://$words\",\"file://$STACK_DIR/words2.txt\"]}"
post_unit "$ONE" "${UNITS[0]}"
is "$STATUS" 200 "POST /work word_count process unit -> 200"
check "word_count process unit succeeded" wait_until 10 unit_status_is "${UNITS[0]}" 2
is "$(unit_field "${UNITS[0]}" output)" "{\"output\":$want}" "word_count process counts like wc -w ($want)"
post_unit "$ONE" "${UNITS[1]}"
merge_unit() { merge=$(sql "SELECT id FROM work_units WHERE job_id = $JOB AND status = 5"); [[ -n $merge ]]; }
check "central created the merge unit" wait_until 10 merge_unit
post_unit "$ONE" "$merge"
check "word_count job succeeded after merge" wait_until 10 job_status_is "$JOB" succeeded
is "$(jq -c .outputs <<<"$BODY")" "[$((want + 3))]" "merged word count is the sum"

# --- echo: crowd-save from inside an action ------------------------------------
printf 'saved through crowd-save\n' >"$STACK_DIR/echo-in.txt"
new_job "{\"action\":\"echo\",\"inputs\":[\"file://$STACK_DIR/echo-in.txt\"]}"
post_unit "$ONE" "${UNITS[0]}"
check "echo job succeeded" wait_until 10 job_status_is "$JOB" succeeded
url=$(jq -r '.outputs[0]' <<<"$BODY")
is "$url" "file://$STACK_DIR/storage/echo/job_$JOB/unit_${UNITS[0]}/echo-in.txt" \
	"echo output is the file:// URL crowd-save printed"
is "$(cat "${url#file://}" 2>&1)" "saved through crowd-save" "the stored file has the input's content"

# --- a failing action: its stderr is the output ---------------------------------
new_job '{"action":"always_fail","inputs":["x"],"options":{"message":"the disk is on fire (t0301)"}}'
post_unit "$ONE" "${UNITS[0]}"
check "always_fail job failed (work_unit_retries 1)" wait_until 10 job_status_is "$JOB" failed
is "$(jq -c .outputs <<<"$BODY")" '["the disk is on fire (t0301)"]' "the failure output is the action's stderr"

# --- input URLs that fail -----------------------------------------------------
new_job "{\"action\":\"word_count\",\"inputs\":[\"file://$STACK_DIR/no-such-file.txt\",\"ftp://127.0.0.1/x.txt\"]}"
post_unit "$ONE" "${UNITS[0]}"
is "$STATUS" 200 "a unit whose input cannot be downloaded is still accepted"
post_unit "$ONE" "${UNITS[1]}"
check "bad input URLs fail the job" wait_until 10 job_status_is "$JOB" failed
like "$(jq -r '.outputs | join(" | ")' <<<"$BODY")" "no-such-file.txt.*\|.*unsupported URL scheme|unsupported URL scheme.*\|.*no-such-file" \
	"download failures are reported clearly"

# --- SIGKILL of a running action: reported failed -------------------------------
new_job '{"action":"slow_noop","inputs":["slow"],"options":{"sleep":30}}'
post_unit "$ONE" "${UNITS[0]}"
apid=$(jq -r .pid <<<"$BODY")
ORPHANS+=("$apid")
check "the answered pid is a live process" test -d "/proc/$apid"
is "$(awk '{print $5}' "/proc/$apid/stat" 2>/dev/null)" "$apid" "the action leads its own process group"
nsock=$(find "/proc/$apid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
is "$nsock" 0 "the action inherited no socket from the node (PITFALLS 6)"
is "$(readlink "/proc/$apid/cwd")" "$STACK_DIR/tmp/slow_noop/unit_${UNITS[0]}" "the action runs in its scratch folder"
kill -KILL "$apid"
check "the killed unit is reported failed" wait_until 10 job_status_is "$JOB" failed
is "$(jq -c .outputs <<<"$BODY")" '["killed by signal 9 (SIGKILL)"]' "output says it was killed by SIGKILL"
group_gone() { ! kill -0 -- "-$apid" 2>/dev/null; }
check "its background sleep (same process group) is gone too" wait_until 5 group_gone
http GET "http://127.0.0.1:$ONE/heartbeat"
is "$BODY" buh-bump "the node lives on"

# --- bad POST /work: 400 and nothing runs ----------------------------------------
before=$(started_count "$ONE_LOG")
new_job '{"action":"noop","inputs":["never"]}'
good=$(unit_json "${UNITS[0]}")
bad_bodies=(
	"missing-field|foo=bar"
	"bad-json|work_unit=%7Bnope"
	"array|work_unit=%5B1%5D"
	"id-zero|work_unit=$(jq -c '.id = 0' <<<"$good" | jq -sRr @uri)"
	"id-string|work_unit=$(jq -c '.id = "1"' <<<"$good" | jq -sRr @uri)"
	"unknown-action|work_unit=$(jq -c '.action = "no_such_action"' <<<"$good" | jq -sRr @uri)"
	"bad-action-name|work_unit=$(jq -c '.action = "../../bin"' <<<"$good" | jq -sRr @uri)"
	"input-not-string|work_unit=$(jq -c '.input = [1]' <<<"$good" | jq -sRr @uri)"
	"status-3|work_unit=$(jq -c '.status = 3' <<<"$good" | jq -sRr @uri)"
	"no-split-stage|work_unit=$(jq -c '.status = 4' <<<"$good" | jq -sRr @uri)"
	"options-array|work_unit=$(jq -c '.options = []' <<<"$good" | jq -sRr @uri)"
	"bad-escape|work_unit=%ZZ"
)
for entry in "${bad_bodies[@]}"; do
	name=${entry%%|*}
	http POST "http://127.0.0.1:$ONE/work" --data-binary "${entry#*|}"
	if [[ $STATUS == 400 ]] && jq -e '.error | type == "string" and length > 0' <<<"$BODY" >/dev/null 2>&1; then
		ok "bad POST /work ($name) -> 400 {\"error\": ...}"
	else
		not_ok "bad POST /work ($name) -> 400 {\"error\": ...}"
		diag "got $STATUS $BODY"
	fi
done
http GET "http://127.0.0.1:$ONE/nope"
is "$STATUS $(jq -r 'has("error")' <<<"$BODY")" "404 true" "unknown route -> 404 JSON"
http PUT "http://127.0.0.1:$ONE/work"
is "$STATUS" 405 "PUT /work -> 405"
http POST "http://127.0.0.1:$ONE/work" --data-binary @<(head -c $((17 * 1024 * 1024)) /dev/zero)
is "$STATUS" 413 "a body over max_body_kb -> 413"
is "$(started_count "$ONE_LOG")" "$before" "none of them started a process"
is "$(unit_field "${UNITS[0]}" status)" 1 "the unit they were built from is untouched"

# --- overload: max_load 0 gives 503 -----------------------------------------------
# The 1-minute load must be above 0; on an idle machine make some.
load_nonzero() { awk '{exit !($1 > 0)}' /proc/loadavg; }
if ! load_nonzero; then
	(end=$((SECONDS + 20)); while ((SECONDS < end)) && ! load_nonzero; do :; done) &
	burner=$!
	wait_until 25 load_nonzero
	kill "$burner" 2>/dev/null
fi
conf=$(conf_copy overload max_load=0)
start_node overload "$conf" || not_ok "node overload starts"
OVER=$NPORT
check "the overloaded node checks in" wait_until 10 node_listed "127.0.0.1:$OVER"
is "$(sql "SELECT busy FROM node_records WHERE host = '127.0.0.1:$OVER'")" 1 "it checked in busy=true"
is "$(status_node "127.0.0.1:$OVER" | jq -r .status)" busy "/status shows it busy"
post_unit "$OVER" "${UNITS[0]}"
is "$STATUS $BODY" "503 Node Overloaded" "POST /work while load > max_load -> 503 Node Overloaded"
is "$(started_count "$STACK_DIR/log/node-$OVER.log")" 0 "the overloaded node started nothing"
kill -TERM "$NPID"
wait "$NPID"
is "$?" 0 "SIGTERM: the overloaded node exits 0"

# --- basic auth and max_workers on the node ------------------------------------------
conf=$(conf_copy auth http_authentication=yes login=nodetest password=t0301-secret max_workers=1)
start_node auth "$conf" || not_ok "node auth starts"
AUTH=$NPORT
AUTH_PID=$NPID
check "the auth node checks in" wait_until 10 node_listed "127.0.0.1:$AUTH"
http GET "http://127.0.0.1:$AUTH/heartbeat"
is "$STATUS" 401 "no credentials -> 401"
http GET "http://127.0.0.1:$AUTH/heartbeat" -u nodetest:wrong
is "$STATUS" 401 "wrong password -> 401"
http GET "http://127.0.0.1:$AUTH/heartbeat" -u nodetest:t0301-secret
is "$STATUS $BODY" "200 buh-bump" "right credentials -> 200"
new_job '{"action":"slow_noop","inputs":["a","b"],"options":{"sleep":2}}'
post_unit "$AUTH" "${UNITS[0]}"
is "$STATUS" 401 "POST /work without credentials -> 401"
post_unit "$AUTH" "${UNITS[0]}" -u nodetest:t0301-secret
is "$STATUS" 200 "POST /work with credentials -> 200"
post_unit "$AUTH" "${UNITS[1]}" -u nodetest:t0301-secret
is "$STATUS $BODY" "503 Node Full" "a second unit with max_workers 1 -> 503 Node Full"
check "the first unit still completes" wait_until 15 unit_status_is "${UNITS[0]}" 2
kill -TERM "$AUTH_PID"
wait "$AUTH_PID"

# --- a node killed with SIGKILL: its port is free again while its action lives ---
new_job '{"action":"slow_noop","inputs":["orphan"],"options":{"sleep":60}}'
PORT_ARG=$NODE_PORT start_node crash "$CROWD_CONF" || not_ok "node crash starts"
is "$NPORT" "$NODE_PORT" "node crash listens on the stack's node port"
post_unit "$NODE_PORT" "${UNITS[0]}"
opid=$(jq -r .pid <<<"$BODY")
ORPHANS+=("$opid")
kill -KILL "$NPID"
wait "$NPID" 2>/dev/null
check "the action outlives its node" test -d "/proc/$opid"
inst1=$(sql "SELECT instance FROM node_records WHERE host = '127.0.0.1:$NODE_PORT'")
PORT_ARG=$NODE_PORT start_node crash "$CROWD_CONF" || not_ok "node crash restarts"
http GET "http://127.0.0.1:$NODE_PORT/heartbeat"
is "$STATUS $BODY" "200 buh-bump" "the restarted node listens on the same port (PITFALLS 6)"
inst_changed() { [[ $(sql "SELECT instance FROM node_records WHERE host = '127.0.0.1:$NODE_PORT'") != "$inst1" ]]; }
check "its check-in carries a new instance" wait_until 10 inst_changed
kill -KILL -- "-$opid" 2>/dev/null
kill -TERM "$NPID"
wait "$NPID"

# --- actions the node cannot offer: one warning each, saying why ---------------------
acts=$STACK_DIR/actions-skip
cp -rL "$CROWD_CONF/actions" "$acts"   # -L: copies, not links to the build
cp -r "$acts/noop" "$acts/line_count2"
chmod -x "$acts/line_count2/process"
mkdir -p "$acts/no_process" "$acts/process_dir/process"
cp -r "$acts/noop" "$acts/Bad-Name"
touch "$acts/README.txt" "$acts/.hidden"
conf=$(conf_copy skip "actions_path=$acts")
start_node skip "$conf" || not_ok "node skip starts"
SKIP_LOG=$STACK_DIR/log/node-$NPORT.log
check "node skip checks in" wait_until 10 node_listed "127.0.0.1:$NPORT"
warned() { grep -F "warn: skipping action '$1': $2" "$SKIP_LOG"; }
check "not executable: \"skipping action 'line_count2': .../process is not executable (chmod +x it)\"" \
	warned line_count2 "$acts/line_count2/process is not executable (chmod +x it)"
check "no process: \"skipping action 'no_process': .../process is missing\"" \
	warned no_process "$acts/no_process/process is missing"
check "process not a file: \"skipping action 'process_dir': .../process is not a file\"" \
	warned process_dir "$acts/process_dir/process is not a file"
check "a bad name: \"skipping action 'Bad-Name': action names are [a-z0-9_]+\"" \
	warned Bad-Name "action names are [a-z0-9_]+"
is "$(grep -c "skipping action" "$SKIP_LOG")" 4 "one line per skipped action, nothing for plain or hidden files"
is "$(sql "SELECT enabled_actions FROM node_records WHERE host = '127.0.0.1:$NPORT'")" "$want_actions" \
	"the node offers the others, and none of these"
kill -TERM "$NPID"
wait "$NPID"

# --- central unreachable at start: exit non-zero, clearly ----------------------------
conf=$(conf_copy nocentral central_server=http://127.0.0.1:1)
out=$(timeout 30 "$NODE_BIN" -c "$conf" -p 0 -H 127.0.0.1 2>&1)
rc=$?
is "$rc" 5 "a node that cannot reach central exits 5 (central unreachable)"
like "$out" 'cannot check in with central at http://127\.0\.0\.1:1' "and says why"
out=$("$NODE_BIN" -c "$STACK_DIR/no-such-conf" 2>&1)
is "$?" 3 "a missing config folder exits 3 (config)"
out=$("$NODE_BIN" -c "$CROWD_CONF" -p 0 -H 'vm/../x' 2>&1)
like "$?:$out" "^2:.*-H vm/\.\./x: not a host name" "a bad -H exits 2 (usage), naming it"

# --- the helper commands, run by hand ------------------------------------------
dl=$STACK_DIR/downloaded.txt
out=$(CROWD_CONFIG=$CROWD_CONF "$BIN/crowd-download" "file://$words" "$dl" 2>&1)
is "$?" 0 "crowd-download of a file:// URL exits 0"
check "crowd-download wrote the whole file" cmp -s "$words" "$dl"
out=$(CROWD_CONFIG=$CROWD_CONF "$BIN/crowd-download" "file://$STACK_DIR/nope.txt" "$STACK_DIR/dl2" 2>&1)
is "$?" 1 "crowd-download of a missing file exits 1"
like "$out" '^crowd-download: .*nope\.txt' "and names the URL"
check "and leaves no file behind" test -z "$(find "$STACK_DIR" -maxdepth 1 -name 'dl2*')"
out=$(CROWD_CONFIG=$CROWD_CONF "$BIN/crowd-download" "gopher://127.0.0.1/x" "$STACK_DIR/dl3" 2>&1)
like "$?:$out" '^1:.*unsupported URL scheme' "crowd-download refuses other schemes"
out=$(CROWD_CONFIG=$CROWD_CONF "$BIN/crowd-save" "$dl" 2>&1)
like "$?:$out" '^2:.*CROWD_ACTION is not set' "crowd-save outside a unit says what is missing"
# -c wins over CROWD_CONFIG, as in every program (cc_config_find_dir)
out=$(CROWD_CONFIG=$STACK_DIR/no-such-conf "$BIN/crowd-download" -c "$CROWD_CONF" "file://$words" "$STACK_DIR/dl4" 2>&1)
is "$?:$out" "0:" "crowd-download: -c wins over CROWD_CONFIG"
out=$(CROWD_CONFIG=$CROWD_CONF "$BIN/crowd-download" -c "$STACK_DIR/no-such-conf" "file://$words" "$STACK_DIR/dl5" 2>&1)
like "$?:$out" "^3:.*no-such-conf/crowd.conf: cannot open" "... and a bad -c is not hidden by a good CROWD_CONFIG (exit 3)"
out=$(CROWD_CONFIG=$STACK_DIR/no-such-conf CROWD_ACTION=noop CROWD_JOB_ID=5 CROWD_WORK_UNIT_ID=7 "$BIN/crowd-save" -c "$CROWD_CONF" "$dl" 2>&1)
is "$?:$out" "0:file://$STACK_DIR/storage/noop/job_5/unit_7/downloaded.txt" "crowd-save: -c wins over CROWD_CONFIG"
out=$(CROWD_CONFIG=$CROWD_CONF CLOUD_CROWD_CONFIG=$STACK_DIR/no-such-conf CROWD_ACTION=noop CROWD_JOB_ID=5 CROWD_WORK_UNIT_ID=8 "$BIN/crowd-save" "$dl" 2>&1)
is "$?:$out" "0:file://$STACK_DIR/storage/noop/job_5/unit_8/downloaded.txt" "... and CROWD_CONFIG (set for actions) over CLOUD_CROWD_CONFIG"
out=$(CROWD_CONFIG=$CROWD_CONF CROWD_ACTION=noop CROWD_JOB_ID=5 CROWD_WORK_UNIT_ID=6 "$BIN/crowd-save" "$dl" 2>&1)
is "$?:$out" "0:file://$STACK_DIR/storage/noop/job_5/unit_6/downloaded.txt" "crowd-save prints the stored file's URL"
out=$(CROWD_CONFIG=$CROWD_CONF CROWD_ACTION=../etc CROWD_JOB_ID=5 CROWD_WORK_UNIT_ID=6 "$BIN/crowd-save" "$dl" 2>&1)
like "$?:$out" '^1:.*invalid action name' "crowd-save refuses a path in CROWD_ACTION"
out=$(CROWD_CONFIG=$CROWD_CONF CROWD_ACTION=noop CROWD_JOB_ID=5 CROWD_WORK_UNIT_ID=6 "$BIN/crowd-save" "$STACK_DIR/.." 2>&1)
like "$?:$out" '^1:.*not a file name' "crowd-save refuses '..'"

# --- SIGTERM: check out, leave /status ------------------------------------------------
kill -TERM "$ONE_PID"
wait "$ONE_PID"
is "$?" 0 "SIGTERM: node one exits 0"
check "node one is gone from /status" wait_until 10 node_unlisted "127.0.0.1:$ONE"
check "its log says it checked out" grep -q 'checked out of' "$ONE_LOG"

done_testing
