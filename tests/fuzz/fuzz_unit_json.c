/* fuzz_unit_json.c - libFuzzer target for cc_worker_unit_parse: the unit
 * JSON central sends in the work_unit field of POST /work (the node agent
 * form-decodes the body, then parses this), followed by what the runner
 * derives from a unit it accepted. Beyond "no crash, no leak" it checks
 * invariants:
 *   - a refused unit leaves u empty and a message starting "work_unit",
 *     kind bad request;
 *   - an accepted unit holds what worker.h promises: positive ids,
 *     attempts >= 0, status 1, 4 or 5, a valid action name, an input
 *     string, an options object, and the exact bytes it was parsed from;
 *   - CROWD_INPUT (cc_worker_input_json) is JSON text that parses back,
 *     and when input_is_json is false it is the input as a JSON string;
 *   - CROWD_OPTIONS (cc_worker_options_json) is a JSON object carrying
 *     job_id, work_unit_id and attempts of the unit;
 *   - the file name of a URL input is safe: 1-100 bytes of
 *     [A-Za-z0-9._-], not starting with '-', not "." or "..".
 * Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/action.h"
#include "proc/worker.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} } while (0)

static void check_input_env(const struct cc_worker_unit *u)
{
	char *s = cc_worker_input_json(u->input, u->input_is_json);
	json_t *v;

	CHECK(s != NULL);
	v = json_loads(s, JSON_DECODE_ANY, NULL);
	CHECK(v != NULL);
	if (u->input_is_json == 0) {
		CHECK(json_is_string(v));
		CHECK(!strcmp(json_string_value(v), u->input));
	}
	json_decref(v);
	free(s);
}

static void check_options_env(const struct cc_worker_unit *u)
{
	char *s = cc_worker_options_json(u);
	json_t *o;

	CHECK(s != NULL);
	o = json_loads(s, 0, NULL);
	CHECK(json_is_object(o));
	CHECK(json_integer_value(json_object_get(o, "job_id")) == u->job_id);
	CHECK(json_integer_value(json_object_get(o, "work_unit_id")) == u->id);
	CHECK(json_integer_value(json_object_get(o, "attempts")) == u->attempts);
	json_decref(o);
	free(s);
}

static void check_file_name(const char *input)
{
	char name[128];
	size_t n;

	cc_worker_input_filename(input, name, sizeof(name));
	n = strlen(name);
	CHECK(n >= 1 && n <= 100);
	CHECK(name[0] != '-');
	CHECK(strcmp(name, ".") && strcmp(name, ".."));
	CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		     "0123456789._-") == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exactly-sized copy: ASan flags any read past size */
	char *text = malloc(size ? size : 1);
	struct cc_worker_unit u;
	struct cc_err err = { 0 };

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (cc_worker_unit_parse(&u, text, size, &err) < 0) {
		CHECK(u.input == NULL && u.options == NULL && u.json == NULL);
		CHECK(err.kind == CC_ERR_BAD_REQUEST);
		CHECK(!strncmp(err.msg, "work_unit", 9));
		free(text);
		return 0;
	}
	free(text);

	CHECK(u.id > 0 && u.job_id > 0 && u.attempts >= 0);
	CHECK(u.status == 1 || u.status == 4 || u.status == 5);
	CHECK(cc_action_name_valid(u.action));
	CHECK(u.input != NULL);
	CHECK(u.input_is_json >= -1 && u.input_is_json <= 1);
	CHECK(json_is_object(u.options));
	CHECK(u.json_len == size && !memcmp(u.json, data, size));
	CHECK(u.json[size] == '\0');

	check_input_env(&u);
	check_options_env(&u);
	if (cc_worker_input_is_url(u.input))
		check_file_name(u.input);
	cc_worker_unit_cleanup(&u);
	CHECK(u.input == NULL && u.options == NULL && u.json == NULL);
	return 0;
}
