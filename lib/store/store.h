/* store.h - the asset store: where actions' files go. Front for the
 * backends store_fs.c (filesystem: local_storage_path, file:// URLs) and
 * store_s3.c (S3 with AWS Signature V4), chosen by cfg->storage.
 * Layout in both: ACTION/job_JOBID/unit_UNITID/FILENAME. */
#ifndef CC_STORE_H
#define CC_STORE_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

/* struct cc_store_key - where a unit's files go: the folder
 * ACTION/job_JOBID/unit_UNITID/. Filled by the caller (usually from
 * CROWD_ACTION, CROWD_JOB_ID and CROWD_WORK_UNIT_ID); the store only reads
 * it and keeps no pointer into it. */
struct cc_store_key {
	const char *action;	/* [a-z0-9_]+ (cc_action_name_valid); borrowed */
	long long job_id;	/* > 0 */
	long long unit_id;	/* > 0 */
};

/* cc_store_save - store the local file `path` as
 * ACTION/job_JOBID/unit_UNITID/basename(path), the folder named by key;
 * its URL goes into url (url_len bytes). 0 or -1 with err set. The key's
 * action name must be valid and its ids positive (a NULL key is refused
 * too), and the basename must not be "", "." or ".." (no path tricks). */
int cc_store_save(const struct cc_config *cfg, const struct cc_store_key *key,
		  const char *path, char *url, size_t url_len,
		  struct cc_err *err);

/* cc_store_delete_job - remove everything stored for ACTION/job_JOBID/.
 * Removing what is not there is success. */
int cc_store_delete_job(const struct cc_config *cfg, const char *action,
			long long job_id, struct cc_err *err);

#endif
