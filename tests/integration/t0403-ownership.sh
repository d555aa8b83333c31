#!/usr/bin/env bash
# t0403-ownership: a result is accepted only from the worker that holds
# the unit, once (issue 12, part 5), against a real stack (one node):
#  - forged PUT /work/ID for a running unit (no pid or token, a wrong pid,
#    a wrong token, a sibling's token) -> 409, and its output unchanged;
#  - the same for a unit never assigned (its action blacklisted) -> 409;
#  - bad input (odd ids, injection strings in the token) -> a clear 4xx,
#    and nothing changes;
#  - the unit's own token, and the original node's way (the recorded
#    pid): a failure reported twice counts one attempt;
#  - our node sends its token with every result: every job still
#    completes with the right outputs.
. "$(dirname "$0")/lib.sh"

stack_up --nodes 1 --set max_workers=3 --set retry_backoff=1 --set dispatch_interval=1

put_work() {   # put_work ID k=v ...: PUT /work/ID, form-encoded
	local id=$1 kv args=()
	shift
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	http PUT "/work/$id" "${args[@]}"
}
unit_col() { sql "SELECT IFNULL($2, 'NULL') FROM work_units WHERE id = $1"; }
running() {    # running JOB N: N units of JOB have their worker's pid recorded
	[[ $(sql "SELECT COUNT(*) FROM work_units WHERE job_id = $1 AND worker_pid IS NOT NULL") -ge $2 ]]
}
zeros=00000000000000000000000000000000
ok_out='output={"output":"forged"}'

# ---- forged reports for running units ---------------------------------------
post_job '{"action":"slow_noop","inputs":["a","b","c"],"options":{"sleep":8}}'
job=$ID
check "three units of job $job run" wait_until 30 running "$job" 3
read -r u1 u2 < <(sql "SELECT id FROM work_units WHERE job_id = $job ORDER BY position LIMIT 2" | paste -sd' ')
pid1=$(unit_col "$u1" worker_pid)
tok1=$(unit_col "$u1" token)
tok2=$(unit_col "$u2" token)
like "$tok1" '^[0-9a-f]{32}$' "the running unit holds a 32-digit assignment token"
check "each unit has its own token" test "$tok1" != "$tok2"

put_work "$u1" status=succeeded "$ok_out"
is "$STATUS" 409 "PUT /work/$u1 without pid or token for a running unit -> 409"
like "$(jq -r .error <<<"$BODY")" 'pid' "... and the JSON error says a pid or token is needed"
put_work "$u1" status=succeeded "$ok_out" pid=$((pid1 + 1))
is "$STATUS" 409 "... with another pid -> 409"
like "$(jq -r .error <<<"$BODY")" 'held by another worker' "... which the error says"
put_work "$u1" status=failed "$ok_out" "token=$zeros"
is "$STATUS" 409 "... a failure with a made-up token -> 409"
put_work "$u1" status=succeeded "$ok_out" "token=$tok2" pid="$pid1"
is "$STATUS" 409 "... with a sibling's token (and the right pid) -> 409"
like "$(jq -r .error <<<"$BODY")" 'token' "... which the error says"
is "$(unit_col "$u1" output)" NULL "the running unit's output is unchanged"
is "$(unit_col "$u1" attempts):$(unit_col "$u1" status)" "0:1" "... and no attempt was counted"

# ---- bad input: clear 4xx, nothing changes --------------------------------------
before=$(sql "SELECT id, status, attempts, IFNULL(output,'-'), IFNULL(token,'-') FROM work_units ORDER BY id" | md5sum)
for t in "' OR 1=1 -- " "$tok1' OR '1'='1" "${tok1^^}" "${tok1}0" "${tok1:1}" "$tok1%00" "$(printf 'a%.0s' {1..5000})"; do
	put_work "$u1" status=succeeded "$ok_out" "token=$t"
	if [[ $STATUS != 400 ]] || ! [[ $(jq -r .error <<<"$BODY") == *token* ]]; then
		not_ok "a malformed token (${t:0:40}...) -> 400 naming the token"
		diag "got $STATUS $BODY"
	else
		ok "a malformed token (${t:0:40}) -> 400 naming the token"
	fi
done
for p in 0 -1 abc "1%27%20OR%201%3D1" 99999999999999999999999 "$u1.0"; do
	put_work "$p" status=succeeded "$ok_out" "token=$tok1"
	like "$STATUS" '^40[04]$' "PUT /work/$p -> $STATUS"
	like "$(jq -r .error <<<"$BODY" 2>/dev/null)" '.+' "... with a JSON error"
done
put_work "$u1" status=succeeded "output=not json" "token=$tok1"
is "$STATUS" 400 "the right token with an output that is not {\"output\": ...} -> 400"
is "$(sql "SELECT id, status, attempts, IFNULL(output,'-'), IFNULL(token,'-') FROM work_units ORDER BY id" | md5sum)" \
	"$before" "no bad request changed any unit"

# ---- a failure reported twice counts once ---------------------------------------
# By the unit's token, as our node's worker reports: the test acts as the
# worker of u1 and reports a failure twice; the real worker's own report
# of that attempt, later, is the same report a third time.
put_work "$u1" status=failed 'output={"output":"failed by the test"}' "token=$tok1" time=0.5
is "$STATUS" 204 "the holder's token: a failure is recorded (204)"
put_work "$u1" status=failed 'output={"output":"failed by the test"}' "token=$tok1" time=0.5
is "$STATUS" 204 "the same report again (a retry, nginx re-sending it) -> 204"
is "$(unit_col "$u1" attempts)" 1 "... and it counts one attempt"
put_work "$u1" status=succeeded "$ok_out" "token=$tok1"
is "$STATUS" 204 "a third copy of that attempt's report changes nothing either (204)"
is "$(unit_col "$u1" attempts):$(unit_col "$u1" output)" '1:{"output":"failed by the test"}' \
	"... the unit still shows one failed attempt"
# By pid, as the original's node reports (no token).
pid2=$(unit_col "$u2" worker_pid)
put_work "$u2" status=failed 'output={"output":"failed by pid"}' pid="$pid2" "id=$u2" time=0.5
is "$STATUS" 204 "a report by the recorded pid and no token is heard (204)"
put_work "$u2" status=failed 'output={"output":"failed by pid"}' pid="$pid2" "id=$u2" time=0.5
is "$STATUS" 204 "... the same report again -> 204"
is "$(unit_col "$u2" attempts)" 1 "... one attempt counted"

wait_job "$job" 60
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["a","b","c"]]' \
	"the job completes with its own outputs (the failed units ran again)"
like "$(grep -c 'the same report again' "$STACK_DIR/log/server.log")" '^[1-9]' \
	"central logged the duplicates"

# ---- never assigned ---------------------------------------------------------------
form_post /blacklist action=noop
is "$STATUS" 200 "noop blacklisted, so its units stay unassigned"
post_job '{"action":"noop","inputs":["x","y"]}'
job=$ID
u=$(sql "SELECT MIN(id) FROM work_units WHERE job_id = $job")
put_work "$u" status=succeeded "$ok_out"
is "$STATUS" 409 "PUT /work/$u without pid or token for a never-assigned unit -> 409"
put_work "$u" status=succeeded "$ok_out" pid=4242 "id=$u"
is "$STATUS" 409 "... with a pid -> 409"
like "$(jq -r .error <<<"$BODY")" 'not assigned' "... the error says it is not assigned"
put_work "$u" status=failed "$ok_out" "token=$tok2"
is "$STATUS" 409 "... with another unit's token -> 409"
is "$(unit_col "$u" output):$(unit_col "$u" attempts):$(unit_col "$u" token)" 'NULL:0:NULL' \
	"the unassigned unit is unchanged"
http DELETE /blacklist/noop
wait_job "$job" 30
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["x","y"]]' \
	"once released it runs and the job has the right outputs"

# ---- a late report after the job is gone -----------------------------------------
put_work "$u" status=succeeded "$ok_out" pid=4242
is "$STATUS" 404 "a report for a unit whose job completed -> 404 (the unit is gone)"

is "$(grep -c 'central refused the report' "$STACK_DIR"/log/node-*.log)" 0 \
	"our node's own reports were never refused"
done_testing
