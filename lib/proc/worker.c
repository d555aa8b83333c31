/* worker.c - see worker.h. Everything here is pure: strings and JSON in,
 * strings and JSON out, no I/O. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/form.h"
#include "core/jsontext.h"
#include "proc/worker.h"
#include "model/status.h"

#define NAME_MAX_OUT 100
#define EXT_MAX 16

static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */

void cc_worker_unit_cleanup(struct cc_worker_unit *u)
{
	free(u->input);
	free(u->json);
	json_decref(u->options);
	memset(u, 0, sizeof(*u));
}

static int get_id(json_t *root, const char *key, long long *out,
		  long long min, int required, struct cc_err *err)
{
	json_t *v = json_object_get(root, key);

	if (!v && !required)
		return 0;
	if (!v || !json_is_integer(v) || json_integer_value(v) < min)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: %s must be %s integer", key,
				  min > 0 ? "a positive" : "a non-negative");
	*out = json_integer_value(v);
	return 0;
}

int cc_worker_unit_parse(struct cc_worker_unit *u, const char *text,
			 size_t len, struct cc_err *err)
{
	json_error_t jerr;
	json_t *root, *v;
	long long status = 0;
	int ret = -1;

	memset(u, 0, sizeof(*u));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && cc_jsontext_load_failed_for_memory(text, len, 0, &jerr))
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading the "
				  "work_unit JSON");
	if (!root)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit is not valid JSON: %s "
				  "(line %d, column %d)", jerr.text, jerr.line,
				  jerr.column);
	if (!json_is_object(root)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit must be a JSON object");
		goto out;
	}
	if (get_id(root, "id", &u->id, 1, 1, err) < 0 ||
	    get_id(root, "job_id", &u->job_id, 1, 1, err) < 0 ||
	    get_id(root, "attempts", &u->attempts, 0, 0, err) < 0 ||
	    get_id(root, "status", &status, 1, 1, err) < 0)
		goto out;
	if (status != CC_STATUS_PROCESSING && status != CC_STATUS_SPLITTING &&
	    status != CC_STATUS_MERGING) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: status must be 1 (processing), "
			   "4 (splitting) or 5 (merging), not %lld", status);
		goto out;
	}
	u->status = (int)status;
	v = json_object_get(root, "action");
	if (!json_is_string(v) || !cc_action_name_valid(json_string_value(v))) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: action must be an action name "
			   "([a-z0-9_]+)");
		goto out;
	}
	snprintf(u->action, sizeof(u->action), "%s", json_string_value(v));
	v = json_object_get(root, "input");
	if (!json_is_string(v)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: input must be a string");
		goto out;
	}
	if (memchr(json_string_value(v), '\0', json_string_length(v))) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: input must not contain NUL");
		goto out;
	}
	u->input = strdup(json_string_value(v));
	v = json_object_get(root, "input_is_json");
	if (v && !json_is_boolean(v)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: input_is_json must be true or false");
		goto out;
	}
	u->input_is_json = v ? json_is_true(v) : -1;
	v = json_object_get(root, "token");
	if (v && (!json_is_string(v) || json_string_length(v) < 1 ||
		  json_string_length(v) > CC_WORKER_TOKEN_MAX ||
		  strspn(json_string_value(v), "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		  json_string_length(v))) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: token must be a string "
			   "of 1 to %d letters, digits, '_' or '-'", CC_WORKER_TOKEN_MAX);
		goto out;
	}
	if (v)
		memcpy(u->token, json_string_value(v), json_string_length(v) + 1);
	v = json_object_get(root, "options");
	if (v && !json_is_object(v)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "work_unit: options must be an object");
		goto out;
	}
	u->options = v ? json_incref(v) : json_object();
	u->json = malloc(len + 1);
	if (!u->input || !u->options || !u->json) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(u->json, text, len);
	u->json[len] = '\0';
	u->json_len = len;
	ret = 0;
out:
	json_decref(root);
	if (ret < 0)
		cc_worker_unit_cleanup(u);
	return ret;
}

int cc_worker_input_is_url(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) || !p[3])
		return 0;
	for (p += 3; *p; p++)
		if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
			return 0;
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int safe_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void cc_worker_input_filename(const char *url, char *out, size_t len)
{
	char name[1024];
	const char *p = strstr(url, "://"), *end, *seg;
	size_t n = 0, cap = len - 1 < NAME_MAX_OUT ? len - 1 : NAME_MAX_OUT;

	/* Path: from the '/' ending the authority to '?' or '#'. */
	if (p) {
		p += 3;
		p += strcspn(p, "/?#");
		if (*p != '/')
			p = NULL;
	}
	if (p) {
		end = p + strcspn(p, "?#");
		seg = p;
		for (const char *q = p; q < end; q++)
			if (*q == '/')
				seg = q + 1;
		for (const char *q = seg; q < end && n < sizeof(name) - 1; q++) {
			int c = (unsigned char)*q;
			if (c == '%' && q + 2 < end && hexval(q[1]) >= 0 &&
			    hexval(q[2]) >= 0) {
				c = hexval(q[1]) * 16 + hexval(q[2]);
				q += 2;
			}
			if (safe_char(c) && !(n == 0 && c == '-'))
				name[n++] = (char)c;
		}
	}
	name[n] = '\0';
	if (n > cap) {
		/* Keep a short extension: "long...name.pdf" -> "long.pdf". */
		const char *dot = strrchr(name, '.');
		size_t ext = dot ? strlen(dot) : 0;
		if (ext > EXT_MAX || ext >= cap)
			ext = 0;
		memmove(name + cap - ext, name + n - ext, ext);
		n = cap;
		name[n] = '\0';
	}
	if (n == 0 || !strcmp(name, ".") || !strcmp(name, ".."))
		snprintf(out, len, "input");
	else
		snprintf(out, len, "%s", name);
}

char *cc_worker_input_json(const char *input, int input_is_json)
{
	json_error_t jerr;
	json_t *v = NULL;
	char *s;

	if (input_is_json) {
		v = json_loads(input, JSON_DECODE_ANY, &jerr);
		if (!v && cc_jsontext_load_failed_for_memory(input, strlen(input), 1, &jerr))
			return NULL;
	}
	if (!v)
		v = json_string(input);
	if (!v)      /* not UTF-8: jansson refuses; cannot happen via the unit */
		v = json_stringn_nocheck(input, strlen(input));
	s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	return s;
}

char *cc_worker_options_json(const struct cc_worker_unit *u)
{
	json_t *o = json_deep_copy(u->options);
	char *s = NULL;

	if (o && !json_object_set_new(o, "job_id", json_integer(u->job_id)) &&
	    !json_object_set_new(o, "work_unit_id", json_integer(u->id)) &&
	    !json_object_set_new(o, "attempts", json_integer(u->attempts)))
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t need;
	unsigned cp;

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF) { need = 2; cp = c & 0x1F; }
	else if (c >= 0xE0 && c <= 0xEF) { need = 3; cp = c & 0x0F; }
	else if (c >= 0xF0 && c <= 0xF4) { need = 4; cp = c & 0x07; }
	else return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return need;
}

char *cc_worker_clean_text(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t a = 0, b = n, o = 0;
	char *out;

	while (a < b && isspace(s[a]))
		a++;
	while (b > a && isspace(s[b - 1]))
		b--;
	/* Worst case every byte becomes the 3-byte replacement. */
	out = malloc((b - a) * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = a; i < b;) {
		size_t l = utf8_len(s + i, b - i);
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

json_t *cc_worker_output_value(const char *out, size_t len)
{
	char *text = cc_worker_clean_text(out, len);
	json_error_t jerr;
	json_t *v;

	if (!text)
		return NULL;
	if (!*text) {
		free(text);
		return json_null();
	}
	v = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!v && !cc_jsontext_load_failed_for_memory(text, strlen(text), 1, &jerr))
		v = json_string(text);
	free(text);
	return v;
}

char *cc_worker_tail_text(const struct cc_tail *t)
{
	const char *p = t->buf;
	size_t n = t->len;
	char *clean, *out;

	if (t->truncated) {
		/* Start at a line boundary in the first quarter, else at the
		 * next character boundary. */
		const char *nl = memchr(p, '\n', n / 4);
		if (nl) {
			n -= (size_t)(nl + 1 - p);
			p = nl + 1;
		} else {
			while (n && ((unsigned char)*p & 0xC0) == 0x80) {
				p++;
				n--;
			}
		}
	}
	clean = cc_worker_clean_text(p, n);
	if (!clean || !t->truncated || !*clean)
		return clean;
	out = malloc(strlen(clean) + 4);
	if (out) {
		memcpy(out, "...", 3);
		memcpy(out + 3, clean, strlen(clean) + 1);
	}
	free(clean);
	return out;
}

static json_t *message(const char *reason, const char *tail)
{
	char *s;
	json_t *v;

	if (!tail || !*tail)
		return json_string(reason);
	if (asprintf(&s, "%s: %s", reason, tail) < 0)
		return NULL;
	v = json_string(s);
	free(s);
	return v;
}

int cc_worker_result(const struct cc_proc_result *r, enum cc_stage stage,
		     int timeout_s, size_t max_out, json_t **value)
{
	char reason[128];
	char *tail = NULL;
	int ok = 0;

	*value = NULL;
	if (r->output_too_big) {
		snprintf(reason, sizeof(reason), "output larger than %zu KB "
			 "(max_output_kb)", max_out / 1024);
		*value = json_string(reason);
		return *value ? 0 : -1;
	}
	if (!r->timed_out && !r->signal && r->exit_code == 0) {
		*value = cc_worker_output_value(r->out, r->out_len);
		if (!*value)
			return -1;
		if (stage != CC_STAGE_SPLIT || json_is_array(*value))
			return 1;
		json_decref(*value);
		*value = json_string("split must print a JSON array");
		return *value ? 0 : -1;
	}
	tail = cc_worker_tail_text(&r->err);
	if (!tail)
		return -1;
	if (r->timed_out) {
		snprintf(reason, sizeof(reason), "timed out after %d s", timeout_s);
		*value = message(reason, tail);
	} else if (r->signal) {
		const char *abbrev = sigabbrev_np(r->signal);
		snprintf(reason, sizeof(reason), "killed by signal %d (SIG%s)",
			 r->signal, abbrev ? abbrev : "?");
		*value = message(reason, tail);
	} else if (*tail) {
		*value = json_string(tail);
	} else {
		snprintf(reason, sizeof(reason), "exit code %d", r->exit_code);
		*value = json_string(reason);
	}
	free(tail);
	return *value ? ok : -1;
}

char *cc_worker_report_form(long long pid, long long id, double seconds,
			    int succeeded, json_t *value)
{
	return cc_worker_report_form_token(pid, id, seconds, succeeded, value, NULL);
}

char *cc_worker_report_form_token(long long pid, long long id, double seconds,
				  int succeeded, json_t *value, const char *token)
{
	struct cc_strbuf b = { 0 };
	json_t *o = json_object();
	char num[64], *out = NULL;

	if (!o || json_object_set(o, "output", value ? value : json_null()))
		goto fail;
	out = json_dumps(o, JSON_COMPACT);
	if (!out)
		goto fail;
	snprintf(num, sizeof(num), "%lld", pid);
	cc_form_add(&b, "pid", num);
	snprintf(num, sizeof(num), "%lld", id);
	cc_form_add(&b, "id", num);
	snprintf(num, sizeof(num), "%.6f", seconds < 0 ? 0 : seconds);
	cc_form_add(&b, "time", num);
	cc_form_add(&b, "status", succeeded ? "succeeded" : "failed");
	cc_form_add(&b, "output", out);
	if (token && *token)
		cc_form_add(&b, "token", token);
	free(out);
	json_decref(o);
	if (b.oom) {
		cc_strbuf_free(&b);
		return NULL;
	}
	return b.data;
fail:
	json_decref(o);
	return NULL;
}

int cc_worker_backoff(int n)
{
	return n < 0 ? 1 : n >= 5 ? 30 : 1 << n;
}
