/* main.c - ccdistribute: reservation, dispatch and callbacks, outside
 * any request path. One pass by default (cron runs it every minute as a
 * safety net). --loop is the dispatcher of a central host:
 * - it listens on PID_PATH/ccdistribute.sock (central/wake.h), where pool
 *   processes wake it the moment units become available or slots free;
 *   SIGUSR1 does the same; a wake-up during a pass makes one more pass
 *   right after it, so none is lost; a wake-up may ask for a pass later
 *   (a retry's backoff), and a pass runs every dispatch_interval seconds
 *   anyway (the slow sweeps: silent nodes, expired leases);
 * - callbacks go out from a child process of its own (concurrently, see
 *   central/callback.h), so a receiver that hangs never delays dispatch,
 *   and a node that hangs never delays a callback; the child is restarted
 *   if it dies and dies with its parent;
 * - while MySQL is away it keeps running, trying again with backoff, and
 *   goes on when MySQL is back.
 * Exit codes (core/exitcode.h): a single pass that failed exits
 * CC_EXIT_FAILED; the database unreachable at the start of a single pass,
 * CC_EXIT_DB; --loop when another one listens on this host's socket,
 * CC_EXIT_DAEMON. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "central/callback.h"
#include "central/dispatch.h"
#include "central/wake.h"
#include "core/clock.h"
#include "core/exitcode.h"
#include "core/http.h"
#include "core/log.h"
#include "core/version.h"

static volatile sig_atomic_t stopping, wake;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		wake = 1;
	else if (sig != SIGCHLD)
		stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ccdistribute [-c CONFIG_DIR] [--loop] [--interval S] [-v]\n"
		"  Reserve available work units and send them to nodes; deliver\n"
		"  due callbacks.\n"
		"  -c DIR        config folder (default $CROWD_CONFIG, else\n"
		"                $CLOUD_CROWD_CONFIG, else ./config)\n"
		"  --loop        keep running: the dispatcher of this central host,\n"
		"                woken by the pool (PID_PATH/ccdistribute.sock) or\n"
		"                SIGUSR1, and a pass every interval\n"
		"  --interval S  seconds between passes (default dispatch_interval)\n"
		"  -v            log at debug level (default: log_level of\n"
		"                crowd.conf)\n"
		"Logs go to stderr, with or without --loop: `crowd server start`\n"
		"sends them to LOG_PATH/ccdistribute.out, systemd to its journal.\n"
		"Cron (safety net):  * * * * *  ccdistribute -c /etc/cloud-crowd\n");
}

/* complain - log a failure, but the same one at most once a minute (a
 * database outage would otherwise fill the log). */
static void complain(const char *what, const struct cc_err *err)
{
	static char last[sizeof(err->msg) + 64];
	static double when;
	char line[sizeof(last)];

	snprintf(line, sizeof(line), "%s: %s", what, err->msg);
	if (!strcmp(line, last) && cc_clock_now() - when < 60)
		return;
	snprintf(last, sizeof(last), "%s", line);
	when = cc_clock_now();
	cc_error("%s", line);
}

static int dispatch_once(struct cc_db *db, const struct cc_config *cfg,
			 struct cc_dispatcher *d, int sweeps)
{
	struct cc_err err = { 0 };
	struct cc_dispatch_stats st;
	int rc = 0;

	if (sweeps && cc_dispatch_maintain(db, cfg, &err) < 0) {
		complain("sweeps", &err);
		rc = -1;
	}
	if (cc_dispatch_pass(d, db, &st, &err) < 0) {
		complain("dispatch pass", &err);
		rc = -1;
	} else if (st.sent || st.refused || st.unreachable) {
		cc_info("pass: %d sent, %d refused (busy), %d nodes unreachable, "
			"%d rounds", st.sent, st.refused, st.unreachable, st.rounds);
	}
	return rc;
}

/* ---- the callbacks child ------------------------------------------------ */

/* callbacks_main - deliver callbacks until stopped: due ones are looked
 * for when a pool process wakes this process (a job completed: its own
 * socket, PID_PATH/ccdistribute-callbacks.sock), when a delivery ends,
 * and every few seconds (retries come due). fd is the read end of a pipe
 * from the parent: its end (the parent closed it) means stop. */
static int callbacks_main(const struct cc_config *cfg, int fd, int interval)
{
	struct cc_db *db = cc_db_new(cfg);
	struct cc_callbacks *cb = cc_callbacks_new(cfg);
	struct cc_err err = { 0 };
	double next_look = 0;
	int step = interval < 5 ? interval : 5;
	int wfd;

	cc_log_init("ccdistribute[callbacks]");
	if (!db || !cb) {
		cc_error("out of memory");
		return CC_EXIT_FAILED;
	}
	wfd = cc_wake_listen(cfg, CC_WAKE_CALLBACKS, &err);
	if (wfd < 0)               /* still delivers, on its timer */
		cc_error("%s", err.msg);
	while (!stopping) {
		int fds[2] = { fd, wfd };
		int left, wait_ms, dispatch = 0, callbacks = 0;
		char buf[64];

		if (cc_clock_now() >= next_look) {
			if (cc_callbacks_start_due(cb, db, &err) < 0)
				complain("callbacks", &err);
			next_look = cc_clock_now() + step;
		}
		wait_ms = (int)((next_look - cc_clock_now()) * 1000);
		left = cc_callbacks_wait(cb, db, fds, 2, wait_ms > 0 ? wait_ms : 0, &err);
		if (left < 0)
			complain("callbacks", &err);
		if (wfd >= 0 && cc_wake_drain(wfd, &dispatch, &callbacks, NULL, 0) > 0 &&
		    callbacks)
			next_look = 0;     /* woken: look now */
		if (read(fd, buf, sizeof(buf)) == 0)
			stopping = 1;      /* the parent closed the pipe */
	}
	cc_wake_close(cfg, CC_WAKE_CALLBACKS, wfd);
	cc_callbacks_free(cb);
	cc_db_free(db);
	return CC_EXIT_OK;
}

/* start_callbacks - fork the child; *fd gets the write end of its pipe
 * (closed to stop it). Returns the pid, or -1. */
static pid_t start_callbacks(const struct cc_config *cfg, int interval, int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0) {
		cc_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		_exit(callbacks_main(cfg, p[0], interval));
	}
	close(p[0]);
	if (pid < 0) {
		cc_error("fork: %s", strerror(errno));
		close(p[1]);
		return -1;
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	*fd = p[1];
	cc_info("callbacks: delivered by process %d", (int)pid);
	return pid;
}

/* ---- the loop ------------------------------------------------------------ */

static int run_loop(const struct cc_config *cfg, int interval)
{
	struct cc_err err = { 0 };
	struct cc_db *db = cc_db_new(cfg);
	struct cc_dispatcher *d = cc_dispatcher_new(cfg);
	double next_pass = 0, last_sweep = 0, child_due = 0;
	struct cc_wake_dues dues = { .n = 0 };   /* passes asked for later */
	pid_t child = -1;
	int cb_fd = -1, backoff = 0;
	int wfd;

	if (!db || !d) {
		fprintf(stderr, "ccdistribute: out of memory\n");
		return CC_EXIT_FAILED;
	}
	wfd = cc_wake_listen(cfg, CC_WAKE_DISPATCH, &err);
	if (wfd < 0) {
		fprintf(stderr, "ccdistribute: %s\n", err.msg);
		cc_error("%s", err.msg);
		cc_dispatcher_free(d);
		cc_db_free(db);
		return CC_EXIT_DAEMON;
	}
	{
		struct sigaction sa = { 0 };
		sa.sa_handler = on_signal;   /* a child's end interrupts poll() */
		sigaction(SIGCHLD, &sa, NULL);
	}
	cc_info("dispatching on wake-ups (%s/ccdistribute.sock, SIGUSR1) and "
		"every %d s", cfg->pid_path, interval);
	while (!stopping) {
		struct pollfd pfd = { .fd = wfd, .events = POLLIN };
		/* callbacks: ignored here (the pool wakes the callbacks
		 * child on its own socket) */
		int dispatch = 0, callbacks = 0, timeout;
		double t;
		pid_t dead;

		/* the callbacks child: reaped and restarted (1 s, doubling to
		 * 30 s when it keeps dying) */
		while ((dead = waitpid(-1, NULL, WNOHANG)) > 0)
			if (dead == child) {
				cc_warn("callbacks process %d ended", (int)child);
				child = -1;
				close(cb_fd);
				cb_fd = -1;
				backoff = backoff ? (backoff < 30 ? backoff * 2 : 30) : 1;
				child_due = cc_clock_now() + backoff;
			}
		if (child < 0 && cc_clock_now() >= child_due) {
			child = start_callbacks(cfg, interval, &cb_fd);
			if (child < 0)
				child_due = cc_clock_now() + 5;
		}
		t = cc_clock_now();
		timeout = next_pass > t ? (int)((next_pass - t) * 1000) + 1 : 0;
		if (child < 0 && timeout > 1000)
			timeout = 1000;
		if (!wake)
			poll(&pfd, 1, timeout);
		cc_wake_drain(wfd, &dispatch, &callbacks, &dues, cc_clock_now());
		if (wake) {
			wake = 0;
			dispatch = 1;
		}
		t = cc_clock_now();
		if (dispatch)
			next_pass = t;
		if (cc_wake_due_next(&dues) < next_pass)
			next_pass = cc_wake_due_next(&dues);
		if (stopping || t < next_pass)
			continue;
		dispatch_once(db, cfg, d, t - last_sweep >= 1.0);
		if (t - last_sweep >= 1.0)
			last_sweep = t;
		cc_wake_due_done(&dues, t);    /* this pass was the one asked for */
		next_pass = cc_clock_now() + interval;
		if (cc_wake_due_next(&dues) < next_pass)
			next_pass = cc_wake_due_next(&dues);
		if (child >= 0 && cc_clock_now() - child_due > 60)
			backoff = 0;       /* it has lived a minute: forgive */
	}
	if (cb_fd >= 0)
		close(cb_fd);      /* the child sees the end of its pipe */
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	cc_wake_close(cfg, CC_WAKE_DISPATCH, wfd);
	cc_dispatcher_free(d);
	cc_db_free(db);
	cc_info("stopped");
	return CC_EXIT_OK;
}

static int run_once(const struct cc_config *cfg)
{
	struct cc_err err = { 0 };
	struct cc_db *db = cc_db_connect(cfg, &err);
	struct cc_dispatcher *d;
	int delivered = 0, rc;

	if (!db || cc_db_check_schema(db, &err) < 0) {
		fprintf(stderr, "ccdistribute: %s\n", err.msg);
		cc_db_free(db);
		return CC_EXIT_DB;
	}
	d = cc_dispatcher_new(cfg);
	if (!d) {
		fprintf(stderr, "ccdistribute: out of memory\n");
		cc_db_free(db);
		return CC_EXIT_FAILED;
	}
	rc = dispatch_once(db, cfg, d, 1);
	if (cc_callback_deliver_due(db, cfg, &delivered, &err) < 0) {
		cc_error("callbacks: %s", err.msg);
		rc = -1;
	}
	cc_dispatcher_free(d);
	cc_db_free(db);
	return rc < 0 ? CC_EXIT_FAILED : CC_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "loop", no_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0, 0, 0, 0 },
	};
	static struct cc_config cfg;
	struct cc_err err = { 0 };
	struct sigaction sa = { 0 };
	char dir[CC_PATH_LEN];
	const char *cdir = NULL;
	int c, loop = 0, interval = -1, verbose = 0;

	cc_log_init("ccdistribute");
	while ((c = getopt_long(argc, argv, "c:li:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cdir = optarg; break;
		case 'l': loop = 1; break;
		case 'i':
			interval = atoi(optarg);
			if (interval < 1) {
				fprintf(stderr, "ccdistribute: --interval takes whole seconds >= 1\n");
				return CC_EXIT_USAGE;
			}
			break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return CC_EXIT_OK;
		case 'V': printf("ccdistribute %s\n", CC_VERSION); return CC_EXIT_OK;
		default: usage(stderr); return CC_EXIT_USAGE;
		}
	}
	if (!cc_config_find_dir(cdir, dir)) {
		fprintf(stderr, "ccdistribute: the config folder's path is too long\n");
		return CC_EXIT_CONFIG;
	}
	if (cc_config_load(&cfg, dir, &err) < 0) {
		fprintf(stderr, "ccdistribute: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}
	cc_log_set_level(verbose ? "debug" : cfg.log_level);
	if (verbose)
		cc_debug("logging at debug level (-v)");
	if (interval < 0)
		interval = cfg.dispatch_interval;
	if (cc_http_global_init() < 0) {
		fprintf(stderr, "ccdistribute: cannot initialise libcurl\n");
		return CC_EXIT_FAILED;
	}
	sa.sa_handler = on_signal;     /* no SA_RESTART: poll() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return loop ? run_loop(&cfg, interval) : run_once(&cfg);
}
