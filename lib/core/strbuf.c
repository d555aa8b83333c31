/* strbuf.c - a growing string (see strbuf.h). Capacity doubles from 256
 * bytes, so n appends cost O(n) copies; the first failed realloc latches
 * `oom` instead of returning an error from every append. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/strbuf.h"

void cc_strbuf_put(struct cc_strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->data, cap))) {
			b->oom = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void cc_strbuf_puts(struct cc_strbuf *b, const char *s)
{
	cc_strbuf_put(b, s, strlen(s));
}

void cc_strbuf_putc(struct cc_strbuf *b, char c)
{
	cc_strbuf_put(b, &c, 1);
}

void cc_strbuf_free(struct cc_strbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void cc_strbuf_printf(struct cc_strbuf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)k < sizeof(small)) {
		cc_strbuf_put(b, small, (size_t)k);
		return;
	}
	big = malloc((size_t)k + 1);
	if (!big) {
		b->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)k + 1, fmt, ap);
	va_end(ap);
	cc_strbuf_put(b, big, (size_t)k);
	free(big);
}
