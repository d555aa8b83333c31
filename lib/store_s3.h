/* store_s3.h - the S3 backend of the asset store (see store.h): objects
 * ACTION/job_JOBID/unit_UNITID/NAME in cfg->s3_bucket, reached path-style
 * at cfg->s3_endpoint (default https://s3.amazonaws.com) in cfg->s3_region,
 * every request signed with AWS Signature Version 4. Callers go through
 * store.h, which checks the action name, the ids and the file name first.
 *
 * The SigV4 pieces below are pure (no I/O, no clock) so tests can check
 * them against AWS's published examples. */
#ifndef CC_STORE_S3_H
#define CC_STORE_S3_H

#include <stddef.h>
#include <time.h>
#include "config.h"
#include "err.h"

/* cc_store_s3_save - PUT the regular file `path` (streamed from disk, its
 * SHA-256 sent as x-amz-content-sha256, Content-Type from the extension)
 * as ACTION/job_JOBID/unit_UNITID/name. With s3_authentication off the
 * object is sent with x-amz-acl: public-read (dropped if the bucket
 * refuses ACLs) and url gets endpoint/bucket/key, percent-escaped; with it
 * on, url gets that URL presigned for GET, valid 24 hours. 0, or -1 with
 * err set ("S3 PUT ...: HTTP 403 SignatureDoesNotMatch: ..."); the secret
 * key never appears in messages. */
int cc_store_s3_save(const struct cc_config *cfg, const char *action,
		     long long job_id, long long unit_id, const char *path,
		     const char *name, char *url, size_t url_len,
		     struct cc_err *err);

/* cc_store_s3_delete_job - delete every object under ACTION/job_JOBID/:
 * ListObjectsV2 page by page (continuation tokens), each page removed with
 * one DeleteObjects request (keys XML cannot carry are deleted one by
 * one). Nothing there is success. 0, or -1 with err set; a failure part
 * way leaves the rest in place, and calling again finishes the job.
 * Requests that meet a transport error or a 5xx are tried up to 3 times. */
int cc_store_s3_delete_job(const struct cc_config *cfg, const char *action,
			   long long job_id, struct cc_err *err);

/* ---- Signature Version 4, pure functions (for tests) -------------------- */

#define CC_S3_SIG_HEX 65          /* 64 hex digits and a NUL */
#define CC_S3_PRESIGN_EXPIRES 86400

/* cc_store_s3_uri_encode - AWS UriEncode of s: every byte but A-Z a-z 0-9
 * '-' '.' '_' '~' becomes %XX (upper-case hex); '/' is kept when
 * keep_slash. Writes a NUL-terminated string into out; returns its length,
 * or -1 when out_len is too small. */
long cc_store_s3_uri_encode(const char *s, int keep_slash, char *out,
			    size_t out_len);

/* A query parameter or a header, as given (not yet encoded or folded). */
struct cc_s3_pair {
	const char *name;
	const char *value;
};

/* What a signature covers. */
struct cc_s3_request {
	const char *method;                /* "GET", "PUT", ... */
	const char *uri;                   /* canonical URI, already
					    * UriEncoded: "/bucket/a%20b" */
	const struct cc_s3_pair *query;    /* raw names and values, any order */
	size_t nquery;
	const struct cc_s3_pair *headers;  /* every header to sign, host
					    * included; any case, any order */
	size_t nheaders;
	const char *payload_hash;          /* hex SHA-256 or UNSIGNED-PAYLOAD */
};

/* Who signs, where, when. */
struct cc_s3_scope {
	const char *access_key;
	const char *secret_key;            /* sensitive: never logged */
	const char *region;                /* "us-east-1" */
	const char *service;               /* "s3" */
	char amz_date[17];                 /* "20130524T000000Z" */
};

/* cc_store_s3_scope_time - fill scope->amz_date from t (UTC). */
void cc_store_s3_scope_time(struct cc_s3_scope *scope, time_t t);

/* cc_store_s3_canonical_query - the query of req in canonical form: names
 * and values UriEncoded (slashes too), sorted by name then value, joined
 * "a=1&b=" (an empty value keeps its '='). Returns a malloc'd string the
 * caller frees, or NULL when out of memory. */
char *cc_store_s3_canonical_query(const struct cc_s3_pair *query, size_t n);

/* cc_store_s3_sign - the SigV4 signature of req (lower-case hex) into sig,
 * and, when signed_headers is not NULL, the "host;x-amz-date" list into it
 * (signed_len bytes). 0, or -1 (out of memory, buffer too small, bad
 * amz_date) with err set. */
int cc_store_s3_sign(const struct cc_s3_request *req,
		     const struct cc_s3_scope *scope, char sig[CC_S3_SIG_HEX],
		     char *signed_headers, size_t signed_len,
		     struct cc_err *err);

/* cc_store_s3_authorization - the Authorization header value for req:
 * "AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=..., Signature=...". Into out; 0 or -1 with err set. */
int cc_store_s3_authorization(const struct cc_s3_request *req,
			      const struct cc_s3_scope *scope, char *out,
			      size_t out_len, struct cc_err *err);

/* cc_store_s3_presign - the query string that presigns a GET of `uri`
 * (canonical, already encoded) at `host` for `expires` seconds from
 * scope->amz_date: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...
 * &X-Amz-Date=...&X-Amz-Expires=...&X-Amz-SignedHeaders=host
 * &X-Amz-Signature=...". Into out; 0 or -1 with err set. */
int cc_store_s3_presign(const char *host, const char *uri,
			const struct cc_s3_scope *scope, long expires,
			char *out, size_t out_len, struct cc_err *err);

/* ---- ListObjectsV2 answers (for tests) ----------------------------------- */

struct cc_s3_list {
	char **keys;          /* decoded object keys, malloc'd */
	size_t nkeys;
	int truncated;        /* IsTruncated was true */
	char *next_token;     /* NextContinuationToken, or NULL */
};

/* cc_store_s3_list_parse - read a ListBucketResult: every Contents/Key
 * (XML entities and character references decoded, then percent-decoding
 * when the answer says EncodingType url), IsTruncated and
 * NextContinuationToken. Fills *out (free with cc_store_s3_list_cleanup,
 * also after a failure). 0, or -1 with err set (not a ListBucketResult,
 * bad entity, out of memory). */
int cc_store_s3_list_parse(const char *xml, size_t len, struct cc_s3_list *out,
			   struct cc_err *err);

void cc_store_s3_list_cleanup(struct cc_s3_list *list);

#endif
