/* pool.c - see pool.h. One parent, server_workers children sharing one
 * listening socket (the kernel hands each connection to one accept()).
 * The parent only forks, waits and restarts; it holds no database
 * connection, so a child that dies takes nothing with it. A child does
 * not need the database to start (main.c opens it lazily and answers 503
 * while it is away), so an outage never stops the pool. A child that dies
 * within a second of its start is restarted after a backoff (1 s doubling
 * to 30 s) rather than at once, so a crash loop does not spin. Children
 * die with their parent (PR_SET_PDEATHSIG): none is left serving, unseen,
 * on a socket a new parent has replaced. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/version.h"
#include "pool.h"

#define MAX_CHILDREN 256

static volatile sig_atomic_t stopping, in_request, is_child;

/* libfcgi retries accept() on EINTR, so an idle child leaves at once; a
 * busy one finishes its request first. The handler is installed by the
 * parent before it forks: children inherit it (and the flags). */
static void on_stop(int sig)
{
	(void)sig;
	if (is_child && !in_request)
		_exit(0);
	stopping = 1;
}

int cc_pool_accept(FCGX_Request *r)
{
	in_request = 0;
	is_child = 1;
	if (stopping || FCGX_Accept_r(r) < 0)
		return -1;
	in_request = 1;
	return 0;
}

static int give_group(const struct cc_config *cfg)
{
	struct group *g = getgrnam(cfg->server_socket_group);

	if (!g) {
		cc_error("server_socket_group: no group '%s'", cfg->server_socket_group);
		fprintf(stderr, "crowd-server: server_socket_group: no group '%s'\n",
			cfg->server_socket_group);
		return -1;
	}
	if (chown(cfg->server_socket, (uid_t)-1, g->gr_gid) < 0) {
		int e = errno;
		cc_error("cannot give %s to group %s: %s (the pool's user must be "
			 "in that group: adduser USER %s)", cfg->server_socket,
			 g->gr_name, strerror(e), g->gr_name);
		fprintf(stderr, "crowd-server: cannot give %s to group %s: %s (the "
			"pool's user must be in that group)\n", cfg->server_socket,
			g->gr_name, strerror(e));
		return -1;
	}
	return 0;
}

/* The socket, readable and writable by nginx (mode 0660, see above);
 * a stale one from a crashed run is replaced. -1 (logged) on failure.
 * libfcgi exit()s with errno when bind or listen fails (os_unix.c,
 * OS_CreateLocalIpcFd), which would bypass our exit codes: a folder we
 * cannot create the socket in is refused here first. */
static int open_socket(const struct cc_config *cfg)
{
	char folder[sizeof(cfg->server_socket)];
	char *slash;
	int sock;

	memcpy(folder, cfg->server_socket, sizeof(folder));
	slash = strrchr(folder, '/');
	if (slash)
		*(slash == folder ? slash + 1 : slash) = '\0';
	if (access(slash ? folder : ".", W_OK | X_OK) < 0) {
		int e = errno;
		cc_error("cannot listen on %s: %s: %s", cfg->server_socket,
			 slash ? folder : ".", strerror(e));
		fprintf(stderr, "crowd-server: cannot listen on %s: %s: %s\n",
			cfg->server_socket, slash ? folder : ".", strerror(e));
		return -1;
	}
	unlink(cfg->server_socket);
	sock = FCGX_OpenSocket(cfg->server_socket, 256);
	if (sock < 0) {
		cc_error("cannot listen on %s: %s", cfg->server_socket, strerror(errno));
		fprintf(stderr, "crowd-server: cannot listen on %s\n", cfg->server_socket);
		return -1;
	}
	/* Only nginx may talk to the pool: mode 0660, and the group nginx
	 * runs with when it is another user's (server_socket_group). */
	if (chmod(cfg->server_socket, 0660) < 0 ||
	    (*cfg->server_socket_group && give_group(cfg) < 0)) {
		close(sock);
		unlink(cfg->server_socket);
		return -1;
	}
	return sock;
}

struct child_slot {
	pid_t pid;
	double started;
};

/* Fork a child into every empty slot (unless stopping). */
static void fill(struct child_slot *children, int n, struct cc_config *cfg,
		 int sock, cc_pool_child child)
{
	pid_t parent = getpid();

	for (int i = 0; i < n && !stopping; i++) {
		if (children[i].pid)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			/* SIGTERM when the parent dies: on_stop ends an idle
			 * child at once, a busy one after its request. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(0);
			_exit(child(cfg, sock));
		}
		if (pid < 0) {
			cc_error("fork: %s", strerror(errno));
			break;
		}
		children[i].pid = pid;
		children[i].started = cc_clock_now();
	}
}

/* Free the slot of dead, logging why it died; returns 1 when it died
 * within a second of its start (a crash loop, to be slowed down). */
static int reap(struct child_slot *children, int n, pid_t dead, int status)
{
	int early = 0;

	for (int i = 0; i < n; i++)
		if (children[i].pid == dead) {
			early = cc_clock_now() - children[i].started < 1.0;
			children[i].pid = 0;
			cc_warn("pool process %d died (%s %d); restarting",
				(int)dead, WIFSIGNALED(status) ? "signal" : "exit",
				WIFSIGNALED(status) ? WTERMSIG(status) :
				WEXITSTATUS(status));
		}
	return early;
}

enum cc_pool_end cc_pool_run(struct cc_config *cfg, cc_pool_child child)
{
	struct child_slot children[MAX_CHILDREN];
	struct sigaction sa = { 0 };
	int n = cfg->server_workers, backoff = 0, sock;

	memset(children, 0, sizeof(children));
	sock = open_socket(cfg);
	if (sock < 0)
		return CC_POOL_NO_SOCKET;
	sa.sa_handler = on_stop;      /* no SA_RESTART: wait() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cc_info("crowd-server %s: %d processes on %s, config %s", CC_VERSION,
		cfg->server_workers, cfg->server_socket, cfg->dir);

	for (;;) {
		int status;
		pid_t dead;

		fill(children, n, cfg, sock, child);
		if (stopping)
			break;
		dead = wait(&status);
		if (dead < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!reap(children, n, dead, status)) {
			backoff = 0;
			continue;
		}
		backoff = backoff ? (backoff < 30 ? backoff * 2 : 30) : 1;
		cc_warn("pool process %d died within a second of its start: "
			"restarting in %d s", (int)dead, backoff);
		/* sleep() returns early on a stop signal */
		sleep((unsigned)backoff);
	}
	for (int i = 0; i < n; i++)
		if (children[i].pid)
			kill(children[i].pid, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(cfg->server_socket);
	cc_info("crowd-server stopped");
	return CC_POOL_STOPPED;
}
