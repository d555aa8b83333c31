#!/usr/bin/env bash
# t0102-protocol-replay: every request a client, node or worker sent to the
# Ruby server while it ran (tests/fixtures/protocol/, copied from the
# project's shared/protocol captures) is sent again, byte for byte (method,
# path, Content-Type, body), in capture order, to a fresh stack (no node,
# no dispatcher). Each answer must have the captured status, or the one in
# the table below where we deliberately differ (PITFALLS.md) or where the
# capture's ids referred to state this fresh stack does not have; a JSON
# answer must have the captured keys in the captured order.
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --no-dispatcher
CAP=$REPO/tests/fixtures/protocol

# file prefix -> our status, and why
declare -A differ=(
	[09]="409 unit 1 was never assigned here (no node, no dispatcher): a result is accepted only from the worker that holds the unit"
	[11]="404 job 2 does not exist here (the capture's job 2 came from another client)"
	[14]="404 unit 4 does not exist here"
	[16]="404 unit 4 does not exist here"
	[17]="404 job 3 does not exist here"
	[20]="404 unit 5 does not exist here"
	[22]="404 unit 7 does not exist here"
	[23]="404 job 4 does not exist here"
	[24]="404 job 4 does not exist here"
	[27]="400 an invalid blacklist name is a 400 error, not 200 with an errors hash"
	[28]="409 a duplicate blacklist entry is a 409 error, not 200 with an errors hash"
	[30]="404 job 5 does not exist here (the replayed POSTs created jobs 1 and 2 so far)"
	[35]="404 as captured, but the job never existed here"
	[36]="409 unit 1 exists here but was never assigned (its report in 09 was refused the same way)"
	[38]="400 an unknown action is a 400 error, not 500"
	[39]="400 inputs: [] is refused instead of creating a job stuck at 100 %"
	[42]="404 as captured"
	[43]="400 a missing status is a 400 error, not 500"
	[44]="400 a missing job parameter is a 400 error, not 500"
)

json_keys() { jq -r 'if type == "object" then keys_unsorted | join(",") elif type == "array" then "array" else type end' 2>/dev/null; }

for f in "$CAP"/*.txt; do
	name=$(basename "$f" .txt)
	n=${name%%_*}
	# requests to the central server only (not server->node, not callbacks)
	[[ $name == *_server_POST_* ]] && continue
	req=$(awk '/^# ===== REQUEST/{r=1;next} /^# ===== RESPONSE/{exit} r' "$f")
	resp=$(awk '/^# ===== RESPONSE/{r=1;next} r' "$f")
	read -r method path _ <<<"$(head -1 <<<"$req" | tr -d '\r')"
	ctype=$(grep -i -m1 '^Content-Type:' <<<"$req" | tr -d '\r' | sed 's/^[^:]*: *//')
	body=$(awk 'BEGIN{b=0} b{print} /^\r?$/{b=1}' <<<"$req" | tr -d '\r')
	want=$(head -1 <<<"$resp" | awk '{print $2}')
	why="as captured"
	if [[ -n ${differ[$n]:-} ]]; then
		want=${differ[$n]%% *}
		why=${differ[$n]#* }
	fi
	args=()
	[[ -n $ctype ]] && args+=(-H "Content-Type: $ctype")
	[[ -n $body || $method == PUT || $method == POST ]] && args+=(--data-binary "$body")
	http "$method" "$path" "${args[@]}"
	if [[ $STATUS != "$want" ]]; then
		not_ok "$name: $method $path -> $want ($why)"
		diag "got $STATUS $BODY"
		continue
	fi
	ok "$name: $method $path -> $STATUS ($why)"
	# JSON answers: same keys, same order as the capture
	cbody=$(awk 'BEGIN{b=0} b{print} /^\r?$/{b=1}' <<<"$resp" | tr -d '\r')
	# (a job JSON only when the job is in the captured status: outputs
	# appear only once it is complete)
	if [[ $STATUS == 200 && $CTYPE == application/json* ]] && jq -e . >/dev/null 2>&1 <<<"$cbody" &&
		[[ $(jq -r '.status? // "-"' <<<"$BODY" 2>/dev/null) == "$(jq -r '.status? // "-"' <<<"$cbody" 2>/dev/null)" ]]; then
		is "$(json_keys <<<"$BODY")" "$(json_keys <<<"$cbody")" "$name: JSON keys in the captured order"
	fi
	if [[ $STATUS -ge 400 ]]; then
		like "$(jq -r .error <<<"$BODY" 2>/dev/null)" '.+' "$name: the error is JSON {\"error\": ...}"
	fi
done

# The captured node check-in left its record, the captured check-out removed it.
is "$(sql "SELECT COUNT(*) FROM node_records WHERE host = 'vm:9063'")" 0 "the captured check-out removed node vm:9063"
done_testing
