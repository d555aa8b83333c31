/* redact.h - hide credentials that travel inside URLs before text reaches a
 * log or an answer that shows the log (GET /log). Two kinds are hidden:
 *   - the password of a URL's userinfo: "http://user:secret@host/x" becomes
 *     "http://user:***@host/x" (the user name stays: it says which
 *     account, and is needed to read the log);
 *   - the value of a query or form parameter that is itself a credential:
 *     X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token (S3
 *     presigned URLs), Signature and AWSAccessKeyId (S3 query auth v2),
 *     password and access_token: "...&X-Amz-Signature=ab12" becomes
 *     "...&X-Amz-Signature=***" (the name is matched without regard to
 *     case, after '?' or '&').
 * Every URL of the text is handled, wherever it is. Pure functions, no
 * allocation: tests/unit/test_redact.c. */
#ifndef CC_REDACT_H
#define CC_REDACT_H

#include <stddef.h>

/* cc_redact - copy the n bytes at in to out (cap bytes) with the
 * credentials above replaced by "***". Returns the length of the whole
 * redacted text, like snprintf: when it is >= cap, out holds its first
 * cap - 1 bytes. out is NUL-terminated whenever cap > 0; out may be NULL
 * when cap is 0 (to learn the length). in may hold NUL bytes (copied as
 * they are); in and out must not overlap. A cut never shows part of a
 * secret: the secret is replaced before the text is cut. */
size_t cc_redact(const char *in, size_t n, char *out, size_t cap);

#endif
