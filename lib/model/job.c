/* job.c - the jobs table. Creation validates everything before writing;
 * completion runs inside the unit-finishing transaction with the job row
 * locked, so two units finishing at once never merge twice or lose an
 * output. */
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

static const char SQL_INSERT_JOB[] =
	"INSERT INTO jobs (status, inputs, action, options, callback_url, email,"
	" created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NOW(6), NOW(6))";
#define JOB_COLUMNS "id, status, action, options, outputs, time, callback_url," \
	" email, TIMESTAMPDIFF(MICROSECOND, created_at, NOW(6)) / 1000000.0," \
	" DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), units_total, units_done"
static const char SQL_FIND_JOB[] =
	"SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?";
static const char SQL_JOB_PAGE[] =
	"SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT ? OFFSET ?";
static const char SQL_LOCK_JOB[] =
	"SELECT status, action, units_total, units_done FROM jobs"
	" WHERE id = ? FOR UPDATE";
static const char SQL_JOB_ACTION[] =
	"SELECT action FROM jobs WHERE id = ?";
static const char SQL_DELETE_UNITS[] =
	"DELETE FROM work_units WHERE job_id = ?";
static const char SQL_DELETE_JOB[] =
	"DELETE FROM jobs WHERE id = ?";
/* Index lookups on (job_id, status): never a scan of the job's units.
 * Whether the job has a callback comes along, for when it completes. */
static const char SQL_UNIT_STATE[] =
	"SELECT EXISTS(SELECT 1 FROM work_units WHERE job_id = ? AND status = 3),"
	" EXISTS(SELECT 1 FROM work_units WHERE job_id = ? AND status = 4),"
	" (SELECT callback_url IS NOT NULL FROM jobs WHERE id = ?)";
static const char SQL_SET_STATUS[] =
	"UPDATE jobs SET status = ?, updated_at = NOW(6) WHERE id = ?";
static const char SQL_COMPLETE_OUTPUTS[] =
	"SELECT output FROM work_units WHERE job_id = ? AND status IN (2, 3)"
	" ORDER BY position, id";
static const char SQL_DELETE_COMPLETE_UNITS[] =
	"DELETE FROM work_units WHERE job_id = ? AND status IN (2, 3)";
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
static const char SQL_COUNT_INCOMPLETE[] =
	"SELECT COUNT(*), COALESCE(SUM(units_total - units_done), 0)"
	" FROM jobs WHERE status IN (1, 4, 5)";
static const char SQL_OLD_JOBS[] =
	"SELECT id FROM jobs WHERE status IN (2, 3)"
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

static char *dup_cell(const struct cc_db_rows *r, size_t c)
{
	const char *s = cc_db_cell(r, 0, c);
	return s ? strdup(s) : NULL;
}

/* Row i of a JOB_COLUMNS result into *job. -1 on out of memory. */
static int job_from_row(const struct cc_db_rows *r, size_t i, struct cc_job *job)
{
	const char *s;

	memset(job, 0, sizeof(*job));
	job->id = cc_db_cell_int(r, i, 0);
	job->status = (int)cc_db_cell_int(r, i, 1);
	s = cc_db_cell(r, i, 2);
	job->action = s ? strdup(s) : NULL;
	s = cc_db_cell(r, i, 3);
	job->options = s ? strdup(s) : NULL;
	if ((s = cc_db_cell(r, i, 4)))
		job->outputs = strdup(s);
	job->time = cc_db_cell_null(r, i, 5) ? -1 : cc_db_cell_dbl(r, i, 5);
	if ((s = cc_db_cell(r, i, 6)))
		job->callback_url = strdup(s);
	if ((s = cc_db_cell(r, i, 7)))
		job->email = strdup(s);
	job->age = cc_db_cell_dbl(r, i, 8);
	s = cc_db_cell(r, i, 9);
	snprintf(job->created_at, sizeof(job->created_at), "%s", s ? s : "");
	job->unit_count = cc_db_cell_int(r, i, 10);
	job->units_done = cc_db_cell_int(r, i, 11);
	if (!job->action || !job->options) {
		cc_job_cleanup(job);
		return -1;
	}
	return 0;
}

int cc_job_find(struct cc_db *db, long long id, struct cc_job *job,
		struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	struct cc_db_rows r;
	int rc;

	memset(job, 0, sizeof(*job));
	if (cc_db_query(db, SQL_FIND_JOB, p, 1, &r, err) < 0)
		return -1;
	rc = !r.nrows ? 0 : job_from_row(&r, 0, job) < 0 ?
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory") : 1;
	cc_db_rows_free(&r);
	return rc;
}

json_t *cc_job_page_json(struct cc_db *db, long limit, long offset,
			 struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(limit), CC_DBI(offset) };
	struct cc_db_rows r;
	json_t *arr;

	if (cc_db_query(db, SQL_JOB_PAGE, p, 2, &r, err) < 0)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < r.nrows; i++) {
		struct cc_job job;
		json_t *o = NULL;

		if (job_from_row(&r, i, &job) == 0) {
			o = cc_job_to_json(&job);
			if (o && (json_object_set_new(o, "action", json_string(job.action)) ||
				  json_object_set_new(o, "created_at",
						      json_string(job.created_at)))) {
				json_decref(o);
				o = NULL;
			}
			cc_job_cleanup(&job);
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	cc_db_rows_free(&r);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory listing jobs");
	return arr;
}

void cc_job_cleanup(struct cc_job *job)
{
	free(job->action);
	free(job->options);
	free(job->outputs);
	free(job->callback_url);
	free(job->email);
	memset(job, 0, sizeof(*job));
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
		json_t *outs = job->outputs ? json_loads(job->outputs, 0, NULL) : NULL;
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
	struct cc_db_rows r;
	unsigned long long n = 0;
	char *action = NULL;
	int rc = -1;

	if (cc_db_query(db, SQL_JOB_ACTION, p, 1, &r, err) < 0)
		return -1;
	if (!r.nrows) {
		cc_db_rows_free(&r);
		return 0;
	}
	action = dup_cell(&r, 0);
	cc_db_rows_free(&r);
	if (cc_db_begin(db, err) < 0 ||
	    cc_db_exec(db, SQL_DELETE_UNITS, p, 1, NULL, NULL, err) < 0 ||
	    cc_db_exec(db, SQL_DELETE_JOB, p, 1, &n, NULL, err) < 0 ||
	    cc_db_commit(db, err) < 0)
		goto out;
	/* Files go after the rows: a crash in between leaves files, never a
	 * job whose files are gone. */
	if (n && action && cc_store_delete_job(cfg, action, id, err) < 0)
		cc_warn("job %lld: deleting stored files: %s", id, err->msg);
	rc = n ? 1 : 0;
out:
	cc_db_rollback(db);
	free(action);
	return rc;
}

int cc_job_lock(struct cc_db *db, long long id, int *status, char **action,
		long long *total, long long *done, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(id) };
	struct cc_db_rows r;

	*action = NULL;
	if (cc_db_query(db, SQL_LOCK_JOB, p, 1, &r, err) < 0)
		return -1;
	if (!r.nrows) {
		cc_db_rows_free(&r);
		return 0;
	}
	*status = (int)cc_db_cell_int(&r, 0, 0);
	*action = dup_cell(&r, 1);
	if (total)
		*total = cc_db_cell_int(&r, 0, 2);
	if (done)
		*done = cc_db_cell_int(&r, 0, 3);
	cc_db_rows_free(&r);
	return *action ? 1 : cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
}

/* Gather the parsed "output" member of every complete unit, in input
 * order, as a new JSON array. */
static json_t *gather_outputs(struct cc_db *db, long long job_id,
			      struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(job_id) };
	struct cc_db_rows r;
	json_t *arr;

	if (cc_db_query(db, SQL_COMPLETE_OUTPUTS, p, 1, &r, err) < 0)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < r.nrows; i++) {
		const char *text = cc_db_cell(&r, i, 0);
		json_t *o = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		json_t *v = json_is_object(o) ? json_object_get(o, "output") : NULL;

		if (json_array_append(arr, v ? v : json_null()) < 0) {
			json_decref(arr);
			arr = NULL;
		}
		json_decref(o);
	}
	cc_db_rows_free(&r);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory gathering outputs");
	return arr;
}

int cc_job_check_completion(struct cc_db *db, const struct cc_config *cfg,
			    long long job_id, int status, const char *action,
			    long long total, long long done, int *callback_due,
			    struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(job_id) };
	struct cc_dbv p3[] = { CC_DBI(job_id), CC_DBI(job_id), CC_DBI(job_id) };
	struct cc_db_rows r;
	long long incomplete = total - done, failed, splitting;
	int rc = -1, next, has_callback;
	char *text = NULL;
	json_t *outs = NULL;

	*callback_due = 0;
	/* The common case, units still to go in a processing job: nothing to
	 * decide, and no query to make. */
	if (incomplete > 0 && status != CC_STATUS_SPLITTING)
		return 0;
	if (cc_db_query(db, SQL_UNIT_STATE, p3, 3, &r, err) < 0)
		goto out;
	failed = cc_db_cell_int(&r, 0, 0);
	splitting = cc_db_cell_int(&r, 0, 1);
	has_callback = cc_db_cell_int(&r, 0, 2) > 0;
	cc_db_rows_free(&r);
	if (cc_status_complete(status)) {
		rc = 0;
		goto out;
	}
	if (status == CC_STATUS_SPLITTING && !splitting && !failed) {
		/* Every split ran: its outputs are processing units now. */
		struct cc_dbv q[] = { CC_DBI(CC_STATUS_PROCESSING), CC_DBI(job_id) };
		if (cc_db_exec(db, SQL_SET_STATUS, q, 2, NULL, NULL, err) < 0)
			goto out;
		status = CC_STATUS_PROCESSING;
	}
	if (incomplete) {
		rc = 0;
		goto out;
	}
	outs = gather_outputs(db, job_id, err);
	if (!outs)
		goto out;
	if (!failed && status == CC_STATUS_PROCESSING &&
	    cc_action_has_stage(cfg, action, CC_STAGE_MERGE)) {
		struct cc_unit_input in;
		struct cc_dbv q[] = { CC_DBI(CC_STATUS_MERGING), CC_DBI(job_id) };

		text = json_dumps(outs, JSON_COMPACT);
		if (!text) {
			cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
			goto out;
		}
		in = (struct cc_unit_input){ text, strlen(text), 1, 0 };
		if (cc_db_exec(db, SQL_DELETE_COMPLETE_UNITS, p, 1, NULL, NULL, err) < 0 ||
		    cc_db_exec(db, SQL_FORGET_COMPLETE_UNITS, p, 1, NULL, NULL, err) < 0 ||
		    cc_work_unit_create_many(db, job_id, action, CC_STATUS_MERGING,
					     &in, 1, err) < 0 ||
		    cc_db_exec(db, SQL_SET_STATUS, q, 2, NULL, NULL, err) < 0)
			goto out;
		cc_info("job %lld: all units done, merging", job_id);
		rc = 0;
		goto out;
	}
	next = failed ? CC_STATUS_FAILED : CC_STATUS_SUCCEEDED;
	text = json_dumps(outs, JSON_COMPACT);
	if (!text) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	{
		struct cc_dbv q[] = { CC_DBI(next), CC_DBS(text), CC_DBI(job_id) };

		if (cc_db_exec(db, SQL_FINISH_JOB, q, 3, NULL, NULL, err) < 0 ||
		    cc_db_exec(db, SQL_DELETE_COMPLETE_UNITS, p, 1, NULL, NULL, err) < 0)
			goto out;
		*callback_due = has_callback;
	}
	cc_info("job %lld (%s): %s", job_id, action, cc_status_name(next));
	rc = 0;
out:
	json_decref(outs);
	free(text);
	return rc;
}

int cc_job_count_incomplete(struct cc_db *db, long long *jobs, long long *units,
			    struct cc_err *err)
{
	struct cc_db_rows r;

	if (cc_db_query(db, SQL_COUNT_INCOMPLETE, NULL, 0, &r, err) < 0)
		return -1;
	*jobs = cc_db_cell_int(&r, 0, 0);
	*units = cc_db_cell_int(&r, 0, 1);
	cc_db_rows_free(&r);
	return 0;
}

int cc_job_cleanup_old(struct cc_db *db, const struct cc_config *cfg, int days,
		       long long *deleted, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(days) };
	struct cc_db_rows r;

	*deleted = 0;
	for (;;) {
		if (cc_db_query(db, SQL_OLD_JOBS, p, 1, &r, err) < 0)
			return -1;
		if (!r.nrows) {
			cc_db_rows_free(&r);
			return 0;
		}
		for (size_t i = 0; i < r.nrows; i++) {
			int k = cc_job_delete(db, cfg, cc_db_cell_int(&r, i, 0), err);
			if (k < 0) {
				cc_db_rows_free(&r);
				return -1;
			}
			*deleted += k;
		}
		cc_db_rows_free(&r);
	}
}
