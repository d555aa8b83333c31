/* fuzz_action_output.c - libFuzzer target for what the node agent makes of
 * an action's output: the bytes are its stdout for a run that succeeded
 * (cc_worker_output_value, cc_worker_result), and its stderr tail for one
 * that failed; either result then goes into the PUT /work report
 * (cc_worker_report_form). The first byte picks the stage (split, process
 * or merge) and is part of the output too. Beyond "no crash, no leak" it
 * checks invariants:
 *   - output is never refused: it becomes null (only white space), a JSON
 *     value, or (when it is not JSON text) a non-empty string without
 *     leading or trailing white space;
 *   - the value dumps to JSON text that loads back to an equal value;
 *   - a split run succeeds exactly when the value is an array, other
 *     stages always do; a failed run's value is a string;
 *   - the report is a form whose output field is {"output": value}, and
 *     parses back to the same value, with status succeeded or failed.
 * Build: see README.md. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/form.h"
#include "proc/proc.h"
#include "proc/worker.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} } while (0)

#define MAX_OUT (1024 * 1024)

static void check_round_trip(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *back;

	CHECK(s != NULL);
	back = json_loads(s, JSON_DECODE_ANY, NULL);
	CHECK(back != NULL);
	CHECK(json_equal(v, back));
	json_decref(back);
	free(s);
}

static void check_report(json_t *value, int succeeded)
{
	char *body = cc_worker_report_form(2375, 7, 0.5, succeeded, value);
	struct cc_form form;
	const char *out, *status;
	json_t *o;

	CHECK(body != NULL);
	CHECK(cc_form_parse(&form, body, strlen(body)) == 0);
	status = cc_form_get(&form, "status");
	CHECK(status && !strcmp(status, succeeded ? "succeeded" : "failed"));
	out = cc_form_get(&form, "output");
	CHECK(out != NULL);
	o = json_loads(out, 0, NULL);
	CHECK(json_is_object(o) && json_object_size(o) == 1);
	CHECK(json_equal(json_object_get(o, "output"), value));
	json_decref(o);
	cc_form_cleanup(&form);
	free(body);
}

static void check_success(const char *out, size_t size, enum cc_stage stage)
{
	struct cc_proc_result r;
	json_t *v = cc_worker_output_value(out, size), *res = NULL;
	int rc;

	CHECK(v != NULL);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), i = 0;

		/* NULs became U+FFFD; jansson refuses \u0000 in JSON text */
		CHECK(strlen(s) == n);
		while (i < size && isspace((unsigned char)out[i]))
			i++;
		if (i == size || out[i] != '"') {
			/* not JSON text: the trimmed output itself */
			CHECK(n > 0);
			CHECK(!isspace((unsigned char)s[0]) &&
			      !isspace((unsigned char)s[n - 1]));
		}
	}
	check_round_trip(v);

	memset(&r, 0, sizeof(r));
	r.out = (char *)out;
	r.out_len = size;
	rc = cc_worker_result(&r, stage, 30, MAX_OUT, &res);
	CHECK(rc == 0 || rc == 1);
	CHECK(res != NULL);
	CHECK(rc == (stage != CC_STAGE_SPLIT || json_is_array(v)));
	if (rc)
		CHECK(json_equal(res, v));
	else
		CHECK(json_is_string(res));
	check_report(res, rc);
	json_decref(res);
	json_decref(v);
}

static void check_failure(const uint8_t *data, size_t size, enum cc_stage stage)
{
	struct cc_proc_result r;
	json_t *res = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	r.out = (char *)"";
	r.exit_code = 1;
	/* the tail keeps the last CC_TAIL_MAX bytes, as cc_tail_add does */
	if (size > CC_TAIL_MAX) {
		data += size - CC_TAIL_MAX;
		size = CC_TAIL_MAX;
		r.err.truncated = 1;
	}
	memcpy(r.err.buf, data, size);
	r.err.len = size;
	rc = cc_worker_result(&r, stage, 30, MAX_OUT, &res);
	CHECK(rc == 0);
	CHECK(json_is_string(res));
	CHECK(json_string_length(res) > 0);
	check_report(res, 0);
	json_decref(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* stdout as proc.c collects it: NUL-terminated, possibly holding NULs */
	char *out = malloc(size + 1);
	enum cc_stage stage = size ? (enum cc_stage)(data[0] % 3) : CC_STAGE_PROCESS;

	if (!out)
		return 0;
	memcpy(out, data, size);
	out[size] = '\0';
	check_success(out, size, stage);
	free(out);
	check_failure(data, size, stage);
	return 0;
}
