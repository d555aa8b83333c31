#!/usr/bin/env bash
# tests/browser/docs-screenshot.sh - remake docs/operations-center.png, the
# README's picture of the Operations Center: starts a private stack with
# two nodes, stages some work (OC_MODE=docs of operations_center.test.js),
# saves the screenshot, stops the stack. Not part of make test.
# Usage: tests/browser/docs-screenshot.sh [OUTPUT.png]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/docs/operations-center.png}
"$HERE/setup.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/crowd-docs.XXXXXX")
trap '"$REPO/stack/stop.sh" "$DIR" >/dev/null 2>&1; rm -rf -- "$DIR"' EXIT
"$REPO/stack/start.sh" "$DIR" --nodes 2 --set max_workers=3 >"$DIR/start.out" 2>&1 ||
	{ cat "$DIR/start.out" >&2; exit 1; }
# shellcheck source=/dev/null
. "$DIR/env"
mkdir -p "$DIR/texts" "$(dirname "$OUT")"
for i in 1 2 3 4; do seq $((i * 500)) | sed 's/$/ words of text/' >"$DIR/texts/chapter$i.txt"; done
OC_MODE=docs OC_URL=$CROWD_URL OC_DOCS_SHOT=$OUT OC_ARTIFACTS=$DIR \
	OC_LINK_URL=$CROWD_URL/static/images/cloudcrowd.svg \
	OC_DOCS_FILES="$(echo "$DIR"/texts/*.txt)" \
	node "$HERE/operations_center.test.js"
