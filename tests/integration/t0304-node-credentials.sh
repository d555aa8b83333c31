#!/usr/bin/env bash
# t0304-node-credentials: node_login/node_password apart from the clients'
# login (stack/start.sh --node-auth). nginx takes only the node credentials
# on the routes of nodes and workers (PUT and DELETE /node/HOST:PORT, PUT
# /work/ID) and only the clients' on every other route; the node takes only
# the node credentials. Checked: both user files (0640) and the map in the
# generated nginx.conf; a real node checks in, central sends it work and its
# worker reports, so jobs run end to end; the client credential is refused
# (401) on every node route, central's and the node's own, and changes
# nothing in the database; the node credential cannot post a job or read
# central's status; a node configured with only the client credential
# cannot check in; `crowd server start` makes the same nginx setup. The
# single login doing everything (no node_* keys) is t0001's --auth part,
# t0301's node auth and t0701.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --node-auth --nodes 1 --set check_in_interval=1 --set work_unit_retries=1

NODE=127.0.0.1:$NODE_PORT
CLIENT=(-u "$CROWD_LOGIN:$CROWD_PASSWORD")
NODE_CRED=(-u "$CROWD_NODE_LOGIN:$CROWD_NODE_PASSWORD")
# code METHOD URL [curl args]: the HTTP status only.
code() {
	local m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$m" "$@" "$u"
}

# --- the stack -------------------------------------------------------------
conf=$CROWD_CONF/crowd.conf
is "$CROWD_AUTH" yes "env: CROWD_AUTH=yes with --node-auth"
check "env: the node login differs from the client login" test "$CROWD_NODE_LOGIN" != "$CROWD_LOGIN"
check "crowd.conf: node_login" grep -qx "node_login = $CROWD_NODE_LOGIN" "$conf"
check "crowd.conf: node_password" grep -qx "node_password = $CROWD_NODE_PASSWORD" "$conf"
is "$(stat -c %a "$CROWD_CONF/htpasswd") $(stat -c %a "$CROWD_CONF/htpasswd-node")" "640 640" \
	"both user files are mode 0640"
is "$(cut -d: -f1 "$CROWD_CONF/htpasswd") $(cut -d: -f1 "$CROWD_CONF/htpasswd-node")" \
	"$CROWD_LOGIN $CROWD_NODE_LOGIN" "one user each: the clients' and the nodes'"
# shellcheck disable=SC2016 # nginx's variables, literally
check "nginx.conf: the map picks the user file per route" \
	grep -q 'map "$request_method $request_uri" $crowd_auth_file {' "$CROWD_CONF/nginx.conf"
check "nginx accepts its generated config" \
	nginx -t -q -p "$STACK_DIR" -c "$CROWD_CONF/nginx.conf" -e "$STACK_DIR/log/nginx-test.out"
is "$(sql "SELECT COUNT(*) FROM node_records WHERE host = '$NODE'")" 1 \
	"the node checked in with the node credentials"

# --- jobs run end to end -----------------------------------------------------
# central sends POST /work with the node credentials, the worker reports
# with them; the job is posted and read with the client credential.
post_job '{"action":"noop","inputs":["a","b","c"]}'
is "$STATUS" 200 "POST /jobs with the client credential"
if wait_job "$ID" 60; then
	is "$(jq -r .status <<<"$JOB")" succeeded "the job ran on the node and succeeded"
	is "$(jq -c '.outputs | sort' <<<"$JOB")" '["a","b","c"]' "with every unit's output"
else
	not_ok "the job completes (dispatch to the node, the worker's reports)"
	not_ok "with every unit's output"
fi
check "the node's worker reported with the node credentials" \
	grep -q 'unit [0-9]*: reported succeeded' "$STACK_DIR/log/node-$NODE_PORT.log"

# --- the client credential on the node routes --------------------------------
code_is() { is "$(code "$@")" 401 "$1 ${2#"$CROWD_URL"} with the client credential: 401"; }
code_is PUT "$CROWD_URL/node/127.0.0.1:1" "${CLIENT[@]}" --data 'busy=false&max_workers=4'
is "$(sql "SELECT COUNT(*) FROM node_records WHERE host = '127.0.0.1:1'")" 0 \
	"no node 127.0.0.1:1 was checked in"
code_is DELETE "$CROWD_URL/node/$NODE" "${CLIENT[@]}"
is "$(sql "SELECT COUNT(*) FROM node_records WHERE host = '$NODE'")" 1 \
	"the real node is still checked in"
# a unit held by the node: a report with the client credential (and the
# unit's own token and pid) does not reach the pool
post_job '{"action":"slow_noop","inputs":["held"],"options":{"sleep":4}}'
HELD=$ID
uid() { sql "SELECT id FROM work_units WHERE job_id = $HELD AND worker_pid IS NOT NULL"; }
# shellcheck disable=SC2317 # called through wait_until
assigned() { [[ -n $(uid) ]]; }
if wait_until 20 assigned; then
	U=$(uid)
	row() { sql "SELECT status, attempts, COALESCE(output, '-'), worker_pid, token FROM work_units WHERE id = $U"; }
	before=$(row)
	pid=$(sql "SELECT worker_pid FROM work_units WHERE id = $U")
	token=$(sql "SELECT token FROM work_units WHERE id = $U")
	code_is PUT "$CROWD_URL/work/$U" "${CLIENT[@]}" \
		--data "pid=$pid&id=$U&time=1&status=succeeded&output=forged&token=$token"
	is "$(row)" "$before" "the unit's row is unchanged"
	if wait_job "$HELD" 30; then
		is "$(jq -c '[.status, .outputs]' <<<"$JOB")" '["succeeded",["held"]]' \
			"the node's own report still lands (not the forged output)"
	else
		not_ok "the held job completes"
	fi
else
	not_ok "a unit of the slow job is assigned to the node"
fi
# the node credential passes nginx on the same routes (the pool answers)
c=$(code PUT "$CROWD_URL/work/999999999" "${NODE_CRED[@]}" --data 'status=succeeded')
like "$c" '^(400|404|409)$' "PUT /work/999999999 with the node credential reaches the pool ($c)"

# --- the node credential on the client routes --------------------------------
jobs_before=$(sql 'SELECT COUNT(*) FROM jobs')
is "$(code POST "$CROWD_URL/jobs" "${NODE_CRED[@]}" --data-urlencode 'job={"action":"noop","inputs":["x"]}')" \
	401 "POST /jobs with the node credential: 401"
is "$(sql 'SELECT COUNT(*) FROM jobs')" "$jobs_before" "no job was created"
is "$(code GET "$CROWD_URL/status" "${NODE_CRED[@]}")" 401 "GET /status with the node credential: 401"
is "$(code GET "$CROWD_URL/jobs/$HELD" "${NODE_CRED[@]}")" 401 "GET /jobs/ID with the node credential: 401"
is "$(code GET "$CROWD_URL/heartbeat" "${CLIENT[@]}")" 200 "GET /heartbeat with the client credential: 200"

# --- the node's own port ------------------------------------------------------
NURL=http://$NODE
is "$(code GET "$NURL/heartbeat" "${CLIENT[@]}")" 401 "the node: GET /heartbeat with the client credential: 401"
is "$(code POST "$NURL/work" "${CLIENT[@]}" --data 'work_unit={}')" 401 \
	"the node: POST /work with the client credential: 401"
is "$(code GET "$NURL/heartbeat" "${NODE_CRED[@]}")" 200 "the node: GET /heartbeat with the node credential: 200"

# --- a node that has only the client credential --------------------------------
cdir=$STACK_DIR/conf-client-only
mkdir -p "$cdir"
grep -v -e '^node_login *=' -e '^node_password *=' "$conf" >"$cdir/crowd.conf"
nodes_before=$(sql 'SELECT COUNT(*) FROM node_records')
out=$(timeout 30 "$BIN/crowd-node" -c "$cdir" -p 0 -H 127.0.0.1 2>&1)
rc=$?
is "$rc" 5 "a node configured with the client credential cannot check in (exit 5)"
like "$out" 'cannot check in with central.*HTTP 401' "it says central refused it (401)"
is "$(sql 'SELECT COUNT(*) FROM node_records')" "$nodes_before" "and no node record was made"

# --- crowd server start writes the same: both user files, the map ------------
# A second central on the stack's database, from a copy of its config.
sdir=$STACK_DIR/conf-server
SPORT=$(free_port)
mkdir -p "$sdir" "$STACK_DIR/run-server" "$STACK_DIR/log-server"
grep -v -e '^server_port *=' -e '^server_socket *=' -e '^pid_path *=' -e '^log_path *=' "$conf" |
	sed "1i server_port = $SPORT\nserver_socket = $STACK_DIR/run-server/pool.sock\npid_path = $STACK_DIR/run-server\nlog_path = $STACK_DIR/log-server" \
		>"$sdir/crowd.conf"
SURL=http://127.0.0.1:$SPORT
# stack/stop.sh knows only the stack's run/: stop this one at exit as well
trap 'rc=$?; "$BIN/crowd" -c "$sdir" server stop >/dev/null 2>&1; (exit $rc); _stack_cleanup' EXIT
if "$BIN/crowd" -c "$sdir" server start -d -l 127.0.0.1 >"$STACK_DIR/log/server-start.out" 2>&1; then
	ok "crowd server start -d with node credentials"
	r=$STACK_DIR/run-server
	is "$(stat -c %a "$r/htpasswd" 2>/dev/null) $(stat -c %a "$r/htpasswd-node" 2>/dev/null)" "640 640" \
		"crowd server: both user files, mode 0640"
	is "$(cut -d: -f1 "$r/htpasswd") $(cut -d: -f1 "$r/htpasswd-node")" \
		"$CROWD_LOGIN $CROWD_NODE_LOGIN" "crowd server: one user each"
	is "$(code GET "$SURL/heartbeat" "${CLIENT[@]}")" 200 "crowd server: GET /heartbeat with the client credential"
	is "$(code PUT "$SURL/node/127.0.0.1:1" "${CLIENT[@]}" --data 'busy=false')" 401 \
		"crowd server: PUT /node/... with the client credential: 401"
	is "$(code POST "$SURL/jobs" "${NODE_CRED[@]}" --data-urlencode 'job={"action":"noop","inputs":["x"]}')" \
		401 "crowd server: POST /jobs with the node credential: 401"
	c=$(code PUT "$SURL/work/999999999" "${NODE_CRED[@]}" --data 'status=succeeded')
	like "$c" '^(400|404|409)$' "crowd server: PUT /work/... with the node credential reaches the pool ($c)"
	"$BIN/crowd" -c "$sdir" server stop >>"$STACK_DIR/log/server-start.out" 2>&1
	is "$?" 0 "crowd server stop"
else
	not_ok "crowd server start -d with node credentials"
	sed 's/^/#   /' "$STACK_DIR/log/server-start.out" | tail -n 20
fi

done_testing
