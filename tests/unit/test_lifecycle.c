/* test_lifecycle.c - the unit and job state machine against a real MariaDB
 * (support/dbfixture.h): finishing a unit (success, retry with backoff,
 * failure after work_unit_retries, unknown units, bad output), who may
 * report (the assignment token, the recorded pid of the original's node,
 * stale, forged, duplicate and expired-lease reports) and completing a
 * job (outputs in input order, merge, split, the callback claim). Each
 * test makes its own rows; the database is checked with plain SQL through
 * the fixture's own connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "central/lifecycle.h"
#include "dbfixture.h"
#include "model/job.h"
#include "model/status.h"
#include "model/work_unit.h"

/* report - one report through the API under test: the one place to adapt
 * when its signature changes. token NULL: none (the original's node).
 * Returns its return value. */
static int report(long long id, const char *token, long long pid, int succeeded,
		  const char *output, struct cc_finish *f, struct cc_err *err)
{
	struct dbfx *x = dbfx();
	struct cc_unit_report rep = {
		.unit_id = id, .pid = pid, .token = token, .succeeded = succeeded,
		.output = output, .time = 1.5,
	};

	memset(err, 0, sizeof(*err));
	return cc_lifecycle_finish(x->db, &x->cfg, &rep, f, err);
}

/* outcome - the outcome of a report that must not fail. */
static enum cc_finish_outcome outcome(long long id, const char *token,
				      long long pid, int succeeded,
				      const char *output, struct cc_finish *f)
{
	struct cc_err err;

	if (report(id, token, pid, succeeded, output, f, &err) != 0)
		fail_msg("reporting unit %lld: %s", id, err.msg);
	return f->outcome;
}

/* hold - give the unit a new assignment token, as a dispatch pass does
 * (a different one on each call); tok receives it. */
static void hold(long long id, char tok[CC_TOKEN_LEN + 1])
{
	static long long n;
	char *t;

	dbfx_exec("UPDATE work_units SET token = LEFT(SHA2(CONCAT('test', ?, ':', ?),"
		  " 256), 32) WHERE id = ?", ++n, id, id);
	t = dbfx_str("SELECT token FROM work_units WHERE id = ?", id);
	assert_non_null(t);
	assert_int_equal(strlen(t), CC_TOKEN_LEN);
	memcpy(tok, t, CC_TOKEN_LEN + 1);
	free(t);
}

/* finish_ok - the worker that holds the unit reports (with the unit's
 * token; the unit is given one first when it has none), and it must be
 * recorded. */
static void finish_ok(long long id, long long pid, int succeeded,
		      const char *output, struct cc_finish *f)
{
	char tok[CC_TOKEN_LEN + 1];
	char *t = dbfx_str("SELECT token FROM work_units WHERE id = ?", id);

	if (t) {
		snprintf(tok, sizeof(tok), "%s", t);
		free(t);
	} else {
		hold(id, tok);
	}
	assert_int_equal(outcome(id, tok, pid, succeeded, output, f), CC_FINISH_DONE);
}

static long long unit_int(const char *column_sql, long long id)
{
	return dbfx_int(column_sql, id);
}

#define UNIT_STATUS(id) unit_int("SELECT status FROM work_units WHERE id = ?", id)
#define UNIT_ATTEMPTS(id) unit_int("SELECT attempts FROM work_units WHERE id = ?", id)
#define JOB_STATUS(id) dbfx_int("SELECT status FROM jobs WHERE id = ?", id)
#define JOB_UNITS(id) dbfx_int("SELECT COUNT(*) FROM work_units WHERE job_id = ?", id)

static void assert_job_outputs(long long job, const char *want)
{
	char *s = dbfx_str("SELECT outputs FROM jobs WHERE id = ?", job);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* create - a job through cc_job_create, as POST /jobs makes it. */
static long long create(const char *spec_text)
{
	struct dbfx *x = dbfx();
	struct cc_err err = { 0 };
	json_t *spec = json_loads(spec_text, 0, NULL);
	long long id = 0;

	assert_non_null(spec);
	if (cc_job_create(x->db, &x->cfg, spec, &id, &err) < 0)
		fail_msg("cc_job_create: %s", err.msg);
	json_decref(spec);
	assert_true(id > 0);
	return id;
}

/* The id of the unit of job at position. */
static long long unit_at(long long job, long long position)
{
	static const char sql[] =
		"SELECT id FROM work_units WHERE job_id = ? AND position = ?";
	return dbfx_int(sql, job, position);
}

/* ---- finishing a unit ---------------------------------------------------- */

static void test_lifecycle_success_records_unit_and_counts_it(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;
	char *out;

	(void)state;
	(void)b;
	dbfx_exec("UPDATE work_units SET worker_pid = 41, node_record_id = 7,"
		  " lease_until = NOW(6) + INTERVAL 1 HOUR WHERE id = ?", a);
	finish_ok(a, 41, 1, "{\"output\":\"A\"}", &f);
	assert_true(f.job_id == job);
	assert_int_equal(f.callback_due, 0);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_SUCCEEDED);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	out = dbfx_str("SELECT output FROM work_units WHERE id = ?", a);
	assert_string_equal(out, "{\"output\":\"A\"}");
	free(out);
	assert_true(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_true(dbfx_int("SELECT node_record_id FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_true(dbfx_int("SELECT lease_until FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_int_equal(dbfx_int("SELECT ROUND(time * 10) FROM work_units WHERE id = ?", a), 15);
	/* one of two: the job goes on */
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	assert_int_equal(dbfx_int("SELECT units_total FROM jobs WHERE id = ?", job), 2);
	assert_true(dbfx_int("SELECT outputs FROM jobs WHERE id = ?", job) == DBFX_NULL);
}

static void test_lifecycle_job_succeeds_when_last_unit_does(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;

	(void)state;
	finish_ok(a, 0, 1, "{\"output\":\"A\"}", &f);
	finish_ok(b, 0, 1, "{\"output\":{\"n\":2}}", &f);
	assert_true(f.job_id == job);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"A\",{\"n\":2}]");
	/* a complete job keeps no units, and its counters say so */
	assert_int_equal(JOB_UNITS(job), 0);
	assert_int_equal(dbfx_int("SELECT units_total FROM jobs WHERE id = ?", job), 0);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
	assert_true(dbfx_int("SELECT time FROM jobs WHERE id = ?", job) != DBFX_NULL);
	assert_int_equal(f.callback_due, 0);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", job) == DBFX_NULL);
}

static void test_lifecycle_retries_failed_unit_with_backoff(void **state)
{
	static const char due_in[] =
		"SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), available_at) FROM work_units"
		" WHERE id = ?";
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	long long us;
	char *out;

	(void)state;
	dbfx()->cfg.work_unit_retries = 3;
	dbfx()->cfg.retry_backoff = 10;
	dbfx_exec("UPDATE work_units SET worker_pid = 9, node_record_id = 3 WHERE id = ?", a);
	finish_ok(a, 9, 0, "{\"output\":\"boom 1\"}", &f);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	/* first retry after retry_backoff seconds */
	us = dbfx_int(due_in, a);
	assert_true(us > 8000000 && us <= 10000000);
	/* released, and the node it failed on remembered */
	assert_true(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_true(dbfx_int("SELECT node_record_id FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_int_equal(dbfx_int("SELECT last_node_id FROM work_units WHERE id = ?", a), 3);
	out = dbfx_str("SELECT output FROM work_units WHERE id = ?", a);
	assert_string_equal(out, "{\"output\":\"boom 1\"}");
	free(out);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);

	/* the second retry waits twice as long */
	finish_ok(a, 0, 0, "{\"output\":\"boom 2\"}", &f);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(UNIT_ATTEMPTS(a), 2);
	us = dbfx_int(due_in, a);
	assert_true(us > 18000000 && us <= 20000000);
}

static void test_lifecycle_fails_job_after_retries(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;

	(void)state;
	dbfx()->cfg.work_unit_retries = 2;
	finish_ok(a, 0, 1, "{\"output\":\"fine\"}", &f);
	finish_ok(b, 0, 0, "{\"output\":\"bad 1\"}", &f);
	assert_int_equal(UNIT_STATUS(b), CC_STATUS_PROCESSING);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	/* the second failure is the last attempt allowed */
	finish_ok(b, 0, 0, "{\"output\":\"bad 2\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_FAILED);
	assert_job_outputs(job, "[\"fine\",\"bad 2\"]");
	assert_int_equal(JOB_UNITS(job), 0);
}

static void test_lifecycle_failed_unit_waits_for_the_others(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;

	(void)state;
	dbfx()->cfg.work_unit_retries = 1;
	finish_ok(a, 0, 0, "{\"output\":\"bad\"}", &f);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_FAILED);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	finish_ok(b, 0, 1, "{\"output\":\"fine\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_FAILED);
	assert_job_outputs(job, "[\"bad\",\"fine\"]");
}

/* ---- who may report ------------------------------------------------------- */

#define UNIT_TOKEN_NULL(id) \
	(dbfx_int("SELECT token IS NULL FROM work_units WHERE id = ?", id) == 1)

/* Nothing was recorded on a: still processing, no attempt, no output, and
 * its job counts nothing done. */
static void assert_untouched(long long job, long long a)
{
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(UNIT_ATTEMPTS(a), 0);
	assert_true(dbfx_int("SELECT output FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_true(dbfx_int("SELECT available_at FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
}

static void assert_refused(const struct cc_finish *f, const char *why)
{
	assert_int_equal(f->outcome, CC_FINISH_REFUSED);
	assert_int_equal(f->callback_due, 0);
	if (!strstr(f->why, why))
		fail_msg("refused because '%s', not '%s'", f->why, why);
}

static char *unit_output(long long id)
{
	return dbfx_str("SELECT output FROM work_units WHERE id = ?", id);
}

static void test_lifecycle_accepts_the_token_of_the_assignment(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	char ta[CC_TOKEN_LEN + 1], tb[CC_TOKEN_LEN + 1];
	struct cc_finish f;
	char *last;

	(void)state;
	/* a fast worker reports before the dispatcher recorded its pid: the
	 * reservation gave the token already */
	hold(a, ta);
	dbfx_exec("UPDATE work_units SET reservation = 77 WHERE id = ?", a);
	assert_int_equal(outcome(a, ta, 4321, 1, "{\"output\":\"A\"}", &f), CC_FINISH_DONE);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_SUCCEEDED);
	/* the assignment is over: its token moved to last_token */
	assert_true(UNIT_TOKEN_NULL(a));
	last = dbfx_str("SELECT last_token FROM work_units WHERE id = ?", a);
	assert_non_null(last);
	assert_string_equal(last, ta);
	free(last);
	/* the dispatcher's late assignment no longer applies (no ghost) */
	assert_int_equal(dbfx_int("SELECT reservation IS NULL FROM work_units WHERE id = ?", a), 1);
	/* with the pid recorded too, and a pid the node did not send */
	hold(b, tb);
	dbfx_exec("UPDATE work_units SET worker_pid = 55, node_record_id = 2 WHERE id = ?", b);
	assert_int_equal(outcome(b, tb, 0, 1, "{\"output\":\"B\"}", &f), CC_FINISH_DONE);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"A\",\"B\"]");
}

static void test_lifecycle_refuses_a_token_not_the_units(void **state)
{
	static const char forged[] = "00000000000000000000000000000000";
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	char ta[CC_TOKEN_LEN + 1], tb[CC_TOKEN_LEN + 1];
	struct cc_finish f;

	(void)state;
	hold(a, ta);
	hold(b, tb);
	dbfx_exec("UPDATE work_units SET worker_pid = 8, node_record_id = 1 WHERE id = ?", a);
	/* a sibling's token, a made-up one, a success and a failure */
	outcome(a, tb, 8, 1, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "not that of its current assignment");
	outcome(a, forged, 8, 0, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "not that of its current assignment");
	/* the right pid does not make up for a wrong token */
	outcome(a, "x", 8, 1, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "token");
	assert_untouched(job, a);
	/* the holder is still heard */
	assert_int_equal(outcome(a, ta, 8, 1, "{\"output\":\"A\"}", &f), CC_FINISH_DONE);
}

static void test_lifecycle_refuses_tokenless_report_without_pid(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	char ta[CC_TOKEN_LEN + 1];
	struct cc_finish f;

	(void)state;
	hold(a, ta);
	dbfx_exec("UPDATE work_units SET worker_pid = 5, node_record_id = 1 WHERE id = ?", a);
	outcome(a, NULL, 0, 1, "{\"output\":\"who?\"}", &f);
	assert_refused(&f, "must give the pid");
	outcome(a, "", 0, 0, "{\"output\":\"who?\"}", &f);
	assert_refused(&f, "must give the pid");
	assert_untouched(job, a);
	/* the original's node: its worker's pid, as recorded */
	assert_int_equal(outcome(a, NULL, 5, 1, "{\"output\":\"A\"}", &f), CC_FINISH_DONE);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
}

static void test_lifecycle_refuses_stale_pid(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	char ta[CC_TOKEN_LEN + 1];
	struct cc_finish f;

	(void)state;
	hold(a, ta);
	dbfx_exec("UPDATE work_units SET worker_pid = 111, node_record_id = 1 WHERE id = ?", a);
	outcome(a, NULL, 222, 1, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "held by another worker");
	/* a stale failure report neither: no attempt counted */
	outcome(a, NULL, 222, 0, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "held by another worker");
	assert_untouched(job, a);
	assert_int_equal(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a), 111);
	assert_int_equal(outcome(a, NULL, 111, 1, "{\"output\":\"mine\"}", &f), CC_FINISH_DONE);
	assert_job_outputs(job, "[\"mine\"]");
}

static void test_lifecycle_refuses_pid_not_recorded_yet(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	char ta[CC_TOKEN_LEN + 1];
	struct cc_finish f;

	(void)state;
	/* reserved and sent, its pid not recorded yet: the original's worker
	 * retries every 5 s, and is heard once the pid is recorded */
	hold(a, ta);
	outcome(a, NULL, 31, 1, "{\"output\":\"early\"}", &f);
	assert_refused(&f, "not recorded yet");
	assert_untouched(job, a);
	dbfx_exec("UPDATE work_units SET worker_pid = 31, node_record_id = 1 WHERE id = ?", a);
	assert_int_equal(outcome(a, NULL, 31, 1, "{\"output\":\"early\"}", &f), CC_FINISH_DONE);
}

static void test_lifecycle_refuses_report_for_unassigned_unit(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	char tb[CC_TOKEN_LEN + 1];
	struct cc_finish f;

	(void)state;
	hold(b, tb);
	/* a was never given to anyone */
	outcome(a, NULL, 7, 1, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "not assigned to any worker");
	outcome(a, NULL, 7, 0, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "not assigned to any worker");
	outcome(a, NULL, 0, 1, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "must give the pid");
	outcome(a, tb, 0, 1, "{\"output\":\"forged\"}", &f);
	assert_refused(&f, "not assigned to any worker");
	assert_true(f.job_id == job);
	assert_untouched(job, a);
	assert_true(UNIT_TOKEN_NULL(a));
	assert_true(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a) == DBFX_NULL);
}

static void test_lifecycle_refuses_report_for_finished_unit(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	char ta[CC_TOKEN_LEN + 1], tb[CC_TOKEN_LEN + 1];
	struct cc_finish f;
	char *out;

	(void)state;
	hold(a, ta);
	hold(b, tb);
	dbfx_exec("UPDATE work_units SET worker_pid = 12, node_record_id = 1 WHERE id = ?", a);
	assert_int_equal(outcome(a, ta, 12, 1, "{\"output\":\"first\"}", &f), CC_FINISH_DONE);
	outcome(a, tb, 12, 1, "{\"output\":\"second\"}", &f);
	assert_refused(&f, "already finished");
	outcome(a, NULL, 13, 0, "{\"output\":\"failed\"}", &f);
	assert_refused(&f, "already finished");
	outcome(a, NULL, 0, 1, "{\"output\":\"who?\"}", &f);
	assert_refused(&f, "must give the pid");
	out = unit_output(a);
	assert_string_equal(out, "{\"output\":\"first\"}");
	free(out);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_SUCCEEDED);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
}

static void test_lifecycle_duplicate_success_is_recorded_once(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain",
				     "http://127.0.0.1:9/done");
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	long long c = dbfx_unit_new(job, CC_STATUS_PROCESSING, 2, "c");
	char ta[CC_TOKEN_LEN + 1], tb[CC_TOKEN_LEN + 1];
	struct cc_finish f;
	char *out;

	(void)state;
	hold(a, ta);
	assert_int_equal(outcome(a, ta, 0, 1, "{\"output\":\"first\"}", &f), CC_FINISH_DONE);
	/* the same report again (a retry, nginx re-sending it): no change */
	assert_int_equal(outcome(a, ta, 0, 1, "{\"output\":\"first\"}", &f), CC_FINISH_DUPLICATE);
	assert_int_equal(outcome(a, ta, 0, 1, "{\"output\":\"second\"}", &f), CC_FINISH_DUPLICATE);
	assert_int_equal(outcome(a, ta, 0, 0, "{\"output\":\"failed\"}", &f), CC_FINISH_DUPLICATE);
	assert_int_equal(f.callback_due, 0);
	out = unit_output(a);
	assert_string_equal(out, "{\"output\":\"first\"}");
	free(out);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	/* the original's node, by pid */
	hold(b, tb);
	dbfx_exec("UPDATE work_units SET worker_pid = 41, node_record_id = 1 WHERE id = ?", b);
	assert_int_equal(outcome(b, NULL, 41, 1, "{\"output\":\"B\"}", &f), CC_FINISH_DONE);
	assert_int_equal(outcome(b, NULL, 41, 1, "{\"output\":\"B\"}", &f), CC_FINISH_DUPLICATE);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 2);
	/* the last unit: the job completes once, its callback claimed once */
	finish_ok(c, 0, 1, "{\"output\":\"C\"}", &f);
	assert_int_equal(f.callback_due, 1);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"first\",\"B\",\"C\"]");
}

static void test_lifecycle_duplicate_failure_counts_one_attempt(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	char t1[CC_TOKEN_LEN + 1], t2[CC_TOKEN_LEN + 1], t3[CC_TOKEN_LEN + 1];
	struct cc_finish f;
	char *out;

	(void)state;
	dbfx()->cfg.work_unit_retries = 3;
	hold(a, t1);
	assert_int_equal(outcome(a, t1, 9, 0, "{\"output\":\"boom 1\"}", &f), CC_FINISH_DONE);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	/* the same failure twice more: still one attempt */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(outcome(a, t1, 9, 0, "{\"output\":\"boom 1\"}", &f),
				 CC_FINISH_DUPLICATE);
		assert_int_equal(UNIT_ATTEMPTS(a), 1);
	}
	/* nor once the unit is assigned again */
	hold(a, t2);
	assert_int_equal(outcome(a, t1, 9, 0, "{\"output\":\"boom 1\"}", &f),
			 CC_FINISH_DUPLICATE);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	/* the original's node repeats its failure report, by pid */
	dbfx_exec("UPDATE work_units SET worker_pid = 77, node_record_id = 1 WHERE id = ?", a);
	assert_int_equal(outcome(a, NULL, 77, 0, "{\"output\":\"boom 2\"}", &f), CC_FINISH_DONE);
	assert_int_equal(outcome(a, NULL, 77, 0, "{\"output\":\"boom 2\"}", &f),
			 CC_FINISH_DUPLICATE);
	assert_int_equal(UNIT_ATTEMPTS(a), 2);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	/* the last attempt allowed fails the unit once */
	hold(a, t3);
	assert_int_equal(outcome(a, t3, 0, 0, "{\"output\":\"boom 3\"}", &f), CC_FINISH_DONE);
	assert_int_equal(outcome(a, t3, 0, 0, "{\"output\":\"boom 3\"}", &f),
			 CC_FINISH_DUPLICATE);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_FAILED);
	assert_int_equal(UNIT_ATTEMPTS(a), 3);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	/* an older attempt's report changes nothing either */
	assert_true(outcome(a, t1, 9, 0, "{\"output\":\"boom 1\"}", &f) != CC_FINISH_DONE);
	assert_true(outcome(a, t2, 0, 1, "{\"output\":\"late\"}", &f) != CC_FINISH_DONE);
	out = unit_output(a);
	assert_string_equal(out, "{\"output\":\"boom 3\"}");
	free(out);
	assert_int_equal(UNIT_ATTEMPTS(a), 3);
	finish_ok(b, 0, 1, "{\"output\":\"B\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_FAILED);
}

static void test_lifecycle_expired_lease_retires_the_token(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	char t1[CC_TOKEN_LEN + 1], t2[CC_TOKEN_LEN + 1];
	struct dbfx *x = dbfx();
	struct cc_finish f;
	struct cc_err err = { 0 };
	int expired = -1;

	(void)state;
	x->cfg.work_unit_retries = 3;
	hold(a, t1);
	dbfx_exec("UPDATE work_units SET worker_pid = 50, node_record_id = 1,"
		  " lease_until = NOW(6) - INTERVAL 1 SECOND WHERE id = ?", a);
	if (cc_lifecycle_expire_leases(x->db, &x->cfg, &expired, &err) < 0)
		fail_msg("expire_leases: %s", err.msg);
	assert_int_equal(expired, 1);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	assert_true(UNIT_TOKEN_NULL(a));
	/* the slow worker reports at last: its assignment is over */
	outcome(a, t1, 50, 1, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "not assigned to any worker");
	outcome(a, NULL, 50, 0, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "not assigned to any worker");
	/* and once the unit runs again, elsewhere */
	hold(a, t2);
	dbfx_exec("UPDATE work_units SET worker_pid = 60, node_record_id = 2,"
		  " lease_until = NOW(6) + INTERVAL 1 HOUR WHERE id = ?", a);
	outcome(a, t1, 50, 1, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "not that of its current assignment");
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	assert_true(dbfx_int("SELECT output FROM work_units WHERE id = ? AND output LIKE"
			     " '%no result within its lease%'", a) != DBFX_NULL);
	assert_int_equal(outcome(a, t2, 60, 1, "{\"output\":\"A\"}", &f), CC_FINISH_DONE);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"A\"]");
}

static void test_lifecycle_expiry_of_an_ended_assignment_changes_nothing(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	char t1[CC_TOKEN_LEN + 1], t2[CC_TOKEN_LEN + 1];
	struct dbfx *x = dbfx();
	struct cc_unit_report rep = {
		.unit_id = a, .pid = 50, .lease_expired = 1, .succeeded = 0,
		.output = "{\"output\":\"no result within its lease\"}",
	};
	struct cc_finish f;
	struct cc_err err = { 0 };

	(void)state;
	/* the sweep listed the unit under t1; it was reassigned before the
	 * sweep got to it */
	hold(a, t1);
	hold(a, t2);
	rep.token = t1;
	assert_int_equal(cc_lifecycle_finish(x->db, &x->cfg, &rep, &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_REFUSED);
	assert_untouched(job, a);
	/* under the token it still holds, the expiry counts */
	rep.token = t2;
	assert_int_equal(cc_lifecycle_finish(x->db, &x->cfg, &rep, &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_DONE);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	/* and keeps nothing: the worker's own report of t2 is refused */
	outcome(a, t2, 50, 1, "{\"output\":\"late\"}", &f);
	assert_refused(&f, "not assigned to any worker");
}

static void test_lifecycle_unknown_unit_is_not_found(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	struct cc_err err;

	(void)state;
	assert_int_equal(report(a + 1000, NULL, 0, 1, "{\"output\":1}", &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_NOT_FOUND);
	assert_int_equal(f.callback_due, 0);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
}

static void test_lifecycle_rejects_bad_output_and_changes_nothing(void **state)
{
	static const char *const bad[] = { "not json", "[1,2]", "\"text\"",
		"{\"out\":1}", "{\"output\":1", "" };
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	struct cc_err err;

	(void)state;
	dbfx_exec("UPDATE work_units SET worker_pid = 5 WHERE id = ?", a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(report(a, NULL, 5, 1, bad[i], &f, &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
		assert_true(strstr(err.msg, "output") != NULL);
		assert_int_equal(report(a, NULL, 5, 0, bad[i], &f, &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	}
	assert_int_equal(cc_db_in_transaction(dbfx()->db), 0);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(UNIT_ATTEMPTS(a), 0);
	assert_int_equal(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a), 5);
	assert_true(dbfx_int("SELECT output FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_true(dbfx_int("SELECT available_at FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
}

/* ---- completing a job ------------------------------------------------------ */

static void test_lifecycle_gathers_outputs_in_input_order(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	/* inserted out of order: ids do not follow positions */
	long long p2 = dbfx_unit_new(job, CC_STATUS_PROCESSING, 2, "c");
	long long p0 = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long p3 = dbfx_unit_new(job, CC_STATUS_PROCESSING, 3, "d");
	long long p1 = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;

	(void)state;
	/* and finished in yet another order */
	finish_ok(p1, 0, 1, "{\"output\":\"B\"}", &f);
	finish_ok(p3, 0, 1, "{\"output\":\"D\"}", &f);
	finish_ok(p0, 0, 1, "{\"output\":\"A\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	finish_ok(p2, 0, 1, "{\"output\":\"C\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"A\",\"B\",\"C\",\"D\"]");
}

static void test_lifecycle_created_job_completes_in_input_order(void **state)
{
	long long job = create("{\"action\":\"plain\",\"inputs\":[\"x\",{\"k\":1},\"z\"]}");
	long long u0 = unit_at(job, 0), u1 = unit_at(job, 1), u2 = unit_at(job, 2);
	struct cc_finish f;
	char *in;

	(void)state;
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(dbfx_int("SELECT units_total FROM jobs WHERE id = ?", job), 3);
	/* a non-string input is stored as JSON text */
	in = dbfx_str("SELECT input FROM work_units WHERE id = ?", u1);
	assert_string_equal(in, "{\"k\":1}");
	free(in);
	assert_int_equal(dbfx_int("SELECT input_is_json FROM work_units WHERE id = ?", u1), 1);
	assert_int_equal(dbfx_int("SELECT input_is_json FROM work_units WHERE id = ?", u0), 0);
	finish_ok(u2, 0, 1, "{\"output\":3}", &f);
	finish_ok(u0, 0, 1, "{\"output\":1}", &f);
	finish_ok(u1, 0, 1, "{\"output\":[2]}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[1,[2],3]");
}

static void test_lifecycle_merge_stage_gets_one_merge_unit(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "merged", NULL);
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	long long m;
	char *in;

	(void)state;
	finish_ok(b, 0, 1, "{\"output\":\"B\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	finish_ok(a, 0, 1, "{\"output\":\"A\"}", &f);
	assert_int_equal(f.callback_due, 0);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_MERGING);
	/* the processing units are gone; one merge unit holds their outputs */
	assert_int_equal(JOB_UNITS(job), 1);
	m = dbfx_int("SELECT id FROM work_units WHERE job_id = ?", job);
	assert_int_equal(UNIT_STATUS(m), CC_STATUS_MERGING);
	assert_int_equal(UNIT_ATTEMPTS(m), 0);
	in = dbfx_str("SELECT input FROM work_units WHERE id = ?", m);
	assert_string_equal(in, "[\"A\",\"B\"]");
	free(in);
	assert_int_equal(dbfx_int("SELECT input_is_json FROM work_units WHERE id = ?", m), 1);
	assert_int_equal(dbfx_int("SELECT units_total FROM jobs WHERE id = ?", job), 1);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
	assert_true(dbfx_int("SELECT outputs FROM jobs WHERE id = ?", job) == DBFX_NULL);

	finish_ok(m, 0, 1, "{\"output\":\"AB\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"AB\"]");
	assert_int_equal(JOB_UNITS(job), 0);
}

static void test_lifecycle_failed_unit_skips_merge(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "merged", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;

	(void)state;
	dbfx()->cfg.work_unit_retries = 1;
	finish_ok(a, 0, 1, "{\"output\":\"A\"}", &f);
	finish_ok(b, 0, 0, "{\"output\":\"no\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_FAILED);
	assert_job_outputs(job, "[\"A\",\"no\"]");
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE status = 5"), 0);
}

static void test_lifecycle_split_stage_makes_processing_units(void **state)
{
	long long job = create("{\"action\":\"splitter\",\"inputs\":[\"doc\"]}");
	long long s = unit_at(job, 0);
	struct cc_finish f;
	long long p[3];

	(void)state;
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SPLITTING);
	assert_int_equal(UNIT_STATUS(s), CC_STATUS_SPLITTING);
	finish_ok(s, 0, 1, "{\"output\":[\"p1\",\"p2\",{\"page\":3}]}", &f);
	assert_int_equal(f.callback_due, 0);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	/* the split unit became three processing units, in its order */
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE id = ?", s), 0);
	assert_int_equal(JOB_UNITS(job), 3);
	assert_int_equal(dbfx_int("SELECT COUNT(*) FROM work_units WHERE job_id = ?"
				  " AND status = 1", job), 3);
	assert_int_equal(dbfx_int("SELECT units_total FROM jobs WHERE id = ?", job), 3);
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 0);
	for (int i = 0; i < 3; i++)
		p[i] = unit_at(job, i);
	assert_int_equal(dbfx_int("SELECT input_is_json FROM work_units WHERE id = ?", p[2]), 1);
	finish_ok(p[2], 0, 1, "{\"output\":\"r3\"}", &f);
	finish_ok(p[0], 0, 1, "{\"output\":\"r1\"}", &f);
	finish_ok(p[1], 0, 1, "{\"output\":\"r2\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"r1\",\"r2\",\"r3\"]");
}

static void test_lifecycle_split_waits_for_every_split_unit(void **state)
{
	long long job = create("{\"action\":\"split_merge\",\"inputs\":[\"d1\",\"d2\"]}");
	long long s0 = unit_at(job, 0), s1 = unit_at(job, 1);
	struct cc_finish f;
	long long m;
	char *in;

	(void)state;
	finish_ok(s1, 0, 1, "{\"output\":[\"b1\",\"b2\"]}", &f);
	/* one split still to run: still splitting */
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SPLITTING);
	finish_ok(s0, 0, 1, "{\"output\":[\"a1\"]}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	assert_int_equal(JOB_UNITS(job), 3);
	/* positions keep the split order: d1's pieces before d2's */
	finish_ok(unit_at(job, 1000000 + 1), 0, 1, "{\"output\":\"B2\"}", &f);
	finish_ok(unit_at(job, 0), 0, 1, "{\"output\":\"A1\"}", &f);
	finish_ok(unit_at(job, 1000000), 0, 1, "{\"output\":\"B1\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_MERGING);
	m = dbfx_int("SELECT id FROM work_units WHERE job_id = ?", job);
	in = dbfx_str("SELECT input FROM work_units WHERE id = ?", m);
	assert_string_equal(in, "[\"A1\",\"B1\",\"B2\"]");
	free(in);
	finish_ok(m, 0, 1, "{\"output\":\"all\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"all\"]");
}

static void test_lifecycle_split_output_must_be_an_array(void **state)
{
	long long job = create("{\"action\":\"splitter\",\"inputs\":[\"doc\"]}");
	long long s = unit_at(job, 0);
	struct cc_finish f;

	(void)state;
	finish_ok(s, 0, 1, "{\"output\":\"not a list\"}", &f);
	/* counted as a failed attempt, and retried */
	assert_int_equal(UNIT_STATUS(s), CC_STATUS_SPLITTING);
	assert_int_equal(UNIT_ATTEMPTS(s), 1);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SPLITTING);
	assert_int_equal(JOB_UNITS(job), 1);
}

static void test_lifecycle_callback_due_only_with_callback_url(void **state)
{
	long long with = dbfx_job_new(CC_STATUS_PROCESSING, "plain",
				      "http://127.0.0.1:9/done");
	long long w0 = dbfx_unit_new(with, CC_STATUS_PROCESSING, 0, "a");
	long long w1 = dbfx_unit_new(with, CC_STATUS_PROCESSING, 1, "b");
	long long without = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long o0 = dbfx_unit_new(without, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;

	(void)state;
	finish_ok(w0, 0, 1, "{\"output\":1}", &f);
	assert_int_equal(f.callback_due, 0);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", with) == DBFX_NULL);
	finish_ok(w1, 0, 1, "{\"output\":2}", &f);
	assert_int_equal(f.callback_due, 1);
	assert_true(f.job_id == with);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", with) != DBFX_NULL);

	finish_ok(o0, 0, 1, "{\"output\":1}", &f);
	assert_int_equal(JOB_STATUS(without), CC_STATUS_SUCCEEDED);
	assert_int_equal(f.callback_due, 0);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", without) == DBFX_NULL);
}

static void test_lifecycle_failed_job_with_callback_is_due_too(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain",
				     "https://example.test/cb");
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;

	(void)state;
	dbfx()->cfg.work_unit_retries = 1;
	finish_ok(a, 0, 0, "{\"output\":\"no\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_FAILED);
	assert_int_equal(f.callback_due, 1);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", job) != DBFX_NULL);
}

static void test_lifecycle_merge_does_not_claim_callback(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "merged",
				     "http://127.0.0.1:9/done");
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	long long m;

	(void)state;
	finish_ok(a, 0, 1, "{\"output\":1}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_MERGING);
	assert_int_equal(f.callback_due, 0);
	assert_true(dbfx_int("SELECT callback_at FROM jobs WHERE id = ?", job) == DBFX_NULL);
	m = dbfx_int("SELECT id FROM work_units WHERE job_id = ?", job);
	finish_ok(m, 0, 1, "{\"output\":\"m\"}", &f);
	assert_int_equal(f.callback_due, 1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		DBFX_TEST(test_lifecycle_success_records_unit_and_counts_it),
		DBFX_TEST(test_lifecycle_job_succeeds_when_last_unit_does),
		DBFX_TEST(test_lifecycle_retries_failed_unit_with_backoff),
		DBFX_TEST(test_lifecycle_fails_job_after_retries),
		DBFX_TEST(test_lifecycle_failed_unit_waits_for_the_others),
		DBFX_TEST(test_lifecycle_accepts_the_token_of_the_assignment),
		DBFX_TEST(test_lifecycle_refuses_a_token_not_the_units),
		DBFX_TEST(test_lifecycle_refuses_tokenless_report_without_pid),
		DBFX_TEST(test_lifecycle_refuses_stale_pid),
		DBFX_TEST(test_lifecycle_refuses_pid_not_recorded_yet),
		DBFX_TEST(test_lifecycle_refuses_report_for_unassigned_unit),
		DBFX_TEST(test_lifecycle_refuses_report_for_finished_unit),
		DBFX_TEST(test_lifecycle_duplicate_success_is_recorded_once),
		DBFX_TEST(test_lifecycle_duplicate_failure_counts_one_attempt),
		DBFX_TEST(test_lifecycle_expired_lease_retires_the_token),
		DBFX_TEST(test_lifecycle_expiry_of_an_ended_assignment_changes_nothing),
		DBFX_TEST(test_lifecycle_unknown_unit_is_not_found),
		DBFX_TEST(test_lifecycle_rejects_bad_output_and_changes_nothing),
		DBFX_TEST(test_lifecycle_gathers_outputs_in_input_order),
		DBFX_TEST(test_lifecycle_created_job_completes_in_input_order),
		DBFX_TEST(test_lifecycle_merge_stage_gets_one_merge_unit),
		DBFX_TEST(test_lifecycle_failed_unit_skips_merge),
		DBFX_TEST(test_lifecycle_split_stage_makes_processing_units),
		DBFX_TEST(test_lifecycle_split_waits_for_every_split_unit),
		DBFX_TEST(test_lifecycle_split_output_must_be_an_array),
		DBFX_TEST(test_lifecycle_callback_due_only_with_callback_url),
		DBFX_TEST(test_lifecycle_failed_job_with_callback_is_due_too),
		DBFX_TEST(test_lifecycle_merge_does_not_claim_callback),
	};

	return cmocka_run_group_tests(tests, dbfx_group_setup, dbfx_group_teardown);
}
