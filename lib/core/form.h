/* form.h - application/x-www-form-urlencoded bodies, as the Ruby
 * RestClient sends them: k=v pairs joined by '&', '+' for space, a bare key
 * (no '=') for a nil value. */
#ifndef CC_FORM_H
#define CC_FORM_H

#include <stddef.h>
#include "core/strbuf.h"

struct cc_form_field {
	char *key;
	char *value;          /* NULL for a bare key (nil) */
	size_t value_len;
};

struct cc_form {
	struct cc_form_field *fields;
	size_t n, cap;
};

/* cc_form_parse - decode body (len bytes; need not be NUL-terminated) into
 * form, which the caller cleans up with cc_form_cleanup. Returns 0, or -1 on
 * a malformed escape or out of memory (form then holds nothing). */
int cc_form_parse(struct cc_form *form, const char *body, size_t len);

void cc_form_cleanup(struct cc_form *form);

/* cc_form_get - the first value of key (borrowed), NULL if absent or bare;
 * cc_form_has says whether the key is present at all. */
const char *cc_form_get(const struct cc_form *form, const char *key);
int cc_form_has(const struct cc_form *form, const char *key);

/* cc_form_add - append key=escaped(value) to b (a struct cc_strbuf the
 * caller frees with cc_strbuf_free); value NULL appends a bare key. */
void cc_form_add(struct cc_strbuf *b, const char *key, const char *value);

/* cc_url_escape - percent-escape s into a new string (caller frees). */
char *cc_url_escape(const char *s);

/* cc_url_unescape - decode %XX and '+' in place over n bytes; returns the
 * new length or -1 on a bad escape. */
long cc_url_unescape(char *s, size_t n);

#endif
