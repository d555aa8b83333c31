/* fs.c - see fs.h. The tree removal walks with directory descriptors
 * (openat/unlinkat relative to the parent's fd) so that a link or rename
 * racing with the walk cannot redirect it to another part of the tree:
 * every step is resolved inside the directory already opened, and every
 * open uses O_NOFOLLOW. Depth is bounded so a hostile tree cannot exhaust
 * descriptors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fs.h"

#define MAX_DEPTH 128

int cc_fs_mkdirs(const char *path, mode_t mode, struct cc_err *err)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t n = strlen(path);

	if (n == 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "mkdir: empty path");
	if (n >= sizeof(buf))
		return cc_err_set(err, CC_ERR_INTERNAL, "mkdir %.100s...: path too long", path);
	/* Usually it is there already (a node's scratch parent, per unit). */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	memcpy(buf, path, n + 1);
	/* Create each prefix in turn; EEXIST is fine as long as it is a dir. */
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0) {
			int e = errno;
			if (e != EEXIST || stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
				return cc_err_set(err, CC_ERR_INTERNAL, "mkdir %s: %s", buf,
						  strerror(e == EEXIST ? ENOTDIR : e));
		}
		buf[i] = c;
	}
	return 0;
}

/* Remove everything inside the directory open as dfd (closed here). */
static int empty_dir(int dfd, const char *path, int depth, struct cc_err *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		int saved = errno;
		close(dfd);
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(saved));
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno) {
				ret = cc_err_set(err, CC_ERR_INTERNAL, "reading %s: %s", path,
						 strerror(errno));
			}
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				ret = cc_err_set(err, CC_ERR_INTERNAL, "%s/%s: %s", path, e->d_name,
						 strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			char sub[PATH_MAX];
			int fd;

			if (depth >= MAX_DEPTH) {
				ret = cc_err_set(err, CC_ERR_INTERNAL, "%s: nested deeper than %d",
						 path, MAX_DEPTH);
				continue;
			}
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				if (errno != ENOENT)
					ret = cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", sub, strerror(errno));
				continue;
			}
			if (empty_dir(fd, sub, depth + 1, err) < 0)
				ret = -1;
			if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 &&
			    errno != ENOENT)
				ret = cc_err_set(err, CC_ERR_INTERNAL, "rmdir %s: %s", sub, strerror(errno));
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
			ret = cc_err_set(err, CC_ERR_INTERNAL, "unlink %s/%s: %s", path, e->d_name,
					 strerror(errno));
		}
	}
	closedir(d);
	return ret;
}

int cc_fs_rmtree(const char *path, struct cc_err *err)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return cc_err_set(err, CC_ERR_INTERNAL, "unlink %s: %s", path, strerror(errno));
		return 0;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", path, strerror(errno));
	}
	ret = empty_dir(fd, path, 0, err);
	if (rmdir(path) < 0 && errno != ENOENT)
		ret = cc_err_set(err, CC_ERR_INTERNAL, "rmdir %s: %s", path, strerror(errno));
	return ret;
}
