/* store_fs.h - the filesystem backend of the asset store (see store.h):
 * files live under local_storage_path/ACTION/job_JOBID/unit_UNITID/ and
 * are named by file:// URLs. Callers go through store.h, which checks the
 * action name, the ids and the file name before calling here. */
#ifndef CC_STORE_FS_H
#define CC_STORE_FS_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

/* cc_store_fs_save - copy the regular file `path` to
 * local_storage_path/ACTION/job_JOBID/unit_UNITID/name, ACTION and the ids
 * from key, which the caller has checked (folders created as needed;
 * written under a temporary name, then renamed, so a reader never sees
 * half a file and a second save replaces the first whole). The URL
 * "file://" + absolute path, percent-escaped, goes into url. 0, or -1 with
 * err set and nothing left behind. */
int cc_store_fs_save(const struct cc_config *cfg,
		     const struct cc_store_key *key, const char *path,
		     const char *name, char *url, size_t url_len,
		     struct cc_err *err);

/* cc_store_fs_delete_job - remove local_storage_path/ACTION/job_JOBID
 * recursively, never following symbolic links. Missing is success. */
int cc_store_fs_delete_job(const struct cc_config *cfg, const char *action,
			   long long job_id, struct cc_err *err);

#endif
