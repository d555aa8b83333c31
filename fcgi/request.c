/* request.c - request bodies and responses; see request.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/log.h"
#include "model/job.h"
#include "request.h"

static int is_type(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	return ctype && !strncasecmp(ctype, want, n) &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

int cc_req_parse_body(struct cc_req *req, struct cc_resp *resp)
{
	json_error_t jerr;

	if (req->body_len && is_type(req->content_type, "application/json")) {
		req->json = json_loadb(req->body, req->body_len, 0, &jerr);
		if (!req->json) {
			cc_resp_error(resp, 400, "malformed JSON body: %s (line %d, "
				      "column %d)", jerr.text, jerr.line, jerr.column);
			return -1;
		}
		if (!json_is_object(req->json)) {
			cc_resp_error(resp, 400, "the JSON body must be an object");
			return -1;
		}
		return 0;
	}
	if (req->body_len) {
		if (memchr(req->body, '\0', req->body_len)) {
			cc_resp_error(resp, 400, "the form body contains a NUL byte");
			return -1;
		}
		if (cc_form_parse(&req->form, req->body, req->body_len) < 0) {
			cc_resp_error(resp, 400, "malformed form body (bad %%-escape)");
			return -1;
		}
		/* A %00 would silently cut a value short in C strings. */
		for (size_t i = 0; i < req->form.n; i++)
			if (req->form.fields[i].value &&
			    strlen(req->form.fields[i].value) != req->form.fields[i].value_len) {
				cc_resp_error(resp, 400, "form field '%.64s' contains a NUL byte",
					      req->form.fields[i].key);
				return -1;
			}
		return 0;
	}
	if (req->query && *req->query &&
	    cc_form_parse(&req->form, req->query, strlen(req->query)) < 0) {
		cc_resp_error(resp, 400, "malformed query string (bad %%-escape)");
		return -1;
	}
	return 0;
}

const char *cc_req_param(const struct cc_req *req, const char *key, char **owned)
{
	json_t *v;

	*owned = NULL;
	if (!req->json)
		return cc_form_get(&req->form, key);
	v = json_object_get(req->json, key);
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	*owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return *owned;
}

int cc_req_has_param(const struct cc_req *req, const char *key)
{
	if (req->json)
		return json_object_get(req->json, key) != NULL;
	return cc_form_has(&req->form, key);
}

void cc_req_cleanup(struct cc_req *req)
{
	cc_form_cleanup(&req->form);
	json_decref(req->json);
	req->json = NULL;
}

static void set_body(struct cc_resp *resp, int status, const char *ctype,
		     char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = ctype;
	resp->body = body;
	resp->body_len = len;
}

void cc_resp_json_text(struct cc_resp *resp, int status, char *text)
{
	if (!text) {
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	set_body(resp, status, "application/json", text, strlen(text));
}

void cc_resp_json(struct cc_resp *resp, int status, json_t *value)
{
	char *text = value ? json_dumps(value, CC_JSON_FLAGS | JSON_ENCODE_ANY) : NULL;

	json_decref(value);
	cc_resp_json_text(resp, status, text);
}

int cc_resp_db_unavailable(struct cc_resp *resp, const struct cc_err *err)
{
	if (err->kind != CC_ERR_UNAVAILABLE || err->cause_type != CC_CAUSE_MYSQL)
		return 0;
	/* What MariaDB said is the cause the operator needs ("Can't connect
	 * to local server through socket ..."); our context (the statement)
	 * stays in the server log. */
	cc_resp_error(resp, 503, "the database is unavailable: %s",
		      *err->cause_msg ? err->cause_msg : err->msg);
	return 1;
}

void cc_resp_fail(struct cc_resp *resp, const struct cc_err *err,
		  const char *what, ...)
{
	char msg[512];
	va_list ap;

	if (cc_err_is_client(err->kind)) {
		cc_resp_error(resp, cc_err_http_status(err->kind), "%s", err->msg);
		return;
	}
	va_start(ap, what);
	vsnprintf(msg, sizeof(msg), what, ap);
	va_end(ap);
	cc_error("%s: %s", msg, err->msg);
	if (!cc_resp_db_unavailable(resp, err))
		cc_resp_error(resp, cc_err_http_status(err->kind),
			      "%s (see the server log)", msg);
}

void cc_resp_error(struct cc_resp *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s}", "error", msg);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		text = strdup("{\"error\":\"out of memory\"}");
		if (!text) {
			set_body(resp, 500, "application/json", NULL, 0);
			return;
		}
	}
	set_body(resp, status, "application/json", text, strlen(text));
}

void cc_resp_text(struct cc_resp *resp, int status, const char *ctype,
		  const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy) {
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	set_body(resp, status, ctype, copy, len);
}

void cc_resp_empty(struct cc_resp *resp, int status)
{
	set_body(resp, status, NULL, NULL, 0);
}

void cc_resp_cleanup(struct cc_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
}

long long cc_parse_id(const char *s)
{
	long long v = 0;
	size_t n = 0;

	if (!s || !*s)
		return -1;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 18)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	return v > 0 ? v : -1;
}

const char *cc_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
