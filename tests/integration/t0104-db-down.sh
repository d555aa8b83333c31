#!/usr/bin/env bash
# t0104-db-down: the database's absence reaches people. With the stack's
# MariaDB stopped (SIGTERM: a clean shutdown) and then crashed (SIGKILL),
# every route that needs it answers 503 {"error": "the database is
# unavailable: <MariaDB's message>"} (never 500, never "see the server
# log" alone), GET /health says "unavailable" (503) while GET /heartbeat
# stays buh-bump, and GET / is an HTML page saying so, not JSON. With
# MariaDB back, everything answers 200 again with nothing restarted. A
# connection the server closed between two requests is opened again
# without an error, also for a transaction (POST /jobs).
. "$(dirname "$0")/lib.sh"

stack_up --nodes 1

MYSQL_PIDFILE=$STACK_DIR/run/mariadb.pid
POOL_PID=$(cat "$STACK_DIR/run/crowd-server.pid")
mpid=$(cat "$MYSQL_PIDFILE")
mapfile -d '' -t MYSQLD_ARGV <"/proc/$mpid/cmdline"
UNAVAILABLE="^the database is unavailable: .+"

# mariadb_stop SIGNAL: stop the stack's MariaDB and wait until it is gone.
mariadb_stop() {
	local pid
	pid=$(cat "$MYSQL_PIDFILE")
	kill "-$1" "$pid"
	wait_until 60 bash -c "! kill -0 $pid" || diag "MariaDB $pid did not exit"
}

# mariadb_start: start it again the way stack/start.sh did (t0801's way).
mariadb_start() {
	rm -f -- "$MYSQL_SOCKET"
	setsid "${MYSQLD_ARGV[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
	echo $! >"$MYSQL_PIDFILE"
	wait_until 60 mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping
}

answers() { # answers STATUS METHOD PATH [curl args]: true when it does
	local want=$1
	shift
	http "$@"
	[[ $STATUS == "$want" ]]
}

# ---- before: all is well --------------------------------------------------------
http GET /health
is "$STATUS $(jq -c '[.status,.database.ok,.dispatcher.ok,.nodes.count]' <<<"$BODY")" \
	'200 ["ok",true,true,1]' "GET /health: ok (database, dispatcher, one node)"
post_job '{"action":"noop","inputs":["before"]}'
JID=$ID
wait_job "$JID"
is "$(jq -r .status <<<"$JOB")" succeeded "a job succeeds before the outage"

# db_down_checks WHAT: every route that needs MySQL says it is away.
db_down_checks() {
	local what=$1 err
	form_post /jobs 'job={"action":"noop","inputs":["x"]}'
	err=$(jq -r .error <<<"$BODY" 2>/dev/null)
	is "$STATUS" 503 "$what: POST /jobs answers 503"
	like "$err" "$UNAVAILABLE" "... {\"error\": \"the database is unavailable: ...\"}"
	like "$err" "Can't connect|Lost connection|gone away|shutdown" "... quoting MariaDB ($err)"
	[[ $err != *"see the server log"* && $err != *"could not create"* ]] &&
		ok "... not 'could not create the job (see the server log)'" ||
		not_ok "... not 'could not create the job (see the server log)': $err"
	http GET "/jobs/$JID"
	is "$STATUS" 503 "$what: GET /jobs/:id answers 503"
	like "$(jq -r .error <<<"$BODY" 2>/dev/null)" "$UNAVAILABLE" "... with the database's message"
	like "$CTYPE" '^application/json' "... as JSON"
	http GET /status
	is "$STATUS" 503 "$what: GET /status answers 503"
	like "$(jq -r .error <<<"$BODY" 2>/dev/null)" "$UNAVAILABLE" "... with the database's message"
	http GET /jobs
	is "$STATUS $(jq -r .error <<<"$BODY" 2>/dev/null | cut -c1-29)" "503 the database is unavailable: " \
		"$what: GET /jobs answers 503 the database is unavailable"
	http PUT "/node/127.0.0.1:$NODE_PORT" --data 'busy=false&max_workers=2&enabled_actions=noop'
	is "$STATUS $(jq -r .error <<<"$BODY" 2>/dev/null | cut -c1-29)" "503 the database is unavailable: " \
		"$what: a node's check-in answers 503 the database is unavailable"
	http GET /health
	is "$STATUS $(jq -c '[.status,.database.ok,.dispatcher.ok,.nodes]' <<<"$BODY")" \
		'503 ["unavailable",false,true,{"count":null,"busy":null,"max":null}]' \
		"$what: GET /health answers 503 unavailable (dispatcher still ok, nodes unknown)"
	like "$(jq -r .database.error <<<"$BODY")" "$UNAVAILABLE" "... database.error quotes MariaDB"
	http GET /
	is "$STATUS" 503 "$what: GET / (the Operations Center) answers 503"
	like "$CTYPE" '^text/html' "... as an HTML page"
	like "$BODY" '<h1 id="error_title">The database is unavailable</h1>' "... saying the database is unavailable"
	like "$BODY" "<meta http-equiv=\"refresh\"" "... and trying again by itself"
	[[ $BODY != *'{"error"'* ]] && ok "... with no raw JSON" || not_ok "... with no raw JSON"
	http GET /heartbeat
	is "$STATUS $BODY" "200 buh-bump" "$what: GET /heartbeat still answers buh-bump (liveness)"
}

# back_checks WHAT: everything answers again, nothing restarted.
back_checks() {
	local what=$1
	check "$what: GET /health answers 200 ok again" \
		wait_until 30 bash -c "[[ \$(curl -s '$CROWD_URL/health' | jq -r .status) == ok ]]"
	# every pool process (backing off its connects for up to 8 s) answers
	check "$what: GET /status answers 200 on 12 requests in a row" wait_until 30 bash -c "
		for i in \$(seq 12); do
			[[ \$(curl -s -o /dev/null -w '%{http_code}' '$CROWD_URL/status') == 200 ]] || exit 1
		done"
	check "$what: GET /jobs/:id answers 200" answers 200 GET "/jobs/$JID"
	post_job '{"action":"noop","inputs":["after"]}'
	is "$STATUS" 200 "$what: POST /jobs answers 200"
	wait_job "$ID"
	is "$(jq -r .status <<<"$JOB")" succeeded "$what: ... and the job succeeds"
	JID=$ID
	check "$what: crowd-server was not restarted" kill -0 "$POOL_PID"
	is "$(cat "$STACK_DIR/run/crowd-server.pid")" "$POOL_PID" "$what: ... same pid"
}

# ---- MariaDB stopped ------------------------------------------------------------
mariadb_stop TERM
diag "stopped MariaDB (SIGTERM)"
db_down_checks "MariaDB stopped"
check "MariaDB starts again" mariadb_start
back_checks "MariaDB back"

# ---- MariaDB crashed, with connections open ----------------------------------------
mariadb_stop KILL
diag "SIGKILLed MariaDB"
db_down_checks "MariaDB crashed"
check "MariaDB starts again after the crash" mariadb_start
back_checks "MariaDB back after the crash"

# ---- a connection closed by the server between requests -------------------------
sql "SELECT id FROM information_schema.processlist WHERE db = 'cloud_crowd' AND id <> CONNECTION_ID()
     AND user = 'root' AND command = 'Sleep'" >"$STACK_DIR/conns"
while read -r c; do sql "KILL CONNECTION $c" 2>/dev/null; done <"$STACK_DIR/conns"
diag "killed $(wc -l <"$STACK_DIR/conns") idle connections"
seq 12 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
	--data-urlencode 'job={"action":"noop","inputs":["k{}"]}' "$CROWD_URL/jobs" >"$STACK_DIR/killed.out"
is "$(sort "$STACK_DIR/killed.out" | uniq -c | awk '{print $1" "$2}')" "12 200" \
	"after the server closed the pool's connections, 12 POST /jobs (a transaction each) all answer 200"
check "503s were logged with the database's message" \
	grep -q "error: could not create the job: .*Can't connect" "$STACK_DIR/log/server.log"

done_testing
