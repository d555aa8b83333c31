/* client.c - the commands for people at a terminal, all over central's
 * HTTP API (so they work from any machine that reaches central):
 * `submit` (POST /jobs) and `status` (GET /jobs/:id, --wait follows it
 * with a live bar on a terminal, timestamped lines otherwise); lists.c has
 * `jobs`, `nodes` and `blacklist`.
 * stdout carries only results (the job JSON is the last line of submit and
 * status), so `crowd submit ... --wait | jq .` works; progress, messages
 * and logs go to stderr. Any 4xx or 5xx answer of central is
 * CC_EXIT_CENTRAL, with central's "error" text (cli_refused). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "model/action.h"
#include "cli.h"
#include "core/form.h"
#include "model/job.h"
#include "core/log.h"
#include "progress.h"

#define GIVE_UP_AFTER 60.0       /* s of central unreachable while waiting */
#define PLAIN_REPEAT 30.0        /* s between unchanged plain lines */

static double wall(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* Print "TIMESTAMP text" on stderr (progress, never results). */
static void stamped(const char *text)
{
	char ts[40];

	cli_timestamp(wall(), ts, sizeof(ts));
	fprintf(stderr, "%s %s\n", ts, text);
}

/* The end of a followed or shown job: its JSON as the last stdout line;
 * a failed job is a failure, with its outputs (the errors) on stderr. */
static int finish(const json_t *job, const struct cli_job_view *v)
{
	char *text = json_dumps(job, CC_JSON_FLAGS);

	printf("%s\n", text ? text : "{}");
	fflush(stdout);
	if (v->complete && !v->succeeded) {
		char *outs = json_dumps(json_object_get(job, "outputs"),
					JSON_COMPACT | JSON_ENCODE_ANY);
		cli_fail(CC_EXIT_FAILED, "job %lld failed: %.400s", v->id,
			 outs ? outs : "(no outputs)");
		free(outs);
		free(text);
		return CC_EXIT_FAILED;
	}
	free(text);
	return CC_EXIT_OK;
}

#define AGAIN (-1)               /* get_job: central down for now, try again */

/* GET /jobs/:id into *job (new reference). CC_EXIT_OK, or an exit code with
 * the reason printed; *gone is set on a 404. With patient (following a
 * job), central unreachable or answering 502, 503 or 504 (an outage of its
 * pool or database) is AGAIN, with a warning. */
static int get_job(struct cli *c, struct cc_http *http, long long id,
		   json_t **job, int *gone, int patient)
{
	struct cc_http_resp resp;
	char path[64], msg[512];
	int rc;

	*job = NULL;
	*gone = 0;
	snprintf(path, sizeof(path), "/jobs/%lld", id);
	if (patient) {
		struct cc_err err = { 0 };
		char base[CC_STR_LEN], url[CC_STR_LEN + 64];
		cli_central_url(c, base, sizeof(base));
		snprintf(url, sizeof(url), "%s%s", base, path);
		if (cc_http_request(http, "GET", url, NULL, CLI_REQ_TIMEOUT, &resp, &err) < 0) {
			cc_warn("cannot reach central (%s); still trying", err.msg);
			cc_http_resp_cleanup(&resp);
			return AGAIN;
		}
		if (resp.status == 502 || resp.status == 503 || resp.status == 504) {
			cc_warn("central: %s; still trying",
				cli_resp_error(&resp, msg, sizeof(msg)));
			cc_http_resp_cleanup(&resp);
			return AGAIN;
		}
		if (resp.status == 401) {
			cc_http_resp_cleanup(&resp);
			return cli_auth_refused(&c->cfg, 0, url);
		}
	} else if ((rc = cli_central(c, http, "GET", path, NULL, CLI_REQ_TIMEOUT, &resp))) {
		return rc;
	}
	if (resp.status == 404) {
		*gone = 1;
		cc_http_resp_cleanup(&resp);
		return cli_fail(CC_EXIT_CENTRAL, "job %lld not found (never created, deleted, "
				"or removed after its callback answered 201 Created)", id);
	}
	if (resp.status != 200 || !(*job = json_loads(resp.body, 0, NULL))) {
		if (resp.status == 200)
			cli_fail(CC_EXIT_CENTRAL, "GET %s: not JSON: %.200s", path,
				 cli_resp_error(&resp, msg, sizeof(msg)));
		else
			cli_refused(&resp, "GET %s", path);
		cc_http_resp_cleanup(&resp);
		return CC_EXIT_CENTRAL;
	}
	cc_http_resp_cleanup(&resp);
	return CC_EXIT_OK;
}

/* Follow a job until it is complete, on stderr: a live bar when stderr is
 * a terminal, else a timestamped line whenever something changes (and
 * every 30 s). */
static int follow(struct cli *c, struct cc_http *http, long long id)
{
	struct cli_job_view v = { 0 }, last = { 0 };
	int tty = isatty(STDERR_FILENO), first = 1, rc, gone;
	double start = wall(), last_line = 0, unreachable_since = 0;
	json_t *job = NULL;
	char text[512];

	for (;;) {
		json_decref(job);
		rc = get_job(c, http, id, &job, &gone, 1);
		if (rc == AGAIN) {
			if (!unreachable_since)
				unreachable_since = wall();
			if (wall() - unreachable_since > GIVE_UP_AFTER) {
				if (tty && !first)
					fputc('\n', stderr);
				return cli_fail(CC_EXIT_CENTRAL, "central unavailable for %.0f s: "
						"giving up (job %lld may still be running; "
						"crowd status %lld)", GIVE_UP_AFTER, id, id);
			}
			nap(1);
			continue;
		}
		if (rc != CC_EXIT_OK) {
			if (tty && !first)
				fputc('\n', stderr);
			return rc;
		}
		unreachable_since = 0;
		if (cli_job_view_from_json(job, &v) < 0) {
			json_decref(job);
			return cli_fail(CC_EXIT_CENTRAL, "GET /jobs/%lld: not a job", id);
		}
		/* a complete job has no units left: show the last stage's */
		if (v.complete && !v.units && last.units)
			v.units = v.done = last.units;
		if (tty) {
			cli_progress_bar(&v, 30, text, sizeof(text));
			fprintf(stderr, "\r%s\033[K", text);
		} else if (first || cli_progress_changed(&last, &v) ||
			   wall() - last_line >= PLAIN_REPEAT) {
			cli_progress_line(&v, text, sizeof(text));
			stamped(text);
			last_line = wall();
		}
		first = 0;
		last = v;
		if (v.complete)
			break;
		if (c->timeout > 0 && wall() - start > c->timeout) {
			if (tty)
				fputc('\n', stderr);
			json_decref(job);
			return cli_fail(CC_EXIT_FAILED, "job %lld is still %s (%d%%) after "
					"--timeout %g s; it goes on: crowd status %lld --wait",
					id, v.status, v.percent, c->timeout, id);
		}
		nap(tty ? 0.25 : 0.5);
	}
	if (tty)
		fputc('\n', stderr);
	snprintf(text, sizeof(text), "job %lld %s in %.1f s", id, v.status, v.seconds);
	stamped(text);
	rc = finish(job, &v);
	json_decref(job);
	return rc;
}

/* The job spec of `submit`: --file, then the command line over it. */
static json_t *build_spec(struct cli *c, int argc, char **argv, int *rc)
{
	json_error_t jerr;
	json_t *spec, *inputs, *opts;

	*rc = CC_EXIT_USAGE;
	if (c->file) {
		spec = !strcmp(c->file, "-") ? json_loadf(stdin, 0, &jerr) :
					     json_load_file(c->file, 0, &jerr);
		if (!spec) {
			cli_usage("submit: --file %s: %s (line %d, column %d)", c->file,
				  jerr.text, jerr.line, jerr.column);
			return NULL;
		}
		if (!json_is_object(spec)) {
			json_decref(spec);
			cli_usage("submit: --file %s: a job is a JSON object {\"action\", "
				  "\"inputs\", \"options\"}", c->file);
			return NULL;
		}
	} else if (!(spec = json_object())) {
		*rc = cli_fail(CC_EXIT_FAILED, "out of memory");
		return NULL;
	}
	if (argc >= 1)
		json_object_set_new(spec, "action", json_string(argv[0]));
	if (argc >= 2) {
		inputs = json_array();
		for (int i = 1; inputs && i < argc; i++)
			json_array_append_new(inputs, json_string(argv[i]));
		json_object_set_new(spec, "inputs", inputs);
	}
	if (c->options_json) {
		opts = json_loads(c->options_json, JSON_DECODE_ANY, &jerr);
		if (!opts) {
			cli_usage("submit: --options is not valid JSON: %s (column %d)",
				  jerr.text, jerr.column);
			goto bad;
		}
		if (!json_is_object(opts)) {
			json_decref(opts);
			cli_usage("submit: --options must be a JSON object, like "
				  "'{\"sleep\": 2}'");
			goto bad;
		}
		json_object_set_new(spec, "options", opts);
	}
	if (c->callback)
		json_object_set_new(spec, "callback_url", json_string(c->callback));
	if (c->email)
		json_object_set_new(spec, "email", json_string(c->email));

	const char *action = json_string_value(json_object_get(spec, "action"));
	inputs = json_object_get(spec, "inputs");
	if (!action) {
		cli_usage("submit: name the action: crowd submit ACTION INPUT...");
		goto bad;
	}
	if (!cc_action_name_valid(action)) {
		cli_usage("submit: '%s' is not an action name ([a-z0-9_]+)", action);
		goto bad;
	}
	if (!json_is_array(inputs) || !json_array_size(inputs)) {
		cli_usage("submit: give at least one INPUT (or \"inputs\" in --file)");
		goto bad;
	}
	*rc = CC_EXIT_OK;
	return spec;
bad:
	json_decref(spec);
	return NULL;
}

int cli_cmd_submit(struct cli *c, int argc, char **argv)
{
	struct cc_strbuf form = { 0 };
	struct cc_http_resp resp = { 0 };
	struct cc_http *http = NULL;
	struct cli_job_view v;
	json_t *spec = NULL, *job = NULL;
	char *text = NULL, msg[1024];
	int rc;

	if (!(spec = build_spec(c, argc, argv, &rc)))
		return rc;
	if (!(http = cli_client_new(c, &rc)))
		goto out;
	text = json_dumps(spec, JSON_COMPACT);
	if (!text) {
		rc = cli_fail(CC_EXIT_FAILED, "out of memory");
		goto out;
	}
	cc_form_add(&form, "job", text);
	if (form.oom) {
		rc = cli_fail(CC_EXIT_FAILED, "out of memory");
		goto out;
	}
	if ((rc = cli_central(c, http, "POST", "/jobs", form.data, CLI_REQ_TIMEOUT, &resp)))
		goto out;
	if (resp.status != 200 || !(job = json_loads(resp.body, 0, NULL)) ||
	    cli_job_view_from_json(job, &v) < 0) {
		rc = resp.status == 200 ?
		     cli_fail(CC_EXIT_CENTRAL, "central answered POST /jobs without a "
			      "job: %s", cli_resp_error(&resp, msg, sizeof(msg))) :
		     cli_refused(&resp, "central refused the job");
		goto out;
	}
	cc_info("submitted job %lld: %s, %zu input%s", v.id,
		json_string_value(json_object_get(spec, "action")),
		json_array_size(json_object_get(spec, "inputs")),
		json_array_size(json_object_get(spec, "inputs")) == 1 ? "" : "s");
	if (c->wait)
		rc = follow(c, http, v.id);
	else
		rc = finish(job, &v);
out:
	cc_http_resp_cleanup(&resp);
	cc_strbuf_free(&form);
	cc_http_free(http);
	json_decref(spec);
	json_decref(job);
	free(text);
	return rc;
}

int cli_cmd_status(struct cli *c, int argc, char **argv)
{
	struct cc_http *http;
	struct cli_job_view v;
	json_t *job = NULL;
	long long id;
	char line[512];
	int rc, gone;

	if (argc != 1)
		return cli_usage("status takes one job id: crowd status JOB [--wait]");
	if (cli_parse_job_id(argv[0], &id) < 0)
		return cli_usage("status: '%s' is not a job id (a whole number from 1)",
				 argv[0]);
	if (!(http = cli_client_new(c, &rc)))
		return rc;
	if (c->wait) {
		rc = get_job(c, http, id, &job, &gone, 0);
		json_decref(job);
		if (rc == CC_EXIT_OK)
			rc = follow(c, http, id);
	} else if ((rc = get_job(c, http, id, &job, &gone, 0)) == CC_EXIT_OK) {
		if (cli_job_view_from_json(job, &v) < 0) {
			rc = cli_fail(CC_EXIT_CENTRAL, "GET /jobs/%lld: not a job", id);
		} else {
			cli_progress_line(&v, line, sizeof(line));
			stamped(line);
			rc = finish(job, &v);
		}
		json_decref(job);
	}
	cc_http_free(http);
	return rc;
}
