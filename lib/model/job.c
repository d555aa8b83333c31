/* job.c - the jobs table. Creation validates everything before writing;
 * the completion writes run inside the unit-finishing transaction of
 * central/lifecycle.c with the job row locked, so two units finishing at
 * once never merge twice or lose an output. */
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/action.h"
#include "model/job.h"
#include "core/log.h"
#include "model/status.h"
#include "store/store.h"
#include "model/work_unit.h"

static const struct cc_dbcol JOB_COLS[] = {
	CC_COL(struct cc_job, id, CC_COL_I64),
	CC_COL(struct cc_job, status, CC_COL_INT),
	CC_COL(struct cc_job, action, CC_COL_STR),
	CC_COL(struct cc_job, options, CC_COL_STR),
	CC_COL(struct cc_job, outputs, CC_COL_STR),
	CC_COL(struct cc_job, time, CC_COL_DBL),
	CC_COL(struct cc_job, callback_url, CC_COL_STR),
	CC_COL(struct cc_job, email, CC_COL_STR),
	CC_COL(struct cc_job, age, CC_COL_DBL),
	CC_COL_CHARBUF(struct cc_job, created_at),
	CC_COL(struct cc_job, unit_count, CC_COL_I64),
	CC_COL(struct cc_job, units_done, CC_COL_I64),
	CC_COL(struct cc_job, has_callback, CC_COL_INT),
};
const struct cc_dbrow cc_job_row = CC_DBROW(struct cc_job, JOB_COLS);

static const char SQL_INSERT_JOB[] =
	"INSERT INTO jobs (status, inputs, action, options, callback_url, email,"
	" created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NOW(6), NOW(6))";
/* What a job's JSON shows. time is -1 while NULL. */
#define JOB_SELECT "SELECT id, status, action, options, outputs," \
	" COALESCE(time, -1) AS time, callback_url, email," \
	" TIMESTAMPDIFF(MICROSECOND, created_at, NOW(6)) / 1000000.0 AS age," \
	" DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS created_at," \
	" units_total AS unit_count, units_done FROM jobs"
static const char SQL_FIND_JOB[] =
	JOB_SELECT " WHERE id = ?";
static const char SQL_JOB_PAGE[] =
	JOB_SELECT " ORDER BY id DESC LIMIT ? OFFSET ?";
static const char SQL_LOCK_JOB[] =
	"SELECT id, status, action, units_total AS unit_count, units_done,"
	" callback_url IS NOT NULL AS has_callback FROM jobs"
	" WHERE id = ? FOR UPDATE";
static const char SQL_JOB_ACTION[] =
	"SELECT id, action FROM jobs WHERE id = ?";
static const char SQL_DELETE_UNITS[] =
	"DELETE FROM work_units WHERE job_id = ?";
static const char SQL_DELETE_JOB[] =
	"DELETE FROM jobs WHERE id = ?";
static const char SQL_SET_STATUS[] =
	"UPDATE jobs SET status = ?, updated_at = NOW(6) WHERE id = ?";
static const char SQL_FORGET_COMPLETE_UNITS[] =
	"UPDATE jobs SET units_total = units_total - units_done, units_done = 0"
	" WHERE id = ?";
/* Also forgets the complete units' counts (SQL_FORGET_COMPLETE_UNITS),
 * whose rows go next: assignments apply left to right, so units_total
 * still sees the old units_done. */
static const char SQL_FINISH_JOB[] =
	"UPDATE jobs SET status = ?, outputs = ?,"
	" time = TIMESTAMPDIFF(MICROSECOND, created_at, NOW(6)) / 1000000.0,"
	" callback_at = IF(callback_url IS NULL, NULL, NOW(6)),"
	" units_total = units_total - units_done, units_done = 0,"
	" updated_at = NOW(6) WHERE id = ?";
/* Jobs not complete and their units not done: from the counters, with no
 * scan of work_units. */
struct incomplete {
	long long jobs;
	long long units;
};
static const struct cc_dbcol INCOMPLETE_COLS[] = {
	CC_COL(struct incomplete, jobs, CC_COL_I64),
	CC_COL(struct incomplete, units, CC_COL_I64),
};
static const struct cc_dbrow INCOMPLETE = CC_DBROW(struct incomplete, INCOMPLETE_COLS);
static const char SQL_COUNT_INCOMPLETE[] =
	"SELECT COUNT(*) AS jobs, COALESCE(SUM(units_total - units_done), 0)"
	" AS units FROM jobs WHERE status IN " CC_SQL_INCOMPLETE;
static const char SQL_OLD_JOBS[] =
	"SELECT id FROM jobs WHERE status IN " CC_SQL_COMPLETE
	" AND updated_at < NOW(6) - INTERVAL ? DAY LIMIT 1000";

void cc_job_color(long long id, char out[7])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[32], full[33];
	int n = snprintf(text, sizeof(text), "%lld", id);

	EVP_Digest(text, (size_t)n, md, &mdlen, EVP_md5(), NULL);
	for (unsigned int i = 0; i < 16; i++) {
		full[2 * i] = hex[md[i] >> 4];
		full[2 * i + 1] = hex[md[i] & 15];
	}
	full[32] = '\0';
	memcpy(out, full + 25, 6);   /* Ruby's [-7...-1] */
	out[6] = '\0';
}

int cc_job_percent_complete(const struct cc_job *job)
{
	if (job->status == CC_STATUS_MERGING)
		return 99;
	if (cc_status_complete(job->status) || job->unit_count <= 0)
		return 100;
	/* Divide first, as the original's (complete / count.to_f * 100).round
	 * does: 23/40 is 57 there, and would be 58 multiplying first. */
	return (int)lround((double)job->units_done / (double)job->unit_count * 100.0);
}

static int bad(struct cc_err *err, const char *msg)
{
	return cc_err_set(err, CC_ERR_BAD_REQUEST, "%s", msg);
}

static int valid_url(const char *s)
{
	return (!strncmp(s, "http://", 7) && s[7]) ||
	       (!strncmp(s, "https://", 8) && s[8]);
}

int cc_job_create(struct cc_db *db, const struct cc_config *cfg,
		  json_t *spec, long long *id, struct cc_err *err)
{
	json_t *action, *inputs, *options, *cb, *email;
	char *inputs_text = NULL, *options_text = NULL;
	struct cc_unit_input *in = NULL;
	char **owned = NULL;
	size_t n = 0, i;
	unsigned long long new_id;
	int status, rc = -1;

	if (!json_is_object(spec))
		return bad(err, "job must be a JSON object");
	action = json_object_get(spec, "action");
	inputs = json_object_get(spec, "inputs");
	options = json_object_get(spec, "options");
	cb = json_object_get(spec, "callback_url");
	email = json_object_get(spec, "email");
	if (!json_is_string(action))
		return bad(err, "job.action must be a string naming an installed action");
	if (!cc_action_name_valid(json_string_value(action)))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "job.action '%.80s' is not a valid action "
				  "name ([a-z0-9_]+)", json_string_value(action));
	if (!cc_action_exists(cfg, json_string_value(action)))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "unknown action '%s': it is not installed "
				  "on the central server", json_string_value(action));
	if (!json_is_array(inputs))
		return bad(err, "job.inputs must be an array");
	n = json_array_size(inputs);
	if (n == 0)
		return bad(err, "job.inputs is empty: a job needs at least one input");
	if (n > CC_JOB_MAX_INPUTS)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "job.inputs has %zu elements; the limit is %d",
				  n, CC_JOB_MAX_INPUTS);
	if (options && !json_is_object(options) && !json_is_null(options))
		return bad(err, "job.options must be an object");
	if (cb && !json_is_null(cb) &&
	    (!json_is_string(cb) || strlen(json_string_value(cb)) > 2048 ||
	     !valid_url(json_string_value(cb))))
		return bad(err, "job.callback_url must be an http(s) URL of at most 2048 characters");
	if (email && !json_is_null(email) &&
	    (!json_is_string(email) || strlen(json_string_value(email)) > 255))
		return bad(err, "job.email must be a string of at most 255 characters");
	for (i = 0; i < n; i++)
		if (json_is_null(json_array_get(inputs, i)))
			return cc_err_set(err, CC_ERR_BAD_REQUEST, "job.inputs[%zu] is null", i);

	inputs_text = json_dumps(inputs, JSON_COMPACT | JSON_ENCODE_ANY);
	options_text = options && json_is_object(options) ?
		json_dumps(options, JSON_COMPACT) : strdup("{}");
	in = calloc(n, sizeof(*in));
	owned = calloc(n, sizeof(*owned));
	if (!inputs_text || !options_text || !in || !owned) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (cc_unit_input_from_json(json_array_get(inputs, i), (long long)i,
					    &in[i], &owned[i]) < 0) {
			cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
			goto out;
		}
	status = cc_action_has_stage(cfg, json_string_value(action), CC_STAGE_SPLIT) ?
		CC_STATUS_SPLITTING : CC_STATUS_PROCESSING;
	{
		struct cc_dbv p[] = {
			CC_DBI(status), CC_DBS(inputs_text),
			CC_DBS(json_string_value(action)), CC_DBS(options_text),
			cb && json_is_string(cb) ? CC_DBS(json_string_value(cb)) : CC_DBNULL,
			email && json_is_string(email) ? CC_DBS(json_string_value(email)) : CC_DBNULL,
		};
		if (cc_db_begin(db, err) < 0)
			goto out;
		if (cc_db_exec(db, SQL_INSERT_JOB, p, 6, NULL, &new_id, err) < 0)
			goto out;
	}
	if (cc_work_unit_create_many(db, (long long)new_id, json_string_value(action),
				     status, in, n, err) < 0)
		goto out;
	if (cc_db_commit(db, err) < 0)
		goto out;
	*id = (long long)new_id;
	rc = 0;
out:
	if (rc < 0) {
		cc_db_rollback(db);
		if (err && !err->kind)
			err->kind = CC_ERR_INTERNAL;
	}
	if (owned)
		for (i = 0; i < n; i++)
			free(owned[i]);
	free(owned);
	free(in);
	free(inputs_text);
	free(options_text);
	return rc;
}

int cc_job_find(struct cc_db *db, long long id, struct cc_job *job,
		struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };

	return cc_db_select_one(db, SQL_FIND_JOB, p, 1, &cc_job_row, job, err);
}

json_t *cc_job_page_json(struct cc_db *db, long limit, long offset,
			 struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(limit), CC_DBI(offset) };
	struct cc_job *jobs;
	size_t n;
	json_t *arr;

	if (cc_db_select(db, SQL_JOB_PAGE, p, 2, &cc_job_row, &jobs, &n, err) < 0)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = cc_job_to_json(&jobs[i]);

		if (o && (json_object_set_new(o, "action", json_string(jobs[i].action)) ||
			  json_object_set_new(o, "created_at",
					      json_string(jobs[i].created_at)))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	cc_db_rows_free(&cc_job_row, jobs, n);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory listing jobs");
	return arr;
}

void cc_job_cleanup(struct cc_job *job)
{
	cc_db_row_cleanup(&cc_job_row, job);
}

json_t *cc_job_to_json(const struct cc_job *job)
{
	json_t *o = json_object();
	char color[7];
	int complete = cc_status_complete(job->status);

	cc_job_color(job->id, color);
	if (!o || json_object_set_new(o, "id", json_integer(job->id)) ||
	    json_object_set_new(o, "color", json_string(color)) ||
	    json_object_set_new(o, "status", json_string(cc_status_name(job->status))) ||
	    json_object_set_new(o, "percent_complete",
				json_integer(cc_job_percent_complete(job))) ||
	    json_object_set_new(o, "work_units", json_integer(job->unit_count)) ||
	    json_object_set_new(o, "time_taken",
				json_real(round((complete && job->time >= 0 ?
						 job->time : job->age) * 1e6) / 1e6)))
		goto fail;
	if (complete) {
		json_error_t jerr;
		json_t *outs = job->outputs ? json_loads(job->outputs, 0, &jerr) : NULL;

		/* Outputs that do not parse show as []; running out of memory
		 * while parsing them is a failure, not an empty list. */
		if (job->outputs && !outs &&
		    json_error_code(&jerr) == json_error_out_of_memory)
			goto fail;
		if (json_object_set_new(o, "outputs", outs ? outs : json_array()))
			goto fail;
	}
	if (job->email && json_object_set_new(o, "email", json_string(job->email)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int cc_job_json_text(struct cc_db *db, long long id, char **out,
		     struct cc_err *err)
{
	struct cc_job job;
	json_t *o;
	int found = cc_job_find(db, id, &job, err);

	*out = NULL;
	if (found <= 0)
		return found;
	o = cc_job_to_json(&job);
	*out = o ? json_dumps(o, CC_JSON_FLAGS) : NULL;
	json_decref(o);
	cc_job_cleanup(&job);
	if (!*out)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return 1;
}

int cc_job_delete(struct cc_db *db, const struct cc_config *cfg, long long id,
		  struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	struct cc_job job;
	unsigned long long n = 0;
	int rc = -1, found;

	found = cc_db_select_one(db, SQL_JOB_ACTION, p, 1, &cc_job_row, &job, err);
	if (found <= 0)
		return found;
	if (cc_db_begin(db, err) < 0 ||
	    cc_db_exec(db, SQL_DELETE_UNITS, p, 1, NULL, NULL, err) < 0 ||
	    cc_db_exec(db, SQL_DELETE_JOB, p, 1, &n, NULL, err) < 0 ||
	    cc_db_commit(db, err) < 0)
		goto out;
	/* Files go after the rows: a crash in between leaves files, never a
	 * job whose files are gone. */
	if (n && job.action && cc_store_delete_job(cfg, job.action, id, err) < 0)
		cc_warn("job %lld: deleting stored files: %s", id, err->msg);
	rc = n ? 1 : 0;
out:
	cc_db_rollback(db);
	cc_job_cleanup(&job);
	return rc;
}

int cc_job_lock(struct cc_db *db, long long id, struct cc_job *job,
		struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };

	return cc_db_select_one(db, SQL_LOCK_JOB, p, 1, &cc_job_row, job, err);
}

int cc_job_set_status(struct cc_db *db, long long id, int status,
		      struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(status), CC_DBI(id) };

	return cc_db_exec(db, SQL_SET_STATUS, p, 2, NULL, NULL, err);
}

int cc_job_finish(struct cc_db *db, long long id, int status,
		  const char *outputs, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(status), CC_DBS(outputs), CC_DBI(id) };

	return cc_db_exec(db, SQL_FINISH_JOB, p, 3, NULL, NULL, err);
}

int cc_job_forget_complete_units(struct cc_db *db, long long id,
				 struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };

	return cc_db_exec(db, SQL_FORGET_COMPLETE_UNITS, p, 1, NULL, NULL, err);
}

int cc_job_count_incomplete(struct cc_db *db, long long *jobs, long long *units,
			    struct cc_err *err)
{
	struct incomplete r;

	if (cc_db_select_one(db, SQL_COUNT_INCOMPLETE, NULL, 0, &INCOMPLETE, &r,
			     err) < 0)
		return -1;
	*jobs = r.jobs;
	*units = r.units;
	return 0;
}

int cc_job_cleanup_old(struct cc_db *db, const struct cc_config *cfg, int days,
		       long long *deleted, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(days) };

	*deleted = 0;
	for (;;) {
		struct cc_job *old;
		size_t n;
		int rc = 0;

		if (cc_db_select(db, SQL_OLD_JOBS, p, 1, &cc_job_row, &old, &n, err) < 0)
			return -1;
		for (size_t i = 0; i < n && rc == 0; i++) {
			int k = cc_job_delete(db, cfg, old[i].id, err);

			if (k < 0)
				rc = -1;
			else
				*deleted += k;
		}
		cc_db_rows_free(&cc_job_row, old, n);
		if (rc < 0 || !n)
			return rc;
	}
}
