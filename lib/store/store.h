/* store.h - the asset store: where actions' files go. Front for the
 * backends store_fs.c (filesystem: local_storage_path, file:// URLs) and
 * store_s3.c (S3 with AWS Signature V4), chosen by cfg->storage.
 * Layout in both: ACTION/job_JOBID/unit_UNITID/FILENAME. */
#ifndef CC_STORE_H
#define CC_STORE_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

/* cc_store_save - store the local file `path` as
 * ACTION/job_JOBID/unit_UNITID/basename(path); its URL goes into url
 * (url_len bytes). 0 or -1 with err set. The action name must be valid and
 * the basename must not be "", "." or ".." (no path tricks). */
int cc_store_save(const struct cc_config *cfg, const char *action,
		  long long job_id, long long unit_id, const char *path,
		  char *url, size_t url_len, struct cc_err *err);

/* cc_store_delete_job - remove everything stored for ACTION/job_JOBID/.
 * Removing what is not there is success. */
int cc_store_delete_job(const struct cc_config *cfg, const char *action,
			long long job_id, struct cc_err *err);

#endif
