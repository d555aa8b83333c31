#!/usr/bin/env bash
# t0001-stack: the private stack itself (stack/start.sh, stack/stop.sh):
# MariaDB with the schema, crowd.conf, nginx (static files, body limit,
# basic auth, JSON errors), the central heartbeat when the server is built,
# two stacks side by side, and a stop that leaves nothing running.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# --- stack A: no dispatcher, no nodes, a small body limit ------------------
stack_up --no-dispatcher --nodes 0 --set max_body_kb=64
A=$STACK_DIR
ok "stack A started in $A"

for v in CROWD_URL CROWD_CONF CROWD_PORT MYSQL_SOCKET MYSQL_PORT STACK_DIR BIN REPO; do
	[[ -n ${!v:-} ]] || not_ok "env: $v is set"
done
like "$CROWD_URL" '^http://127\.0\.0\.1:[0-9]+$' "env: CROWD_URL is a loopback URL"
is "$NODE_PORTS" "" "env: no node ports with --nodes 0"

# MariaDB and the schema
is "$(sql 'SELECT 1')" 1 "MariaDB answers on $MYSQL_SOCKET"
is "$(mariadb --no-defaults -h 127.0.0.1 -P "$MYSQL_PORT" -u root -N -B -e 'SELECT 1' 2>&1)" 1 \
	"MariaDB answers on 127.0.0.1:$MYSQL_PORT"
addr=$(ss -Hltn "sport = :$MYSQL_PORT" | awk '{print $4}' | sort -u | tr '\n' ' ')
is "$addr" "127.0.0.1:$MYSQL_PORT " "MariaDB listens on 127.0.0.1 only"
want=$(sed -n "s/.*INSERT INTO schema_migrations.*VALUES *( *'\([^']*\)'.*/\1/p" "$REPO/sql/schema.sql")
is "$(sql 'SELECT version FROM schema_migrations')" "$want" "schema_migrations holds the schema version"
is "$(sql "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'cloud_crowd'")" \
	"black_listed_actions,jobs,node_records,schema_migrations,work_units" "every table exists"
is "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'cloud_crowd' AND (engine <> 'InnoDB' OR table_collation NOT LIKE 'utf8mb4%')")" \
	0 "every table is InnoDB, utf8mb4"
is "$(sql "SELECT default_character_set_name FROM information_schema.schemata WHERE schema_name = 'cloud_crowd'")" \
	utf8mb4 "database default charset is utf8mb4"

# crowd.conf and the actions folder
conf=$CROWD_CONF/crowd.conf
check "crowd.conf: central_server is CROWD_URL" grep -qx "central_server = $CROWD_URL" "$conf"
check "crowd.conf: --set max_body_kb=64 applied" grep -qx "max_body_kb = 64" "$conf"
check "crowd.conf: database socket" grep -qx "socket = $MYSQL_SOCKET" "$conf"
check "crowd.conf: paths inside the stack" grep -qx "log_path = $STACK_DIR/log" "$conf"
check "actions folder exists" test -d "$CROWD_CONF/actions"
is "$(stat -c %a "$STACK_DIR/run/crowd-server.sock")" 660 \
	"the pool's socket is mode 0660 (only nginx, of its user or group, reaches the pool)"
is "$(stat -c %a "$STACK_DIR/run/ccdistribute.sock" 2>/dev/null || echo none)" none \
	"with --no-dispatcher there is no wake socket"
for a in "$REPO"/actions/*/; do
	[[ -d $a ]] || continue
	n=$(basename "$a")
	if [[ -e $a/process || -e $a/process.c ]]; then
		check "action $n has its process stage in the config" test -e "$CROWD_CONF/actions/$n/process"
	fi
done

# nginx
addr=$(ss -Hltn "sport = :$CROWD_PORT" | awk '{print $4}' | sort -u | tr '\n' ' ')
is "$addr" "127.0.0.1:$CROWD_PORT " "nginx listens on 127.0.0.1 only"
check "nginx accepts its generated config" \
	nginx -t -q -p "$STACK_DIR" -c "$CROWD_CONF/nginx.conf" -e "$STACK_DIR/log/nginx-test.out"
static=$(cd "$REPO/static" 2>/dev/null && find . -type f ! -name '.*' | sort | head -n 1)
if [[ -n $static ]]; then
	static=${static#./}
	http GET "/static/$static"
	is "$STATUS" 200 "GET /static/$static"
	got=$(mktemp)
	curl -s -o "$got" "$CROWD_URL/static/$static"
	check "/static/ serves the repo's static/ folder byte for byte" cmp -s "$got" "$REPO/static/$static"
	rm -f -- "$got"
	for ext in css:text/css js:application/javascript svg:image/svg+xml png:image/png; do
		f=$(cd "$REPO/static" && find . -type f -name "*.${ext%%:*}" | sort | head -n 1)
		[[ -n $f ]] || continue
		http GET "/static/${f#./}"
		is "${CTYPE%%;*}" "${ext#*:}" "/static/ .${ext%%:*} files are ${ext#*:}"
	done
else
	not_ok "static/ holds files to serve (the Operations Center's css and js)"
fi
http GET /static/no-such-file.css
is "$STATUS" 404 "a missing static file is 404"

# a body over max_body_kb: nginx answers 413 with a JSON error
http POST /jobs -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "job=$(head -c 70000 /dev/zero | tr '\0' 'x')"
is "$STATUS" 413 "a body over max_body_kb is refused with 413"
like "$BODY" '"error"' "the 413 body is JSON with an error"

if [[ -x $BIN/crowd-server ]]; then
	http GET /heartbeat
	is "$STATUS" 200 "GET /heartbeat through nginx"
	is "$BODY" buh-bump "heartbeat says buh-bump"
else
	# make test builds it: missing is a failure, not a skip
	not_ok "build/$VARIANT/bin/crowd-server is built"
	http GET /heartbeat
	is "$STATUS" 502 "without the pool nginx answers 502"
	like "$BODY" '"error"' "the 502 body is JSON with an error"
fi

# --- stack B, at the same time: basic auth on ---------------------------
stack_up --no-dispatcher --nodes 0 --auth
B=$STACK_DIR
ok "stack B started beside stack A"
# shellcheck source=/dev/null
a_port=$(. "$A/env" && echo "$CROWD_PORT")
check "stacks A and B use different ports ($a_port, $CROWD_PORT)" test "$a_port" != "$CROWD_PORT"
is "$CROWD_AUTH" yes "env: CROWD_AUTH=yes with --auth"
check "crowd.conf: http_authentication on" grep -qx "http_authentication = yes" "$CROWD_CONF/crowd.conf"
code=$(curl -s -o /dev/null -w '%{http_code}' "$CROWD_URL/heartbeat")
is "$code" 401 "without credentials: 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$CROWD_LOGIN:wrong" "$CROWD_URL/static/x")
is "$code" 401 "wrong password, static route: 401"
http GET /heartbeat
if [[ -x $BIN/crowd-server ]]; then
	is "$BODY" buh-bump "with credentials: heartbeat"
else
	is "$STATUS" 502 "with credentials: past auth (502 without the pool)"
fi

# stop B now; A keeps running
"$REPO/stack/stop.sh" "$B" >>"$B/log/stop.out" 2>&1
is "$?" 0 "stack/stop.sh B exits 0"
is "$(pgrep -f "$B/" | tr '\n' ' ')" "" "no process of stack B left"
is "$(sql 'SELECT 1' 2>/dev/null)" "" "stack B's MariaDB is gone"
stack_use "$A"
is "$(sql 'SELECT 1')" 1 "stack A still runs after B stopped"

# --- stop A ---------------------------------------------------------------
"$REPO/stack/stop.sh" "$A" >>"$A/log/stop.out" 2>&1
is "$?" 0 "stack/stop.sh A exits 0"
is "$(pgrep -f "$A/" | tr '\n' ' ')" "" "no process of stack A left"
# shellcheck disable=SC2317 # called through check
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
check "nginx port $CROWD_PORT is free again" port_free "$CROWD_PORT"
check "MariaDB port $MYSQL_PORT is free again" port_free "$MYSQL_PORT"
is "$(cd "$A/run" && ls -- *.pid 2>/dev/null)" "" "no pid files left"
"$REPO/stack/stop.sh" "$A" >>"$A/log/stop.out" 2>&1
is "$?" 0 "stopping a stopped stack is fine"

done_testing
