#!/usr/bin/env bash
# t0101-central-api: every central route through real nginx + FastCGI +
# MariaDB (no node, no dispatcher): GET /health (degraded without a
# dispatcher or node, ok with both; ccdistribute's --help and -v), the
# original's acceptance checks, form and JSON bodies, each result logged at
# info, the captured protocol replayed, every bad-input case in
# tests/cases/ (each must leave the database unchanged), concurrency.
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --no-dispatcher

# ---- GET /health (readiness; /heartbeat stays liveness) -----------------------
# Here first, while nothing is queued: the dispatcher this section starts
# must find no unit to send to the made-up node below.
http GET /health
is "$STATUS" 200 "GET /health answers 200 while the database answers"
like "$CTYPE" '^application/json' "... as JSON"
is "$(jq -r 'keys_unsorted|join(",")' <<<"$BODY")" "status,database,dispatcher,nodes" "health JSON keys"
is "$(jq -c '[.status,.database,.nodes]' <<<"$BODY")" '["degraded",{"ok":true},{"count":0,"busy":0,"max":0}]' \
	"no dispatcher and no node: degraded, database ok, nodes 0/0/0"
is "$(jq -c '.dispatcher.ok' <<<"$BODY")" false "... the dispatcher is not ok"
like "$(jq -r '.dispatcher.error' <<<"$BODY")" 'no dispatcher runs on this host .*ccdistribute\.sock.*ccdistribute --loop' \
	"... and its error says none runs and how to start one"
# ccdistribute: --help tells the truth about logging, -v logs at debug
help=$("$BIN/ccdistribute" --help)
like "$help" 'Logs go to stderr, with or without --loop' "ccdistribute --help: logs go to stderr"
like "$help" '-v +log at debug level' "ccdistribute --help: -v logs at debug level"
"$BIN/ccdistribute" -c "$CROWD_CONF" >"$STACK_DIR/log/disp-once.out" 2>&1
check "ccdistribute (one pass, log_level info) logs no debug line" \
	bash -c "! grep -q ' debug: ' '$STACK_DIR/log/disp-once.out'"
"$BIN/ccdistribute" -c "$CROWD_CONF" -v >"$STACK_DIR/log/disp-once-v.out" 2>&1
check "ccdistribute -v logs at debug level" grep -q ' debug: ' "$STACK_DIR/log/disp-once-v.out"
# a dispatcher of this host: its pid file (as crowd server start and
# stack/start.sh write it) and its socket
DISP_PIDFILE=$STACK_DIR/run/ccdistribute.pid
"$BIN/ccdistribute" -c "$CROWD_CONF" --loop -v >"$STACK_DIR/log/disp-loop.out" 2>&1 &
disp=$!
echo "$disp" >"$DISP_PIDFILE"
check "with ccdistribute --loop running, GET /health says the dispatcher is ok, with its pid" \
	wait_until 10 bash -c "[[ \$(curl -s '$CROWD_URL/health' | jq -c .dispatcher) == '{\"ok\":true,\"pid\":$disp}' ]]"
check "ccdistribute --loop -v logs at debug level" wait_until 5 grep -q ' debug: ' "$STACK_DIR/log/disp-loop.out"
http PUT /node/vm:9063 -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary 'busy=false&max_workers=4&enabled_actions=noop'
http GET /health
is "$STATUS $(jq -c '[.status,.nodes]' <<<"$BODY")" '200 ["ok",{"count":1,"busy":0,"max":4}]' \
	"a dispatcher and a node: ok, nodes count 1, busy 0, max 4"
kill -TERM "$disp"
wait "$disp" 2>/dev/null
http GET /health
is "$STATUS $(jq -c '[.status,.dispatcher.ok]' <<<"$BODY")" '200 ["degraded",false]' \
	"the dispatcher stopped (its pid file left behind): degraded"
like "$(jq -r .dispatcher.error <<<"$BODY")" "ccdistribute is not running: .*ccdistribute.pid names pid $disp, which has ended" \
	"... and the error names the pid file and the ended pid"
rm -f -- "$DISP_PIDFILE"
http DELETE /node/vm:9063
http GET /heartbeat
is "$STATUS $BODY" "200 buh-bump" "GET /heartbeat still answers buh-bump (liveness)"

# ---- node check-in, status, check-out (Ruby node's exact body) --------------
# (first, while no unit is queued: with units waiting, the pass that runs
# after a check-in would find this made-up node unreachable and remove it)
http PUT /node/vm:9063 -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary 'busy=false&tag&max_workers=4&enabled_actions=always_fail%2Cnoop%2Cslow_noop%2Cword_count'
is "$STATUS" 204 "PUT /node/vm:9063 (the captured check-in) answers 204"
is "$(sql "SELECT CONCAT_WS('|',host,port,enabled_actions,busy,IFNULL(tag,'NULL'),max_workers) FROM node_records")" \
	"vm:9063|9063|always_fail,noop,slow_noop,word_count|0|NULL|4" "node record stored"
http PUT /node/vm:9063 -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary 'busy=false&tag=gpu&max_workers=2&enabled_actions=noop'
is "$(sql "SELECT COUNT(*), MAX(tag), MAX(max_workers) FROM node_records" | tr '\t' ' ')" "1 gpu 2" \
	"a duplicate check-in updates the one record"
http GET /status
is "$(jq -c '.nodes' <<<"$BODY")" '[{"host":"vm:9063","tag":"gpu","workers":[],"status":"available","max_workers":2}]' \
	"the node shows in /status"
http DELETE /node/vm:9063
is "$STATUS" 204 "DELETE /node/:host answers 204"
is "$(sql "SELECT COUNT(*) FROM node_records")" 0 "the node record is gone"

# ---- the original's server acceptance checks --------------------------------
http GET /
is "$STATUS" 200 "GET / answers 200"
like "$BODY" '<div id="nodes">' "GET / has <div id=\"nodes\">"
like "$BODY" '<div id="graphs">' "GET / has <div id=\"graphs\">"
http GET /heartbeat
is "$STATUS $BODY" "200 buh-bump" "GET /heartbeat answers buh-bump"

form_post /jobs 'job={"action":"word_count","inputs":["http://example.com/"]}'
is "$STATUS" 200 "POST /jobs (form, as the Ruby client sends it) answers 200"
is "$(jq -c '[.status,.percent_complete,.work_units]' <<<"$BODY")" '["processing",0,1]' \
	"new job: processing, percent_complete 0, work_units 1"
is "$(jq -r 'keys_unsorted|join(",")' <<<"$BODY")" "id,color,status,percent_complete,work_units,time_taken" \
	"job JSON keys in the original's order"
like "$CTYPE" '^application/json' "job JSON is application/json"
id1=$(jq -r .id <<<"$BODY")
color=$(printf '%s' "$id1" | md5sum | cut -c26-31)
is "$(jq -r .color <<<"$BODY")" "$color" "color is md5(id)[-7...-1]"
http GET "/jobs/$id1"
is "$STATUS $(jq -r .id <<<"$BODY")" "200 $id1" "GET /jobs/:id returns it"

json_post /jobs '{"action":"noop","inputs":["one"],"email":"x@example.org"}'
is "$STATUS" 200 "POST /jobs with a JSON body answers 200"
id2=$(jq -r .id <<<"$BODY")
is "$(jq -r .email <<<"$BODY")" "x@example.org" "email is shown when set"
json_post /jobs '{"job":{"action":"noop","inputs":[1]}}'
is "$STATUS" 200 'JSON body {"job": {...}} is accepted too'
id3=$(jq -r .id <<<"$BODY")
http DELETE "/jobs/$id3"
is "$STATUS" 204 "DELETE /jobs/:id answers 204"

http GET /status
is "$(jq -c '[.job_count,.work_unit_count]' <<<"$BODY")" "[2,2]" \
	"two jobs of one input: job_count 2, work_unit_count 2"
is "$(jq -r 'keys_unsorted|join(",")' <<<"$BODY")" "nodes,job_count,work_unit_count" "status JSON keys"

http DELETE "/jobs/$id1"
is "$STATUS" 204 "DELETE /jobs/:id removes it"
http GET "/jobs/$id1"
is "$STATUS" 404 "a deleted job is 404"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE job_id=$id1")" 0 "its units are gone"

# ---- typed inputs and input order ------------------------------------------
form_post /jobs 'job={"action":"noop","inputs":["alpha",{"k":[1,2]},42],"options":{"n":1}}'
id4=$(jq -r .id <<<"$BODY")
is "$(sql "SELECT GROUP_CONCAT(CONCAT(input,'|',input_is_json) ORDER BY position SEPARATOR ' ') FROM work_units WHERE job_id=$id4")" \
	'alpha|0 {"k":[1,2]}|1 42|1' "inputs stored as the wire string, with their JSON type kept"
is "$(sql "SELECT options FROM jobs WHERE id=$id4")" '{"n":1}' "options stored verbatim"
like "$(sql "SELECT DATE_FORMAT(created_at,'%f') FROM jobs WHERE id=$id4")" '^[0-9]{6}$' \
	"timestamps carry microseconds"

# ---- work results ------------------------------------------------------------
# There is no node here: the test plays the worker that holds each unit,
# recording its pid as a dispatcher would (only the holder is heard).
hold() { sql "UPDATE work_units SET worker_pid = $2 WHERE id = $1"; }
unit=$(sql "SELECT id FROM work_units WHERE job_id=$id2")
hold "$unit" 2375
http PUT "/work/$unit" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "pid=2375&id=$unit&time=0.068592939&status=succeeded&output=%7B%22output%22%3A%22ONE%22%7D"
is "$STATUS" 204 "PUT /work/:id (the captured worker report) answers 204"
check "the result is logged at info, in one line (unit, job, action, node, outcome, time)" \
	grep -q "info: result: unit $unit, job $id2, action noop, node -, succeeded (attempt 1), 0.069 s\$" "$STACK_DIR/log/server.log"
http GET "/jobs/$id2"
is "$(jq -c '[.status,.percent_complete,.work_units,.outputs]' <<<"$BODY")" '["succeeded",100,0,["ONE"]]' \
	"the one-unit job succeeded with its output; units removed"
http PUT "/work/$unit" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "status=failed&output=%7B%22output%22%3A%22late%22%7D"
is "$STATUS" 404 "a report for a removed unit is 404"

# failures are retried until work_unit_retries (3), then the job fails
form_post /jobs 'job={"action":"noop","inputs":["x"]}'
id5=$(jq -r .id <<<"$BODY")
u5=$(sql "SELECT id FROM work_units WHERE job_id=$id5")
for p in 101 102 103; do
	hold "$u5" "$p"
	http PUT "/work/$u5" --data-urlencode status=failed --data-urlencode 'output={"output":"deliberate failure"}' \
		--data-urlencode "pid=$p"
done
is "$(sql "SELECT COUNT(*) FROM work_units WHERE id=$u5")" 0 "after 3 failed attempts the unit is finished"
is "$(grep -c "info: result: unit $u5, job $id5, action noop, node -, retrying in [0-9]* s (attempt [12])\$" "$STACK_DIR/log/server.log")" 2 \
	"each retried failure is logged as retrying"
check "the last failure is logged as failed (attempt 3)" \
	grep -q "info: result: unit $u5, job $id5, action noop, node -, failed (attempt 3)\$" "$STACK_DIR/log/server.log"
http GET "/jobs/$id5"
is "$(jq -c '[.status,.outputs]' <<<"$BODY")" '["failed",["deliberate failure"]]' \
	"the job failed with the error as its output"

# outputs come back in input order, whatever order units finish in
form_post /jobs 'job={"action":"noop","inputs":["a","b","c","d"]}'
id6=$(jq -r .id <<<"$BODY")
for u in $(sql "SELECT id FROM work_units WHERE job_id=$id6 ORDER BY id DESC"); do
	in=$(sql "SELECT input FROM work_units WHERE id=$u")
	hold "$u" 7
	http PUT "/work/$u" --data-urlencode status=succeeded --data-urlencode "output={\"output\":\"$in!\"}" \
		--data-urlencode pid=7
done
http GET "/jobs/$id6"
is "$(jq -c .outputs <<<"$BODY")" '["a!","b!","c!","d!"]' "outputs are in input order"

# ---- blacklist -----------------------------------------------------------------
form_post /blacklist action=noop
is "$STATUS" 200 "POST /blacklist answers 200"
is "$(jq -r 'keys_unsorted|join(",")' <<<"$BODY")" "id,action,created_at" "blacklist record keys"
like "$(jq -r .created_at <<<"$BODY")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$' "created_at is ISO-8601 with ms"
form_post /blacklist action=noop
is "$STATUS" 409 "a duplicate blacklist entry is 409"
http GET /blacklist
is "$(jq -c 'map(.action)' <<<"$BODY")" '["noop"]' "GET /blacklist lists it"
http DELETE /blacklist/noop
is "$STATUS $(jq -r .action <<<"$BODY")" "200 noop" "DELETE /blacklist/:action returns the record"

# ---- admin extras ---------------------------------------------------------------
http GET /log
is "$STATUS" 200 "GET /log answers 200"
like "$BODY" 'job [0-9]+ created' "the log tail shows server activity"
loghost=$(curl -s -D - -o /dev/null "$CROWD_URL/log" | tr -d '\r' | sed -n 's/^X-CloudCrowd-Host: //Ip')
is "$loghost" "$(hostname) (127.0.0.1:$CROWD_PORT)" \
	"GET /log names the central host whose log it is (X-CloudCrowd-Host: NAME (ADDR:PORT))"
http GET /actions
like "$(jq -c 'map(.name)' <<<"$BODY")" '"word_count"' "GET /actions lists installed actions"
is "$(jq -c '.[]|select(.name=="word_count")|[.split,.merge]' <<<"$BODY")" "[false,true]" "word_count has merge, no split"
http GET '/jobs?page=1&per_page=2'
is "$STATUS $(jq -c '[.page,.per_page,(.jobs|length)]' <<<"$BODY")" "200 [1,2,2]" "GET /jobs pages the job list"

# ---- bad input: each case answers its 4xx JSON error and changes nothing -----
snapshot() {
	sql "CHECKSUM TABLE jobs, work_units, node_records, black_listed_actions" | awk '{print $2}' | tr '\n' ' '
}
for dir in "$REPO"/tests/cases/*/*/; do
	name=${dir%/}; name=${name#"$REPO"/tests/cases/}
	{ read -r method path; read -r line2; } <"$dir/request"
	ctype=()
	[[ $line2 == Content-Type:* ]] && ctype=(-H "$line2")
	body=$(sed -n '/^$/,$p' "$dir/request" | tail -n +2)
	read -r want_status want_re <"$dir/expect"
	before=$(snapshot)
	if [[ -n $body || $method == POST || $method == PUT ]]; then
		http "$method" "$path" "${ctype[@]}" --data-binary "$body"
	else
		http "$method" "$path"
	fi
	after=$(snapshot)
	err=$(jq -r .error <<<"$BODY" 2>/dev/null || echo "(not JSON: $BODY)")
	if [[ $STATUS == "$want_status" && $err =~ $want_re && $before == "$after" && $CTYPE == application/json* ]]; then
		ok "case $name: $STATUS {\"error\": \"$err\"}, database unchanged"
	else
		not_ok "case $name"
		diag "want $want_status /$want_re/, got $STATUS $CTYPE $BODY; db before '$before' after '$after'"
	fi
done

# a body over the limit is refused before it reaches the pool
big=$(mktemp); head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$big"
before=$(snapshot)
http POST /jobs -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$big"
rm -f "$big"
is "$STATUS" 413 "a 17 MB body is refused with 413"
is "$(snapshot)" "$before" "... and changes nothing"

# the pool survived all of that
http GET /heartbeat
is "$STATUS $BODY" "200 buh-bump" "the pool still answers after the bad input"

# ---- 200 concurrent POST /jobs from 16 clients -------------------------------
before_jobs=$(sql "SELECT COUNT(*) FROM jobs")
seq 200 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
	--data-urlencode 'job={"action":"noop","inputs":["c{}"]}' "$CROWD_URL/jobs" >"$STACK_DIR/concurrent.out"
is "$(sort "$STACK_DIR/concurrent.out" | uniq -c | awk '{print $1" "$2}')" "200 200" "200 concurrent POST /jobs all answer 200"
is "$(($(sql "SELECT COUNT(*) FROM jobs") - before_jobs))" 200 "exactly 200 jobs were created"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE input LIKE 'c%'")" 200 "each with its unit"

done_testing
