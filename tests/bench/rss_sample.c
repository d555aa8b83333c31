/* rss_sample.c - W5 of `make bench`: resident memory of the central pool
 * processes, the node agent and the action processes while a job runs.
 *
 * Every INTERVAL_MS it reads VmRSS and VmHWM (/proc/PID/status) of the
 * node agent and of every child of the pool's parent process (the FastCGI
 * responders; the list is refreshed every second). Action processes live
 * a few milliseconds, so instead of scanning all of /proc it looks at the
 * newest pids (pids are handed out in order; /proc/loadavg names the last
 * one): a process whose parent is the node agent and whose executable is
 * ACTION_EXE (so it has exec'ed: before exec a posix_spawn child still
 * shows the node's memory) is an action process; the first 200 found are
 * followed every 0.1 ms until they exit, for their final peak.
 *
 * usage: rss_sample INTERVAL_MS POOL_PARENT_PID NODE_PID ACTION_EXE
 * Runs until SIGTERM/SIGINT, then prints one line:
 *   pool_rss_kb=<largest VmRSS of a pool child> pool_hwm_kb=..
 *   pool_parent_rss_kb=.. node_rss_kb=<largest> node_hwm_kb=..
 *   action_rss_kb=<largest> action_hwm_kb=.. action_seen=<processes seen>
 *   samples=N */
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXPOOL 256
#define SEEN 4096
#define FOLLOW 200

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* VmRSS and VmHWM in kB; 0 when the process is gone. */
static int mem(int pid, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	*rss = *hwm = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss = atol(line + 6);
		else if (!strncmp(line, "VmHWM:", 6))
			*hwm = atol(line + 6);
	}
	fclose(f);
	return 0;
}

static int ppid_of(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

static int children(int parent, int *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		int pid = atoi(e->d_name);
		if (pid > 0 && ppid_of(pid) == parent)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

static int last_pid(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	int pid = 0;

	if (f) {
		if (fscanf(f, "%*s %*s %*s %*s %d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int pool[MAXPOOL], npool = 0, pool_parent, node, interval;
	int seen[SEEN], nseen = 0, samples = 0, followed = 0;
	long pool_rss = 0, pool_hwm = 0, parent_rss = 0, node_rss = 0, node_hwm = 0;
	long act_rss = 0, act_hwm = 0, r, h;
	char exe[PATH_MAX];
	struct sigaction sa = { 0 };
	double last_scan = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: rss_sample INTERVAL_MS POOL_PARENT_PID NODE_PID ACTION_EXE\n");
		return 2;
	}
	interval = atoi(argv[1]);
	pool_parent = atoi(argv[2]);
	node = atoi(argv[3]);
	if (!realpath(argv[4], exe)) {
		perror(argv[4]);
		return 2;
	}
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stopping) {
		struct timespec ts;
		double t;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		if (t - last_scan >= 1.0) {
			npool = children(pool_parent, pool, MAXPOOL);
			last_scan = t;
		}
		for (int i = 0; i < npool; i++) {
			if (mem(pool[i], &r, &h) == 0) {
				if (r > pool_rss)
					pool_rss = r;
				if (h > pool_hwm)
					pool_hwm = h;
			}
		}
		if (mem(pool_parent, &r, &h) == 0 && r > parent_rss)
			parent_rss = r;
		if (mem(node, &r, &h) == 0) {
			if (r > node_rss)
				node_rss = r;
			if (h > node_hwm)
				node_hwm = h;
		}
		/* the newest pids: action processes live for a few ms */
		int top = last_pid();
		for (int pid = top; pid > top - 24 && pid > 1; pid--) {
			char link[64], target[PATH_MAX];
			ssize_t n;

			if (ppid_of(pid) != node)
				continue;
			snprintf(link, sizeof(link), "/proc/%d/exe", pid);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, exe) || mem(pid, &r, &h) < 0)
				continue;
			/* Follow it to its end (every 0.1 ms, at most 50 ms) for
			 * its final peak: a first look may be mid-start-up. Only
			 * the first FOLLOW processes, to keep the cost small. */
			if (followed < FOLLOW) {
				struct timespec tick = { 0, 100000 };
				long r2, h2;
				followed++;
				for (int k = 0; k < 500 && mem(pid, &r2, &h2) == 0 && h2 > 0; k++) {
					if (r2 > r)
						r = r2;
					if (h2 > h)
						h = h2;
					nanosleep(&tick, NULL);
				}
			}
			if (r > act_rss)
				act_rss = r;
			if (h > act_hwm)
				act_hwm = h;
			int known = 0;
			for (int k = 0; k < nseen; k++)
				known |= seen[k] == pid;
			if (!known && nseen < SEEN)
				seen[nseen++] = pid;
		}
		samples++;
		ts.tv_sec = interval / 1000;
		ts.tv_nsec = (long)(interval % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	printf("pool_rss_kb=%ld pool_hwm_kb=%ld pool_parent_rss_kb=%ld node_rss_kb=%ld "
	       "node_hwm_kb=%ld action_rss_kb=%ld action_hwm_kb=%ld action_seen=%d "
	       "samples=%d\n", pool_rss, pool_hwm, parent_rss, node_rss, node_hwm,
	       act_rss, act_hwm, nseen, samples);
	return 0;
}
