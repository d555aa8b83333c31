/* sigv4.h - AWS Signature Version 4, as S3 wants it: UriEncode, payload
 * hashes, the Authorization header for a request and the query string
 * that presigns a GET. Everything here but cc_sigv4_sha256_file is pure
 * (no I/O, no clock): the caller supplies the time in the scope, so tests
 * check the results against AWS's published examples. */
#ifndef CC_SIGV4_H
#define CC_SIGV4_H

#include <stddef.h>
#include <time.h>
#include "core/err.h"
#include "core/strbuf.h"

#define CC_SIGV4_SIG_HEX 65          /* 64 hex digits and a NUL */
#define CC_SIGV4_PRESIGN_EXPIRES 86400 /* seconds: a presigned URL's 24 hours */

/* cc_sigv4_uri_encode - AWS UriEncode of s: every byte but A-Z a-z 0-9
 * '-' '.' '_' '~' becomes %XX (upper-case hex); '/' is kept when
 * keep_slash. Writes a NUL-terminated string into out; returns its length,
 * or -1 when out_len is too small. */
long cc_sigv4_uri_encode(const char *s, int keep_slash, char *out,
			 size_t out_len);

/* cc_sigv4_uri_append - the same UriEncode of s, appended to b (an
 * allocation failure sets b->oom, see strbuf.h). */
void cc_sigv4_uri_append(struct cc_strbuf *b, const char *s, int keep_slash);

/* cc_sigv4_sha256_hex - SHA-256 of n bytes at data, as lower-case hex
 * (the x-amz-content-sha256 of a body) into out. 0, or -1 if OpenSSL
 * fails. */
int cc_sigv4_sha256_hex(const void *data, size_t n,
			char out[CC_SIGV4_SIG_HEX]);

/* cc_sigv4_sha256_file - the same for the whole content of the file open
 * at fd, read with pread from offset 0 (the file offset is not moved).
 * 0, or -1 when a read or OpenSSL fails (errno as the failing call left
 * it). */
int cc_sigv4_sha256_file(int fd, char out[CC_SIGV4_SIG_HEX]);

/* A query parameter or a header, as given (not yet encoded or folded). */
struct cc_sigv4_pair {
	const char *name;
	const char *value;
};

/* What a signature covers. */
struct cc_sigv4_request {
	const char *method;                /* "GET", "PUT", ... */
	const char *uri;                   /* canonical URI, already
					    * UriEncoded: "/bucket/a%20b" */
	const struct cc_sigv4_pair *query; /* raw names and values, any order */
	size_t nquery;
	const struct cc_sigv4_pair *headers; /* every header to sign, host
					      * included; any case, any order */
	size_t nheaders;
	const char *payload_hash;          /* hex SHA-256 or UNSIGNED-PAYLOAD */
};

/* Who signs, where, when. */
struct cc_sigv4_scope {
	const char *access_key;
	const char *secret_key;            /* sensitive: never logged */
	const char *region;                /* "us-east-1" */
	const char *service;               /* "s3" */
	char amz_date[17];                 /* "20130524T000000Z" */
};

/* cc_sigv4_scope_time - fill scope->amz_date from t (UTC). */
void cc_sigv4_scope_time(struct cc_sigv4_scope *scope, time_t t);

/* cc_sigv4_canonical_query - the query of req in canonical form: names
 * and values UriEncoded (slashes too), sorted by name then value, joined
 * "a=1&b=" (an empty value keeps its '='). Returns a malloc'd string the
 * caller frees, or NULL when out of memory. */
char *cc_sigv4_canonical_query(const struct cc_sigv4_pair *query, size_t n);

/* cc_sigv4_sign - the SigV4 signature of req (lower-case hex) into sig,
 * and, when signed_headers is not NULL, the "host;x-amz-date" list into it
 * (signed_len bytes). 0, or -1 (out of memory, buffer too small, bad
 * amz_date) with err set. */
int cc_sigv4_sign(const struct cc_sigv4_request *req,
		  const struct cc_sigv4_scope *scope, char sig[CC_SIGV4_SIG_HEX],
		  char *signed_headers, size_t signed_len, struct cc_err *err);

/* cc_sigv4_authorization - the Authorization header value for req:
 * "AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=..., Signature=...". Into out; 0 or -1 with err set. */
int cc_sigv4_authorization(const struct cc_sigv4_request *req,
			   const struct cc_sigv4_scope *scope, char *out,
			   size_t out_len, struct cc_err *err);

/* cc_sigv4_presign - the query string that presigns a GET of `uri`
 * (canonical, already encoded) at `host` for `expires` seconds from
 * scope->amz_date: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...
 * &X-Amz-Date=...&X-Amz-Expires=...&X-Amz-SignedHeaders=host
 * &X-Amz-Signature=...". Into out; 0 or -1 with err set. */
int cc_sigv4_presign(const char *host, const char *uri,
		     const struct cc_sigv4_scope *scope, long expires, char *out,
		     size_t out_len, struct cc_err *err);

#endif
