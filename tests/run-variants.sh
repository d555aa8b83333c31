#!/usr/bin/env bash
# tests/run-variants.sh VARIANT... - run the whole suite (tests/run.sh) once
# per build variant, e.g. `release asan` (what make test does: every test
# also runs against binaries built with AddressSanitizer and UBSan), and
# end with one line of combined totals "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
passed=0 failed=0 skipped=0 rc=0
for v in "$@"; do
	out=$(mktemp "${TMPDIR:-/tmp}/crowd-run.XXXXXX")
	VARIANT=$v tests/run.sh | tee "$out"
	((${PIPESTATUS[0]} == 0)) || rc=1
	last=$(tail -n 1 "$out")
	rm -f -- "$out"
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
	else
		echo "$(date -u +%FT%TZ) run-variants: $v: no totals line (counted as 1 failure)"
		failed=$((failed + 1))
		rc=1
	fi
	echo "$(date -u +%FT%TZ) run-variants: $v: $last"
done
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
exit "$rc"
