/* pool.c - see pool.h. One parent, server_workers children sharing one
 * listening socket (the kernel hands each connection to one accept()).
 * The parent only forks, waits and restarts; it holds no database
 * connection, so a child that dies takes nothing with it. Children whose
 * database is unreachable exit CC_EXIT_DB; they are restarted a second
 * apart, and after three failures per process the pool gives up rather
 * than spin. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
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

/* The socket, readable and writable by nginx whatever user it runs as;
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
	chmod(cfg->server_socket, 0666);
	return sock;
}

/* Fork a child into every empty slot (unless stopping). */
static void fill(pid_t *children, int n, struct cc_config *cfg, int sock,
		 cc_pool_child child)
{
	for (int i = 0; i < n && !stopping; i++) {
		if (children[i])
			continue;
		pid_t pid = fork();
		if (pid == 0)
			_exit(child(cfg, sock));
		if (pid < 0) {
			cc_error("fork: %s", strerror(errno));
			break;
		}
		children[i] = pid;
	}
}

/* Free the slot of dead, logging why it died; returns 1 if it could not
 * reach the database. */
static int reap(pid_t *children, int n, pid_t dead, int status)
{
	int db_failures = 0;

	for (int i = 0; i < n; i++)
		if (children[i] == dead) {
			children[i] = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == CC_EXIT_DB) {
				cc_error("pool process %d could not reach MySQL", (int)dead);
				db_failures++;
			} else {
				cc_warn("pool process %d died (%s %d); restarting",
					(int)dead, WIFSIGNALED(status) ? "signal" : "exit",
					WIFSIGNALED(status) ? WTERMSIG(status) :
					WEXITSTATUS(status));
			}
		}
	return db_failures;
}

enum cc_pool_end cc_pool_run(struct cc_config *cfg, cc_pool_child child,
			     const char *logfile)
{
	pid_t children[MAX_CHILDREN] = { 0 };
	struct sigaction sa = { 0 };
	int n = cfg->server_workers, failures = 0, sock;

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
		failures += reap(children, n, dead, status);
		if (failures >= n * 3) {
			cc_error("giving up: the pool cannot reach the database");
			fprintf(stderr, "crowd-server: cannot reach the database (see %s)\n",
				logfile);
			stopping = 1;
			break;
		}
		if (failures)
			sleep(1);
	}
	for (int i = 0; i < n; i++)
		if (children[i])
			kill(children[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(cfg->server_socket);
	cc_info("crowd-server stopped");
	return failures >= n * 3 ? CC_POOL_NO_DB : CC_POOL_STOPPED;
}
