/* test_store_s3.c - the S3 asset store (store_s3.c) behind the store
 * front: the errors a save or delete gives before any server answers
 * (bad configuration, a missing bucket, bad input, an endpoint that
 * refuses connections).
 * Signing is tested in test_sigv4.c, answer parsing in test_s3_xml.c; the
 * real server is exercised by tests/integration/t0302-s3.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "store/store.h"

/* KEY(ACTION, JOB, UNIT) - a storage key for one call (a compound literal,
 * alive until the end of the enclosing block). */
#define KEY(action, job, unit) \
	(&(const struct cc_store_key){ (action), (job), (unit) })

struct fixture {
	char dir[256];
	char file[300];
	struct cc_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	FILE *fp;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/store-s3-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/a.txt", f->dir);
	if (!(fp = fopen(f->file, "w")))
		return -1;
	fputs("hello", fp);
	fclose(fp);
	cc_config_defaults(&f->cfg, f->dir);
	snprintf(f->cfg.storage, sizeof(f->cfg.storage), "s3");
	snprintf(f->cfg.s3_bucket, sizeof(f->cfg.s3_bucket), "bucket");
	snprintf(f->cfg.aws_access_key, sizeof(f->cfg.aws_access_key), "AKID");
	snprintf(f->cfg.aws_secret_key, sizeof(f->cfg.aws_secret_key), "TOPSECRETVALUE");
	/* port 1 on loopback: connection refused at once */
	snprintf(f->cfg.s3_endpoint, sizeof(f->cfg.s3_endpoint), "http://127.0.0.1:1/");
	f->cfg.connect_timeout = 5;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->file);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_s3_save_unreachable_endpoint_names_request(void **state)
{
	struct fixture *f = *state;
	struct cc_err err = { 0 };
	char url[1024] = "";

	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 2), f->file, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg,
			"S3 PUT http://127.0.0.1:1/bucket/noop/job_1/unit_2/a.txt"));
	assert_null(strstr(err.msg, "TOPSECRETVALUE"));
	assert_string_equal(url, "");
	assert_int_equal(cc_store_delete_job(&f->cfg, "noop", 1, &err), -1);
	assert_non_null(strstr(err.msg, "S3 GET http://127.0.0.1:1/bucket:"));
	assert_null(strstr(err.msg, "TOPSECRETVALUE"));
}

static void test_s3_save_checks_config_and_input(void **state)
{
	struct fixture *f = *state;
	struct cc_config cfg = f->cfg;
	struct cc_err err = { 0 };
	char url[1024], missing[400];

	cfg.aws_secret_key[0] = '\0';
	assert_int_equal(cc_store_save(&cfg, KEY("noop", 1, 2), f->file, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "aws_secret_key"));
	cfg = f->cfg;
	snprintf(cfg.s3_endpoint, sizeof(cfg.s3_endpoint), "ftp://example.com");
	assert_int_equal(cc_store_delete_job(&cfg, "noop", 1, &err), -1);
	assert_non_null(strstr(err.msg, "s3_endpoint"));
	cfg = f->cfg;
	snprintf(cfg.s3_bucket, sizeof(cfg.s3_bucket), "a/b");
	assert_int_equal(cc_store_save(&cfg, KEY("noop", 1, 2), f->file, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "s3_bucket"));
	/* the front's checks hold for s3 too */
	assert_int_equal(cc_store_save(&f->cfg, KEY("../x", 1, 2), f->file, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	assert_int_equal(cc_store_delete_job(&f->cfg, "Bad-Name", 1, &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	snprintf(missing, sizeof(missing), "%s/nope.txt", f->dir);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 2), missing, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	assert_int_equal(cc_store_save(&f->cfg, KEY("noop", 1, 2), f->dir, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
}

/* storage = s3 with no bucket (what a crowd.conf that names the backend
 * and nothing else gives): both calls are refused by the S3 backend from
 * the configuration alone, as a server-side error naming s3_bucket,
 * before any request is sent; the filesystem store is not used instead.
 * (This was test_store_s3_is_refused_for_now in test_store_fs.c, written
 * when store.c answered 501 "storage = s3 is not built yet"; it kept
 * passing once S3 was built only because this message contains "s3".) */
static void test_s3_without_bucket_is_refused_before_any_request(void **state)
{
	struct fixture *f = *state;
	struct cc_config cfg = f->cfg;
	struct cc_err err = { 0 };
	char url[1024] = "", storage[400];

	cfg.s3_bucket[0] = '\0';
	snprintf(storage, sizeof(storage), "%s/storage", f->dir);
	snprintf(cfg.local_storage_path, sizeof(cfg.local_storage_path), "%s",
		 storage);
	assert_int_equal(cc_store_save(&cfg, KEY("noop", 1, 2), f->file, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.kind, CC_ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "s3_bucket"));
	assert_null(strstr(err.msg, "S3 PUT"));      /* no request was made */
	assert_string_equal(url, "");
	cc_err_clear(&err);
	assert_int_equal(cc_store_delete_job(&cfg, "noop", 1, &err), -1);
	assert_int_equal(err.kind, CC_ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "s3_bucket"));
	assert_null(strstr(err.msg, "S3 GET"));
	assert_int_equal(access(storage, F_OK), -1); /* no filesystem store */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s3_save_unreachable_endpoint_names_request,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_s3_save_checks_config_and_input,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_s3_without_bucket_is_refused_before_any_request,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
