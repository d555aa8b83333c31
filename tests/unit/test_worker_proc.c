/* test_worker_proc.c - spawning and supervising an action process
 * (lib/proc/proc.c) with real children (/bin/sh): stdin, stdout, stderr tail,
 * exit codes, signals, the deadline, the output cap, stragglers holding a
 * pipe, descriptors that must not leak, working directory, environment and
 * signal state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "proc/proc.h"

static char *const env_min[] = { "PATH=/usr/bin:/bin", "GREETING=hi", NULL };

/* Run `sh -c script` with stdin `in`; returns 0 and fills r. */
static int run_sh(const char *script, const char *in, const char *dir,
		  size_t max_out, int timeout_s, struct cc_proc_result *r)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct cc_proc_spec spec = { "/bin/sh", argv, env_min, dir };
	struct cc_proc p;
	struct cc_err err = { 0 };

	if (cc_proc_spawn(&p, &spec, &err) < 0)
		fail_msg("spawn: %s", err.msg);
	assert_true(p.pid > 0);
	return cc_proc_supervise(&p, in, in ? strlen(in) : 0, max_out, timeout_s,
				 r, &err);
}

static void test_proc_feeds_stdin_and_collects_stdout(void **state)
{
	struct cc_proc_result r;

	(void)state;
	assert_int_equal(run_sh("cat; echo; echo \"$GREETING\"", "{\"id\":1}", NULL,
				1 << 20, 10, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.signal, 0);
	assert_false(r.timed_out);
	assert_string_equal(r.out, "{\"id\":1}\nhi\n");
	assert_int_equal(r.err.len, 0);
	cc_proc_result_cleanup(&r);
}

static void test_proc_large_stdin_not_read_does_not_block(void **state)
{
	struct cc_proc_result r;
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	char *argv[] = { "sh", "-c", "echo ignored", NULL };
	struct cc_proc_spec spec = { "/bin/sh", argv, env_min, NULL };
	struct cc_proc p;
	struct cc_err err = { 0 };

	(void)state;
	memset(big, 'x', n);
	big[n] = '\0';
	assert_int_equal(cc_proc_spawn(&p, &spec, &err), 0);
	assert_int_equal(cc_proc_supervise(&p, big, n, 1024, 10, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "ignored\n");
	assert_true(r.seconds < 5);
	cc_proc_result_cleanup(&r);
	free(big);
}

static void test_proc_reports_exit_code_and_stderr(void **state)
{
	struct cc_proc_result r;

	(void)state;
	assert_int_equal(run_sh("echo out; echo 'it broke' >&2; exit 7", NULL, NULL,
				1024, 10, &r), 0);
	assert_int_equal(r.exit_code, 7);
	assert_string_equal(r.out, "out\n");
	assert_int_equal(r.err.len, 9);
	assert_memory_equal(r.err.buf, "it broke\n", 9);
	cc_proc_result_cleanup(&r);
}

static void test_proc_reports_death_by_signal(void **state)
{
	struct cc_proc_result r;

	(void)state;
	assert_int_equal(run_sh("kill -KILL $$", NULL, NULL, 1024, 10, &r), 0);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.signal, SIGKILL);
	assert_false(r.timed_out);
	cc_proc_result_cleanup(&r);
}

static void test_proc_timeout_kills_the_group(void **state)
{
	struct cc_proc_result r;
	double t0 = cc_clock_now();

	(void)state;
	/* the child sleeps in a grandchild of the same group */
	assert_int_equal(run_sh("echo started >&2; sleep 30; echo never", NULL, NULL,
				1024, 1, &r), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.signal, SIGTERM);
	assert_true(cc_clock_now() - t0 < 5);
	assert_string_equal(r.out, "");
	assert_memory_equal(r.err.buf, "started\n", 8);
	cc_proc_result_cleanup(&r);
}

static void test_proc_timeout_escalates_to_sigkill(void **state)
{
	struct cc_proc_result r;
	double t0 = cc_clock_now();

	(void)state;
	assert_int_equal(run_sh("trap '' TERM; while :; do sleep 0.1; done", NULL,
				NULL, 1024, 1, &r), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.signal, SIGKILL);
	assert_true(cc_clock_now() - t0 < 6);
	cc_proc_result_cleanup(&r);
}

static void test_proc_output_cap_kills_and_flags(void **state)
{
	struct cc_proc_result r;
	double t0 = cc_clock_now();

	(void)state;
	assert_int_equal(run_sh("while :; do echo yyyyyyyyyyyyyyyyyyyy; done", NULL,
				NULL, 4096, 30, &r), 0);
	assert_true(r.output_too_big);
	assert_false(r.timed_out);
	assert_true(r.out_len <= 4096);
	assert_true(cc_clock_now() - t0 < 5);
	cc_proc_result_cleanup(&r);
}

static void test_proc_straggler_holding_stdout_does_not_stall(void **state)
{
	struct cc_proc_result r;
	double t0 = cc_clock_now();

	(void)state;
	/* the background sleep keeps stdout open after sh exits */
	assert_int_equal(run_sh("sleep 30 & echo done", NULL, NULL, 1024, 60, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "done\n");
	assert_true(cc_clock_now() - t0 < 5);
	cc_proc_result_cleanup(&r);
}

static void test_proc_child_inherits_no_descriptors(void **state)
{
	struct cc_proc_result r;
	int leak = open("/dev/null", O_RDONLY);          /* no O_CLOEXEC */
	int sock = socket(AF_INET, SOCK_STREAM, 0);      /* no SOCK_CLOEXEC */

	(void)state;
	assert_true(leak >= 0 && sock >= 0);
	assert_int_equal(run_sh("ls /proc/self/fd | sort -n | tr '\\n' ' '", NULL,
				NULL, 1024, 10, &r), 0);
	/* 0 1 2 and the fd ls itself opens to read the directory */
	assert_string_equal(r.out, "0 1 2 3 ");
	cc_proc_result_cleanup(&r);
	close(leak);
	close(sock);
}

static void test_proc_runs_in_dir_own_group_default_signals(void **state)
{
	struct cc_proc_result r;
	sigset_t block, old;

	(void)state;
	/* what the node does: SIGTERM blocked, SIGPIPE ignored */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(run_sh("pwd; cut -d' ' -f5 /proc/$$/stat; echo $$; "
				"grep -E '^Sig(Blk|Ign)' /proc/$$/status | cut -f2",
				NULL, "/tmp", 1024, 10, &r), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	char pwd[64], pgid[32], pid[32], blk[32], ign[32];
	assert_int_equal(sscanf(r.out, "%63s %31s %31s %31s %31s", pwd, pgid, pid,
				blk, ign), 5);
	assert_string_equal(pwd, "/tmp");
	assert_string_equal(pgid, pid);
	assert_string_equal(blk, "0000000000000000");
	/* SIGPIPE (bit 12) not ignored */
	assert_int_equal(strtoull(ign, NULL, 16) & (1ULL << (SIGPIPE - 1)), 0);
	cc_proc_result_cleanup(&r);
}

static void test_proc_spawn_failure_is_clear(void **state)
{
	char *argv[] = { "nope", NULL };
	struct cc_proc_spec spec = { "/nonexistent/stage", argv, env_min, NULL };
	struct cc_proc p;
	struct cc_err err = { 0 };

	(void)state;
	assert_int_equal(cc_proc_spawn(&p, &spec, &err), -1);
	assert_non_null(strstr(err.msg, "cannot run /nonexistent/stage"));
	assert_non_null(strstr(err.msg, "No such file"));
	/* a missing working directory */
	spec.path = "/bin/sh";
	spec.dir = "/nonexistent-dir";
	assert_int_equal(cc_proc_spawn(&p, &spec, &err), -1);
	assert_non_null(strstr(err.msg, "cannot run /bin/sh"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_feeds_stdin_and_collects_stdout),
		cmocka_unit_test(test_proc_large_stdin_not_read_does_not_block),
		cmocka_unit_test(test_proc_reports_exit_code_and_stderr),
		cmocka_unit_test(test_proc_reports_death_by_signal),
		cmocka_unit_test(test_proc_timeout_kills_the_group),
		cmocka_unit_test(test_proc_timeout_escalates_to_sigkill),
		cmocka_unit_test(test_proc_output_cap_kills_and_flags),
		cmocka_unit_test(test_proc_straggler_holding_stdout_does_not_stall),
		cmocka_unit_test(test_proc_child_inherits_no_descriptors),
		cmocka_unit_test(test_proc_runs_in_dir_own_group_default_signals),
		cmocka_unit_test(test_proc_spawn_failure_is_clear),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
