/* proc.h - run one child process under supervision, in the calling thread.
 * cc_proc_spawn starts the program with posix_spawn (the one process
 * creation a work unit costs): pipes on stdin, stdout and stderr, its own
 * process group, a working directory, default signal dispositions and an
 * empty signal mask, and no descriptor of ours beyond 0-2 (close-on-exec
 * everywhere, plus closefrom(3) in the child for descriptors other threads
 * or libraries opened without it). cc_proc_supervise then feeds stdin,
 * keeps stdout (up to a cap) and the tail of stderr, enforces a deadline by
 * signalling the whole process group, and reaps the child. */
#ifndef CC_PROC_H
#define CC_PROC_H

#include <stddef.h>
#include <sys/types.h>
#include "core/err.h"

/* The last bytes of a stream (stderr), kept in a fixed buffer. */
#define CC_TAIL_MAX 4096

struct cc_tail {
	char buf[CC_TAIL_MAX];
	size_t len;             /* bytes in buf, <= CC_TAIL_MAX */
	int truncated;          /* earlier bytes were dropped */
};

/* cc_tail_add - append n bytes, dropping the oldest beyond CC_TAIL_MAX. */
void cc_tail_add(struct cc_tail *t, const char *p, size_t n);

struct cc_proc_spec {
	const char *path;       /* executable, run as is (no PATH search) */
	char *const *argv;      /* NULL-terminated */
	char *const *envp;      /* NULL-terminated, the whole environment */
	const char *dir;        /* working directory, NULL to keep ours */
};

struct cc_proc {
	pid_t pid;              /* the child, also its process group id */
	int in_fd;              /* write end of its stdin, -1 once closed */
	int out_fd, err_fd;     /* read ends of its stdout and stderr */
	int pidfd;              /* readable when the child exits; -1 if absent */
	double started;         /* monotonic seconds at spawn */
	unsigned long long _tag;/* its descendants' mark (0: none); proc.c's */
};

struct cc_proc_result {
	int exit_code;          /* exit status, or -1 when killed by a signal */
	int signal;             /* terminating signal, 0 if it exited */
	int timed_out;          /* we killed it: the deadline passed */
	int output_too_big;     /* we killed it: stdout passed max_out */
	char *out;              /* stdout, NUL-terminated; free via cleanup */
	size_t out_len;
	struct cc_tail err;     /* the end of stderr */
	double seconds;         /* from spawn to exit */
};

/* cc_proc_spawn - start spec->path. On success p describes the child and
 * must be handed to cc_proc_supervise (which closes and reaps everything).
 * Returns 0, or -1 with err set ("cannot run PATH: REASON") and nothing
 * left open. */
int cc_proc_spawn(struct cc_proc *p, const struct cc_proc_spec *spec,
		  struct cc_err *err);

/* cc_proc_supervise - write in (in_len bytes; the child may stop reading
 * early) to its stdin and close it, collect stdout up to max_out bytes
 * (beyond that the group is killed and output_too_big set) and the stderr
 * tail, and wait for it to exit; when timeout_s > 0 and it runs longer, its
 * process group gets SIGTERM, then SIGKILL 2 s later. After the child
 * exits, its pipes are drained briefly and whatever is left of its process
 * group (background children) is killed, so a straggler holding a pipe
 * cannot stall the supervisor. Fills r (clean it up with
 * cc_proc_result_cleanup); returns 0, or -1 with err set on an internal
 * failure (out of memory), after still killing and reaping the child. */
int cc_proc_supervise(struct cc_proc *p, const char *in, size_t in_len,
		      size_t max_out, int timeout_s, struct cc_proc_result *r,
		      struct cc_err *err);

/* The caller must ignore SIGPIPE (the child may close its stdin early). */

/* Descendants that leave the process group. A child can escape the group
 * kill above with setsid (or setpgid), and a double fork hides it from
 * waitpid. cc_proc_subreaper_start makes this process a child subreaper
 * (prctl PR_SET_CHILD_SUBREAPER), so every orphan of a spawned tree is
 * re-parented to us instead of to init; from then on cc_proc_spawn puts
 * CROWD_PROC_TAG=<our pid>.<n> in the child's environment (inherited by
 * its descendants), and when cc_proc_supervise sees the child exit it
 * SIGKILLs every orphan that carries the child's tag, level by level
 * (their own children become orphans in turn), for up to a few seconds
 * before it returns. An orphan without a readable tag (it cleared its
 * environment) is killed once every child that was running when it was
 * first seen has ended. cc_proc_reap_orphans does the same pass for the
 * caller: it reaps orphans that exited (they are our children now, or
 * they would stay zombies) and kills those whose child has ended. Call it
 * on SIGCHLD and every few seconds from one thread of the program; it
 * never reaps a child spawned by cc_proc_spawn (cc_proc_supervise does).
 * Linux hands orphans to the subreaper's main thread: cc_proc_reap_orphans
 * looks at that thread's children (/proc/self/task/PID/children). */

/* cc_proc_subreaper_start - as above. Returns 0, or -1 with err set (the
 * kernel refused; nothing changed). */
int cc_proc_subreaper_start(struct cc_err *err);

/* cc_proc_reap_orphans - as above; returns how many live orphans it sent
 * SIGKILL or could not place yet (0: nothing more to do now). A no-op (0)
 * before cc_proc_subreaper_start. Thread-safe. */
int cc_proc_reap_orphans(void);

void cc_proc_result_cleanup(struct cc_proc_result *r);

#endif
