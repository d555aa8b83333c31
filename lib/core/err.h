/* err.h - caller-supplied error detail, like redis anet's err buffer or
 * jansson's json_error_t: fallible functions return -1/NULL and, when the
 * caller passed a struct cc_err, leave a message in it. */
#ifndef CC_ERR_H
#define CC_ERR_H

#include <stdarg.h>

#define CC_ERR_LEN 512

struct cc_err {
	int code;               /* HTTP-ish status for request errors, else 0 */
	char msg[CC_ERR_LEN];   /* human-readable, NUL-terminated */
};

/* cc_err_set - format a message into err (NULL is allowed) with a code.
 * Always returns -1 so callers can `return cc_err_set(...)`. */
int cc_err_set(struct cc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cc_err_clear - empty message, code 0. */
void cc_err_clear(struct cc_err *err);

#endif
