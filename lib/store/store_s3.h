/* store_s3.h - the S3 backend of the asset store (see store.h): objects
 * ACTION/job_JOBID/unit_UNITID/NAME in cfg->s3_bucket, reached path-style
 * at cfg->s3_endpoint (default https://s3.amazonaws.com) in cfg->s3_region,
 * every request signed with AWS Signature Version 4 (sigv4.h), answers
 * read by s3_xml.h. Callers go through store.h, which checks the action
 * name, the ids and the file name first. */
#ifndef CC_STORE_S3_H
#define CC_STORE_S3_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

/* cc_store_s3_save - PUT the regular file `path` (streamed from disk, its
 * SHA-256 sent as x-amz-content-sha256, Content-Type from the extension)
 * as ACTION/job_JOBID/unit_UNITID/name (ACTION and ids from key; an
 * invalid action name or file name is refused). With s3_authentication off
 * the object is sent with x-amz-acl: public-read (dropped if the bucket
 * refuses ACLs) and url gets endpoint/bucket/key, percent-escaped; with it
 * on, url gets that URL presigned for GET, valid 24 hours. 0, or -1 with
 * err set ("S3 PUT ...: HTTP 403 SignatureDoesNotMatch: ..."); the secret
 * key never appears in messages. */
int cc_store_s3_save(const struct cc_config *cfg,
		     const struct cc_store_key *key, const char *path,
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

#endif
