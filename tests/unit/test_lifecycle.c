/* test_lifecycle.c - the unit and job state machine against a real MariaDB
 * (support/dbfixture.h): finishing a unit (success, retry with backoff,
 * failure after work_unit_retries, late and duplicate reports, unknown
 * units, bad output) and completing a job (outputs in input order, merge,
 * split, the callback claim). Each test makes its own rows; the database
 * is checked with plain SQL through the fixture's own connection. */
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

/* finish - report one attempt through the API under test: the one place
 * to adapt when its signature changes. Returns its return value. */
static int finish(long long id, long long pid, int succeeded,
		  const char *output, struct cc_finish *f, struct cc_err *err)
{
	struct dbfx *x = dbfx();
	struct cc_unit_report rep = {
		.unit_id = id, .pid = pid, .succeeded = succeeded,
		.output = output, .time = 1.5,
	};

	memset(err, 0, sizeof(*err));
	return cc_lifecycle_finish(x->db, &x->cfg, &rep, f, err);
}

/* finish_ok - a report that must be recorded. */
static void finish_ok(long long id, long long pid, int succeeded,
		      const char *output, struct cc_finish *f)
{
	struct cc_err err;
	int rc = finish(id, pid, succeeded, output, f, &err);

	if (rc != 0)
		fail_msg("finishing unit %lld: %s", id, err.msg);
	assert_int_equal(f->outcome, CC_FINISH_DONE);
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

static void test_lifecycle_ignores_late_report_from_stale_pid(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	struct cc_err err;

	(void)state;
	dbfx_exec("UPDATE work_units SET worker_pid = 111, node_record_id = 1 WHERE id = ?", a);
	assert_int_equal(finish(a, 222, 1, "{\"output\":\"late\"}", &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_IGNORED);
	assert_int_equal(f.callback_due, 0);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_PROCESSING);
	assert_int_equal(UNIT_ATTEMPTS(a), 0);
	assert_int_equal(dbfx_int("SELECT worker_pid FROM work_units WHERE id = ?", a), 111);
	assert_true(dbfx_int("SELECT output FROM work_units WHERE id = ?", a) == DBFX_NULL);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
	/* a stale failure report is ignored too: no attempt counted */
	assert_int_equal(finish(a, 222, 0, "{\"output\":\"late\"}", &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_IGNORED);
	assert_int_equal(UNIT_ATTEMPTS(a), 0);
	/* the worker that holds it is heard */
	finish_ok(a, 111, 1, "{\"output\":\"mine\"}", &f);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_SUCCEEDED);
	assert_job_outputs(job, "[\"mine\"]");
}

static void test_lifecycle_ignores_duplicate_report_of_complete_unit(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	long long b = dbfx_unit_new(job, CC_STATUS_PROCESSING, 1, "b");
	struct cc_finish f;
	struct cc_err err;
	char *out;

	(void)state;
	(void)b;
	finish_ok(a, 0, 1, "{\"output\":\"first\"}", &f);
	assert_int_equal(finish(a, 0, 1, "{\"output\":\"second\"}", &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_IGNORED);
	assert_int_equal(finish(a, 0, 0, "{\"output\":\"failed\"}", &f, &err), 0);
	assert_int_equal(f.outcome, CC_FINISH_IGNORED);
	out = dbfx_str("SELECT output FROM work_units WHERE id = ?", a);
	assert_string_equal(out, "{\"output\":\"first\"}");
	free(out);
	assert_int_equal(UNIT_STATUS(a), CC_STATUS_SUCCEEDED);
	assert_int_equal(UNIT_ATTEMPTS(a), 1);
	/* counted once */
	assert_int_equal(dbfx_int("SELECT units_done FROM jobs WHERE id = ?", job), 1);
	assert_int_equal(JOB_STATUS(job), CC_STATUS_PROCESSING);
}

static void test_lifecycle_unknown_unit_is_not_found(void **state)
{
	long long job = dbfx_job_new(CC_STATUS_PROCESSING, "plain", NULL);
	long long a = dbfx_unit_new(job, CC_STATUS_PROCESSING, 0, "a");
	struct cc_finish f;
	struct cc_err err;

	(void)state;
	assert_int_equal(finish(a + 1000, 0, 1, "{\"output\":1}", &f, &err), 0);
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
		assert_int_equal(finish(a, 5, 1, bad[i], &f, &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
		assert_true(strstr(err.msg, "output") != NULL);
		assert_int_equal(finish(a, 5, 0, bad[i], &f, &err), -1);
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
		DBFX_TEST(test_lifecycle_ignores_late_report_from_stale_pid),
		DBFX_TEST(test_lifecycle_ignores_duplicate_report_of_complete_unit),
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
