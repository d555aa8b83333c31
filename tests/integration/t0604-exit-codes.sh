#!/usr/bin/env bash
# t0604-exit-codes: the README's exit-code table ("### Exit codes"), row by
# row, against a real stack (with basic auth on). The rows are read from
# README.md and the codes from lib/core/exitcode.h: a row added without a
# case here (a function row_N), or a case without a row, fails. Each case
# runs one real command that must exit with the row's code. Then what
# "central refusing" (5) means for people: a wrong login is "central
# refused our credentials (401)" with what to check, never nginx's HTML
# page, for client commands and for `crowd node start`; an error answer of
# central (503 with its JSON cause, or an HTML error page of nginx) is
# shown as its cause. Last, MariaDB stops: central's refusal names the
# database, and `crowd server status` says so with exit 4 (both once
# central has GET /health).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

CROWD=$REPO/build/$VARIANT/bin/crowd
[[ -x $CROWD ]] || { not_ok "crowd is built ($CROWD)"; done_testing; }

# ---- the table and the enum agree --------------------------------------------
rows=$(sed -n '/^### Exit codes/,/^## /p' "$REPO/README.md" |
	sed -n 's/^| *\([0-9][0-9]*\) *|.*/\1/p' | tr '\n' ' ')
enum=$(sed -n 's/^[[:space:]]*CC_EXIT_[A-Z_]* = \([0-9][0-9]*\),.*/\1/p' \
	"$REPO/lib/core/exitcode.h" | tr '\n' ' ')
like "$rows" '^0 1 ' "the README's exit-code table has rows ($rows)"
is "$rows" "$enum" "... one per code of lib/core/exitcode.h, in order"

stack_up --nodes 1 --auth
T=$STACK_DIR/t0604
mkdir -p "$T"

# install NAME KEY=VALUE...: a config folder $T/NAME (quietly)
install() {
	local dir=$T/$1 kv args=()
	shift
	for kv in "$@"; do args+=(--set "$kv"); done
	"$CROWD" install "$dir" "${args[@]}" >"$T/install.out" 2>&1 ||
		{ not_ok "crowd install $dir"; sed 's/^/# /' "$T/install.out"; }
}
cc() { run "$CROWD" -c "$CROWD_CONF" "$@"; }

# ---- one case per row ------------------------------------------------------------
row_0() {
	cc submit noop zero --wait
	rc_is 0 "0 (done): crowd submit noop zero --wait"
	is "$(jq -r .status <<<"$OUT")" succeeded "... the job succeeded (its JSON on stdout)"
}
row_1() {
	cc submit always_fail one
	local id
	id=$(jq -r .id <<<"$OUT")
	wait_job "$id" 60
	cc status "$id"
	rc_is 1 "1 (failed): crowd status of a failed job"
	err_like "job $id failed" "... saying so"
}
row_2() {
	cc nodes --frobnicate
	rc_is 2 "2 (bad command line): crowd nodes --frobnicate"
}
row_3() {
	run "$CROWD" -c "$T/missing" nodes
	rc_is 3 "3 (config): crowd -c MISSING nodes"
	err_like "$T/missing/crowd.conf: cannot open" "... naming the file"
}
row_4() {
	install baddb "central_server=$CROWD_URL" "database.socket=$MYSQL_SOCKET" \
		database.username=nobody_t0604 database.password=wrong
	run "$CROWD" -c "$T/baddb" cleanup
	rc_is 4 "4 (database): crowd cleanup with a login MariaDB refuses"
	err_like "Access denied for user 'nobody_t0604'" "... with the database's reason"
}
row_5() {
	cc submit no_such_action x
	rc_is 5 "5 (central refusing): crowd submit of an action central does not know"
	err_like "central refused the job: .*no_such_action.*\\(HTTP 4[0-9][0-9]\\)" "... with central's reason"
	run "$CROWD" -c "$CROWD_CONF" -s http://127.0.0.1:9 nodes
	rc_is 5 "5 (central unreachable): crowd -s http://127.0.0.1:9 nodes"
	err_like "cannot reach the central server" "... saying so"
}
row_6() {
	install busyport "central_server=$CROWD_URL" node_host=127.0.0.1 \
		http_authentication=yes "login=$CROWD_LOGIN" "password=$CROWD_PASSWORD"
	run "$CROWD" -c "$T/busyport" node start -d -p "$NODE_PORT"
	rc_is 6 "6 (would not start): crowd node start -d on the port the stack's node holds"
	err_like "port $NODE_PORT is in use by another process" "... saying the port is taken"
	check "... no pid file left" test ! -e "$T/busyport/run/node-$NODE_PORT.pid"
	run "$BIN/crowd-node" -c "$T/busyport" -H 127.0.0.1 -p "$NODE_PORT"
	rc_is 6 "6 (would not start): crowd-node -p on the port the stack's node holds"
}

for code in $rows; do
	if declare -F "row_$code" >/dev/null; then
		"row_$code"
	else
		not_ok "README exit code $code has a case in $TEST_NAME (row_$code)"
	fi
done
for f in $(declare -F | awk '$3 ~ /^row_[0-9]+$/ {print $3}'); do
	[[ " $rows " == *" ${f#row_} "* ]] || not_ok "$f has a row in README.md's exit-code table"
done

# ---- 401: central refused our credentials ----------------------------------------
install wrongpw "central_server=$CROWD_URL" node_host=127.0.0.1 \
	http_authentication=yes "login=$CROWD_LOGIN" password=wrong
run "$CROWD" -c "$T/wrongpw" nodes
rc_is 5 "a wrong password: crowd nodes exits 5"
err_like "central refused our credentials \\(401\\)" "... central refused our credentials (401)"
err_like "check login and password in $T/wrongpw/crowd.conf" "... saying what to check, where"
err_lacks "<" "... no HTML"
err_lacks "set http_authentication = yes" "... not 'set http_authentication = yes' (it is set)"
run "$CROWD" -c "$T/wrongpw" submit noop x --wait
rc_is 5 "a wrong password: crowd submit exits 5"
err_like "central refused our credentials \\(401\\)" "... the same message"
np=$(free_port)
run "$CROWD" -c "$T/wrongpw" node start -d -p "$np"
rc_is 5 "a wrong password: crowd node start -d exits 5"
err_like "central refused our credentials \\(401\\)" "... central refused our credentials (401)"
err_lacks "<" "... no HTML"
check "... no node left running" test ! -e "$T/wrongpw/run/node-$np.pid"
install noauth "central_server=$CROWD_URL"
run "$CROWD" -c "$T/noauth" jobs
rc_is 5 "no login set, central wants one: crowd jobs exits 5"
err_like "central refused our credentials \\(401\\)" "... central refused our credentials (401)"
err_like "set http_authentication = yes, login and password in $T/noauth/crowd.conf" "... saying to set them, where"

# ---- error answers: central's JSON cause, an HTML page's title ----------------
F=$T/fake
fp=$(free_port)
mkdir -p "$F/tmp" "$F/logs"
cat >"$F/nginx.conf" <<EOF
pid $F/nginx.pid;
error_log $F/error.log;
events {}
http {
	access_log off;
	client_body_temp_path $F/tmp/body;
	proxy_temp_path $F/tmp/proxy;
	fastcgi_temp_path $F/tmp/fastcgi;
	uwsgi_temp_path $F/tmp/uwsgi;
	scgi_temp_path $F/tmp/scgi;
	server {
		listen 127.0.0.1:$fp;
		location = /jobs {
			default_type application/json;
			return 503 '{"error":"the database is unavailable: fake outage (t0604)"}';
		}
		location = /status { return 502; }
	}
}
EOF
nginx -p "$F" -c "$F/nginx.conf" -g 'daemon off;' >"$F/nginx.out" 2>&1 &
fake=$!
if wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$fp/status"; then
	run "$CROWD" -c "$T/noauth" -s "http://127.0.0.1:$fp" submit noop x
	rc_is 5 "central answers 503 with a JSON error: submit exits 5"
	err_like "central refused the job: the database is unavailable: fake outage \\(t0604\\) \\(HTTP 503\\)" "... printing central's cause"
	err_lacks "see the server log" "... not just 'see the server log'"
	run "$CROWD" -c "$T/noauth" -s "http://127.0.0.1:$fp" nodes
	rc_is 5 "nginx answers its HTML 502 page: nodes exits 5"
	err_like "HTTP 502: 502 Bad Gateway \\(an HTML page" "... its status and title"
	err_lacks "<" "... never the markup"
else
	not_ok "a fake central (nginx on 127.0.0.1:$fp) answers"
	sed 's/^/# /' "$F/nginx.out"
fi
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null

# ---- MariaDB stops ------------------------------------------------------------------
# A central server of our own on the stack's database, for server status.
sp=$(free_port)
install srv "central_server=http://127.0.0.1:$sp" "server_port=$sp" server_workers=2 \
	"database.socket=$MYSQL_SOCKET" database.database=cloud_crowd
run "$CROWD" -c "$T/srv" server start -d -l 127.0.0.1
rc_is 0 "crowd server start -d of a second central on the stack's database"
run "$CROWD" -c "$T/srv" server status
rc_is 0 "server status: exit 0 while it runs"
like "$OUT" "liveness: ok" "... liveness ok"
http GET /health
have_health=0
[[ $STATUS == 200 || $STATUS == 503 ]] && have_health=1
if ((have_health)); then
	like "$OUT" "database: ok"$'\n'"dispatcher: running \\(pid [0-9]+\\)"$'\n'"nodes: " "... a line per part of GET /health"
	like "$OUT" "readiness: (ok|degraded)" "... and its readiness"
else
	like "$OUT" "readiness: unknown \\(central has no /health\\)" "... readiness unknown: central has no /health"
fi

mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root shutdown >/dev/null 2>&1
check "MariaDB is stopped" wait_until 30 bash -c "! mariadb-admin --no-defaults --socket='$MYSQL_SOCKET' --user=root ping"
cc submit noop x
rc_is 5 "MariaDB stopped: crowd submit exits 5 (central refuses)"
err_like "central refused the job: " "... with central's reason"
err_lacks "<" "... no HTML"
if ((have_health)); then
	err_like "database is unavailable" "... naming the database (central's 503 cause)"
fi
run "$CROWD" -c "$T/srv" server status
if ((have_health)); then
	rc_is 4 "MariaDB stopped: server status exits 4"
	like "$OUT" "database: unavailable: " "... the database line says why"
else
	skip "MariaDB stopped: server status exits 4, naming the database" "central has no GET /health yet"
fi
run "$CROWD" -c "$T/srv" server stop
rc_is 0 "crowd server stop of the second central"

done_testing
