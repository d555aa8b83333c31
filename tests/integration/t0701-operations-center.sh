#!/usr/bin/env bash
# t0701-operations-center: the Operations Center in a real browser
# (headless Debian chromium driven by playwright-core,
# tests/browser/operations_center.test.js) against real stacks:
#  1. two real nodes: while a slow job runs the counts change, both nodes
#     and their workers appear, a click on a worker shows its unit, the
#     progress bar reaches 100 %; a job made with the form completes; a
#     blacklisted action shows and is removed; the "disconnected" banner
#     shows when the FastCGI pool is stopped (SIGSTOP, then SIGTERM) and
#     goes when it is back. Then (errors mode) the empty charts of a
#     first load have a real time axis, the log names its central host, and
#     with MariaDB stopped the banner and a fresh load of the page say "The
#     database is unavailable" in MariaDB's words (an HTML page, not JSON),
#     and the page comes back by itself when MariaDB does.
#  2. with HTTP basic auth: 401 without credentials, the page works with
#     them, also under a path prefix (a second nginx mounting it at
#     /crowd/), and stays fast with 10,000 jobs and 200 nodes.
# The browser's "ok - ..." / "not ok - ..." lines become this script's TAP
# lines. Screenshots go to build/$VARIANT/test-artifacts/t0701/ (listed
# as notes).
. "$(dirname "$0")/lib.sh"

BROWSER=$REPO/tests/browser
ART=$REPO/build/$VARIANT/test-artifacts/t0701
rm -rf -- "$ART"
mkdir -p "$ART"

# ---- chromium and playwright-core ------------------------------------------
if "$BROWSER/setup.sh" >"$ART/setup.out" 2>&1; then
	ok "tests/browser/setup.sh: /usr/bin/chromium and playwright-core are there"
else
	not_ok "tests/browser/setup.sh installs chromium and playwright-core"
	sed 's/^/#   /' "$ART/setup.out"
	done_testing
fi
diag "$(/usr/bin/chromium --version 2>/dev/null | head -n 1); node $(node --version)"

# run_browser MODE [VAR=VALUE...]: runs the browser script with OC_MODE=MODE
# and the given environment; its result lines become TAP lines here.
run_browser() {
	local mode=$1 line rc=""
	shift
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "[$mode] ${line#ok - }" ;;
		"not ok - "*) not_ok "[$mode] ${line#not ok - }" ;;
		"#"*) printf '%s\n' "$line" ;;
		"__exit "*) rc=${line#__exit } ;;
		*) diag "$line" ;;
		esac
	done < <(
		env OC_MODE="$mode" OC_ARTIFACTS="$ART" "$@" \
			timeout -k 5 300 node "$BROWSER/operations_center.test.js" 2>&1
		echo "__exit $?"
	)
	case $rc in
	0 | 1 | 2) ;;   # 1, 2: the script said what failed
	*) not_ok "[$mode] the browser script ends (exit status ${rc:-none}${rc:+; 124 = timed out})" ;;
	esac
}

# The pool control script the browser test calls: stop | cont | kill |
# start the crowd-server process group (started with setsid by
# stack/start.sh, so its pid is its group id); start does what start.sh
# does and waits for the heartbeat.
write_pool_script() {
	cat >"$STACK_DIR/pool.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
. "$(dirname "$0")/env"
pidf=$STACK_DIR/run/crowd-server.pid
sock=$(sed -n 's/^server_socket *= *//p' "$CROWD_CONF/crowd.conf")
auth=()
[[ $CROWD_AUTH == yes ]] && auth=(-u "$CROWD_LOGIN:$CROWD_PASSWORD")
pid=$(cat "$pidf" 2>/dev/null || true)
case $1 in
stop) kill -STOP -- "-$pid" ;;
cont) kill -CONT -- "-$pid" ;;
kill)
	kill -TERM -- "-$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
	echo "pool.sh: crowd-server $pid did not exit" >&2
	exit 1 ;;
start)
	rm -f -- "$sock" "$pidf"
	setsid bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
		"$pidf" "$BIN/crowd-server" -c "$CROWD_CONF" </dev/null >>"$STACK_DIR/log/crowd-server.out" 2>&1 &
	disown
	for ((i = 0; i < 200; i++)); do
		[[ $(curl -s --max-time 2 "${auth[@]}" "$CROWD_URL/heartbeat") == buh-bump ]] && exit 0
		sleep 0.1
	done
	echo "pool.sh: no heartbeat after restart" >&2
	exit 1 ;;
*) echo "usage: pool.sh stop|cont|kill|start" >&2; exit 2 ;;
esac
EOF
	chmod +x "$STACK_DIR/pool.sh"
}

# The MariaDB control script the browser test calls: stop (SIGTERM, wait
# for the exit) | start (as stack/start.sh started it, t0801's way: the
# same command line, saved from /proc while it ran).
write_db_script() {
	cp "/proc/$(cat "$STACK_DIR/run/mariadb.pid")/cmdline" "$STACK_DIR/mariadb.argv"
	cat >"$STACK_DIR/db.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
. "$(dirname "$0")/env"
pidf=$STACK_DIR/run/mariadb.pid
case $1 in
stop)
	pid=$(cat "$pidf")
	kill -TERM "$pid"
	for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
	echo "db.sh: MariaDB $pid did not exit" >&2
	exit 1 ;;
start)
	mapfile -d '' -t argv <"$STACK_DIR/mariadb.argv"
	rm -f -- "$MYSQL_SOCKET"
	setsid "${argv[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
	echo $! >"$pidf"
	disown
	for ((i = 0; i < 600; i++)); do
		mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping >/dev/null 2>&1 && exit 0
		sleep 0.1
	done
	echo "db.sh: MariaDB did not start" >&2
	exit 1 ;;
*) echo "usage: db.sh stop|start" >&2; exit 2 ;;
esac
EOF
	chmod +x "$STACK_DIR/db.sh"
}

node_hosts() {
	local p hosts=""
	for p in $NODE_PORTS; do hosts+="${hosts:+ }127.0.0.1:$p"; done
	printf '%s\n' "$hosts"
}

# ---- 1. two real nodes ---------------------------------------------------------
stack_up --nodes 2
http GET /
is "$STATUS" 200 "GET / answers the Operations Center"
like "$BODY" 'static/js/operations_center\.js' "... which loads static/js/operations_center.js"
for f in js/operations_center.js css/operations_center.css vendor/uplot/uPlot.iife.min.js \
	vendor/uplot/uPlot.min.css images/cloudcrowd.svg; do
	http GET "/static/$f"
	is "$STATUS" 200 "nginx serves static/$f"
done
write_pool_script
run_browser full \
	OC_URL="$CROWD_URL" OC_NODES="$(node_hosts)" \
	OC_POOL_STOP="$STACK_DIR/pool.sh stop" OC_POOL_CONT="$STACK_DIR/pool.sh cont" \
	OC_POOL_KILL="$STACK_DIR/pool.sh kill" OC_POOL_START="$STACK_DIR/pool.sh start" \
	OC_LINK_URL="$CROWD_URL/static/images/cloudcrowd.svg"
"$STACK_DIR/pool.sh" cont 2>/dev/null || true   # never leave it stopped
http GET /heartbeat
is "$BODY" buh-bump "central answers after the browser test (pool restarted)"
write_db_script
run_browser errors \
	OC_URL="$CROWD_URL" OC_NODES="$(node_hosts)" \
	OC_DB_STOP="$STACK_DIR/db.sh stop" OC_DB_START="$STACK_DIR/db.sh start"
mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping >/dev/null 2>&1 ||
	"$STACK_DIR/db.sh" start    # never leave it stopped
check "central serves /status again after the database test" \
	wait_until 30 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$CROWD_URL/status') == 200 ]]"
stack_down

# ---- 2. basic auth, a path prefix, 10,000 jobs and 200 nodes -------------------
stack_up --auth --nodes 1
for p in / /status /jobs /static/js/operations_center.js; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$CROWD_URL$p")
	is "$code" 401 "with http_authentication, GET $p without credentials is 401"
done
run_browser noauth OC_URL="$CROWD_URL"
run_browser smoke OC_URL="$CROWD_URL" OC_LOGIN="$CROWD_LOGIN" OC_PASSWORD="$CROWD_PASSWORD" \
	OC_NODES="$(node_hosts)" OC_SHOT=auth

# The same central server mounted at /crowd/ by a second nginx: the
# stack's config with the locations moved and the prefix passed to the
# pool (fastcgi_param CROWD_PREFIX, which the router strips and the page
# gets as {{prefix}}).
pport=$(free_port)
pconf=$STACK_DIR/conf/nginx-prefix.conf
sed -e "s|listen 127.0.0.1:$CROWD_PORT;|listen 127.0.0.1:$pport;|" \
	-e 's|/run/nginx.pid"|/run/nginx-prefix.pid"|' \
	-e 's|location /static/ {|location /crowd/static/ {|' \
	-e 's|location / {|location /crowd/ {|' \
	-e 's|fastcgi_param SCRIPT_NAME *"";|fastcgi_param SCRIPT_NAME "/crowd"; fastcgi_param CROWD_PREFIX "/crowd";|' \
	"$CROWD_CONF/nginx.conf" >"$pconf"
nginx -p "$STACK_DIR" -c "$pconf" -e "$STACK_DIR/log/nginx-prefix-error.log" -g 'daemon off;' \
	>"$STACK_DIR/log/nginx-prefix.out" 2>&1 &
pnginx=$!
PURL=http://127.0.0.1:$pport/crowd
if wait_until 10 curl -sf -u "$CROWD_LOGIN:$CROWD_PASSWORD" -o /dev/null "$PURL/heartbeat"; then
	ok "a second nginx mounts central at $PURL/"
	http GET "$PURL/"
	like "$BODY" 'data-prefix="/crowd"' "GET /crowd/ renders the page with prefix /crowd"
	run_browser smoke OC_URL="$PURL" OC_LOGIN="$CROWD_LOGIN" OC_PASSWORD="$CROWD_PASSWORD" \
		OC_NODES="$(node_hosts)" OC_SHOT=prefix
else
	not_ok "a second nginx mounts central at $PURL/"
	sed 's/^/#   /' "$STACK_DIR/log/nginx-prefix-error.log" "$STACK_DIR/log/nginx-prefix.out" 2>/dev/null | tail -n 20
fi
kill "$pnginx" 2>/dev/null
wait "$pnginx" 2>/dev/null

# 10,000 finished jobs (100 of them still processing), 200 more nodes with
# two running units each (fake: loopback ports nobody listens on; leases
# and check-ins an hour ahead, so nothing expires or is dispatched).
sql "INSERT INTO jobs (status, inputs, action, options, outputs, time, created_at, updated_at)
     SELECT IF(seq % 100 = 0, 1, 2), '[\"x\"]', 'noop', '{}', IF(seq % 100 = 0, NULL, '[\"x\"]'),
            IF(seq % 100 = 0, NULL, seq / 1000), NOW(6) - INTERVAL (10000 - seq) SECOND, NOW(6)
     FROM seq_1_to_10000"
sql "INSERT INTO node_records (host, ip_address, port, enabled_actions, busy, tag, max_workers,
                               created_at, updated_at)
     SELECT CONCAT('127.0.0.1:', 40000 + seq), '127.0.0.1', 40000 + seq, 'noop', 0,
            CONCAT('bulk-tag-', seq % 13), 4, NOW(6), NOW(6) + INTERVAL 1 HOUR
     FROM seq_1_to_200"
sql "INSERT INTO work_units (status, job_id, input, action, attempts, node_record_id, worker_pid,
                             lease_until, created_at, updated_at)
     SELECT 1, (SELECT MAX(id) FROM jobs WHERE status = 1), '\"x\"', 'noop', 1, n.id,
            50000 + n.port - 40000 + 1000 * k.seq, NOW(6) + INTERVAL 1 HOUR, NOW(6), NOW(6)
     FROM node_records n JOIN seq_1_to_2 k WHERE n.host LIKE '127.0.0.1:4____'"
# the per-job unit counters the server keeps (and counts the queue from)
sql "UPDATE jobs j SET units_total = (SELECT COUNT(*) FROM work_units w WHERE w.job_id = j.id)
     WHERE j.status = 1"
njobs=$(sql "SELECT COUNT(*) FROM jobs")
nnodes=$(sql "SELECT COUNT(*) FROM node_records")
diag "bulk: $njobs jobs, $nnodes nodes, $(sql "SELECT COUNT(*) FROM work_units") units"
run_browser bulk OC_URL="$CROWD_URL" OC_LOGIN="$CROWD_LOGIN" OC_PASSWORD="$CROWD_PASSWORD" \
	OC_BULK_JOBS="$njobs" OC_BULK_NODES="$nnodes"

diag "screenshots: $(cd "$ART" && ls -- *.png 2>/dev/null | tr '\n' ' ')(in $ART)"
done_testing
