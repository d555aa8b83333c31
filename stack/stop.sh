#!/usr/bin/env bash
# stack/stop.sh - stop the private stack that stack/start.sh brought up in
# DIR: node agents first (SIGTERM, so they check out while central is still
# there), then the dispatcher, nginx, the crowd-server pool and MariaDB
# (mariadb-admin shutdown). Waits for each to exit; a part that is already
# gone is fine. Only pids from DIR/run whose command line names DIR are
# signalled, plus the descendants they had (action processes, pool
# children) if those outlive their parent.
#
# Usage: stack/stop.sh DIR [--timeout S]   (default 20 s per part)
set -euo pipefail

PROG=stop
# shellcheck source=stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR=""
TIMEOUT=20
while [[ $# -gt 0 ]]; do
	case $1 in
	--timeout)
		[[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs seconds"
		TIMEOUT=$2
		shift 2 ;;
	-h | --help) sed -n 's/^# \{0,1\}//; /^Usage:/p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) [[ -z $DIR ]] || die "one stack folder only"; DIR=$1; shift ;;
	esac
done
[[ -n $DIR ]] || die "usage: stack/stop.sh DIR"
if [[ ! -d $DIR ]]; then
	say "$DIR does not exist: nothing to stop"
	exit 0
fi
DIR=$(cd "$DIR" && pwd)
RUN=$DIR/run
LOG=$DIR/log
PATH=$PATH:/usr/sbin:/sbin
stopped=0

# wait_gone TIMEOUT PID...: true once every PID has exited.
wait_gone() {
	local timeout=$1 p left
	shift
	local deadline=$((SECONDS + timeout))
	while :; do
		left=0
		for p in "$@"; do pid_alive "$p" && left=1 && break; done
		((left)) || return 0
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop_part NAME PIDFILE [SIGNAL]: signal the process, wait, SIGKILL if it
# will not go; then end descendants it left behind.
stop_part() {
	local name=$1 pidfile=$2 sig=${3:-TERM} pid kids k left=()
	[[ -e $pidfile ]] || return 0
	pid=$(read_pid "$pidfile")
	if [[ -z $pid ]] || ! pid_owned "$pid" "$DIR"; then
		rm -f -- "$pidfile"
		return 0
	fi
	kids=$(descendants "$pid")
	kill -s "$sig" "$pid" 2>/dev/null || true
	if ! wait_gone "$TIMEOUT" "$pid"; then
		warn "$name (pid $pid) still running after $TIMEOUT s: SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
		wait_gone 5 "$pid" || warn "$name (pid $pid) survives SIGKILL"
	fi
	# children it should have ended itself (pool processes, actions)
	for k in $kids; do pid_alive "$k" && left+=("$k"); done
	if ((${#left[@]})); then
		say "$name left ${#left[@]} process(es) behind (${left[*]}): SIGTERM"
		kill -s TERM "${left[@]}" 2>/dev/null || true
		if ! wait_gone 5 "${left[@]}"; then
			kill -s KILL "${left[@]}" 2>/dev/null || true
			wait_gone 5 "${left[@]}" || true
		fi
	fi
	rm -f -- "$pidfile"
	say "stopped $name (pid $pid)"
	stopped=$((stopped + 1))
}

# 1. node agents: SIGTERM makes each check out (DELETE /node/...).
nodes=()
for pf in "$RUN"/node-*.pid; do [[ -e $pf ]] && nodes+=("$pf"); done
if ((${#nodes[@]})); then
	# signal them all first, so they check out in parallel, then wait
	for pf in "${nodes[@]}"; do
		pid=$(read_pid "$pf")
		if [[ -n $pid ]] && pid_owned "$pid" "$DIR"; then
			kill -s TERM "$pid" 2>/dev/null || true
		fi
	done
	for pf in "${nodes[@]}"; do
		stop_part "$(basename "$pf" .pid)" "$pf"
	done
fi

# 2. dispatcher, 3. nginx (fast shutdown), 4. the FastCGI pool
stop_part ccdistribute "$RUN/ccdistribute.pid"
stop_part nginx "$RUN/nginx.pid" TERM
stop_part crowd-server "$RUN/crowd-server.pid"
rm -f -- "$RUN/crowd-server.sock"

# 5. MariaDB: a clean shutdown, then the pid must go
pf=$RUN/mariadb.pid
pid=$(read_pid "$pf")
if [[ -n $pid ]] && pid_owned "$pid" "$DIR"; then
	if mariadb-admin --no-defaults --socket="$DIR/mysql/mysql.sock" --user=root \
		--connect-timeout=5 shutdown >>"$LOG/mariadb.out" 2>&1 &&
		wait_gone "$TIMEOUT" "$pid"; then
		rm -f -- "$pf"
		say "stopped mariadb (pid $pid)"
		stopped=$((stopped + 1))
	else
		warn "mariadb-admin shutdown did not stop MariaDB (pid $pid); sending SIGTERM"
		stop_part mariadb "$pf"
	fi
else
	rm -f -- "$pf"
fi

# Anything else with a pid file here (started by hand into this stack).
for pf in "$RUN"/*.pid; do
	[[ -e $pf ]] || continue
	stop_part "$(basename "$pf" .pid)" "$pf"
done

release_ports "$DIR"
say "stack $DIR stopped ($stopped process(es))"
