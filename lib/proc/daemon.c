/* daemon.c - see daemon.h. Liveness is kill(pid, 0) plus the state field
 * of /proc/PID/stat (a zombie answers kill but is gone for our purposes);
 * ownership is the command line in /proc/PID/cmdline. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/clock.h"
#include "proc/daemon.h"

int cc_daemon_read_pid(const char *path, pid_t *pid, struct cc_err *err)
{
	char buf[32];
	char *end;
	ssize_t n;
	long v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*pid = 0;
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(e));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(errno));
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || v <= 0 || v > INT_MAX)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: does not hold a pid", path);
	*pid = (pid_t)v;
	return 1;
}

int cc_daemon_write_pid(const char *path, pid_t pid, struct cc_err *err)
{
	char tmp[PATH_MAX], line[32];
	int fd, len;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: path too long", path);
	len = snprintf(line, sizeof(line), "%d\n", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
	if (write(fd, line, (size_t)len) != len) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot rename %s to %s: %s", tmp, path,
				  strerror(e));
	}
	return 0;
}

int cc_daemon_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd, status;

	if (pid <= 0)
		return 0;
	/* Our own exited child would stay a zombie until reaped. */
	if (waitpid(pid, &status, WNOHANG) == pid)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses, so the
	 * state is after the last ')'. */
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* pid's command line into out, every argument followed by one space;
 * -1 if gone. */
static int read_cmdline(pid_t pid, char *out, size_t n)
{
	char path[64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	got = read(fd, out, n - 2);
	close(fd);
	if (got <= 0)
		return -1;
	/* Each argument ends with a NUL: each becomes a space, so "-p 90 "
	 * matches the argument "90" and not "9063". */
	if (out[got - 1] != '\0')
		out[got++] = '\0';
	for (ssize_t i = 0; i < got; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[got] = '\0';
	return 0;
}

int cc_daemon_cmdline_has(pid_t pid, const char *const *needles)
{
	char cmd[8192];

	if (read_cmdline(pid, cmd, sizeof(cmd)) < 0)
		return 0;
	for (; needles && *needles; needles++)
		if (!strstr(cmd, *needles))
			return 0;
	return 1;
}

enum cc_daemon_state cc_daemon_check(const char *path,
				     const char *const *needles, pid_t *pid,
				     char *why, size_t n)
{
	struct cc_err err = { 0 };
	char cmd[256];
	int k = cc_daemon_read_pid(path, pid, &err);

	if (n)
		why[0] = '\0';
	if (k == 0)
		return CC_DAEMON_NONE;
	if (k < 0) {
		snprintf(why, n, "it does not hold a pid");
		return CC_DAEMON_STALE;
	}
	if (!cc_daemon_alive(*pid)) {
		snprintf(why, n, "pid %d is not running", (int)*pid);
		return CC_DAEMON_STALE;
	}
	if (!cc_daemon_cmdline_has(*pid, needles)) {
		if (read_cmdline(*pid, cmd, sizeof(cmd)) < 0)
			snprintf(cmd, sizeof(cmd), "?");
		for (size_t l = strlen(cmd); l && cmd[l - 1] == ' ';)
			cmd[--l] = '\0';
		snprintf(why, n, "pid %d is another program (%s)", (int)*pid, cmd);
		return CC_DAEMON_STALE;
	}
	return CC_DAEMON_RUNNING;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(const struct cc_daemon_spec *spec, int errfd)
{
	struct sigaction sa = { 0 };
	sigset_t none;
	int e, fd;

	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (spec->detach) {
		if (setsid() < 0)
			goto fail;
		if (chdir("/") < 0)
			goto fail;
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			goto fail;
		if (fd > 2)
			close(fd);
	}
	if (spec->log_file) {
		fd = open(spec->log_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
			e = errno;
			/* 'L' marks a log failure for the parent */
			if (write(errfd, "L", 1) < 0 || write(errfd, &e, sizeof(e)) < 0)
				_exit(127);
			_exit(127);
		}
		if (fd > 2)
			close(fd);
	}
	/* Keep only 0-2 and the error pipe (close-on-exec). */
	if (errfd > 3)
		close_range(3, (unsigned)errfd - 1, 0);
	close_range((unsigned)errfd + 1, ~0U, 0);
	execv(spec->path, spec->argv);
fail:
	e = errno;
	if (write(errfd, "X", 1) < 0 || write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int cc_daemon_spawn(const struct cc_daemon_spec *spec, pid_t *pid,
		    struct cc_err *err)
{
	int pfd[2], e = 0, status;
	char kind = 0;
	ssize_t n;
	pid_t p;

	*pid = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "pipe: %s", strerror(errno));
	/* The child rewires 0-2: keep the pipe's write end above them. */
	if (pfd[1] < 3) {
		int fd = fcntl(pfd[1], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			e = errno;
			close(pfd[0]);
			close(pfd[1]);
			return cc_err_set(err, CC_ERR_INTERNAL, "fcntl: %s", strerror(e));
		}
		close(pfd[1]);
		pfd[1] = fd;
	}
	p = fork();
	if (p < 0) {
		e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return cc_err_set(err, CC_ERR_INTERNAL, "fork: %s", strerror(e));
	}
	if (p == 0) {
		close(pfd[0]);
		child(spec, pfd[1]);
	}
	close(pfd[1]);
	/* EOF: the exec happened (the pipe closed with it). */
	do
		n = read(pfd[0], &kind, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1) {
		if (read(pfd[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
			e = EIO;
	}
	close(pfd[0]);
	if (n == 1) {
		while (waitpid(p, &status, 0) < 0 && errno == EINTR)
			;
		if (kind == 'L')
			return cc_err_set(err, CC_ERR_INTERNAL, "cannot open %s: %s", spec->log_file,
					  strerror(e));
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot run %s: %s", spec->path, strerror(e));
	}
	*pid = p;
	return 0;
}

static int wait_gone(pid_t pid, double timeout_s)
{
	struct timespec step = { 0, 50 * 1000 * 1000 };
	double deadline = cc_clock_now() + timeout_s;

	while (cc_daemon_alive(pid)) {
		if (cc_clock_now() >= deadline)
			return -1;
		nanosleep(&step, NULL);
	}
	return 0;
}

int cc_daemon_stop(pid_t pid, int sig, double timeout_s, int group,
		   int *killed, struct cc_err *err)
{
	if (killed)
		*killed = 0;
	if (!cc_daemon_alive(pid))
		return 0;
	if (kill(pid, sig) < 0 && errno != ESRCH)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot signal pid %d: %s", (int)pid,
				  strerror(errno));
	if (wait_gone(pid, timeout_s) == 0)
		return 0;
	if (killed)
		*killed = 1;
	if (group)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	if (wait_gone(pid, 5) == 0)
		return 0;
	return cc_err_set(err, CC_ERR_INTERNAL, "pid %d is still running after SIGKILL", (int)pid);
}

static int try_dir(const char *dir, size_t dlen, const char *name, char *out,
		   size_t n)
{
	if (!dlen)
		return -1;
	if (snprintf(out, n, "%.*s/%s", (int)dlen, dir, name) >= (int)n)
		return -1;
	return access(out, X_OK) == 0 ? 0 : -1;
}

int cc_daemon_find_program(const char *name, char *out, size_t n,
			   struct cc_err *err)
{
	char exe[PATH_MAX];
	const char *path = getenv("PATH"), *p, *e;
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (l > 0) {
		exe[l] = '\0';
		char *d = dirname(exe);
		if (try_dir(d, strlen(d), name, out, n) == 0)
			return 0;
	}
	for (p = path ? path : ""; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		if (try_dir(p, (size_t)(e - p), name, out, n) == 0)
			return 0;
	}
	if (try_dir("/usr/sbin", 9, name, out, n) == 0 ||
	    try_dir("/sbin", 5, name, out, n) == 0)
		return 0;
	return cc_err_set(err, CC_ERR_INTERNAL, "%s not found (looked beside this program, in "
			  "$PATH, /usr/sbin and /sbin)", name);
}
