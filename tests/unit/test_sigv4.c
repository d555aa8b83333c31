/* test_sigv4.c - AWS Signature Version 4 (sigv4.c) against AWS's
 * published examples: the SigV4 test suite's get-vanilla cases, the S3
 * documentation's GET/PUT/list/lifecycle header examples and its presigned
 * URL example; UriEncode and canonical queries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sigv4.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The SigV4 test suite's credentials and time. */
static const struct cc_sigv4_scope suite = {
	.access_key = "AKIDEXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1", .service = "service",
	.amz_date = "20150830T123600Z",
};

/* The S3 documentation's examples. */
static const struct cc_sigv4_scope s3doc = {
	.access_key = "AKIAIOSFODNN7EXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1", .service = "s3",
	.amz_date = "20130524T000000Z",
};

static void sign_ok(const struct cc_sigv4_request *req,
		    const struct cc_sigv4_scope *scope, const char *want_sig,
		    const char *want_names)
{
	char sig[CC_SIGV4_SIG_HEX], names[256];
	struct cc_err err = { 0 };

	assert_int_equal(cc_sigv4_sign(req, scope, sig, names, sizeof(names),
				       &err), 0);
	assert_string_equal(sig, want_sig);
	if (want_names)
		assert_string_equal(names, want_names);
}

static void test_sigv4_sign_get_vanilla(void **state)
{
	(void)state;
	struct cc_sigv4_pair hd[] = {
		{ "Host", "example.amazonaws.com" },
		{ "X-Amz-Date", "20150830T123600Z" },
	};
	struct cc_sigv4_request req = {
		.method = "GET", .uri = "/", .headers = hd, .nheaders = 2,
		.payload_hash = EMPTY_SHA256,
	};
	struct cc_err err = { 0 };
	char auth[512];

	assert_int_equal(cc_sigv4_authorization(&req, &suite, auth,
						sizeof(auth), &err), 0);
	assert_string_equal(auth,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
		"service/aws4_request, SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_sigv4_sign_get_vanilla_query_order_key_case(void **state)
{
	(void)state;
	struct cc_sigv4_pair q[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	struct cc_sigv4_pair hd[] = {
		{ "x-amz-date", "20150830T123600Z" },
		{ "host", "example.amazonaws.com" },
	};
	struct cc_sigv4_request req = {
		.method = "GET", .uri = "/", .query = q, .nquery = 2,
		.headers = hd, .nheaders = 2, .payload_hash = EMPTY_SHA256,
	};

	sign_ok(&req, &suite,
		"b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		"host;x-amz-date");
}

static void test_sigv4_sign_s3doc_get_object(void **state)
{
	(void)state;
	struct cc_sigv4_pair hd[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
		{ "x-amz-date", "20130524T000000Z" },
	};
	struct cc_sigv4_request req = {
		.method = "GET", .uri = "/test.txt", .headers = hd, .nheaders = 4,
		.payload_hash = EMPTY_SHA256,
	};

	sign_ok(&req, &s3doc,
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		"host;range;x-amz-content-sha256;x-amz-date");
}

static void test_sigv4_sign_s3doc_put_object_encodes_dollar(void **state)
{
	(void)state;
	/* sha256("Welcome to Amazon S3.") */
	const char *payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	char uri[64] = "/";
	struct cc_sigv4_pair hd[] = {
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", payload },
	};
	struct cc_sigv4_request req = {
		.method = "PUT", .uri = uri, .headers = hd, .nheaders = 5,
		.payload_hash = payload,
	};

	assert_true(cc_sigv4_uri_encode("test$file.text", 1, uri + 1,
					sizeof(uri) - 1) > 0);
	assert_string_equal(uri, "/test%24file.text");
	sign_ok(&req, &s3doc,
		"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
}

static void test_sigv4_sign_s3doc_list_and_lifecycle_queries(void **state)
{
	(void)state;
	struct cc_sigv4_pair list[] = { { "prefix", "J" }, { "max-keys", "2" } };
	struct cc_sigv4_pair life[] = { { "lifecycle", "" } };
	struct cc_sigv4_pair hd[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
		{ "x-amz-date", "20130524T000000Z" },
	};
	struct cc_sigv4_request req = {
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

static void test_sigv4_presign_matches_s3doc_example(void **state)
{
	(void)state;
	struct cc_err err = { 0 };
	char q[1024];

	assert_int_equal(cc_sigv4_presign("examplebucket.s3.amazonaws.com",
					  "/test.txt", &s3doc, 86400, q,
					  sizeof(q), &err), 0);
	assert_string_equal(q,
		"X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	/* a buffer too small is an error, not a cut URL */
	assert_int_equal(cc_sigv4_presign("examplebucket.s3.amazonaws.com",
					  "/test.txt", &s3doc, 86400, q, 100,
					  &err), -1);
}

static void test_sigv4_sign_rejects_bad_date(void **state)
{
	(void)state;
	struct cc_sigv4_scope sc = s3doc;
	struct cc_sigv4_pair hd[] = { { "host", "h" } };
	struct cc_sigv4_request req = {
		.method = "GET", .uri = "/", .headers = hd, .nheaders = 1,
		.payload_hash = EMPTY_SHA256,
	};
	struct cc_err err = { 0 };
	char sig[CC_SIGV4_SIG_HEX];

	snprintf(sc.amz_date, sizeof(sc.amz_date), "2013-05-24T00:00");
	assert_int_equal(cc_sigv4_sign(&req, &sc, sig, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "x-amz-date"));
}

static void test_sigv4_scope_time_is_utc_basic_format(void **state)
{
	(void)state;
	struct cc_sigv4_scope sc = { 0 };

	cc_sigv4_scope_time(&sc, (time_t)1369353600);   /* 2013-05-24 00:00 UTC */
	assert_string_equal(sc.amz_date, "20130524T000000Z");
}

static void test_sigv4_uri_encode_keeps_only_unreserved(void **state)
{
	(void)state;
	char out[128];

	assert_int_equal(cc_sigv4_uri_encode("a-b_c.d~e", 0, out, sizeof(out)), 9);
	assert_string_equal(out, "a-b_c.d~e");
	cc_sigv4_uri_encode("echo/job_1/a b+c=\xc3\xa9!*'()&.txt", 1, out, sizeof(out));
	assert_string_equal(out, "echo/job_1/a%20b%2Bc%3D%C3%A9%21%2A%27%28%29%26.txt");
	cc_sigv4_uri_encode("a/b", 0, out, sizeof(out));
	assert_string_equal(out, "a%2Fb");
	/* "%20" needs 4 bytes with the NUL */
	assert_int_equal(cc_sigv4_uri_encode(" ", 0, out, 3), -1);
	assert_int_equal(cc_sigv4_uri_encode(" ", 0, out, 4), 3);
}

static void test_sigv4_canonical_query_sorts_encoded_pairs(void **state)
{
	(void)state;
	struct cc_sigv4_pair q[] = {
		{ "prefix", "echo/job_12/" }, { "list-type", "2" },
		{ "continuation-token", "1x/+Az==" }, { "delete", "" },
		{ "a", "2" }, { "a", "1" }, { "B", "x y" },
	};
	char *s = cc_sigv4_canonical_query(q, 7);

	assert_non_null(s);
	assert_string_equal(s, "B=x%20y&a=1&a=2&continuation-token=1x%2F%2BAz%3D%3D"
			    "&delete=&list-type=2&prefix=echo%2Fjob_12%2F");
	free(s);
	s = cc_sigv4_canonical_query(NULL, 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigv4_sign_get_vanilla),
		cmocka_unit_test(test_sigv4_sign_get_vanilla_query_order_key_case),
		cmocka_unit_test(test_sigv4_sign_s3doc_get_object),
		cmocka_unit_test(test_sigv4_sign_s3doc_put_object_encodes_dollar),
		cmocka_unit_test(test_sigv4_sign_s3doc_list_and_lifecycle_queries),
		cmocka_unit_test(test_sigv4_presign_matches_s3doc_example),
		cmocka_unit_test(test_sigv4_sign_rejects_bad_date),
		cmocka_unit_test(test_sigv4_scope_time_is_utc_basic_format),
		cmocka_unit_test(test_sigv4_uri_encode_keeps_only_unreserved),
		cmocka_unit_test(test_sigv4_canonical_query_sorts_encoded_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
