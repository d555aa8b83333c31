/* proc.c - see proc.h. One poll loop per child watches its three pipes and
 * a pidfd (child exit), so the supervisor notices the exit even when a
 * background grandchild keeps stdout open. Without pidfd (old kernels) it
 * polls waitid(WNOWAIT) every 100 ms instead. The child is only reaped
 * after we have signalled its group for the last time: until then its pid,
 * which is also the group id, cannot be reused, so kill(-pid) never hits a
 * stranger. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc/proc.h"
#include "core/strbuf.h"

#define KILL_GRACE 2.0          /* s between SIGTERM and SIGKILL */
#define DRAIN_GRACE 0.5         /* s to read pipes after the child exited */

double cc_proc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cc_tail_add(struct cc_tail *t, const char *p, size_t n)
{
	if (n >= CC_TAIL_MAX) {
		memcpy(t->buf, p + n - CC_TAIL_MAX, CC_TAIL_MAX);
		t->truncated = t->truncated || n > CC_TAIL_MAX || t->len > 0;
		t->len = CC_TAIL_MAX;
		return;
	}
	if (t->len + n > CC_TAIL_MAX) {
		size_t drop = t->len + n - CC_TAIL_MAX;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->truncated = 1;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int cc_proc_spawn(struct cc_proc *p, const struct cc_proc_spec *spec,
		  struct cc_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fa_ok = 0, attr_ok = 0, rc, ret = -1;
	sigset_t none, dfl;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->in_fd = p->out_fd = p->err_fd = p->pidfd = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot run %s: pipe: %s", spec->path,
			   strerror(errno));
		goto out;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_fail;
	fa_ok = 1;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto spawn_fail;
	attr_ok = 1;
	/* dup2 clears close-on-exec on 0-2; closefrom then drops whatever any
	 * thread or library opened without O_CLOEXEC (PITFALLS 6). */
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
		goto spawn_fail;
	if (spec->dir && (rc = posix_spawn_file_actions_addchdir_np(&fa, spec->dir)))
		goto spawn_fail;
	/* Own process group (a timeout kills the whole tree), and none of our
	 * blocked or ignored signals: a blocked mask and SIG_IGN both survive
	 * exec, and the node blocks SIGTERM and ignores SIGPIPE. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					   POSIX_SPAWN_SETSIGMASK |
					   POSIX_SPAWN_SETSIGDEF)) ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)))
		goto spawn_fail;
	rc = posix_spawn(&pid, spec->path, &fa, &attr, spec->argv, spec->envp);
	if (rc != 0)
		goto spawn_fail;

	p->pid = pid;
	p->started = cc_proc_now();
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = errp[0];
	in[1] = out[0] = errp[0] = -1;
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	/* pidfds are always close-on-exec. */
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ret = 0;
	goto out;

spawn_fail:
	cc_err_set(err, CC_ERR_INTERNAL, "cannot run %s: %s", spec->path, strerror(rc));
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	return ret;
}

/* The action's stdout, kept up to max bytes. */
struct outbuf {
	struct cc_strbuf buf;
	size_t max;
	int too_big;
};

static void out_add(struct outbuf *b, const char *p, size_t n)
{
	if (b->too_big)
		return;
	if (b->buf.len + n > b->max) {
		b->too_big = 1;
		return;
	}
	cc_strbuf_put(&b->buf, p, n);
}

/* Read what is there; returns 0 at EOF (fd closed), 1 otherwise. */
static int pump(int *fd, struct outbuf *ob, struct cc_tail *tail)
{
	char buf[16384];

	for (;;) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			if (ob)
				out_add(ob, buf, (size_t)n);
			else
				cc_tail_add(tail, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		close_fd(fd);      /* EOF or a read error: done with it */
		return 0;
	}
}

static int child_exited(const struct cc_proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == p->pid;
}

int cc_proc_supervise(struct cc_proc *p, const char *in, size_t in_len,
		      size_t max_out, int timeout_s, struct cc_proc_result *r,
		      struct cc_err *err)
{
	struct outbuf ob = { .max = max_out };
	double deadline = timeout_s > 0 ? p->started + timeout_s : 0;
	double kill_at = 0, drain_until = 0, exited_at = 0;
	size_t in_off = 0;
	int exited = 0, status = 0, ret = 0;

	memset(r, 0, sizeof(*r));
	if (in_len == 0)
		close_fd(&p->in_fd);
	for (;;) {
		struct pollfd fds[4];
		int nf = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
		double now = cc_proc_now(), wait_s = 3600;

		if (!exited && (p->pidfd < 0 ? child_exited(p) : 0)) {
			exited = 1;
			exited_at = now;
			drain_until = now + DRAIN_GRACE;
		}
		if (exited && ((p->out_fd < 0 && p->err_fd < 0) || now >= drain_until))
			break;
		/* Deadline and output cap: signal the group, escalate later. */
		if (!exited && !kill_at && (ob.too_big || ob.buf.oom ||
					    (deadline && now >= deadline))) {
			if (!ob.too_big && !ob.buf.oom)
				r->timed_out = 1;
			kill(-p->pid, ob.too_big || ob.buf.oom ? SIGKILL : SIGTERM);
			kill_at = now + KILL_GRACE;
		}
		if (!exited && kill_at && now >= kill_at) {
			kill(-p->pid, SIGKILL);
			kill_at = now + 3600;
		}
		if (exited)
			wait_s = drain_until - now;
		else if (kill_at)
			wait_s = kill_at - now;
		else if (deadline)
			wait_s = deadline - now;
		if (p->pidfd < 0 && !exited && wait_s > 0.1)
			wait_s = 0.1;
		if (wait_s < 0)
			wait_s = 0;

		if (p->in_fd >= 0 && !exited) {
			fds[nf] = (struct pollfd){ p->in_fd, POLLOUT, 0 };
			i_in = nf++;
		}
		if (p->out_fd >= 0) {
			fds[nf] = (struct pollfd){ p->out_fd, POLLIN, 0 };
			i_out = nf++;
		}
		if (p->err_fd >= 0) {
			fds[nf] = (struct pollfd){ p->err_fd, POLLIN, 0 };
			i_err = nf++;
		}
		if (p->pidfd >= 0 && !exited) {
			fds[nf] = (struct pollfd){ p->pidfd, POLLIN, 0 };
			i_pid = nf++;
		}
		int n = poll(fds, (nfds_t)nf, (int)(wait_s * 1000) + 1);
		if (n < 0 && errno != EINTR) {
			ret = cc_err_set(err, CC_ERR_INTERNAL, "poll: %s", strerror(errno));
			kill(-p->pid, SIGKILL);
			break;
		}
		if (n <= 0)
			continue;
		if (i_in >= 0 && fds[i_in].revents) {
			ssize_t w = write(p->in_fd, in + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			/* EPIPE: it closed stdin without reading it all; fine. */
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off >= in_len)
				close_fd(&p->in_fd);
		}
		if (i_out >= 0 && fds[i_out].revents)
			pump(&p->out_fd, &ob, NULL);
		if (i_err >= 0 && fds[i_err].revents)
			pump(&p->err_fd, NULL, &r->err);
		if (i_pid >= 0 && fds[i_pid].revents) {
			exited = 1;
			exited_at = cc_proc_now();
			drain_until = exited_at + DRAIN_GRACE;
		}
	}
	if (!exited)
		exited_at = cc_proc_now();
	/* Leftover members of its group (background jobs) go now, before the
	 * reap frees the group id. */
	kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->pidfd);
	if (WIFEXITED(status)) {
		r->exit_code = WEXITSTATUS(status);
	} else {
		r->exit_code = -1;
		r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	r->seconds = exited_at - p->started;
	r->output_too_big = ob.too_big;
	if (ob.buf.oom && !ret)
		ret = cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading the output");
	r->out = ob.buf.data;
	r->out_len = ob.buf.len;
	if (!r->out && !(r->out = calloc(1, 1)) && !ret)
		ret = cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	p->pid = -1;
	return ret;
}

void cc_proc_result_cleanup(struct cc_proc_result *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}
