/* fs.h - small filesystem helpers for folders we create and remove:
 * `mkdir -p`, and `rm -rf` that never follows a symbolic link (an action
 * can leave any link in its scratch folder; removing it must never reach
 * outside). Both used by the asset store and the node's worker. */
#ifndef CC_FS_H
#define CC_FS_H

#include <sys/types.h>
#include "core/err.h"

/* cc_fs_mkdirs - create path and every missing parent with mode (like
 * `mkdir -p`). An existing directory is success; an existing non-directory
 * is an error. Returns 0, or -1 with err set. */
int cc_fs_mkdirs(const char *path, mode_t mode, struct cc_err *err);

/* cc_fs_rmtree - remove path and, if it is a directory, everything under
 * it. Symbolic links are removed, never followed, at every level (the walk
 * uses openat with O_NOFOLLOW). A path that does not exist is success.
 * Returns 0, or -1 with err set (what could be removed is removed). */
int cc_fs_rmtree(const char *path, struct cc_err *err);

#endif
