/* form.c - see form.h. Decoding is strict: a '%' not followed by two hex
 * digits is an error rather than a silently kept byte. */
#include <stdlib.h>
#include <string.h>
#include "core/form.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

long cc_url_unescape(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			s[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	return (long)o;
}

static char *dup_decoded(const char *p, size_t n, size_t *outlen)
{
	char *s = malloc(n + 1);
	long l;

	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	l = cc_url_unescape(s, n);
	if (l < 0) {
		free(s);
		return NULL;
	}
	if (outlen)
		*outlen = (size_t)l;
	return s;
}

int cc_form_parse(struct cc_form *form, const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	memset(form, 0, sizeof(*form));
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		struct cc_form_field f = { 0 };

		if (stop == p) {
			p = stop + 1;
			continue;
		}
		f.key = dup_decoded(p, (size_t)((eq ? eq : stop) - p), NULL);
		if (!f.key)
			goto fail;
		if (eq) {
			f.value = dup_decoded(eq + 1, (size_t)(stop - eq - 1), &f.value_len);
			if (!f.value) {
				free(f.key);
				goto fail;
			}
		}
		if (form->n == form->cap) {
			size_t nc = form->cap ? form->cap * 2 : 8;
			struct cc_form_field *nf = realloc(form->fields, nc * sizeof(*nf));
			if (!nf) {
				free(f.key);
				free(f.value);
				goto fail;
			}
			form->fields = nf;
			form->cap = nc;
		}
		form->fields[form->n++] = f;
		p = stop + 1;
	}
	return 0;
fail:
	cc_form_cleanup(form);
	return -1;
}

void cc_form_cleanup(struct cc_form *form)
{
	for (size_t i = 0; i < form->n; i++) {
		free(form->fields[i].key);
		free(form->fields[i].value);
	}
	free(form->fields);
	memset(form, 0, sizeof(*form));
}

const char *cc_form_get(const struct cc_form *form, const char *key)
{
	for (size_t i = 0; i < form->n; i++)
		if (!strcmp(form->fields[i].key, key))
			return form->fields[i].value;
	return NULL;
}

int cc_form_has(const struct cc_form *form, const char *key)
{
	for (size_t i = 0; i < form->n; i++)
		if (!strcmp(form->fields[i].key, key))
			return 1;
	return 0;
}

static void put_escaped(struct cc_strbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '*') {
			cc_strbuf_put(b, (const char *)s, 1);
		} else if (c == ' ') {
			cc_strbuf_put(b, "+", 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			cc_strbuf_put(b, e, 3);
		}
	}
}

void cc_form_add(struct cc_strbuf *b, const char *key, const char *value)
{
	if (b->len)
		cc_strbuf_put(b, "&", 1);
	put_escaped(b, key);
	if (value) {
		cc_strbuf_put(b, "=", 1);
		put_escaped(b, value);
	}
}

char *cc_url_escape(const char *s)
{
	struct cc_strbuf b = { 0 };

	cc_strbuf_put(&b, "", 0);
	put_escaped(&b, s);
	if (b.oom) {
		free(b.data);
		return NULL;
	}
	return b.data;
}
