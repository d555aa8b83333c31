/* test_store_fs.c - the filesystem asset store (store.c front + store_fs.c)
 * and the tree helpers of fs.c it relies on. Each test gets its own mkdtemp
 * folder as local_storage_path, removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pathf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/fs.h"
#include "store/store.h"

/* KEY(ACTION, JOB, UNIT) - a storage key for one call (a compound literal,
 * alive until the end of the enclosing block). */
#define KEY(action, job, unit) \
	(&(const struct cc_store_key){ (action), (job), (unit) })

struct fixture {
	char root[PATH_MAX];          /* the test's folder */
	struct cc_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	PATHF(f->root, "%s/store-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	cc_config_defaults(&f->cfg, f->root);
	PATHF(f->cfg.local_storage_path, "%s/storage", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_fs_rmtree(f->root, NULL);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_store_save_copies_file_and_returns_file_url(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], dst[PATH_MAX], url[PATH_MAX * 3], want[PATH_MAX * 3];

	PATHF(src, "%s/result.txt", f->root);
	write_file(src, "forty-two\n");
	assert_int_equal(cc_store_save(&f->cfg, KEY("word_count", 7, 12), src,
				       url, sizeof(url), &err), 0);
	PATHF(dst, "%s/storage/word_count/job_7/unit_12/result.txt",
		 f->root);
	assert_string_equal(read_file(dst), "forty-two\n");
	PATHF(want, "file://%s", dst);
	assert_string_equal(url, want);
	/* the source is untouched */
	assert_string_equal(read_file(src), "forty-two\n");
}

static void test_store_save_replaces_whole_file_and_leaves_no_temp(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], dst[PATH_MAX], url[PATH_MAX * 3], dir[PATH_MAX];

	PATHF(src, "%s/a.txt", f->root);
	write_file(src, "first");
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 2), src, url,
				       sizeof(url), &err), 0);
	write_file(src, "second, longer");
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 2), src, url,
				       sizeof(url), &err), 0);
	PATHF(dst, "%s/storage/noop/job_1/unit_2/a.txt", f->root);
	assert_string_equal(read_file(dst), "second, longer");
	/* only a.txt in the unit folder: no temporary file left */
	PATHF(dir, "%s/storage/noop/job_1/unit_2", f->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_store_save_escapes_url(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], url[PATH_MAX * 3];

	PATHF(src, "%s/my file#1%%.txt", f->root);
	write_file(src, "x");
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 3, 4), src, url,
				       sizeof(url), &err), 0);
	assert_non_null(strstr(url, "/storage/noop/job_3/unit_4/my%20file%231%25.txt"));
	assert_null(strchr(url, ' '));
}

static void test_store_save_relative_storage_path_gives_absolute_url(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char url[PATH_MAX * 3], cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->root), 0);
	PATHF(f->cfg.local_storage_path, "rel/store");
	write_file("in.txt", "rel");
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 5, 6), "in.txt",
				       url, sizeof(url), &err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_true(!strncmp(url, "file:///", 8));
	assert_non_null(strstr(url, "/rel/store/noop/job_5/unit_6/in.txt"));
}

static void test_store_save_refuses_path_tricks(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], dir_src[PATH_MAX], url[1024];
	const char *bad_actions[] = { "", "../x", "a/b", "Noop", "no op", "..", NULL };

	PATHF(src, "%s/ok.txt", f->root);
	write_file(src, "x");
	for (int i = 0; bad_actions[i]; i++) {
		assert_int_equal(cc_store_save(&f->cfg, KEY(bad_actions[i], 1, 1),
					       src, url, sizeof(url), &err), -1);
		assert_non_null(strstr(err.msg, "invalid action name"));
	}
	assert_int_equal(cc_store_save(&f->cfg, KEY(NULL, 1, 1), src, url,
				       sizeof(url), &err), -1);
	/* no key at all */
	assert_int_equal(cc_store_save(&f->cfg, NULL, src, url, sizeof(url),
				       &err), -1);
	assert_non_null(strstr(err.msg, "no storage key"));
	/* basenames "", ".", ".." */
	PATHF(dir_src, "%s/", f->root);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), dir_src, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "not a file name"));
	PATHF(dir_src, "%s/.", f->root);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), dir_src, url,
				       sizeof(url), &err), -1);
	PATHF(dir_src, "%s/..", f->root);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), dir_src, url,
				       sizeof(url), &err), -1);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), "", url,
				       sizeof(url), &err), -1);
	/* ids */
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 0, 1), src, url,
				       sizeof(url), &err), -1);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, -3), src, url,
				       sizeof(url), &err), -1);
	/* a directory is not a file */
	PATHF(dir_src, "%s/adir", f->root);
	assert_int_equal(mkdir(dir_src, 0755), 0);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), dir_src, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* nothing was created for any of them */
	PATHF(dir_src, "%s/storage", f->root);
	assert_false(exists(dir_src));
}

static void test_store_save_missing_file_fails_clearly(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], url[1024];

	PATHF(src, "%s/nope.txt", f->root);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 1), src, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_non_null(strstr(err.msg, "nope.txt"));
}

static void test_store_delete_job_removes_tree_without_following_links(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char src[PATH_MAX], url[PATH_MAX * 3], outside[PATH_MAX], p[PATH_MAX * 2];

	PATHF(src, "%s/r.txt", f->root);
	write_file(src, "r");
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 9, 1), src, url,
				       sizeof(url), &err), 0);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 9, 2), src, url,
				       sizeof(url), &err), 0);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 10, 1), src, url,
				       sizeof(url), &err), 0);
	/* A folder outside the store, linked from inside the job's folder,
	 * both as a directory link and as a file link. */
	PATHF(outside, "%s/outside", f->root);
	assert_int_equal(mkdir(outside, 0755), 0);
	PATHF(p, "%s/keep.txt", outside);
	write_file(p, "keep");
	PATHF(p, "%s/storage/noop/job_9/unit_1/dirlink", f->root);
	assert_int_equal(symlink(outside, p), 0);
	PATHF(p, "%s/storage/noop/job_9/filelink", f->root);
	assert_int_equal(symlink(src, p), 0);
	/* deep nesting and an unreadable-name file */
	PATHF(p, "%s/storage/noop/job_9/unit_2/a/b/c/d", f->root);
	assert_int_equal(cc_fs_mkdirs(p, 0755, &err), 0);

	assert_int_equal(cc_store_delete_job(&f->cfg, "noop", 9, &err), 0);
	PATHF(p, "%s/storage/noop/job_9", f->root);
	assert_false(exists(p));
	PATHF(p, "%s/keep.txt", outside);
	assert_string_equal(read_file(p), "keep");
	assert_string_equal(read_file(src), "r");
	/* the other job stays */
	PATHF(p, "%s/storage/noop/job_10/unit_1/r.txt", f->root);
	assert_true(exists(p));
	/* deleting what is not there is success */
	assert_int_equal(cc_store_delete_job(&f->cfg, "noop", 9, &err), 0);
	assert_int_equal(cc_store_delete_job(&f->cfg, "other", 1, &err), 0);
	assert_int_equal(cc_store_delete_job(&f->cfg, "../etc", 1, &err), -1);
}

static void test_fs_rmtree_of_a_link_removes_only_the_link(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], link[PATH_MAX], file[PATH_MAX * 2];

	PATHF(dir, "%s/target", f->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	PATHF(file, "%s/f", dir);
	write_file(file, "f");
	PATHF(link, "%s/link", f->root);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(cc_fs_rmtree(link, NULL), 0);
	assert_false(exists(link));
	assert_true(exists(file));
}

static void test_fs_mkdirs_refuses_a_file_in_the_way(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char file[PATH_MAX], sub[PATH_MAX * 2];

	PATHF(file, "%s/plain", f->root);
	write_file(file, "x");
	PATHF(sub, "%s/below", file);
	assert_int_equal(cc_fs_mkdirs(sub, 0755, &err), -1);
	assert_int_equal(cc_fs_mkdirs(file, 0755, &err), -1);
	PATHF(sub, "%s//x//y/", f->root);
	assert_int_equal(cc_fs_mkdirs(sub, 0755, &err), 0);
	assert_int_equal(cc_fs_mkdirs(sub, 0755, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_store_save_copies_file_and_returns_file_url),
		T(test_store_save_replaces_whole_file_and_leaves_no_temp),
		T(test_store_save_escapes_url),
		T(test_store_save_relative_storage_path_gives_absolute_url),
		T(test_store_save_refuses_path_tricks),
		T(test_store_save_missing_file_fails_clearly),
		T(test_store_delete_job_removes_tree_without_following_links),
		T(test_fs_rmtree_of_a_link_removes_only_the_link),
		T(test_fs_mkdirs_refuses_a_file_in_the_way),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
