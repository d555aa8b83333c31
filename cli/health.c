/* health.c - see health.h. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/exitcode.h"
#include "health.h"

/* Append a printf'd text to out (n bytes) at *len, cut at the end. */
__attribute__((format(printf, 4, 5)))
static void add(char *out, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*len >= n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(out + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len = *len + (size_t)w < n ? *len + (size_t)w : n - 1;
}

/* The "error" text of part, or what to say without one. */
static const char *error_of(const json_t *part, const char *none)
{
	const char *e = json_string_value(json_object_get(part, "error"));

	return e && *e ? e : none;
}

int cli_health_report(long status, const char *body, const char *why,
		      char *out, size_t n)
{
	json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
	const json_t *db, *disp, *nodes;
	const char *st;
	size_t len = 0;
	long long count, busy, max;
	int rc = CC_EXIT_OK, db_ok, disp_ok;

	out[0] = '\0';
	st = json_string_value(json_object_get(j, "status"));
	db = json_object_get(j, "database");
	if (!status) {
		add(out, n, &len, "readiness: unknown (no answer: %s)\n",
		    why && *why ? why : "?");
		rc = CC_EXIT_FAILED;
		goto out;
	}
	if (status == 404) {
		add(out, n, &len, "readiness: unknown (central has no /health)\n");
		goto out;
	}
	if ((status != 200 && status != 503) || !st || !json_is_object(db)) {
		add(out, n, &len, "readiness: unknown (GET /health: HTTP %ld, not "
		    "central's health JSON)\n", status);
		rc = CC_EXIT_FAILED;
		goto out;
	}
	/* a 503 is the database down, whatever the body says */
	db_ok = json_is_true(json_object_get(db, "ok")) && status == 200;
	if (db_ok)
		add(out, n, &len, "database: ok\n");
	else
		add(out, n, &len, "database: unavailable: %s\n",
		    error_of(db, "(no reason given)"));
	disp = json_object_get(j, "dispatcher");
	disp_ok = json_is_true(json_object_get(disp, "ok"));
	if (disp_ok && json_is_integer(json_object_get(disp, "pid")))
		add(out, n, &len, "dispatcher: running (pid %lld)\n",
		    (long long)json_integer_value(json_object_get(disp, "pid")));
	else if (disp_ok)
		add(out, n, &len, "dispatcher: running\n");
	else
		add(out, n, &len, "dispatcher: not running: %s\n",
		    error_of(disp, "(no reason given)"));
	nodes = json_object_get(j, "nodes");
	count = json_integer_value(json_object_get(nodes, "count"));
	busy = json_integer_value(json_object_get(nodes, "busy"));
	max = json_integer_value(json_object_get(nodes, "max"));
	if (count <= 0)
		add(out, n, &len, "nodes: none checked in\n");
	else if (max > 0)
		add(out, n, &len, "nodes: %lld checked in, %lld/%lld workers busy\n",
		    count, busy, max);
	else
		add(out, n, &len, "nodes: %lld checked in, %lld workers busy (no "
		    "limit)\n", count, busy);
	if (!db_ok || !strcmp(st, "unavailable")) {
		add(out, n, &len, "readiness: unavailable (the database)\n");
		rc = CC_EXIT_DB;
	} else if (!disp_ok || count <= 0) {
		add(out, n, &len, "readiness: degraded (%s%s%s)\n",
		    disp_ok ? "" : "no dispatcher", !disp_ok && count <= 0 ? ", " : "",
		    count <= 0 ? "no nodes" : "");
	} else {
		add(out, n, &len, "readiness: %s\n", st);
	}
out:
	json_decref(j);
	return rc;
}
