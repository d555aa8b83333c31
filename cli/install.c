/* install.c - `crowd install DIR`: a config folder with a documented
 * crowd.conf (every key, its help and default, as comments; --set keys as
 * live settings) and a copy of the shipped actions: the scripts of the
 * source tree's actions/ and the compiled stages (actions/NAME/STAGE.c)
 * from the build. An action whose folder holds a file `test-only` (the
 * test suite's: always_fail, slow_noop, ...) is copied only with
 * --with-test-actions: a production folder gets the real ones. Everything is checked before anything is written, so a
 * failed install leaves no half-made folder; files are written to a temp
 * name and renamed. An existing file is kept unless --force. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "model/action.h"
#include "cli.h"
#include "confdoc.h"
#include "core/log.h"

#define MAX_DEPTH 16

struct counts {
	int files, kept, actions;
};

static const char *const stages[] = { "split", "process", "merge" };

#define TEST_ONLY "test-only"        /* the marker of a test action */

/* Is src/name a test action? */
static int test_only(const char *src, const char *name)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/%s/" TEST_ONLY, src, name);

	return n > 0 && (size_t)n < sizeof(p) && access(p, F_OK) == 0;
}

/* Source files that are not part of an installed action. */
static int skipped(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] == '.' || (dot && (!strcmp(dot, ".c") || !strcmp(dot, ".h") ||
					  !strcmp(dot, ".o") || !strcmp(dot, ".d")));
}

/* The folder of compiled stages: beside our own build (bin/../actions),
 * else the release build of the source tree. */
static void build_actions_dir(char *out, size_t n)
{
	char exe[PATH_MAX], cand[PATH_MAX + 16];
	struct stat st;
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (l > 0) {
		exe[l] = '\0';
		snprintf(cand, sizeof(cand), "%s/../actions", dirname(exe));
		if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode) && realpath(cand, out))
			return;
	}
	snprintf(out, n, "%s/build/release/actions", CC_SOURCE_DIR);
}

static int write_file(const char *path, const char *data, size_t len,
		      mode_t mode, struct cc_err *err)
{
	char tmp[PATH_MAX + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
	fchmod(fd, mode);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return cc_err_set(err, CC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(e));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

/* Copy src (followed if a link) to dst with src's permission bits. */
static int copy_file(const char *src, const char *dst, int force,
		     struct counts *cnt, struct cc_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, rc;

	if (!force && lstat(dst, &st) == 0) {
		cnt->kept++;
		return 0;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot read %s: %s", src, strerror(e));
	}
	data = malloc((size_t)st.st_size + 1);
	while (data && got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!data || got != (size_t)st.st_size) {
		free(data);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot read %s", src);
	}
	rc = write_file(dst, data, got, st.st_mode & 0777, err);
	free(data);
	if (rc == 0)
		cnt->files++;
	return rc;
}

/* Copy the folder src into dst (created), recursively, minus skipped(). */
static int copy_tree(const char *src, const char *dst, int force, int depth,
		     struct counts *cnt, struct cc_err *err)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: folders nested too deep", src);
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return cc_err_set(err, CC_ERR_INTERNAL, "mkdir %s: %s", dst, strerror(errno));
	d = opendir(src);
	if (!d)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot read %s: %s", src, strerror(errno));
	while (rc == 0 && (e = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    skipped(e->d_name))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, e->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, e->d_name);
		if (stat(s, &st) < 0)
			continue;               /* a dangling link: nothing to copy */
		if (S_ISDIR(st.st_mode))
			rc = copy_tree(s, t, force, depth + 1, cnt, err);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(s, t, force, cnt, err);
	}
	closedir(d);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The shipped actions: sorted names of src's folders that are valid
 * action names, test actions only when tests is set (*skipped counts the
 * others). New array of new strings (free both); *n the count. */
static char **list_actions(const char *src, int tests, size_t *n, int *skipped,
			   struct cc_err *err)
{
	DIR *d = opendir(src);
	struct dirent *e;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	*skipped = 0;
	if (!d) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot read the shipped actions in %s: %s", src,
			   strerror(errno));
		return NULL;
	}
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;
		int len;

		if (!cc_action_name_valid(e->d_name))
			continue;
		len = snprintf(p, sizeof(p), "%s/%s", src, e->d_name);
		if (len < 0 || (size_t)len >= sizeof(p)) {
			cc_err_set(err, CC_ERR_INTERNAL, "%s/%s: path too long", src,
				   e->d_name);
			goto fail;
		}
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!tests && test_only(src, e->d_name)) {
			(*skipped)++;
			continue;
		}
		if (*n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (!nn)
				goto oom;
			names = nn;
		}
		if (!(names[*n] = strdup(e->d_name)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), by_name);
	else
		names = calloc(1, sizeof(*names));
	return names;
oom:
	cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
fail:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(names[i]);
	free(names);
	return NULL;
}

static char *header_text(const char *dir)
{
	char day[32], *text = NULL;
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (asprintf(&text,
		     "crowd.conf - the CloudCrowd-C settings of this machine\n"
		     "(written by `crowd install` on %s).\n"
		     "\n"
		     "INI: `key = value`; lines starting with # or ; are comments. "
		     "Every key is\n"
		     "listed below with what it does, commented out with its "
		     "default: uncomment\n"
		     "a line to change it. Relative paths are relative to this "
		     "folder:\n"
		     "%s\n"
		     "Every program reads this file: crowd-server, ccdistribute, "
		     "crowd-node, crowd.\n"
		     "Deploy the same folder (this file and actions/) to every "
		     "machine. Set at\n"
		     "least central_server and the [database] section, then run:\n"
		     "  crowd -c %s load_schema",
		     day, dir, dir) < 0)
		return NULL;
	return text;
}

/* Is key ("central_server", or "database." for any key of [database])
 * among the --set ones? */
static int was_set(const struct cli *c, const char *key)
{
	size_t len = strlen(key);

	for (int i = 0; i < c->nsets; i++)
		if (!strncmp(c->sets[i], key, len) &&
		    (key[len - 1] == '.' || c->sets[i][len] == '='))
			return 1;
	return 0;
}

/* What is left to do: set what --set did not give, then load the schema. */
static void next_step(const struct cli *c, int kept, const char *conf,
		      const char *dir)
{
	int server = was_set(c, "central_server"), db = was_set(c, "database.");

	if (kept || (server && db))
		cc_info("next: crowd -c %s load_schema%s", dir, kept ? " (once "
			"central_server and [database] are set in crowd.conf)" : "");
	else
		cc_info("next: set %s%s%s in %s, then run: crowd -c %s load_schema",
			server ? "" : "central_server", server || db ? "" : " and ",
			db ? "" : "[database]", conf, dir);
}

int cli_cmd_install(struct cli *c, int argc, char **argv)
{
	struct cc_err err = { 0 };
	struct cli_confkey *keys = NULL;
	struct counts cnt = { 0 };
	struct cc_config *check = NULL;
	char **names = NULL;
	char dir[PATH_MAX], conf[PATH_MAX + 16], src[PATH_MAX], build[PATH_MAX];
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	char *text = NULL, *header = NULL;
	size_t nkeys = 0, nnames = 0;
	struct stat st;
	int rc = CC_EXIT_FAILED, conf_exists, n, ntests = 0;

	if (argc != 1)
		return cli_usage("install takes one folder: crowd install DIR");
	if (!*argv[0])
		return cli_usage("install: the folder name is empty");
	if (argv[0][0] == '/')
		n = snprintf(dir, sizeof(dir), "%s", argv[0]);
	else if (getcwd(p, sizeof(p)))
		n = snprintf(dir, sizeof(dir), "%s/%s", p, argv[0]);
	else
		return cli_fail(CC_EXIT_FAILED, "getcwd: %s", strerror(errno));
	if (n < 0 || (size_t)n >= sizeof(dir))
		return cli_usage("install: the folder's path is longer than %zu "
				 "characters", sizeof(dir) - 1);
	for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/';)
		dir[--l] = '\0';
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return cli_fail(CC_EXIT_FAILED, "install: %s exists and is not a folder", dir);
	snprintf(conf, sizeof(conf), "%s/crowd.conf", dir);
	conf_exists = lstat(conf, &st) == 0;
	if (conf_exists && c->nsets && !c->force)
		return cli_fail(CC_EXIT_FAILED, "install: %s exists; --set would not apply. "
				"Edit it, or add --force to replace it (its current "
				"settings are lost)", conf);

	/* 1. everything that can fail before anything is written */
	snprintf(src, sizeof(src), "%s/actions", CC_SOURCE_DIR);
	build_actions_dir(build, sizeof(build));
	if (!(names = list_actions(src, c->with_test_actions, &nnames, &ntests, &err))) {
		cli_fail(CC_EXIT_FAILED, "install: %s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < nnames; i++)
		for (size_t s = 0; s < 3; s++) {
			snprintf(p, sizeof(p), "%s/%s/%s.c", src, names[i], stages[s]);
			snprintf(q, sizeof(q), "%s/%s/%s", build, names[i], stages[s]);
			if (access(p, F_OK) == 0 && access(q, X_OK) != 0) {
				cli_fail(CC_EXIT_FAILED, "install: actions/%s/%s.c is not built "
					 "(%s is missing): run make first", names[i],
					 stages[s], q);
				goto out;
			}
		}
	if (cli_confdoc_keys(&keys, &nkeys, &err) < 0 ||
	    !(header = header_text(dir))) {
		cli_fail(CC_EXIT_FAILED, "install: %s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	text = cli_confdoc_render(keys, nkeys, (const char *const *)c->sets,
				  (size_t)c->nsets, header, &err);
	if (!text) {
		rc = err.kind == CC_ERR_BAD_REQUEST ? cli_usage("install: %s", err.msg) :
				     cli_fail(CC_EXIT_FAILED, "install: %s", err.msg);
		goto out;
	}
	check = malloc(sizeof(*check));
	if (!check) {
		cli_fail(CC_EXIT_FAILED, "out of memory");
		goto out;
	}
	if (cc_config_load_string(check, dir, text, conf, &err) < 0) {
		rc = cli_fail(CC_EXIT_CONFIG, "install: the settings given make an invalid "
			      "config: %s", err.msg);
		goto out;
	}

	/* 2. the folder, crowd.conf, the actions */
	if (cli_mkdir(dir, CC_EXIT_FAILED) != CC_EXIT_OK)
		goto out;
	if (conf_exists && !c->force) {
		cc_info("kept the existing %s (--force replaces it)", conf);
	} else {
		if (write_file(conf, text, strlen(text), 0600, &err) < 0) {
			cli_fail(CC_EXIT_FAILED, "install: %s", err.msg);
			goto out;
		}
		cc_info("wrote %s: %zu keys documented with their defaults%s", conf,
			nkeys, c->nsets ? ", --set keys set" : "");
	}
	snprintf(p, sizeof(p), "%s/actions", dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		cli_fail(CC_EXIT_FAILED, "install: mkdir %s: %s", p, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		snprintf(p, sizeof(p), "%s/%s", src, names[i]);
		snprintf(q, sizeof(q), "%s/actions/%s", dir, names[i]);
		if (copy_tree(p, q, c->force, 0, &cnt, &err) < 0) {
			cli_fail(CC_EXIT_FAILED, "install: %s", err.msg);
			goto out;
		}
		for (size_t s = 0; s < 3; s++) {
			char b[PATH_MAX * 2], t[PATH_MAX * 2 + 16];
			snprintf(b, sizeof(b), "%s/%s/%s", build, names[i], stages[s]);
			snprintf(t, sizeof(t), "%s/%s", q, stages[s]);
			snprintf(p, sizeof(p), "%s/%s/%s.c", src, names[i], stages[s]);
			if (access(p, F_OK) == 0 && copy_file(b, t, c->force, &cnt, &err) < 0) {
				cli_fail(CC_EXIT_FAILED, "install: %s", err.msg);
				goto out;
			}
		}
		cnt.actions++;
	}
	cc_info("installed %d actions into %s/actions (%d files copied, %d existing "
		"kept%s)", cnt.actions, dir, cnt.files, cnt.kept,
		cnt.kept && !c->force ? "; --force replaces them" : "");
	if (ntests)
		cc_info("left out %d test action%s (--with-test-actions copies them)",
			ntests, ntests == 1 ? "" : "s");
	next_step(c, conf_exists && !c->force, conf, dir);
	rc = CC_EXIT_OK;
out:
	for (size_t i = 0; names && i < nnames; i++)
		free(names[i]);
	free(names);
	free(keys);
	free(text);
	free(header);
	free(check);
	return rc;
}
