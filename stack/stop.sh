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

# Stopping is two steps so that several parts (the nodes) can be signalled
# at once and then waited for together:
#   begin_stop NAME PIDFILE [SIGNAL]  signal the process (if it is ours and
#                                     alive), noting its descendants
#   finish_stop                       wait for every begun one; SIGKILL what
#                                     will not go; end descendants left over
B_NAMES=()
B_PIDS=()
B_FILES=()
B_KIDS=()
begin_stop() {
	local name=$1 pidfile=$2 sig=${3:-TERM} pid
	[[ -e $pidfile ]] || return 0
	pid=$(read_pid "$pidfile")
	if [[ -z $pid ]] || ! pid_owned "$pid" "$DIR"; then
		rm -f -- "$pidfile"
		return 0
	fi
	B_NAMES+=("$name")
	B_PIDS+=("$pid")
	B_FILES+=("$pidfile")
	B_KIDS+=("$(descendants "$pid" | tr '\n' ' ')")
	kill -s "$sig" "$pid" 2>/dev/null || true
}

finish_stop() {
	local i pid k left=()
	((${#B_PIDS[@]})) || return 0
	if ! wait_gone "$TIMEOUT" "${B_PIDS[@]}"; then
		for i in "${!B_PIDS[@]}"; do
			pid=${B_PIDS[i]}
			pid_alive "$pid" || continue
			warn "${B_NAMES[i]} (pid $pid) still running after $TIMEOUT s: SIGKILL"
			kill -s KILL "$pid" 2>/dev/null || true
		done
		wait_gone 5 "${B_PIDS[@]}" || warn "still running after SIGKILL: ${B_PIDS[*]}"
	fi
	for i in "${!B_PIDS[@]}"; do
		rm -f -- "${B_FILES[i]}"
		say "stopped ${B_NAMES[i]} (pid ${B_PIDS[i]})"
		stopped=$((stopped + 1))
		# children it should have ended itself (pool processes, actions)
		for k in ${B_KIDS[i]}; do pid_alive "$k" && left+=("$k"); done
	done
	if ((${#left[@]})); then
		say "${#left[@]} process(es) left behind (${left[*]}): SIGTERM"
		kill -s TERM "${left[@]}" 2>/dev/null || true
		if ! wait_gone 5 "${left[@]}"; then
			kill -s KILL "${left[@]}" 2>/dev/null || true
			wait_gone 5 "${left[@]}" || true
		fi
	fi
	B_NAMES=()
	B_PIDS=()
	B_FILES=()
	B_KIDS=()
}

stop_part() {
	begin_stop "$@"
	finish_stop
}

# 1. node agents, all at once: SIGTERM makes each check out
#    (DELETE /node/...) while central is still up.
for pf in "$RUN"/node-*.pid; do
	[[ -e $pf ]] && begin_stop "$(basename "$pf" .pid)" "$pf"
done
finish_stop

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
