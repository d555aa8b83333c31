/* test_log.c - log lines written through cc_log_open: "ISO-8601 UTC time
 * with milliseconds, program[pid] level: message" (plus " (file:line)" for
 * warnings and errors), level filtering without evaluating arguments,
 * errno left as it was, and whole lines from concurrent writers. Each test
 * logs into a file in its own mkdtemp folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/fs.h"

#define PROG "test_log"

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];     /* dir/test.log */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_log.XXXXXX";

	if (!f || !mkdtemp(tmpl))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	snprintf(f->path, sizeof(f->path), "%s/test.log", f->dir);
	cc_log_init(PROG);
	cc_log_min_level = CC_LOG_INFO;
	if (cc_log_open(f->path) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_log_min_level = CC_LOG_INFO;
	cc_fs_rmtree(f->dir, NULL);
	free(f);
	return 0;
}

/* the whole log file, NUL-terminated (caller frees) */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define LINE_RE "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})" \
		"\\.[0-9]{3}Z ([a-z_]+)\\[([0-9]+)\\] (debug|info|warn|error): "

/* match one line against LINE_RE + rest; return the parsed time */
static time_t check_line(const char *line, const char *level, pid_t pid,
			 const char *rest_re)
{
	char re_text[1024], buf[64];
	regex_t re;
	regmatch_t m[5];
	struct tm tm;

	snprintf(re_text, sizeof(re_text), "%s%s$", LINE_RE, rest_re);
	assert_int_equal(regcomp(&re, re_text, REG_EXTENDED), 0);
	if (regexec(&re, line, 5, m, 0)) {
		regfree(&re);
		fail_msg("log line '%s' does not match /%s/", line, re_text);
	}
	regfree(&re);
	snprintf(buf, sizeof(buf), "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
		 line + m[2].rm_so);
	assert_string_equal(buf, PROG);
	snprintf(buf, sizeof(buf), "%.*s", (int)(m[3].rm_eo - m[3].rm_so),
		 line + m[3].rm_so);
	assert_int_equal(atol(buf), (long)pid);
	snprintf(buf, sizeof(buf), "%.*s", (int)(m[4].rm_eo - m[4].rm_so),
		 line + m[4].rm_so);
	assert_string_equal(buf, level);
	snprintf(buf, sizeof(buf), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
		 line + m[1].rm_so);
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm));
	return timegm(&tm);
}

static void test_log_line_has_utc_timestamp_program_pid_level(void **state)
{
	struct fixture *f = *state;
	time_t before = time(NULL), at;
	char *s, *nl;

	cc_info("unit %d of job %s started", 42, "7");
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), 1);
	nl = strchr(s, '\n');
	assert_non_null(nl);
	assert_null(strchr(s, '\r'));
	*nl = '\0';
	at = check_line(s, "info", getpid(), "unit 42 of job 7 started");
	/* UTC, not local time: within a few seconds of now */
	assert_true(at >= before - 2 && at <= time(NULL) + 2);
	free(s);
}

static void test_log_warn_and_error_add_file_and_line(void **state)
{
	struct fixture *f = *state;
	char *s, *second, rest[128];
	int line_warn, line_error;

	cc_warn("disk %s", "low"); line_warn = __LINE__;
	cc_error("gone"); line_error = __LINE__;
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), 2);
	second = strchr(s, '\n');
	*second++ = '\0';
	second[strlen(second) - 1] = '\0';
	snprintf(rest, sizeof(rest), "disk low \\(tests/unit/test_log\\.c:%d\\)",
		 line_warn);
	check_line(s, "warn", getpid(), rest);
	snprintf(rest, sizeof(rest), "gone \\(tests/unit/test_log\\.c:%d\\)",
		 line_error);
	check_line(second, "error", getpid(), rest);
	free(s);
}

static void test_log_info_and_debug_have_no_file_and_line(void **state)
{
	struct fixture *f = *state;
	char *s;

	cc_log_min_level = CC_LOG_DEBUG;
	cc_debug("d");
	cc_info("i");
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), 2);
	assert_null(strstr(s, "test_log.c"));
	assert_non_null(strstr(s, "] debug: d\n"));
	assert_non_null(strstr(s, "] info: i\n"));
	free(s);
}

static int evaluated;

static int side_effect(void)
{
	evaluated++;
	return 1;
}

static void test_log_level_filters_lower_levels(void **state)
{
	struct fixture *f = *state;
	char *s;

	assert_int_equal(cc_log_set_level("warn"), 0);
	assert_int_equal(cc_log_min_level, CC_LOG_WARN);
	evaluated = 0;
	cc_debug("hidden debug %d", side_effect());
	cc_info("hidden info %d", side_effect());
	cc_warn("shown warn");
	cc_error("shown error");
	assert_int_equal(evaluated, 0);   /* arguments below the level not evaluated */
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), 2);
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "warn: shown warn"));
	assert_non_null(strstr(s, "error: shown error"));
	free(s);

	assert_int_equal(cc_log_set_level("error"), 0);
	cc_warn("hidden warn");
	assert_int_equal(cc_log_set_level("debug"), 0);
	cc_debug("shown debug %d", side_effect());
	assert_int_equal(evaluated, 1);
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), 3);
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "debug: shown debug 1"));
	free(s);
}

static void test_log_set_level_rejects_unknown_names(void **state)
{
	(void)state;
	assert_int_equal(cc_log_set_level("warn"), 0);
	assert_int_equal(cc_log_set_level("verbose"), -1);
	assert_int_equal(cc_log_set_level("WARN"), -1);
	assert_int_equal(cc_log_set_level(""), -1);
	assert_int_equal(cc_log_min_level, CC_LOG_WARN);   /* unchanged */
	assert_int_equal(cc_log_set_level("info"), 0);
	assert_int_equal(cc_log_min_level, CC_LOG_INFO);
	assert_int_equal(cc_log_set_level("debug"), 0);
	assert_int_equal(cc_log_min_level, CC_LOG_DEBUG);
	assert_int_equal(cc_log_set_level("error"), 0);
	assert_int_equal(cc_log_min_level, CC_LOG_ERROR);
}

static void test_log_preserves_errno(void **state)
{
	(void)state;
	errno = EACCES;
	cc_info("an info line");
	assert_int_equal(errno, EACCES);
	errno = ENOENT;
	cc_error("an error line: %s", strerror(errno));
	assert_int_equal(errno, ENOENT);
}

static void test_log_preserves_errno_when_write_fails(void **state)
{
	(void)state;
	/* /dev/full: every write fails with ENOSPC */
	if (cc_log_open("/dev/full") < 0)
		skip();
	errno = EPIPE;
	cc_error("lost");
	assert_int_equal(errno, EPIPE);
}

static void test_log_open_appends_to_existing_file(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 32], *s;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/existing.log", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("old line\n", fp);
	fclose(fp);
	assert_int_equal(cc_log_open(path), 0);
	cc_info("new line");
	s = slurp(path, NULL);
	assert_int_equal(strncmp(s, "old line\n", 9), 0);
	assert_non_null(strstr(s + 9, "info: new line\n"));
	assert_int_equal(count_lines(s), 2);
	free(s);
}

static void test_log_open_failure_keeps_previous_target(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 32], *s;

	snprintf(path, sizeof(path), "%s/no/such/dir/x.log", f->dir);
	assert_int_equal(cc_log_open(path), -1);
	cc_info("still here");
	s = slurp(f->path, NULL);
	assert_non_null(strstr(s, "info: still here\n"));
	free(s);
}

static void test_log_long_message_is_truncated_to_one_line(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *big = malloc(10000), *s;

	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	cc_warn("%s", big);
	cc_info("after");
	s = slurp(f->path, &len);
	assert_int_equal(count_lines(s), 2);
	assert_true(strchr(s, '\n') - s < 4096);   /* first line fits the buffer */
	assert_non_null(strstr(s, "info: after\n"));
	assert_int_equal(s[len - 1], '\n');
	free(s);
	free(big);
}

static void test_log_lines_from_concurrent_processes_stay_whole(void **state)
{
	struct fixture *f = *state;
	enum { KIDS = 4, LINES = 200 };
	pid_t kids[KIDS];
	char *s, *line, *save = NULL;
	int per_kid[KIDS] = { 0 };
	char pad[600];

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			for (int i = 0; i < LINES; i++)
				cc_info("kid %d line %d %s", k, i, pad);
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st;
		assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	s = slurp(f->path, NULL);
	assert_int_equal(count_lines(s), KIDS * LINES);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int k, i;
		const char *msg = strstr(line, "] info: kid ");
		pid_t pid;

		assert_non_null(msg);
		assert_int_equal(sscanf(msg, "] info: kid %d line %d ", &k, &i), 2);
		assert_true(k >= 0 && k < KIDS);
		pid = kids[k];
		char rest[128];
		snprintf(rest, sizeof(rest), "kid %d line %d p{%zu}", k, i, sizeof(pad) - 1);
		check_line(line, "info", pid, rest);
		assert_int_equal(i, per_kid[k]);   /* each writer's lines in order */
		per_kid[k]++;
	}
	for (int k = 0; k < KIDS; k++)
		assert_int_equal(per_kid[k], LINES);
	free(s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_log_line_has_utc_timestamp_program_pid_level),
		T(test_log_warn_and_error_add_file_and_line),
		T(test_log_info_and_debug_have_no_file_and_line),
		T(test_log_level_filters_lower_levels),
		T(test_log_set_level_rejects_unknown_names),
		T(test_log_preserves_errno),
		T(test_log_preserves_errno_when_write_fails),
		T(test_log_open_appends_to_existing_file),
		T(test_log_open_failure_keeps_previous_target),
		T(test_log_long_message_is_truncated_to_one_line),
		T(test_log_lines_from_concurrent_processes_stay_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
