/* err.h - caller-supplied error detail, like redis anet's err buffer or
 * jansson's json_error_t: fallible functions return -1/NULL and, when the
 * caller passed a struct cc_err, leave a message in it.
 *
 * An error has a kind (what went wrong, from the point of view of whoever
 * asked: their input, a missing thing, a party we depend on, or us) and,
 * separately, its cause (the errno, MySQL error number, libcurl code or
 * HTTP status that produced it, when there was one). Code that decides
 * what to do next tests the kind; code that must react to one precise
 * cause (a duplicate key, a lost connection) tests the cause. The HTTP
 * status of a kind is chosen in one place, cc_err_http_status. */
#ifndef CC_ERR_H
#define CC_ERR_H

#include <stdarg.h>

#define CC_ERR_LEN 512
#define CC_ERR_CAUSE_LEN 256

enum cc_err_kind {
	CC_ERR_NONE = 0,      /* no error (cc_err_clear) */
	CC_ERR_INTERNAL,      /* our own failure: memory, a bug, an unexpected
			       * database answer */
	CC_ERR_BAD_REQUEST,   /* the caller's input is wrong (for the CLI: a
			       * usage error) */
	CC_ERR_NOT_FOUND,     /* the thing asked for does not exist */
	CC_ERR_CONFLICT,      /* the request clashes with the current state */
	CC_ERR_TOO_LARGE,     /* the input is over a limit */
	CC_ERR_UPSTREAM,      /* a party we called failed or answered wrongly
			       * (S3, a download, central for a node) */
	CC_ERR_UNAVAILABLE,   /* something we depend on is away (MySQL) */
};

enum cc_err_cause {
	CC_CAUSE_NONE = 0,
	CC_CAUSE_ERRNO,       /* cause is an errno value */
	CC_CAUSE_MYSQL,       /* cause is a MySQL/MariaDB error number */
	CC_CAUSE_CURL,        /* cause is a CURLcode */
	CC_CAUSE_HTTP,        /* cause is the HTTP status another party sent */
};

struct cc_err {
	enum cc_err_kind kind;
	enum cc_err_cause cause_type;
	int cause;              /* meaning given by cause_type; 0 when none */
	char msg[CC_ERR_LEN];   /* human-readable, NUL-terminated */
	char cause_msg[CC_ERR_CAUSE_LEN]; /* the cause's own words, when it
				 * has some (MariaDB's message): what msg
				 * quotes, without our context; "" when none */
};

/* cc_err_set - format a message into err (NULL is allowed) with a kind;
 * the cause (and cause_msg) is cleared. Always returns -1 so callers can
 * `return cc_err_set(...)`. */
int cc_err_set(struct cc_err *err, enum cc_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cc_err_set_cause - record what produced the error already set in err
 * (NULL is allowed). Returns -1. */
int cc_err_set_cause(struct cc_err *err, enum cc_err_cause type, int cause);

/* cc_err_is_cause - err was produced by exactly this cause. */
int cc_err_is_cause(const struct cc_err *err, enum cc_err_cause type, int cause);

/* cc_err_clear - empty message, kind CC_ERR_NONE, no cause. */
void cc_err_clear(struct cc_err *err);

/* cc_err_http_status - the HTTP status that answers an error of this kind
 * (400, 404, 409, 413, 502, 503, or 500 for internal and none). */
int cc_err_http_status(enum cc_err_kind kind);

/* cc_err_is_client - the kind blames the request (bad request, not found,
 * conflict, too large): its message may be shown to the client as is.
 * Other kinds are logged, and the client gets a general message. */
int cc_err_is_client(enum cc_err_kind kind);

#endif
