#!/usr/bin/env bash
# tests/run.sh - the test runner (make test, make unit, make asan): every
# unit test binary build/$VARIANT/tests/test_* (cmocka), then every
# integration script tests/integration/t*.sh (TAP: "ok N - ..." /
# "not ok N - ..."), each one's output shown prefixed with its name, with
# its time. The last line is always the totals: "N passed, N failed".
# Exit 0 iff nothing failed and something passed.
#
# Usage: tests/run.sh [--unit-only] [-j N] [NAME...]
#   --unit-only   skip the integration scripts
#   -j N          run up to N integration scripts at once (default
#                 $TEST_JOBS or 1); each has its own private stack
#   NAME...       run only tests whose name contains one of these
# Environment: VARIANT (release|asan), TEST_TIMEOUT (seconds per binary or
# script, default 900).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
VARIANT=${VARIANT:-release}
export VARIANT REPO
TIMEOUT=${TEST_TIMEOUT:-900}
JOBS=${TEST_JOBS:-1}
UNIT_ONLY=0
FILTERS=()

while [[ $# -gt 0 ]]; do
	case $1 in
	--unit-only) UNIT_ONLY=1; shift ;;
	-j) JOBS=${2:-}; shift 2 || { echo "run.sh: -j needs a number" >&2; exit 2; } ;;
	-j*) JOBS=${1#-j}; shift ;;
	-h | --help) sed -n 's/^# \{0,1\}//; /^Usage:/,/^Environment/p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) FILTERS+=("$1"); shift ;;
	esac
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -j: '$JOBS' is not a number" >&2; exit 2; }

if [[ $VARIANT == asan ]]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# cmocka's default output, on stdout, whatever the caller's environment says
export CMOCKA_MESSAGE_OUTPUT=STDOUT
unset CMOCKA_XML_FILE

ts() { date -u +%FT%TZ; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()

wanted() {
	local name=$1 f
	((${#FILTERS[@]})) || return 0
	for f in "${FILTERS[@]}"; do [[ $name == *"$f"* ]] && return 0; done
	return 1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/crowd-tests.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT

echo "$(ts) run: variant $VARIANT${FILTERS[*]:+, only ${FILTERS[*]}}"

# judge RC COUNTED WHAT: with the caller's f (failures) and note: a run
# that timed out counts one failure more; one that exited non-zero with no
# failing test, or reported nothing (COUNTED = 0, no WHAT), counts one.
judge() {
	local rc=$1 counted=$2 what=$3
	if ((rc == 124 || rc == 137)); then
		f=$((f + 1))
		((rc == 124)) && note=" (timed out after $TIMEOUT s)" ||
			note=" (SIGKILL: timed out after $TIMEOUT s, or killed)"
	elif ((rc != 0 && f == 0)); then
		f=1
		note=" (exit status $rc without a failing test)"
	elif ((rc == 0 && counted == 0)); then
		f=1
		note=" (no $what)"
	fi
}

# ---- unit tests (cmocka) -------------------------------------------------
# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s),
# listed below:" per group; a binary that dies before its summary (crash,
# sanitizer abort, timeout) counts the tests it finished ("[       OK ]")
# and one failure more.
nunit=0
for bin in "build/$VARIANT/tests"/test_*; do
	[[ -f $bin && -x $bin ]] || continue
	name=$(basename "$bin")
	wanted "$name" || continue
	nunit=$((nunit + 1))
	t0=$(now)
	out=$TMP/$name.out
	timeout -k 10 "$TIMEOUT" "$bin" >"$out" 2>&1
	rc=$?
	sed "s/^/  $name: /" "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | awk '{s+=$1} END{print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | awk '{s+=$1} END{print s+0}')
	note=""
	if ! grep -qE '^\[  (PASSED|FAILED)  \] [0-9]+ test' "$out"; then
		# died before its summary: the tests it finished count
		p=$(grep -c '^\[       OK \]' "$out")
	fi
	judge "$rc" $((p + f)) "cmocka summary line"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	((f)) && FAILURES+=("$name")
	echo "$(ts) run: $name: $p passed, $f failed$note ($(elapsed "$t0") s)"
done
if ((nunit == 0)); then
	compgen -G "build/$VARIANT/tests/test_*" >/dev/null &&
		echo "$(ts) run: no unit test selected" ||
		echo "$(ts) run: no unit test binaries in build/$VARIANT/tests (run make)"
fi

# ---- integration scripts (TAP) ---------------------------------------------
# run_script NAME FILE [live]: runs it, output to $TMP/NAME.out (and, when
# live, to the screen as it comes), counts to $TMP/NAME.count as
# "passed failed skipped secs note".
run_script() {
	local name=$1 file=$2 live=${3:-} out=$TMP/$1.out t0 rc p f s note=""
	t0=$(now)
	if [[ -n $live ]]; then
		timeout -k 10 "$TIMEOUT" bash "$file" 2>&1 </dev/null | tee "$out" | sed -u "s/^/  $name: /"
		rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "$TIMEOUT" bash "$file" >"$out" 2>&1 </dev/null
		rc=$?
	fi
	p=$(grep -cE '^ok [0-9]+' "$out")
	s=$(grep -cE '^ok [0-9]+.*# *(SKIP|skip)' "$out")
	f=$(grep -cE '^not ok [0-9]+' "$out")
	p=$((p - s))
	judge "$rc" $((p + s + f)) "test lines"
	printf '%s %s %s %s %s\n' "$p" "$f" "$s" "$(elapsed "$t0")" "$note" >"$TMP/$name.count"
}

# report_script NAME [shown]: prints its output (unless shown live) and
# adds its counts.
report_script() {
	local name=$1 shown=${2:-} p f s secs note
	[[ -n $shown ]] || sed "s/^/  $name: /" "$TMP/$name.out"
	read -r p f s secs note <"$TMP/$name.count"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	((f)) && FAILURES+=("$name")
	local skipped=""
	((s)) && skipped=", $s skipped"
	echo "$(ts) run: $name: $p passed, $f failed$skipped${note:+ $note} ($secs s)"
}

if ((!UNIT_ONLY)); then
	scripts=()
	for file in tests/integration/t*.sh; do
		[[ -f $file ]] || continue
		name=$(basename "$file" .sh)
		wanted "$name" && scripts+=("$file")
	done
	((${#scripts[@]})) || echo "$(ts) run: no integration scripts selected"
	if ((JOBS == 1)); then
		for file in "${scripts[@]}"; do
			name=$(basename "$file" .sh)
			echo "$(ts) run: $name ..."
			run_script "$name" "$file" live
			report_script "$name" shown
		done
	else
		# Up to JOBS at once; each output is shown whole, in order, once
		# that script and every one before it have finished.
		names=()
		for file in "${scripts[@]}"; do names+=("$(basename "$file" .sh)"); done
		n=${#scripts[@]}
		i=0
		next=0
		running=0
		while ((next < n)); do
			while ((i < n && running < JOBS)); do
				run_script "${names[i]}" "${scripts[i]}" &
				running=$((running + 1))
				i=$((i + 1))
			done
			if ((running > 0)); then
				wait -n
				running=$((running - 1))
			fi
			while ((next < n)) && [[ -e $TMP/${names[next]}.count ]]; do
				report_script "${names[next]}"
				next=$((next + 1))
			done
		done
	fi
fi

((${#FAILURES[@]})) && echo "$(ts) run: failed: ${FAILURES[*]}"
# The totals, always the very last line.
if ((SKIPPED)); then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "$PASSED passed, $FAILED failed"
fi
((FAILED == 0 && PASSED > 0))
