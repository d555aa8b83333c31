/* test_s3_xml.c - reading S3's XML answers (s3_xml.c): ListObjectsV2
 * pages (entities, character references, CDATA, EncodingType url,
 * truncation), answers it must refuse, error fields and DeleteObjects
 * failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/s3_xml.h"

static void test_s3_xml_list_parse_decodes_keys_and_token(void **state)
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
	struct cc_s3_xml_list l;
	struct cc_err err = { 0 };

	assert_int_equal(cc_s3_xml_list_parse(xml, strlen(xml), &l, &err), 0);
	assert_int_equal(l.nkeys, 3);
	assert_string_equal(l.keys[0], "echo/job_3/unit_1/a&b <c> \"d\" 'e'.txt");
	assert_string_equal(l.keys[1], "echo/job_3/unit_1/'\xc3\xa9\xf0\x9f\x98\x80.png");
	assert_string_equal(l.keys[2], "echo/job_3/unit_2/<raw>&.bin");
	assert_true(l.truncated);
	assert_string_equal(l.next_token, "tok&en/+=");
	cc_s3_xml_list_cleanup(&l);
	assert_null(l.keys);
}

static void test_s3_xml_list_parse_url_encoding_type(void **state)
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
	struct cc_s3_xml_list l;
	struct cc_err err = { 0 };

	assert_int_equal(cc_s3_xml_list_parse(xml, strlen(xml), &l, &err), 0);
	assert_int_equal(l.nkeys, 1);
	assert_string_equal(l.keys[0], "echo/job_3/a b+c\x01%.txt");
	assert_false(l.truncated);
	assert_null(l.next_token);
	cc_s3_xml_list_cleanup(&l);
	/* a server that ignores encoding-type=url: keys stay as they are */
	assert_int_equal(cc_s3_xml_list_parse(plain, strlen(plain), &l, &err), 0);
	assert_string_equal(l.keys[0], "echo/job_3/50%25+1.txt");
	cc_s3_xml_list_cleanup(&l);
}

static void test_s3_xml_list_parse_rejects_bad_xml(void **state)
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
	struct cc_s3_xml_list l;
	struct cc_err err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cc_s3_xml_list_parse(bad[i], strlen(bad[i]), &l,
						      &err), -1);
		cc_s3_xml_list_cleanup(&l);
	}
}

static void test_s3_xml_error_fields_and_delete_error(void **state)
{
	(void)state;
	static const char answer[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
		"<Code>SignatureDoesNotMatch</Code>"
		"<Message>The request signature &amp; more</Message></Error>";
	static const char deleted[] =
		"<DeleteResult><Error><Key>echo/job_1/a&lt;b.txt</Key>"
		"<Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
		"<Error><Key>echo/job_1/c.txt</Key><Code>InternalError</Code>"
		"</Error></DeleteResult>";
	static const char nokey[] =
		"<DeleteResult><Error><Code>AccessDenied</Code></Error></DeleteResult>";
	static const char clean[] = "<DeleteResult></DeleteResult>";
	char code[128], msg[256], small[8], *key = NULL;

	cc_s3_xml_error_fields(answer, strlen(answer), code, sizeof(code), msg,
			       sizeof(msg));
	assert_string_equal(code, "SignatureDoesNotMatch");
	assert_string_equal(msg, "The request signature & more");
	/* cut to fit; an absent field is "" */
	cc_s3_xml_error_fields(answer, strlen(answer), small, sizeof(small), msg,
			       sizeof(msg));
	assert_string_equal(small, "Signatu");
	cc_s3_xml_error_fields(clean, strlen(clean), code, sizeof(code), msg,
			       sizeof(msg));
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	/* the first failure of a DeleteObjects answer, with its key */
	assert_int_equal(cc_s3_xml_delete_error(deleted, strlen(deleted), code,
						sizeof(code), msg, sizeof(msg),
						&key), 1);
	assert_string_equal(key, "echo/job_1/a<b.txt");
	assert_string_equal(code, "AccessDenied");
	assert_string_equal(msg, "Access Denied");
	free(key);
	assert_int_equal(cc_s3_xml_delete_error(nokey, strlen(nokey), code,
						sizeof(code), msg, sizeof(msg),
						&key), 1);
	assert_null(key);
	assert_string_equal(code, "AccessDenied");
	assert_string_equal(msg, "");
	assert_int_equal(cc_s3_xml_delete_error(clean, strlen(clean), code,
						sizeof(code), msg, sizeof(msg),
						&key), 0);
	assert_null(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_xml_list_parse_decodes_keys_and_token),
		cmocka_unit_test(test_s3_xml_list_parse_url_encoding_type),
		cmocka_unit_test(test_s3_xml_list_parse_rejects_bad_xml),
		cmocka_unit_test(test_s3_xml_error_fields_and_delete_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
