/* main.c - crowd-node: the node agent of one machine. Options and config,
 * then in this order: listen (so that central never learns of a node that
 * cannot take work, PITFALLS 6), check in (fatal if central cannot be
 * reached), start the check-in thread, and wait for a signal in the main
 * thread (every other thread has SIGTERM, SIGINT, SIGQUIT, SIGHUP and
 * SIGCHLD blocked, inherited from here). A port in use is an error, never
 * a shared listener (httpd.c), found before any check-in: a second node
 * on our port cannot take over our registration or check us out.
 *
 * The node is a child subreaper (proc.h): whatever a unit's action starts
 * and leaves behind, even outside its process group (setsid), is
 * re-parented to us and killed once the unit's action has ended. The main
 * thread also waits for SIGCHLD and, on it and every REAP_INTERVAL
 * seconds, reaps and kills such orphans (cc_proc_reap_orphans).
 *
 * Shutdown (SIGTERM, SIGINT, SIGQUIT): stop accepting, give running units
 * NODE_SHUTDOWN_GRACE seconds to finish and report, then check out (which
 * makes central release whatever is left) and exit 0. Actions still running
 * then are left alone, as the original left its workers: they run in their
 * own process groups and die of SIGPIPE if they write after we are gone;
 * their units were released by the check-out and run again elsewhere.
 *
 * Exit codes (core/exitcode.h): CC_EXIT_USAGE for a bad option or -H,
 * CC_EXIT_CONFIG for the config (or a node_host, temp or log folder that
 * will not do), CC_EXIT_DAEMON when the port cannot be listened on,
 * CC_EXIT_CENTRAL when central refuses or cannot be reached at start. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "core/exitcode.h"
#include "core/fs.h"
#include "core/hostport.h"
#include "core/log.h"
#include "core/version.h"
#include "model/action.h"
#include "proc/proc.h"
#include "node.h"

#define REAP_INTERVAL 2        /* s between passes over orphans */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-node [-c CONFDIR] [-p PORT] [-t TAG] [-H HOST] [-v] [--version]\n"
		"  -c DIR   config folder (default $CROWD_CONFIG, else\n"
		"           $CLOUD_CROWD_CONFIG, else ./config)\n"
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

/* Copy s into out (n bytes) if it fits whole; 1 if it did, else 0 with
 * out unchanged. */
static int fits(char *out, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len >= n)
		return 0;
	memcpy(out, s, len + 1);
	return 1;
}

static int prepare(struct node *n, const char *host, const char *tag,
		   struct cc_err *err)
{
	char exe[PATH_MAX], abs_tmp[PATH_MAX];
	struct timeval tv;
	ssize_t l;
	size_t cl;

	/* Checked before it is copied: a valid host always fits n->host. */
	if (!host || !*host)
		host = *n->cfg.node_host ? n->cfg.node_host : NULL;
	if (!host && gethostname(n->host, sizeof(n->host) - 1) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "gethostname: %s", strerror(errno));
	if (!host)
		host = n->host;
	if (!cc_host_name_valid(host))
		return cc_err_set(err, CC_ERR_INTERNAL, "host '%s' is not a host name, IPv4 "
				  "address or [IPv6] address", host);
	if (host != n->host)
		snprintf(n->host, sizeof(n->host), "%s", host);
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
	if (!fits(n->bin_dir, sizeof(n->bin_dir), dirname(exe)))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: path too long (at most %zu "
				  "characters)", exe, sizeof(n->bin_dir) - 1);

	/* Scratch folders must have absolute paths: actions get them in
	 * CROWD_WORK_DIR and CROWD_INPUT_PATH and may change directory. */
	if (cc_fs_mkdirs(n->cfg.temp_storage_path, 0755, err) < 0)
		return -1;
	if (!realpath(n->cfg.temp_storage_path, abs_tmp))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", n->cfg.temp_storage_path,
				  strerror(errno));
	if (!fits(n->cfg.temp_storage_path, sizeof(n->cfg.temp_storage_path), abs_tmp))
		return cc_err_set(err, CC_ERR_INTERNAL, "temp_storage_path %s: path too long "
				  "(at most %zu characters)", abs_tmp,
				  sizeof(n->cfg.temp_storage_path) - 1);

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

/* log_skipped_actions - one line for each folder of the actions folder
 * that the node does not offer, saying why (cc_action_list skips them
 * without a word, and central would then call the action unknown):
 * a name that is not [a-z0-9_]+, no process, or one that cannot run.
 * Hidden entries and plain files are not actions and are passed over. */
static void log_skipped_actions(const struct cc_config *cfg)
{
	DIR *d = opendir(cfg->actions_path);
	struct dirent *e;

	if (!d) {
		cc_warn("cannot read the actions folder %s: %s", cfg->actions_path,
			strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		char dir[CC_PATH_LEN + 300], proc[CC_PATH_LEN + 320];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", cfg->actions_path, e->d_name);
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(proc, sizeof(proc), "%s/process", dir);
		if (!cc_action_name_valid(e->d_name))
			cc_warn("skipping action '%.80s': action names are [a-z0-9_]+, "
				"at most %d characters (rename %s)", e->d_name,
				CC_ACTION_NAME_MAX, dir);
		else if (stat(proc, &st) < 0)
			cc_warn("skipping action '%s': %s is missing (%s)", e->d_name,
				proc, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			cc_warn("skipping action '%s': %s is not a file", e->d_name,
				proc);
		else if (access(proc, X_OK) < 0)
			cc_warn("skipping action '%s': %s is not executable (chmod +x "
				"it)", e->d_name, proc);
		else if (cc_config_action_disabled(cfg, e->d_name))
			cc_info("not offering action '%s': it is in disabled_actions",
				e->d_name);
	}
	closedir(d);
}

/* What the command line asked for. */
struct opts {
	const char *confdir, *host, *tag;
	int port;                     /* -1: node_port */
	int verbose;
};

/* Parse argv into o. Returns -1 to go on, else the exit code to leave
 * with (after --help or --version, or a bad command line). */
static int parse_options(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:p:t:H:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->confdir = optarg; break;
		case 't':
			if (strlen(optarg) >= CC_STR_LEN) {
				fprintf(stderr, "crowd-node: -t: longer than %d characters\n",
					CC_STR_LEN - 1);
				return CC_EXIT_USAGE;
			}
			o->tag = optarg;
			break;
		case 'H':
			if (!cc_host_name_valid(optarg)) {
				fprintf(stderr, "crowd-node: -H %s: not a host name, IPv4 "
					"address or [IPv6] address\n", optarg);
				return CC_EXIT_USAGE;
			}
			o->host = optarg;
			break;
		case 'v': o->verbose = 1; break;
		case 'p':
			if (cc_port_parse(optarg, &o->port) < 0) {
				fprintf(stderr, "crowd-node: -p %s: not a port number\n",
					optarg);
				return CC_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CC_EXIT_OK;
		case 'V': printf("crowd-node %s\n", CC_VERSION); return CC_EXIT_OK;
		default: usage(stderr); return CC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "crowd-node: unexpected argument '%s'\n", argv[optind]);
		return CC_EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct node node;
	struct node *n = &node;
	struct opts o = { .port = -1 };
	struct MHD_Daemon *httpd = NULL;
	struct cc_err err = { 0 }, reap_err = { 0 };
	struct timespec reap_every = { REAP_INTERVAL, 0 };
	char dir[CC_PATH_LEN];
	int rc, sig, left, reaping;
	sigset_t sigs;

	/* A thread per connection and per unit would each get a malloc arena
	 * of its own (up to 8 per core), most of it idle memory: they allocate
	 * little and seldom at once, so two arenas serve them all. */
	mallopt(M_ARENA_MAX, 2);
	cc_log_init("crowd-node");
	if ((rc = parse_options(argc, argv, &o)) >= 0)
		return rc;
	ensure_std_fds();
	if (!cc_config_find_dir(o.confdir, dir)) {
		fprintf(stderr, "crowd-node: the config folder's path is too long\n");
		return CC_EXIT_CONFIG;
	}
	if (cc_config_load(&n->cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}
	cc_log_set_level(n->cfg.log_level);
	n->port = o.port >= 0 ? o.port : n->cfg.node_port;
	if (prepare(n, o.host, o.tag, &err) < 0) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}

	/* Before any thread exists: the mask is inherited by all of them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Before any unit runs, so that none of its descendants escapes. */
	reaping = cc_proc_subreaper_start(&reap_err) == 0;

	if (cc_http_global_init() < 0 || setup_sync(n) < 0 ||
	    !(n->http = cc_http_new(&n->cfg))) {
		fprintf(stderr, "crowd-node: cannot initialise (out of memory?)\n");
		return CC_EXIT_FAILED;
	}
	node_update_overload(n);

	httpd = node_httpd_start(n, &err);
	if (!httpd) {
		fprintf(stderr, "crowd-node: %s\n", err.msg);
		return CC_EXIT_DAEMON;
	}
	/* n->host is a valid host (at most CC_HOST_NAME_MAX): it fits */
	rc = snprintf(n->identity, sizeof(n->identity), "%s:%d", n->host, n->port);
	if (rc < 0 || (size_t)rc >= sizeof(n->identity)) {
		fprintf(stderr, "crowd-node: %s:%d: too long\n", n->host, n->port);
		node_httpd_stop(httpd);
		return CC_EXIT_CONFIG;
	}
	if (!o.verbose)
		open_log(n);
	cc_info("listening on port %d as %s (instance %s); actions: %s", n->port,
		n->identity, n->instance,
		*n->enabled_actions ? n->enabled_actions : "(none)");
	log_skipped_actions(&n->cfg);
	if (!reaping)
		cc_warn("descendants that leave a unit's process group will not be "
			"killed: %s", reap_err.msg);

	if (node_check_in(n, &err) < 0) {
		cc_error("cannot check in with central at %s: %s", n->central, err.msg);
		fprintf(stderr, "crowd-node: cannot check in with central at %s: %s\n",
			n->central, err.msg);
		node_httpd_stop(httpd);
		return CC_EXIT_CENTRAL;
	}
	cc_info("checked in with %s", n->central);
	if (node_checkin_start(n) < 0) {
		cc_error("cannot start the check-in thread: %s", strerror(errno));
		node_httpd_stop(httpd);
		node_check_out(n);
		return CC_EXIT_FAILED;
	}

	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &reap_every);
		if (sig < 0 || sig == SIGCHLD) {
			/* a child exited, or time for a pass anyway */
			cc_proc_reap_orphans();
			continue;
		}
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
	return CC_EXIT_OK;
}
