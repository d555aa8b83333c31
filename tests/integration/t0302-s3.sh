#!/usr/bin/env bash
# t0302-s3: storage = s3 against a real S3-compatible server on loopback
# (s3rver from npm, tests/s3/, which checks Signature V4 on every signed
# request): jobs of the echo and graphics_magick actions store their files
# there and the URLs they return serve the same bytes with the right
# Content-Type; odd file names survive the trip; a wrong secret key is
# refused with a clear error; DELETE /jobs/:id removes every object under
# ACTION/job_ID/ (over 1,000 of them: two listing pages) and nothing next
# to it; with s3_authentication = yes the URLs are presigned for 24 h, work
# (also as a worker's input), and stop working when any signed part is
# changed.
. "$(dirname "$0")/lib.sh"

S3DIR=$REPO/tests/s3
BUCKET=crowd-t0302          # the public-URL stack's; the presigned one uses
BUCKET2=crowd-t0302-auth    # its own, as job ids restart in a new stack
WORK=$(mktemp -d "${TMPDIR:-/tmp}/crowd-t0302.XXXXXX")
S3_PID=""

s3_cleanup() {
	local rc=$?
	if [[ -n $S3_PID ]]; then
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
	fi
	# shellcheck disable=SC2154  # both are set by lib.sh
	if ((rc == 0 && _tap_failed == 0 && _tap_done)); then
		rm -rf -- "$WORK"
	else
		printf '# kept %s; last lines of s3rver.log:\n' "$WORK"
		tail -n 15 "$WORK/s3rver.log" 2>/dev/null | cut -c 1-300 | sed 's/^/#   /'
	fi
	(exit "$rc")
	_stack_cleanup
}
trap s3_cleanup EXIT

# ---- the S3 server -----------------------------------------------------------
if "$S3DIR/setup.sh" >"$WORK/setup.out" 2>&1; then
	ok "tests/s3/setup.sh: node and s3rver are there"
else
	not_ok "tests/s3/setup.sh installs node and s3rver"
	sed 's/^/#   /' "$WORK/setup.out"
	done_testing
fi
node --openssl-legacy-provider "$S3DIR/server.js" --dir "$WORK/data" \
	--bucket "$BUCKET" --bucket "$BUCKET2" --port-file "$WORK/s3.port" --parent-pid $$ \
	>"$WORK/s3rver.log" 2>&1 &
S3_PID=$!
if ! wait_until 30 test -s "$WORK/s3.port"; then
	not_ok "s3rver starts on a free loopback port"
	done_testing
fi
S3=http://127.0.0.1:$(<"$WORK/s3.port")
like "$(curl -s "$S3/")" "<Name>$BUCKET</Name>" "s3rver answers at $S3 with bucket $BUCKET"
diag "s3rver $(node -p "require('$S3DIR/node_modules/@20minutes/s3rver/package.json').version"), node $(node --version)"

# enc KEY: the key as an S3 URL path: every byte but A-Za-z0-9 - . _ ~ /
# percent-encoded (upper-case hex), byte by byte.
enc() {
	local LC_ALL=C s=$1 out="" c h i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) printf -v h '%%%02X' "'$c"; out+=$h ;;
		esac
	done
	printf '%s\n' "$out"
}

# s3_count PREFIX: how many objects the bucket lists under PREFIX, over
# every page (anonymous ListObjectsV2: s3rver has no ACLs).
s3_count() {
	local total=0 token="" page n
	while :; do
		page=$(curl -sS -G "$S3/$BUCKET" --data-urlencode list-type=2 \
			--data-urlencode "prefix=$1" \
			${token:+--data-urlencode "continuation-token=$token"}) || return 1
		n=$(sed -n 's:.*<KeyCount>\([0-9]*\)</KeyCount>.*:\1:p' <<<"$page")
		[[ -n $n ]] || { echo "no KeyCount in: $page" >&2; return 1; }
		total=$((total + n))
		[[ $page == *"<IsTruncated>true</IsTruncated>"* ]] || break
		token=$(sed -n 's:.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*:\1:p' <<<"$page")
	done
	echo "$total"
}

# fetch URL FILE: GET into FILE; sets STATUS and CTYPE.
fetch() {
	local out
	out=$(curl -sS -o "$2" -w '%{http_code} %{content_type}' "$1") || out="000 "
	STATUS=${out%% *}
	CTYPE=${out#* }
}

# save_as CONFDIR JOB UNIT FILE: crowd-save as an action would run it.
save_as() {
	CROWD_ACTION=echo CROWD_JOB_ID=$2 CROWD_WORK_UNIT_ID=$3 \
		"$BIN/crowd-save" -c "$1" "$4"
}

S3_SETS=(--set storage=s3 --set "s3_endpoint=$S3" --set aws_access_key=S3RVER
	--set aws_secret_key=S3RVER --set s3_region=us-east-1)
mkdir -p "$WORK/in" "$WORK/got"

# ============================ public URLs =====================================
stack_up --nodes 1 "${S3_SETS[@]}" --set "s3_bucket=$BUCKET"
PUBLIC_STACK=$STACK_DIR

# ---- echo: a text input and a downloaded binary file ------------------------
text="hello <s3> & 'friends' \"all\" é"
head -c 300000 /dev/urandom >"$WORK/in/blob.bin"
post_job "$(jq -nc --arg t "$text" --arg f "file://$WORK/in/blob.bin" \
	'{action: "echo", inputs: [$t, $f]}')"
ECHO_ID=$ID
wait_job "$ECHO_ID" 60
is "$(jq -r .status <<<"$JOB")" succeeded "echo job with a text and a file input succeeded"
u_text=$(jq -r '.outputs[0]' <<<"$JOB")
u_blob=$(jq -r '.outputs[1]' <<<"$JOB")
like "$u_text" "^$S3/$BUCKET/echo/job_$ECHO_ID/unit_[0-9]+/echo_input\\.txt\$" \
	"the text's URL is endpoint/bucket/echo/job_ID/unit_ID/echo_input.txt"
like "$u_blob" "^$S3/$BUCKET/echo/job_$ECHO_ID/unit_[0-9]+/blob\\.bin\$" "the file's URL ends in its name"
fetch "$u_text" "$WORK/got/text"
is "$STATUS $CTYPE" "200 text/plain" "GET of the text's URL: 200, text/plain"
is "$(cat "$WORK/got/text")" "$text" "... and the stored bytes are the input text"
fetch "$u_blob" "$WORK/got/blob"
is "$STATUS $CTYPE" "200 application/octet-stream" "GET of the file's URL: 200, application/octet-stream"
check "... and the 300,000 stored bytes equal the input file" cmp -s "$WORK/in/blob.bin" "$WORK/got/blob"
is "$(s3_count "echo/job_$ECHO_ID/")" 2 "the bucket lists the job's 2 objects under echo/job_$ECHO_ID/"

# ---- graphics_magick: two steps, stored as JPEG and PNG ---------------------
gm convert -size 120x80 gradient:red-blue "$WORK/in/pic.png"
post_job "$(jq -nc --arg f "file://$WORK/in/pic.png" '{action: "graphics_magick", inputs: [$f],
	options: {steps: [{name: "thumb", options: "-resize 60x40", extension: "jpg"},
		{name: "small", options: "-resize 50%", extension: "png", input: "thumb"}]}}')"
GM_ID=$ID
wait_job "$GM_ID" 60
is "$(jq -r .status <<<"$JOB")" succeeded "graphics_magick job succeeded"
u_thumb=$(jq -r '.outputs[0].thumb' <<<"$JOB")
u_small=$(jq -r '.outputs[0].small' <<<"$JOB")
like "$u_thumb" "^$S3/$BUCKET/graphics_magick/job_$GM_ID/unit_[0-9]+/pic_thumb\\.jpg\$" \
	"thumb URL: graphics_magick/job_ID/unit_ID/pic_thumb.jpg"
fetch "$u_thumb" "$WORK/got/thumb.jpg"
is "$STATUS $CTYPE $(gm identify -format '%m %wx%h' "$WORK/got/thumb.jpg" 2>&1)" \
	"200 image/jpeg JPEG 60x40" "the stored thumb is a 60x40 JPEG served as image/jpeg"
fetch "$u_small" "$WORK/got/small.png"
is "$STATUS $CTYPE $(gm identify -format '%m %wx%h' "$WORK/got/small.png" 2>&1)" \
	"200 image/png PNG 30x20" "the stored small step is a 30x20 PNG served as image/png"

# ---- crowd-save by hand: a file name full of characters to escape ----------
odd="a&b <c> \"q\" 'x' é+%#?;=.txt"
printf 'odd name\n' >"$WORK/in/$odd"
url=$(save_as "$CROWD_CONF" "$ECHO_ID" 999999 "$WORK/in/$odd" 2>"$WORK/odd.err")
is "$url" "$S3/$BUCKET/echo/job_$ECHO_ID/unit_999999/$(enc "$odd")" \
	"crowd-save of '$odd': URL with every reserved byte percent-encoded"
fetch "$url" "$WORK/got/odd"
is "$STATUS $(cat "$WORK/got/odd")" "200 odd name" "... and it serves the file"

# ---- a wrong secret key: refused, with status and S3 error code ------------
cp -r "$CROWD_CONF" "$WORK/badconf"
sed -i 's/^aws_secret_key = .*/aws_secret_key = WRONG-SECRET-0302/' "$WORK/badconf/crowd.conf"
save_as "$WORK/badconf" "$ECHO_ID" 999998 "$WORK/in/blob.bin" >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
is "$rc" 1 "crowd-save with a wrong aws_secret_key fails (exit 1)"
like "$(cat "$WORK/bad.err")" "HTTP 403 SignatureDoesNotMatch" "... saying HTTP 403 SignatureDoesNotMatch"
check "... without the secret key in the message" bash -c "! grep -q WRONG-SECRET '$WORK/bad.err'"
is "$(s3_count "echo/job_$ECHO_ID/unit_999998/")" 0 "... and nothing was stored"
sed -i 's/^s3_bucket = .*/s3_bucket = no-such-bucket/' "$WORK/badconf/crowd.conf"
sed -i 's/^aws_secret_key = .*/aws_secret_key = S3RVER/' "$WORK/badconf/crowd.conf"
save_as "$WORK/badconf" "$ECHO_ID" 999998 "$WORK/in/blob.bin" >/dev/null 2>"$WORK/bad.err"
like "$(cat "$WORK/bad.err")" "HTTP 404 NoSuchBucket" "a missing bucket: HTTP 404 NoSuchBucket"

# ---- DELETE /jobs/:id: everything under echo/job_ID/, over two pages --------
# 1,001 more objects (ListObjectsV2 pages hold 1,000), keys whose listing
# needs XML entities, a control character, and neighbours that share the
# text "echo/job_ID" but are not in the folder.
printf 'x' >"$WORK/in/x"
curl -sS --parallel --parallel-max 16 -T "$WORK/in/x" -o /dev/null \
	"$S3/$BUCKET/echo/job_$ECHO_ID/bulk/[0000-1000].txt" 2>"$WORK/bulk.err" ||
	diag "bulk upload: $(tail -n 3 "$WORK/bulk.err")"
for key in "echo/job_$ECHO_ID/ents/&amp; &lt;'x'&gt;.txt" "echo/job_$ECHO_ID/ctl/a"$'\x01'"b.txt" \
	"echo/job_${ECHO_ID}0/keep.txt" "echo/job_$ECHO_ID.txt" "echo/job_$ECHO_ID"; do
	curl -sS -T "$WORK/in/x" -o /dev/null "$S3/$BUCKET/$(enc "$key")"
done
before=$(s3_count "echo/job_$ECHO_ID/")
is "$before" 1006 "before the delete: 1,006 objects under echo/job_$ECHO_ID/"
http DELETE "/jobs/$ECHO_ID"
is "$STATUS" 204 "DELETE /jobs/$ECHO_ID answers 204"
is "$(s3_count "echo/job_$ECHO_ID/")" 0 "... and no object is left under echo/job_$ECHO_ID/"
fetch "$u_text" "$WORK/got/gone"
is "$STATUS" 404 "... the job's URLs answer 404"
is "$(s3_count "echo/job_${ECHO_ID}0/") $(s3_count "echo/job_$ECHO_ID.txt") $(s3_count "echo/job_$ECHO_ID")" \
	"1 1 3" "... while echo/job_${ECHO_ID}0/keep.txt, echo/job_$ECHO_ID.txt and echo/job_$ECHO_ID stay"
is "$(s3_count "graphics_magick/job_$GM_ID/")" 2 "... and so do the graphics_magick job's 2 objects"
check "the server logged no failure deleting stored files" \
	bash -c "! grep -h 'deleting stored files' '$STACK_DIR'/log/*.log"
http DELETE "/jobs/$GM_ID"
is "$(s3_count "graphics_magick/job_$GM_ID/")" 0 "DELETE /jobs/$GM_ID removes the graphics_magick objects"

# ============================ presigned URLs ==================================
stack_down
BUCKET=$BUCKET2
stack_up --nodes 1 "${S3_SETS[@]}" --set "s3_bucket=$BUCKET" --set s3_authentication=yes
post_job "$(jq -nc --arg t "$text" '{action: "echo", inputs: [$t]}')"
AUTH_ID=$ID
wait_job "$AUTH_ID" 60
is "$(jq -r .status <<<"$JOB")" succeeded "echo job with s3_authentication = yes succeeded"
u=$(jq -r '.outputs[0]' <<<"$JOB")
day=$(date -u +%Y%m%d)
like "$u" "^$S3/$BUCKET/echo/job_$AUTH_ID/unit_[0-9]+/echo_input\\.txt\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=S3RVER%2F[0-9]{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=[0-9]{8}T[0-9]{6}Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}\$" \
	"the URL is presigned: SigV4 query, S3RVER credential, us-east-1, 24 h (86400 s), host signed"
stamp=$(sed -n 's/.*X-Amz-Date=\([0-9]*T[0-9]*Z\).*/\1/p' <<<"$u")
signed_at=$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" +%s)
check "... signed now (X-Amz-Date $stamp within 5 minutes of the clock; today $day)" \
	test $((${signed_at:-0} - $(date +%s))) -gt -300 -a $((${signed_at:-0} - $(date +%s))) -lt 300
fetch "$u" "$WORK/got/presigned"
is "$STATUS $(cat "$WORK/got/presigned")" "200 $text" "GET of the presigned URL serves the file"
sig=${u##*X-Amz-Signature=}
flip=$(tr '0-9a-f' '1-9a-f0' <<<"${sig:63:1}")
fetch "${u%?}$flip" "$WORK/got/x"
is "$STATUS $(grep -o '<Code>[^<]*' "$WORK/got/x" | cut -c 7-)" "403 SignatureDoesNotMatch" \
	"a changed signature is refused: 403 SignatureDoesNotMatch"
fetch "${u/X-Amz-Expires=86400/X-Amz-Expires=604800}" "$WORK/got/x"
is "$STATUS" 403 "a longer X-Amz-Expires is refused (403): the lifetime is signed"
unit=$(sed -E 's:.*/unit_([0-9]+)/.*:\1:' <<<"$u")
cp "$WORK/in/x" "$WORK/in/other.txt"
save_as "$CROWD_CONF" "$AUTH_ID" "$unit" "$WORK/in/other.txt" >/dev/null
other_key=$(sed 's:/echo_input\.txt?:/other.txt?:' <<<"$u")
fetch "$other_key" "$WORK/got/x"
is "$STATUS" 403 "the same signature on another object's path is refused (403): the key is signed"
fetch "${u%%\?*}" "$WORK/got/x"
if [[ $STATUS == 200 ]]; then
	skip "an unsigned GET of the object is refused" \
		"s3rver has no ACLs and serves anonymous requests (answered 200); the signed fields are checked above"
else
	is "$STATUS" 403 "an unsigned GET of the object is refused"
fi

# a presigned URL as a worker's input: the node downloads it with libcurl
post_job "$(jq -nc --arg u "$u" '{action: "echo", inputs: [$u]}')"
wait_job "$ID" 60
is "$(jq -r .status <<<"$JOB")" succeeded "an echo job whose input is a presigned URL succeeded"
u2=$(jq -r '.outputs[0]' <<<"$JOB")
fetch "$u2" "$WORK/got/chain"
is "$STATUS $(cat "$WORK/got/chain")" "200 $text" "... the worker downloaded it and stored the same bytes"
CHAIN_ID=$ID

http DELETE "/jobs/$AUTH_ID"
is "$STATUS $(s3_count "echo/job_$AUTH_ID/")" "204 0" "DELETE /jobs/$AUTH_ID removes its objects with s3_authentication on"
is "$(s3_count "echo/job_$CHAIN_ID/")" 1 "... and leaves the other job's object"
fetch "$u" "$WORK/got/x"
is "$STATUS" 404 "... its presigned URL then answers 404"
check "neither stack logged a failure deleting stored files" \
	bash -c "! grep -h 'deleting stored files' '$PUBLIC_STACK'/log/*.log '$STACK_DIR'/log/*.log"

done_testing
