#!/usr/bin/env bash
# t0401-lifecycle: whole jobs through the real stack with three real nodes:
# word_count with merge, process_pdfs split/process/merge on a real 25-page
# PDF, retries (failure_testing, always_fail), callbacks to a real
# receiver (201 deletes the job), 50 units finishing at the same instant
# (one merge, one callback), and the blacklist with its wake-up. The
# dispatcher loop's timer runs only every 60 s here, so anything that
# finishes sooner was driven by the wake-ups the FastCGI pool sends it
# after answering (lib/central/wake.h).
. "$(dirname "$0")/lib.sh"

stack_up --nodes 3 --set max_workers=20 --set dispatch_interval=60
SINK=$REPO/build/$VARIANT/tests/tools/callback_sink
TMP=$STACK_DIR/t0401
mkdir -p "$TMP"

http GET /status
is "$(jq '.nodes|length' <<<"$BODY")" 3 "three nodes checked in"

# ---- word_count with merge over 24 real text files ------------------------
files=()
while IFS= read -r f; do files+=("$f"); done < <(find /usr/share/common-licenses -type f | sort | head -14)
for i in $(seq 1 10); do
	# more real text: manual pages' source and docs on the machine, or ours
	f=$TMP/text$i.txt
	seq $((i * 300)) | sed 's/$/ words here/' >"$f"
	files+=("$f")
done
inputs=$(printf '"file://%s",' "${files[@]}")
post_job "{\"action\":\"word_count\",\"inputs\":[${inputs%,}]}"
wait_job "$ID" 60
expected=$(cat "${files[@]}" | wc -w)
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" "[\"succeeded\",[$expected]]" \
	"word_count over ${#files[@]} files: merged total equals cat FILES | wc -w ($expected)"
is "$(jq .work_units <<<"$JOB")" 0 "a complete job keeps no unit rows"
nodes_used=$(grep -l 'word_count process started' "$STACK_DIR"/log/node-*.log | wc -l)
check "the word_count units ran on more than one node ($nodes_used)" test "$nodes_used" -gt 1

# ---- process_pdfs on a real 25-page PDF ------------------------------------
{
	echo '%!PS'
	echo '<< /PageSize [595 842] >> setpagedevice'
	for i in $(seq 1 25); do
		printf '/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Page %d) show\n' "$i"
		printf '72 650 moveto (marker%03d) show\nshowpage\n' "$i"
	done
} >"$TMP/report.ps"
ps2pdf -sPAPERSIZE=a4 "$TMP/report.ps" "$TMP/report.pdf"
is "$(qpdf --show-npages "$TMP/report.pdf")" 25 "made a real 25-page PDF"
post_job "{\"action\":\"process_pdfs\",\"inputs\":[\"file://$TMP/report.pdf\"],\"options\":{\"batch_size\":10,\"images\":[{\"name\":\"small\",\"options\":\"-density 30\",\"extension\":\"png\"}]}}"
is "$(jq -r .status <<<"$BODY")" splitting "a job whose action has split starts splitting"
wait_job "$ID" 180
is "$(jq -r .status <<<"$JOB")" succeeded "process_pdfs job succeeded"
tar_url=$(jq -r '.outputs[0]' <<<"$JOB")
tar_path=${tar_url#file://}
if [[ -f $tar_path ]]; then
	tar -tf "$tar_path" >"$TMP/tar.list"
	is "$(grep -c '\.png$' "$TMP/tar.list")" 25 "the merged tar holds 25 page images"
	is "$(grep -c '/text/pages/.*\.txt$' "$TMP/tar.list")" 25 "... and 25 page texts"
	full=$(grep '/text/full/.*\.txt$' "$TMP/tar.list" | head -1)
	tar -xOf "$tar_path" "$full" >"$TMP/full.txt"
	is "$(grep -o 'marker[0-9]*' "$TMP/full.txt" | paste -sd' ')" "$(seq -f 'marker%03g' 1 25 | paste -sd' ')" \
		"the full text has every page's marker, in page order"
else
	not_ok "the process_pdfs output is a stored tar: $tar_url"
fi
is "$(grep -h 'process_pdfs split started' "$STACK_DIR"/log/node-*.log | wc -l)" 1 "one split unit ran"
is "$(grep -h 'process_pdfs process started' "$STACK_DIR"/log/node-*.log | wc -l)" 3 "three process units ran (10+10+5 pages)"
is "$(grep -h 'process_pdfs merge started' "$STACK_DIR"/log/node-*.log | wc -l)" 1 "one merge unit ran"

# ---- outputs over 32 KB in all (400 units of 130 bytes): rows stream from
# MariaDB (lib/core/db.c), so the job reads whole and the next jobs still
# complete. Compared by checksum, so a failure does not print 50 KB -------
pad=$(printf '%0120d' 0)
big=$(jq -n -c --arg pad "$pad" '[range(0; 400) | "big-output-\(.)-\($pad)"]')
post_job "{\"action\":\"noop\",\"inputs\":$big}"
wait_job "$ID" 120
is "$(jq -c '[.status,.outputs]' <<<"$JOB" | md5sum)" "$(printf '["succeeded",%s]\n' "$big" | md5sum)" \
	"a 400-unit job's outputs ($(jq -c .outputs <<<"$JOB" | wc -c) bytes) come back in input order"
http GET "/jobs/$ID"
is "$(jq -c .outputs <<<"$BODY" | md5sum)" "$(printf '%s\n' "$big" | md5sum)" "... and again on a second read"
post_job '{"action":"noop","inputs":["after-big-1","after-big-2"]}'
wait_job "$ID" 60
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["after-big-1","after-big-2"]]' \
	"the next job completes after the big result's statements were closed"

# ---- retries ----------------------------------------------------------------
post_job '{"action":"failure_testing","inputs":["a","b"]}'
wait_job "$ID" 60
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["succeeded",["success","success"]]' \
	"failure_testing succeeds on its last allowed attempt (work_unit_retries 3)"
post_job '{"action":"always_fail","inputs":["x","y"]}'
wait_job "$ID" 60
is "$(jq -c '[.status,.outputs]' <<<"$JOB")" '["failed",["deliberate failure","deliberate failure"]]' \
	"always_fail fails the job with the error as each output"
runs=$(grep -h 'always_fail process started' "$STACK_DIR"/log/node-*.log | sed -E 's/.*unit ([0-9]+):.*/\1/' | sort | uniq -c | awk '{print $1}' | paste -sd' ')
is "$runs" "3 3" "each always_fail unit ran exactly 3 times"

# ---- callbacks ----------------------------------------------------------------
port=$(free_port)
"$SINK" "$port" "$TMP/cb200.log" 200 &
sink200=$!
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/"
: >"$TMP/cb200.log"
post_job "{\"action\":\"noop\",\"inputs\":[\"delta\"],\"callback_url\":\"http://127.0.0.1:$port/cb\"}"
wait_job "$ID" 30
wait_until 10 test -s "$TMP/cb200.log"
cb=$(head -1 "$TMP/cb200.log")
like "$cb" '^POST /cb job=' "the callback is a POST of job=<JSON>"
cbjson=$(printf '%s' "${cb#POST /cb job=}" | sed 's/+/ /g; s/%\([0-9A-F][0-9A-F]\)/\\x\1/g' | xargs -0 printf '%b')
is "$(jq -c '[.id,.status,.outputs]' <<<"$cbjson")" "[$ID,\"succeeded\",[\"delta\"]]" "the callback carries the job JSON"
http GET "/jobs/$ID"
is "$STATUS" 200 "a 200 answer to the callback leaves the job in place"
kill "$sink200"

port=$(free_port)
"$SINK" "$port" "$TMP/cb201.log" 201 &
sink201=$!
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/"
: >"$TMP/cb201.log"
post_job "{\"action\":\"noop\",\"inputs\":[\"epsilon\"],\"callback_url\":\"http://127.0.0.1:$port/cb\"}"
wait_until 30 test -s "$TMP/cb201.log"
wait_until 10 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' $CROWD_URL/jobs/$ID) == 404 ]]"
http GET "/jobs/$ID"
is "$STATUS" 404 "a 201 Created answer to the callback deletes the job"

# ---- 50 units finishing at the same instant: one merge, one callback ------
: >"$TMP/cb201.log"
at=$(($(date +%s) + 6))
post_job "{\"action\":\"barrier_sum\",\"inputs\":[$(seq -s, 1 50)],\"options\":{\"at\":$at},\"callback_url\":\"http://127.0.0.1:$port/cb\"}"
barrier=$ID
wait_until 40 test -s "$TMP/cb201.log"
sleep 2    # any second callback would arrive now
is "$(grep -c "^POST /cb" "$TMP/cb201.log")" 1 "exactly one callback for 50 units finishing at once"
cbjson=$(head -1 "$TMP/cb201.log" | sed 's/^POST \/cb job=//; s/+/ /g; s/%\([0-9A-F][0-9A-F]\)/\\x\1/g' | xargs -0 printf '%b')
is "$(jq -c '[.id,.status,.outputs]' <<<"$cbjson")" "[$barrier,\"succeeded\",[1275]]" "the one merge summed all 50 outputs (1275)"
is "$(grep -h "barrier_sum merge started" "$STACK_DIR"/log/node-*.log | wc -l)" 1 "exactly one merge unit ran"
is "$(grep -c "job $barrier: all units done, merging" "$STACK_DIR/log/server.log")" 1 "the server created one merge unit"
kill "$sink201"

# ---- blacklist: held back while listed, dispatched at once when removed ----
form_post /blacklist action=slow_noop
post_job '{"action":"slow_noop","inputs":["q"],"options":{"sleep":0}}'
held=$ID
sleep 3
http GET "/jobs/$held"
is "$(jq -r '[.status,.percent_complete]|join(" ")' <<<"$BODY")" "processing 0" "a blacklisted action's unit is not dispatched"
is "$(sql "SELECT COUNT(*) FROM work_units WHERE job_id=$held AND node_record_id IS NOT NULL")" 0 "... not assigned to any node"
http DELETE /blacklist/slow_noop
# The loop runs every 60 s: finishing well before means the DELETE woke a pass.
wait_job "$held" 20
is "$(jq -r .status <<<"$JOB")" succeeded "removing it from the blacklist dispatches the unit right away"

# The unit counters kept on each job agree with the unit rows.
is "$(sql "SELECT COUNT(*) FROM jobs j WHERE units_total <> (SELECT COUNT(*) FROM work_units w WHERE w.job_id = j.id) OR units_done <> (SELECT COUNT(*) FROM work_units w WHERE w.job_id = j.id AND w.status IN (2, 3))")" 0 \
	"every job's unit counters match its unit rows"

done_testing
