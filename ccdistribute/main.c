/* main.c - ccdistribute: reservation and dispatch outside the request
 * path. One pass by default (cron runs it every minute as a safety net);
 * --loop repeats every dispatch_interval seconds, and SIGUSR1 asks for a
 * pass now: a request that arrives during a pass makes another pass run
 * right after it, so no wake-up is lost. Each pass also runs the slow
 * sweeps (silent nodes, expired leases) and delivers due callbacks.
 * Exit codes (core/exitcode.h): a single pass that failed exits
 * CC_EXIT_FAILED; the database unreachable at start, CC_EXIT_DB. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "central/callback.h"
#include "central/dispatch.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/version.h"

static volatile sig_atomic_t stopping, wake;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		wake = 1;
	else
		stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ccdistribute [-c CONFIG_DIR] [--loop] [--interval S] [-v]\n"
		"  Reserve available work units and send them to nodes.\n"
		"  -c DIR        config folder (default $CLOUD_CROWD_CONFIG, else ./config)\n"
		"  --loop        keep running: a pass every interval, or on SIGUSR1\n"
		"  --interval S  seconds between passes (default dispatch_interval)\n"
		"  -v            also log to stderr when --loop logs to a file\n"
		"Cron (safety net):  * * * * *  ccdistribute -c /etc/cloud-crowd\n");
}

static int one_pass(struct cc_db *db, const struct cc_config *cfg,
		    struct cc_dispatcher *d, struct cc_http *http)
{
	struct cc_err err = { 0 };
	struct cc_dispatch_stats st;
	int delivered = 0;
	int rc = 0;

	if (cc_dispatch_maintain(db, cfg, &err) < 0) {
		cc_error("sweeps: %s", err.msg);
		rc = -1;
	}
	if (cc_dispatch_pass(d, db, &st, &err) < 0) {
		cc_error("dispatch pass: %s", err.msg);
		rc = -1;
	} else if (st.sent || st.refused || st.unreachable) {
		cc_info("pass: %d sent, %d refused (busy), %d nodes unreachable, "
			"%d rounds", st.sent, st.refused, st.unreachable, st.rounds);
	}
	if (cc_callback_deliver_due(db, cfg, http, &delivered, &err) < 0) {
		cc_error("callbacks: %s", err.msg);
		rc = -1;
	}
	return rc;
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
	struct cc_db *db = NULL;
	struct cc_dispatcher *d = NULL;
	struct cc_http *http = NULL;
	struct sigaction sa = { 0 };
	char dir[CC_PATH_LEN];
	const char *cdir = NULL;
	int c, loop = 0, interval = -1, rc;

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
		case 'v': break;
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
	cc_log_set_level(cfg.log_level);
	if (interval < 0)
		interval = cfg.dispatch_interval;
	if (cc_http_global_init() < 0) {
		fprintf(stderr, "ccdistribute: cannot initialise libcurl\n");
		return CC_EXIT_FAILED;
	}
	db = cc_db_connect(&cfg, &err);
	if (!db || cc_db_check_schema(db, &err) < 0) {
		fprintf(stderr, "ccdistribute: %s\n", err.msg);
		cc_db_free(db);
		return CC_EXIT_DB;
	}
	d = cc_dispatcher_new(&cfg);
	http = cc_http_new(&cfg);
	if (!d || !http) {
		fprintf(stderr, "ccdistribute: out of memory\n");
		return CC_EXIT_FAILED;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!loop) {
		rc = one_pass(db, &cfg, d, http) < 0 ? CC_EXIT_FAILED : CC_EXIT_OK;
	} else {
		cc_info("dispatching every %d s (SIGUSR1 for a pass now)", interval);
		rc = CC_EXIT_OK;
		while (!stopping) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			wake = 0;
			one_pass(db, &cfg, d, http);
			/* Sleep in short steps so SIGUSR1 or a stop is seen soon. */
			for (int i = 0; i < interval * 10 && !wake && !stopping; i++)
				nanosleep(&ts, NULL);
		}
		cc_info("stopped");
	}
	cc_http_free(http);
	cc_dispatcher_free(d);
	cc_db_free(db);
	return rc;
}
