/* err.c - see err.h. */
#include <stdio.h>
#include "core/err.h"

int cc_err_set(struct cc_err *err, enum cc_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->kind = kind;
	err->cause_type = CC_CAUSE_NONE;
	err->cause = 0;
	err->cause_msg[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int cc_err_set_cause(struct cc_err *err, enum cc_err_cause type, int cause)
{
	if (err) {
		err->cause_type = type;
		err->cause = cause;
	}
	return -1;
}

int cc_err_is_cause(const struct cc_err *err, enum cc_err_cause type, int cause)
{
	return err && err->kind != CC_ERR_NONE && err->cause_type == type &&
	       err->cause == cause;
}

void cc_err_clear(struct cc_err *err)
{
	if (err) {
		err->kind = CC_ERR_NONE;
		err->cause_type = CC_CAUSE_NONE;
		err->cause = 0;
		err->msg[0] = '\0';
		err->cause_msg[0] = '\0';
	}
}

int cc_err_http_status(enum cc_err_kind kind)
{
	switch (kind) {
	case CC_ERR_BAD_REQUEST: return 400;
	case CC_ERR_NOT_FOUND:   return 404;
	case CC_ERR_CONFLICT:    return 409;
	case CC_ERR_TOO_LARGE:   return 413;
	case CC_ERR_UPSTREAM:    return 502;
	case CC_ERR_UNAVAILABLE: return 503;
	case CC_ERR_NONE:
	case CC_ERR_INTERNAL:    break;
	}
	return 500;
}

int cc_err_is_client(enum cc_err_kind kind)
{
	return kind == CC_ERR_BAD_REQUEST || kind == CC_ERR_NOT_FOUND ||
	       kind == CC_ERR_CONFLICT || kind == CC_ERR_TOO_LARGE;
}
