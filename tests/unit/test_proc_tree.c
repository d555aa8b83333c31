/* test_proc_tree.c - descendants that leave a spawned child's process group
 * (lib/proc/proc.c with cc_proc_subreaper_start, as crowd-node runs it):
 * a setsid grandchild, a daemon two levels down and one that cleared its
 * environment are all killed (and reaped) by the time cc_proc_supervise
 * returns; the orphan of a child still running is left alone until that
 * child ends; orphans that exit by themselves are reaped by
 * cc_proc_reap_orphans; the child carries its tag in CROWD_PROC_TAG. The
 * tests share one process (the subreaper is per process) and real /bin/sh
 * children; each leaves no child of ours behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"

static char *const env_min[] = { "PATH=/usr/bin:/bin", "CROWD_PROC_TAG=1.1", NULL };

static void spawn_sh(struct cc_proc *p, const char *script)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct cc_proc_spec spec = { "/bin/sh", argv, env_min, NULL };
	struct cc_err err = { 0 };

	if (cc_proc_spawn(p, &spec, &err) < 0)
		fail_msg("spawn: %s", err.msg);
}

/* Run script to its end; its stdout as a number (a pid it printed). */
static pid_t run_for_pid(const char *script)
{
	struct cc_proc p;
	struct cc_proc_result r;
	struct cc_err err = { 0 };
	long pid;

	spawn_sh(&p, script);
	assert_int_equal(cc_proc_supervise(&p, NULL, 0, 4096, 20, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);
	pid = strtol(r.out, NULL, 10);
	if (pid <= 1)
		fail_msg("the script printed '%s', not a pid", r.out);
	cc_proc_result_cleanup(&r);
	return (pid_t)pid;
}

static int alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

/* Our children right now (the main thread's: where orphans land). */
static int count_children(void)
{
	char path[64];
	FILE *f;
	int pid, n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "r");
	assert_non_null(f);
	while (fscanf(f, "%d", &pid) == 1)
		n++;
	fclose(f);
	return n;
}

static int setup_group(void **state)
{
	struct cc_err err = { 0 };

	(void)state;
	if (cc_proc_subreaper_start(&err) < 0) {
		fprintf(stderr, "cc_proc_subreaper_start: %s\n", err.msg);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void test_proc_tree_kills_a_setsid_grandchild(void **state)
{
	pid_t gc;

	(void)state;
	gc = run_for_pid("setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!");
	assert_false(alive(gc));
	assert_int_equal(count_children(), 0);
}

static void test_proc_tree_kills_a_daemon_two_levels_down(void **state)
{
	pid_t d;

	(void)state;
	/* The setsid'd shell outlives the child and has a child of its own:
	 * that one becomes an orphan only once its parent is killed. */
	d = run_for_pid("setsid sh -c 'sleep 1000 & echo $!; exec sleep 1000' "
			"</dev/null 2>/dev/null & sleep 0.2");
	assert_false(alive(d));
	assert_int_equal(count_children(), 0);
}

static void test_proc_tree_kills_an_orphan_that_cleared_its_environment(void **state)
{
	pid_t gc;

	(void)state;
	gc = run_for_pid("env -i setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!");
	assert_false(alive(gc));
	assert_int_equal(count_children(), 0);
}

static void test_proc_tree_leaves_the_orphans_of_a_running_child(void **state)
{
	char file[] = "/tmp/test_proc_tree.XXXXXX", script[256];
	struct cc_proc a;
	struct cc_proc_result r;
	struct cc_err err = { 0 };
	pid_t ga = 0, gb;
	FILE *f;
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* a: its orphan exists while a still runs */
	snprintf(script, sizeof(script), "(setsid sleep 1000 </dev/null >/dev/null "
		 "2>&1 & echo $! >%s.tmp; mv %s.tmp %s); sleep 1", file, file, file);
	spawn_sh(&a, script);
	for (int i = 0; i < 200 && !ga; i++) {
		usleep(10000);
		if ((f = fopen(file, "r"))) {
			if (fscanf(f, "%d", &ga) != 1)
				ga = 0;
			fclose(f);
		}
	}
	assert_true(ga > 1);
	/* b ends (its orphan is killed); a's orphan is not b's */
	gb = run_for_pid("setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!");
	assert_false(alive(gb));
	assert_int_equal(cc_proc_reap_orphans(), 0);
	assert_true(alive(ga));
	/* a ends: now its orphan goes */
	assert_int_equal(cc_proc_supervise(&a, NULL, 0, 4096, 20, &r, &err), 0);
	cc_proc_result_cleanup(&r);
	assert_false(alive(ga));
	assert_int_equal(count_children(), 0);
	unlink(file);
}

static void test_proc_tree_reaps_orphans_that_exit(void **state)
{
	struct cc_proc p;
	struct cc_proc_result r;
	struct cc_err err = { 0 };

	(void)state;
	/* the orphan exits while the child still runs: a zombie of ours */
	spawn_sh(&p, "(setsid sh -c 'exit 0' &); sleep 0.3");
	usleep(150000);
	cc_proc_reap_orphans();
	assert_int_equal(count_children(), 1);      /* p itself */
	assert_int_equal(cc_proc_supervise(&p, NULL, 0, 4096, 20, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);           /* its status was not stolen */
	cc_proc_result_cleanup(&r);
	assert_int_equal(count_children(), 0);
}

static void test_proc_tree_tags_the_child(void **state)
{
	struct cc_proc p;
	struct cc_proc_result r;
	struct cc_err err = { 0 };
	char want[64];

	(void)state;
	spawn_sh(&p, "echo \"$CROWD_PROC_TAG\"; env | grep -c '^CROWD_PROC_TAG='");
	assert_int_equal(cc_proc_supervise(&p, NULL, 0, 4096, 20, &r, &err), 0);
	snprintf(want, sizeof(want), "%d.", (int)getpid());
	if (strncmp(r.out, want, strlen(want)))
		fail_msg("CROWD_PROC_TAG is '%s', not %s<n>", r.out, want);
	/* the one of the environment given was replaced, not doubled */
	assert_non_null(strstr(r.out, "\n1\n"));
	cc_proc_result_cleanup(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_tree_kills_a_setsid_grandchild),
		cmocka_unit_test(test_proc_tree_kills_a_daemon_two_levels_down),
		cmocka_unit_test(test_proc_tree_kills_an_orphan_that_cleared_its_environment),
		cmocka_unit_test(test_proc_tree_leaves_the_orphans_of_a_running_child),
		cmocka_unit_test(test_proc_tree_reaps_orphans_that_exit),
		cmocka_unit_test(test_proc_tree_tags_the_child),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
