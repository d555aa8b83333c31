/* store_s3.c - the S3 asset store (see store_s3.h): AWS Signature Version 4
 * over libcurl, path-style URLs (endpoint/bucket/key), so any
 * S3-compatible server works without DNS tricks. Each request signs host,
 * x-amz-date, x-amz-content-sha256 and any x-amz-/content- headers it
 * sends; a save hashes the file in one pass and streams it in a second, so
 * memory stays flat whatever the size and the server can verify the body.
 * Answers are parsed with a few string searches, not an XML library: S3
 * escapes every '<' inside text, so a tag found by name is a tag. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "action.h"
#include "log.h"
#include "store_s3.h"

#define USER_AGENT "cloudcrowd-c/0.1"
#define MAX_ANSWER (32 * 1024 * 1024)   /* bytes of an S3 answer kept */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- a growing string ----------------------------------------------------- */

struct buf {
	char *p;              /* NUL-terminated once anything was added */
	size_t len, cap;
	int oom;              /* an append failed: p is incomplete */
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_chr(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Append s UriEncoded (AWS rules: upper-case hex, '/' kept if asked). */
static void buf_enc(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (unreserved(*q) || (keep_slash && *q == '/')) {
			buf_chr(b, (char)*q);
		} else {
			char e[3] = { '%', hex[*q >> 4], hex[*q & 15] };
			buf_add(b, e, 3);
		}
	}
}

long cc_store_s3_uri_encode(const char *s, int keep_slash, char *out,
			    size_t out_len)
{
	struct buf b = { 0 };
	long n;

	buf_enc(&b, s, keep_slash);
	buf_add(&b, "", 0);
	n = (!b.oom && b.len < out_len) ? (long)b.len : -1;
	if (n >= 0)
		memcpy(out, b.p, b.len + 1);
	free(b.p);
	return n;
}

/* ---- hashing -------------------------------------------------------------- */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t n, char out[CC_S3_SIG_HEX])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	hex_of(md, 32, out);
	return 0;
}

static int hmac256(const void *key, size_t key_len, const char *msg,
		   unsigned char out[32])
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
		    strlen(msg), out, &len) && len == 32 ? 0 : -1;
}

/* ---- Signature Version 4 -------------------------------------------------- */

void cc_store_s3_scope_time(struct cc_s3_scope *scope, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(scope->amz_date, sizeof(scope->amz_date), "%Y%m%dT%H%M%SZ", &tm);
}

struct enc_pair {
	char *name, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *cc_store_s3_canonical_query(const struct cc_s3_pair *query, size_t n)
{
	struct enc_pair *p = calloc(n ? n : 1, sizeof(*p));
	struct buf out = { 0 };
	int ok = p != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		struct buf nb = { 0 }, vb = { 0 };
		buf_enc(&nb, query[i].name, 0);
		buf_add(&nb, "", 0);
		buf_enc(&vb, query[i].value ? query[i].value : "", 0);
		buf_add(&vb, "", 0);
		p[i].name = nb.p;
		p[i].value = vb.p;
		ok = !nb.oom && !vb.oom;
	}
	if (ok) {
		qsort(p, n, sizeof(*p), pair_cmp);
		buf_add(&out, "", 0);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_chr(&out, '&');
			buf_str(&out, p[i].name);
			buf_chr(&out, '=');
			buf_str(&out, p[i].value);
		}
		ok = !out.oom;
	}
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
	if (!ok) {
		free(out.p);
		return NULL;
	}
	return out.p;
}

static int date_ok(const char *d)
{
	for (int i = 0; i < 16; i++) {
		int digit = d[i] >= '0' && d[i] <= '9';
		if (i == 8 ? d[i] != 'T' : i == 15 ? d[i] != 'Z' : !digit)
			return 0;
	}
	return d[16] == '\0';
}

/* A header in canonical form: lower-case name, value trimmed with inner
 * runs of blanks folded to one space. */
static int canon_header(const struct cc_s3_pair *h, struct enc_pair *out)
{
	struct buf nb = { 0 }, vb = { 0 };
	const char *v = h->value ? h->value : "";
	int space = 0;

	for (const char *q = h->name; *q; q++)
		buf_chr(&nb, (*q >= 'A' && *q <= 'Z') ? (char)(*q + 32) : *q);
	buf_add(&nb, "", 0);
	buf_add(&vb, "", 0);
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			buf_chr(&vb, ' ');
		space = 0;
		buf_chr(&vb, *v);
	}
	out->name = nb.p;
	out->value = vb.p;
	return nb.oom || vb.oom ? -1 : 0;
}

int cc_store_s3_sign(const struct cc_s3_request *req,
		     const struct cc_s3_scope *scope, char sig[CC_S3_SIG_HEX],
		     char *signed_headers, size_t signed_len,
		     struct cc_err *err)
{
	struct enc_pair *h = calloc(req->nheaders ? req->nheaders : 1, sizeof(*h));
	struct buf creq = { 0 }, names = { 0 }, sts = { 0 }, secret = { 0 };
	char *cq = NULL, hash[CC_S3_SIG_HEX], date[9];
	unsigned char k1[32], k2[32];
	int ret = -1;

	if (!date_ok(scope->amz_date)) {
		cc_err_set(err, 500, "bad x-amz-date '%.20s'", scope->amz_date);
		goto out;
	}
	memcpy(date, scope->amz_date, 8);
	date[8] = '\0';
	if (!h || !(cq = cc_store_s3_canonical_query(req->query, req->nquery)))
		goto oom;
	for (size_t i = 0; i < req->nheaders; i++)
		if (canon_header(&req->headers[i], &h[i]) < 0)
			goto oom;
	qsort(h, req->nheaders, sizeof(*h), pair_cmp);
	buf_add(&names, "", 0);
	for (size_t i = 0; i < req->nheaders; i++) {
		if (i)
			buf_chr(&names, ';');
		buf_str(&names, h[i].name);
	}
	/* CanonicalRequest = method, URI, query, headers, signed names, hash */
	buf_str(&creq, req->method);
	buf_chr(&creq, '\n');
	buf_str(&creq, req->uri);
	buf_chr(&creq, '\n');
	buf_str(&creq, cq);
	buf_chr(&creq, '\n');
	for (size_t i = 0; i < req->nheaders; i++) {
		buf_str(&creq, h[i].name);
		buf_chr(&creq, ':');
		buf_str(&creq, h[i].value);
		buf_chr(&creq, '\n');
	}
	buf_chr(&creq, '\n');
	buf_str(&creq, names.p ? names.p : "");
	buf_chr(&creq, '\n');
	buf_str(&creq, req->payload_hash);
	if (creq.oom || names.oom || sha256_hex(creq.p, creq.len, hash) < 0)
		goto oom;
	/* StringToSign = algorithm, date, scope, hash of the request */
	buf_str(&sts, "AWS4-HMAC-SHA256\n");
	buf_str(&sts, scope->amz_date);
	buf_chr(&sts, '\n');
	buf_str(&sts, date);
	buf_chr(&sts, '/');
	buf_str(&sts, scope->region);
	buf_chr(&sts, '/');
	buf_str(&sts, scope->service);
	buf_str(&sts, "/aws4_request\n");
	buf_str(&sts, hash);
	/* kSigning = HMAC chain from "AWS4" + secret over date, region,
	 * service, "aws4_request". */
	buf_str(&secret, "AWS4");
	buf_str(&secret, scope->secret_key);
	if (sts.oom || secret.oom ||
	    hmac256(secret.p, secret.len, date, k1) < 0 ||
	    hmac256(k1, 32, scope->region, k2) < 0 ||
	    hmac256(k2, 32, scope->service, k1) < 0 ||
	    hmac256(k1, 32, "aws4_request", k2) < 0 ||
	    hmac256(k2, 32, sts.p, k1) < 0)
		goto oom;
	hex_of(k1, 32, sig);
	if (signed_headers) {
		if (names.len >= signed_len) {
			cc_err_set(err, 500, "signed header list too long");
			goto out;
		}
		memcpy(signed_headers, names.p, names.len + 1);
	}
	ret = 0;
	goto out;
oom:
	cc_err_set(err, 500, "out of memory signing an S3 request");
out:
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (secret.p)
		OPENSSL_cleanse(secret.p, secret.len);
	for (size_t i = 0; h && i < req->nheaders; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	free(cq);
	free(creq.p);
	free(names.p);
	free(sts.p);
	free(secret.p);
	return ret;
}

int cc_store_s3_authorization(const struct cc_s3_request *req,
			      const struct cc_s3_scope *scope, char *out,
			      size_t out_len, struct cc_err *err)
{
	char sig[CC_S3_SIG_HEX], names[1024];
	int n;

	if (cc_store_s3_sign(req, scope, sig, names, sizeof(names), err) < 0)
		return -1;
	n = snprintf(out, out_len, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/"
		     "aws4_request, SignedHeaders=%s, Signature=%s",
		     scope->access_key, scope->amz_date, scope->region,
		     scope->service, names, sig);
	if (n < 0 || (size_t)n >= out_len)
		return cc_err_set(err, 500, "Authorization header too long");
	return 0;
}

int cc_store_s3_presign(const char *host, const char *uri,
			const struct cc_s3_scope *scope, long expires,
			char *out, size_t out_len, struct cc_err *err)
{
	char cred[CC_STR_LEN * 2 + 64], expstr[24], sig[CC_S3_SIG_HEX];
	struct cc_s3_pair q[] = {
		{ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
		{ "X-Amz-Credential", cred },
		{ "X-Amz-Date", scope->amz_date },
		{ "X-Amz-Expires", expstr },
		{ "X-Amz-SignedHeaders", "host" },
	};
	struct cc_s3_pair hd[] = { { "host", host } };
	struct cc_s3_request req = {
		.method = "GET", .uri = uri, .query = q, .nquery = 5,
		.headers = hd, .nheaders = 1, .payload_hash = "UNSIGNED-PAYLOAD",
	};
	char *cq;
	int n;

	n = snprintf(cred, sizeof(cred), "%s/%.8s/%s/%s/aws4_request",
		     scope->access_key, scope->amz_date, scope->region,
		     scope->service);
	if (n < 0 || (size_t)n >= sizeof(cred))
		return cc_err_set(err, 500, "credential scope too long");
	snprintf(expstr, sizeof(expstr), "%ld", expires);
	if (cc_store_s3_sign(&req, scope, sig, NULL, 0, err) < 0)
		return -1;
	if (!(cq = cc_store_s3_canonical_query(q, 5)))
		return cc_err_set(err, 500, "out of memory");
	n = snprintf(out, out_len, "%s&X-Amz-Signature=%s", cq, sig);
	free(cq);
	if (n < 0 || (size_t)n >= out_len)
		return cc_err_set(err, 500, "presigned query too long");
	return 0;
}

/* ---- reading S3's XML answers --------------------------------------------- */

/* The text between <tag> and </tag>, searched in [p, end): start returned,
 * *stop set to the '<' of the closing tag. NULL if absent. */
static const char *xml_elem(const char *p, const char *end, const char *tag,
			    const char **stop)
{
	size_t tl = strlen(tag);

	for (; p + tl + 2 <= end; p++) {
		if (p[0] != '<' || strncmp(p + 1, tag, tl) || p[tl + 1] != '>')
			continue;
		const char *start = p + tl + 2;
		for (const char *q = start; q + tl + 3 <= end; q++) {
			if (q[0] == '<' && q[1] == '/' && !strncmp(q + 2, tag, tl) &&
			    q[tl + 2] == '>') {
				*stop = q;
				return start;
			}
		}
		return NULL;
	}
	return NULL;
}

static void utf8_put(struct buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_add(b, u, 4);
	}
}

/* Text content [p, end) with the five entities, character references and
 * CDATA sections resolved, into a new string (*out, caller frees). */
static int xml_text(const char *p, const char *end, char **out)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	struct buf b = { 0 };

	*out = NULL;
	buf_add(&b, "", 0);
	while (p < end) {
		if (*p == '<' && end - p >= 9 && !strncmp(p, "<![CDATA[", 9)) {
			const char *q = p + 9;
			while (q + 3 <= end && strncmp(q, "]]>", 3))
				q++;
			if (q + 3 > end)
				goto bad;
			buf_add(&b, p + 9, (size_t)(q - p - 9));
			p = q + 3;
		} else if (*p == '<') {
			goto bad;
		} else if (*p == '&') {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			size_t i, n;
			if (!semi || semi - p > 12)
				goto bad;
			n = (size_t)(semi - p);      /* "&...;" is n + 1 bytes */
			if (p[1] == '#') {
				int hx = p[2] == 'x' || p[2] == 'X';
				const char *d = p + 2 + hx;
				char *e;
				unsigned long cp;
				if (d == semi)
					goto bad;
				errno = 0;
				cp = strtoul(d, &e, hx ? 16 : 10);
				if (errno || e != semi || cp == 0 || cp > 0x10FFFF ||
				    (cp >= 0xD800 && cp <= 0xDFFF) || *d == '-' || *d == '+')
					goto bad;
				utf8_put(&b, cp);
			} else {
				for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
					if (strlen(ents[i].name) == n &&
					    !strncmp(p + 1, ents[i].name, n))
						break;
				if (i == sizeof(ents) / sizeof(ents[0]))
					goto bad;
				buf_chr(&b, ents[i].c);
			}
			p = semi + 1;
		} else {
			buf_chr(&b, *p++);
		}
	}
	if (b.oom)
		goto bad;
	*out = b.p;
	return 0;
bad:
	free(b.p);
	return -1;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In place: %XX to the byte, '+' to a space (S3's EncodingType url). */
static int url_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			int a = hexval((unsigned char)p[1]), b = a < 0 ? -1 :
				hexval((unsigned char)p[2]);
			if (b < 0 || (a == 0 && b == 0))
				return -1;
			*o++ = (char)(a * 16 + b);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

void cc_store_s3_list_cleanup(struct cc_s3_list *list)
{
	for (size_t i = 0; i < list->nkeys; i++)
		free(list->keys[i]);
	free(list->keys);
	free(list->next_token);
	memset(list, 0, sizeof(*list));
}

int cc_store_s3_list_parse(const char *xml, size_t len, struct cc_s3_list *out,
			   struct cc_err *err)
{
	const char *end = xml + len, *p = xml, *s, *stop;
	char *text = NULL;
	int urlenc = 0;

	memset(out, 0, sizeof(*out));
	if (!memmem(xml, len, "<ListBucketResult", 17))
		return cc_err_set(err, 502, "S3 answer is not a ListBucketResult");
	if ((s = xml_elem(xml, end, "EncodingType", &stop))) {
		if (xml_text(s, stop, &text) < 0)
			goto bad;
		urlenc = !strcmp(text, "url");
		free(text);
	}
	if ((s = xml_elem(xml, end, "IsTruncated", &stop)))
		out->truncated = stop - s == 4 && !strncmp(s, "true", 4);
	if ((s = xml_elem(xml, end, "NextContinuationToken", &stop)) &&
	    xml_text(s, stop, &out->next_token) < 0)
		goto bad;
	while ((s = xml_elem(p, end, "Contents", &stop))) {
		const char *c_end = stop, *k, *k_end;
		char **keys;
		p = stop + 11;                   /* past "</Contents>" */
		if (!(k = xml_elem(s, c_end, "Key", &k_end)))
			continue;
		if (xml_text(k, k_end, &text) < 0 || (urlenc && url_decode(text) < 0))
			goto bad;
		keys = realloc(out->keys, (out->nkeys + 1) * sizeof(*keys));
		if (!keys)
			goto bad;
		out->keys = keys;
		out->keys[out->nkeys++] = text;
		text = NULL;
	}
	return 0;
bad:
	free(text);
	return cc_err_set(err, 502, "S3 ListObjectsV2 answer: bad or unreadable "
			  "XML (or out of memory)");
}

/* <Code> and <Message> of an S3 error answer into code/msg ("" if none). */
static void error_fields(const char *body, size_t len, char *code, size_t cl,
			 char *msg, size_t ml)
{
	const char *end = body + len, *s, *stop;
	char *t;

	code[0] = msg[0] = '\0';
	if ((s = xml_elem(body, end, "Code", &stop)) && xml_text(s, stop, &t) == 0) {
		snprintf(code, cl, "%s", t);
		free(t);
	}
	if ((s = xml_elem(body, end, "Message", &stop)) && xml_text(s, stop, &t) == 0) {
		snprintf(msg, ml, "%s", t);
		free(t);
	}
}

/* ---- the endpoint and the HTTP calls ------------------------------------- */

struct s3 {
	const struct cc_config *cfg;
	char origin[CC_STR_LEN + 16];   /* "https://host[:port]" */
	char host[CC_STR_LEN];          /* Host header, default port dropped */
	char base[CC_STR_LEN];          /* endpoint path, "" or "/x" */
	CURL *curl;
};

static int s3_open(struct s3 *s, const struct cc_config *cfg, struct cc_err *err)
{
	const char *ep = cfg->s3_endpoint, *h, *slash;
	size_t scheme, hl;
	int https;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (!*cfg->s3_bucket || strchr(cfg->s3_bucket, '/'))
		return cc_err_set(err, 500, "s3_bucket '%.100s' is not a bucket name",
				  cfg->s3_bucket);
	if (!*cfg->aws_access_key || !*cfg->aws_secret_key)
		return cc_err_set(err, 500, "storage = s3 needs aws_access_key and "
				  "aws_secret_key");
	if (!*cfg->s3_region)
		return cc_err_set(err, 500, "storage = s3 needs s3_region");
	https = !strncasecmp(ep, "https://", 8);
	scheme = https ? 8 : !strncasecmp(ep, "http://", 7) ? 7 : 0;
	if (!scheme || strpbrk(ep, "?#@ "))
		return cc_err_set(err, 500, "s3_endpoint '%.100s' is not an "
				  "http(s)://host[:port][/path] URL", ep);
	h = ep + scheme;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (!hl || hl >= sizeof(s->host))
		return cc_err_set(err, 500, "s3_endpoint '%.100s' has no host", ep);
	memcpy(s->host, h, hl);
	s->host[hl] = '\0';
	/* Clients leave a default port out of Host; presigned URLs are
	 * checked against what they send. */
	if (hl > 3 && !strcmp(s->host + hl - 3, ":80") && !https)
		s->host[hl - 3] = '\0';
	if (hl > 4 && !strcmp(s->host + hl - 4, ":443") && https)
		s->host[hl - 4] = '\0';
	snprintf(s->origin, sizeof(s->origin), "%s%s", https ? "https://" : "http://",
		 s->host);
	snprintf(s->base, sizeof(s->base), "%s", slash ? slash : "");
	for (size_t n = strlen(s->base); n && s->base[n - 1] == '/'; n--)
		s->base[n - 1] = '\0';
	if (!(s->curl = curl_easy_init()))
		return cc_err_set(err, 500, "out of memory (curl)");
	return 0;
}

static void s3_close(struct s3 *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
}

/* "/base/bucket" or "/base/bucket/key", UriEncoded: the canonical URI and
 * the URL path at once (S3 does not normalize paths). */
static void object_uri(const struct s3 *s, const char *key, struct buf *b)
{
	buf_str(b, s->base);
	buf_chr(b, '/');
	buf_enc(b, s->cfg->s3_bucket, 0);
	if (key) {
		buf_chr(b, '/');
		buf_enc(b, key, 1);
	}
}

struct call {
	const char *method;
	const char *key;                   /* NULL: the bucket itself */
	const struct cc_s3_pair *query;
	size_t nquery;
	struct cc_s3_pair extra[4];        /* content-type, x-amz-acl, ... */
	size_t nextra;
	const char *payload_hash;
	int fd;                            /* PUT this file (size bytes) ... */
	long long size;
	const char *body;                  /* ... or POST this */
	size_t body_len;
};

struct answer {
	long status;
	struct buf body;
	char code[128];                    /* S3 error code, or "" */
	char msg[256];
};

struct reader {
	int fd;
	off_t off;
};

static size_t on_read(char *p, size_t size, size_t n, void *user)
{
	struct reader *r = user;
	ssize_t got;

	do
		got = pread(r->fd, p, size * n, r->off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return CURL_READFUNC_ABORT;
	r->off += got;
	return (size_t)got;
}

static int on_seek(void *user, curl_off_t off, int origin)
{
	struct reader *r = user;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	r->off = (off_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t n, void *user)
{
	struct buf *b = user;

	if (b->len + size * n > MAX_ANSWER)
		return 0;
	buf_add(b, p, size * n);
	return b->oom ? 0 : size * n;
}

static struct curl_slist *add_header(struct curl_slist *l, int *oom,
				     const char *name, const char *value)
{
	char line[2048];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	if (!(n = curl_slist_append(l, line)))
		*oom = 1;
	return n ? n : l;
}

/* Sign and send one request; the answer (any status) lands in *a. 0 when
 * an answer came, -1 with err set on transport failure. `what` names the
 * request in messages: method and URL without the query. */
static int call_once(struct s3 *s, const struct call *c, struct answer *a,
		     char *what, size_t what_len, struct cc_err *err)
{
	struct cc_s3_scope scope = {
		.access_key = s->cfg->aws_access_key,
		.secret_key = s->cfg->aws_secret_key,
		.region = s->cfg->s3_region, .service = "s3",
	};
	struct cc_s3_pair hd[8];
	struct cc_s3_request req = {
		.method = c->method, .query = c->query, .nquery = c->nquery,
		.headers = hd, .payload_hash = c->payload_hash,
	};
	struct reader rd = { .fd = c->fd, .off = 0 };
	struct buf uri = { 0 }, url = { 0 };
	struct curl_slist *hl = NULL;
	char auth[2048], *cq = NULL;
	CURL *cu = s->curl;
	CURLcode rc;
	int oom = 0, ret = -1;
	size_t nh = 0;

	memset(a, 0, sizeof(*a));
	cc_store_s3_scope_time(&scope, time(NULL));
	object_uri(s, c->key, &uri);
	cq = cc_store_s3_canonical_query(c->query, c->nquery);
	buf_str(&url, s->origin);
	buf_str(&url, uri.p ? uri.p : "");
	snprintf(what, what_len, "%s %s", c->method, url.p ? url.p : "");
	if (cq && *cq) {
		buf_chr(&url, '?');
		buf_str(&url, cq);
	}
	if (!cq || uri.oom || url.oom) {
		cc_err_set(err, 500, "out of memory");
		goto out;
	}
	hd[nh++] = (struct cc_s3_pair){ "host", s->host };
	hd[nh++] = (struct cc_s3_pair){ "x-amz-date", scope.amz_date };
	hd[nh++] = (struct cc_s3_pair){ "x-amz-content-sha256", c->payload_hash };
	for (size_t i = 0; i < c->nextra; i++)
		hd[nh++] = c->extra[i];
	req.uri = uri.p;
	req.nheaders = nh;
	if (cc_store_s3_authorization(&req, &scope, auth, sizeof(auth), err) < 0)
		goto out;
	for (size_t i = 0; i < nh; i++)
		hl = add_header(hl, &oom, hd[i].name, hd[i].value);
	hl = add_header(hl, &oom, "Authorization", auth);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (oom) {
		cc_err_set(err, 500, "out of memory");
		goto out;
	}
	curl_easy_reset(cu);
	curl_easy_setopt(cu, CURLOPT_URL, url.p);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, (long)s->cfg->connect_timeout);
	/* No total limit (files may be large): give up when stalled. */
	curl_easy_setopt(cu, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(cu, CURLOPT_LOW_SPEED_TIME, (long)s->cfg->server_timeout);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &a->body);
	if (c->fd >= 0) {
		curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(cu, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(cu, CURLOPT_READDATA, &rd);
		curl_easy_setopt(cu, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(cu, CURLOPT_SEEKDATA, &rd);
		curl_easy_setopt(cu, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->size);
	} else if (c->body) {
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
	} else if (strcmp(c->method, "GET")) {
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, c->method);
	}
	rc = curl_easy_perform(cu);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &a->status);
	if (rc != CURLE_OK) {
		cc_err_set(err, 502, "S3 %s: %s", what, curl_easy_strerror(rc));
		goto out;
	}
	if (a->status < 200 || a->status > 299)
		error_fields(a->body.p ? a->body.p : "", a->body.len, a->code,
			     sizeof(a->code), a->msg, sizeof(a->msg));
	cc_debug("s3: %s -> %ld", what, a->status);
	ret = 0;
out:
	curl_slist_free_all(hl);
	free(uri.p);
	free(url.p);
	free(cq);
	return ret;
}

/* call_once, tried again (signed anew) after a transport failure or a
 * 500/502/503/504, as S3 asks of its clients: every request here is
 * idempotent. At most TRIES attempts, 0.1 s then 0.4 s apart. */
#define TRIES 3
static int s3_call(struct s3 *s, const struct call *c, struct answer *a,
		   char *what, size_t what_len, struct cc_err *err)
{
	for (int i = 1;; i++) {
		int rc = call_once(s, c, a, what, what_len, err);
		int again = rc < 0 ? err && err->code == 502 :
			    a->status == 500 || a->status == 502 ||
			    a->status == 503 || a->status == 504;
		if (!again || i == TRIES)
			return rc;
		if (rc < 0)
			cc_info("%s; trying again", err->msg);
		else
			cc_info("S3 %s: HTTP %ld %s; trying again", what, a->status,
				a->code);
		free(a->body.p);
		a->body.p = NULL;
		usleep(100000u << (2 * (i - 1)));
	}
}

static int answer_error(const char *what, const struct answer *a,
			struct cc_err *err)
{
	return cc_err_set(err, 502, "S3 %s: HTTP %ld%s%s%s%s", what, a->status,
			  a->code[0] ? " " : "", a->code, a->msg[0] ? ": " : "",
			  a->msg);
}

/* ---- save ----------------------------------------------------------------- */

static const char *content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ "txt", "text/plain" }, { "text", "text/plain" },
		{ "log", "text/plain" }, { "csv", "text/csv" },
		{ "htm", "text/html" }, { "html", "text/html" },
		{ "css", "text/css" }, { "js", "application/javascript" },
		{ "json", "application/json" }, { "xml", "application/xml" },
		{ "pdf", "application/pdf" }, { "png", "image/png" },
		{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
		{ "gif", "image/gif" }, { "tif", "image/tiff" },
		{ "tiff", "image/tiff" }, { "bmp", "image/bmp" },
		{ "webp", "image/webp" }, { "svg", "image/svg+xml" },
		{ "ppm", "image/x-portable-pixmap" },
		{ "pgm", "image/x-portable-graymap" },
		{ "pbm", "image/x-portable-bitmap" },
		{ "pnm", "image/x-portable-anymap" },
		{ "zip", "application/zip" }, { "tar", "application/x-tar" },
		{ "gz", "application/gzip" }, { "tgz", "application/gzip" },
		{ "mp3", "audio/mpeg" }, { "wav", "audio/wav" },
		{ "ogg", "audio/ogg" }, { "mp4", "video/mp4" },
		{ "webm", "video/webm" },
	};
	const char *dot = strrchr(name, '.');

	if (dot && dot != name)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static int file_sha256(int fd, char out[CC_S3_SIG_HEX])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32], chunk[65536];
	unsigned int len = 0;
	off_t off = 0;
	int ret = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, chunk, (size_t)n))
			goto out;
		off += n;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &len) || len != 32)
		goto out;
	hex_of(md, 32, out);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int cc_store_s3_save(const struct cc_config *cfg, const char *action,
		     long long job_id, long long unit_id, const char *path,
		     const char *name, char *url, size_t url_len,
		     struct cc_err *err)
{
	struct s3 s = { 0 };
	struct call c = { .method = "PUT", .fd = -1 };
	struct answer a = { 0 };
	struct buf key = { 0 }, uri = { 0 }, out = { 0 };
	char hash[CC_S3_SIG_HEX], what[1024] = "";
	struct stat st;
	int ret = -1;

	if (!cc_action_name_valid(action) || !*name || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return cc_err_set(err, 400, "cannot store '%.100s' for action "
				  "'%.80s'", name, action);
	if (s3_open(&s, cfg, err) < 0)
		goto out;
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0) {
		cc_err_set(err, 400, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(c.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cc_err_set(err, 400, "cannot save %s: not a regular file", path);
		goto out;
	}
	if (file_sha256(c.fd, hash) < 0) {
		cc_err_set(err, 500, "reading %s: %s", path, strerror(errno));
		goto out;
	}
	buf_str(&key, action);
	buf_str(&key, "/job_");
	{
		char ids[64];
		snprintf(ids, sizeof(ids), "%lld/unit_%lld/", job_id, unit_id);
		buf_str(&key, ids);
	}
	buf_str(&key, name);
	if (key.oom) {
		cc_err_set(err, 500, "out of memory");
		goto out;
	}
	c.key = key.p;
	c.size = (long long)st.st_size;
	c.payload_hash = hash;
	c.extra[c.nextra++] = (struct cc_s3_pair){ "content-type", content_type(name) };
	/* Public objects, as the original did, unless URLs are presigned. */
	if (!cfg->s3_authentication)
		c.extra[c.nextra++] = (struct cc_s3_pair){ "x-amz-acl", "public-read" };
	if (s3_call(&s, &c, &a, what, sizeof(what), err) < 0)
		goto out;
	if (a.status == 400 && !strcmp(a.code, "AccessControlListNotSupported") &&
	    c.nextra == 2) {
		/* The bucket enforces owner-only ACLs: its policy decides who
		 * reads. Store without the ACL. */
		cc_debug("s3: bucket %s refuses ACLs; storing without x-amz-acl",
			 cfg->s3_bucket);
		c.nextra = 1;
		free(a.body.p);
		if (s3_call(&s, &c, &a, what, sizeof(what), err) < 0)
			goto out;
	}
	if (a.status < 200 || a.status > 299) {
		answer_error(what, &a, err);
		goto out;
	}
	object_uri(&s, key.p, &uri);
	buf_str(&out, s.origin);
	buf_str(&out, uri.p ? uri.p : "");
	if (cfg->s3_authentication && !uri.oom && !out.oom) {
		struct cc_s3_scope scope = {
			.access_key = cfg->aws_access_key,
			.secret_key = cfg->aws_secret_key,
			.region = cfg->s3_region, .service = "s3",
		};
		char q[CC_STR_LEN * 2 + 512];
		cc_store_s3_scope_time(&scope, time(NULL));
		if (cc_store_s3_presign(s.host, uri.p, &scope, CC_S3_PRESIGN_EXPIRES,
					q, sizeof(q), err) < 0)
			goto out;
		buf_chr(&out, '?');
		buf_str(&out, q);
	}
	if (uri.oom || out.oom) {
		cc_err_set(err, 500, "out of memory");
		goto out;
	}
	if (out.len >= url_len) {
		cc_err_set(err, 500, "URL of %.100s is too long (%zu bytes)", name,
			   out.len);
		goto out;
	}
	memcpy(url, out.p, out.len + 1);
	cc_debug("s3: stored %s (%lld bytes)", key.p, c.size);
	ret = 0;
out:
	if (c.fd >= 0)
		close(c.fd);
	s3_close(&s);
	free(a.body.p);
	free(key.p);
	free(uri.p);
	free(out.p);
	return ret;
}

/* ---- delete_job ----------------------------------------------------------- */

static void xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_str(b, "&amp;"); break;
		case '<': buf_str(b, "&lt;"); break;
		case '>': buf_str(b, "&gt;"); break;
		default: buf_chr(b, *s);
		}
	}
}

/* XML 1.0 cannot carry control characters (and parsers fold \r): such a
 * key is deleted on its own. */
static int xml_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static int delete_one(struct s3 *s, const char *key, struct cc_err *err)
{
	struct call c = { .method = "DELETE", .key = key, .fd = -1,
			  .payload_hash = EMPTY_SHA256 };
	struct answer a = { 0 };
	char what[1024];
	int ret = -1;

	if (s3_call(s, &c, &a, what, sizeof(what), err) < 0)
		goto out;
	if (a.status != 204 && a.status != 200 && a.status != 404) {
		answer_error(what, &a, err);
		goto out;
	}
	ret = 0;
out:
	free(a.body.p);
	return ret;
}

/* One DeleteObjects request for the XML-safe keys of a page (Quiet: the
 * answer lists only failures), then DELETE for the others. */
static int delete_page(struct s3 *s, const struct cc_s3_list *l,
		       struct cc_err *err)
{
	struct cc_s3_pair q[] = { { "delete", "" } };
	struct call c = { .method = "POST", .query = q, .nquery = 1, .fd = -1 };
	struct answer a = { 0 };
	struct buf body = { 0 };
	unsigned char md5[16];
	unsigned int md5_len = 0;
	char hash[CC_S3_SIG_HEX], b64[32], what[1024];
	const char *e, *stop, *bp;
	size_t batch = 0;
	int ret = -1;

	buf_str(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
	for (size_t i = 0; i < l->nkeys; i++) {
		if (!xml_safe(l->keys[i]))
			continue;
		buf_str(&body, "<Object><Key>");
		xml_escape(&body, l->keys[i]);
		buf_str(&body, "</Key></Object>");
		batch++;
	}
	buf_str(&body, "</Delete>");
	if (body.oom) {
		cc_err_set(err, 500, "out of memory");
		goto out;
	}
	if (batch) {
		/* S3 wants Content-MD5 (or a checksum) on DeleteObjects. */
		if (!EVP_Digest(body.p, body.len, md5, &md5_len, EVP_md5(), NULL) ||
		    sha256_hex(body.p, body.len, hash) < 0) {
			cc_err_set(err, 500, "hashing the DeleteObjects body failed");
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, md5, (int)md5_len);
		c.extra[c.nextra++] = (struct cc_s3_pair){ "content-md5", b64 };
		c.extra[c.nextra++] = (struct cc_s3_pair){ "content-type", "application/xml" };
		c.payload_hash = hash;
		c.body = body.p;
		c.body_len = body.len;
		if (s3_call(s, &c, &a, what, sizeof(what), err) < 0)
			goto out;
		if (a.status != 200) {
			answer_error(what, &a, err);
			goto out;
		}
		bp = a.body.p ? a.body.p : "";
		if ((e = xml_elem(bp, bp + a.body.len, "Error", &stop))) {
			char code[128], msg[256], *k = NULL;
			const char *ks, *kstop;
			error_fields(e, (size_t)(stop - e), code, sizeof(code), msg,
				     sizeof(msg));
			if ((ks = xml_elem(e, stop, "Key", &kstop)))
				xml_text(ks, kstop, &k);
			cc_err_set(err, 502, "S3 %s: cannot delete %.200s: %s%s%s", what,
				   k ? k : "?", code, msg[0] ? ": " : "", msg);
			free(k);
			goto out;
		}
	}
	for (size_t i = 0; i < l->nkeys; i++)
		if (!xml_safe(l->keys[i]) && delete_one(s, l->keys[i], err) < 0)
			goto out;
	ret = 0;
out:
	free(a.body.p);
	free(body.p);
	return ret;
}

int cc_store_s3_delete_job(const struct cc_config *cfg, const char *action,
			   long long job_id, struct cc_err *err)
{
	struct s3 s = { 0 };
	struct cc_s3_list l = { 0 };
	struct answer a = { 0 };
	char prefix[128], what[1024], *token = NULL;
	size_t total = 0;
	int ret = -1;

	if (!cc_action_name_valid(action) || job_id <= 0)
		return cc_err_set(err, 400, "invalid action '%.80s' or job %lld",
				  action ? action : "", job_id);
	snprintf(prefix, sizeof(prefix), "%s/job_%lld/", action, job_id);
	if (s3_open(&s, cfg, err) < 0)
		goto out;
	for (;;) {
		/* encoding-type=url: keys come back percent-encoded, so even
		 * control characters survive the XML. */
		struct cc_s3_pair q[] = {
			{ "list-type", "2" }, { "prefix", prefix },
			{ "encoding-type", "url" }, { "continuation-token", token },
		};
		struct call c = { .method = "GET", .query = q, .nquery = token ? 4 : 3,
				  .fd = -1, .payload_hash = EMPTY_SHA256 };
		if (s3_call(&s, &c, &a, what, sizeof(what), err) < 0)
			goto out;
		if (a.status != 200) {
			answer_error(what, &a, err);
			goto out;
		}
		if (cc_store_s3_list_parse(a.body.p ? a.body.p : "", a.body.len, &l,
					   err) < 0)
			goto out;
		free(a.body.p);
		a.body.p = NULL;
		/* Never touch what is outside the job's folder, whatever the
		 * server answered. */
		for (size_t i = 0; i < l.nkeys; i++) {
			if (strncmp(l.keys[i], prefix, strlen(prefix))) {
				cc_err_set(err, 502, "S3 listed %.200s for prefix %s",
					   l.keys[i], prefix);
				goto out;
			}
		}
		if (l.nkeys && delete_page(&s, &l, err) < 0)
			goto out;
		total += l.nkeys;
		if (!l.truncated)
			break;
		if (!l.next_token || (token && !strcmp(token, l.next_token))) {
			cc_err_set(err, 502, "S3 %s: truncated listing without a new "
				   "continuation token", what);
			goto out;
		}
		free(token);
		token = l.next_token;
		l.next_token = NULL;
		cc_store_s3_list_cleanup(&l);
	}
	cc_debug("s3: deleted %zu object(s) under %s", total, prefix);
	ret = 0;
out:
	cc_store_s3_list_cleanup(&l);
	free(a.body.p);
	free(token);
	s3_close(&s);
	return ret;
}
