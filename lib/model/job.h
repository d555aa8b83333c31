/* job.h - the jobs table: creation from a request, lookup, JSON, deletion,
 * and the reads and writes of the completion step that central/lifecycle.c
 * makes when a unit finishes.
 * Mirrors the original Job model: percent_complete, time_taken, color and
 * the JSON shape (keys in the original's order). */
#ifndef CC_JOB_H
#define CC_JOB_H

#include <jansson.h>
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

#define CC_JOB_MAX_INPUTS 1000000

/* Flags for every JSON text we emit: compact, and reals with 15
 * significant digits (0.0548, not 0.054800000000000001). */
#define CC_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* A jobs row as read, declared once (cc_job_row): every SELECT binds into
 * it by column name and reads only what it needs. */
struct cc_job {
	long long id;
	int status;
	char *action;
	char *options;        /* JSON object text */
	char *outputs;        /* JSON array text, NULL until complete */
	double time;          /* seconds, < 0 while NULL */
	char *callback_url;   /* NULL when unset */
	char *email;          /* NULL when unset */
	double age;           /* seconds since created_at */
	char created_at[32];  /* ISO-8601 UTC */
	long long unit_count; /* rows in work_units (jobs.units_total) */
	long long units_done; /* of them, succeeded or failed */
	int has_callback;     /* callback_url is set (without reading it) */
};

extern const struct cc_dbrow cc_job_row;

/* cc_job_color - the original's colour: hex MD5 of the decimal id,
 * characters [-7, -1) (6 hex digits), into out[7]. */
void cc_job_color(long long id, char out[7]);

/* cc_job_percent_complete - 99 while merging, 100 when complete or when
 * there are no units, else round(100 * done / all). */
int cc_job_percent_complete(const struct cc_job *job);

/* cc_job_create - validate a job spec {action, inputs[], options{},
 * callback_url, email} and create the job and its units in one
 * transaction. *id receives the new id. On invalid input -1 with err->code
 * 400 and nothing written; on a database failure -1 with code 500. */
int cc_job_create(struct cc_db *db, const struct cc_config *cfg,
		  json_t *spec, long long *id, struct cc_err *err);

/* cc_job_find - load a job with its unit counts into *job (cleanup with
 * cc_job_cleanup). Returns 1 found, 0 not found, -1 error. */
int cc_job_find(struct cc_db *db, long long id, struct cc_job *job,
		struct cc_err *err);

void cc_job_cleanup(struct cc_job *job);

/* cc_job_page_json - newest jobs first, limit from offset, as a JSON array
 * of job JSON plus "action" and "created_at" (one query). New reference,
 * or NULL with err set. */
json_t *cc_job_page_json(struct cc_db *db, long limit, long offset,
			 struct cc_err *err);

/* cc_job_to_json - the job JSON: id, color, status, percent_complete,
 * work_units, time_taken, outputs (when complete), email (when set). New
 * reference; NULL on out of memory. */
json_t *cc_job_to_json(const struct cc_job *job);

/* cc_job_json_by_id - find + to_json + dump, as a new string (caller frees).
 * Returns 1 found, 0 not found, -1 error. */
int cc_job_json_text(struct cc_db *db, long long id, char **out,
		     struct cc_err *err);

/* cc_job_delete - remove the job, its units and its stored files.
 * Returns 1 deleted, 0 not found, -1 error. */
int cc_job_delete(struct cc_db *db, const struct cc_config *cfg, long long id,
		  struct cc_err *err);

/* cc_job_lock - SELECT ... FOR UPDATE on the job row (inside a
 * transaction) into *job: id, status, action, unit_count, units_done and
 * has_callback (cleanup with cc_job_cleanup). 1 found, 0 not, -1 error. */
int cc_job_lock(struct cc_db *db, long long id, struct cc_job *job,
		struct cc_err *err);

/* cc_job_set_status - move the job to status. */
int cc_job_set_status(struct cc_db *db, long long id, int status,
		      struct cc_err *err);

/* cc_job_finish - the job is complete with status and outputs (a JSON
 * array text): its time is taken, its callback (if any) becomes due now,
 * and its counters forget the complete units, whose rows the caller
 * removes. */
int cc_job_finish(struct cc_db *db, long long id, int status,
		  const char *outputs, struct cc_err *err);

/* cc_job_forget_complete_units - the counters forget the complete units
 * (their rows go next: the job moves on to a merge). */
int cc_job_forget_complete_units(struct cc_db *db, long long id,
				 struct cc_err *err);

/* cc_job_count_incomplete - jobs not succeeded/failed, and their units
 * not yet done (from the counters: no scan of work_units). */
int cc_job_count_incomplete(struct cc_db *db, long long *jobs, long long *units,
			    struct cc_err *err);

/* cc_job_cleanup_old - delete complete jobs (and their files) last updated
 * more than days ago; *deleted gets the count. */
int cc_job_cleanup_old(struct cc_db *db, const struct cc_config *cfg, int days,
		       long long *deleted, struct cc_err *err);

#endif
