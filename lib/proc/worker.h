/* worker.h - the pure parts of running one work unit on a node, kept apart
 * from the threads and sockets so they can be tested alone: reading and
 * checking the unit JSON central posts, the values of the action's
 * environment, the safe file name of a downloaded input, turning what the
 * action printed into the result, and the form of the PUT /work report.
 * The supervising itself is nodeagent/runner.c (with proc.h). */
#ifndef CC_WORKER_H
#define CC_WORKER_H

#include <jansson.h>
#include <stddef.h>
#include "model/action.h"
#include "core/err.h"
#include "proc/proc.h"

#define CC_WORKER_TOKEN_MAX 64

/* A work unit as POST /work delivers it. */
struct cc_worker_unit {
	long long id;                        /* > 0 */
	long long job_id;                    /* > 0 */
	char action[CC_ACTION_NAME_MAX + 1]; /* valid name */
	int status;                          /* 1, 4 or 5 */
	long long attempts;                  /* >= 0 */
	char *input;                         /* owned; the input string */
	int input_is_json;                   /* 1 JSON text, 0 plain, -1 unsaid */
	json_t *options;                     /* owned reference; an object */
	char token[CC_WORKER_TOKEN_MAX + 1]; /* the assignment token, returned
					      * with the result; "" none (a
					      * Ruby central) */
	char *json;                          /* owned; the unit JSON as sent */
	size_t json_len;
};

/* cc_worker_unit_parse - read and check the unit JSON text (len bytes):
 * id and job_id positive integers, action a valid name, input a string,
 * status 1, 4 or 5, attempts (default 0) a non-negative integer, options
 * (default {}) an object; our central's additions, which Ruby centrals
 * leave out: input_is_json (whether input is the JSON text of a
 * non-string input) a boolean, token (the assignment token) a string of
 * 1 to CC_WORKER_TOKEN_MAX letters, digits, '_' or '-'. Returns 0 with u
 * filled (free with cc_worker_unit_cleanup), or -1 with u holding nothing
 * and err's kind bad request with a message naming the field, or
 * internal when memory ran out. */
int cc_worker_unit_parse(struct cc_worker_unit *u, const char *text,
			 size_t len, struct cc_err *err);
void cc_worker_unit_cleanup(struct cc_worker_unit *u);

/* cc_worker_input_is_url - does the whole input look like scheme://...
 * (no white space)? Such inputs are downloaded; cc_http_download refuses
 * schemes other than http, https and file, which fails the unit clearly.
 * (The runner asks only when input_is_json is not 1.) */
int cc_worker_input_is_url(const char *input);

/* cc_worker_input_filename - a safe file name for a downloaded URL: the
 * last segment of its path (no query or fragment), percent-decoded, with
 * every byte outside [A-Za-z0-9._-] dropped, leading '-' dropped, at most
 * 100 bytes (keeping a short extension); "input" when that leaves "", "."
 * or "..". out must hold len >= 8 bytes. */
void cc_worker_input_filename(const char *url, char *out, size_t len);

/* cc_worker_input_json - CROWD_INPUT for input: with input_is_json 0 the
 * JSON string of it; with 1, or -1 (not said, a Ruby central) when it is
 * valid JSON text (array, object, number, true, false, null, string), that
 * text, compacted; else the JSON string of it. New string, caller frees;
 * NULL on out of memory (never the JSON string of JSON text that could not
 * be parsed for lack of memory). */
char *cc_worker_input_json(const char *input, int input_is_json);

/* cc_worker_options_json - CROWD_OPTIONS: the unit's options with job_id,
 * work_unit_id and attempts added (as the original Action did). New
 * string, caller frees; NULL on out of memory. */
char *cc_worker_options_json(const struct cc_worker_unit *u);

/* cc_worker_clean_text - n bytes as a NUL-terminated string that is valid
 * UTF-8 (bad sequences and NUL bytes become U+FFFD), with leading and
 * trailing white space removed. New string, caller frees; NULL on OOM. */
char *cc_worker_clean_text(const char *p, size_t n);

/* cc_worker_output_value - what a successful action printed, as the
 * result: empty -> null; JSON text -> that value; anything else -> its
 * trimmed text as a JSON string. New reference; NULL on out of memory
 * (also when JSON text could not be parsed for lack of memory). */
json_t *cc_worker_output_value(const char *out, size_t len);

/* cc_worker_tail_text - the stderr tail as clean text; when earlier bytes
 * were dropped it starts at a line boundary if one is near, after "...".
 * New string, caller frees; NULL on out of memory. */
char *cc_worker_tail_text(const struct cc_tail *t);

/* cc_worker_result - decide a finished run: sets *value (new reference) to
 * the result on success, or to a JSON string saying why it failed: the
 * stderr tail ("exit code N" when stderr is empty); "killed by signal N
 * (SIGNAME)" or "timed out after N s", then ": " and the stderr tail if
 * any; "output larger than N KB"; for split, "split must print a JSON
 * array". Returns 1 succeeded, 0 failed, -1 out of memory (*value NULL). */
int cc_worker_result(const struct cc_proc_result *r, enum cc_stage stage,
		     int timeout_s, size_t max_out, json_t **value);

/* cc_worker_report_form_token - the PUT /work/ID body, fields in the
 * original's order: pid, id, time (seconds, 6 decimals), status
 * (succeeded|failed), output = {"output": value} as compact JSON; then,
 * when token is neither NULL nor "", token (the unit's assignment token:
 * central accepts the result only with it, or from the pid it recorded).
 * New string, caller frees; NULL on out of memory. */
char *cc_worker_report_form_token(long long pid, long long id, double seconds,
				  int succeeded, json_t *value, const char *token);

/* cc_worker_report_form - the same without a token, as the original's
 * worker sends it. */
char *cc_worker_report_form(long long pid, long long id, double seconds,
			    int succeeded, json_t *value);

/* cc_worker_backoff - seconds to wait before report retry number n
 * (0-based): 1, 2, 4, 8, 16, then 30 each time. */
int cc_worker_backoff(int n);

#endif
