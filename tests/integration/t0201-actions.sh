#!/bin/bash
# t0201-actions.sh - runs every shipped action's stages directly, the way
# the worker does (nodeagent/runner.c): a scratch folder as cwd, the unit
# JSON on stdin, the CROWD_* environment, crowd-save/crowd-download first
# on PATH. Real data made here: text files (word_count vs `wc -w`), a real
# image (`gm convert -size 200x200 xc:red`), a real 25-page PDF (ps2pdf).
#
# crowd-save/crowd-download are the real build/$VARIANT/bin binaries; when
# they are not built the checks that need them are skipped, unless
# T0201_KEEP=1 keeps the temporary folder. Output: TAP.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VARIANT=${VARIANT:-release}
BUILD=$ROOT/build/$VARIANT
ACTIONS=$ROOT/actions

# --- TAP helpers ------------------------------------------------------------
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
t_ok() {	# t_ok STATUS(0 = pass) DESC [DIAG...]
	local cond=$1 desc=$2 d
	shift 2
	if [ "$cond" -eq 0 ]; then ok "$desc"; else
		not_ok "$desc"
		for d in "$@"; do diag "$d"; done
	fi
}
t_is() { is "$1" "$2" "$3"; }
t_skip() {	# t_skip REASON COUNT WHAT
	local i
	for ((i = 1; i <= $2; i++)); do skip "$3 ($i of $2)" "$1"; done
}
last_diag() { printf 'rc=%s\nstdout: %s\nstderr: %s' "$RC" "${OUT:0:600}" "${ERR: -600}"; }
# json_eq A B: 0 when the JSON texts A and B hold equal values.
json_eq() { jq -e -n --argjson a "$1" --argjson b "$2" '$a == $b' >/dev/null 2>&1; }
url_path() {	# file:// URL -> local path (percent-decoded)
	local p=${1#file://}
	printf '%b' "${p//%/\\x}"
}

# --- set-up --------------------------------------------------------------
for t in jq gm qpdf pdftotext ps2pdf tar od; do
	if ! command -v $t >/dev/null 2>&1; then
		# make test installs them (stack/deps.sh): missing is a failure
		echo "not ok 1 - $t is installed (stack/deps.sh installs jq graphicsmagick qpdf poppler-utils ghostscript)"
		echo "1..1"
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t0201.XXXXXX")
cleanup() {	# replaces lib.sh's EXIT trap, so call it too
	if [ "${T0201_KEEP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
	if declare -F _stack_cleanup >/dev/null; then _stack_cleanup; fi
}
trap cleanup EXIT
mkdir -p "$TMP/conf" "$TMP/conf5" "$TMP/storage" "$TMP/tmp" "$TMP/tools" "$TMP/data"
write_conf() {	# write_conf DIR RETRIES
	cat > "$1/crowd.conf" <<EOF
; t0201 test config
central_server = http://127.0.0.1:9
storage = filesystem
local_storage_path = $TMP/storage
temp_storage_path = $TMP/tmp
actions_path = $ACTIONS
work_unit_retries = $2
EOF
}
write_conf "$TMP/conf" 3
write_conf "$TMP/conf5" 5

HAVE_SAVE=0
TOOLS_KIND=none
if [ -x "$BUILD/bin/crowd-save" ]; then
	ln -s "$BUILD/bin/crowd-save" "$TMP/tools/crowd-save"
	[ -x "$BUILD/bin/crowd-download" ] && ln -s "$BUILD/bin/crowd-download" "$TMP/tools/crowd-download"
	HAVE_SAVE=1
	TOOLS_KIND=real
else
	# make test builds them: missing tools are a failure, not a skip
	not_ok "crowd-save is built ($BUILD/bin/crowd-save)"
fi
echo "# crowd-save: $TOOLS_KIND; temp folder $TMP"
SKIP_SAVE="crowd-save not built"

JOB_ID=41
CONF=$TMP/conf
# stage_env KEY VALUE: KEY=VALUE into run_stage's envs, or, as runner.c's
# env_set_big does for a value over 96 KB (ENV_VALUE_MAX, in bytes), the
# value into $WORK/.crowd-env-KEY.json and KEY_FILE=that file. BIG lists
# the KEY_FILE variables set so.
stage_env() {
	local f=$WORK/.crowd-env-$1.json
	if [ "$(printf '%s' "$2" | wc -c)" -le $((96 * 1024)) ]; then
		envs+=("$1=$2")
	else
		printf '%s' "$2" > "$f"
		envs+=("$1_FILE=$f")
		BIG+="$1_FILE "
	fi
}
# run_stage ACTION STAGE UNIT_ID ATTEMPTS INPUT_JSON OPTIONS_JSON [LOCAL_FILE]
# Runs the stage as the worker would; LOCAL_FILE stands for the downloaded
# input (copied into the scratch folder, CROWD_INPUT_PATH). Sets OUT
# (stdout, trailing newlines trimmed; the whole of it stays in $TMP/out
# until the next run), ERR, RC, WORK, BIG.
run_stage() {
	local action=$1 stage=$2 unit=$3 attempts=$4 input=$5 options=$6 file=${7:-}
	local exe=$ACTIONS/$action/$stage
	[ -f "$ACTIONS/$action/$stage.c" ] && exe=$BUILD/actions/$action/$stage
	local status=1
	case $stage in split) status=4 ;; merge) status=5 ;; esac
	WORK=$TMP/tmp/$action/unit_$unit
	rm -rf "$WORK"
	mkdir -p "$WORK"
	local input_path=
	if [ -n "$file" ]; then
		input_path=$WORK/$(basename -- "$file")
		cp -- "$file" "$input_path"
	fi
	# jq gets the values in files, never as arguments: the large cases
	# are over what one argument of exec may hold (128 KB).
	local full_opts
	printf '%s' "$input" > "$TMP/in.json"
	printf '%s' "$options" > "$TMP/opts.json"
	jq -j 'if type == "string" then . else tojson end' "$TMP/in.json" > "$TMP/in.str"
	full_opts=$(jq -c --argjson j $JOB_ID --argjson u "$unit" --argjson a "$attempts" \
		'. + {job_id: $j, work_unit_id: $u, attempts: $a}' "$TMP/opts.json")
	jq -c -n --rawfile in "$TMP/in.str" --slurpfile o "$TMP/opts.json" --argjson j $JOB_ID \
		--argjson u "$unit" --argjson a "$attempts" --arg act "$action" --argjson st $status \
		'{id: $u, job_id: $j, input: $in, attempts: $a, action: $act, options: $o[0], status: $st}' \
		> "$TMP/unit.json"
	local envs=(
		PATH="$TMP/tools:/usr/local/bin:/usr/bin:/bin" HOME="$TMP" LANG=C.UTF-8
		CROWD_STAGE="$stage" CROWD_ACTION="$action"
		CROWD_JOB_ID="$JOB_ID" CROWD_WORK_UNIT_ID="$unit"
		CROWD_ATTEMPTS="$attempts" CROWD_WORK_DIR="$WORK" CROWD_CONFIG="$CONF"
		CLOUD_CROWD_CONFIG="$CONF" FAKE_STORE="$TMP/storage"
	)
	BIG=""
	stage_env CROWD_INPUT "$input"
	stage_env CROWD_OPTIONS "$full_opts"
	[ -n "$input_path" ] && envs+=(CROWD_INPUT_PATH="$input_path")
	# NO_ENV_INPUT=1: leave CROWD_INPUT (and CROWD_INPUT_FILE) out (the
	# stage reads the unit JSON).
	if [ "${NO_ENV_INPUT:-0}" = 1 ]; then
		local k
		for k in "${!envs[@]}"; do [[ ${envs[$k]} == CROWD_INPUT=* || ${envs[$k]} == CROWD_INPUT_FILE=* ]] && unset 'envs[k]'; done
	fi
	RC=0
	(cd "$WORK" && env -i "${envs[@]}" "$exe" < "$TMP/unit.json" \
		> "$TMP/out" 2> "$TMP/err") || RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}
# worker_input URL: the unit input as the worker passes it (a JSON string).
json_str() { jq -n --arg s "$1" '$s'; }

# --- noop (C) ------------------------------------------------------------
mk_out=$(cd "$ROOT" && make --no-print-directory "build/$VARIANT/actions/noop/process" VARIANT="$VARIANT" 2>&1)
t_ok $? "noop: make build/$VARIANT/actions/noop/process" "$mk_out"
if [ -x "$BUILD/actions/noop/process" ]; then
	u=100
	for v in '"alpha"' '42' '-3.5e10' '{"k":[1,2],"s":"x y"}' '[1,"two",{"three":3},null]' \
		'null' 'true' '"quote \" backslash \\\\ tab \t nl \n"' '"ünïcødé ✓"' '""' '{}'; do
		u=$((u + 1))
		run_stage noop process $u 0 "$v" '{}'
		json_eq "$OUT" "$v" && [ $RC -eq 0 ]
		t_ok $? "noop returns $v unchanged" "$(last_diag)"
	done
	RC=0; ERR=$(env -i "$BUILD/actions/noop/process" 2>&1 >/dev/null) || RC=$?
	[ $RC -ne 0 ] && [[ $ERR == *CROWD_INPUT* ]]
	t_ok $? "noop without CROWD_INPUT fails with a message" "rc=$RC err=$ERR"
else
	# make test builds it: missing is a failure, not a skip
	not_ok "noop is built ($BUILD/actions/noop/process)"
fi

# --- word_count ------------------------------------------------------------
awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) {
	n = int(rand() * 12); line = "";
	for (j = 0; j < n; j++) line = line sprintf("w%d%s", int(rand() * 1000), (rand() < 0.2) ? "\t  " : " ");
	print line } }' > "$TMP/data/book01.txt"
printf 'Call me Ishmael.  Some years ago—never mind how long\tprecisely—having\nlittle or no money\n\n\n  in my purse, ünïcødé wörds ✓ here.\nno-newline-at-end' > "$TMP/data/book02.txt"
counts=()
for b in book01 book02; do
	want=$(wc -w < "$TMP/data/$b.txt" | tr -d ' ')
	run_stage word_count process 200 0 "$(json_str "file://$TMP/data/$b.txt")" '{}' "$TMP/data/$b.txt"
	t_is "$OUT" "$want" "word_count process on $b.txt = wc -w ($want)"
	counts+=("$OUT")
done
sum=$((counts[0] + counts[1]))
run_stage word_count merge 201 0 "[${counts[0]},${counts[1]}]" '{}'
t_is "$OUT" "$sum" "word_count merge sums the counts ($sum)"
NO_ENV_INPUT=1 run_stage word_count merge 201 0 "[${counts[0]},${counts[1]}]" '{}'
t_is "$OUT" "$sum" "word_count merge reads the unit JSON on stdin when CROWD_INPUT is unset"
run_stage word_count merge 202 0 '[]' '{}'
t_is "$OUT" "0" "word_count merge of [] is 0"
run_stage word_count merge 203 0 '[1,"x"]' '{}'
[ $RC -ne 0 ] && [[ $ERR == *"must be a number"* ]]
t_ok $? "word_count merge refuses non-numbers" "$(last_diag)"
run_stage word_count process 204 0 '"just text"' '{}'
[ $RC -ne 0 ] && [[ $ERR == *"no input file"* ]]
t_ok $? "word_count process without a downloaded file fails clearly" "$(last_diag)"

# --- failure_testing -------------------------------------------------------
for a in 0 1; do
	run_stage failure_testing process 300 $a '"x"' '{}'
	[ $RC -ne 0 ] && [ -n "$ERR" ] && [ -z "$OUT" ]
	t_ok $? "failure_testing fails on attempt $a of 3 (stderr: ${ERR:0:60})" "$(last_diag)"
done
run_stage failure_testing process 300 2 '"x"' '{}'
[ $RC -eq 0 ] && [ "$OUT" = success ]
t_ok $? "failure_testing succeeds on attempt 2 (the last of 3)" "$(last_diag)"
CONF=$TMP/conf5
run_stage failure_testing process 301 3 '"x"' '{}'
t_ok $(( RC == 0 )) "failure_testing with work_unit_retries = 5 in crowd.conf fails on attempt 3" "$(last_diag)"
run_stage failure_testing process 301 4 '"x"' '{}'
[ $RC -eq 0 ] && [ "$OUT" = success ]
t_ok $? "... and succeeds on attempt 4" "$(last_diag)"
CONF=$TMP/conf
run_stage failure_testing process 302 1 '"x"' '{"work_unit_retries":2}'
[ $RC -eq 0 ] && [ "$OUT" = success ]
t_ok $? "failure_testing: option work_unit_retries overrides crowd.conf" "$(last_diag)"

# --- always_fail -------------------------------------------------------------
run_stage always_fail process 400 0 '"x"' '{}'
[ $RC -eq 1 ] && [ "$ERR" = "deliberate failure" ] && [ -z "$OUT" ]
t_ok $? "always_fail exits 1 with 'deliberate failure' on stderr" "$(last_diag)"

# --- slow_noop ---------------------------------------------------------------
start=$(date +%s%N)
run_stage slow_noop process 500 0 '{"a":[1,2]}' '{"sleep":0.4}'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $RC -eq 0 ] && json_eq "$OUT" '{"a":[1,2]}' && [ $ms -ge 400 ]
t_ok $? "slow_noop sleeps 0.4 s (${ms} ms) and returns its input" "$(last_diag)"
run_stage slow_noop process 501 0 '1' '{"sleep":"1; touch /tmp/x"}'
[ $RC -ne 0 ] && [[ $ERR == *"sleep must be"* ]]
t_ok $? "slow_noop refuses a bad sleep option" "$(last_diag)"

# --- count_runs --------------------------------------------------------------
LOG=$TMP/count_runs.log
pids=()
for i in $(seq 1 20); do
	( d=$TMP/tmp/count_runs/unit_$((600 + i)); mkdir -p "$d"; cd "$d" &&
	  env -i PATH=/usr/bin:/bin CROWD_INPUT="[$i]" CROWD_WORK_UNIT_ID=$((600 + i)) CROWD_ATTEMPTS=0 \
	      CROWD_OPTIONS="{\"log\":\"$LOG\"}" "$ACTIONS/count_runs/process" > "$d/out" 2>&1 ) &
	pids+=($!)
done
wait "${pids[@]}"
lines=$(wc -l < "$LOG")
t_is "$lines" 20 "count_runs: 20 concurrent runs append 20 lines"
bad=$(grep -cvE '^6[0-9]{2} 0 [0-9]+$' "$LOG")
t_is "$bad" 0 "count_runs: every line is 'UNIT_ID ATTEMPTS PID'"
t_is "$(cut -d' ' -f1 "$LOG" | sort -u | wc -l)" 20 "count_runs: one line per unit"
t_is "$(cat "$TMP/tmp/count_runs/unit_607/out")" "[7]" "count_runs returns its input"
run_stage count_runs process 650 0 '1' '{}'
[ $RC -ne 0 ] && [[ $ERR == *"option log"* ]]
t_ok $? "count_runs without option log fails clearly" "$(last_diag)"

# --- values over 96 KB: CROWD_INPUT_FILE, CROWD_OPTIONS_FILE ----------------
# The node hands such a value over as a file (runner.c env_set_big), and
# run_stage does the same: every action must read it there.
# big_eq FILE: 0 when the last stage's whole stdout is the JSON value in FILE.
big_eq() { jq -e -n --slurpfile a "$TMP/out" --slurpfile b "$1" '$a == $b' >/dev/null 2>&1; }
# A 200 KB input, with non-ASCII characters and escapes.
jq -c -n '[range(0; 4600) | {i: ., s: "item \(.) ✓ \"q\" \\ tab\t"}]' > "$TMP/data/big.json"
BIG_IN=$(cat "$TMP/data/big.json")
size=$(wc -c < "$TMP/data/big.json")
[ "$size" -ge 200000 ] && [ "$size" -lt 220000 ]
t_ok $? "made a 200 KB JSON input ($size bytes)"
# Options of 200 KB: a padding key beside the real ones.
PAD=$(head -c 200000 /dev/zero | tr '\0' p)
big_opts() { jq -c -n --rawfile pad <(printf '%s' "$PAD") --argjson o "$1" '$o + {pad: $pad}'; }

if [ -x "$BUILD/actions/noop/process" ]; then
	run_stage noop process 1001 0 "$BIG_IN" '{}'
	[ $RC -eq 0 ] && [ "$BIG" = "CROWD_INPUT_FILE " ] && big_eq "$TMP/data/big.json"
	t_ok $? "noop returns a 200 KB input (CROWD_INPUT_FILE) unchanged" "$(last_diag)" "as files: $BIG"
else
	not_ok "noop is built ($BUILD/actions/noop/process)"
fi
run_stage slow_noop process 1002 0 "$BIG_IN" '{"sleep":0.1}'
[ $RC -eq 0 ] && [ "$BIG" = "CROWD_INPUT_FILE " ] && big_eq "$TMP/data/big.json"
t_ok $? "slow_noop returns a 200 KB input (CROWD_INPUT_FILE) unchanged" "$(last_diag)" "as files: $BIG"
BIG_LOG=$TMP/count_runs_big.log
run_stage count_runs process 1003 0 "$BIG_IN" "{\"log\":\"$BIG_LOG\"}"
[ $RC -eq 0 ] && [ "$BIG" = "CROWD_INPUT_FILE " ] && big_eq "$TMP/data/big.json" &&
	[ "$(cut -d' ' -f1,2 "$BIG_LOG" 2>/dev/null)" = "1003 0" ]
t_ok $? "count_runs logs its run and returns a 200 KB input (CROWD_INPUT_FILE) unchanged" "$(last_diag)" "as files: $BIG"
printf '%s' "[$(seq -s, 1 30000)]" > "$TMP/data/nums.json"
run_stage word_count merge 1004 0 "$(cat "$TMP/data/nums.json")" '{}'
[ $RC -eq 0 ] && [ "$OUT" = 450015000 ] && [ "$BIG" = "CROWD_INPUT_FILE " ]
t_ok $? "word_count merge sums a 170 KB input (CROWD_INPUT_FILE)" "$(last_diag)" "as files: $BIG"
run_stage barrier_sum merge 1005 0 "$(cat "$TMP/data/nums.json")" '{}'
[ $RC -eq 0 ] && [ "$OUT" = 450015000 ] && [ "$BIG" = "CROWD_INPUT_FILE " ]
t_ok $? "barrier_sum merge sums a 170 KB input (CROWD_INPUT_FILE)" "$(last_diag)" "as files: $BIG"

run_stage slow_noop process 1010 0 '[1,"two"]' "$(big_opts '{"sleep":0.1}')"
[ $RC -eq 0 ] && [ "$BIG" = "CROWD_OPTIONS_FILE " ] && json_eq "$OUT" '[1,"two"]'
t_ok $? "slow_noop reads 200 KB options (CROWD_OPTIONS_FILE)" "$(last_diag)" "as files: $BIG"
run_stage slow_noop process 1011 0 '1' "$(big_opts '{"sleep":"x"}')"
[ $RC -ne 0 ] && [[ $ERR == *"sleep must be"* ]]
t_ok $? "slow_noop checks the option sleep of 200 KB options" "$(last_diag)"
run_stage count_runs process 1012 0 "$BIG_IN" "$(big_opts "{\"log\":\"$BIG_LOG\"}")"
[ $RC -eq 0 ] && [ "$BIG" = "CROWD_INPUT_FILE CROWD_OPTIONS_FILE " ] && big_eq "$TMP/data/big.json" &&
	[ "$(tail -n 1 "$BIG_LOG" | cut -d' ' -f1,2)" = "1012 0" ]
t_ok $? "count_runs reads 200 KB options and a 200 KB input (both files)" "$(last_diag)" "as files: $BIG"
run_stage always_fail process 1013 0 '"x"' "$(big_opts '{"message":"big options read"}')"
[ $RC -eq 1 ] && [ "$ERR" = "big options read" ] && [ "$BIG" = "CROWD_OPTIONS_FILE " ]
t_ok $? "always_fail reads its message from 200 KB options (CROWD_OPTIONS_FILE)" "$(last_diag)"
run_stage failure_testing process 1014 0 '"x"' "$(big_opts '{"work_unit_retries":1}')"
[ $RC -eq 0 ] && [ "$OUT" = success ] && [ "$BIG" = "CROWD_OPTIONS_FILE " ]
t_ok $? "failure_testing reads work_unit_retries from 200 KB options (CROWD_OPTIONS_FILE)" "$(last_diag)"

# --- echo (needs crowd-save) -----------------------------------------------
if [ $HAVE_SAVE = 1 ]; then
	run_stage echo process 700 0 '"hello, world"' '{}'
	p=$(url_path "$(jq -r . <<< "$OUT" 2>/dev/null)")
	[ $RC -eq 0 ] && [ -f "$p" ] && [ "$(cat "$p")" = "hello, world" ]
	t_ok $? "echo saves a text input and returns its URL" "$(last_diag)"
	run_stage echo process 701 0 "$(json_str "file://$TMP/data/book02.txt")" '{}' "$TMP/data/book02.txt"
	p=$(url_path "$(jq -r . <<< "$OUT" 2>/dev/null)")
	[ $RC -eq 0 ] && [ -f "$p" ] && cmp -s "$p" "$TMP/data/book02.txt" && [[ $p == */echo/job_$JOB_ID/unit_701/* ]]
	t_ok $? "echo saves the downloaded file under echo/job_$JOB_ID/unit_701/" "$(last_diag)" "path: $p"
	run_stage echo process 702 0 "$BIG_IN" '{}'
	p=$(url_path "$(jq -r . <<< "$OUT" 2>/dev/null)")
	[ $RC -eq 0 ] && [ "$BIG" = "CROWD_INPUT_FILE " ] && [ -f "$p" ] &&
		jq -e -n --slurpfile a "$p" --slurpfile b "$TMP/data/big.json" '$a == $b' >/dev/null
	t_ok $? "echo saves a 200 KB input (CROWD_INPUT_FILE)" "$(last_diag)" "path: $p"
else
	t_skip "$SKIP_SAVE" 3 "echo checks"
fi

# --- graphics_magick (needs crowd-save) --------------------------------------
gm convert -size 200x200 xc:red "$TMP/data/red.png"
GM_OPTS='{"steps":[{"name":"thumb","command":"convert","options":"-resize 100x100","extension":"jpg"},
	{"name":"small","options":"-resize 50%","extension":"png","input":"thumb"},
	{"name":"rot","options":"-rotate 90 -flip","extension":"gif"}]}'
if [ $HAVE_SAVE = 1 ]; then
	run_stage graphics_magick process 800 0 "$(json_str "file://$TMP/data/red.png")" "$GM_OPTS" "$TMP/data/red.png"
	keys=$(jq -r 'keys_unsorted | join(",")' <<< "$OUT" 2>/dev/null)
	t_is "$keys" "thumb,small,rot" "graphics_magick returns {step: url} for every step" 
	got=""
	for s in thumb small rot; do
		p=$(url_path "$(jq -r --arg s $s '.[$s]' <<< "$OUT" 2>/dev/null)")
		got+="$s=$(gm identify -format '%m %wx%h' "$p" 2>&1 | head -n 1);"
	done
	t_is "$got" "thumb=JPEG 100x100;small=PNG 50x50;rot=GIF 200x200;" \
		"graphics_magick results are real images of the asked sizes and types"
	t_is "$(jq -r '.small | split("/") | .[-4:] | join("/")' <<< "$OUT" 2>/dev/null)" \
		"graphics_magick/job_$JOB_ID/unit_800/red_small.png" "graphics_magick names results INPUTNAME_STEP.EXT in its unit's folder"
else
	t_skip "$SKIP_SAVE" 3 "graphics_magick results"
fi
# Refusals happen before anything is saved: they need no crowd-save.
EVIL=$TMP/evil.png
for bad in "{\"steps\":[{\"name\":\"x\",\"options\":\"-write $EVIL\",\"extension\":\"png\"}]}|not allowed" \
	'{"steps":[{"name":"x","command":"mogrify","extension":"png"}]}|only convert' \
	'{"steps":[{"name":"../x","extension":"png"}]}|bad step name' \
	'{"steps":[{"name":"x","extension":"mvg"}]}|not supported' \
	'{"steps":[{"name":"x","extension":"png","options":"-comment @/etc/passwd"}]}|not allowed' \
	'{"steps":[{"name":"x","extension":"png","input":"nope"}]}|not an earlier step' \
	'{"steps":"thumb"}|must be an array'; do
	opt=${bad%|*} want=${bad##*|}
	run_stage graphics_magick process 801 0 "$(json_str "file://$TMP/data/red.png")" "$opt" "$TMP/data/red.png"
	[ $RC -ne 0 ] && [[ $ERR == *"$want"* ]] && [ ! -e "$EVIL" ]
	t_ok $? "graphics_magick refuses $opt ($want)" "$(last_diag)"
done
printf 'push graphic-context\nimage over 0,0 0,0 "/etc/passwd"\n' > "$TMP/data/evil.png"
run_stage graphics_magick process 802 0 "$(json_str "file://$TMP/data/evil.png")" '{"steps":[{"name":"x","extension":"png"}]}' "$TMP/data/evil.png"
[ $RC -ne 0 ] && [[ $ERR == *"not a supported image"* ]]
t_ok $? "graphics_magick refuses an input that is not a real image (MVG named .png)" "$(last_diag)"

# --- process_pdfs (needs crowd-save) -----------------------------------------
{
	echo '%!PS'
	echo '<< /PageSize [595 842] >> setpagedevice'
	for i in $(seq 1 25); do
		printf '/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Page %d of twenty five) show\n' "$i"
		printf '72 650 moveto (marker%03d alpha beta) show\nshowpage\n' "$i"
	done
} > "$TMP/data/report.ps"
ps2pdf -sPAPERSIZE=a4 "$TMP/data/report.ps" "$TMP/data/report.pdf" 2>/dev/null
t_is "$(qpdf --show-npages "$TMP/data/report.pdf" 2>&1)" 25 "made a real 25-page PDF"
PDF_URL=$(json_str "file://$TMP/data/report.pdf")
IMAGES='{"images":[{"name":"normal","options":"-density 50","extension":"png"},
	{"name":"thumb","options":"-density 20 -resize 60x60","extension":"jpg"}]}'
if [ $HAVE_SAVE = 1 ]; then
	for bs in 7 25 100; do
		run_stage process_pdfs split 900 0 "$PDF_URL" "{\"batch_size\":$bs}" "$TMP/data/report.pdf"
		t_is "$(jq length <<< "$OUT" 2>/dev/null)" $(( (25 + bs - 1) / bs )) "process_pdfs split, batch_size $bs: ceil(25/$bs) batches"
	done
	run_stage process_pdfs split 901 0 "$PDF_URL" '{}' "$TMP/data/report.pdf"
	SPLIT=$OUT
	t_is "$(jq -c 'map(split("/")[-1])' <<< "$SPLIT" 2>/dev/null)" \
		'["report_p00001-00010.pdf","report_p00011-00020.pdf","report_p00021-00025.pdf"]' \
		"process_pdfs split, default batch_size 10: 3 named batches" "$(last_diag)"
	np=""
	for u in $(jq -r '.[]' <<< "$SPLIT" 2>/dev/null); do
		np+="$(qpdf --show-npages "$(url_path "$u")" 2>&1) "
	done
	t_is "$np" "10 10 5 " "the batches are real PDFs of 10, 10 and 5 pages"

	outs=()
	unit=910
	okp=0
	for u in $(jq -r '.[]' <<< "$SPLIT" 2>/dev/null); do
		unit=$((unit + 1))
		p=$(url_path "$u")
		run_stage process_pdfs process $unit 0 "$(json_str "$u")" "$IMAGES" "$p"
		[ $RC -eq 0 ] || { okp=1; echo "# $(last_diag)"; }
		outs+=("$OUT")
	done
	t_ok $okp "process_pdfs process succeeds on every batch"
	ALL=$(printf '%s\n' "${outs[@]}" | jq -c -s . 2>/dev/null)
	t_is "$(jq -c '[.[] | [.first_page, .pages, (.images.normal | length), (.images.thumb | length), (.text | length)]]' <<< "$ALL" 2>/dev/null)" \
		'[[1,10,10,10,10],[11,10,10,10,10],[21,5,5,5,5]]' \
		"process outputs: first page, pages, and an image of each kind and a text per page"
	txt17=$(url_path "$(jq -r '.[1].text[6]' <<< "$ALL" 2>/dev/null)")
	grep -q 'Page 17 of twenty five' "$txt17" 2>/dev/null && grep -q marker017 "$txt17"
	t_ok $? "the text of page 17 is page 17's text" "file: $txt17"
	img=$(url_path "$(jq -r '.[2].images.normal[4]' <<< "$ALL" 2>/dev/null)")
	t_is "$(gm identify -format '%m %wx%h' "$img" 2>&1 | head -n 1)" "PNG 413x585" \
		"page 25 'normal' image is a PNG rendered at 50 dpi (A4)"

	run_stage process_pdfs merge 950 0 "$ALL" "$IMAGES"
	tarp=$(url_path "$(jq -r . <<< "$OUT" 2>/dev/null)")
	[ $RC -eq 0 ] && [[ $tarp == */process_pdfs/job_$JOB_ID/unit_950/processed_pdfs.tar ]] && [ -f "$tarp" ]
	t_ok $? "process_pdfs merge saves one tar and returns its URL" "$(last_diag)"
	list=$(tar -tf "$tarp" 2>/dev/null | grep -v '/$')
	t_is "$(grep -c '^report/images/normal/report_000[0-2][0-9]\.png$' <<< "$list")" 25 "the tar holds 25 normal images"
	t_is "$(grep -c '^report/images/thumb/report_000[0-2][0-9]\.jpg$' <<< "$list")" 25 "the tar holds 25 thumbnails"
	t_is "$(grep -c '^report/text/pages/report_000[0-2][0-9]\.txt$' <<< "$list")" 25 "the tar holds 25 page texts"
	t_is "$(grep -c '^report/text/full/report\.txt$' <<< "$list")" 1 "the tar holds the full text"
	t_is "$(wc -l <<< "$list")" 76 "and nothing else"
	order=$(tar -xOf "$tarp" report/text/full/report.txt 2>/dev/null | grep -o 'marker[0-9]*' | tr '\n' ' ')
	t_is "$order" "$(printf 'marker%03d ' $(seq 1 25))" "the full text has every page, in order"
	t_is "$(tar -xOf "$tarp" report/images/normal/report_00013.png 2>/dev/null | gm identify -format '%m' - 2>&1 | head -n 1)" PNG \
		"the tar's images are real images"
	NO_ENV_INPUT=1 run_stage process_pdfs merge 951 0 "$ALL" "$IMAGES"
	tarp2=$(url_path "$(jq -r . <<< "$OUT" 2>/dev/null)")
	[ $RC -eq 0 ] && [ "$(tar -tf "$tarp2" 2>/dev/null | grep -v '/$')" = "$list" ]
	t_ok $? "process_pdfs merge reads the unit JSON on stdin when CROWD_INPUT is unset" "$(last_diag)"
else
	t_skip "$SKIP_SAVE" 18 "process_pdfs split, process and merge"
fi
run_stage process_pdfs split 960 0 "$PDF_URL" '{"batch_size":0}' "$TMP/data/report.pdf"
[ $RC -ne 0 ] && [[ $ERR == *batch_size* ]]
t_ok $? "process_pdfs split refuses batch_size 0" "$(last_diag)"
run_stage process_pdfs split 961 0 "$(json_str "file://$TMP/data/book01.txt")" '{}' "$TMP/data/book01.txt"
[ $RC -ne 0 ] && [[ $ERR == *"not a PDF"* ]]
t_ok $? "process_pdfs split refuses a non-PDF" "$(last_diag)"
run_stage process_pdfs process 962 0 "$PDF_URL" "{\"images\":[{\"name\":\"x\",\"options\":\"-write $EVIL\",\"extension\":\"png\"}]}" "$TMP/data/report.pdf"
[ $RC -ne 0 ] && [[ $ERR == *"not allowed"* ]] && [ ! -e "$EVIL" ]
t_ok $? "process_pdfs process refuses unsafe image options" "$(last_diag)"
run_stage process_pdfs merge 963 0 '[{"name":"../../etc","first_page":1,"text":["file:///etc/passwd"]}]' '{}'
[ $RC -ne 0 ] && [[ $ERR == *"bad document name"* ]]
t_ok $? "process_pdfs merge refuses a path in a document name" "$(last_diag)"

# --- every stage is executable and says what it does ---------------------
bad=""
for d in "$ACTIONS"/*/; do
	n=$(basename "$d")
	[ -f "$d/README.md" ] || bad+="$n: no README.md; "
	for s in split process merge; do
		[ -e "$d/$s" ] && [ ! -x "$d/$s" ] && bad+="$n/$s not executable; "
	done
	[ -e "$d/process" ] || [ -e "$d/process.c" ] || bad+="$n: no process; "
done
t_is "$bad" "" "every action folder has an executable process (or process.c) and a README.md"

done_testing
