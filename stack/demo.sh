#!/usr/bin/env bash
# stack/demo.sh - make demo: a private stack under var/demo on the fixed
# demo ports (nginx 9173, node 9063, MariaDB 9306) with one node of
# max_workers 4, then a real word_count job over real text files on this
# machine (the licenses in /usr/share/common-licenses and package copyright
# files), posted like the Ruby client does (form job=<JSON>), followed to
# the end, and its merged total checked against `cat FILES | wc -w`.
# The stack is left running: make stop (stack/stop.sh var/demo) ends it.
#
# Environment: DEMO_FILES (number of input files, default 30, at least 20),
# DEMO_TIMEOUT (seconds to wait for the job, default 300).
set -euo pipefail

PROG=demo
# shellcheck source=stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR=$REPO/var/demo
PORT=9173
NODE_PORT=9063
MYSQL_PORT=9306
URL=http://127.0.0.1:$PORT
NFILES=${DEMO_FILES:-30}
TIMEOUT=${DEMO_TIMEOUT:-300}
VARIANT=${VARIANT:-release}
export VARIANT
((NFILES >= 20)) || die "DEMO_FILES must be at least 20"

for tool in jq curl wc; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done
for b in crowd-server crowd-node ccdistribute; do
	[[ -x $REPO/build/$VARIANT/bin/$b ]] || die "build/$VARIANT/bin/$b missing: run make"
done

# ---- the stack -----------------------------------------------------------
running=0
for pf in "$DIR"/run/*.pid; do
	[[ -e $pf ]] || continue
	pid=$(read_pid "$pf")
	if [[ -n $pid ]] && pid_owned "$pid" "$DIR"; then running=1; fi
done
if ((running)); then
	say "a demo stack is already running in var/demo: restarting it cleanly (its data is kept)"
	"$STACK_LIB_DIR/stop.sh" "$DIR"
fi
"$STACK_LIB_DIR/start.sh" "$DIR" --port "$PORT" --node-port "$NODE_PORT" \
	--mysql-port "$MYSQL_PORT" --nodes 1 --set max_workers=4 --variant "$VARIANT"

# ---- the inputs: real text files ---------------------------------------
# Regular, readable, non-empty, ending in a newline (so `cat FILES` never
# glues the last word of one file to the first of the next), distinct
# after symlinks, with plain names (safe in a file:// URL as they are).
declare -A seen=()
FILES=()
add_file() {
	local f real
	f=$1
	real=$(readlink -f -- "$f") || return 0
	[[ -f $real && -r $real && -s $real ]] || return 0
	[[ $real =~ ^[A-Za-z0-9._/+-]+$ ]] || return 0
	[[ -z ${seen[$real]:-} ]] || return 0
	[[ $(tail -c 1 -- "$real" | od -An -c | tr -d ' ') == '\n' ]] || return 0
	seen[$real]=1
	FILES+=("$real")
}
for f in /usr/share/common-licenses/*; do
	((${#FILES[@]} < NFILES)) || break
	add_file "$f"
done
for f in /usr/share/doc/*/copyright; do
	((${#FILES[@]} < NFILES)) || break
	add_file "$f"
done
((${#FILES[@]} >= 20)) || die "found only ${#FILES[@]} text files on this machine; need 20"
say "input: ${#FILES[@]} text files ($(du -ch -- "${FILES[@]}" | tail -n 1 | cut -f 1)), e.g. ${FILES[0]}"

# ---- the job -------------------------------------------------------------
job=$(printf '%s\n' "${FILES[@]}" |
	jq -R . | jq -s -c '{action: "word_count", inputs: map("file://" + .), options: {}}')
resp=$(curl -sS --max-time 30 -w '\n%{http_code}' --data-urlencode "job=$job" "$URL/jobs") ||
	die "POST $URL/jobs failed"
code=${resp##*$'\n'}
body=${resp%$'\n'*}
[[ $code == 200 || $code == 201 ]] || die "POST /jobs answered $code: $body"
id=$(jq -r '.id // empty' <<<"$body")
[[ $id =~ ^[0-9]+$ ]] || die "POST /jobs: no job id in: $body"
say "posted job $id: word_count over ${#FILES[@]} files ($(jq -r '.work_units // "?"' <<<"$body") work units)"

last=""
deadline=$((SECONDS + TIMEOUT))
while :; do
	body=$(curl -sS --max-time 10 "$URL/jobs/$id") || body=""
	status=$(jq -r '.status // empty' <<<"$body" 2>/dev/null || true)
	pct=$(jq -r '.percent_complete // 0' <<<"$body" 2>/dev/null || echo 0)
	line="$status $pct%"
	if [[ $line != "$last" ]]; then
		say "job $id: ${status:-?} ${pct}% complete"
		last=$line
	fi
	case $status in succeeded | failed) break ;; esac
	if ((SECONDS >= deadline)); then
		tail_log "$DIR/log/server.log" 20
		die "job $id not done after $TIMEOUT s (last: ${body:-no answer})"
	fi
	sleep 0.25
done
time_taken=$(jq -r '.time_taken // "?"' <<<"$body")
if [[ $status != succeeded ]]; then
	say "job $id failed after $time_taken s: $(jq -c '.outputs // .' <<<"$body")"
	tail_log "$DIR/log/server.log" 20
	die "the demo job failed"
fi

# One merged number (word_count has a merge stage); should merge be missing,
# the per-file counts are summed here instead.
total=$(jq -r '.outputs | if length == 1 then .[0] else map(tonumber) | add end | tonumber' <<<"$body" 2>/dev/null || true)
expect=$(cat -- "${FILES[@]}" | wc -w)
say "job $id succeeded in $time_taken s; outputs: $(jq -c '.outputs' <<<"$body")"
say "word_count total:        ${total:-none}"
say "cat FILES | wc -w:       $expect"
if [[ $total == "$expect" ]]; then
	say "MATCH"
	rc=0
else
	say "MISMATCH"
	rc=1
fi
echo
say "Operations Center: $URL/"
say "the demo stack keeps running (logs in var/demo/log); stop it with: make stop"
exit "$rc"
