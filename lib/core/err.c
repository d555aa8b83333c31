/* err.c - see err.h. */
#include <stdio.h>
#include "core/err.h"

int cc_err_set(struct cc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void cc_err_clear(struct cc_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
