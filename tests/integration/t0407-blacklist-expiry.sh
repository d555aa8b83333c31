#!/usr/bin/env bash
# t0407-blacklist-expiry: POST /blacklist with `for` (seconds) lists an
# action until then; its units are held back while the entry is in force
# and go out within a second or two of the expiry with no other traffic
# (the POST asked this host's dispatcher for a pass then, lib/central/
# wake.h); GET /blacklist shows `until`, and a lapsed entry is neither
# listed nor in the way of listing the action again. A bad `for` is a 400
# that changes nothing. `crowd blacklist add NAME --for S` and `ls` do the
# same from the command line.
. "$(dirname "$0")/lib.sh"

# dispatch_interval and check_in_interval are long, so that no timer pass
# and no check-in wakes the dispatcher: a unit that goes out within
# seconds of the expiry was sent by the delayed wake-up of the POST.
stack_up --nodes 1 --set dispatch_interval=120 --set check_in_interval=300
CROWD=$REPO/build/$VARIANT/bin/crowd
cc() { run "$CROWD" -c "$CROWD_CONF" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
snapshot() { sql "CHECKSUM TABLE black_listed_actions, jobs, work_units" | awk '{print $2}' | tr '\n' ' '; }
# percent - the job's status and percent_complete now
percent() {
	http GET "/jobs/$1"
	jq -r '"\(.status) \(.percent_complete)"' <<<"$BODY"
}

# held JOB FOR T0 WHAT - the job stays at 0 % while the entry (listed at
# T0 for FOR seconds) is in force, then completes within a few seconds of
# its expiry.
held() {
	local id=$1 for_s=$2 t0=$3 what=$4 still=1 late
	while awk -v t0="$t0" -v f="$for_s" -v n="$(now)" 'BEGIN{exit !(n < t0 + f - 0.5)}'; do
		[[ $(percent "$id") == "processing 0" ]] || still=0
		sleep 0.2
	done
	is "$still" 1 "$what: the job stays at 0 % while noop is blacklisted"
	is "$(sql "SELECT COUNT(*) FROM work_units WHERE job_id = $id AND node_record_id IS NOT NULL")" 0 \
		"$what: ... and none of its units went to a node"
	wait_job "$id" 30
	is "$(jq -r .status <<<"$JOB")" succeeded "$what: the job succeeds once the entry lapses"
	late=$(awk -v t0="$t0" -v f="$for_s" -v n="$(now)" 'BEGIN{printf "%.1f", n - t0 - f}')
	diag "$what: complete $late s after the expiry (dispatch_interval 120 s)"
	check "$what: ... within a few seconds of the expiry, not on the next timer pass ($late s < 4 s)" \
		awk -v l="$late" 'BEGIN{exit !(l < 4)}'
}

# ---- POST /blacklist for=3 -----------------------------------------------------------
form_post /blacklist action=noop for=3
t0=$(now)
is "$STATUS" 200 "POST /blacklist action=noop for=3 answers 200"
is "$(jq -r 'keys_unsorted|join(",")' <<<"$BODY")" "id,action,created_at,until" \
	"the record has the Ruby keys, then until"
like "$(jq -r .until <<<"$BODY")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$' "until is ISO-8601 with ms"
is "$(sql "SELECT TIMESTAMPDIFF(SECOND, created_at, expires_at) FROM black_listed_actions WHERE action = 'noop'")" 3 \
	"expires_at is 3 s after created_at"
until=$(jq -r .until <<<"$BODY")
http GET /blacklist
is "$(jq -c 'map([.action, .until])' <<<"$BODY")" "[[\"noop\",\"$until\"]]" "GET /blacklist shows the entry with its until"
form_post /blacklist action=noop for=60
is "$STATUS" 409 "listing it again while in force is 409"
post_job '{"action":"noop","inputs":["held"]}'
held "$ID" 3 "$t0" "for=3"

http GET /blacklist
is "$BODY" "[]" "a lapsed entry is not listed"
diag "rows left in black_listed_actions after the lapse: $(sql 'SELECT COUNT(*) FROM black_listed_actions') (deleted lazily)"
form_post /blacklist action=noop
is "$STATUS $(jq -c '[.action, has("until")]' <<<"$BODY")" '200 ["noop",false]' \
	"a lapsed entry is no conflict: noop is listed again, until removed (no until)"
http GET /blacklist
is "$(jq -c 'map([.action, .until])' <<<"$BODY")" '[["noop",null]]' "GET /blacklist: until null for an entry without for"
is "$(sql 'SELECT COUNT(*) FROM black_listed_actions')" 1 "the lapsed row was deleted by that add"
http DELETE /blacklist/noop
is "$STATUS" 200 "DELETE /blacklist/noop"

# ---- a sooner pass asked for later does not replace the lapse's ----------------------
# A failing unit's retries ask the dispatcher for passes 1 s away, after
# the lapse's 4 s pass was asked for: both are kept, and the held job
# still goes out at the lapse.
form_post /blacklist action=noop for=4
t0=$(now)
post_job '{"action":"always_fail","inputs":["retried"]}'
fail_id=$ID
post_job '{"action":"noop","inputs":["held-behind-a-retry"]}'
held "$ID" 4 "$t0" "for=4 with retries due sooner"
wait_job "$fail_id" 30
is "$(jq -r .status <<<"$JOB")" failed "... the retried unit ran its attempts meanwhile"

# ---- a bad `for` is a 400 and changes nothing ------------------------------------------
form_post /blacklist action=word_count for=120
is "$STATUS" 200 "word_count listed for 120 s (it must survive the bad requests)"
for v in 0 -1 -3600 2592001 99999999999999999999 abc 1.5 1e3 0x10 ' 5' '+5' '5s' '' \
	"5' OR '1'='1" '5; DROP TABLE jobs' '3%00'; do
	before=$(snapshot)
	form_post /blacklist action=noop "for=$v"
	after=$(snapshot)
	if [[ $STATUS == 400 && $(jq -r .error <<<"$BODY") == *"whole number of seconds from 1 to 2592000"* &&
		$before == "$after" ]]; then
		ok "for='$v': 400 {\"error\": \"$(jq -r .error <<<"$BODY")\"}, nothing changed"
	else
		not_ok "for='$v': 400, nothing changed"
		diag "got $STATUS $BODY; before '$before' after '$after'"
	fi
done
before=$(snapshot)
json_post /blacklist '{"action":"noop","for":2.5}'
is "$STATUS $(snapshot)" "400 $before" "JSON {\"for\": 2.5}: 400, nothing changed"
http GET /blacklist
is "$(jq -c 'map(.action)' <<<"$BODY")" '["word_count"]' "GET /blacklist still lists word_count alone"
json_post /blacklist '{"action":"noop","for":30}'
is "$STATUS $(jq -r 'has("until")' <<<"$BODY")" "200 true" "a JSON body's for is taken too"
http DELETE /blacklist/noop
http DELETE /blacklist/word_count

# ---- crowd blacklist add --for, ls -----------------------------------------------------
cc blacklist add noop --for 3
t0=$(now)
rc_is 0 "crowd blacklist add noop --for 3: exit 0"
err_like "blacklisted noop for 3 s: its units are not dispatched until [0-9T:.-]+Z" "... saying until when"
cc blacklist add slow_noop
cc blacklist ls
like "$OUT" "(^|
)noop +since [0-9T:.-]+Z  until [0-9T:.-]+Z(
|$)" "crowd blacklist ls shows noop's until"
like "$OUT" "(^|
)slow_noop +since [0-9T:.-]+Z(
|$)" "... and no until for slow_noop"
cc blacklist ls --json
is "$(jq -c 'map([.action, (.until != null)])' <<<"$OUT")" '[["noop",true],["slow_noop",false]]' \
	"crowd blacklist ls --json: central's JSON, with until"
post_job '{"action":"noop","inputs":["cli"]}'
held "$ID" 3 "$t0" "crowd --for 3"
cc blacklist rm slow_noop
cc blacklist ls
is "$OUT" "(no action is blacklisted)" "crowd blacklist ls: the lapsed entry is gone"

before=$(snapshot)
for v in 0 -5 2592001 x 1.5; do
	cc blacklist add noop --for "$v"
	rc_is 2 "crowd blacklist add noop --for '$v': exit 2 (bad command line)"
done
err_like "--for '1.5': for must be a whole number of seconds" "... saying what --for takes"
cc blacklist ls --for 3
rc_is 2 "crowd blacklist ls --for: exit 2"
cc blacklist rm noop --for 3
rc_is 2 "crowd blacklist rm --for: exit 2"
is "$(snapshot)" "$before" "... and none of them changed anything"

done_testing
