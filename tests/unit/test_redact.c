/* test_redact.c - lib/core/redact.c, and its use by every log line: a URL's
 * password becomes "***" (user name, host, path and query kept), wherever
 * the URL sits in the text and however many there are; presigned-URL
 * secrets (X-Amz-Signature, X-Amz-Credential, ...) too; text without
 * credentials is copied as it is; the length is returned like snprintf and
 * a cut output never shows part of a secret; and cc_log writes redacted
 * lines, even for messages longer than a line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/log.h"
#include "core/redact.h"

/* s redacted, as a new string (caller frees) */
static char *red(const char *s)
{
	size_t n = cc_redact(s, strlen(s), NULL, 0);
	char *out = malloc(n + 1);

	assert_non_null(out);
	assert_int_equal(cc_redact(s, strlen(s), out, n + 1), n);
	assert_int_equal(strlen(out), n);
	return out;
}

static void assert_redacts(const char *in, const char *want)
{
	char *got = red(in);

	if (strcmp(got, want))
		fail_msg("redact(\"%s\")\n       got \"%s\"\n  expected \"%s\"", in, got, want);
	free(got);
}

static void test_redact_hides_the_password_of_a_url(void **state)
{
	(void)state;
	assert_redacts("http://user:secret@host/x", "http://user:***@host/x");
	assert_redacts("https://u:p@example.org:8443/cb?a=1#f",
		       "https://u:***@example.org:8443/cb?a=1#f");
	assert_redacts("ftp://anon:pw@[::1]:21/", "ftp://anon:***@[::1]:21/");
	assert_redacts("http://:onlypw@host", "http://:***@host");
	assert_redacts("http://user:secret@host", "http://user:***@host");
}

static void test_redact_keeps_urls_without_a_password(void **state)
{
	(void)state;
	assert_redacts("http://host:8080/x", "http://host:8080/x");
	assert_redacts("listening on http://127.0.0.1:9173", "listening on http://127.0.0.1:9173");
	assert_redacts("http://user@host/x", "http://user@host/x");
	assert_redacts("http://user:@host/x", "http://user:@host/x");
	assert_redacts("mailto:a@b.org", "mailto:a@b.org");
	assert_redacts("http://host/path/a:b@c", "http://host/path/a:b@c");
	assert_redacts("http://host?q=a:b@c", "http://host?q=a:b@c");
	assert_redacts("no url here: a:b@c", "no url here: a:b@c");
	assert_redacts("://x:y@z", "://x:y@z");
	assert_redacts("", "");
}

static void test_redact_finds_every_url_in_a_message(void **state)
{
	(void)state;
	assert_redacts("job 4: callback http://a:pw1@h1/cb failed, then "
		       "\"https://b:pw2@h2/\" and (http://c:pw3@h3)",
		       "job 4: callback http://a:***@h1/cb failed, then "
		       "\"https://b:***@h2/\" and (http://c:***@h3)");
	assert_redacts("{\"callback_url\":\"http://x:y@z/p\"}",
		       "{\"callback_url\":\"http://x:***@z/p\"}");
	assert_redacts("a\nhttp://u:p@h\nb http://v:q@i", "a\nhttp://u:***@h\nb http://v:***@i");
}

static void test_redact_uses_the_last_at_sign(void **state)
{
	(void)state;
	/* an unescaped '@' or ':' in the password must not leave its tail */
	assert_redacts("http://user:p@ss:w@host/x", "http://user:***@host/x");
	assert_redacts("http://user:a%40b@host", "http://user:***@host");
}

static void test_redact_hides_presigned_url_secrets(void **state)
{
	(void)state;
	assert_redacts("https://s3.example.org/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		       "&X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
		       "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=86400"
		       "&X-Amz-SignedHeaders=host&X-Amz-Signature=0123abcd fetched",
		       "https://s3.example.org/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		       "&X-Amz-Credential=***"
		       "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=86400"
		       "&X-Amz-SignedHeaders=host&X-Amz-Signature=*** fetched");
	assert_redacts("http://h/o?AWSAccessKeyId=AK&Expires=1&Signature=c2ln#f",
		       "http://h/o?AWSAccessKeyId=***&Expires=1&Signature=***#f");
	assert_redacts("?x-amz-security-token=tok", "?x-amz-security-token=***");
	assert_redacts("login=crowd&password=hunter2&x=1", "login=crowd&password=***&x=1");
	/* names only count as whole parameters */
	assert_redacts("?NotSignature=v&Signatures=w", "?NotSignature=v&Signatures=w");
	assert_redacts("?Signature=", "?Signature=");
}

static void test_redact_copies_plain_text_unchanged(void **state)
{
	const char text[] = "unit 12: pid 345 succeeded in 0.012 s; a:b c@d ?x=1&y=2";

	(void)state;
	assert_redacts(text, text);
}

static void test_redact_returns_the_whole_length_and_cuts_safely(void **state)
{
	const char *in = "cb http://user:averylongpassword@host/x";
	char out[20];
	size_t n;

	(void)state;
	n = cc_redact(in, strlen(in), out, sizeof(out));
	assert_int_equal(n, strlen("cb http://user:***@host/x"));
	assert_string_equal(out, "cb http://user:***@");
	assert_null(strstr(out, "averylong"));
	/* a password cut by the end of the output is still not shown */
	n = cc_redact(in, strlen(in), out, 17);
	assert_string_equal(out, "cb http://user:*");
	assert_int_equal(cc_redact(in, strlen(in), NULL, 0), n);
	assert_int_equal(cc_redact(in, strlen(in), out, 1), n);
	assert_string_equal(out, "");
}

static void test_redact_copies_nul_bytes(void **state)
{
	const char in[] = "a\0http://u:p@h";
	char out[32];
	size_t n;

	(void)state;
	n = cc_redact(in, sizeof(in) - 1, out, sizeof(out));
	assert_int_equal(n, 16);
	assert_memory_equal(out, "a\0http://u:***@h", 16);
}

/* the file at path, NUL-terminated (caller frees) */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	assert_non_null(f);
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

static void test_log_lines_are_redacted(void **state)
{
	char dir[] = "/tmp/test_redact.XXXXXX", path[PATH_MAX];
	char *text, *longmsg;
	size_t ll = 6000;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.log", dir);
	cc_log_init("test_redact");
	assert_int_equal(cc_log_open(path), 0);
	cc_info("job %d: delivering its callback to %s", 7, "http://cb:s3cret@127.0.0.1:9/x");
	cc_warn("fetch %s failed", "https://b.s3/k?X-Amz-Credential=AKIAXX&X-Amz-Signature=deadbeef");
	/* longer than a log line, the cut inside the password: nothing of it */
	longmsg = malloc(ll + 1);
	assert_non_null(longmsg);
	memset(longmsg, 'x', ll);
	longmsg[ll] = '\0';
	memcpy(longmsg + 4000, " http://u:CUTPASSWORD", 21);
	memcpy(longmsg + 4200, "@h/ tail", 8);
	cc_info("%s", longmsg);
	/* longer than a log line, the URL early */
	memset(longmsg, 'y', ll);
	memcpy(longmsg + 100, " http://u:EARLYPASSWORD@h/ end ", 31);
	cc_info("%s", longmsg);
	free(longmsg);
	text = slurp(path);
	assert_non_null(strstr(text, "delivering its callback to http://cb:***@127.0.0.1:9/x\n"));
	assert_non_null(strstr(text, "X-Amz-Credential=***&X-Amz-Signature=*** failed"));
	assert_null(strstr(text, "s3cret"));
	assert_null(strstr(text, "deadbeef"));
	assert_null(strstr(text, "AKIAXX"));
	assert_null(strstr(text, "CUTPASS"));
	assert_null(strstr(text, "EARLYPASS"));
	assert_non_null(strstr(text, " http://u:***@h/ end"));
	free(text);
	cc_log_open("/dev/null");
	cc_fs_rmtree(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_hides_the_password_of_a_url),
		cmocka_unit_test(test_redact_keeps_urls_without_a_password),
		cmocka_unit_test(test_redact_finds_every_url_in_a_message),
		cmocka_unit_test(test_redact_uses_the_last_at_sign),
		cmocka_unit_test(test_redact_hides_presigned_url_secrets),
		cmocka_unit_test(test_redact_copies_plain_text_unchanged),
		cmocka_unit_test(test_redact_returns_the_whole_length_and_cuts_safely),
		cmocka_unit_test(test_redact_copies_nul_bytes),
		cmocka_unit_test(test_log_lines_are_redacted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
