/* sigv4.c - AWS Signature Version 4 (see sigv4.h): UriEncode, the SHA-256
 * and HMAC-SHA256 helpers (OpenSSL EVP), the canonical request, the string
 * to sign and the signing-key chain, for an Authorization header or a
 * presigned query. Everything is built in growing strings and works on
 * what the caller passes: no clock and no network, so the tests check it
 * against AWS's published examples. Key material is cleansed on the way
 * out. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"
#include "store/sigv4.h"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* ---- UriEncode ------------------------------------------------------------ */

void cc_sigv4_uri_append(struct cc_strbuf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (unreserved(*q) || (keep_slash && *q == '/')) {
			cc_strbuf_putc(b, (char)*q);
		} else {
			char e[3] = { '%', hex[*q >> 4], hex[*q & 15] };
			cc_strbuf_put(b, e, 3);
		}
	}
}

long cc_sigv4_uri_encode(const char *s, int keep_slash, char *out,
			 size_t out_len)
{
	struct cc_strbuf b = { 0 };
	long n;

	cc_sigv4_uri_append(&b, s, keep_slash);
	cc_strbuf_put(&b, "", 0);
	n = (!b.oom && b.len < out_len) ? (long)b.len : -1;
	if (n >= 0)
		memcpy(out, b.data, b.len + 1);
	free(b.data);
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

int cc_sigv4_sha256_hex(const void *data, size_t n,
			char out[CC_SIGV4_SIG_HEX])
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

int cc_sigv4_sha256_file(int fd, char out[CC_SIGV4_SIG_HEX])
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

/* ---- Signature Version 4 -------------------------------------------------- */

void cc_sigv4_scope_time(struct cc_sigv4_scope *scope, time_t t)
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

char *cc_sigv4_canonical_query(const struct cc_sigv4_pair *query, size_t n)
{
	struct enc_pair *p = calloc(n ? n : 1, sizeof(*p));
	struct cc_strbuf out = { 0 };
	int ok = p != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		struct cc_strbuf nb = { 0 }, vb = { 0 };
		cc_sigv4_uri_append(&nb, query[i].name, 0);
		cc_strbuf_put(&nb, "", 0);
		cc_sigv4_uri_append(&vb, query[i].value ? query[i].value : "", 0);
		cc_strbuf_put(&vb, "", 0);
		p[i].name = nb.data;
		p[i].value = vb.data;
		ok = !nb.oom && !vb.oom;
	}
	if (ok) {
		qsort(p, n, sizeof(*p), pair_cmp);
		cc_strbuf_put(&out, "", 0);
		for (size_t i = 0; i < n; i++) {
			if (i)
				cc_strbuf_putc(&out, '&');
			cc_strbuf_puts(&out, p[i].name);
			cc_strbuf_putc(&out, '=');
			cc_strbuf_puts(&out, p[i].value);
		}
		ok = !out.oom;
	}
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
	if (!ok) {
		free(out.data);
		return NULL;
	}
	return out.data;
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
static int canon_header(const struct cc_sigv4_pair *h, struct enc_pair *out)
{
	struct cc_strbuf nb = { 0 }, vb = { 0 };
	const char *v = h->value ? h->value : "";
	int space = 0;

	for (const char *q = h->name; *q; q++)
		cc_strbuf_putc(&nb, (*q >= 'A' && *q <= 'Z') ? (char)(*q + 32) : *q);
	cc_strbuf_put(&nb, "", 0);
	cc_strbuf_put(&vb, "", 0);
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			cc_strbuf_putc(&vb, ' ');
		space = 0;
		cc_strbuf_putc(&vb, *v);
	}
	out->name = nb.data;
	out->value = vb.data;
	return nb.oom || vb.oom ? -1 : 0;
}

int cc_sigv4_sign(const struct cc_sigv4_request *req,
		  const struct cc_sigv4_scope *scope, char sig[CC_SIGV4_SIG_HEX],
		  char *signed_headers, size_t signed_len, struct cc_err *err)
{
	struct enc_pair *h = calloc(req->nheaders ? req->nheaders : 1, sizeof(*h));
	struct cc_strbuf creq = { 0 }, names = { 0 }, sts = { 0 }, secret = { 0 };
	char *cq = NULL, hash[CC_SIGV4_SIG_HEX], date[9];
	unsigned char k1[32], k2[32];
	int ret = -1;

	if (!date_ok(scope->amz_date)) {
		cc_err_set(err, CC_ERR_INTERNAL, "bad x-amz-date '%.20s'", scope->amz_date);
		goto out;
	}
	memcpy(date, scope->amz_date, 8);
	date[8] = '\0';
	if (!h || !(cq = cc_sigv4_canonical_query(req->query, req->nquery)))
		goto oom;
	for (size_t i = 0; i < req->nheaders; i++)
		if (canon_header(&req->headers[i], &h[i]) < 0)
			goto oom;
	qsort(h, req->nheaders, sizeof(*h), pair_cmp);
	cc_strbuf_put(&names, "", 0);
	for (size_t i = 0; i < req->nheaders; i++) {
		if (i)
			cc_strbuf_putc(&names, ';');
		cc_strbuf_puts(&names, h[i].name);
	}
	/* CanonicalRequest = method, URI, query, headers, signed names, hash */
	cc_strbuf_puts(&creq, req->method);
	cc_strbuf_putc(&creq, '\n');
	cc_strbuf_puts(&creq, req->uri);
	cc_strbuf_putc(&creq, '\n');
	cc_strbuf_puts(&creq, cq);
	cc_strbuf_putc(&creq, '\n');
	for (size_t i = 0; i < req->nheaders; i++) {
		cc_strbuf_puts(&creq, h[i].name);
		cc_strbuf_putc(&creq, ':');
		cc_strbuf_puts(&creq, h[i].value);
		cc_strbuf_putc(&creq, '\n');
	}
	cc_strbuf_putc(&creq, '\n');
	cc_strbuf_puts(&creq, names.data ? names.data : "");
	cc_strbuf_putc(&creq, '\n');
	cc_strbuf_puts(&creq, req->payload_hash);
	if (creq.oom || names.oom ||
	    cc_sigv4_sha256_hex(creq.data, creq.len, hash) < 0)
		goto oom;
	/* StringToSign = algorithm, date, scope, hash of the request */
	cc_strbuf_puts(&sts, "AWS4-HMAC-SHA256\n");
	cc_strbuf_puts(&sts, scope->amz_date);
	cc_strbuf_putc(&sts, '\n');
	cc_strbuf_puts(&sts, date);
	cc_strbuf_putc(&sts, '/');
	cc_strbuf_puts(&sts, scope->region);
	cc_strbuf_putc(&sts, '/');
	cc_strbuf_puts(&sts, scope->service);
	cc_strbuf_puts(&sts, "/aws4_request\n");
	cc_strbuf_puts(&sts, hash);
	/* kSigning = HMAC chain from "AWS4" + secret over date, region,
	 * service, "aws4_request". */
	cc_strbuf_puts(&secret, "AWS4");
	cc_strbuf_puts(&secret, scope->secret_key);
	if (sts.oom || secret.oom ||
	    hmac256(secret.data, secret.len, date, k1) < 0 ||
	    hmac256(k1, 32, scope->region, k2) < 0 ||
	    hmac256(k2, 32, scope->service, k1) < 0 ||
	    hmac256(k1, 32, "aws4_request", k2) < 0 ||
	    hmac256(k2, 32, sts.data, k1) < 0)
		goto oom;
	hex_of(k1, 32, sig);
	if (signed_headers) {
		if (names.len >= signed_len) {
			cc_err_set(err, CC_ERR_INTERNAL, "signed header list too long");
			goto out;
		}
		memcpy(signed_headers, names.data, names.len + 1);
	}
	ret = 0;
	goto out;
oom:
	cc_err_set(err, CC_ERR_INTERNAL, "out of memory signing an S3 request");
out:
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (secret.data)
		OPENSSL_cleanse(secret.data, secret.len);
	for (size_t i = 0; h && i < req->nheaders; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	free(cq);
	free(creq.data);
	free(names.data);
	free(sts.data);
	free(secret.data);
	return ret;
}

int cc_sigv4_authorization(const struct cc_sigv4_request *req,
			   const struct cc_sigv4_scope *scope, char *out,
			   size_t out_len, struct cc_err *err)
{
	char sig[CC_SIGV4_SIG_HEX], names[1024];
	int n;

	if (cc_sigv4_sign(req, scope, sig, names, sizeof(names), err) < 0)
		return -1;
	n = snprintf(out, out_len, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/"
		     "aws4_request, SignedHeaders=%s, Signature=%s",
		     scope->access_key, scope->amz_date, scope->region,
		     scope->service, names, sig);
	if (n < 0 || (size_t)n >= out_len)
		return cc_err_set(err, CC_ERR_INTERNAL, "Authorization header too long");
	return 0;
}

int cc_sigv4_presign(const char *host, const char *uri,
		     const struct cc_sigv4_scope *scope, long expires, char *out,
		     size_t out_len, struct cc_err *err)
{
	char cred[CC_STR_LEN * 2 + 64], expstr[24], sig[CC_SIGV4_SIG_HEX];
	struct cc_sigv4_pair q[] = {
		{ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
		{ "X-Amz-Credential", cred },
		{ "X-Amz-Date", scope->amz_date },
		{ "X-Amz-Expires", expstr },
		{ "X-Amz-SignedHeaders", "host" },
	};
	struct cc_sigv4_pair hd[] = { { "host", host } };
	struct cc_sigv4_request req = {
		.method = "GET", .uri = uri, .query = q, .nquery = 5,
		.headers = hd, .nheaders = 1, .payload_hash = "UNSIGNED-PAYLOAD",
	};
	char *cq;
	int n;

	n = snprintf(cred, sizeof(cred), "%s/%.8s/%s/%s/aws4_request",
		     scope->access_key, scope->amz_date, scope->region,
		     scope->service);
	if (n < 0 || (size_t)n >= sizeof(cred))
		return cc_err_set(err, CC_ERR_INTERNAL, "credential scope too long");
	snprintf(expstr, sizeof(expstr), "%ld", expires);
	if (cc_sigv4_sign(&req, scope, sig, NULL, 0, err) < 0)
		return -1;
	if (!(cq = cc_sigv4_canonical_query(q, 5)))
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	n = snprintf(out, out_len, "%s&X-Amz-Signature=%s", cq, sig);
	free(cq);
	if (n < 0 || (size_t)n >= out_len)
		return cc_err_set(err, CC_ERR_INTERNAL, "presigned query too long");
	return 0;
}
