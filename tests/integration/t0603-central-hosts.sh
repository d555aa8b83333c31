#!/usr/bin/env bash
# t0603-central-hosts: two central hosts sharing one MariaDB, deployed as
# the README's step 3 says, behind the README's front nginx; one host is
# SIGKILLed mid-job and started again.
#
# Each "host" (A and B) runs what its systemd units run - `crowd-server -c
# DIR` and `ccdistribute -c DIR --loop` - with a config folder of its own
# (pid_path, log_path, server_socket) on the stack's database, and an nginx
# on deploy/nginx/cloud-crowd.conf itself, substituted only in addresses,
# ports and paths: its public server (basic auth, on the host's own port)
# proxies to the crowd_central upstream, which lists both hosts' pool
# servers. The front is the ```nginx block of README.md's step 3, read
# from the README at run time (central1/central2.example.org:9173 -> the
# hosts' public ports, 9173 -> the front's port). Two nodes and every
# client use the front as central_server.
#
# Checks: a job posted through the front runs on both nodes while host A
# (its nginx, its pool and ccdistribute: the whole machine) is SIGKILLed;
# it completes with every output once, in order, and the API answers
# through the front throughout. Host A is started again the same way; it
# serves, and its dispatcher sends a new job's units. The deploy site's
# realm switch: "off" opens the routes without credentials.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --nodes 0 --no-dispatcher --auth --set max_workers=3 --set retry_backoff=1 \
	--set node_timeout=5
T=$STACK_DIR
FRONT=$(free_port)
declare -A PUB POOL
for h in a b; do PUB[$h]=$(free_port); POOL[$h]=$(free_port); done
NP1=$(free_port)
NP2=$(free_port)

cleanup_hosts() {
	local rc=$? h
	for h in a b; do host_down "$h" TERM; done
	[[ -f $T/front/nginx.pid ]] && kill -TERM "$(cat "$T/front/nginx.pid")" 2>/dev/null
	for p in "$NP1" "$NP2"; do
		"$BIN/crowd" -c "$T/conf-nodes" node stop -p "$p" >/dev/null 2>&1
	done
	(exit "$rc")
	_stack_cleanup
}
trap cleanup_hosts EXIT

# ---- the hosts: config, the deploy site, pool and dispatcher ----------------------
htpasswd -c -b -B "$T/htpasswd" "$CROWD_LOGIN" "$CROWD_PASSWORD" 2>/dev/null
chmod 640 "$T/htpasswd"
for h in a b; do
	conf_copy "$h" "pid_path=$T/conf-$h/run" "log_path=$T/conf-$h/log" \
		"server_socket=$T/conf-$h/run/crowd-server.sock" \
		"central_server=http://127.0.0.1:$FRONT" >/dev/null
	mkdir -p "$T/conf-$h/nginx" "$T/conf-$h/run" "$T/conf-$h/log"
	sed -e "s|listen 9173;|listen 127.0.0.1:${PUB[$h]};|; s|listen 9174;|listen 127.0.0.1:${POOL[$h]};|" \
		-e '/listen \[::\]/d' \
		-e "s|central1.example.org:9174|127.0.0.1:${POOL[a]}|; s|central2.example.org:9174|127.0.0.1:${POOL[b]}|" \
		-e "s|unix:/run/cloud-crowd/crowd-server.sock|unix:$T/conf-$h/run/crowd-server.sock|" \
		-e "s|/etc/nginx/cloud-crowd-node.htpasswd|$T/htpasswd|; s|/etc/nginx/cloud-crowd.htpasswd|$T/htpasswd|" \
		-e "s|/var/log/nginx/|$T/conf-$h/nginx/|; s|/opt/cloud-crowd/static/|$REPO/static/|" \
		"$REPO/deploy/nginx/cloud-crowd.conf" >"$T/conf-$h/nginx/site.conf"
	printf 'user root;\npid %s/nginx.pid;\nevents {}\nhttp {\n\tinclude /etc/nginx/mime.types;\n\tinclude %s/site.conf;\n}\n' \
		"$T/conf-$h/nginx" "$T/conf-$h/nginx" >"$T/conf-$h/nginx/nginx.conf"
done

# host_up H: start host H as its systemd units and nginx would
host_up() {
	local h=$1
	setsid "$BIN/crowd-server" -c "$T/conf-$h" </dev/null >>"$T/conf-$h/log/crowd-server.out" 2>&1 &
	echo $! >"$T/conf-$h/server.pid"
	setsid "$BIN/ccdistribute" -c "$T/conf-$h" --loop </dev/null >>"$T/conf-$h/log/ccdistribute.out" 2>&1 &
	echo $! >"$T/conf-$h/dispatcher.pid"
	nginx -p "$T/conf-$h/nginx" -c "$T/conf-$h/nginx/nginx.conf" -e "$T/conf-$h/nginx/error.log" \
		>>"$T/conf-$h/log/nginx.out" 2>&1
	wait_until 30 bash -c "[[ \$(curl -s -u '$CROWD_LOGIN:$CROWD_PASSWORD' http://127.0.0.1:${PUB[$h]}/heartbeat) == buh-bump ]]"
}

# host_down H SIG: every process of host H (nginx, the pool and its
# children, ccdistribute) gets SIG at once
host_down() {
	local h=$1 sig=$2 pids=() f p
	for f in "$T/conf-$h/nginx/nginx.pid" "$T/conf-$h/server.pid" "$T/conf-$h/dispatcher.pid"; do
		[[ -f $f ]] || continue
		p=$(cat "$f")
		pids+=("$p")
		mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$p")
	done
	((${#pids[@]})) && kill "-$sig" "${pids[@]}" 2>/dev/null
	rm -f "$T/conf-$h/nginx/nginx.pid" "$T/conf-$h/server.pid" "$T/conf-$h/dispatcher.pid"
}

for h in a b; do
	check "host $h serves the deploy site on its port, with its pool and dispatcher" host_up "$h"
done

# ---- the front: the README's block ---------------------------------------------------
mkdir -p "$T/front"
awk '/^```nginx$/ { on = 1; next } on && /^```$/ { exit } on' "$REPO/README.md" >"$T/front/readme.conf"
like "$(cat "$T/front/readme.conf")" "upstream crowd_front" "the README shows a front nginx for several central hosts"
sed -e "s|central1.example.org:9173|127.0.0.1:${PUB[a]}|; s|central2.example.org:9173|127.0.0.1:${PUB[b]}|" \
	-e "s|listen 9173;|listen 127.0.0.1:$FRONT;|" "$T/front/readme.conf" >"$T/front/site.conf"
printf 'pid %s/nginx.pid;\nevents {}\nhttp {\n\taccess_log %s/access.log;\n\tinclude %s/site.conf;\n}\n' \
	"$T/front" "$T/front" "$T/front" >"$T/front/nginx.conf"
check "the front starts" nginx -p "$T/front" -c "$T/front/nginx.conf" -e "$T/front/error.log"
CROWD_URL=http://127.0.0.1:$FRONT
check "central answers through the front" wait_until 10 bash -c \
	"[[ \$(curl -s -u '$CROWD_LOGIN:$CROWD_PASSWORD' $CROWD_URL/heartbeat) == buh-bump ]]"
http GET /heartbeat -u nobody:wrong
is "$STATUS" 401 "... and the hosts ask for the login (the deploy site's realm)"

# ---- nodes, through the front ----------------------------------------------------------
conf_copy nodes "pid_path=$T/conf-nodes/run" "log_path=$T/conf-nodes/log" \
	"central_server=http://127.0.0.1:$FRONT" >/dev/null
mkdir -p "$T/conf-nodes/run" "$T/conf-nodes/log"
for p in "$NP1" "$NP2"; do
	"$BIN/crowd" -c "$T/conf-nodes" node start -d -p "$p" -H 127.0.0.1 >>"$T/conf-nodes/log/start.out" 2>&1
	rc_p=$?
	is "$rc_p" 0 "a node on $p checks in through the front"
done

# ---- host A SIGKILLed mid-job ------------------------------------------------------------
INPUTS=$(jq -n -c '[range(0; 90) | "h-\(.)"]')
post_job "{\"action\":\"slow_noop\",\"inputs\":$INPUTS,\"options\":{\"sleep\":0.3}}"
wait_until 20 bash -c "[[ \$(mariadb --no-defaults --socket='$MYSQL_SOCKET' --user=root -N -B cloud_crowd -e 'SELECT COUNT(*) FROM work_units WHERE job_id=$ID AND status=2') -ge 10 ]]" ||
	diag "fewer than 10 units finished before the kill"
host_down a KILL
diag "SIGKILLed host A: its nginx, its pool and ccdistribute"
slow=0
for _ in $(seq 20); do
	t0=$(date +%s%N)
	http GET /heartbeat
	[[ $STATUS == 200 ]] || slow=$((slow + 1))
	(($(date +%s%N) - t0 > 2000000000)) && slow=$((slow + 1))
	sleep 0.2
done
is "$slow" 0 "the API answers through the front while host A is down (20 requests, each within 2 s)"
wait_job "$ID" 120
is "$(jq -c '[.status, .outputs]' <<<"$JOB" | md5sum)" \
	"$(printf '["succeeded",%s]\n' "$INPUTS" | md5sum)" \
	"the job completes on host B: every output once, in input order"

# ---- host A rejoins ----------------------------------------------------------------------
check "host A starts again, as before" host_up a
sent_a=$(grep -c ' -> 127.0.0.1:' "$T/conf-a/log/ccdistribute.out")
INPUTS=$(jq -n -c '[range(0; 12) | "r-\(.)"]')
# to its pool's port (its public one proxies to either host's pool): the
# job lands on A's pool, which wakes A's dispatcher
form_post "http://127.0.0.1:${POOL[a]}/jobs" "job={\"action\":\"slow_noop\",\"inputs\":$INPUTS,\"options\":{\"sleep\":0.2}}"
is "$STATUS" 200 "a job posted to host A's pool is accepted"
ID=$(jq -r .id <<<"$BODY")
wait_job "$ID" 60
is "$(jq -c '[.status, .outputs]' <<<"$JOB" | md5sum)" \
	"$(printf '["succeeded",%s]\n' "$INPUTS" | md5sum)" "... and completes, every output once"
check "host A's dispatcher sends units again" \
	test "$(grep -c ' -> 127.0.0.1:' "$T/conf-a/log/ccdistribute.out")" -gt "$sent_a"

# ---- the deploy site's realm switch -------------------------------------------------------
sed -i 's|default "CloudCrowd";|default off;|' "$T/conf-b/nginx/site.conf"
nginx -p "$T/conf-b/nginx" -c "$T/conf-b/nginx/nginx.conf" -e "$T/conf-b/nginx/error.log" -s reload
check "with the realm off (http_authentication = no), the site asks for no login" \
	wait_until 10 bash -c "[[ \$(curl -s http://127.0.0.1:${PUB[b]}/heartbeat) == buh-bump ]]"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PUB[a]}/heartbeat")" 401 \
	"... while host A, with it on, still does"

done_testing
