#!/usr/bin/env bash
# stack/start.sh - bring up a private CloudCrowd-C stack under one folder:
# MariaDB (own datadir, socket, 127.0.0.1 port), the schema, crowd.conf,
# the actions folder, the crowd-server FastCGI pool, nginx in front of it,
# ccdistribute --loop and N node agents. Everything it writes stays inside
# DIR; ports not given are picked free (and claimed, so stacks started at
# the same moment never collide). Stop it with stack/stop.sh DIR.
#
# Usage: stack/start.sh DIR [options]
#   --nodes N          node agents to start (default 1)
#   --no-dispatcher    do not start ccdistribute --loop
#   --auth             http_authentication on (login crowd, random password)
#   --node-auth        --auth, and node credentials of their own (node_login
#                      crowd-node, random node_password): nginx takes only
#                      them on the node routes, only login on the others
#   --port P           nginx (central) port          (default: a free one)
#   --node-port P      first node port, then P+1 ... (default: free ones)
#   --mysql-port P     MariaDB TCP port on 127.0.0.1 (default: a free one)
#   --workers N        server_workers of the FastCGI pool (default 4)
#   --set KEY=VALUE    extra or overriding crowd.conf key (repeatable);
#                      database.KEY=VALUE for the [database] section
#   --variant V        build variant: release or asan (default $VARIANT or
#                      release): binaries from build/V/
#   --timeout S        readiness timeout per component (default 60)
# Writes DIR/env (sourceable): CROWD_URL CROWD_CONF CROWD_PORT NODE_PORTS
# NODE_PORT MYSQL_SOCKET MYSQL_PORT STACK_DIR BIN REPO VARIANT CROWD_AUTH
# CROWD_NODE_LOGIN CROWD_NODE_PASSWORD (what nodes send: node_login and
# node_password, or login and password without them)
# CROWD_LOGIN CROWD_PASSWORD CLOUD_CROWD_CONFIG.
set -euo pipefail

PROG=start
# shellcheck source=stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '/^# Usage:/,/^# CROWD_LOGIN/s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

DIR=""
NODES=1
DISPATCHER=1
AUTH=0
NODE_AUTH=0
PORT=""
NODE_PORT=""
MYSQL_PORT=""
WORKERS=4
VARIANT=${VARIANT:-release}
TIMEOUT=60
SETS=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
num_arg() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: '$2' is not a number"; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--nodes) need_arg "$@"; num_arg "$1" "$2"; NODES=$2; shift 2 ;;
	--no-dispatcher) DISPATCHER=0; shift ;;
	--auth) AUTH=1; shift ;;
	--node-auth) AUTH=1; NODE_AUTH=1; shift ;;
	--port) need_arg "$@"; num_arg "$1" "$2"; PORT=$2; shift 2 ;;
	--node-port) need_arg "$@"; num_arg "$1" "$2"; NODE_PORT=$2; shift 2 ;;
	--mysql-port) need_arg "$@"; num_arg "$1" "$2"; MYSQL_PORT=$2; shift 2 ;;
	--workers) need_arg "$@"; num_arg "$1" "$2"; WORKERS=$2; shift 2 ;;
	--set)
		need_arg "$@"
		[[ $2 =~ ^[a-z0-9_.]+= ]] || die "--set '$2': expected KEY=VALUE"
		SETS+=("$2")
		shift 2 ;;
	--variant) need_arg "$@"; VARIANT=$2; shift 2 ;;
	--timeout) need_arg "$@"; num_arg "$1" "$2"; TIMEOUT=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $DIR ]] || die "one stack folder only ('$DIR' and '$1')"
		DIR=$1
		shift ;;
	esac
done
[[ -n $DIR ]] || usage 2 >&2
[[ $VARIANT =~ ^[a-z0-9_]+$ ]] || die "bad --variant '$VARIANT'"

DIR=$(abspath "$DIR")
BUILD=$REPO/build/$VARIANT
BIN=$BUILD/bin
CONF=$DIR/conf
RUN=$DIR/run
LOG=$DIR/log
MYSQL_DIR=$DIR/mysql
MYSQL_SOCKET=$MYSQL_DIR/mysql.sock
SERVER_SOCKET=$RUN/crowd-server.sock
T0=$(date +%s.%N)

[[ $DIR != *[[:space:]]* ]] ||
	die "stack folder path has whitespace, which mariadb-install-db cannot handle: '$DIR'"
((${#MYSQL_SOCKET} < 100 && ${#SERVER_SOCKET} < 100)) ||
	die "stack folder path too long for unix sockets (108 bytes max): $DIR"

for tool in mariadb-install-db mariadbd mariadb mariadb-admin nginx curl ss htpasswd setsid; do
	command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] ||
		die "$tool not found: run 'make deps' (stack/deps.sh)"
done
PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$DIR" "$CONF" "$RUN" "$LOG" "$DIR/storage" "$DIR/tmp" \
	"$MYSQL_DIR/tmp" "$DIR/nginx/temp"

# One start.sh per folder at a time (fd 9 is closed in every process that
# spawn starts, so the lock ends with this script).
exec 9>"$RUN/.start.lock"
flock -n 9 || die "another stack/start.sh is starting a stack in $DIR"

# Refuse to start over a running stack.
for pf in "$RUN"/*.pid; do
	[[ -e $pf ]] || continue
	pid=$(read_pid "$pf")
	if [[ -n $pid ]] && pid_owned "$pid" "$DIR"; then
		die "a stack is already running in $DIR ($(basename "$pf" .pid), pid $pid); stop it first: stack/stop.sh $DIR"
	fi
	rm -f -- "$pf"
done
release_ports "$DIR" # claims left by a stack here that was never stopped

# From here on, a failure stops whatever was started.
STARTED=0
on_exit() {
	local rc=$?
	if ((rc != 0 && STARTED == 0)); then
		printf '%s %s: start failed; stopping what was started in %s\n' \
			"$(ts)" "$PROG" "$DIR" >&2
		"$STACK_LIB_DIR/stop.sh" "$DIR" >&2 || true
	fi
	exit "$rc"
}
trap on_exit EXIT

# ---- ports ---------------------------------------------------------------
NPORTS=$((NODES > 0 ? NODES : 1)) # node_port is set even with no nodes
take_given() {
	local what=$1 p=$2
	((p >= 1 && p <= 65535)) || die "$what $p: not a port"
	port_in_use "$p" && die "$what $p is in use: $(ss -Hltnp "sport = :$p" | head -n 1)"
	claim_port "$p" "$DIR" || die "$what $p is claimed by another stack ($(cat "$PORT_CLAIMS/$p/owner" 2>/dev/null))"
}
if [[ -z $PORT && -z $MYSQL_PORT && -z $NODE_PORT ]]; then
	base=$(claim_block $((2 + NPORTS)) "$DIR")
	PORT=$base
	MYSQL_PORT=$((base + 1))
	NODE_PORT=$((base + 2))
else
	if [[ -n $PORT ]]; then take_given "nginx port" "$PORT"; else PORT=$(claim_block 1 "$DIR"); fi
	if [[ -n $MYSQL_PORT ]]; then take_given "MariaDB port" "$MYSQL_PORT"; else MYSQL_PORT=$(claim_block 1 "$DIR"); fi
	if [[ -n $NODE_PORT ]]; then
		for ((i = 0; i < NPORTS; i++)); do take_given "node port" $((NODE_PORT + i)); done
	else
		NODE_PORT=$(claim_block "$NPORTS" "$DIR")
	fi
fi
NODE_PORTS=""
for ((i = 0; i < NODES; i++)); do NODE_PORTS+="${NODE_PORTS:+ }$((NODE_PORT + i))"; done
CROWD_URL=http://127.0.0.1:$PORT
# shellcheck disable=SC2034 # written to env via ${!v}
CROWD_PORT=$PORT
say "stack $DIR: nginx $PORT, MariaDB $MYSQL_PORT, nodes ${NODE_PORTS:-none} (variant $VARIANT)"

# ---- crowd.conf ----------------------------------------------------------
LOGIN=""
PASSWORD=""
if ((AUTH)); then
	LOGIN=crowd
	PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
TOP_KEYS=(central_server max_workers local_storage_path temp_storage_path
	log_path pid_path actions_path log_level check_in_interval
	node_expiry_intervals dispatch_interval retry_backoff node_host
	node_port server_workers server_socket server_port max_body_kb
	http_authentication login password)
((NODE_AUTH)) && TOP_KEYS+=(node_login node_password)
declare -A TOP=(
	[central_server]=$CROWD_URL
	[max_workers]=4
	[local_storage_path]=$DIR/storage
	[temp_storage_path]=$DIR/tmp
	[log_path]=$LOG
	[pid_path]=$RUN
	[actions_path]=$CONF/actions
	[log_level]=info
	[check_in_interval]=5
	[node_expiry_intervals]=3
	[dispatch_interval]=2
	[retry_backoff]=1
	[node_host]=127.0.0.1
	[node_port]=$NODE_PORT
	[server_workers]=$WORKERS
	[server_socket]=$SERVER_SOCKET
	[server_port]=$PORT
	[max_body_kb]=16384
	[http_authentication]=$([[ $AUTH == 1 ]] && echo yes || echo no)
	[login]=$LOGIN
	[password]=$PASSWORD
)
if ((NODE_AUTH)); then
	TOP[node_login]=crowd-node
	TOP[node_password]=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
DB_KEYS=(host port socket username password database)
declare -A DB=(
	[host]=127.0.0.1
	[port]=$MYSQL_PORT
	[socket]=$MYSQL_SOCKET
	[username]=root
	[password]=""
	[database]=cloud_crowd
)
for kv in "${SETS[@]}"; do
	k=${kv%%=*}
	v=${kv#*=}
	if [[ $k == database.* ]]; then
		k=${k#database.}
		[[ -v DB[$k] ]] || DB_KEYS+=("$k")
		DB[$k]=$v
	else
		[[ -v TOP[$k] ]] || TOP_KEYS+=("$k")
		TOP[$k]=$v
	fi
done
{
	printf '# crowd.conf of the private stack in %s, written by stack/start.sh.\n' "$DIR"
	printf '# Every key: lib/core/config.c (or any binary'"'"'s --help).\n'
	for k in "${TOP_KEYS[@]}"; do printf '%s = %s\n' "$k" "${TOP[$k]}"; done
	printf '\n[database]\n'
	for k in "${DB_KEYS[@]}"; do printf '%s = %s\n' "$k" "${DB[$k]}"; done
} >"$CONF/crowd.conf"
chmod 600 "$CONF/crowd.conf"
case ${TOP[http_authentication]} in
yes | true | on | 1) AUTH=1 ;;
*) AUTH=0 ;;
esac
LOGIN=${TOP[login]}
PASSWORD=${TOP[password]}
NODE_LOGIN=${TOP[node_login]:-}
NODE_PASSWORD=${TOP[node_password]:-}
NODE_AUTH=$((AUTH && ${#NODE_LOGIN} && ${#NODE_PASSWORD} ? 1 : 0))
MAX_BODY_KB=${TOP[max_body_kb]}
WORKERS=${TOP[server_workers]}
say "wrote $CONF/crowd.conf${SETS[*]:+ (with --set ${SETS[*]})}"

# ---- actions folder ------------------------------------------------------
ACTIONS=$CONF/actions
rm -rf -- "$ACTIONS"
mkdir -p "$ACTIONS"
nactions=0
for src in "$REPO"/actions/*/; do
	[[ -d $src ]] || continue
	name=$(basename "$src")
	if [[ ! $name =~ ^[a-z0-9_]+$ ]]; then
		warn "actions/$name: name is not [a-z0-9_]+, skipped"
		continue
	fi
	mkdir "$ACTIONS/$name"
	for f in "$src"*; do
		[[ -e $f ]] || continue
		case $f in *.c | *.h | *.o | *.d) continue ;; esac
		ln -s "$f" "$ACTIONS/$name/$(basename "$f")"
	done
	for stage in split process merge; do
		[[ -f $src$stage.c ]] || continue
		if [[ -x $BUILD/actions/$name/$stage ]]; then
			ln -sfn "$BUILD/actions/$name/$stage" "$ACTIONS/$name/$stage"
		else
			warn "actions/$name/$stage.c is not built ($BUILD/actions/$name/$stage missing): run make"
		fi
	done
	nactions=$((nactions + 1))
done
say "actions folder: $nactions action(s) in $ACTIONS${nactions:+: $(cd "$ACTIONS" && echo * | tr ' ' ',')}"

# ---- MariaDB -------------------------------------------------------------
MYSQL_OPTS=(
	--no-defaults
	--datadir="$MYSQL_DIR/data"
	--innodb-log-file-size=16M
	--innodb-buffer-pool-size=64M
)
MYSQLD_OPTS=(
	"${MYSQL_OPTS[@]}"
	--socket="$MYSQL_SOCKET"
	--port="$MYSQL_PORT"
	--bind-address=127.0.0.1
	--pid-file="$MYSQL_DIR/mariadbd.pid"
	--log-error="$LOG/mariadb.err"
	--tmpdir="$MYSQL_DIR/tmp"
	--skip-name-resolve
	--character-set-server=utf8mb4
	--collation-server=utf8mb4_bin
	--max-connections=500
	--innodb-flush-log-at-trx-commit=2
	--innodb-doublewrite=0
	--skip-log-bin
)
if ((EUID == 0)); then
	MYSQL_OPTS+=(--user=root)
	MYSQLD_OPTS+=(--user=root)
fi
if [[ ! -d $MYSQL_DIR/data/mysql ]]; then
	rm -rf -- "$MYSQL_DIR/data"
	say "MariaDB: mariadb-install-db into $MYSQL_DIR/data"
	if ! mariadb-install-db "${MYSQL_OPTS[@]}" --skip-name-resolve --skip-test-db \
		--auth-root-authentication-method=normal >"$LOG/mariadb-install.out" 2>&1; then
		tail_log "$LOG/mariadb-install.out"
		die "mariadb-install-db failed"
	fi
fi
rm -f -- "$MYSQL_SOCKET"
spawn mariadb "$RUN/mariadb.pid" "$LOG/mariadb.out" mariadbd "${MYSQLD_OPTS[@]}"
wait_ready MariaDB "$RUN/mariadb.pid" "$LOG/mariadb.err" "$TIMEOUT" \
	mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping ||
	die "MariaDB did not start (log: $LOG/mariadb.err)"
say "MariaDB ready: socket $MYSQL_SOCKET, 127.0.0.1:$MYSQL_PORT"

# The schema: loaded into a new database, or again when the database holds
# another schema version than sql/schema.sql (that drops its data).
SCHEMA=$REPO/sql/schema.sql
[[ -r $SCHEMA ]] || die "$SCHEMA missing"
want=$(sed -n "s/.*INSERT INTO schema_migrations.*VALUES *( *'\([^']*\)'.*/\1/p" "$SCHEMA" | tail -n 1)
DBNAME=${DB[database]}
mysql_client "$MYSQL_SOCKET" -e "CREATE DATABASE IF NOT EXISTS \`$DBNAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
	die "cannot create database $DBNAME"
have=$(mysql_client "$MYSQL_SOCKET" -N -B "$DBNAME" -e "SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1" 2>/dev/null || true)
if [[ -z $have || $have != "$want" ]]; then
	[[ -n $have ]] && say "schema version $have in the database, $want in $SCHEMA: reloading (drops the data)"
	mysql_client "$MYSQL_SOCKET" "$DBNAME" <"$SCHEMA" >"$LOG/schema.out" 2>&1 || {
		tail_log "$LOG/schema.out"
		die "loading $SCHEMA failed"
	}
	say "schema loaded: $SCHEMA (version ${want:-?})"
else
	say "schema version $have already loaded; data kept"
fi

# ---- crowd-server (FastCGI pool) -------------------------------------------
missing() {
	printf '%s %s: WARNING: ************************************************\n' "$(ts)" "$PROG" >&2
	printf '%s %s: WARNING: %s is missing (run make): %s\n' "$(ts)" "$PROG" "$1" "$2" >&2
	printf '%s %s: WARNING: ************************************************\n' "$(ts)" "$PROG" >&2
}
HAVE_SERVER=0
if [[ -x $BIN/crowd-server ]]; then
	rm -f -- "$SERVER_SOCKET"
	spawn crowd-server "$RUN/crowd-server.pid" "$LOG/crowd-server.out" \
		"$BIN/crowd-server" -c "$CONF"
	wait_ready crowd-server "$RUN/crowd-server.pid" "$LOG/crowd-server.out" "$TIMEOUT" \
		test -S "$SERVER_SOCKET" || die "crowd-server did not start (logs: $LOG/crowd-server.out, $LOG/server.log)"
	HAVE_SERVER=1
	say "crowd-server ready: $SERVER_SOCKET ($WORKERS workers)"
else
	missing "$BIN/crowd-server" "no central server; nginx will answer 502"
fi

# ---- nginx -----------------------------------------------------------------
NGINX_CONF=$CONF/nginx.conf
TEMPLATE=$REPO/nginx/crowd.conf.in
[[ -r $TEMPLATE ]] || die "$TEMPLATE missing"
tpl=$(<"$TEMPLATE")
if ((EUID == 0)); then
	user_line="user root;  # workers must reach the pool's socket"
else
	user_line="# (not root: workers run as $(id -un))"
fi
# As cli_nginx_auth (cli/nginxconf.c) makes them: keep the two in step.
auth_map=$'\t# (http_authentication is off)'
auth_block=$'\t\t# (http_authentication is off)'
make_htpasswd() { # FILE LOGIN PASSWORD
	htpasswd -c -b -m "$1" "$2" "$3" >/dev/null 2>"$LOG/htpasswd.out" ||
		{ tail_log "$LOG/htpasswd.out"; die "htpasswd failed"; }
	chmod 640 "$1" # nginx's group may read it, nobody else
}
rm -f -- "$CONF/htpasswd-node"
if ((AUTH)); then
	[[ -n $LOGIN && -n $PASSWORD ]] || die "http_authentication needs login and password"
	make_htpasswd "$CONF/htpasswd" "$LOGIN" "$PASSWORD"
	auth_map=$'\t# (no node_login: one login for every route)'
	auth_block=$'\t\tauth_basic "CloudCrowd";\n\t\tauth_basic_user_file "'"$CONF/htpasswd\";"
fi
if ((NODE_AUTH)); then
	make_htpasswd "$CONF/htpasswd-node" "$NODE_LOGIN" "$NODE_PASSWORD"
	auth_map=$'\tmap "$request_method $request_uri" $crowd_auth_file {\n'
	auth_map+=$'\t\t"~^(PUT|DELETE) [^?]*/node/[^/?]+([?]|$)" "'"$CONF/htpasswd-node"$'";\n'
	auth_map+=$'\t\t"~^PUT [^?]*/work/[^/?]+([?]|$)" "'"$CONF/htpasswd-node"$'";\n'
	auth_map+=$'\t\tdefault "'"$CONF/htpasswd"$'";\n\t}'
	auth_block=$'\t\tauth_basic "CloudCrowd";\n\t\tauth_basic_user_file $crowd_auth_file;'
fi
keepalive=$((WORKERS / 2))
if ((keepalive > 0)); then
	ka_block=$'\t\tkeepalive '"$keepalive"$';\n\t\tkeepalive_timeout 5s;'
	kc_block=$'\t\t\tfastcgi_keep_conn on;'
else
	ka_block=$'\t\t# (one pool process: no keep-alive, it would hold the only process)'
	kc_block=$'\t\t\t# (fastcgi_keep_conn off)'
fi
tpl=${tpl//@USER_LINE@/$user_line}
tpl=${tpl//@RUN_DIR@/$RUN}
tpl=${tpl//@LOG_DIR@/$LOG}
tpl=${tpl//@TEMP_DIR@/$DIR/nginx/temp}
tpl=${tpl//@MAX_BODY_KB@/$MAX_BODY_KB}
tpl=${tpl//@SOCKET@/$SERVER_SOCKET}
tpl=${tpl//@UPSTREAM_KEEPALIVE@/$ka_block}
tpl=${tpl//@KEEP_CONN@/$kc_block}
tpl=${tpl//@LISTEN@/127.0.0.1:$PORT}
tpl=${tpl//@AUTH_MAP@/$auth_map}
tpl=${tpl//@AUTH@/$auth_block}
tpl=${tpl//@STATIC_DIR@/$REPO/static}
left=$(grep -v '^[[:space:]]*#' <<<"$tpl" | grep -o '@[A-Z_]*@' | head -n 1 || true)
[[ -z $left ]] || die "$TEMPLATE: placeholder $left not filled in"
printf '%s\n' "$tpl" >"$NGINX_CONF"
NGINX=(nginx -p "$DIR" -c "$NGINX_CONF" -e "$LOG/nginx-error.log")
if ! "${NGINX[@]}" -t -q >"$LOG/nginx-test.out" 2>&1; then
	tail_log "$LOG/nginx-test.out"
	die "nginx rejects $NGINX_CONF"
fi
spawn nginx "$RUN/nginx.pid" "$LOG/nginx.out" "${NGINX[@]}" -g 'daemon off;'
CURL_AUTH=()
((AUTH)) && CURL_AUTH=(-u "$LOGIN:$PASSWORD")
# What nodes send and take (cc_config_node_login): node_login, else login.
if ((!NODE_AUTH)); then
	NODE_LOGIN=$LOGIN
	NODE_PASSWORD=$PASSWORD
fi
CURL_NODE_AUTH=()
((AUTH)) && CURL_NODE_AUTH=(-u "$NODE_LOGIN:$NODE_PASSWORD")
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${CURL_AUTH[@]}" "$1" 2>/dev/null || true
}
nginx_answers() { [[ $(http_code "$CROWD_URL/heartbeat") != 000 ]]; }
heartbeat() { [[ $(curl -s --max-time 2 "${CURL_AUTH[@]}" "$1/heartbeat" 2>/dev/null) == buh-bump ]]; }
node_heartbeat() { [[ $(curl -s --max-time 2 "${CURL_NODE_AUTH[@]}" "$1/heartbeat" 2>/dev/null) == buh-bump ]]; }
wait_ready nginx "$RUN/nginx.pid" "$LOG/nginx-error.log" "$TIMEOUT" nginx_answers ||
	die "nginx did not start (logs: $LOG/nginx-error.log, $LOG/nginx.out)"
if ((HAVE_SERVER)); then
	wait_ready "central heartbeat" "$RUN/crowd-server.pid" "$LOG/crowd-server.out" "$TIMEOUT" \
		heartbeat "$CROWD_URL" || { tail_log "$LOG/nginx-error.log" 10; die "GET $CROWD_URL/heartbeat is not buh-bump"; }
	say "central ready: $CROWD_URL/heartbeat says buh-bump"
else
	say "nginx ready: $CROWD_URL (502 until crowd-server exists)"
fi

# ---- ccdistribute --loop -------------------------------------------------
# No readiness signal of its own: it must still be running a moment later
# (a bad config or database makes it exit at once).
still_running() {
	local pid i
	pid=$(read_pid "$1")
	for ((i = 0; i < 10; i++)); do
		pid_alive "$pid" || return 1
		sleep 0.05
	done
}
if ((DISPATCHER)); then
	if [[ -x $BIN/ccdistribute ]]; then
		spawn ccdistribute "$RUN/ccdistribute.pid" "$LOG/ccdistribute.out" \
			"$BIN/ccdistribute" -c "$CONF" --loop
		still_running "$RUN/ccdistribute.pid" || {
			tail_log "$LOG/ccdistribute.out"
			die "ccdistribute --loop exited at once"
		}
		say "ccdistribute --loop running (every ${TOP[dispatch_interval]} s)"
	else
		missing "$BIN/ccdistribute" "no dispatcher loop"
	fi
fi

# ---- nodes -----------------------------------------------------------------
node_registered() {
	[[ $(mysql_client "$MYSQL_SOCKET" -N -B "$DBNAME" \
		-e "SELECT COUNT(*) FROM node_records WHERE host = '127.0.0.1:$1'") -ge 1 ]]
}
node_ready() { node_heartbeat "http://127.0.0.1:$1" && node_registered "$1"; }
if ((NODES > 0)); then
	if [[ ! -x $BIN/crowd-node ]]; then
		missing "$BIN/crowd-node" "no node agents"
	elif ((!HAVE_SERVER)); then
		warn "no central server: node agents not started (they need central to register)"
	else
		for p in $NODE_PORTS; do
			spawn "node $p" "$RUN/node-$p.pid" "$LOG/node-$p.out" \
				"$BIN/crowd-node" -c "$CONF" -p "$p" -H 127.0.0.1
		done
		for p in $NODE_PORTS; do
			wait_ready "node $p" "$RUN/node-$p.pid" "$LOG/node-$p.out" "$TIMEOUT" node_ready "$p" ||
				die "node agent on port $p did not come up (logs: $LOG/node-$p.out, $LOG/node-$p.log)"
		done
		say "nodes ready and registered: $NODE_PORTS"
	fi
fi

# ---- env -------------------------------------------------------------------
{
	printf '# Source me: the private CloudCrowd-C stack in %s\n' "$DIR"
	for v in CROWD_URL CROWD_PORT NODE_PORTS NODE_PORT MYSQL_SOCKET MYSQL_PORT \
		STACK_DIR BIN REPO VARIANT CROWD_AUTH CROWD_LOGIN CROWD_PASSWORD \
		CROWD_NODE_LOGIN CROWD_NODE_PASSWORD; do
		case $v in
		STACK_DIR) val=$DIR ;;
		CROWD_AUTH) val=$([[ $AUTH == 1 ]] && echo yes || echo no) ;;
		CROWD_LOGIN) val=$LOGIN ;;
		CROWD_PASSWORD) val=$PASSWORD ;;
		CROWD_NODE_LOGIN) val=$NODE_LOGIN ;;
		CROWD_NODE_PASSWORD) val=$NODE_PASSWORD ;;
		*) val=${!v} ;;
		esac
		printf 'export %s=%q\n' "$v" "$val"
	done
	printf 'export CROWD_CONF=%q\n' "$CONF"
	printf 'export CLOUD_CROWD_CONFIG=%q\n' "$CONF"
} >"$DIR/env.tmp"
chmod 600 "$DIR/env.tmp"
mv -f "$DIR/env.tmp" "$DIR/env"
STARTED=1
T1=$(date +%s.%N)
say "stack up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s: $CROWD_URL (source $DIR/env; stop: stack/stop.sh $DIR)"
