#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: CloudCrowd-C measured side by side with
# baselines taken in the same run (absolute times drift between machines
# and minutes; the ratios are what the goals of issue 5 are about).
#
# It starts a private stack (stack/start.sh into var/bench/stack: MariaDB,
# nginx, the FastCGI pool, ccdistribute --loop and one node agent with
# max_workers 4, on free ports away from the demo's), builds the helpers in
# tests/bench/*.c into build/bench/, runs each workload BENCH_REPS times
# (default 3; baselines and CloudCrowd-C interleaved so drift hits both),
# prints the medians with their baselines and ratios, checks the goals
# (PASS/FAIL, not a test failure), and writes var/bench/bench-<UTC>.json,
# var/bench/latest.json and var/bench/latest.md (the table, for the README).
#
#   W1 throughput  one noop job of 2,000 inputs, POST to succeeded, units/s;
#                  baselines: spawn ceiling (build/bench/spawn_ceiling:
#                  posix_spawn of the same noop executable, 4 at a time,
#                  pipes, the unit's env) and gearmand (in memory) with 4
#                  `gearman -w` fork-per-job workers running that executable.
#                  Also per unit: CPU of each part (/proc/PID/stat) and SQL
#                  statements / commits (MariaDB global status).
#   W2 latency     1-input noop jobs, polled every 1 ms, p50/p99 of 50;
#                  baseline: one spawn of the action (p50 of 50); extra:
#                  one gearman task (gearman_client_do).
#   W3 word_count  the 15 licence texts of /usr/share/common-licenses plus
#                  10 generated 100 KB texts, with merge; the total must be
#                  `cat FILES | wc -w`; baseline: the same process stages
#                  run directly, 4 at a time, and the merge.
#   W4 scale       node and dispatcher stopped; units bulk-loaded with SQL
#                  (INSERT ... SELECT FROM seq_A_to_B) to 1k, 10k, 100k, 1M
#                  queued; at each: one dispatch pass (build/bench/pass_time:
#                  lib's cc_dispatch_pass against a fake node that takes 25
#                  units at once; see pass_time.c) and GET /status; baseline:
#                  the 1k figure. And POST /jobs of 100,000 inputs; baseline:
#                  the same 100,000 rows inserted with one SQL statement.
#   W5 memory      VmRSS/VmHWM of the pool processes, the node agent and the
#                  action processes, sampled during W1 (build/bench/
#                  rss_sample); growth of pool and node over a job of
#                  10,000 units (the second of two in a row: the first
#                  warms up caches and allocator arenas; its growth is
#                  shown too); baseline: the library floor, RSS of an
#                  empty program linked with the same libraries
#                  (build/bench/lib_floor-PROGRAM, tests/bench/lib_floor.c).
#
# Environment:
#   BENCH_QUICK=1        smoke run: 1 repetition, 200-unit W1, 20 latency
#                        jobs, W4 to 100k queued and a 10k-input job, 1,000
#                        units for W5
#   BENCH_REPS=N         repetitions (default 3; 1 when quick)
#   BENCH_JOB_TIMEOUT=S  give up on a job after S s (default 600), noted
#   BENCH_ONLY="W1 W4"   run only these workloads
#   BENCH_PROFILE=1      also `perf record -a -g` during the first W5 job;
#                        var/bench/perf-<UTC>.txt has the top programs and
#                        symbols
#   BENCH_KEEP=1         leave the stack running afterwards
#   VARIANT              build variant (default release)
# shellcheck disable=SC2016,SC2046,SC2086,SC2206 # pkg-config flags and pid lists split on purpose; Markdown backquotes
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 1
PATH=$PATH:/usr/sbin:/sbin
VARIANT=${VARIANT:-release}
BUILD=$REPO/build/$VARIANT
BB=$REPO/build/bench
OUTDIR=$REPO/var/bench
STACK=$OUTDIR/stack
WORK=$OUTDIR/work
NOOP=$BUILD/actions/noop/process
QUICK=${BENCH_QUICK:-0}
[[ $QUICK == 1 ]] || QUICK=0
if ((QUICK)); then
	REPS=${BENCH_REPS:-1}
	W1_UNITS=200
	W2_JOBS=20
	W4_SIZES="1000 10000 100000"
	W4_JOB_INPUTS=10000
	W5_UNITS=1000
else
	REPS=${BENCH_REPS:-3}
	W1_UNITS=2000
	W2_JOBS=50
	W4_SIZES="1000 10000 100000 1000000"
	W4_JOB_INPUTS=100000
	W5_UNITS=10000
fi
JOB_TIMEOUT=${BENCH_JOB_TIMEOUT:-600}
ONLY=${BENCH_ONLY:-W1 W2 W3 W4 W5}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
T_START=$(date +%s)
CLK=$(getconf CLK_TCK)

# ---- output helpers ----------------------------------------------------------
say() { printf '%s [+%4ds] bench: %s\n' "$(date -u +%T)" $(($(date +%s) - T_START)) "$*"; }
warn() { say "WARNING: $*" >&2; }
die() { say "ERROR: $*" >&2; exit 1; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# kv LINE KEY: the value of KEY=value in a line of key=value words.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

# Results: V[key] holds the values of every repetition, space separated.
declare -A V=() UNIT=() NOTE=()
rec() { # rec KEY VALUE [UNIT]
	[[ -n $2 ]] || return 0
	V[$1]="${V[$1]:+${V[$1]} }$2"
	[[ -n ${3:-} ]] && UNIT[$1]=$3
	return 0
}
med() { # median of the recorded values, or empty
	[[ -n ${V[$1]:-} ]] || return 0
	tr ' ' '\n' <<<"${V[$1]}" | sort -g | awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)]}'
}
# ratio A B: A/B with 2 decimals, or empty
ratio() { [[ -n ${1:-} && -n ${2:-} ]] && awk -v a="$1" -v b="$2" 'BEGIN{if (b != 0) printf "%.2f", a/b}'; }
fmt() { # fmt VALUE: at most 3 significant decimals, thousands kept plain
	[[ -n ${1:-} ]] || { printf 'n/a'; return; }
	awk -v v="$1" 'BEGIN{a=v<0?-v:v; if (a>=100) printf "%.0f", v; else if (a>=10) printf "%.1f", v; else if (a>=1) printf "%.2f", v; else printf "%.3f", v}'
}
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- process figures -----------------------------------------------------------
# /proc/PID/stat after "(comm) ": $12 utime $13 stime $14 cutime $15 cstime
ticks() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}' || echo 0; }
cticks() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" | awk '{print $14+$15}' || echo 0; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }
pid_of() { local p=""; [[ -r $STACK/run/$1.pid ]] && read -r p <"$STACK/run/$1.pid"; printf '%s' "$p"; }
kids() { pgrep -P "$1" 2>/dev/null | tr '\n' ' '; }
sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# cpu_snapshot: "pool node actions nginx mariadb dispatcher machine" in ticks
cpu_snapshot() {
	local srv node ngx
	srv=$(pid_of crowd-server)
	node=$(pid_of "node-$NODE_PORT")
	ngx=$(pid_of nginx)
	# shellcheck disable=SC2046 # word lists of pids
	echo "$(sum_ticks "$srv" $(kids "$srv")) $(ticks "$node") $(cticks "$node")" \
		"$(sum_ticks "$ngx" $(kids "$ngx")) $(ticks "$(pid_of mariadb)")" \
		"$(ticks "$(pid_of ccdistribute)") $(machine_busy)"
}
DB_VARS="Questions Handler_commit Com_commit Com_stmt_execute Connections Handler_read_key Handler_read_next Handler_read_rnd_next Innodb_os_log_fsyncs"
db_snapshot() {
	local v out=""
	local -A s=()
	while read -r k val; do s[$k]=$val; done < <(sql "SHOW GLOBAL STATUS WHERE Variable_name IN ('${DB_VARS// /\',\'}')")
	for v in $DB_VARS; do out+="${s[$v]:-0} "; done
	echo "$out"
}
sql() { mariadb --no-defaults --socket="$MYSQL_SOCKET" --user=root -N -B cloud_crowd -e "$1"; }
# The bulk loads of W4 write work_units rows directly; a job's unit counters
# (jobs.units_total / units_done, when the schema has them) must agree.
has_col() { [[ -n $(sql "SHOW COLUMNS FROM $1 LIKE '$2'" 2>/dev/null) ]]; }
counters_sql() { # counters_sql JOB_ID: the statement that sets them, or nothing
	has_col jobs units_total || return 0
	printf 'UPDATE jobs SET units_total = (SELECT COUNT(*) FROM work_units WHERE job_id = %s)' "$1"
	has_col jobs units_done &&
		printf ', units_done = (SELECT COUNT(*) FROM work_units WHERE job_id = %s AND status IN (2, 3))' "$1"
	printf ' WHERE id = %s;' "$1"
}
# smaps KEY PID: a field of /proc/PID/smaps_rollup in kB (Rss, Pss, Private_Dirty...)
# purge_wait: until InnoDB has purged what earlier statements left behind
# (delete-marked index entries slow range scans until then)
purge_wait() { sql "SET GLOBAL innodb_max_purge_lag_wait = 0" 2>/dev/null || sleep 5; }
smaps() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/smaps_rollup" 2>/dev/null; }
uss() { echo $(( $(smaps Private_Clean "$1") + $(smaps Private_Dirty "$1") )); }
# seconds a command takes, on stdout (the command's own output goes to $WORK/last.out)
time_cmd() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >"$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; return 1; }
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}'
}
free_port() { # a free loopback port above the ephemeral range and the stacks'
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((61000 + RANDOM % 4000))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# ---- cleanup -----------------------------------------------------------------
BG_PIDS=()
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	if [[ ${BENCH_KEEP:-0} != 1 && -d $STACK/run ]]; then
		say "stopping the stack"
		"$REPO/stack/stop.sh" "$STACK" >>"$OUTDIR/stop.out" 2>&1 || warn "stack/stop.sh $STACK failed (see $OUTDIR/stop.out)"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUTDIR" "$WORK" "$BB"
say "make bench: reps $REPS$( ((QUICK)) && echo ', QUICK'), workloads: $ONLY; $(nproc) cores, load $(load1)"
[[ -x $NOOP && -x $BUILD/bin/crowd-server && -r $BUILD/libcrowd.a ]] ||
	die "$BUILD is not built (run make, or make bench)"

# ---- packages the gearman baseline needs ------------------------------------------
HAVE_GEARMAN=1
missing=()
command -v gearmand >/dev/null || missing+=(gearman-job-server)
command -v gearman >/dev/null || missing+=(gearman-tools)
[[ -r /usr/include/libgearman/gearman.h ]] || missing+=(libgearman-dev)
if ((${#missing[@]})); then
	if ((EUID == 0)) && command -v apt-get >/dev/null; then
		say "installing ${missing[*]} (gearman baseline)"
		apt_install() {
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
				--no-install-recommends "${missing[@]}" >>"$OUTDIR/apt.out" 2>&1
		}
		: >"$OUTDIR/apt.out"
		apt_install || { apt-get update -q >>"$OUTDIR/apt.out" 2>&1 && apt_install; } ||
			{ warn "apt-get install ${missing[*]} failed (see $OUTDIR/apt.out)"; HAVE_GEARMAN=0; }
	else
		warn "missing ${missing[*]} and cannot install (not root): no gearman baseline"
		HAVE_GEARMAN=0
	fi
fi

# ---- helpers ---------------------------------------------------------------------
# The Makefile's flags (CFLAGS_BASE, -O2); each helper is built with plain cc.
CFLAGS=(-std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
	-Wno-format-truncation -g -O2 -D_GNU_SOURCE)
PKGS="jansson libcurl libmicrohttpd inih libmariadb"
build() { # build NAME CC-ARGS...
	local name=$1
	shift
	if [[ ! -x $BB/$name || -n $(find "$REPO/tests/bench/$name.c" "$BUILD/libcrowd.a" -newer "$BB/$name" 2>/dev/null) ]]; then
		# shellcheck disable=SC2068
		cc "${CFLAGS[@]}" "$@" >"$BB/$name.build.out" 2>&1 ||
			{ warn "building $name failed:"; sed 's/^/    /' "$BB/$name.build.out" >&2; return 1; }
	fi
}
say "building helpers into build/bench/"
# shellcheck disable=SC2046
build spawn_ceiling -o "$BB/spawn_ceiling" tests/bench/spawn_ceiling.c -lpthread || die "no spawn_ceiling"
build crowd_client $(pkg-config --cflags jansson libcurl) -o "$BB/crowd_client" tests/bench/crowd_client.c \
	$(pkg-config --libs jansson libcurl) || die "no crowd_client"
build rss_sample -o "$BB/rss_sample" tests/bench/rss_sample.c || die "no rss_sample"
build fake_node -o "$BB/fake_node" tests/bench/fake_node.c || die "no fake_node"
# The memory floor: lib_floor linked with exactly the libraries each
# program names (its ELF NEEDED entries).
needed() { readelf -d "$BUILD/bin/$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/-l:\1/p' | grep -v -e '-l:libc\.so' -e '-l:ld-linux'; }
for prog in crowd-server crowd-node; do
	rm -f "$BB/lib_floor-$prog"
	# shellcheck disable=SC2046
	cc "${CFLAGS[@]}" -o "$BB/lib_floor-$prog" tests/bench/lib_floor.c -Wl,--no-as-needed $(needed "$prog") \
		>"$BB/lib_floor-$prog.build.out" 2>&1 || warn "building lib_floor for $prog failed (see $BB/lib_floor-$prog.build.out)"
done
HAVE_PASS=1
build pass_time -Ilib $(pkg-config --cflags $PKGS) -o "$BB/pass_time" tests/bench/pass_time.c \
	"$BUILD/libcrowd.a" $(pkg-config --libs $PKGS) -lfcgi -lcrypto -lpthread -lm || HAVE_PASS=0
if ((HAVE_GEARMAN)); then
	build gear_client -o "$BB/gear_client" tests/bench/gear_client.c -lgearman || HAVE_GEARMAN=0
fi

# ---- the stack -----------------------------------------------------------------
if [[ -d $STACK ]]; then
	"$REPO/stack/stop.sh" "$STACK" >"$OUTDIR/stop.out" 2>&1 || true
	rm -rf -- "$STACK"
fi
say "starting the private stack in var/bench/stack (1 node, max_workers 4)"
"$REPO/stack/start.sh" "$STACK" --nodes 1 --set max_workers=4 --variant "$VARIANT" \
	>"$OUTDIR/start.out" 2>&1 || { tail -n 20 "$OUTDIR/start.out" >&2; die "stack/start.sh failed (log: $OUTDIR/start.out)"; }
# shellcheck source=/dev/null
. "$STACK/env"
export CROWD_CLIENT_TIMEOUT=$JOB_TIMEOUT
say "stack up: $CROWD_URL, node $NODE_PORT, MariaDB $MYSQL_PORT ($(grep -o 'stack up in [0-9.]* s' "$OUTDIR/start.out"))"
client() { "$BB/crowd_client" "$CROWD_URL" "$@"; }

# ---- gearmand -------------------------------------------------------------------
GPORT=""
start_gearman() {
	((HAVE_GEARMAN)) || return 1
	GPORT=$(free_port) || { warn "no free port for gearmand"; return 1; }
	gearmand -L 127.0.0.1 -p "$GPORT" -q builtin -l "$WORK/gearmand.log" --verbose=WARNING \
		>"$WORK/gearmand.out" 2>&1 &
	GEARMAND_PID=$!
	BG_PIDS+=("$GEARMAND_PID")
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$GPORT") 2>/dev/null && break; sleep 0.1; done
	kill -0 "$GEARMAND_PID" 2>/dev/null || { warn "gearmand did not start: $(tail -n 3 "$WORK/gearmand.log")"; return 1; }
	GWORKERS=()
	for _ in 1 2 3 4; do
		CROWD_INPUT='"gearman"' gearman -h 127.0.0.1 -p "$GPORT" -w -f noop -- "$NOOP" \
			>>"$WORK/gearman-workers.out" 2>&1 &
		GWORKERS+=($!)
		BG_PIDS+=($!)
	done
	sleep 0.5
	"$BB/gear_client" "$GPORT" fg 20 '"gearman"' >/dev/null || { warn "gearman warm-up failed"; return 1; }
	say "gearmand on 127.0.0.1:$GPORT (in memory) with 4 gearman -w workers running $NOOP"
}
stop_gearman() {
	local p
	for p in "${GWORKERS[@]}" "${GEARMAND_PID:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null; done
	GPORT=""
}

# ---- one crowd noop job with CPU, SQL and memory figures --------------------------
# crowd_noop_run UNITS PREFIX: runs the job, records PREFIX.* figures
SAMPLER_OUT=""
crowd_noop_run() {
	local n=$1 pre=$2 line cl c0 c1 d0 d1 sp rc CPU_LINE="" DB_LINE=""
	local srv node
	srv=$(pid_of crowd-server)
	node=$(pid_of "node-$NODE_PORT")
	purge_wait # what earlier jobs left for InnoDB to clean up
	SAMPLER_OUT=$WORK/rss-$pre-$RANDOM.out
	"$BB/rss_sample" 20 "$srv" "$node" "$NOOP" >"$SAMPLER_OUT" 2>&1 &
	sp=$!
	BG_PIDS+=("$sp")
	c0=$(cpu_snapshot)
	d0=$(db_snapshot)
	cl=$(client noop "$n" 20)
	rc=$?
	c1=$(cpu_snapshot)
	d1=$(db_snapshot)
	kill "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	if ((rc == 3)); then
		warn "$pre: job of $n units timed out after $JOB_TIMEOUT s: $cl"
		NOTE[$pre.units_per_s]="timed out after $JOB_TIMEOUT s (rate so far)"
	elif ((rc != 0)); then
		warn "$pre: the noop job failed (exit $rc): $cl"
		return 1
	fi
	rec "$pre.units_per_s" "$(kv "$cl" units_per_s)" "units/s"
	rec "$pre.elapsed_s" "$(kv "$cl" elapsed_s)" "s"
	rec "$pre.time_taken" "$(kv "$cl" time_taken)" "s"
	# per unit: CPU ms of each part; SQL statements, commits, connections
	local names=(pool node actions nginx mariadb dispatcher machine) i a b
	read -ra A <<<"$c0"
	read -ra B <<<"$c1"
	for i in "${!names[@]}"; do
		a=$(awk -v a="${A[i]}" -v b="${B[i]}" -v n="$n" -v hz="$CLK" 'BEGIN{printf "%.3f", (b-a)*1000/hz/n}')
		rec "$pre.cpu_ms_per_unit.${names[i]}" "$a" "ms/unit"
		CPU_LINE+="${names[i]}=$a "
	done
	a=$(awk -v l="$CPU_LINE" 'BEGIN{n=split(l, w, " "); for (i=1; i<=n; i++) { split(w[i], kv, "=");
		if (kv[1] != "machine") s+=kv[2] } printf "%.3f", s}')
	rec "$pre.cpu_ms_per_unit.stack" "$a" "ms/unit"
	CPU_LINE+="stack=$a "
	local dv=($DB_VARS)
	read -ra A <<<"$d0"
	read -ra B <<<"$d1"
	for i in "${!dv[@]}"; do
		a=$(awk -v a="${A[i]}" -v b="${B[i]}" -v n="$n" 'BEGIN{printf "%.2f", (b-a)/n}')
		rec "$pre.db_per_unit.${dv[i]}" "$a" "/unit"
		DB_LINE+="${dv[i]}=$a "
	done
	line=$(cat "$SAMPLER_OUT")
	for a in pool_rss_kb pool_hwm_kb pool_parent_rss_kb node_rss_kb node_hwm_kb action_rss_kb action_hwm_kb action_seen; do
		b=$(kv "$line" "$a")
		[[ $a == action_* && $(kv "$line" action_seen) == 0 ]] && continue
		rec "$pre.mem.$a" "$b" "kB"
	done
	say "  $pre: $(fmt "$(kv "$cl" units_per_s)") units/s (POST to succeeded $(fmt "$(kv "$cl" elapsed_s)") s);" \
		"CPU per unit: pool $(fmt "$(kv "$CPU_LINE" pool)"), node $(fmt "$(kv "$CPU_LINE" node)")," \
		"action $(fmt "$(kv "$CPU_LINE" actions)"), mariadb $(fmt "$(kv "$CPU_LINE" mariadb)")," \
		"nginx $(fmt "$(kv "$CPU_LINE" nginx)") ms; $(kv "$DB_LINE" Questions) SQL statements," \
		"$(kv "$DB_LINE" Handler_commit) commits; load $(load1)"
}

# sql_profile N: one noop job of N units with MariaDB's slow query log on at
# long_query_time 0 (every statement, with its time and rows examined). The
# setting applies to new connections, so the pool processes are restarted
# first (SIGTERM: each leaves after its request; crowd-server forks a new
# one). Statements by text (numbers as N): executions, rows examined and
# database time, per unit. ccdistribute's own connection is not included.
SQL_PROFILE=$WORK/sql-profile.txt
: >"$SQL_PROFILE"
restart_pool() { # new pool processes (and so new database sessions)
	local srv old i p left
	srv=$(pid_of crowd-server)
	old=$(kids "$srv")
	for p in $old; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 100; i++)); do
		left=0
		for p in $old; do kill -0 "$p" 2>/dev/null && left=1; done
		((left == 0)) && (($(kids "$srv" | wc -w) >= $(wc -w <<<"$old"))) && return 0
		sleep 0.1
	done
	warn "the pool processes did not restart"
	return 1
}
sql_profile() {
	local n=$1 lqt
	# both settings are copied into each new session: set, then reconnect
	lqt=$(sql "SELECT @@global.long_query_time") || return 1
	sql "SET GLOBAL log_output = 'TABLE'; SET GLOBAL long_query_time = 0; SET GLOBAL slow_query_log = 1" || return 1
	restart_pool || return 1
	client noop 20 20 >/dev/null # statements prepared
	sql "TRUNCATE mysql.slow_log" || return 1
	client noop "$n" 20 >/dev/null
	sql "SET GLOBAL slow_query_log = 0; SET GLOBAL long_query_time = $lqt" || return 1
	restart_pool
	sql "SELECT ROUND(COUNT(*) / $n, 2), ROUND(SUM(rows_examined) / $n, 1),
		ROUND(SUM(TIME_TO_SEC(query_time)) * 1000 / $n, 3), COUNT(*),
		LEFT(REGEXP_REPLACE(REGEXP_REPLACE(CONVERT(sql_text USING utf8mb4), '[0-9]+', 'N'), '[[:space:]]+', ' '), 150) AS a
		FROM mysql.slow_log WHERE sql_text NOT LIKE '%slow_query_log%' AND sql_text NOT LIKE '%mysql.slow_log%'
		GROUP BY a ORDER BY SUM(TIME_TO_SEC(query_time)) DESC" >"$SQL_PROFILE" || return 1
	sql "TRUNCATE mysql.slow_log"
	{
		printf '# %s-unit noop job; columns: statements per unit, rows examined per unit,\n' "$n"
		printf '# database ms per unit, executions, statement (numbers as N)\n'
		cat "$SQL_PROFILE"
	} >"$OUTDIR/sql-profile-$STAMP.txt"
	say "  SQL profile ($n-unit job, slow log at 0 s): per unit $(awk -F'\t' '{s+=$1; r+=$2; t+=$3} END{printf "%.1f statements, %.0f rows examined, %.2f ms of database time", s, r, t}' "$SQL_PROFILE");" \
		"most time: $(head -n 2 "$SQL_PROFILE" | awk -F'\t' '{printf "%.50s... (%s ms/unit); ", $5, $3}')"
}

# =================================================================================
# W1 throughput
# =================================================================================
if want W1; then
	say "W1 throughput: $W1_UNITS noop units, $REPS repetitions (ceiling, gearmand, CloudCrowd-C interleaved)"
	start_gearman || warn "no gearman baseline"
	say "  warm-up"
	"$BB/spawn_ceiling" "$NOOP" 100 4 >/dev/null || die "spawn_ceiling failed"
	client noop 20 20 >/dev/null || die "the warm-up noop job failed (logs: $STACK/log)"
	for r in $(seq "$REPS"); do
		line=$("$BB/spawn_ceiling" "$NOOP" "$W1_UNITS" 4) || die "spawn_ceiling failed"
		rec w1.ceiling.per_s "$(kv "$line" rate)" "spawns/s"
		rec w1.ceiling.cpu_ms_per_spawn "$(kv "$line" cpu_ms_per_spawn)" "ms/spawn"
		say "  rep $r: spawn ceiling $(fmt "$(kv "$line" rate)") spawns/s (load $(load1))"
		if [[ -n $GPORT ]]; then
			if line=$("$BB/gear_client" "$GPORT" fg "$W1_UNITS" '"gearman"'); then
				rec w1.gearman.per_s "$(kv "$line" tasks_per_s)" "tasks/s"
				say "  rep $r: gearmand $(fmt "$(kv "$line" tasks_per_s)") tasks/s (load $(load1))"
			else
				warn "gearman run failed"
			fi
		fi
		say "  rep $r: CloudCrowd-C job of $W1_UNITS units ..."
		crowd_noop_run "$W1_UNITS" w1.crowd
	done
	sql_profile "$W1_UNITS" || warn "no SQL profile"
	for k in "${!V[@]}"; do
		[[ $k == w1.crowd.mem.* ]] && rec "w5.during_w1.${k#w1.crowd.mem.}" "$(tr ' ' '\n' <<<"${V[$k]}" | sort -g | tail -n 1)" "kB"
	done
	say "W1: CloudCrowd-C $(fmt "$(med w1.crowd.units_per_s)") units/s; spawn ceiling $(fmt "$(med w1.ceiling.per_s)")/s" \
		"(x$(ratio "$(med w1.crowd.units_per_s)" "$(med w1.ceiling.per_s)")); gearmand $(fmt "$(med w1.gearman.per_s)")/s" \
		"(x$(ratio "$(med w1.crowd.units_per_s)" "$(med w1.gearman.per_s)"))"
fi

# =================================================================================
# W2 latency
# =================================================================================
if want W2; then
	say "W2 latency: $W2_JOBS 1-input noop jobs polled every 1 ms, $REPS repetitions"
	[[ -n $GPORT ]] || start_gearman || true
	for r in $(seq "$REPS"); do
		line=$("$BB/spawn_ceiling" "$NOOP" "$W2_JOBS" 1) || die "spawn_ceiling failed"
		rec w2.spawn.p50_ms "$(kv "$line" p50_ms)" "ms"
		rec w2.spawn.p99_ms "$(kv "$line" p99_ms)" "ms"
		if [[ -n $GPORT ]] && gline=$("$BB/gear_client" "$GPORT" lat "$W2_JOBS" '"gearman"'); then
			rec w2.gearman.p50_ms "$(kv "$gline" lat_p50_ms)" "ms"
			rec w2.gearman.p99_ms "$(kv "$gline" lat_p99_ms)" "ms"
		fi
		if cline=$(client latency "$W2_JOBS" 1); then
			rec w2.crowd.p50_ms "$(kv "$cline" latency_p50_ms)" "ms"
			rec w2.crowd.p99_ms "$(kv "$cline" latency_p99_ms)" "ms"
			rec w2.crowd.polls_per_job "$(kv "$cline" polls_per_job)" ""
			rec w2.crowd.post_p50_ms "$(kv "$cline" post_p50_ms)" "ms"
		else
			warn "latency run failed"
		fi
		say "  rep $r: job p50 $(fmt "$(kv "${cline:-}" latency_p50_ms)") ms p99 $(fmt "$(kv "${cline:-}" latency_p99_ms)") ms" \
			"(of which POST /jobs p50 $(fmt "$(kv "${cline:-}" post_p50_ms)") ms);" \
			"one spawn p50 $(fmt "$(kv "$line" p50_ms)") ms; gearman task p50 $(fmt "$(kv "${gline:-}" lat_p50_ms)") ms (load $(load1))"
	done
fi
[[ -n $GPORT ]] && stop_gearman

# =================================================================================
# W3 word_count
# =================================================================================
if want W3; then
	TEXTS=$WORK/texts
	rm -rf -- "$TEXTS"
	mkdir -p "$TEXTS"
	FILES=()
	for f in /usr/share/common-licenses/*; do
		real=$(readlink -f -- "$f")
		[[ -f $real && -s $real ]] || continue
		[[ " ${FILES[*]} " == *" $real "* ]] && continue
		FILES+=("$real")
	done
	# 10 texts of 100 KB: the licences' words in a fixed pseudo-random order
	cat /usr/share/common-licenses/* 2>/dev/null | tr -s '[:space:]' '\n' | grep -v '^$' >"$WORK/words"
	for i in $(seq -w 1 10); do
		awk -v seed="$i" 'BEGIN{srand(seed)} {w[NR]=$0} END{
			size=0; line="";
			while (size < 102400) { x=w[int(rand()*NR)+1]; line=line (line==""?"":" ") x;
				if (length(line) > 70) { print line; size+=length(line)+1; line="" } }
			if (line != "") print line }' "$WORK/words" >"$TEXTS/text-$i.txt"
		FILES+=("$TEXTS/text-$i.txt")
	done
	EXPECT=$(cat -- "${FILES[@]}" | wc -w)
	jq -n -c --args '{action: "word_count", inputs: ($ARGS.positional | map("file://" + .)), options: {}}' \
		"${FILES[@]}" >"$WORK/w3-job.json"
	say "W3 word_count: ${#FILES[@]} files ($(du -ch -- "${FILES[@]}" | tail -n 1 | cut -f 1)), $EXPECT words, $REPS repetitions"
	w3_direct() { # the process stage on every file, 4 at a time, then the merge
		local counts
		counts=$(printf '%s\n' "${FILES[@]}" |
			xargs -P 4 -I{} env CROWD_INPUT_PATH={} "$REPO/actions/word_count/process" | paste -sd, -)
		CROWD_INPUT="[$counts]" "$REPO/actions/word_count/merge"
	}
	for r in $(seq "$REPS"); do
		t=$(time_cmd w3_direct) && got=$(tail -n 1 "$WORK/last.out") || got=""
		[[ $got == "$EXPECT" ]] || warn "direct word count gave '$got', expected $EXPECT"
		rec w3.direct.s "$t" "s"
		if line=$(client job "$WORK/w3-job.json" 20 "$WORK/w3-out.json"); then
			total=$(jq -r '.outputs | if length == 1 then .[0] else map(tonumber) | add end' "$WORK/w3-out.json")
			rec w3.crowd.s "$(kv "$line" elapsed_s)" "s"
			if [[ $total == "$EXPECT" ]]; then rec w3.crowd.total_ok 1; else rec w3.crowd.total_ok 0; fi
			say "  rep $r: CloudCrowd-C $(fmt "$(kv "$line" elapsed_s)") s, total $total" \
				"($([[ $total == "$EXPECT" ]] && echo "= cat FILES | wc -w" || echo "MISMATCH: expected $EXPECT"));" \
				"direct $(fmt "$t") s (load $(load1))"
		else
			warn "word_count job failed"
			rec w3.crowd.total_ok 0
		fi
	done
fi

# =================================================================================
# W5 memory (growth over a long job) - before W4, which stops the node
# =================================================================================
if want W5; then
	srv=$(pid_of crowd-server)
	node=$(pid_of "node-$NODE_PORT")
	say "W5 memory: two noop jobs of $W5_UNITS units in a row; RSS of the pool processes and the node" \
		"before the first, between them and after the second (growth = over the second)"
	declare -A before=() between=()
	for p in $(kids "$srv") "$node"; do before[$p]=$(rss_kb "$p"); done
	PERF_PID=""
	if [[ ${BENCH_PROFILE:-0} == 1 ]] && command -v perf >/dev/null; then
		perf record -F 499 -a -g -o "$OUTDIR/perf-$STAMP.data" >"$WORK/perf.out" 2>&1 &
		PERF_PID=$!
		BG_PIDS+=("$PERF_PID")
	fi
	crowd_noop_run "$W5_UNITS" w5.run
	if [[ -n $PERF_PID ]]; then
		kill -INT "$PERF_PID" 2>/dev/null
		wait "$PERF_PID" 2>/dev/null
		comms=mariadbd,crowd-server,crowd-node,MHD-connection,MHD-listen,MHD-worker,process,nginx,ccdistribute
		{
			echo "# perf record -a -g during the first W5 job (whole machine); by program and library:"
			perf report -i "$OUTDIR/perf-$STAMP.data" --stdio --no-children --sort comm,dso 2>/dev/null |
				grep -E '^ +[0-9.]+%' | head -n 40
			echo "# the stack's programs, by symbol:"
			perf report -i "$OUTDIR/perf-$STAMP.data" --stdio --no-children --comms "$comms" \
				--sort comm,dso,sym 2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 100
		} | cut -c 1-160 >"$OUTDIR/perf-$STAMP.txt"
		say "  perf profile of the first W5 job: $OUTDIR/perf-$STAMP.txt ($OUTDIR/perf-$STAMP.data)"
	fi
	for p in $(kids "$srv") "$node"; do between[$p]=$(rss_kb "$p"); done
	crowd_noop_run "$W5_UNITS" w5.run
	pool_growth="" pool_first=""
	for p in $(kids "$srv"); do
		[[ -n ${before[$p]:-} && -n ${between[$p]:-} ]] || continue
		now=$(rss_kb "$p")
		say "  pool process $p: ${before[$p]} -> ${between[$p]} -> $now kB"
		g=$((now - between[$p]))
		[[ -z $pool_growth ]] || ((g > pool_growth)) && pool_growth=$g
		g=$((between[$p] - before[$p]))
		[[ -z $pool_first ]] || ((g > pool_first)) && pool_first=$g
	done
	now=$(rss_kb "$node")
	say "  node agent $node: ${before[$node]} -> ${between[$node]} -> $now kB"
	rec w5.pool_growth_kb "$pool_growth" "kB"
	rec w5.node_growth_kb "$((now - between[$node]))" "kB"
	rec w5.pool_growth_first_kb "$pool_first" "kB"
	rec w5.node_growth_first_kb "$((between[$node] - before[$node]))" "kB"
	rec w5.pool_rss_after_kb "$(for p in $(kids "$srv"); do rss_kb "$p"; done | sort -n | tail -n 1)" "kB"
	rec w5.node_rss_after_kb "$(rss_kb "$node")" "kB"
	rec w5.node_uss_kb "$(uss "$node")" "kB"
	rec w5.node_pss_kb "$(smaps Pss "$node")" "kB"
	rec w5.pool_uss_kb "$(for p in $(kids "$srv"); do uss "$p"; done | sort -n | tail -n 1)" "kB"
	rec w5.pool_pss_kb "$(for p in $(kids "$srv"); do smaps Pss "$p"; done | sort -n | tail -n 1)" "kB"
	say "  private memory (USS) after: node $(med w5.node_uss_kb) kB, largest pool process $(med w5.pool_uss_kb) kB" \
		"(the rest of RSS is shared library pages)"
	for prog in crowd-server crowd-node; do
		for r in $(seq "$REPS"); do
			line=$("$BB/lib_floor-$prog" 2>/dev/null) || line=""
			rec "w5.floor.$prog" "$(kv "$line" rss_kb)" "kB"
		done
		say "  library floor of $prog (an empty program linked with its libraries, after curl_global_init):" \
			"$(med "w5.floor.$prog") kB"
	done
fi

# =================================================================================
# W4 scale (node and dispatcher stopped; units bulk-loaded)
# =================================================================================
if want W4; then
	say "W4 scale: stopping the node agent and ccdistribute (dispatch passes are timed by build/bench/pass_time)"
	for part in "node-$NODE_PORT" ccdistribute; do
		p=$(pid_of "$part")
		[[ -n $p ]] && kill -TERM "$p" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	sql "DELETE FROM node_records" # a node that was stopped without checking out
	BP=$(sql "SELECT @@innodb_buffer_pool_size")
	sql "SET GLOBAL innodb_buffer_pool_size = 536870912" 2>/dev/null &&
		say "  MariaDB buffer pool $((BP / 1048576)) MB -> 512 MB (1M rows must fit, as on any real database server)"
	sql "TRUNCATE work_units; DELETE FROM jobs"

	# -- job creation: POST /jobs of W4_JOB_INPUTS inputs ------------------------
	jq -n -c --argjson n "$W4_JOB_INPUTS" '{action: "noop", inputs: [range(0; $n) | "unit-\(.)"], options: {}}' \
		>"$WORK/w4-job.json"
	say "  POST /jobs with $W4_JOB_INPUTS inputs ($(du -h "$WORK/w4-job.json" | cut -f1)), $REPS repetitions; baseline: one INSERT ... SELECT of as many rows"
	for r in $(seq "$REPS"); do
		t=$(time_cmd sql "INSERT INTO jobs (status, inputs, action, options, created_at, updated_at)
			VALUES (1, '[]', 'noop', '{}', NOW(6), NOW(6)); SET @j = LAST_INSERT_ID();
			INSERT INTO work_units (status, job_id, input, action, position, input_is_json, created_at, updated_at)
			SELECT 1, @j, CONCAT('unit-', seq), 'noop', seq, 0, NOW(6), NOW(6) FROM seq_0_to_$((W4_JOB_INPUTS - 1));
			$(counters_sql @j)")
		rec w4.job_sql.s "$t" "s"
		sql "TRUNCATE work_units; DELETE FROM jobs"
		if line=$(client post "$WORK/w4-job.json"); then
			rec w4.job_create.s "$(awk -v m="$(kv "$line" post_ms)" 'BEGIN{printf "%.4f", m/1000}')" "s"
			[[ $(kv "$line" work_units) == "$W4_JOB_INPUTS" ]] || warn "the job has $(kv "$line" work_units) units, not $W4_JOB_INPUTS"
		else
			warn "POST of the big job failed"
		fi
		say "  rep $r: POST /jobs $(fmt "$(awk -v m="$(kv "${line:-}" post_ms)" 'BEGIN{print m/1000}')") s; SQL insert $(fmt "$t") s (load $(load1))"
		sql "TRUNCATE work_units; DELETE FROM jobs"
	done

	# -- queued units: dispatch pass and GET /status --------------------------------
	FPORT=$(free_port)
	"$BB/fake_node" "$FPORT" >"$WORK/fake_node.out" 2>&1 &
	BG_PIDS+=($!)
	JID=$(sql "INSERT INTO jobs (status, inputs, action, options, created_at, updated_at)
		VALUES (1, '[]', 'noop', '{}', NOW(6), NOW(6)); SELECT LAST_INSERT_ID()")
	have=0
	for n in $W4_SIZES; do
		t0=$(date +%s)
		while ((have < n)); do
			to=$((have + 200000 < n ? have + 200000 : n))
			sql "INSERT INTO work_units (status, job_id, input, action, position, input_is_json, created_at, updated_at)
				SELECT 1, $JID, CONCAT('unit-', seq), 'noop', seq, 0, NOW(6), NOW(6) FROM seq_$((have + 1))_to_$to" ||
				die "bulk load failed"
			have=$to
		done
		sql "$(counters_sql "$JID") ANALYZE TABLE work_units" >/dev/null
		purge_wait
		say "  $n units queued (loaded in $(($(date +%s) - t0)) s)"
		for r in $(seq "$REPS"); do
			if ((HAVE_PASS)) && line=$("$BB/pass_time" "$CROWD_CONF" "127.0.0.1:$FPORT" 9 "$WORK/pass_time.log"); then
				rec "w4.pass_ms.$n" "$(kv "$line" pass_p50_ms)" "ms"
				rec "w4.pass_queries.$n" "$(kv "$line" queries_per_pass)" ""
				rec "w4.pass_index_reads.$n" "$(kv "$line" index_reads_per_pass)" ""
				rec "w4.pass_sent.$n" "$(kv "$line" sent_per_pass)" ""
				rec "w4.maintain_ms.$n" "$(kv "$line" maintain_p50_ms)" "ms"
			else
				line=""
			fi
			sline=$(client get /status 9) || sline=""
			rec "w4.status_ms.$n" "$(kv "$sline" get_p50_ms)" "ms"
			jline=$(client get "/jobs/$JID" 3) || jline=""
			rec "w4.job_get_ms.$n" "$(kv "$jline" get_p50_ms)" "ms"
			say "    rep $r: pass $(fmt "$(kv "$line" pass_p50_ms)") ms ($(kv "$line" sent_per_pass) sent," \
				"$(kv "$line" queries_per_pass) queries, $(kv "$line" index_reads_per_pass) index entries read), sweeps $(fmt "$(kv "$line" maintain_p50_ms)") ms," \
				"GET /status $(fmt "$(kv "$sline" get_p50_ms)") ms, GET /jobs/$JID $(fmt "$(kv "$jline" get_p50_ms)") ms (load $(load1))"
		done
	done
	sql "TRUNCATE work_units; DELETE FROM jobs"
	sql "SET GLOBAL innodb_buffer_pool_size = $BP" 2>/dev/null || true
fi

# =================================================================================
# The table, the goals, the report
# =================================================================================
ROWS=()   # "workload|figure|value|unit|baseline name|baseline|ratio"
row() { ROWS+=("$1|$2|$3|$4|$5|$6|$(ratio "$3" "$6")"); }
GOALS=()  # "goal|measured|PASS/FAIL/n/a"
goal() { # goal TEXT MEASURED-TEXT CONDITION(awk expr, empty values = n/a)
	local res
	if [[ -z $3 ]]; then res=n/a
	elif awk "BEGIN{exit !($3)}"; then res=PASS
	else res=FAIL
	fi
	GOALS+=("$1|$2|$res")
}
W1C=$(med w1.crowd.units_per_s) W1S=$(med w1.ceiling.per_s) W1G=$(med w1.gearman.per_s)
row W1 "throughput, $W1_UNITS noop units (POST to succeeded)" "$W1C" "units/s" "spawn ceiling (posix_spawn, 4 at a time)" "$W1S"
row W1 "throughput, $W1_UNITS noop units (POST to succeeded)" "$W1C" "units/s" "gearmand in memory, 4 gearman -w" "$W1G"
row W1 "CPU per unit, all stack processes" "$(med w1.crowd.cpu_ms_per_unit.stack)" "ms" "spawn ceiling CPU per spawn" "$(med w1.ceiling.cpu_ms_per_spawn)"
row W1 "throughput, one job of $W5_UNITS units (W5 jobs)" "$(med w5.run.units_per_s)" "units/s" "spawn ceiling (posix_spawn, 4 at a time)" "$W1S"
row W1 "MariaDB index entries read per unit (Handler_read_next), $W5_UNITS-unit job" "$(med w5.run.db_per_unit.Handler_read_next)" "" "the same, $W1_UNITS-unit job" "$(med w1.crowd.db_per_unit.Handler_read_next)"
row W1 "MariaDB CPU per unit, $W5_UNITS-unit job" "$(med w5.run.cpu_ms_per_unit.mariadb)" "ms" "the same, $W1_UNITS-unit job" "$(med w1.crowd.cpu_ms_per_unit.mariadb)"
W2C=$(med w2.crowd.p50_ms) W2S=$(med w2.spawn.p50_ms)
row W2 "1-unit job latency p50 (poll 1 ms)" "$W2C" "ms" "one spawn of the action, p50" "$W2S"
row W2 "1-unit job latency p99" "$(med w2.crowd.p99_ms)" "ms" "one spawn of the action, p99" "$(med w2.spawn.p99_ms)"
row W2 "1-unit job latency p50" "$W2C" "ms" "one gearman task (fork per job), p50" "$(med w2.gearman.p50_ms)"
row W2 "of which POST /jobs (answered), p50" "$(med w2.crowd.post_p50_ms)" "ms" "one spawn of the action, p50" "$W2S"
row W3 "word_count, ${#FILES[@]} files with merge" "$(med w3.crowd.s)" "s" "the same stages run directly, 4 at a time" "$(med w3.direct.s)"
SIZES=($W4_SIZES)
FIRST=${SIZES[0]} LAST=${SIZES[-1]}
for n in "${SIZES[@]}"; do
	row W4 "dispatch pass (25 units sent), $n queued" "$(med "w4.pass_ms.$n")" "ms" "the same with $FIRST queued" "$(med "w4.pass_ms.$FIRST")"
done
for n in "${SIZES[@]}"; do
	row W4 "GET /status, $n queued" "$(med "w4.status_ms.$n")" "ms" "the same with $FIRST queued" "$(med "w4.status_ms.$FIRST")"
done
row W4 "POST /jobs, $W4_JOB_INPUTS inputs" "$(med w4.job_create.s)" "s" "INSERT ... SELECT of $W4_JOB_INPUTS rows" "$(med w4.job_sql.s)"
POOLRSS=$(med w5.during_w1.pool_rss_kb) NODERSS=$(med w5.during_w1.node_rss_kb)
row W5 "pool process RSS, largest during W1" "$POOLRSS" "kB" "goal 8 MB" 8192
row W5 "node agent RSS, largest during W1" "$NODERSS" "kB" "goal 4 MB" 4096
row W5 "pool process RSS, largest during W1" "$POOLRSS" "kB" "library floor: empty program linked like crowd-server" "$(med w5.floor.crowd-server)"
row W5 "node agent RSS, largest during W1" "$NODERSS" "kB" "library floor: empty program linked like crowd-node" "$(med w5.floor.crowd-node)"
row W5 "pool process private memory (USS), after W5" "$(med w5.pool_uss_kb)" "kB" "its RSS" "$(med w5.pool_rss_after_kb)"
row W5 "node agent private memory (USS), after W5" "$(med w5.node_uss_kb)" "kB" "its RSS" "$(med w5.node_rss_after_kb)"
row W5 "action process RSS (VmHWM), largest seen during W1" "$(med w5.during_w1.action_hwm_kb)" "kB" "" ""
row W5 "pool process RSS growth over a second $W5_UNITS-unit job" "$(med w5.pool_growth_kb)" "kB" "over the first" "$(med w5.pool_growth_first_kb)"
row W5 "node agent RSS growth over a second $W5_UNITS-unit job" "$(med w5.node_growth_kb)" "kB" "over the first" "$(med w5.node_growth_first_kb)"

r1=$(ratio "$W1C" "$W1S") r2=$(ratio "$W1C" "$W1G")
goal "W1 >= 0.8 x spawn ceiling" "x${r1:-n/a}" "${r1:+$r1 >= 0.8}"
goal "W1 >= 1.5 x gearmand" "x${r2:-n/a}" "${r2:+$r2 >= 1.5}"
r3=$(ratio "$W2C" "$W2S")
goal "W2 p50 <= 2 x one spawn" "x${r3:-n/a}" "${r3:+$r3 <= 2}"
sfx=""; [[ $LAST == 1000000 ]] || sfx=" (measured to $LAST only)"
r4=$(ratio "$(med "w4.pass_ms.$LAST")" "$(med "w4.pass_ms.$FIRST")")
goal "W4 dispatch pass grows < 2x from 1k to 1M$sfx" "x${r4:-n/a}" "${r4:+$r4 < 2}"
r5=$(ratio "$(med "w4.status_ms.$LAST")" "$(med "w4.status_ms.$FIRST")")
goal "W4 GET /status grows < 2x from 1k to 1M$sfx" "x${r5:-n/a}" "${r5:+$r5 < 2}"
s1m=$(med "w4.status_ms.$LAST")
goal "W4 GET /status < 50 ms at 1M$sfx" "$(fmt "$s1m") ms" "${s1m:+$s1m < 50}"
jc=$(med w4.job_create.s)
goal "W4 $W4_JOB_INPUTS-input job created < 5 s" "$(fmt "$jc") s" "${jc:+$jc < 5}"
goal "W5 pool process < 8 MB RSS" "$(fmt "$POOLRSS") kB" "${POOLRSS:+$POOLRSS < 8192}"
goal "W5 node agent < 4 MB RSS" "$(fmt "$NODERSS") kB" "${NODERSS:+$NODERSS < 4096}"
pg=$(med w5.pool_growth_kb) ng=$(med w5.node_growth_kb)
goal "W5 no growth over $W5_UNITS units (pool and node, <= 64 kB)" "pool +${pg:-n/a} kB, node +${ng:-n/a} kB" \
	"${pg:+${ng:+$pg <= 64 && $ng <= 64}}"

# -- where a unit's time goes (W1) -------------------------------------------------
BREAK=()
for part in pool node actions nginx mariadb dispatcher stack machine; do
	BREAK+=("CPU ms per unit: $part|$(med "w1.crowd.cpu_ms_per_unit.$part")")
done
for v in $DB_VARS; do BREAK+=("MariaDB $v per unit|$(med "w1.crowd.db_per_unit.$v")"); done

# -- print -------------------------------------------------------------------------
TABLE=$WORK/table.md
{
	printf '| | figure | CloudCrowd-C | baseline | baseline value | ratio |\n'
	printf '|---|---|---:|---|---:|---:|\n'
	for r in "${ROWS[@]}"; do
		IFS='|' read -r w f v u bn b ra <<<"$r"
		printf '| %s | %s | %s %s | %s | %s | %s |\n' "$w" "$f" "$(fmt "$v")" "$u" "${bn:--}" \
			"$([[ -n $b ]] && echo "$(fmt "$b") $u" || echo -)" "${ra:+x$ra}"
	done
	printf '\n| goal | measured | result |\n|---|---:|---|\n'
	for g in "${GOALS[@]}"; do
		IFS='|' read -r t m res <<<"$g"
		printf '| %s | %s | %s |\n' "$t" "$m" "$res"
	done
	printf '\n| W1, per unit (median of %s runs) | value |\n|---|---:|\n' "$REPS"
	for b in "${BREAK[@]}"; do
		IFS='|' read -r t v <<<"$b"
		printf '| %s | %s |\n' "$t" "$(fmt "$v")"
	done
	if [[ -s $SQL_PROFILE ]]; then
		printf '\n| SQL per unit (one %s-unit job, slow log at 0 s; top 12 by time) | statements | rows examined | DB ms |\n|---|---:|---:|---:|\n' "$W1_UNITS"
		head -n 12 "$SQL_PROFILE" | while IFS=$'\t' read -r pu rows ms _ st; do
			printf '| `%s` | %s | %s | %s |\n' "${st:0:100}" "$pu" "$rows" "$ms"
		done
	fi
} >"$TABLE"
echo
say "results (medians of $REPS; ratio = CloudCrowd-C / baseline):"
echo
cat "$TABLE"
echo
for g in "${GOALS[@]}"; do
	IFS='|' read -r t m res <<<"$g"
	printf '%-5s %s (%s)\n' "$res" "$t" "$m"
done
for k in "${!NOTE[@]}"; do warn "$k: ${NOTE[$k]}"; done

# -- JSON ---------------------------------------------------------------------------
T_END=$(date +%s)
{
	for k in "${!V[@]}"; do
		printf '%s\t%s\t%s\t%s\t%s\n' "$k" "${V[$k]}" "$(med "$k")" "${UNIT[$k]:-}" "${NOTE[$k]:-}"
	done
} >"$WORK/figures.tsv"
printf '%s\n' "${ROWS[@]}" >"$WORK/rows.txt"
printf '%s\n' "${GOALS[@]}" >"$WORK/goals.txt"
printf '%s\n' "${BREAK[@]}" >"$WORK/break.txt"
JSON=$OUTDIR/bench-$STAMP.json
jq -n \
	--arg started "$STAMP" --argjson seconds $((T_END - T_START)) \
	--arg command "make bench$( ((QUICK)) && echo ' (BENCH_QUICK=1)')" \
	--argjson reps "$REPS" --argjson quick "$QUICK" \
	--arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)" \
	--arg dirty "$(git -C "$REPO" status --porcelain 2>/dev/null | grep -c .)" \
	--arg kernel "$(uname -r)" --argjson cores "$(nproc)" --arg load "$(cat /proc/loadavg)" \
	--arg cpu "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
	--rawfile figures "$WORK/figures.tsv" --rawfile rows "$WORK/rows.txt" \
	--rawfile goals "$WORK/goals.txt" --rawfile brk "$WORK/break.txt" --rawfile sqlp "$SQL_PROFILE" '
	def num: if . == "" or . == null then null else (tonumber? // .) end;
	{
	  started: $started, seconds: $seconds, command: $command, repetitions: $reps,
	  quick: ($quick == 1),
	  machine: {cores: $cores, cpu: $cpu, kernel: $kernel, loadavg_at_end: $load},
	  git: {commit: $commit, changed_files: ($dirty | tonumber)},
	  table: [$rows | split("\n")[] | select(length > 0) | split("|") |
	          {workload: .[0], figure: .[1], value: (.[2] | num), unit: .[3],
	           baseline: (if .[4] == "" then null else .[4] end), baseline_value: (.[5] | num),
	           ratio: (.[6] | num)}],
	  goals: [$goals | split("\n")[] | select(length > 0) | split("|") |
	          {goal: .[0], measured: .[1], result: .[2]}],
	  per_unit_w1: [$brk | split("\n")[] | select(length > 0) | split("|") |
	          {figure: .[0], value: (.[1] | num)}],
	  sql_per_unit_w1: [$sqlp | split("\n")[] | select(length > 0) | split("\t") |
	          {statements_per_unit: (.[0] | num), rows_examined_per_unit: (.[1] | num),
	           db_ms_per_unit: (.[2] | num), executions: (.[3] | num), statement: .[4]}],
	  figures: ([$figures | split("\n")[] | select(length > 0) | split("\t") |
	          {key: .[0], value: ({runs: (.[1] | split(" ") | map(num)), median: (.[2] | num),
	                               unit: .[3]} + (if .[4] != "" then {note: .[4]} else {} end))}]
	          | sort_by(.key) | from_entries)
	}' >"$JSON" || die "writing $JSON failed"
cp -f "$JSON" "$OUTDIR/latest.json"
{
	printf 'Measured by `make bench%s` on %s (%s cores, %s), commit %s, %s UTC; medians of %s.\n\n' \
		"$( ((QUICK)) && echo ' BENCH_QUICK=1')" "$(hostname)" "$(nproc)" \
		"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
		"$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)" "$STAMP" "$REPS"
	cat "$TABLE"
} >"$OUTDIR/latest.md"
echo
say "report: $JSON (and var/bench/latest.json, var/bench/latest.md); $((T_END - T_START)) s in all"
