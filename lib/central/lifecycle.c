/* lifecycle.c - see lifecycle.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "central/lifecycle.h"
#include "core/log.h"
#include "model/action.h"
#include "model/job.h"
#include "model/status.h"
#include "model/work_unit.h"

/* Append one unit's parsed "output" member (null when it has none). */
static int add_output(const char *text, void *ctx)
{
	json_t *arr = ctx;
	json_t *o = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	json_t *v = json_is_object(o) ? json_object_get(o, "output") : NULL;
	int rc = json_array_append(arr, v ? v : json_null()) < 0 ? 1 : 0;

	json_decref(o);
	return rc;
}

/* The outputs of every complete unit of the job, in input order, as JSON
 * array text (caller frees), or NULL with err set. */
static char *gather_outputs(struct cc_db *db, long long job_id,
			    struct cc_err *err)
{
	json_t *arr = json_array();
	char *text = NULL;
	int k;

	if (!arr) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory gathering outputs");
		return NULL;
	}
	k = cc_work_unit_each_output(db, job_id, add_output, arr, err);
	if (k == 0)
		text = json_dumps(arr, JSON_COMPACT);
	if (k > 0 || (k == 0 && !text))
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory gathering outputs");
	json_decref(arr);
	return text;
}

/* With the job row locked and its counters as they are now (after this
 * result): when every unit of the job is complete, move the job on. */
static int check_job(struct cc_db *db, const struct cc_config *cfg,
		     struct cc_job *job, int *callback_due, struct cc_err *err)
{
	long long incomplete = job->unit_count - job->units_done;
	int failed, splitting, next, rc = -1;
	char *outs = NULL;

	*callback_due = 0;
	/* The common case, units still to go in a processing job: nothing to
	 * decide, and no query to make. */
	if ((incomplete > 0 && job->status != CC_STATUS_SPLITTING) ||
	    cc_status_complete(job->status))
		return 0;
	if (cc_work_unit_job_state(db, job->id, &failed, &splitting, err) < 0)
		return -1;
	if (job->status == CC_STATUS_SPLITTING && !splitting && !failed) {
		/* Every split ran: its outputs are processing units now. */
		if (cc_job_set_status(db, job->id, CC_STATUS_PROCESSING, err) < 0)
			return -1;
		job->status = CC_STATUS_PROCESSING;
	}
	if (incomplete)
		return 0;
	outs = gather_outputs(db, job->id, err);
	if (!outs)
		return -1;
	if (!failed && job->status == CC_STATUS_PROCESSING &&
	    cc_action_has_stage(cfg, job->action, CC_STAGE_MERGE)) {
		struct cc_unit_input in = { outs, strlen(outs), 1, 0 };

		if (cc_work_unit_delete_complete(db, job->id, err) < 0 ||
		    cc_job_forget_complete_units(db, job->id, err) < 0 ||
		    cc_work_unit_create_many(db, job->id, job->action,
					     CC_STATUS_MERGING, &in, 1, err) < 0 ||
		    cc_job_set_status(db, job->id, CC_STATUS_MERGING, err) < 0)
			goto out;
		cc_info("job %lld: all units done, merging", job->id);
		rc = 0;
		goto out;
	}
	next = failed ? CC_STATUS_FAILED : CC_STATUS_SUCCEEDED;
	if (cc_job_finish(db, job->id, next, outs, err) < 0 ||
	    cc_work_unit_delete_complete(db, job->id, err) < 0)
		goto out;
	*callback_due = job->has_callback;
	cc_info("job %lld (%s): %s", job->id, job->action, cc_status_name(next));
	rc = 0;
out:
	free(outs);
	return rc;
}

/* A failed attempt: retried with backoff while attempts remain (in
 * *retry_in seconds), else the unit fails. Returns 0 retried, 1 failed for
 * good (one more unit done), -1 error. */
static int record_failure(struct cc_db *db, const struct cc_config *cfg,
			  const struct cc_work_unit *u, const char *output,
			  double time, const struct cc_attempt_by *by,
			  double *retry_in, struct cc_err *err)
{
	int tries = u->attempts + 1;

	if (tries < cfg->work_unit_retries) {
		long long backoff = (long long)cfg->retry_backoff <<
				    (tries - 1 < 20 ? tries - 1 : 20);

		cc_info("unit %lld: attempt %d failed, retrying in %lld s", u->id,
			tries, backoff);
		*retry_in = (double)backoff;
		return cc_work_unit_retry(db, u, tries, output, time, backoff, by,
					  err);
	}
	cc_info("unit %lld: failed after %d attempts", u->id, tries);
	return cc_work_unit_fail(db, u, tries, output, time, by, err) < 0 ? -1 : 1;
}

/* A split's output must be {"output": [...]}; its elements replace the
 * split unit as processing units, placed after it in input order. */
static int expand_split(struct cc_db *db, const struct cc_work_unit *u,
			json_t *arr, struct cc_err *err)
{
	size_t n = json_array_size(arr);
	struct cc_unit_input *in = calloc(n ? n : 1, sizeof(*in));
	char **owned = calloc(n ? n : 1, sizeof(*owned));
	int rc = -1;

	if (!in || !owned) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (cc_unit_input_from_json(json_array_get(arr, i),
					    u->position * 1000000 + (long long)i,
					    &in[i], &owned[i]) < 0) {
			cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
			goto out;
		}
	rc = cc_work_unit_replace(db, u, in, n, err);
out:
	if (owned)
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
	free(owned);
	free(in);
	return rc;
}

/* Apply the result to the locked unit; keep the job's counters in step
 * with what it changes, so the completion check needs no second look at
 * the job row. */
static int apply(struct cc_db *db, const struct cc_config *cfg,
		 const struct cc_unit_report *rep, const struct cc_work_unit *u,
		 json_t *value, struct cc_job *job, double *retry_in,
		 struct cc_err *err)
{
	/* A worker's report is kept to recognise it when it comes again; a
	 * lease expiry keeps what was kept (the late worker is refused). */
	struct cc_attempt_by by = rep->lease_expired ?
		(struct cc_attempt_by){ u->last_token, u->last_pid, 0 } :
		(struct cc_attempt_by){ u->token, rep->pid, 1 };
	int k;

	if (rep->succeeded && u->status == CC_STATUS_SPLITTING &&
	    !json_is_array(value)) {
		k = record_failure(db, cfg, u,
				   "{\"output\":\"split must return a JSON array\"}",
				   rep->time, &by, retry_in, err);
	} else if (rep->succeeded && u->status == CC_STATUS_SPLITTING) {
		if (expand_split(db, u, value, err) < 0)
			return -1;
		job->unit_count += (long long)json_array_size(value) - 1;
		return 0;
	} else if (rep->succeeded) {
		k = cc_work_unit_succeed(db, u, rep->output, rep->time, &by,
					 err) < 0 ? -1 : 1;
	} else {
		k = record_failure(db, cfg, u, rep->output, rep->time, &by,
				   retry_in, err);
	}
	if (k < 0)
		return -1;
	job->units_done += k;
	return 0;
}

/* Token comparison in time independent of where they differ. */
static int same_token(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char d = 0;

	if (n != strlen(b))
		return 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Is rep from the worker that holds the locked unit u (DONE: record it),
 * a report recorded before (DUPLICATE), or neither (REFUSED, with why)?
 * See lifecycle.h. */
static enum cc_finish_outcome judge(const struct cc_unit_report *rep,
				    const struct cc_work_unit *u,
				    char *why, size_t len)
{
	const char *tok = rep->token && *rep->token ? rep->token : NULL;
	int complete = cc_status_complete(u->status);
	long long id = u->id;

	if (rep->lease_expired) {
		/* only while the assignment whose lease passed still holds */
		if (!complete && same_token(u->token, tok ? tok : ""))
			return CC_FINISH_DONE;
		snprintf(why, len, "unit %lld: its assignment ended before its "
			 "lease expired", id);
		return CC_FINISH_REFUSED;
	}
	if (tok) {
		if (!complete && u->token[0] && same_token(u->token, tok))
			return CC_FINISH_DONE;
		if (u->last_token[0] && same_token(u->last_token, tok))
			return CC_FINISH_DUPLICATE;
		if (complete)
			snprintf(why, len, "unit %lld is already finished", id);
		else if (!u->token[0])
			snprintf(why, len, "unit %lld is not assigned to any worker", id);
		else
			snprintf(why, len, "unit %lld: the token is not that of its "
				 "current assignment", id);
		return CC_FINISH_REFUSED;
	}
	if (rep->pid <= 0) {
		snprintf(why, len, "unit %lld: a report without a token must give "
			 "the pid of the worker that holds the unit", id);
		return CC_FINISH_REFUSED;
	}
	if (!complete && u->worker_pid > 0 && u->worker_pid == rep->pid)
		return CC_FINISH_DONE;
	if (u->last_pid > 0 && u->last_pid == rep->pid)
		return CC_FINISH_DUPLICATE;
	if (complete)
		snprintf(why, len, "unit %lld is already finished", id);
	else if (u->worker_pid <= 0 && u->token[0])
		snprintf(why, len, "unit %lld: the pid of its worker is not "
			 "recorded yet; report again shortly", id);
	else if (u->worker_pid <= 0)
		snprintf(why, len, "unit %lld is not assigned to any worker", id);
	else
		snprintf(why, len, "unit %lld is held by another worker, not "
			 "pid %lld", id, rep->pid);
	return CC_FINISH_REFUSED;
}

static int finish_once(struct cc_db *db, const struct cc_config *cfg,
		       const struct cc_unit_report *rep, json_t *value,
		       struct cc_finish *f, struct cc_err *err)
{
	struct cc_work_unit u = { 0 };
	struct cc_job job = { 0 };
	long long job_id;
	int found, rc = -1;

	memset(f, 0, sizeof(*f));
	if (cc_db_begin(db, err) < 0)
		return -1;
	found = cc_work_unit_job_of(db, rep->unit_id, &job_id, err);
	if (found <= 0)
		goto not_found;
	/* Lock order everywhere: job row, then unit rows. */
	found = cc_job_lock(db, job_id, &job, err);
	if (found > 0)
		found = cc_work_unit_lock(db, rep->unit_id, &u, err);
	if (found <= 0)
		goto not_found;
	f->job_id = job_id;
	f->outcome = judge(rep, &u, f->why, sizeof(f->why));
	if (f->outcome == CC_FINISH_REFUSED) {
		cc_info("refused a report (pid %lld, %s): %s", rep->pid,
			rep->token && *rep->token ? "with a token" : "no token",
			f->why);
		rc = 0;
		goto out;
	}
	if (f->outcome == CC_FINISH_DUPLICATE) {
		cc_info("unit %lld: the same report again (pid %lld); it was "
			"recorded once", rep->unit_id, rep->pid);
		rc = 0;
		goto out;
	}
	{
		long long done_before = job.units_done;
		int bad_split = rep->succeeded && u.status == CC_STATUS_SPLITTING &&
				!json_is_array(value);

		if (apply(db, cfg, rep, &u, value, &job, &f->retry_in, err) < 0 ||
		    check_job(db, cfg, &job, &f->callback_due, err) < 0 ||
		    cc_db_commit(db, err) < 0)
			goto out;
		f->result = rep->succeeded && !bad_split ? CC_RESULT_SUCCEEDED :
			    job.units_done > done_before ? CC_RESULT_FAILED :
			    CC_RESULT_RETRYING;
	}
	f->attempt = u.attempts + 1;
	f->node_id = u.node_record_id;
	snprintf(f->action, sizeof(f->action), "%s", u.action ? u.action : "");
	f->outcome = CC_FINISH_DONE;
	rc = 0;
	goto out;
not_found:
	if (found == 0) {
		f->outcome = CC_FINISH_NOT_FOUND;
		rc = 0;
	}
out:
	cc_db_rollback(db);
	cc_db_row_cleanup(&cc_work_unit_row, &u);
	cc_job_cleanup(&job);
	return rc;
}

int cc_lifecycle_finish(struct cc_db *db, const struct cc_config *cfg,
			const struct cc_unit_report *rep, struct cc_finish *f,
			struct cc_err *err)
{
	json_t *parsed = json_loads(rep->output, JSON_DECODE_ANY, NULL);
	json_t *value = json_is_object(parsed) ? json_object_get(parsed, "output") : NULL;
	int rc;

	memset(f, 0, sizeof(*f));
	if (!value) {
		json_decref(parsed);
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "output must be JSON text "
				  "of the form {\"output\": VALUE}");
	}
	for (int tries = 1;; tries++) {
		rc = finish_once(db, cfg, rep, value, f, err);
		if (rc == 0 || tries == 5 || !cc_db_retryable(err))
			break;
		cc_debug("unit %lld: %s; running the transaction again",
			 rep->unit_id, err->msg);
	}
	json_decref(parsed);
	return rc;
}

int cc_lifecycle_expire_leases(struct cc_db *db, const struct cc_config *cfg,
			       int *expired, struct cc_err *err)
{
	struct cc_work_unit *units;
	size_t n;
	int rc = 0;

	*expired = 0;
	if (cc_work_unit_list_expired(db, &units, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct cc_finish f;
		json_t *o = json_pack("{s:s+}", "output", "no result within its lease: "
				      "the node ", units[i].host);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		struct cc_unit_report rep = {
			.unit_id = units[i].id, .pid = units[i].worker_pid,
			.token = units[i].token, .lease_expired = 1,
			.succeeded = 0, .time = units[i].running_for,
			.output = text ? text : "{\"output\":\"lease expired\"}",
		};

		json_decref(o);
		cc_warn("unit %lld: lease expired on %s, counting a failed attempt",
			units[i].id, units[i].host);
		if (cc_lifecycle_finish(db, cfg, &rep, &f, err) < 0)
			rc = -1;
		else if (f.outcome == CC_FINISH_DONE)
			(*expired)++;
		free(text);
	}
	cc_db_rows_free(&cc_work_unit_row, units, n);
	return rc;
}
