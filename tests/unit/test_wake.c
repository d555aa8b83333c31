/* test_wake.c - lib/central/wake.c, the pool's wake-ups of its host's
 * dispatcher: what is sent is what is drained (now, callbacks, a pass
 * later; several coalesce; the earliest delay wins; callbacks have a
 * socket of their own), sending with nobody listening neither blocks nor
 * fails, a second listener on the same socket is refused while the first
 * lives, and a stale socket file is replaced. Each test has its own
 * pid_path folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pathf.h"
#include "central/wake.h"
#include "core/fs.h"

struct fixture {
	struct cc_config cfg;
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_wake.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->cfg.pid_path, sizeof(f->cfg.pid_path), "%s", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };

	cc_fs_rmtree(f->dir, &err);
	free(f);
	return 0;
}

static void test_wake_sent_is_drained(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	int fd = cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err);
	int cfd = cc_wake_listen(&f->cfg, CC_WAKE_CALLBACKS, &err);
	int dispatch = 0, callbacks = 0;
	struct cc_wake_dues due = { .n = 0 };

	assert_true(fd >= 0 && cfd >= 0);
	assert_int_equal(cc_wake_drain(fd, &dispatch, &callbacks, &due, 100.0), 0);
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 0);
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 0);
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 4.5);
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 2);
	cc_wake_send(&f->cfg, CC_WAKE_CALLBACKS, 0);
	assert_int_equal(cc_wake_drain(fd, &dispatch, &callbacks, &due, 100.0), 4);
	assert_int_equal(dispatch, 1);
	assert_int_equal(callbacks, 0);
	/* both delays are kept, earliest first (each a little past its
	 * delay) */
	assert_int_equal(due.n, 2);
	assert_true(fabs(cc_wake_due_next(&due) - 102.1) < 1e-6);
	assert_true(fabs(due.at[1] - 104.6) < 1e-6);
	/* callbacks go to the callbacks process's own socket */
	dispatch = 0;
	due.n = 0;
	assert_int_equal(cc_wake_drain(cfd, &dispatch, &callbacks, &due, 100.0), 1);
	assert_int_equal(callbacks, 1);
	assert_int_equal(dispatch, 0);
	cc_wake_close(&f->cfg, CC_WAKE_DISPATCH, fd);
	cc_wake_close(&f->cfg, CC_WAKE_CALLBACKS, cfd);
}

static void test_wake_later_alone_is_not_now(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	int fd = cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err);
	int dispatch = 0, callbacks = 0;
	struct cc_wake_dues due = { .n = 0 };

	assert_true(fd >= 0);
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 1);
	assert_int_equal(cc_wake_drain(fd, &dispatch, &callbacks, &due, 100.0), 1);
	assert_int_equal(dispatch, 0);
	assert_int_equal(callbacks, 0);
	assert_true(fabs(cc_wake_due_next(&due) - 101.1) < 1e-6);
	cc_wake_close(&f->cfg, CC_WAKE_DISPATCH, fd);
}

/* A retry's pass and a blacklist lapse's are both kept, whichever comes
 * first: a pass runs each away, a full set drops its latest. */
static void test_wake_dues_keep_every_later_pass(void **state)
{
	struct cc_wake_dues d = { .n = 0 };

	(void)state;
	assert_true(cc_wake_due_next(&d) == HUGE_VAL);
	cc_wake_due_add(&d, 50);     /* a lapse, far off */
	cc_wake_due_add(&d, 10);     /* a retry, sooner: it does not replace it */
	cc_wake_due_add(&d, 30);
	assert_int_equal(d.n, 3);
	assert_true(cc_wake_due_next(&d) == 10);
	cc_wake_due_done(&d, 10);    /* the pass at 10 */
	assert_true(cc_wake_due_next(&d) == 30);
	cc_wake_due_done(&d, 40);
	assert_true(cc_wake_due_next(&d) == 50);
	cc_wake_due_done(&d, 50);
	assert_int_equal(d.n, 0);
	for (int i = 0; i < CC_WAKE_DUES; i++)
		cc_wake_due_add(&d, 100 + i);
	cc_wake_due_add(&d, 99);     /* full: the latest (163) goes */
	cc_wake_due_add(&d, 500);    /* full and later than all: dropped */
	assert_int_equal(d.n, CC_WAKE_DUES);
	assert_true(d.at[0] == 99 && d.at[CC_WAKE_DUES - 1] == 100 + CC_WAKE_DUES - 2);
}

static void test_wake_foreign_datagrams_are_ignored(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	int fd = cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	static const char *junk[] = { "x", "d-1", "dnan", "d1e9", "d4.5abc", "" };
	int dispatch = 0, callbacks = 0;
	struct cc_wake_dues due = { .n = 0 };

	assert_true(fd >= 0 && s >= 0);
	assert_int_equal(cc_wake_path(&f->cfg, CC_WAKE_DISPATCH, a.sun_path, sizeof(a.sun_path)), 0);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_true(sendto(s, junk[i], strlen(junk[i]), 0,
				   (struct sockaddr *)&a, sizeof(a)) >= 0);
	cc_wake_drain(fd, &dispatch, &callbacks, &due, 100.0);
	assert_int_equal(dispatch, 0);
	assert_int_equal(callbacks, 0);
	assert_true(cc_wake_due_next(&due) == HUGE_VAL);
	close(s);
	cc_wake_close(&f->cfg, CC_WAKE_DISPATCH, fd);
}

static void test_wake_send_without_listener_returns(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct stat st;

	/* nobody listens: no block, no file made */
	cc_wake_send(&f->cfg, CC_WAKE_DISPATCH, 0);
	PATHF(path, "%s/ccdistribute.sock", f->dir);
	assert_int_equal(stat(path, &st), -1);
}

static void test_wake_second_listener_refused_stale_replaced(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	int fd = cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err), fd2;
	char path[256];
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err), -1);
	assert_non_null(strstr(err.msg, "already listens"));
	/* a stale socket file (its listener gone) is replaced */
	close(fd);
	PATHF(path, "%s/ccdistribute.sock", f->dir);
	assert_int_equal(stat(path, &st), 0);
	fd2 = cc_wake_listen(&f->cfg, CC_WAKE_DISPATCH, &err);
	assert_true(fd2 >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	cc_wake_close(&f->cfg, CC_WAKE_DISPATCH, fd2);
	assert_int_equal(stat(path, &st), -1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wake_sent_is_drained),
		T(test_wake_later_alone_is_not_now),
		cmocka_unit_test(test_wake_dues_keep_every_later_pass),
		T(test_wake_foreign_datagrams_are_ignored),
		T(test_wake_send_without_listener_returns),
		T(test_wake_second_listener_refused_stale_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
