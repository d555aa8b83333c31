#!/usr/bin/env bash
# t0802-db-full: MariaDB's datadir fills up mid-job. The stack's datadir
# is moved onto a small tmpfs (MariaDB stopped and started again on it),
# a job runs, and the tmpfs is filled to the last few KB. Then:
#   - writes answer 503 with a JSON error that names the database and its
#     cause (never 502); reads keep answering while MariaDB runs (it may
#     abort instead: InnoDB does when a rollback finds no space; the test
#     then restarts it, as systemd would); the pool and the dispatcher are
#     not restarted;
#   - the node keeps the results central cannot record yet;
#   - once space is freed, with nothing restarted, the job completes with
#     every output once and in order, and new jobs are accepted.
# Skipped where tmpfs cannot be mounted (not root, a container without
# CAP_SYS_ADMIN).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stack_up --nodes 1 --set max_workers=4 --set retry_backoff=1 --set node_timeout=5
POOL_PIDFILE=$STACK_DIR/run/crowd-server.pid
DISP_PIDFILE=$STACK_DIR/run/ccdistribute.pid
MYSQL_PIDFILE=$STACK_DIR/run/mariadb.pid
DATA=$(sed -n 's/.*--datadir=\([^ ]*\).*/\1/p' <"$STACK_DIR/log/mariadb.out" | head -n 1)
[[ -n $DATA ]] || DATA=$STACK_DIR/mysql/data

# ---- the datadir onto a tmpfs ------------------------------------------------------
mpid=$(cat "$MYSQL_PIDFILE")
mapfile -d '' -t MYSQLD_ARGV <"/proc/$mpid/cmdline"
kill -TERM "$mpid"
wait_until 30 bash -c "! kill -0 $mpid 2>/dev/null" || diag "MariaDB did not stop"
mv "$DATA" "$DATA.disk"
mkdir "$DATA"
if ! mount -t tmpfs -o size=200m tmpfs "$DATA" 2>/dev/null; then
	rmdir "$DATA"
	mv "$DATA.disk" "$DATA"
	setsid "${MYSQLD_ARGV[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
	echo $! >"$MYSQL_PIDFILE"
	skip "MariaDB's datadir full" "tmpfs cannot be mounted here"
	done_testing
fi
# shellcheck disable=SC2154 # rc is set in the trap itself
trap 'rc=$?; stack_down; umount "$DATA" 2>/dev/null; (exit $rc); _stack_cleanup' EXIT
cp -a "$DATA.disk/." "$DATA/"
rm -f -- "$MYSQL_SOCKET"
setsid "${MYSQLD_ARGV[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
echo $! >"$MYSQL_PIDFILE"
check "MariaDB runs on a 200 MB tmpfs" wait_until 30 mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping
check "the API serves jobs again" wait_until 15 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$CROWD_URL/jobs?page=1') == 200 ]]"
pool_pid=$(cat "$POOL_PIDFILE")
disp_pid=$(cat "$DISP_PIDFILE")

# ---- a job, then the disk fills -------------------------------------------------------
INPUTS=$(jq -n -c '[range(0; 40) | "full-\(.)"]')
post_job "{\"action\":\"slow_noop\",\"inputs\":$INPUTS,\"options\":{\"sleep\":0.5}}"
JOB_ID=$ID
sleep 2
avail=$(df --output=avail -B1 "$DATA" | tail -n 1)
fallocate -l $((avail - 64 * 1024)) "$DATA/filler" 2>/dev/null ||
	dd if=/dev/zero of="$DATA/filler" bs=1M count=$((avail / 1048576)) 2>/dev/null
diag "filled MariaDB's datadir: $(df --output=avail -B1 "$DATA" | tail -n 1) bytes left"
# Pages InnoDB already holds take some writes; rows of 64 KB inputs use
# them up within a few posts, then the tablespace cannot grow.
big=$(head -c 60000 /dev/zero | tr '\0' 'x')
printf '{"action":"noop","inputs":["%s","%s","%s","%s"]}' "$big" "$big" "$big" "$big" >"$STACK_DIR/big.json"
code="" err=""
for _ in $(seq 60); do
	http POST /jobs --data-urlencode "job@$STACK_DIR/big.json"
	[[ $STATUS == 200 ]] && continue
	code=$STATUS
	err=$(jq -r .error <<<"$BODY" 2>/dev/null)
	break
done
is "$code" 503 "with the datadir full, POST /jobs answers 503"
like "$err" "database" "... with a JSON error naming the database"
diag "the error: $err"
# InnoDB either refuses the write ("The table ... is full") or aborts the
# server ("[FATAL] InnoDB: Error (Out of disk space) in rollback", which
# MariaDB 10.11 does when a rollback finds no space); Debian's
# mariadb.service restarts it then (Restart=on-abort), as the test does
# below once there is space.
aborted=0
if mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping >/dev/null 2>&1; then
	http GET "/jobs/$JOB_ID"
	is "$STATUS" 200 "MariaDB refused the write and runs on: GET /jobs/:id still answers"
else
	aborted=1
	diag "MariaDB aborted on the full disk: $(grep -m1 -o 'InnoDB: Error ([^)]*) in [a-z]*' "$STACK_DIR/log/mariadb.err" 2>/dev/null)"
	http GET "/jobs/$JOB_ID"
	is "$STATUS" 503 "MariaDB aborted on the full disk: GET /jobs/:id answers 503, not 502"
	like "$(jq -r .error <<<"$BODY" 2>/dev/null)" "database is unavailable" "... with a JSON error naming the database"
fi
is "$(curl -s "$CROWD_URL/heartbeat")" buh-bump "the heartbeat answers throughout"
sleep 3
check "crowd-server was not restarted" kill -0 "$pool_pid"
check "ccdistribute was not restarted" kill -0 "$disp_pid"

# ---- space again ----------------------------------------------------------------------
rm -f -- "$DATA/filler"
diag "freed the datadir"
if ((aborted)); then
	rm -f -- "$MYSQL_SOCKET"
	setsid "${MYSQLD_ARGV[@]}" </dev/null >>"$STACK_DIR/log/mariadb.out" 2>&1 &
	echo $! >"$MYSQL_PIDFILE"
	check "MariaDB starts again (crash recovery)" wait_until 60 mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user=root ping
fi
check "new jobs are accepted again, nothing restarted" wait_until 30 bash -c \
	"[[ \$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode 'job={\"action\":\"noop\",\"inputs\":[\"after\"]}' '$CROWD_URL/jobs') == 200 ]]"
wait_job "$JOB_ID" 120
is "$(jq -c '[.status, .outputs]' <<<"$JOB" | md5sum)" \
	"$(printf '["succeeded",%s]\n' "$INPUTS" | md5sum)" \
	"the job completes: every output once, in input order"
is "$(cat "$POOL_PIDFILE")" "$pool_pid" "the same crowd-server throughout"

done_testing
