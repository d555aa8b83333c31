/* http.c - libcurl easy-interface wrapper; see http.h. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/http.h"
#include "core/strbuf.h"
#include "core/log.h"
#include "core/version.h"

#define MAX_RESPONSE (64 * 1024 * 1024)

struct cc_http {
	CURL *curl;
	const struct cc_config *cfg;
	struct curl_slist *form_headers;
	enum cc_http_auth auth; /* whose basic auth to send */
};

int cc_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

struct cc_http *cc_http_new(const struct cc_config *cfg)
{
	struct cc_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->cfg = cfg;
	h->auth = cfg->http_authentication ? CC_HTTP_AUTH_CLIENT : CC_HTTP_AUTH_NONE;
	h->curl = curl_easy_init();
	h->form_headers = curl_slist_append(NULL,
		"Content-Type: application/x-www-form-urlencoded");
	if (h->form_headers)
		h->form_headers = curl_slist_append(h->form_headers, "Expect:");
	if (!h->curl || !h->form_headers) {
		cc_http_free(h);
		return NULL;
	}
	return h;
}

void cc_http_set_auth(struct cc_http *h, enum cc_http_auth who)
{
	h->auth = who;
}

enum cc_http_auth cc_http_node_auth(const struct cc_config *cfg)
{
	return cfg->http_authentication ? CC_HTTP_AUTH_NODE : CC_HTTP_AUTH_NONE;
}

void cc_http_free(struct cc_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->form_headers);
	free(h);
}

struct sink {
	struct cc_strbuf buf;
	size_t max;           /* bytes kept at most */
	int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct sink *s = user;
	size_t add = size * n;

	if (s->buf.len + add > s->max) {
		s->too_big = 1;
		return 0;
	}
	cc_strbuf_put(&s->buf, p, add);
	return s->buf.oom ? 0 : add;
}

static void setup(struct cc_http *h, const char *url, long timeout_s)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, CC_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->cfg->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (h->auth != CC_HTTP_AUTH_NONE) {
		int node = h->auth == CC_HTTP_AUTH_NODE;

		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, node ? cc_config_node_login(h->cfg) :
				 h->cfg->login);
		curl_easy_setopt(c, CURLOPT_PASSWORD, node ? cc_config_node_password(h->cfg) :
				 h->cfg->password);
	}
}

int cc_http_request(struct cc_http *h, const char *method, const char *url,
		    const char *form, long timeout_s, struct cc_http_resp *resp,
		    struct cc_err *err)
{
	struct sink s = { .max = MAX_RESPONSE };
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	setup(h, url, timeout_s);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->form_headers);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, form ? form : "");
	}
	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = s.buf.data ? s.buf.data : strdup("");
	resp->len = s.buf.len;
	if (rc != CURLE_OK) {
		cc_err_set(err, CC_ERR_UPSTREAM, "%s %s: %s", method, url,
			   s.too_big ? "response too large" : curl_easy_strerror(rc));
		return cc_err_set_cause(err, CC_CAUSE_CURL, (int)rc);
	}
	return 0;
}

void cc_http_resp_cleanup(struct cc_http_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

struct fsink {
	int fd;
	long long written, max;
	int too_big, io_error;
};

static size_t on_file(char *p, size_t size, size_t n, void *user)
{
	struct fsink *s = user;
	size_t add = size * n, off = 0;

	if (s->written + (long long)add > s->max) {
		s->too_big = 1;
		return 0;
	}
	while (off < add) {
		ssize_t w = write(s->fd, p + off, add - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->io_error = errno;
			return 0;
		}
		off += (size_t)w;
	}
	s->written += (long long)add;
	return add;
}

int cc_http_download(struct cc_http *h, const char *url, const char *path,
		     long long max_bytes, long timeout_s, struct cc_err *err)
{
	struct fsink s = { .fd = -1, .max = max_bytes };
	long status = 0;
	CURLcode rc;
	int ret = -1;

	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8) &&
	    strncasecmp(url, "file://", 7))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "unsupported URL scheme in '%.200s' "
				  "(http, https and file only)", url);
	if (!strncasecmp(url, "file://", 7)) {
		/* curl reads a folder as an empty file: refuse anything that is
		 * not a regular file. */
		char *local = curl_easy_unescape(h->curl, url + 7, 0, NULL);
		struct stat st;
		int regular = local && stat(local, &st) == 0 && S_ISREG(st.st_mode);

		curl_free(local);
		if (!regular)
			return cc_err_set(err, CC_ERR_NOT_FOUND, "input %.200s is not a readable "
					  "regular file", url);
	}
	s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s.fd < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
	setup(h, url, timeout_s);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_file);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		cc_err_set(err, CC_ERR_TOO_LARGE, "input %.200s is larger than %lld bytes", url, max_bytes);
	else if (s.io_error)
		cc_err_set(err, CC_ERR_INTERNAL, "writing %s: %s", path, strerror(s.io_error));
	else if (rc != CURLE_OK)
		cc_err_set(err, CC_ERR_UPSTREAM, "downloading %.200s: %s", url, curl_easy_strerror(rc));
	else if (strncasecmp(url, "file://", 7) && (status < 200 || status > 299))
		cc_err_set(err, CC_ERR_UPSTREAM, "downloading %.200s: HTTP %ld", url, status);
	else
		ret = 0;
	close(s.fd);
	if (ret < 0)
		unlink(path);
	return ret;
}
