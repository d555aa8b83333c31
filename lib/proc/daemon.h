/* daemon.h - background processes known by pid files, for `crowd server`
 * and `crowd node`. A pid file holds one decimal pid and a newline. It is
 * trusted only while that pid is alive *and* its command line still
 * contains what we started it with (program name, config folder, port):
 * a pid file left by a crash, or one whose pid was reused by a stranger,
 * is "stale", reported and removed, and a stranger is never signalled.
 * Processes are started with fork + exec (not a shell); a failed exec is
 * reported back through a close-on-exec pipe, so the caller learns
 * "cannot run PATH: REASON" instead of finding a dead child later. */
#ifndef CC_DAEMON_H
#define CC_DAEMON_H

#include <stddef.h>
#include <sys/types.h>
#include "core/err.h"

enum cc_daemon_state {
	CC_DAEMON_NONE,          /* no pid file */
	CC_DAEMON_RUNNING,       /* pid alive and its command line matches */
	CC_DAEMON_STALE,         /* pid file, but no such process of ours */
};

/* cc_daemon_read_pid - the pid in path. Returns 1 with *pid set, 0 when
 * the file does not exist, -1 when it cannot be read or does not hold a
 * pid (err says which). */
int cc_daemon_read_pid(const char *path, pid_t *pid, struct cc_err *err);

/* cc_daemon_write_pid - write pid to path atomically (path.tmp, rename),
 * mode 0644. Returns 0 or -1 with err set. */
int cc_daemon_write_pid(const char *path, pid_t pid, struct cc_err *err);

/* cc_daemon_alive - pid exists and is not a zombie. A child of ours that
 * has exited is reaped here (so it reads as gone). */
int cc_daemon_alive(pid_t pid);

/* cc_daemon_cmdline_has - pid's command line, each argument followed by
 * one space ("crowd-node -c /etc/cc -p 9063 "), contains every string of
 * the NULL-terminated needles. End a needle with a space to match a whole
 * argument: "-p 90 " does not match "-p 9063 ". */
int cc_daemon_cmdline_has(pid_t pid, const char *const *needles);

/* cc_daemon_check - the state of the process behind pid file path, whose
 * command line must contain every needle (NULL-terminated). *pid gets the
 * pid read (0 when none); why (n bytes) says what makes a file stale:
 * "pid 123 is not running", "pid 123 is not ours (sleep 100)", "it does
 * not hold a pid". Never modifies anything. */
enum cc_daemon_state cc_daemon_check(const char *path,
				     const char *const *needles, pid_t *pid,
				     char *why, size_t n);

struct cc_daemon_spec {
	const char *path;        /* executable, run as is (no PATH search) */
	char *const *argv;       /* NULL-terminated */
	const char *log_file;    /* stdout and stderr appended here; NULL: ours */
	int detach;              /* own session (setsid), cwd "/", stdin
				    /dev/null: it outlives us and our terminal */
};

/* cc_daemon_spawn - start spec->path. Signals are reset to their
 * defaults and unblocked in the child, and descriptors above 2 closed.
 * Returns 0 with *pid set once the exec succeeded, or -1 with err set
 * ("cannot run PATH: REASON", "cannot open LOG: REASON") and no child
 * left behind. The caller reaps the child (cc_daemon_alive does). */
int cc_daemon_spawn(const struct cc_daemon_spec *spec, pid_t *pid,
		    struct cc_err *err);

/* cc_daemon_stop - send sig to pid and wait up to timeout_s seconds for it
 * to exit; then SIGKILL (to its whole process group when group is set, as
 * for a detached process that leads its own), and wait 5 s more.
 * Returns 0 once it is gone (*killed set when SIGKILL was needed; may be
 * NULL), -1 with err set if it outlived SIGKILL or cannot be signalled. */
int cc_daemon_stop(pid_t pid, int sig, double timeout_s, int group,
		   int *killed, struct cc_err *err);

/* cc_daemon_find_program - the executable name: first beside our own
 * executable (/proc/self/exe's folder), then each folder of $PATH, then
 * /usr/sbin and /sbin. Writes the full path into out (n bytes); 0 found,
 * -1 with err naming where it looked. */
int cc_daemon_find_program(const char *name, char *out, size_t n,
			   struct cc_err *err);

#endif
