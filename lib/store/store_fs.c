/* store_fs.c - the filesystem asset store (see store_fs.h). A save copies
 * into a temporary file in the destination folder and renames it over the
 * final name, so concurrent readers see the old file or the new one, never
 * a torn one. URLs are file:// plus the absolute path with everything but
 * unreserved characters and '/' percent-escaped (RFC 3986), which libcurl
 * turns back into the path when a worker downloads it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fs.h"
#include "store/store_fs.h"

static unsigned tmp_counter;

static int job_dir(const struct cc_config *cfg, const char *action,
		   long long job_id, char *out, size_t len, struct cc_err *err)
{
	int n = snprintf(out, len, "%s/%s/job_%lld", cfg->local_storage_path,
			 action, job_id);

	if (n < 0 || (size_t)n >= len)
		return cc_err_set(err, CC_ERR_INTERNAL, "local_storage_path is too long");
	return 0;
}

static int url_of(const char *abs_dir, const char *name, char *url,
		  size_t url_len, struct cc_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *parts[3] = { abs_dir, "/", name };
	size_t o = 0;

	if (url_len < 8)
		return cc_err_set(err, CC_ERR_INTERNAL, "URL buffer too small");
	memcpy(url, "file://", 7);
	o = 7;
	for (int p = 0; p < 3; p++) {
		for (const unsigned char *s = (const unsigned char *)parts[p]; *s; s++) {
			int plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
				    *s == '_' || *s == '~' || *s == '/';
			if (o + (plain ? 1 : 3) >= url_len)
				return cc_err_set(err, CC_ERR_INTERNAL, "URL of %s is too long", name);
			if (plain) {
				url[o++] = (char)*s;
			} else {
				url[o++] = '%';
				url[o++] = hex[*s >> 4];
				url[o++] = hex[*s & 15];
			}
		}
	}
	url[o] = '\0';
	return 0;
}

static int copy_fd(int in, int out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
		    errno != EOPNOTSUPP && errno != EBADF)
			return -1;
		break;      /* not supported here: plain read/write */
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			off += w;
		}
	}
}

int cc_store_fs_save(const struct cc_config *cfg,
		     const struct cc_store_key *key, const char *path,
		     const char *name, char *url, size_t url_len,
		     struct cc_err *err)
{
	char dir[PATH_MAX], abs_dir[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
	int in = -1, out = -1, ret = -1;
	struct stat st;
	int n;

	tmp[0] = '\0';
	if (job_dir(cfg, key->action, key->job_id, dir, sizeof(dir), err) < 0)
		return -1;
	n = snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/unit_%lld",
		     key->unit_id);
	if (n < 0 || (size_t)n >= sizeof(dir) - strlen(dir))
		return cc_err_set(err, CC_ERR_INTERNAL, "local_storage_path is too long");

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot save %s: not a regular file", path);
		goto out;
	}
	if (cc_fs_mkdirs(dir, 0755, err) < 0)
		goto out;
	if (!realpath(dir, abs_dir)) {
		cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	n = snprintf(dst, sizeof(dst), "%s/%s", abs_dir, name);
	if (n < 0 || (size_t)n >= sizeof(dst)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "file name %.100s is too long", name);
		goto out;
	}
	/* A short fixed-shape temporary name: the real name may be up to
	 * NAME_MAX already. Pid and counter make it unique per saver. */
	n = snprintf(tmp, sizeof(tmp), "%s/.crowd-save.%d.%u.tmp", abs_dir,
		     (int)getpid(), __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED));
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		tmp[0] = '\0';
		cc_err_set(err, CC_ERR_INTERNAL, "%s: path too long for a temporary file",
			   abs_dir);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (copy_fd(in, out) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "copying %s to %s: %s", path, dir, strerror(errno));
		goto out;
	}
	if (close(out) < 0) {
		out = -1;
		cc_err_set(err, CC_ERR_INTERNAL, "writing %s: %s", tmp, strerror(errno));
		goto out;
	}
	out = -1;
	if (url_of(abs_dir, name, url, url_len, err) < 0)
		goto out;
	if (rename(tmp, dst) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "rename to %s: %s", dst, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (tmp[0])
		unlink(tmp);
	return ret;
}

int cc_store_fs_delete_job(const struct cc_config *cfg, const char *action,
			   long long job_id, struct cc_err *err)
{
	char dir[PATH_MAX];

	if (job_dir(cfg, action, job_id, dir, sizeof(dir), err) < 0)
		return -1;
	return cc_fs_rmtree(dir, err);
}
