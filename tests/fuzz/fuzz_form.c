/* fuzz_form.c - libFuzzer target for cc_form_parse (request bodies of every
 * PUT/POST the central server and the node agent accept), plus the escape
 * helpers. Beyond "no crash, no leak" it checks invariants:
 *   - a parse that fails leaves an empty form;
 *   - every field has a NUL-terminated key, and value_len bytes of value
 *     followed by a NUL;
 *   - rebuilding the fields with cc_form_add parses back to the same fields
 *     (when no value holds a NUL and no bare key is empty, which a C-string
 *     builder cannot express);
 *   - cc_url_unescape(cc_url_escape(s)) == s.
 * Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} } while (0)

static int expressible(const struct cc_form *form)
{
	for (size_t i = 0; i < form->n; i++) {
		const struct cc_form_field *f = &form->fields[i];
		if (!f->value && !f->key[0])
			return 0;
		if (f->value && strlen(f->value) != f->value_len)
			return 0;
	}
	return 1;
}

static void check_round_trip(const struct cc_form *form)
{
	struct cc_strbuf b = { 0 };
	struct cc_form again;

	for (size_t i = 0; i < form->n; i++)
		cc_form_add(&b, form->fields[i].key, form->fields[i].value);
	if (b.oom) {
		cc_strbuf_free(&b);
		return;
	}
	CHECK(cc_form_parse(&again, b.data ? b.data : "", b.len) == 0);
	CHECK(again.n == form->n);
	for (size_t i = 0; i < form->n; i++) {
		const struct cc_form_field *x = &form->fields[i], *y = &again.fields[i];
		CHECK(!strcmp(x->key, y->key));
		CHECK(!x->value == !y->value);
		if (x->value) {
			CHECK(x->value_len == y->value_len);
			CHECK(!memcmp(x->value, y->value, x->value_len + 1));
		}
	}
	cc_form_cleanup(&again);
	cc_strbuf_free(&b);
}

static void check_escape(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *e;
	long n;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';            /* stops at the first NUL: C-string API */
	e = cc_url_escape(s);
	if (e) {
		n = cc_url_unescape(e, strlen(e));
		CHECK(n == (long)strlen(s));
		CHECK(!strcmp(e, s));
		free(e);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exactly-sized copy: ASan flags any read past size */
	char *body = malloc(size ? size : 1);
	struct cc_form form;

	if (!body)
		return 0;
	memcpy(body, data, size);
	if (cc_form_parse(&form, body, size) < 0) {
		CHECK(form.n == 0 && form.fields == NULL);
	} else {
		for (size_t i = 0; i < form.n; i++) {
			const struct cc_form_field *f = &form.fields[i];
			CHECK(f->key != NULL);
			if (f->value) {
				CHECK(f->value_len <= size);
				CHECK(f->value[f->value_len] == '\0');
			}
			/* lookups agree with the fields */
			CHECK(cc_form_has(&form, f->key));
		}
		if (expressible(&form))
			check_round_trip(&form);
		cc_form_cleanup(&form);
	}
	free(body);
	check_escape(data, size);
	return 0;
}
