/* service.h - what `crowd server` (server.c) and `crowd node` (node.c)
 * share: a process known by its pid file in pid_path, started in its own
 * session and stopped politely then firmly (lib/proc/daemon.c underneath), a
 * stale pid file reported and removed, and the foreground's signals. */
#ifndef CLI_SERVICE_H
#define CLI_SERVICE_H

#include "core/clock.h"

#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include "proc/daemon.h"

#define READY_TIMEOUT 30.0       /* s a process gets to come up */

/* One process known by its pid file. */
struct cli_proc {
	char name[64];                  /* "crowd-server", "nginx", "node 9063" */
	char pidfile[PATH_MAX];
	char need[3][PATH_MAX];         /* command line must contain these */
	const char *needles[4];
	pid_t pid;
};

/* Set by the handlers cli_catch_signals installs: the signal, or 0. */
extern volatile sig_atomic_t cli_got_signal;

/* cli_catch_signals - SIGINT, SIGTERM and SIGHUP set cli_got_signal (no
 * SA_RESTART: a nap ends early). */
void cli_catch_signals(void);

/* cli_nap - sleep s seconds (less on a signal); intervals are measured
 * with cc_clock_now (core/clock.h). */
void cli_nap(double s);

/* cli_proc_init - p is "name", with pid file pid_path/file, running while
 * its command line holds n0, n1, n2 (NULL for fewer). */
void cli_proc_init(struct cli_proc *p, const char *name, const char *pid_path,
		   const char *file, const char *n0, const char *n1,
		   const char *n2);

/* cli_proc_state - CC_DAEMON_RUNNING (p->pid set) or CC_DAEMON_NONE; a
 * stale pid file is reported (unless quiet) and removed. */
enum cc_daemon_state cli_proc_state(struct cli_proc *p, int quiet);

/* cli_proc_spawn - start argv (argv[0] a full path) detached, output to
 * log_file (NULL: ours), and write its pid file. CC_EXIT_OK or CC_EXIT_DAEMON
 * with the reason printed. */
int cli_proc_spawn(struct cli_proc *p, char *const *argv, const char *log_file);

/* cli_proc_stop - if p runs: sig, up to timeout s, then SIGKILL to its
 * group; its pid file goes either way. *was_running says whether it ran.
 * CC_EXIT_OK, or CC_EXIT_DAEMON if it would not die. */
int cli_proc_stop(struct cli_proc *p, int sig, double timeout, int *was_running);

/* cli_print_tail - the last lines of a log file, indented, on stderr;
 * the markup of an HTML page in it left out. */
void cli_print_tail(const char *path, int lines);

/* cli_tail_has - whether the last 8 KB of the file at path hold needle. */
int cli_tail_has(const char *path, const char *needle);

#endif
