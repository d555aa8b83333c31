/* main.c - crowd-node: the node agent of one machine. Options and config,
 * then in this order: listen (so that central never learns of a node that
 * cannot take work, PITFALLS 6), check in (fatal if central cannot be
 * reached), start the check-in thread, and wait for a signal in the main
 * thread (every other thread has SIGTERM, SIGINT, SIGQUIT and SIGHUP
 * blocked, inherited from here).
 *
 * Shutdown (SIGTERM, SIGINT, SIGQUIT): stop accepting, give running units
 * NODE_SHUTDOWN_GRACE seconds to finish and report, then check out (which
 * makes central release whatever is left) and exit 0. Actions still running
 * then are left alone, as the original left its workers: they run in their
 * own process groups and die of SIGPIPE if they write after we are gone;
 * their units were released by the check-out and run again elsewhere. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "core/fs.h"
#include "core/log.h"
#include "node.h"

enum { EXIT_USAGE = 2, EXIT_CONFIG = 2, EXIT_START = 1 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-node [-c CONFDIR] [-p PORT] [-t TAG] [-H HOST] [-v]\n"
		"  -c DIR   config folder (default $CLOUD_CROWD_CONFIG, else ./config)\n"
		"  -p PORT  port to listen on (default node_port, 9063; 0 = any)\n"
		"  -t TAG   tag shown for this node (default node_tag)\n"
		"  -H HOST  name or address central reaches this node at\n"
		"           (default node_host, else the hostname)\n"
		"  -v       log to stderr instead of log_path/node-PORT.log\n"
		"The node registers with central_server, runs the work units it is\n"
		"sent (POST /work) and reports their results. SIGTERM, SIGINT or\n"
		"SIGQUIT check it out and stop it.\n\n");
	cc_config_print_help(out);
}

/* Descriptors 0-2 must exist: the spawn's dup2 onto them would otherwise
 * clash with a pipe that landed there. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int nfd = open("/dev/null", O_RDWR);
			if (nfd >= 0 && nfd != fd)
				close(nfd);
		}
}

static int host_ok(const char *h)
{
	if (!*h)
		return 0;
	for (; *h; h++)
		if (*h <= ' ' || *h == '/' || *h == '?' || *h == '#' || *h == '%' ||
		    (unsigned char)*h >= 0x7f)
			return 0;
	return 1;
}

static int setup_sync(struct node *n)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_mutex_init(&n->lock, NULL) ||
	    pthread_mutex_init(&n->checkin_lock, NULL) ||
	    pthread_cond_init(&n->cond, &ca) ||
	    pthread_cond_init(&n->checkin_cond, &ca))
		return -1;
	pthread_condattr_destroy(&ca);
	return 0;
}

static int prepare(struct node *n, const char *host, const char *tag,
		   struct cc_err *err)
{
	char exe[PATH_MAX], abs_tmp[PATH_MAX];
	struct timeval tv;
	ssize_t l;
	size_t cl;

	if (host && *host)
		snprintf(n->host, sizeof(n->host), "%s", host);
	else if (*n->cfg.node_host)
		snprintf(n->host, sizeof(n->host), "%s", n->cfg.node_host);
	else if (gethostname(n->host, sizeof(n->host) - 1) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "gethostname: %s", strerror(errno));
	if (!host_ok(n->host))
		return cc_err_set(err, CC_ERR_INTERNAL, "host '%s' is not a host name or address",
				  n->host);
	snprintf(n->tag, sizeof(n->tag), "%s", tag ? tag : n->cfg.node_tag);
	snprintf(n->central, sizeof(n->central), "%s", n->cfg.central_server);
	cl = strlen(n->central);
	while (cl && n->central[cl - 1] == '/')
		n->central[--cl] = '\0';
	n->max_body = (size_t)n->cfg.max_body_kb * 1024;

	/* Our own folder holds crowd-save and crowd-download too. */
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "/proc/self/exe: %s", strerror(errno));
	exe[l] = '\0';
	snprintf(n->bin_dir, sizeof(n->bin_dir), "%s", dirname(exe));

	/* Scratch folders must have absolute paths: actions get them in
	 * CROWD_WORK_DIR and CROWD_INPUT_PATH and may change directory. */
	if (cc_fs_mkdirs(n->cfg.temp_storage_path, 0755, err) < 0)
		return -1;
	if (!realpath(n->cfg.temp_storage_path, abs_tmp))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", n->cfg.temp_storage_path,
				  strerror(errno));
	snprintf(n->cfg.temp_storage_path, sizeof(n->cfg.temp_storage_path), "%s",
		 abs_tmp);

	n->enabled_actions = cc_action_list(&n->cfg, 1, err);
	if (!n->enabled_actions)
		return -1;
	gettimeofday(&tv, NULL);
	snprintf(n->instance, sizeof(n->instance), "%d.%lld", (int)getpid(),
		 (long long)tv.tv_sec * 1000000 + tv.tv_usec);
	return 0;
}

static void open_log(struct node *n)
{
	char path[CC_PATH_LEN + 32];
	struct cc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/node-%d.log", n->cfg.log_path, n->port);
	if (cc_fs_mkdirs(n->cfg.log_path, 0755, &err) < 0 || cc_log_open(path) < 0) {
		cc_warn("cannot open log %s (%s); logging to stderr", path,
			err.msg[0] ? err.msg : strerror(errno));
		return;
	}
	fprintf(stderr, "crowd-node %s: logging to %s\n", n->identity, path);
	/* A person at a terminal sees the lines as well. */
	cc_log_tee(isatty(2));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct node node;
	struct node *n = &node;
	const char *confdir = NULL, *host = NULL, *tag = NULL;
	struct MHD_Daemon *httpd = NULL;
	struct cc_err err = { 0 };
	char dir[CC_PATH_LEN];
	int port = -1, verbose = 0, opt, sig, left;
	sigset_t sigs;

	/* A thread per connection and per unit would each get a malloc arena
	 * of its own (up to 8 per core), most of it idle memory: they allocate
	 * little and seldom at once, so two arenas serve them all. */
	mallopt(M_ARENA_MAX, 2);
	cc_log_init("crowd-node");
	while ((opt = getopt_long(argc, argv, "c:p:t:H:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': confdir = optarg; break;
		case 't': tag = optarg; break;
		case 'H': host = optarg; break;
		case 'v': verbose = 1; break;
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end || end == optarg || p < 0 || p > 65535) {
				fprintf(stderr, "crowd-node: -p %s: not a port number\n",
					optarg);
				return EXIT_USAGE;
			}
			port = (int)p;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "crowd-node: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	ensure_std_fds();
	cc_config_find_dir(confdir, dir);
	if (cc_config_load(&n->cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return EXIT_CONFIG;
	}
	cc_log_set_level(n->cfg.log_level);
	n->port = port >= 0 ? port : n->cfg.node_port;
	if (prepare(n, host, tag, &err) < 0) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return EXIT_CONFIG;
	}

	/* Before any thread exists: the mask is inherited by all of them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cc_http_global_init() < 0 || setup_sync(n) < 0 ||
	    !(n->http = cc_http_new(&n->cfg))) {
		fprintf(stderr, "crowd-node: cannot initialise (out of memory?)\n");
		return EXIT_START;
	}
	node_update_overload(n);

	httpd = node_httpd_start(n, &err);
	if (!httpd) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return EXIT_START;
	}
	snprintf(n->identity, sizeof(n->identity), "%s:%d", n->host, n->port);
	if (!verbose)
		open_log(n);
	cc_info("listening on port %d as %s (instance %s); actions: %s", n->port,
		n->identity, n->instance,
		*n->enabled_actions ? n->enabled_actions : "(none)");

	if (node_check_in(n, &err) < 0) {
		cc_error("cannot check in with central at %s: %s", n->central, err.msg);
		fprintf(stderr, "crowd-node: cannot check in with central at %s: %s\n",
			n->central, err.msg);
		node_httpd_stop(httpd);
		return EXIT_START;
	}
	cc_info("checked in with %s", n->central);
	if (node_checkin_start(n) < 0) {
		cc_error("cannot start the check-in thread: %s", strerror(errno));
		node_httpd_stop(httpd);
		node_check_out(n);
		return EXIT_START;
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			cc_info("SIGHUP ignored (restart the node to reload its config)");
			continue;
		}
		break;
	}
	cc_info("%s received: stopping", sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
	__atomic_store_n(&n->stopping, 1, __ATOMIC_RELAXED);
	node_httpd_stop(httpd);
	node_checkin_stop(n);
	left = node_runs_wait(n, NODE_SHUTDOWN_GRACE);
	if (left)
		cc_warn("%d unit(s) still running after %d s; leaving them (central "
			"releases them at check-out)", left, NODE_SHUTDOWN_GRACE);
	node_check_out(n);
	cc_info("stopped");
	if (left)
		_exit(0);       /* runner threads still hold the node's state */
	cc_http_free(n->http);
	for (int i = 0; i < n->npool; i++)
		cc_http_free(n->pool[i]);
	free(n->pool);
	free(n->enabled_actions);
	return 0;
}
