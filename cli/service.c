/* service.c - see service.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "core/log.h"
#include "service.h"

volatile sig_atomic_t cli_got_signal;

static void on_signal(int sig)
{
	cli_got_signal = sig;
}

void cli_nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

void cli_proc_init(struct cli_proc *p, const char *name, const char *pid_path,
		   const char *file, const char *n0, const char *n1,
		   const char *n2)
{
	const char *src[3] = { n0, n1, n2 };
	int k = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->pidfile, sizeof(p->pidfile), "%s/%s", pid_path, file);
	for (int i = 0; i < 3; i++)
		if (src[i]) {
			snprintf(p->need[k], sizeof(p->need[k]), "%s", src[i]);
			p->needles[k] = p->need[k];
			k++;
		}
	p->needles[k] = NULL;
}

/* The state of p; a stale pid file is reported and removed. */
enum cc_daemon_state cli_proc_state(struct cli_proc *p, int quiet)
{
	char why[512];
	enum cc_daemon_state st = cc_daemon_check(p->pidfile, p->needles, &p->pid,
						  why, sizeof(why));

	if (st == CC_DAEMON_STALE) {
		if (!quiet)
			cc_warn("stale pid file %s: %s; removed it", p->pidfile, why);
		unlink(p->pidfile);
		p->pid = 0;
		return CC_DAEMON_NONE;
	}
	return st;
}

/* The last bytes of a file (at most n - 1) into buf, NUL-terminated;
 * their length, or -1. */
static ssize_t read_tail(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t got;

	if (fd < 0)
		return -1;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)n - 1 ? size - (off_t)n + 1 : 0, SEEK_SET);
	got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -1;
	buf[got] = '\0';
	return got;
}

int cli_tail_has(const char *path, const char *needle)
{
	char buf[8192];

	return read_tail(path, buf, sizeof(buf)) > 0 && strstr(buf, needle) != NULL;
}

/* The last lines of a log file, indented, on stderr. An HTML page in it
 * (an error page of nginx a program logged as it came) is left out: its
 * status line says it all. */
void cli_print_tail(const char *path, int lines)
{
	char buf[8192];
	ssize_t n = read_tail(path, buf, sizeof(buf));
	char *p;

	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	p = buf + n;
	for (int k = 0; p > buf && k < lines; k++) {
		p--;
		while (p > buf && p[-1] != '\n')
			p--;
	}
	fprintf(stderr, "crowd: --- the end of %s ---\n", path);
	for (char *line = p; *line;) {
		char *nl = strchrnul(line, '\n'), *tag = line;
		int len = (int)(nl - line);

		while (tag < nl && (*tag == ' ' || *tag == '\t'))
			tag++;
		if (tag < nl && *tag == '<') {
			line = *nl ? nl + 1 : nl;
			continue;                /* a line of markup */
		}
		if ((tag = strcasestr(line, "<html")) && tag < nl)
			len = (int)(tag - line);
		else if ((tag = strcasestr(line, "<!DOCTYPE")) && tag < nl)
			len = (int)(tag - line);
		fprintf(stderr, "    %.*s%s\n", len, line, len < (int)(nl - line) ?
			"(an HTML page)" : "");
		line = *nl ? nl + 1 : nl;
	}
}

int cli_proc_spawn(struct cli_proc *p, char *const *argv, const char *log_file)
{
	struct cc_daemon_spec spec = { argv[0], argv, log_file, 1 };
	struct cc_err err = { 0 };

	if (cc_daemon_spawn(&spec, &p->pid, &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "%s: %s", p->name, err.msg);
	if (cc_daemon_write_pid(p->pidfile, p->pid, &err) < 0) {
		kill(p->pid, SIGTERM);
		return cli_fail(CC_EXIT_DAEMON, "%s: %s", p->name, err.msg);
	}
	cc_info("started %s (pid %d): %s", p->name, (int)p->pid, argv[0]);
	return CC_EXIT_OK;
}

/* Stop p if it runs; its pid file goes either way. */
int cli_proc_stop(struct cli_proc *p, int sig, double timeout, int *was_running)
{
	struct cc_err err = { 0 };
	int killed = 0;

	*was_running = cli_proc_state(p, 0) == CC_DAEMON_RUNNING;
	if (!*was_running)
		return CC_EXIT_OK;
	cc_info("stopping %s (pid %d) with SIG%s", p->name, (int)p->pid,
		sigabbrev_np(sig));
	if (cc_daemon_stop(p->pid, sig, timeout, 1, &killed, &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "%s: %s", p->name, err.msg);
	unlink(p->pidfile);
	if (killed)
		cc_warn("%s (pid %d) did not stop within %.0f s: killed it", p->name,
			(int)p->pid, timeout);
	else
		cc_info("stopped %s (pid %d)", p->name, (int)p->pid);
	return CC_EXIT_OK;
}

void cli_catch_signals(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_signal;       /* no SA_RESTART: naps end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
