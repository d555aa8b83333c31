/* spawn_ceiling.c - the spawn ceiling of `make bench` (W1 baseline a, W2
 * baseline): posix_spawn the action executable N times, P at a time, the
 * way the node agent runs a unit, with no job system around it.
 *
 * Each spawn: three pipes (stdin, stdout, stderr) dup2'ed onto 0-2 with
 * everything else closed, its own process group, the unit's environment
 * (CROWD_STAGE, CROWD_ACTION, CROWD_INPUT, CROWD_OPTIONS, CROWD_JOB_ID,
 * CROWD_WORK_UNIT_ID, CROWD_ATTEMPTS, CROWD_WORK_DIR, CROWD_CONFIG, PATH);
 * the parent writes the unit JSON to stdin, reads stdout and stderr to
 * EOF, reaps the child with wait4 and checks that the output is the input
 * (the noop action prints $CROWD_INPUT). P threads each do N/P spawns in
 * turn, as the node agent's unit threads do.
 *
 * usage: spawn_ceiling EXE N P
 * prints one line: rate=<spawns/s> n=N p=P p50_ms=.. p99_ms=.. max_ms=..
 *                  maxrss_kb=<largest ru_maxrss of a child> cpu_ms_per_spawn=..
 * Exit 1 when any spawn fails or prints something else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *exe;
static int total_n, nthreads;
static double *lat;             /* per spawn, seconds */
static long maxrss_kb;
static int failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, int i)
{
	pthread_mutex_lock(&mu);
	if (failures++ < 5)
		fprintf(stderr, "spawn_ceiling: spawn %d: %s\n", i, what);
	pthread_mutex_unlock(&mu);
}

/* One unit: returns 0 when the output matched. */
static int one(int i)
{
	char input[64], expect[80], unit[512], opts[128], n_id[32], n_job[32];
	char e_stage[] = "CROWD_STAGE=process", e_action[] = "CROWD_ACTION=noop";
	char e_input[96], e_opts[192], e_job[48], e_unit[48];
	char e_att[] = "CROWD_ATTEMPTS=0", e_dir[] = "CROWD_WORK_DIR=/tmp";
	char e_conf[] = "CROWD_CONFIG=/tmp", e_path[] = "PATH=/usr/bin:/bin";
	char *envp[11], *argv[2];
	int in[2], out[2], err[2], st;
	char buf[4096], got[256];
	size_t glen = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	struct rusage ru;
	pid_t pid;
	int rc;

	snprintf(input, sizeof(input), "\"unit-%d\"", i);
	snprintf(expect, sizeof(expect), "%s\n", input);
	snprintf(n_id, sizeof(n_id), "%d", i + 1);
	snprintf(n_job, sizeof(n_job), "%d", 1);
	snprintf(opts, sizeof(opts), "{\"job_id\":%s,\"work_unit_id\":%s,\"attempts\":0}",
		 n_job, n_id);
	snprintf(unit, sizeof(unit),
		 "{\"id\":%s,\"job_id\":%s,\"input\":\"unit-%d\",\"attempts\":0,"
		 "\"action\":\"noop\",\"options\":{},\"status\":1}", n_id, n_job, i);
	snprintf(e_input, sizeof(e_input), "CROWD_INPUT=%s", input);
	snprintf(e_opts, sizeof(e_opts), "CROWD_OPTIONS=%s", opts);
	snprintf(e_job, sizeof(e_job), "CROWD_JOB_ID=%s", n_job);
	snprintf(e_unit, sizeof(e_unit), "CROWD_WORK_UNIT_ID=%s", n_id);
	envp[0] = e_stage; envp[1] = e_action; envp[2] = e_input; envp[3] = e_opts;
	envp[4] = e_job; envp[5] = e_unit; envp[6] = e_att; envp[7] = e_dir;
	envp[8] = e_conf; envp[9] = e_path; envp[10] = NULL;
	argv[0] = (char *)exe;
	argv[1] = NULL;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		fail(strerror(errno), i);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	rc = posix_spawn(&pid, exe, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		fail(strerror(rc), i);
		return -1;
	}
	/* The unit JSON is far below a pipe buffer: one write, then EOF. */
	if (write(in[1], unit, strlen(unit)) < 0 && errno != EPIPE)
		fail("write to stdin", i);
	close(in[1]);
	struct pollfd pf[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (pf[k].fd < 0 || !pf[k].revents)
				continue;
			ssize_t n = read(pf[k].fd, buf, sizeof(buf));
			if (n > 0) {
				if (k == 0 && glen + (size_t)n < sizeof(got)) {
					memcpy(got + glen, buf, (size_t)n);
					glen += (size_t)n;
				}
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			close(pf[k].fd);
			pf[k].fd = -1;
			open_fds--;
		}
	}
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	got[glen] = '\0';
	pthread_mutex_lock(&mu);
	if (ru.ru_maxrss > maxrss_kb)
		maxrss_kb = ru.ru_maxrss;
	pthread_mutex_unlock(&mu);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || strcmp(got, expect)) {
		fail("bad exit status or output", i);
		return -1;
	}
	return 0;
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	for (int i = t; i < total_n; i += nthreads) {
		double t0 = now();
		one(i);
		lat[i] = now() - t0;
	}
	return NULL;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	pthread_t th[256];
	struct rusage self, kids;
	double t0, dt;

	if (argc != 4) {
		fprintf(stderr, "usage: spawn_ceiling EXE N P\n");
		return 2;
	}
	exe = argv[1];
	total_n = atoi(argv[2]);
	nthreads = atoi(argv[3]);
	if (total_n < 1 || nthreads < 1 || nthreads > 256 || access(exe, X_OK)) {
		fprintf(stderr, "spawn_ceiling: bad arguments (EXE must be executable)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lat = calloc((size_t)total_n, sizeof(*lat));
	if (!lat)
		return 1;
	t0 = now();
	for (long t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	dt = now() - t0;
	if (failures) {
		fprintf(stderr, "spawn_ceiling: %d of %d spawns failed\n", failures, total_n);
		return 1;
	}
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double cpu = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
			      kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
		     (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
			      kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
	qsort(lat, (size_t)total_n, sizeof(*lat), cmpd);
	int p99 = (int)((total_n - 1) * 0.99 + 0.5);
	printf("rate=%.1f n=%d p=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f maxrss_kb=%ld "
	       "cpu_ms_per_spawn=%.3f\n",
	       total_n / dt, total_n, nthreads, lat[total_n / 2] * 1000,
	       lat[p99] * 1000, lat[total_n - 1] * 1000, maxrss_kb,
	       cpu * 1000 / total_n);
	return 0;
}
