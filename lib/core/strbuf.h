/* strbuf.h - a growing NUL-terminated string for code that builds text
 * piece by piece (form bodies, signed requests, S3 URLs, XML bodies). Appends never
 * fail loudly: an allocation failure sets `oom` and turns later appends
 * into no-ops, so a caller checks once, after the last append. */
#ifndef CC_STRBUF_H
#define CC_STRBUF_H

#include <stddef.h>

/* Caller-owned; start it zeroed ({ 0 }) and cc_strbuf_free it when done
 * (or take data and free that). The fields are read directly: data (NULL
 * until something was added), len (bytes, NUL excluded) and oom. */
struct cc_strbuf {
	char *data;           /* NUL-terminated once anything was added */
	size_t len, cap;      /* bytes used (NUL excluded), bytes allocated */
	int oom;              /* an append failed: p is incomplete */
};

/* cc_strbuf_put - append n bytes of s (which may hold NULs). Appending
 * ("", 0) to an empty buffer allocates it, so data is then "" rather than
 * NULL. On failure sets b->oom and leaves data as it was. */
void cc_strbuf_put(struct cc_strbuf *b, const char *s, size_t n);

/* cc_strbuf_puts - append the string s. */
void cc_strbuf_puts(struct cc_strbuf *b, const char *s);

/* cc_strbuf_putc - append the byte c. */
void cc_strbuf_putc(struct cc_strbuf *b, char c);

/* cc_strbuf_printf - append printf-formatted text. */
void cc_strbuf_printf(struct cc_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cc_strbuf_free - free the text and zero the buffer. */
void cc_strbuf_free(struct cc_strbuf *b);

#endif
