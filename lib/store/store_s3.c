/* store_s3.c - the S3 asset store (see store_s3.h): signed requests over
 * libcurl, path-style URLs (endpoint/bucket/key), so any S3-compatible
 * server works without DNS tricks. Each request signs (sigv4.c) host,
 * x-amz-date, x-amz-content-sha256 and any x-amz-/content- headers it
 * sends; a save hashes the file in one pass and streams it in a second, so
 * memory stays flat whatever the size and the server can verify the body.
 * Answers are read by s3_xml.c. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/action.h"
#include "core/log.h"
#include "store/s3_xml.h"
#include "store/sigv4.h"
#include "store/store_s3.h"
#include "core/strbuf.h"
#include "core/version.h"

#define MAX_ANSWER (32 * 1024 * 1024)   /* bytes of an S3 answer kept */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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
		return cc_err_set(err, CC_ERR_INTERNAL, "s3_bucket '%.100s' is not a bucket name",
				  cfg->s3_bucket);
	if (!*cfg->aws_access_key || !*cfg->aws_secret_key)
		return cc_err_set(err, CC_ERR_INTERNAL, "storage = s3 needs aws_access_key and "
				  "aws_secret_key");
	if (!*cfg->s3_region)
		return cc_err_set(err, CC_ERR_INTERNAL, "storage = s3 needs s3_region");
	https = !strncasecmp(ep, "https://", 8);
	scheme = https ? 8 : !strncasecmp(ep, "http://", 7) ? 7 : 0;
	if (!scheme || strpbrk(ep, "?#@ "))
		return cc_err_set(err, CC_ERR_INTERNAL, "s3_endpoint '%.100s' is not an "
				  "http(s)://host[:port][/path] URL", ep);
	h = ep + scheme;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (!hl || hl >= sizeof(s->host))
		return cc_err_set(err, CC_ERR_INTERNAL, "s3_endpoint '%.100s' has no host", ep);
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
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory (curl)");
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
static void object_uri(const struct s3 *s, const char *key,
		       struct cc_strbuf *b)
{
	cc_strbuf_puts(b, s->base);
	cc_strbuf_putc(b, '/');
	cc_sigv4_uri_append(b, s->cfg->s3_bucket, 0);
	if (key) {
		cc_strbuf_putc(b, '/');
		cc_sigv4_uri_append(b, key, 1);
	}
}

struct call {
	const char *method;
	const char *key;                   /* NULL: the bucket itself */
	const struct cc_sigv4_pair *query;
	size_t nquery;
	struct cc_sigv4_pair extra[4];     /* content-type, x-amz-acl, ... */
	size_t nextra;
	const char *payload_hash;
	int fd;                            /* PUT this file (size bytes) ... */
	long long size;
	const char *body;                  /* ... or POST this */
	size_t body_len;
};

struct answer {
	long status;
	struct cc_strbuf body;
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
	struct cc_strbuf *b = user;

	if (b->len + size * n > MAX_ANSWER)
		return 0;
	cc_strbuf_put(b, p, size * n);
	return b->oom ? 0 : size * n;
}

/* Append "name: value" to l. On failure l comes back as it was and *fail
 * is set: HDR_OOM, or HDR_LONG when the line would not fit (never sent
 * cut: a cut header would fail the signature, or worse, not). */
enum { HDR_OOM = 1, HDR_LONG = 2 };

static struct curl_slist *add_header(struct curl_slist *l, int *fail,
				     const char *name, const char *value)
{
	char line[2048];
	struct curl_slist *n;
	int len = snprintf(line, sizeof(line), "%s: %s", name, value);

	if (len < 0 || (size_t)len >= sizeof(line)) {
		*fail = HDR_LONG;
		return l;
	}
	if (!(n = curl_slist_append(l, line)))
		*fail = HDR_OOM;
	return n ? n : l;
}

/* Sign and send one request; the answer (any status) lands in *a. 0 when
 * an answer came, -1 with err set on transport failure. `what` names the
 * request in messages: method and URL without the query. */
static int call_once(struct s3 *s, const struct call *c, struct answer *a,
		     char *what, size_t what_len, struct cc_err *err)
{
	struct cc_sigv4_scope scope = {
		.access_key = s->cfg->aws_access_key,
		.secret_key = s->cfg->aws_secret_key,
		.region = s->cfg->s3_region, .service = "s3",
	};
	struct cc_sigv4_pair hd[8];
	struct cc_sigv4_request req = {
		.method = c->method, .query = c->query, .nquery = c->nquery,
		.headers = hd, .payload_hash = c->payload_hash,
	};
	struct reader rd = { .fd = c->fd, .off = 0 };
	struct cc_strbuf uri = { 0 }, url = { 0 };
	struct curl_slist *hl = NULL;
	char auth[2048], *cq = NULL;
	CURL *cu = s->curl;
	CURLcode rc;
	int oom = 0, ret = -1;
	size_t nh = 0;

	memset(a, 0, sizeof(*a));
	cc_sigv4_scope_time(&scope, time(NULL));
	object_uri(s, c->key, &uri);
	cq = cc_sigv4_canonical_query(c->query, c->nquery);
	cc_strbuf_puts(&url, s->origin);
	cc_strbuf_puts(&url, uri.data ? uri.data : "");
	snprintf(what, what_len, "%s %s", c->method, url.data ? url.data : "");
	if (cq && *cq) {
		cc_strbuf_putc(&url, '?');
		cc_strbuf_puts(&url, cq);
	}
	if (!cq || uri.oom || url.oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	hd[nh++] = (struct cc_sigv4_pair){ "host", s->host };
	hd[nh++] = (struct cc_sigv4_pair){ "x-amz-date", scope.amz_date };
	hd[nh++] = (struct cc_sigv4_pair){ "x-amz-content-sha256", c->payload_hash };
	for (size_t i = 0; i < c->nextra; i++)
		hd[nh++] = c->extra[i];
	req.uri = uri.data;
	req.nheaders = nh;
	if (cc_sigv4_authorization(&req, &scope, auth, sizeof(auth), err) < 0)
		goto out;
	for (size_t i = 0; i < nh; i++)
		hl = add_header(hl, &oom, hd[i].name, hd[i].value);
	hl = add_header(hl, &oom, "Authorization", auth);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (oom == HDR_LONG) {
		cc_err_set(err, CC_ERR_INTERNAL, "S3 %s: a request header is longer than "
			   "2047 bytes", what);
		goto out;
	}
	if (oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	curl_easy_reset(cu);
	curl_easy_setopt(cu, CURLOPT_URL, url.data);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_USERAGENT, CC_USER_AGENT);
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
		cc_err_set(err, CC_ERR_UPSTREAM, "S3 %s: %s", what, curl_easy_strerror(rc));
		goto out;
	}
	if (a->status < 200 || a->status > 299)
		cc_s3_xml_error_fields(a->body.data ? a->body.data : "", a->body.len,
				       a->code, sizeof(a->code), a->msg,
				       sizeof(a->msg));
	cc_debug("s3: %s -> %ld", what, a->status);
	ret = 0;
out:
	curl_slist_free_all(hl);
	free(uri.data);
	free(url.data);
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
		int again = rc < 0 ? err && err->kind == CC_ERR_UPSTREAM :
			    a->status == 500 || a->status == 502 ||
			    a->status == 503 || a->status == 504;
		if (!again || i == TRIES)
			return rc;
		if (rc < 0)
			cc_info("%s; trying again", err->msg);
		else
			cc_info("S3 %s: HTTP %ld %s; trying again", what, a->status,
				a->code);
		free(a->body.data);
		a->body.data = NULL;
		usleep(100000u << (2 * (i - 1)));
	}
}

static int answer_error(const char *what, const struct answer *a,
			struct cc_err *err)
{
	return cc_err_set(err, CC_ERR_UPSTREAM, "S3 %s: HTTP %ld%s%s%s%s", what, a->status,
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

int cc_store_s3_save(const struct cc_config *cfg,
		     const struct cc_store_key *key, const char *path,
		     const char *name, char *url, size_t url_len,
		     struct cc_err *err)
{
	struct s3 s = { 0 };
	struct call c = { .method = "PUT", .fd = -1 };
	struct answer a = { 0 };
	struct cc_strbuf obj = { 0 }, uri = { 0 }, out = { 0 };
	char hash[CC_SIGV4_SIG_HEX], what[1024] = "";
	struct stat st;
	int ret = -1;

	if (!cc_action_name_valid(key->action) || !*name || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot store '%.100s' for action "
				  "'%.80s'", name, key->action ? key->action : "");
	if (s3_open(&s, cfg, err) < 0)
		goto out;
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(c.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot save %s: not a regular file", path);
		goto out;
	}
	if (cc_sigv4_sha256_file(c.fd, hash) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "reading %s: %s", path, strerror(errno));
		goto out;
	}
	cc_strbuf_puts(&obj, key->action);
	cc_strbuf_puts(&obj, "/job_");
	{
		char ids[64];
		snprintf(ids, sizeof(ids), "%lld/unit_%lld/", key->job_id,
			 key->unit_id);
		cc_strbuf_puts(&obj, ids);
	}
	cc_strbuf_puts(&obj, name);
	if (obj.oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	c.key = obj.data;
	c.size = (long long)st.st_size;
	c.payload_hash = hash;
	c.extra[c.nextra++] = (struct cc_sigv4_pair){ "content-type", content_type(name) };
	/* Public objects, as the original did, unless URLs are presigned. */
	if (!cfg->s3_authentication)
		c.extra[c.nextra++] = (struct cc_sigv4_pair){ "x-amz-acl", "public-read" };
	if (s3_call(&s, &c, &a, what, sizeof(what), err) < 0)
		goto out;
	if (a.status == 400 && !strcmp(a.code, "AccessControlListNotSupported") &&
	    c.nextra == 2) {
		/* The bucket enforces owner-only ACLs: its policy decides who
		 * reads. Store without the ACL. */
		cc_debug("s3: bucket %s refuses ACLs; storing without x-amz-acl",
			 cfg->s3_bucket);
		c.nextra = 1;
		free(a.body.data);
		if (s3_call(&s, &c, &a, what, sizeof(what), err) < 0)
			goto out;
	}
	if (a.status < 200 || a.status > 299) {
		answer_error(what, &a, err);
		goto out;
	}
	object_uri(&s, obj.data, &uri);
	cc_strbuf_puts(&out, s.origin);
	cc_strbuf_puts(&out, uri.data ? uri.data : "");
	if (cfg->s3_authentication && !uri.oom && !out.oom) {
		struct cc_sigv4_scope scope = {
			.access_key = cfg->aws_access_key,
			.secret_key = cfg->aws_secret_key,
			.region = cfg->s3_region, .service = "s3",
		};
		char q[CC_STR_LEN * 2 + 512];
		cc_sigv4_scope_time(&scope, time(NULL));
		if (cc_sigv4_presign(s.host, uri.data, &scope,
				     CC_SIGV4_PRESIGN_EXPIRES, q, sizeof(q), err) < 0)
			goto out;
		cc_strbuf_putc(&out, '?');
		cc_strbuf_puts(&out, q);
	}
	if (uri.oom || out.oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (out.len >= url_len) {
		cc_err_set(err, CC_ERR_INTERNAL, "URL of %.100s is too long (%zu bytes)", name,
			   out.len);
		goto out;
	}
	memcpy(url, out.data, out.len + 1);
	cc_debug("s3: stored %s (%lld bytes)", obj.data, c.size);
	ret = 0;
out:
	if (c.fd >= 0)
		close(c.fd);
	s3_close(&s);
	free(a.body.data);
	free(obj.data);
	free(uri.data);
	free(out.data);
	return ret;
}

/* ---- delete_job ----------------------------------------------------------- */

static void xml_escape(struct cc_strbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': cc_strbuf_puts(b, "&amp;"); break;
		case '<': cc_strbuf_puts(b, "&lt;"); break;
		case '>': cc_strbuf_puts(b, "&gt;"); break;
		default: cc_strbuf_putc(b, *s);
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
	free(a.body.data);
	return ret;
}

/* One DeleteObjects request for the XML-safe keys of a page (Quiet: the
 * answer lists only failures), then DELETE for the others. */
static int delete_page(struct s3 *s, const struct cc_s3_xml_list *l,
		       struct cc_err *err)
{
	struct cc_sigv4_pair q[] = { { "delete", "" } };
	struct call c = { .method = "POST", .query = q, .nquery = 1, .fd = -1 };
	struct answer a = { 0 };
	struct cc_strbuf body = { 0 };
	unsigned char md5[16];
	unsigned int md5_len = 0;
	char hash[CC_SIGV4_SIG_HEX], b64[32], what[1024];
	char code[128], msg[256], *k = NULL;
	size_t batch = 0;
	int ret = -1;

	cc_strbuf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
	for (size_t i = 0; i < l->nkeys; i++) {
		if (!xml_safe(l->keys[i]))
			continue;
		cc_strbuf_puts(&body, "<Object><Key>");
		xml_escape(&body, l->keys[i]);
		cc_strbuf_puts(&body, "</Key></Object>");
		batch++;
	}
	cc_strbuf_puts(&body, "</Delete>");
	if (body.oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (batch) {
		/* S3 wants Content-MD5 (or a checksum) on DeleteObjects. */
		if (!EVP_Digest(body.data, body.len, md5, &md5_len, EVP_md5(), NULL) ||
		    cc_sigv4_sha256_hex(body.data, body.len, hash) < 0) {
			cc_err_set(err, CC_ERR_INTERNAL, "hashing the DeleteObjects body failed");
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, md5, (int)md5_len);
		c.extra[c.nextra++] = (struct cc_sigv4_pair){ "content-md5", b64 };
		c.extra[c.nextra++] = (struct cc_sigv4_pair){ "content-type", "application/xml" };
		c.payload_hash = hash;
		c.body = body.data;
		c.body_len = body.len;
		if (s3_call(s, &c, &a, what, sizeof(what), err) < 0)
			goto out;
		if (a.status != 200) {
			answer_error(what, &a, err);
			goto out;
		}
		if (cc_s3_xml_delete_error(a.body.data ? a.body.data : "", a.body.len,
					   code, sizeof(code), msg, sizeof(msg),
					   &k)) {
			cc_err_set(err, CC_ERR_UPSTREAM, "S3 %s: cannot delete %.200s: %s%s%s", what,
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
	free(a.body.data);
	free(body.data);
	return ret;
}

int cc_store_s3_delete_job(const struct cc_config *cfg, const char *action,
			   long long job_id, struct cc_err *err)
{
	struct s3 s = { 0 };
	struct cc_s3_xml_list l = { 0 };
	struct answer a = { 0 };
	char prefix[128], what[1024], *token = NULL;
	size_t total = 0;
	int ret = -1;

	if (!cc_action_name_valid(action) || job_id <= 0)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "invalid action '%.80s' or job %lld",
				  action ? action : "", job_id);
	snprintf(prefix, sizeof(prefix), "%s/job_%lld/", action, job_id);
	if (s3_open(&s, cfg, err) < 0)
		goto out;
	for (;;) {
		/* encoding-type=url: keys come back percent-encoded, so even
		 * control characters survive the XML. */
		struct cc_sigv4_pair q[] = {
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
		if (cc_s3_xml_list_parse(a.body.data ? a.body.data : "", a.body.len, &l,
					 err) < 0)
			goto out;
		free(a.body.data);
		a.body.data = NULL;
		/* Never touch what is outside the job's folder, whatever the
		 * server answered. */
		for (size_t i = 0; i < l.nkeys; i++) {
			if (strncmp(l.keys[i], prefix, strlen(prefix))) {
				cc_err_set(err, CC_ERR_UPSTREAM, "S3 listed %.200s for prefix %s",
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
			cc_err_set(err, CC_ERR_UPSTREAM, "S3 %s: truncated listing without a new "
				   "continuation token", what);
			goto out;
		}
		free(token);
		token = l.next_token;
		l.next_token = NULL;
		cc_s3_xml_list_cleanup(&l);
	}
	cc_debug("s3: deleted %zu object(s) under %s", total, prefix);
	ret = 0;
out:
	cc_s3_xml_list_cleanup(&l);
	free(a.body.data);
	free(token);
	s3_close(&s);
	return ret;
}
