/* test_cli_daemon.c - lib/proc/daemon.c, the pid files and processes behind
 * `crowd server` and `crowd node`: pid files written atomically and read
 * back strictly; a pid file is "running" only when its process lives and
 * its command line matches (a dead pid, a stranger that reused it, or
 * garbage make it stale); spawn reports a failed exec instead of leaving a
 * dead child, sends output to the log file, and detaches; stop escalates
 * to SIGKILL for a process that ignores the polite signal. Each test works
 * in its own mkdtemp folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/daemon.h"
#include "core/fs.h"

struct fixture {
	char dir[PATH_MAX];
	char pidfile[PATH_MAX + 16];
	pid_t kids[4];
	int nkids;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_cli_daemon.XXXXXX";

	if (!f || !mkdtemp(tmpl) || !realpath(tmpl, f->dir))
		return -1;
	snprintf(f->pidfile, sizeof(f->pidfile), "%s/x.pid", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < f->nkids; i++)
		if (f->kids[i] > 0) {
			kill(f->kids[i], SIGKILL);
			waitpid(f->kids[i], NULL, 0);
		}
	cc_fs_rmtree(f->dir, NULL);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A plain child that sleeps (not detached), with "marker" in its argv. */
static pid_t sleeper(struct fixture *f, const char *marker)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 30; exit 0", (char *)marker, NULL };
	struct cc_daemon_spec spec = { "/bin/sh", argv, NULL, 0 };
	struct cc_err err = { 0 };
	pid_t pid;

	assert_int_equal(cc_daemon_spawn(&spec, &pid, &err), 0);
	f->kids[f->nkids++] = pid;
	return pid;
}

static void test_cli_daemon_pid_file_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char tmp[PATH_MAX + 32];
	pid_t pid;

	assert_int_equal(cc_daemon_read_pid(f->pidfile, &pid, &err), 0);
	assert_int_equal(pid, 0);
	assert_int_equal(cc_daemon_write_pid(f->pidfile, 12345, &err), 0);
	assert_int_equal(cc_daemon_read_pid(f->pidfile, &pid, &err), 1);
	assert_int_equal(pid, 12345);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->pidfile);
	assert_int_equal(access(tmp, F_OK), -1);      /* renamed into place */
}

static void test_cli_daemon_read_pid_refuses_garbage(void **state)
{
	static const char *const bad[] = { "", "abc\n", "12x\n", "-5\n", "0\n",
		"99999999999\n", "1 2\n" };
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	pid_t pid;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(f->pidfile, bad[i]);
		assert_int_equal(cc_daemon_read_pid(f->pidfile, &pid, &err), -1);
		assert_non_null(strstr(err.msg, "does not hold a pid"));
	}
	write_text(f->pidfile, "77\n");
	assert_int_equal(cc_daemon_read_pid(f->pidfile, &pid, &err), 1);
	assert_int_equal(pid, 77);
}

static void test_cli_daemon_check_running_needs_matching_cmdline(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	const char *const ours[] = { "exit 0 ", "marker-a ", NULL };
	const char *const theirs[] = { "marker-b ", NULL };
	const char *const prefix[] = { "marker-a", NULL };
	const char *const partial[] = { "marker- ", NULL };
	char why[256];
	pid_t pid = sleeper(f, "marker-a"), got;

	assert_int_equal(cc_daemon_write_pid(f->pidfile, pid, &err), 0);
	assert_int_equal(cc_daemon_check(f->pidfile, ours, &got, why, sizeof(why)),
			 CC_DAEMON_RUNNING);
	assert_int_equal(got, pid);
	assert_int_equal(cc_daemon_check(f->pidfile, prefix, &got, why, sizeof(why)),
			 CC_DAEMON_RUNNING);
	/* a whole-argument needle does not match a longer argument */
	assert_int_equal(cc_daemon_check(f->pidfile, partial, &got, why, sizeof(why)),
			 CC_DAEMON_STALE);
	assert_int_equal(cc_daemon_check(f->pidfile, theirs, &got, why, sizeof(why)),
			 CC_DAEMON_STALE);
	assert_non_null(strstr(why, "another program"));
	assert_non_null(strstr(why, "marker-a"));
	assert_int_equal(access(f->pidfile, F_OK), 0);   /* check never removes */
}

static void test_cli_daemon_check_dead_pid_is_stale(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	const char *const any[] = { NULL };
	char why[256];
	pid_t pid = sleeper(f, "m"), got;

	assert_int_equal(cc_daemon_write_pid(f->pidfile, pid, &err), 0);
	kill(pid, SIGKILL);
	/* our child: cc_daemon_alive reaps it, so it is not a zombie "alive" */
	for (int i = 0; i < 100 && cc_daemon_alive(pid); i++)
		usleep(10000);
	f->kids[0] = 0;
	assert_int_equal(cc_daemon_check(f->pidfile, any, &got, why, sizeof(why)),
			 CC_DAEMON_STALE);
	assert_non_null(strstr(why, "is not running"));
	unlink(f->pidfile);
	assert_int_equal(cc_daemon_check(f->pidfile, any, &got, why, sizeof(why)),
			 CC_DAEMON_NONE);
	write_text(f->pidfile, "junk");
	assert_int_equal(cc_daemon_check(f->pidfile, any, &got, why, sizeof(why)),
			 CC_DAEMON_STALE);
	assert_non_null(strstr(why, "does not hold a pid"));
}

static void test_cli_daemon_spawn_reports_a_failed_exec(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 32];
	char *argv[] = { path, NULL };
	struct cc_daemon_spec spec = { path, argv, NULL, 1 };
	struct cc_err err = { 0 };
	pid_t pid = 99;

	snprintf(path, sizeof(path), "%s/no-such-program", f->dir);
	assert_int_equal(cc_daemon_spawn(&spec, &pid, &err), -1);
	assert_int_equal(pid, 0);
	assert_non_null(strstr(err.msg, "cannot run"));
	assert_non_null(strstr(err.msg, "No such file"));
	/* no child left over */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

static void test_cli_daemon_spawn_reports_an_unwritable_log(void **state)
{
	struct fixture *f = *state;
	char log[PATH_MAX + 32];
	char *argv[] = { "/bin/true", NULL };
	struct cc_daemon_spec spec = { "/bin/true", argv, log, 1 };
	struct cc_err err = { 0 };
	pid_t pid;

	snprintf(log, sizeof(log), "%s/no/such/dir/x.log", f->dir);
	assert_int_equal(cc_daemon_spawn(&spec, &pid, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_non_null(strstr(err.msg, "x.log"));
}

static void test_cli_daemon_spawn_detaches_and_logs(void **state)
{
	struct fixture *f = *state;
	char log[PATH_MAX + 32], text[256] = "";
	char *argv[] = { "/bin/sh", "-c",
			 "echo out; echo err >&2; echo sid=$(ps -o sid= -p $$ | tr -d ' ') "
			 "pid=$$ cwd=$(pwd); read x || echo stdin-empty", NULL };
	struct cc_daemon_spec spec = { "/bin/sh", argv, log, 1 };
	struct cc_err err = { 0 };
	int status, fd;
	ssize_t n;
	pid_t pid;
	char want[128];

	snprintf(log, sizeof(log), "%s/x.log", f->dir);
	assert_int_equal(cc_daemon_spawn(&spec, &pid, &err), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	fd = open(log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, "out\n"));
	assert_non_null(strstr(text, "err\n"));
	snprintf(want, sizeof(want), "sid=%d pid=%d cwd=/\n", (int)pid, (int)pid);
	assert_non_null(strstr(text, want));           /* own session, cwd / */
	assert_non_null(strstr(text, "stdin-empty"));  /* stdin is /dev/null */
}

static void test_cli_daemon_stop_escalates_to_sigkill(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done",
			 NULL };
	struct cc_daemon_spec spec = { "/bin/sh", argv, NULL, 1 };
	struct cc_err err = { 0 };
	int killed = 0;
	pid_t pid;

	assert_int_equal(cc_daemon_spawn(&spec, &pid, &err), 0);
	f->kids[f->nkids++] = pid;
	usleep(100000);                       /* let the trap be set */
	assert_int_equal(cc_daemon_stop(pid, SIGTERM, 0.3, 1, &killed, &err), 0);
	assert_true(killed);
	assert_false(cc_daemon_alive(pid));
	f->kids[f->nkids - 1] = 0;
}

static void test_cli_daemon_stop_polite_and_already_gone(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	int killed = 1;
	pid_t pid = sleeper(f, "p");

	assert_int_equal(cc_daemon_stop(pid, SIGTERM, 5, 0, &killed, &err), 0);
	assert_false(killed);
	assert_false(cc_daemon_alive(pid));
	f->kids[f->nkids - 1] = 0;
	assert_int_equal(cc_daemon_stop(pid, SIGTERM, 1, 0, &killed, &err), 0);
}

static void test_cli_daemon_find_program_searches_path(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char out[PATH_MAX], prog[PATH_MAX + 32], *old = getenv("PATH");
	char saved[4096];

	snprintf(saved, sizeof(saved), "%s", old ? old : "");
	snprintf(prog, sizeof(prog), "%s/my-tool", f->dir);
	write_text(prog, "#!/bin/sh\n");
	chmod(prog, 0755);
	setenv("PATH", f->dir, 1);
	assert_int_equal(cc_daemon_find_program("my-tool", out, sizeof(out), &err), 0);
	assert_string_equal(out, prog);
	assert_int_equal(cc_daemon_find_program("no-such-tool-x", out, sizeof(out),
						&err), -1);
	assert_non_null(strstr(err.msg, "no-such-tool-x not found"));
	setenv("PATH", saved, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_cli_daemon_pid_file_round_trip),
		T(test_cli_daemon_read_pid_refuses_garbage),
		T(test_cli_daemon_check_running_needs_matching_cmdline),
		T(test_cli_daemon_check_dead_pid_is_stale),
		T(test_cli_daemon_spawn_reports_a_failed_exec),
		T(test_cli_daemon_spawn_reports_an_unwritable_log),
		T(test_cli_daemon_spawn_detaches_and_logs),
		T(test_cli_daemon_stop_escalates_to_sigkill),
		T(test_cli_daemon_stop_polite_and_already_gone),
		T(test_cli_daemon_find_program_searches_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
