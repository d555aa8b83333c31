/* test_action.c - the actions folder: name validation, which files count as
 * stages (executable regular files, symlinks to them; not plain files nor
 * folders), the sorted list minus disabled_actions, and the status -> stage
 * mapping. Each test builds its own actions folder under mkdtemp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pathf.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/action.h"
#include "model/status.h"
#include "core/fs.h"

struct fixture {
	char dir[PATH_MAX];          /* config folder; actions/ inside */
	struct cc_config cfg;
	struct cc_err err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_action.XXXXXX", path[PATH_MAX + 16];

	if (!f || !mkdtemp(tmpl) || !realpath(tmpl, f->dir))
		return -1;
	cc_config_defaults(&f->cfg, f->dir);
	PATHF(path, "%s/actions", f->dir);
	if (strcmp(f->cfg.actions_path, path) || mkdir(path, 0755))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_fs_rmtree(f->dir, NULL);
	free(f);
	return 0;
}

/* make actions/NAME/ (when needed) and a file STAGE with mode */
static void add_file(struct fixture *f, const char *name, const char *stage,
		     mode_t mode)
{
	char path[PATH_MAX * 2];
	int fd;

	PATHF(path, "%s/%s", f->cfg.actions_path, name);
	mkdir(path, 0755);
	PATHF(path, "%s/%s/%s", f->cfg.actions_path, name, stage);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	assert_int_equal(fchmod(fd, mode), 0);   /* not masked by umask */
	close(fd);
}

static void add_dir(struct fixture *f, const char *name, const char *stage)
{
	char path[PATH_MAX * 2];

	PATHF(path, "%s/%s", f->cfg.actions_path, name);
	mkdir(path, 0755);
	PATHF(path, "%s/%s/%s", f->cfg.actions_path, name, stage);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void add_symlink(struct fixture *f, const char *name, const char *stage,
			const char *target)
{
	char path[PATH_MAX * 2];

	PATHF(path, "%s/%s", f->cfg.actions_path, name);
	mkdir(path, 0755);
	PATHF(path, "%s/%s/%s", f->cfg.actions_path, name, stage);
	assert_int_equal(symlink(target, path), 0);
}

static char *list(struct fixture *f, int skip_disabled)
{
	char *s;

	cc_err_clear(&f->err);
	s = cc_action_list(&f->cfg, skip_disabled, &f->err);
	if (!s)
		fail_msg("cc_action_list failed: %s", f->err.msg);
	return s;
}

/* ---- names --------------------------------------------------------------- */

static void test_action_name_valid_accepts_lowercase_digits_underscore(void **state)
{
	char longest[CC_ACTION_NAME_MAX + 1];

	(void)state;
	assert_true(cc_action_name_valid("noop"));
	assert_true(cc_action_name_valid("word_count"));
	assert_true(cc_action_name_valid("a"));
	assert_true(cc_action_name_valid("_"));
	assert_true(cc_action_name_valid("0"));
	assert_true(cc_action_name_valid("graphics_magick2"));
	memset(longest, 'a', CC_ACTION_NAME_MAX);
	longest[CC_ACTION_NAME_MAX] = '\0';
	assert_true(cc_action_name_valid(longest));
}

static void test_action_name_valid_rejects_anything_else(void **state)
{
	static const char *const bad[] = {
		"", "../x", "..", ".", "A", "Noop", "a b", "a-b", "a.b", "a/b",
		"a\tb", "a\n", " a", "a ", "\xc3\xa9", "%2e%2e", "a;b",
	};
	char toolong[CC_ACTION_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cc_action_name_valid(bad[i]))
			fail_msg("'%s' was accepted", bad[i]);
	memset(toolong, 'a', CC_ACTION_NAME_MAX + 1);
	toolong[CC_ACTION_NAME_MAX + 1] = '\0';
	assert_int_equal(strlen(toolong), 65);
	assert_false(cc_action_name_valid(toolong));
	assert_false(cc_action_name_valid(NULL));
}

/* ---- stages -------------------------------------------------------------- */

static void test_action_stage_names(void **state)
{
	(void)state;
	assert_string_equal(cc_action_stage_name(CC_STAGE_SPLIT), "split");
	assert_string_equal(cc_action_stage_name(CC_STAGE_PROCESS), "process");
	assert_string_equal(cc_action_stage_name(CC_STAGE_MERGE), "merge");
}

static void test_action_stage_for_status_maps_split_merge_else_process(void **state)
{
	(void)state;
	assert_int_equal(cc_action_stage_for_status(CC_STATUS_SPLITTING), CC_STAGE_SPLIT);
	assert_int_equal(cc_action_stage_for_status(CC_STATUS_MERGING), CC_STAGE_MERGE);
	assert_int_equal(cc_action_stage_for_status(CC_STATUS_PROCESSING), CC_STAGE_PROCESS);
	assert_int_equal(cc_action_stage_for_status(4), CC_STAGE_SPLIT);
	assert_int_equal(cc_action_stage_for_status(5), CC_STAGE_MERGE);
	assert_int_equal(cc_action_stage_for_status(1), CC_STAGE_PROCESS);
	assert_int_equal(cc_action_stage_for_status(0), CC_STAGE_PROCESS);
	assert_int_equal(cc_action_stage_for_status(2), CC_STAGE_PROCESS);
	assert_int_equal(cc_action_stage_for_status(-1), CC_STAGE_PROCESS);
}

static void test_status_names_match_the_original(void **state)
{
	(void)state;
	assert_string_equal(cc_status_name(CC_STATUS_PROCESSING), "processing");
	assert_string_equal(cc_status_name(CC_STATUS_SUCCEEDED), "succeeded");
	assert_string_equal(cc_status_name(CC_STATUS_FAILED), "failed");
	assert_string_equal(cc_status_name(CC_STATUS_SPLITTING), "splitting");
	assert_string_equal(cc_status_name(CC_STATUS_MERGING), "merging");
	assert_string_equal(cc_status_name(0), "unknown");
	assert_string_equal(cc_status_name(6), "unknown");
	assert_string_equal(cc_status_name(-3), "unknown");
	assert_true(cc_status_complete(CC_STATUS_SUCCEEDED));
	assert_true(cc_status_complete(CC_STATUS_FAILED));
	assert_false(cc_status_complete(CC_STATUS_PROCESSING));
	assert_false(cc_status_complete(CC_STATUS_SPLITTING));
	assert_false(cc_status_complete(CC_STATUS_MERGING));
}

static void test_action_stage_path_is_actions_path_name_stage(void **state)
{
	struct fixture *f = *state;
	char got[PATH_MAX * 2], want[PATH_MAX * 2];

	cc_action_stage_path(&f->cfg, "word_count", CC_STAGE_MERGE, got, sizeof(got));
	PATHF(want, "%s/actions/word_count/merge", f->dir);
	assert_string_equal(got, want);
}

static void test_action_has_stage_needs_executable_regular_file(void **state)
{
	struct fixture *f = *state;

	add_file(f, "word_count", "process", 0755);
	add_file(f, "word_count", "merge", 0700);
	add_file(f, "word_count", "split", 0644);   /* not executable */
	assert_true(cc_action_exists(&f->cfg, "word_count"));
	assert_true(cc_action_has_stage(&f->cfg, "word_count", CC_STAGE_PROCESS));
	assert_true(cc_action_has_stage(&f->cfg, "word_count", CC_STAGE_MERGE));
	assert_false(cc_action_has_stage(&f->cfg, "word_count", CC_STAGE_SPLIT));
	assert_false(cc_action_exists(&f->cfg, "missing"));
}

static void test_action_has_stage_ignores_directories_named_like_stages(void **state)
{
	struct fixture *f = *state;

	add_dir(f, "folder", "process");
	add_file(f, "half", "process", 0755);
	add_dir(f, "half", "split");
	assert_false(cc_action_exists(&f->cfg, "folder"));
	assert_true(cc_action_exists(&f->cfg, "half"));
	assert_false(cc_action_has_stage(&f->cfg, "half", CC_STAGE_SPLIT));
}

static void test_action_without_process_does_not_exist(void **state)
{
	struct fixture *f = *state;

	add_file(f, "splitonly", "split", 0755);
	add_file(f, "splitonly", "merge", 0755);
	assert_false(cc_action_exists(&f->cfg, "splitonly"));
	assert_true(cc_action_has_stage(&f->cfg, "splitonly", CC_STAGE_SPLIT));
}

static void test_action_has_stage_follows_symlinks_to_executables(void **state)
{
	struct fixture *f = *state;
	char target[PATH_MAX * 2];
	int fd;

	PATHF(target, "%s/real_process", f->dir);
	fd = open(target, O_WRONLY | O_CREAT, 0755);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0755), 0);
	close(fd);
	add_symlink(f, "linked", "process", target);
	add_symlink(f, "dangling", "process", "/nonexistent/process");
	assert_true(cc_action_exists(&f->cfg, "linked"));
	assert_false(cc_action_exists(&f->cfg, "dangling"));
}

static void test_action_has_stage_refuses_invalid_names_even_if_files_exist(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	int fd;

	/* DIR/x/process exists and is executable: "../x" would reach it */
	PATHF(path, "%s/x", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	PATHF(path, "%s/x/process", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0755);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0755), 0);
	close(fd);
	assert_false(cc_action_exists(&f->cfg, "../x"));
	add_file(f, "Upper", "process", 0755);
	assert_false(cc_action_exists(&f->cfg, "Upper"));
	assert_false(cc_action_exists(&f->cfg, ""));
}

/* ---- listing --------------------------------------------------------------- */

static void build_tree(struct fixture *f)
{
	/* created out of order on purpose */
	add_file(f, "zeta", "process", 0755);
	add_file(f, "word_count", "process", 0755);
	add_file(f, "word_count", "merge", 0755);
	add_file(f, "alpha", "process", 0755);
	add_file(f, "noop", "process", 0755);
	add_file(f, "a_1", "process", 0755);
	add_file(f, "plain", "process", 0644);      /* not executable */
	add_dir(f, "folder", "process");            /* stage is a folder */
	add_file(f, "BadName", "process", 0755);    /* invalid name */
	add_file(f, "bad-name", "process", 0755);   /* invalid name */
	add_file(f, ".hidden", "process", 0755);
	add_file(f, "nostage", "split", 0755);      /* no process stage */
}

static void test_action_list_is_sorted_and_only_valid_actions(void **state)
{
	struct fixture *f = *state;
	char *s;

	build_tree(f);
	s = list(f, 0);
	assert_string_equal(s, "a_1,alpha,noop,word_count,zeta");
	free(s);
}

static void test_action_list_skips_disabled_only_when_asked(void **state)
{
	struct fixture *f = *state;
	char *s;

	build_tree(f);
	PATHF(f->cfg.disabled_actions, " noop, zeta ,missing");
	s = list(f, 1);
	assert_string_equal(s, "a_1,alpha,word_count");
	free(s);
	s = list(f, 0);
	assert_string_equal(s, "a_1,alpha,noop,word_count,zeta");
	free(s);
}

static void test_action_list_of_empty_folder_is_empty_string(void **state)
{
	struct fixture *f = *state;
	char *s;

	s = list(f, 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_action_list_with_every_action_disabled_is_empty(void **state)
{
	struct fixture *f = *state;
	char *s;

	add_file(f, "noop", "process", 0755);
	PATHF(f->cfg.disabled_actions, "noop");
	s = list(f, 1);
	assert_string_equal(s, "");
	free(s);
}

static void test_action_list_of_many_actions_grows(void **state)
{
	struct fixture *f = *state;
	char name[16], *s, *p;
	int count = 1;

	for (int i = 99; i >= 0; i--) {
		PATHF(name, "act_%02d", i);
		add_file(f, name, "process", 0755);
	}
	s = list(f, 0);
	for (p = s; *p; p++)
		count += *p == ',';
	assert_int_equal(count, 100);
	assert_int_equal(strncmp(s, "act_00,act_01,", 14), 0);
	assert_string_equal(s + strlen(s) - 6, "act_99");
	free(s);
}

static void test_action_list_of_missing_folder_fails_naming_it(void **state)
{
	struct fixture *f = *state;

	PATHF(f->cfg.actions_path, "%s/gone", f->dir);
	assert_null(cc_action_list(&f->cfg, 0, &f->err));
	assert_non_null(strstr(f->err.msg, f->cfg.actions_path));
	assert_int_equal(f->err.kind, CC_ERR_INTERNAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_name_valid_accepts_lowercase_digits_underscore),
		cmocka_unit_test(test_action_name_valid_rejects_anything_else),
		cmocka_unit_test(test_action_stage_names),
		cmocka_unit_test(test_action_stage_for_status_maps_split_merge_else_process),
		cmocka_unit_test(test_status_names_match_the_original),
		T(test_action_stage_path_is_actions_path_name_stage),
		T(test_action_has_stage_needs_executable_regular_file),
		T(test_action_has_stage_ignores_directories_named_like_stages),
		T(test_action_without_process_does_not_exist),
		T(test_action_has_stage_follows_symlinks_to_executables),
		T(test_action_has_stage_refuses_invalid_names_even_if_files_exist),
		T(test_action_list_is_sorted_and_only_valid_actions),
		T(test_action_list_skips_disabled_only_when_asked),
		T(test_action_list_of_many_actions_grows),
		T(test_action_list_of_missing_folder_fails_naming_it),
		/* last: under UBSan these abort the run until action.c stops
		 * calling qsort(NULL, 0, ...) */
		T(test_action_list_of_empty_folder_is_empty_string),
		T(test_action_list_with_every_action_disabled_is_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
