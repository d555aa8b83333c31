/* test_store_s3.c - the S3 asset store (store_s3.c): Signature Version 4
 * against AWS's published examples (the SigV4 test suite's get-vanilla
 * cases, the S3 documentation's GET/PUT/list/lifecycle header examples and
 * its presigned URL example), UriEncode and canonical queries, the
 * ListObjectsV2 reader, and the errors a save or delete gives before any
 * server answers. The real server is exercised by
 * tests/integration/t0302-s3.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "store_s3.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The SigV4 test suite's credentials and time. */
static const struct cc_s3_scope suite = {
	.access_key = "AKIDEXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1", .service = "service",
	.amz_date = "20150830T123600Z",
};

/* The S3 documentation's examples. */
static const struct cc_s3_scope s3doc = {
	.access_key = "AKIAIOSFODNN7EXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1", .service = "s3",
	.amz_date = "20130524T000000Z",
};

static void sign_ok(const struct cc_s3_request *req,
		    const struct cc_s3_scope *scope, const char *want_sig,
		    const char *want_names)
{
	char sig[CC_S3_SIG_HEX], names[256];
	struct cc_err err = { 0 };

	assert_int_equal(cc_store_s3_sign(req, scope, sig, names, sizeof(names),
					  &err), 0);
	assert_string_equal(sig, want_sig);
	if (want_names)
		assert_string_equal(names, want_names);
}

static void test_s3_sign_get_vanilla(void **state)
{
	(void)state;
	struct cc_s3_pair hd[] = {
		{ "Host", "example.amazonaws.com" },
		{ "X-Amz-Date", "20150830T123600Z" },
	};
	struct cc_s3_request req = {
		.method = "GET", .uri = "/", .headers = hd, .nheaders = 2,
		.payload_hash = EMPTY_SHA256,
	};
	struct cc_err err = { 0 };
	char auth[512];

	assert_int_equal(cc_store_s3_authorization(&req, &suite, auth,
						   sizeof(auth), &err), 0);
	assert_string_equal(auth,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
		"service/aws4_request, SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_s3_sign_get_vanilla_query_order_key_case(void **state)
{
	(void)state;
	struct cc_s3_pair q[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	struct cc_s3_pair hd[] = {
		{ "x-amz-date", "20150830T123600Z" },
		{ "host", "example.amazonaws.com" },
	};
	struct cc_s3_request req = {
		.method = "GET", .uri = "/", .query = q, .nquery = 2,
		.headers = hd, .nheaders = 2, .payload_hash = EMPTY_SHA256,
	};

	sign_ok(&req, &suite,
		"b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		"host;x-amz-date");
}

static void test_s3_sign_s3doc_get_object(void **state)
{
	(void)state;
	struct cc_s3_pair hd[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
		{ "x-amz-date", "20130524T000000Z" },
	};
	struct cc_s3_request req = {
		.method = "GET", .uri = "/test.txt", .headers = hd, .nheaders = 4,
		.payload_hash = EMPTY_SHA256,
	};

	sign_ok(&req, &s3doc,
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		"host;range;x-amz-content-sha256;x-amz-date");
}

static void test_s3_sign_s3doc_put_object_encodes_dollar(void **state)
{
	(void)state;
	/* sha256("Welcome to Amazon S3.") */
	const char *payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	char uri[64] = "/";
	struct cc_s3_pair hd[] = {
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", payload },
	};
	struct cc_s3_request req = {
		.method = "PUT", .uri = uri, .headers = hd, .nheaders = 5,
		.payload_hash = payload,
	};

	assert_true(cc_store_s3_uri_encode("test$file.text", 1, uri + 1,
					   sizeof(uri) - 1) > 0);
	assert_string_equal(uri, "/test%24file.text");
	sign_ok(&req, &s3doc,
		"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
}

static void test_s3_sign_s3doc_list_and_lifecycle_queries(void **state)
{
	(void)state;
	struct cc_s3_pair list[] = { { "prefix", "J" }, { "max-keys", "2" } };
	struct cc_s3_pair life[] = { { "lifecycle", "" } };
	struct cc_s3_pair hd[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
		{ "x-amz-date", "20130524T000000Z" },
	};
	struct cc_s3_request req = {
		.method = "GET", .uri = "/", .query = list, .nquery = 2,
		.headers = hd, .nheaders = 3, .payload_hash = EMPTY_SHA256,
	};

	sign_ok(&req, &s3doc,
		"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		"host;x-amz-content-sha256;x-amz-date");
	req.query = life;
	req.nquery = 1;
	sign_ok(&req, &s3doc,
		"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		NULL);
}

static void test_s3_presign_matches_s3doc_example(void **state)
{
	(void)state;
	struct cc_err err = { 0 };
	char q[1024];

	assert_int_equal(cc_store_s3_presign("examplebucket.s3.amazonaws.com",
					     "/test.txt", &s3doc, 86400, q,
					     sizeof(q), &err), 0);
	assert_string_equal(q,
		"X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	/* a buffer too small is an error, not a cut URL */
	assert_int_equal(cc_store_s3_presign("examplebucket.s3.amazonaws.com",
					     "/test.txt", &s3doc, 86400, q, 100,
					     &err), -1);
}

static void test_s3_sign_rejects_bad_date(void **state)
{
	(void)state;
	struct cc_s3_scope sc = s3doc;
	struct cc_s3_pair hd[] = { { "host", "h" } };
	struct cc_s3_request req = {
		.method = "GET", .uri = "/", .headers = hd, .nheaders = 1,
		.payload_hash = EMPTY_SHA256,
	};
	struct cc_err err = { 0 };
	char sig[CC_S3_SIG_HEX];

	snprintf(sc.amz_date, sizeof(sc.amz_date), "2013-05-24T00:00");
	assert_int_equal(cc_store_s3_sign(&req, &sc, sig, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "x-amz-date"));
}

static void test_s3_scope_time_is_utc_basic_format(void **state)
{
	(void)state;
	struct cc_s3_scope sc = { 0 };

	cc_store_s3_scope_time(&sc, (time_t)1369353600);   /* 2013-05-24 00:00 UTC */
	assert_string_equal(sc.amz_date, "20130524T000000Z");
}

static void test_s3_uri_encode_keeps_only_unreserved(void **state)
{
	(void)state;
	char out[128];

	assert_int_equal(cc_store_s3_uri_encode("a-b_c.d~e", 0, out, sizeof(out)), 9);
	assert_string_equal(out, "a-b_c.d~e");
	cc_store_s3_uri_encode("echo/job_1/a b+c=\xc3\xa9!*'()&.txt", 1, out, sizeof(out));
	assert_string_equal(out, "echo/job_1/a%20b%2Bc%3D%C3%A9%21%2A%27%28%29%26.txt");
	cc_store_s3_uri_encode("a/b", 0, out, sizeof(out));
	assert_string_equal(out, "a%2Fb");
	/* "%20" needs 4 bytes with the NUL */
	assert_int_equal(cc_store_s3_uri_encode(" ", 0, out, 3), -1);
	assert_int_equal(cc_store_s3_uri_encode(" ", 0, out, 4), 3);
}

static void test_s3_canonical_query_sorts_encoded_pairs(void **state)
{
	(void)state;
	struct cc_s3_pair q[] = {
		{ "prefix", "echo/job_12/" }, { "list-type", "2" },
		{ "continuation-token", "1x/+Az==" }, { "delete", "" },
		{ "a", "2" }, { "a", "1" }, { "B", "x y" },
	};
	char *s = cc_store_s3_canonical_query(q, 7);

	assert_non_null(s);
	assert_string_equal(s, "B=x%20y&a=1&a=2&continuation-token=1x%2F%2BAz%3D%3D"
			    "&delete=&list-type=2&prefix=echo%2Fjob_12%2F");
	free(s);
	s = cc_store_s3_canonical_query(NULL, 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_s3_list_parse_decodes_keys_and_token(void **state)
{
	(void)state;
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>echo/job_3/</Prefix><KeyCount>3</KeyCount>"
		"<MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>echo/job_3/unit_1/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;.txt</Key>"
		"<LastModified>2024-01-01T00:00:00.000Z</LastModified><Size>3</Size></Contents>"
		"<Contents><Key>echo/job_3/unit_1/&#x27;&#233;&#x1F600;.png</Key><Size>1</Size></Contents>"
		"<Contents><Key><![CDATA[echo/job_3/unit_2/<raw>&.bin]]></Key></Contents>"
		"<NextContinuationToken>tok&amp;en/+=</NextContinuationToken>"
		"</ListBucketResult>";
	struct cc_s3_list l;
	struct cc_err err = { 0 };

	assert_int_equal(cc_store_s3_list_parse(xml, strlen(xml), &l, &err), 0);
	assert_int_equal(l.nkeys, 3);
	assert_string_equal(l.keys[0], "echo/job_3/unit_1/a&b <c> \"d\" 'e'.txt");
	assert_string_equal(l.keys[1], "echo/job_3/unit_1/'\xc3\xa9\xf0\x9f\x98\x80.png");
	assert_string_equal(l.keys[2], "echo/job_3/unit_2/<raw>&.bin");
	assert_true(l.truncated);
	assert_string_equal(l.next_token, "tok&en/+=");
	cc_store_s3_list_cleanup(&l);
	assert_null(l.keys);
}

static void test_s3_list_parse_url_encoding_type(void **state)
{
	(void)state;
	static const char xml[] =
		"<ListBucketResult><EncodingType>url</EncodingType>"
		"<IsTruncated>false</IsTruncated>"
		"<Contents><Key>echo%2Fjob_3%2Fa+b%2Bc%01%25.txt</Key></Contents>"
		"</ListBucketResult>";
	static const char plain[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>echo/job_3/50%25+1.txt</Key></Contents>"
		"</ListBucketResult>";
	struct cc_s3_list l;
	struct cc_err err = { 0 };

	assert_int_equal(cc_store_s3_list_parse(xml, strlen(xml), &l, &err), 0);
	assert_int_equal(l.nkeys, 1);
	assert_string_equal(l.keys[0], "echo/job_3/a b+c\x01%.txt");
	assert_false(l.truncated);
	assert_null(l.next_token);
	cc_store_s3_list_cleanup(&l);
	/* a server that ignores encoding-type=url: keys stay as they are */
	assert_int_equal(cc_store_s3_list_parse(plain, strlen(plain), &l, &err), 0);
	assert_string_equal(l.keys[0], "echo/job_3/50%25+1.txt");
	cc_store_s3_list_cleanup(&l);
}

static void test_s3_list_parse_rejects_bad_xml(void **state)
{
	(void)state;
	static const char *bad[] = {
		"<Error><Code>AccessDenied</Code></Error>",
		"<ListBucketResult><Contents><Key>a&nbsp;b</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&#0;b</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&#xD800;</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&amp</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a<b/>c</Key></Contents></ListBucketResult>",
	};
	struct cc_s3_list l;
	struct cc_err err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cc_store_s3_list_parse(bad[i], strlen(bad[i]), &l,
							&err), -1);
		cc_store_s3_list_cleanup(&l);
	}
}

/* ---- the store front with storage = s3, before any server answers ---- */

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

	assert_int_equal(cc_store_save(&f->cfg, "noop", 1, 2, f->file, url,
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
	assert_int_equal(cc_store_save(&cfg, "noop", 1, 2, f->file, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "aws_secret_key"));
	cfg = f->cfg;
	snprintf(cfg.s3_endpoint, sizeof(cfg.s3_endpoint), "ftp://example.com");
	assert_int_equal(cc_store_delete_job(&cfg, "noop", 1, &err), -1);
	assert_non_null(strstr(err.msg, "s3_endpoint"));
	cfg = f->cfg;
	snprintf(cfg.s3_bucket, sizeof(cfg.s3_bucket), "a/b");
	assert_int_equal(cc_store_save(&cfg, "noop", 1, 2, f->file, url,
				       sizeof(url), &err), -1);
	assert_non_null(strstr(err.msg, "s3_bucket"));
	/* the front's checks hold for s3 too */
	assert_int_equal(cc_store_save(&f->cfg, "../x", 1, 2, f->file, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.code, 400);
	assert_int_equal(cc_store_delete_job(&f->cfg, "Bad-Name", 1, &err), -1);
	assert_int_equal(err.code, 400);
	snprintf(missing, sizeof(missing), "%s/nope.txt", f->dir);
	assert_int_equal(cc_store_save(&f->cfg, "noop", 1, 2, missing, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.code, 400);
	assert_int_equal(cc_store_save(&f->cfg, "noop", 1, 2, f->dir, url,
				       sizeof(url), &err), -1);
	assert_int_equal(err.code, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_sign_get_vanilla),
		cmocka_unit_test(test_s3_sign_get_vanilla_query_order_key_case),
		cmocka_unit_test(test_s3_sign_s3doc_get_object),
		cmocka_unit_test(test_s3_sign_s3doc_put_object_encodes_dollar),
		cmocka_unit_test(test_s3_sign_s3doc_list_and_lifecycle_queries),
		cmocka_unit_test(test_s3_presign_matches_s3doc_example),
		cmocka_unit_test(test_s3_sign_rejects_bad_date),
		cmocka_unit_test(test_s3_scope_time_is_utc_basic_format),
		cmocka_unit_test(test_s3_uri_encode_keeps_only_unreserved),
		cmocka_unit_test(test_s3_canonical_query_sorts_encoded_pairs),
		cmocka_unit_test(test_s3_list_parse_decodes_keys_and_token),
		cmocka_unit_test(test_s3_list_parse_url_encoding_type),
		cmocka_unit_test(test_s3_list_parse_rejects_bad_xml),
		cmocka_unit_test_setup_teardown(test_s3_save_unreachable_endpoint_names_request,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_s3_save_checks_config_and_input,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
