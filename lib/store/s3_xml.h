/* s3_xml.h - reading S3's XML answers: a ListObjectsV2 page, the Code and
 * Message of an error, the first failure of a DeleteObjects request. Pure
 * functions over the answer's bytes (no I/O), so tests feed them text. */
#ifndef CC_S3_XML_H
#define CC_S3_XML_H

#include <stddef.h>
#include "core/err.h"

/* One ListObjectsV2 page; caller-owned, freed with cc_s3_xml_list_cleanup. */
struct cc_s3_xml_list {
	char **keys;          /* decoded object keys, malloc'd */
	size_t nkeys;
	int truncated;        /* IsTruncated was true */
	char *next_token;     /* NextContinuationToken, or NULL */
};

/* cc_s3_xml_list_parse - read a ListBucketResult: every Contents/Key
 * (XML entities and character references decoded, then percent-decoding
 * when the answer says EncodingType url), IsTruncated and
 * NextContinuationToken. Fills *out (free with cc_s3_xml_list_cleanup,
 * also after a failure). 0, or -1 with err set (not a ListBucketResult,
 * bad entity, out of memory). */
int cc_s3_xml_list_parse(const char *xml, size_t len,
			 struct cc_s3_xml_list *out, struct cc_err *err);

/* cc_s3_xml_list_cleanup - free what *list holds and zero it. */
void cc_s3_xml_list_cleanup(struct cc_s3_xml_list *list);

/* cc_s3_xml_error_fields - <Code> and <Message> of an S3 error answer
 * (len bytes at body), decoded, into code (cl bytes) and msg (ml bytes),
 * cut to fit; "" for a field that is absent or unreadable. */
void cc_s3_xml_error_fields(const char *body, size_t len, char *code,
			    size_t cl, char *msg, size_t ml);

/* cc_s3_xml_delete_error - the first <Error> of a DeleteObjects answer
 * (Quiet mode lists only failures). Returns 0 when there is none, with
 * *key NULL; 1 when there is one: its Code and Message into code/msg as
 * cc_s3_xml_error_fields does, its Key decoded into *key (malloc'd, the
 * caller frees; NULL when absent, unreadable or out of memory). */
int cc_s3_xml_delete_error(const char *xml, size_t len, char *code, size_t cl,
			   char *msg, size_t ml, char **key);

#endif
