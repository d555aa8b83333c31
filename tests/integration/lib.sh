# tests/integration/lib.sh - sourced by tests/integration/tNNNN-*.sh.
# TAP output ("ok N - ...", "not ok N - ...", "# ..." notes, a "1..N"
# plan from done_testing), private stacks (stack_up), and helpers for HTTP
# and SQL against the current stack.
#
#   stack_up [start.sh options]   fresh stack in a mktemp folder; its env is
#                                 sourced (CROWD_URL, MYSQL_SOCKET, ...).
#                                 Stopped at exit; the folder is removed
#                                 unless a test failed (then its log tails
#                                 are shown and it is kept).
#   stack_down                    stop the current stack now
#   stack_use DIR                 make an earlier stack the current one
#   ok DESC / not_ok DESC         a passing / failing test
#   skip DESC REASON              a skipped test ("ok N - DESC # SKIP REASON")
#   check DESC CMD...             ok if CMD succeeds, else not ok
#   is ACTUAL EXPECTED DESC       string equality
#   like ACTUAL REGEX DESC        bash regex match
#   diag TEXT...                  a "# " note
#   http METHOD PATH [curl args]  sets STATUS (000: no answer, curl's
#                                 message in HTTP_ERROR), BODY, CTYPE; PATH may be a
#                                 whole URL (e.g. a node's); basic auth is
#                                 added when the stack has it on
#   form_post PATH k=v ...        POST urlencoded form (values encoded)
#   json_post PATH JSON           POST application/json
#   sql QUERY                     mariadb -N -B on the stack's cloud_crowd
#   post_job JSON                 POST /jobs job=JSON; ID gets the job's id
#   wait_job ID [TIMEOUT_S]       poll GET /jobs/ID (default 60 s) until it
#                                 succeeded/failed or is gone (404); JOB
#                                 gets the last answer
#   free_port                     a free TCP port, claimed for the stack
#   wait_until TIMEOUT_S CMD...   poll CMD every 0.1 s; false on timeout
#   done_testing                  print the plan; exit 1 if any failed
# shellcheck shell=bash

set -uo pipefail

TEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TEST_LIB_DIR/../.." && pwd)
VARIANT=${VARIANT:-release}
export REPO VARIANT
TEST_NAME=$(basename "$0" .sh)

_tap_n=0
_tap_failed=0
_tap_done=0
_stacks=()
_kept=0

diag() {
	local line
	while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}

ok() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$*"
}

skip() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "${2:-}"
}

check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; diag "  command failed: $*"; fi
}

is() {
	if [[ $1 == "$2" ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "       got: '$1'
  expected: '$2'"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "       got: '$1'
  not like: /$2/"
	fi
}

# wait_until TIMEOUT_S CMD...: true as soon as CMD (a command or a shell
# function) succeeds; TIMEOUT_S may have decimals.
wait_until() {
	local deadline
	deadline=$(awk -v t="$1" -v now="$(date +%s%N)" 'BEGIN{printf "%.0f", now + t * 1e9}')
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(date +%s%N) < deadline)) || return 1
		sleep 0.1
	done
}

# ---- HTTP ------------------------------------------------------------------
# shellcheck disable=SC2034 # STATUS, BODY, CTYPE are for the test scripts
STATUS=""
BODY=""
CTYPE=""
HTTP_ERROR=""
http() {
	local method=$1 path=$2 url out hdr
	shift 2
	case $path in
	http://* | https://*) url=$path ;;
	*) url=${CROWD_URL:?no stack: call stack_up first}$path ;;
	esac
	local auth=()
	[[ ${CROWD_AUTH:-no} == yes ]] && auth=(-u "$CROWD_LOGIN:$CROWD_PASSWORD")
	local verb=(-X "$method")
	[[ $method == HEAD ]] && verb=(-I)
	out=$(mktemp "${TMPDIR:-/tmp}/crowd-http.XXXXXX")
	hdr=$(curl -sS --max-time "${HTTP_TIMEOUT:-30}" "${verb[@]}" "${auth[@]}" \
		-o "$out" -w '%{http_code} %{content_type}' "$@" "$url" 2>"$out.err") || true
	# shellcheck disable=SC2034
	HTTP_ERROR=$(cat "$out.err")
	rm -f -- "$out.err"
	STATUS=${hdr%% *}
	CTYPE=${hdr#* }
	# shellcheck disable=SC2034
	[[ $STATUS =~ ^[0-9]{3}$ ]] || { CTYPE=""; STATUS=000; }
	# shellcheck disable=SC2034
	BODY=$(cat "$out")
	rm -f -- "$out"
}

# form_post PATH k=v ...: urlencoded form, every value encoded.
form_post() {
	local path=$1 kv args=()
	shift
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	((${#args[@]})) || args=(--data "")
	http POST "$path" "${args[@]}"
}

# json_post PATH JSON
json_post() {
	http POST "$1" -H 'Content-Type: application/json' --data-binary "$2"
}

# sql QUERY: rows, tab-separated, no header.
sql() {
	mariadb --no-defaults --socket="${MYSQL_SOCKET:?no stack}" --user=root \
		-N -B cloud_crowd -e "$1"
}

# post_job JSON: POST /jobs as the Ruby client does (form job=JSON); ID.
post_job() {
	form_post /jobs "job=$1"
	[[ $STATUS == 200 ]] || diag "POST /jobs: $STATUS $BODY"
	# shellcheck disable=SC2034
	ID=$(jq -r .id <<<"$BODY")
}

# wait_job ID [TIMEOUT_S]: poll until the job is complete (or deleted:
# a callback answered 201); JOB gets the last answer.
wait_job() {
	local id=$1 timeout=${2:-60} deadline=$((SECONDS + ${2:-60}))
	while ((SECONDS < deadline)); do
		http GET "/jobs/$id"
		JOB=$BODY
		[[ $(jq -r .status <<<"$JOB" 2>/dev/null) =~ ^(succeeded|failed)$ ]] && return 0
		[[ $STATUS == 404 ]] && return 0
		sleep 0.2
	done
	diag "job $id not complete after $timeout s: $(jq -c 'del(.outputs)' <<<"$JOB" 2>/dev/null || echo "$JOB")"
	return 1
}

# free_port: a free port for a helper server of the test (a callback
# sink, a second nginx), claimed for the current stack the way stack
# scripts claim theirs (stack/lib.sh claim_block: below the ephemeral
# range, so no outgoing connection holds it; released by stack/stop.sh).
free_port() {
	(
		# shellcheck source=stack/lib.sh
		. "$REPO/stack/lib.sh"
		claim_block 1 "${STACK_DIR:?no stack: call stack_up first}"
	)
}

# ---- commands -----------------------------------------------------------------
# run CMD...: runs it with no stdin; OUT (stdout), ERR (stderr), RC.
run() {
	local o
	o=$(mktemp "${TMPDIR:-/tmp}/crowd-run.XXXXXX")
	"$@" >"$o" 2>"$o.err" </dev/null
	RC=$?
	OUT=$(<"$o")
	ERR=$(<"$o.err")
	rm -f -- "$o" "$o.err"
}

# rc_is WANT DESC: the last run's exit status was WANT (else its output
# is shown).
rc_is() {
	if [[ $RC == "$1" ]]; then
		ok "$2"
	else
		not_ok "$2"
		diag "exit code $RC, expected $1
stdout: ${OUT:0:1500}
stderr: ${ERR:0:1500}"
	fi
}

# err_like RE DESC, err_lacks TEXT DESC: the last run's stderr
err_like() { like "$ERR" "$1" "$2"; }
err_lacks() {
	if [[ $ERR != *"$1"* ]]; then ok "$2"; else not_ok "$2"; diag "stderr: ${ERR:0:1500}"; fi
}

# conf_copy NAME [KEY=VALUE...]: a copy of the stack's config folder's
# crowd.conf in $STACK_DIR/conf-NAME with these top-level keys replaced
# (the database, the login and actions_path stay); prints the folder.
conf_copy() {
	local dir=$STACK_DIR/conf-$1 kv drop=()
	shift
	mkdir -p "$dir"
	for kv in "$@"; do drop+=(-e "^${kv%%=*} *="); done
	{
		# top-level keys first: they must come before [database]
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
		if ((${#drop[@]})); then grep -v "${drop[@]}" "$CROWD_CONF/crowd.conf"; else cat "$CROWD_CONF/crowd.conf"; fi
	} >"$dir/crowd.conf"
	chmod 600 "$dir/crowd.conf"
	printf '%s\n' "$dir"
}

# ---- stacks ----------------------------------------------------------------
stack_use() {
	# shellcheck source=/dev/null
	. "$1/env"
}

stack_up() {
	local dir t0
	dir=$(mktemp -d "${TMPDIR:-/tmp}/crowd-$TEST_NAME.XXXXXX") || {
		not_ok "stack starts (mktemp failed)"
		done_testing
	}
	_stacks+=("$dir")
	mkdir -p "$dir/log"
	t0=$SECONDS
	if "$REPO/stack/start.sh" "$dir" --variant "$VARIANT" "$@" >"$dir/log/start.out" 2>&1; then
		stack_use "$dir"
		diag "stack up in $((SECONDS - t0)) s: $dir ($CROWD_URL)"
		grep -E 'WARNING: .*missing' "$dir/log/start.out" | sed 's/^/# /'
		return 0
	fi
	not_ok "stack starts: stack/start.sh $dir $*"
	sed 's/^/#   /' "$dir/log/start.out"
	done_testing
}

stack_down() {
	[[ -n ${STACK_DIR:-} ]] || return 0
	"$REPO/stack/stop.sh" "$STACK_DIR" >>"$STACK_DIR/log/stop.out" 2>&1
}

_stack_cleanup() {
	local rc=$? dir f
	((${#_stacks[@]})) || return 0
	local failed=$((_tap_failed > 0 || rc != 0 || !_tap_done))
	for dir in "${_stacks[@]}"; do
		[[ -d $dir ]] || continue
		mkdir -p "$dir/log"
		"$REPO/stack/stop.sh" "$dir" >>"$dir/log/stop.out" 2>&1 ||
			printf '# stack/stop.sh %s failed\n' "$dir"
		if ((failed)); then
			printf '# kept %s; last lines of its logs:\n' "$dir"
			for f in "$dir"/log/*; do
				[[ -s $f ]] || continue
			case ${f##*/} in mariadb-install.out | htpasswd.out | nginx-test.out) continue ;; esac
				printf '# --- %s\n' "$f"
				tail -n 12 -- "$f" | cut -c 1-300 | sed 's/^/#   /'
			done
		else
			rm -rf -- "$dir"
		fi
	done
}
trap _stack_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

done_testing() {
	_tap_done=1
	printf '1..%d\n' "$_tap_n"
	if ((_tap_failed)); then
		printf '# %d of %d failed\n' "$_tap_failed" "$_tap_n"
		exit 1
	fi
	exit 0
}
