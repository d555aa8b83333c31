/* test_http.c - the libcurl client against a real HTTP server: each test
 * that needs one forks a tiny server (plain sockets, 127.0.0.1, port 0,
 * one forked handler per connection) that answers canned routes:
 *   /hello            200 "hello world"
 *   /echo             200, the request as text: method, path, connection
 *                     number, request number on that connection, headers
 *                     of interest, body
 *   /status/NNN       status NNN, body "status NNN"
 *   /big/N            200 with Content-Length N, N bytes of 'x'
 *   /stream/N         200 without Content-Length, N bytes, then close
 *   /redirect         302 to /hello
 *   /redirect-file    302 to file:///etc/passwd
 *   /slow             waits 5 s, then 200
 *   /close            200 with "Connection: close", then closes
 * Downloads of file:// URLs read files made in the test's mkdtemp folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/http.h"
#include "core/fs.h"

/* ---- the test server ------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* value of header name within [h, end) into out ("" when absent) */
static void header(const char *h, const char *end, const char *name,
		   char *out, size_t outsz)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	while (h < end) {
		const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - h) > nl && !strncasecmp(h, name, nl) && h[nl] == ':') {
			const char *v = h + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(eol - v), v);
			return;
		}
		h = eol + 2;
	}
}

static void respond(int c, int status, const char *extra, const char *body,
		    size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Canned\r\n"
			 "Content-Length: %zu\r\n%s\r\n", status, len, extra);

	if (write_all(c, head, (size_t)n) == 0 && len)
		write_all(c, body, len);
}

/* serve one connection until the client closes it or a route closes it */
static void handle(int c, int conn)
{
	static char buf[1 << 20];
	size_t have = 0;
	int req = 0;

	for (;;) {
		char method[16], path[256], ct[256], auth[256], expect[64], ua[128];
		char cl[32], *hend, *out;
		size_t hlen, blen;
		ssize_t n;

		while (!(hend = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf))
				return;
			n = read(c, buf + have, sizeof(buf) - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		hlen = (size_t)(hend + 4 - buf);
		if (sscanf(buf, "%15s %255s", method, path) != 2)
			return;
		header(strstr(buf, "\r\n") + 2, hend + 2, "Content-Length", cl, sizeof(cl));
		header(strstr(buf, "\r\n") + 2, hend + 2, "Content-Type", ct, sizeof(ct));
		header(strstr(buf, "\r\n") + 2, hend + 2, "Authorization", auth, sizeof(auth));
		header(strstr(buf, "\r\n") + 2, hend + 2, "Expect", expect, sizeof(expect));
		header(strstr(buf, "\r\n") + 2, hend + 2, "User-Agent", ua, sizeof(ua));
		blen = (size_t)atol(cl);
		if (hlen + blen > sizeof(buf))
			return;
		while (have < hlen + blen) {
			n = read(c, buf + have, sizeof(buf) - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		req++;

		if (!strcmp(path, "/hello")) {
			respond(c, 200, "", "hello world", 11);
		} else if (!strcmp(path, "/echo")) {
			size_t cap = blen + 2048;
			int len;
			out = malloc(cap);
			if (!out)
				return;
			len = snprintf(out, cap, "method=%s\npath=%s\nconn=%d\nreq=%d\n"
				       "content-type=%s\nauthorization=%s\nexpect=%s\n"
				       "user-agent=%s\nbody=%.*s", method, path, conn,
				       req, ct, auth, expect, ua, (int)blen, buf + hlen);
			respond(c, 200, "", out, (size_t)len);
			free(out);
		} else if (!strncmp(path, "/status/", 8)) {
			char body[32];
			int st = atoi(path + 8);
			int len = snprintf(body, sizeof(body), "status %d", st);
			respond(c, st, "", body, (size_t)len);
		} else if (!strncmp(path, "/big/", 5)) {
			size_t sz = (size_t)atol(path + 5);
			out = malloc(sz ? sz : 1);
			if (!out)
				return;
			memset(out, 'x', sz);
			respond(c, 200, "", out, sz);
			free(out);
		} else if (!strncmp(path, "/stream/", 8)) {
			size_t sz = (size_t)atol(path + 8);
			const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
			char chunk[4096];
			memset(chunk, 'y', sizeof(chunk));
			if (write_all(c, head, strlen(head)))
				return;
			while (sz) {
				size_t k = sz < sizeof(chunk) ? sz : sizeof(chunk);
				if (write_all(c, chunk, k))
					return;
				sz -= k;
			}
			return;
		} else if (!strcmp(path, "/redirect")) {
			respond(c, 302, "Location: /hello\r\n", "", 0);
		} else if (!strcmp(path, "/redirect-file")) {
			respond(c, 302, "Location: file:///etc/passwd\r\n", "", 0);
		} else if (!strcmp(path, "/slow")) {
			sleep(5);
			respond(c, 200, "", "late", 4);
		} else if (!strcmp(path, "/close")) {
			respond(c, 200, "Connection: close\r\n", "bye", 3);
			return;
		} else {
			respond(c, 404, "", "no route", 8);
		}
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* accept loop; on SIGTERM, end every handler and wait for them, so that
 * none is left for init to reap */
static void serve(int lfd)
{
	struct sigaction sa = { .sa_handler = on_term };   /* no SA_RESTART */
	int conn = 0;

	signal(SIGCHLD, SIG_IGN);   /* handlers reap themselves */
	sigaction(SIGTERM, &sa, NULL);
	while (!stopping) {
		int c = accept(lfd, NULL, NULL);
		pid_t pid;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		conn++;
		pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			close(lfd);
			handle(c, conn);
			close(c);
			_exit(0);
		}
		close(c);
	}
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);           /* the handlers, in our process group */
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

/* a socket bound to 127.0.0.1 on a free port; listening when asked */
static int bind_loopback(int do_listen, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* ---- fixture ------------------------------------------------------------ */

struct fixture {
	char dir[PATH_MAX];
	struct cc_config cfg;
	struct cc_http *http;
	struct cc_err err;
	struct cc_http_resp resp;
	pid_t server;               /* process group of the server, 0 if none */
	int port;
	char url[64];               /* http://127.0.0.1:PORT */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_http.XXXXXX";

	if (!f || !mkdtemp(tmpl))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	cc_config_defaults(&f->cfg, f->dir);
	f->cfg.connect_timeout = 5;
	f->http = cc_http_new(&f->cfg);
	if (!f->http)
		return -1;
	*state = f;
	return 0;
}

static void start_server(struct fixture *f)
{
	int lfd = bind_loopback(1, &f->port);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		serve(lfd);
		_exit(0);
	}
	setpgid(pid, pid);   /* either side may win; both set the same group */
	close(lfd);
	f->server = pid;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_http_resp_cleanup(&f->resp);
	cc_http_free(f->http);
	if (f->server > 0) {
		int waited = 0;

		kill(f->server, SIGTERM);
		while (waitpid(f->server, NULL, WNOHANG) == 0) {
			if (++waited == 500) {          /* 5 s: force it */
				kill(-f->server, SIGKILL);
				waitpid(f->server, NULL, 0);
				break;
			}
			usleep(10000);
		}
	}
	cc_fs_rmtree(f->dir, NULL);
	free(f);
	return 0;
}

static int request(struct fixture *f, const char *method, const char *path,
		   const char *form, long timeout)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", f->url, path);
	cc_http_resp_cleanup(&f->resp);
	cc_err_clear(&f->err);
	return cc_http_request(f->http, method, url, form, timeout, &f->resp, &f->err);
}

#define assert_body_has(f, part) do { \
	if (!strstr((f)->resp.body, (part))) \
		fail_msg("body '%s' lacks '%s'", (f)->resp.body, (part)); \
	} while (0)

#define assert_err_has(f, part) do { \
	if (!strstr((f)->err.msg, (part))) \
		fail_msg("error '%s' lacks '%s'", (f)->err.msg, (part)); \
	} while (0)

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, p, n), 0);
	close(fd);
}

static char *read_bytes(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- requests ------------------------------------------------------------- */

static void test_http_get_returns_status_and_body(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	assert_int_equal(request(f, "GET", "/hello", NULL, 10), 0);
	assert_int_equal(f->resp.status, 200);
	assert_string_equal(f->resp.body, "hello world");
	assert_int_equal(f->resp.len, 11);
}

static void test_http_non_2xx_status_is_a_response_not_a_failure(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	assert_int_equal(request(f, "GET", "/status/404", NULL, 10), 0);
	assert_int_equal(f->resp.status, 404);
	assert_string_equal(f->resp.body, "status 404");
	assert_int_equal(request(f, "PUT", "/status/503", "a=1", 10), 0);
	assert_int_equal(f->resp.status, 503);
	assert_int_equal(request(f, "DELETE", "/status/201", NULL, 10), 0);
	assert_int_equal(f->resp.status, 201);
	assert_non_null(f->resp.body);
	assert_string_equal(f->resp.body, "status 201");
}

static void test_http_put_sends_form_body_as_urlencoded(void **state)
{
	struct fixture *f = *state;
	const char *form = "busy=false&tag&max_workers=4&enabled_actions="
			   "always_fail%2Cnoop";

	start_server(f);
	assert_int_equal(request(f, "PUT", "/echo", form, 10), 0);
	assert_int_equal(f->resp.status, 200);
	assert_body_has(f, "method=PUT\n");
	assert_body_has(f, "path=/echo\n");
	assert_body_has(f, "content-type=application/x-www-form-urlencoded\n");
	assert_body_has(f, "expect=\n");     /* no "Expect: 100-continue" stall */
	assert_body_has(f, "user-agent=cloudcrowd-c/");
	assert_body_has(f, "\nbody=busy=false&tag&max_workers=4&enabled_actions="
			"always_fail%2Cnoop");
}

static void test_http_post_and_delete_use_their_method(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	assert_int_equal(request(f, "POST", "/echo", "work_unit=%7B%7D", 10), 0);
	assert_body_has(f, "method=POST\n");
	assert_body_has(f, "\nbody=work_unit=%7B%7D");
	assert_int_equal(request(f, "DELETE", "/echo", NULL, 10), 0);
	assert_body_has(f, "method=DELETE\n");
	assert_body_has(f, "\nbody=");
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "method=GET\n");
	assert_body_has(f, "content-type=\n");
}

static void test_http_large_form_body_arrives_whole(void **state)
{
	struct fixture *f = *state;
	size_t n = 200000;
	char *form = malloc(n + 3);

	assert_non_null(form);
	memcpy(form, "v=", 2);
	memset(form + 2, 'z', n);
	form[n + 2] = '\0';
	start_server(f);
	assert_int_equal(request(f, "POST", "/echo", form, 10), 0);
	assert_int_equal(f->resp.status, 200);
	assert_body_has(f, "\nbody=v=zzzz");
	assert_true(f->resp.len > n);
	assert_int_equal(strlen(strstr(f->resp.body, "\nbody=") + 6), n + 2);
	free(form);
}

static void test_http_reuses_the_connection_between_requests(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "conn=1\nreq=1\n");
	assert_int_equal(request(f, "PUT", "/echo", "a=1", 10), 0);
	assert_body_has(f, "conn=1\nreq=2\n");
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "conn=1\nreq=3\n");
}

static void test_http_reconnects_after_server_closes(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	assert_int_equal(request(f, "GET", "/close", NULL, 10), 0);
	assert_string_equal(f->resp.body, "bye");
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_int_equal(f->resp.status, 200);
	assert_body_has(f, "conn=2\nreq=1\n");
}

static void test_http_sends_basic_auth_when_configured(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	f->cfg.http_authentication = 1;
	snprintf(f->cfg.login, sizeof(f->cfg.login), "crowd");
	snprintf(f->cfg.password, sizeof(f->cfg.password), "s3cret");
	cc_http_free(f->http);
	f->http = cc_http_new(&f->cfg);
	assert_non_null(f->http);
	assert_int_equal(request(f, "PUT", "/echo", "a=1", 10), 0);
	/* base64("crowd:s3cret") */
	assert_body_has(f, "authorization=Basic Y3Jvd2Q6czNjcmV0\n");
	/* switched off for one handle (callbacks to third parties) */
	cc_http_set_auth(f->http, 0);
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "authorization=\n");
	cc_http_set_auth(f->http, 1);
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "authorization=Basic Y3Jvd2Q6czNjcmV0\n");
}

static void test_http_sends_no_auth_when_not_configured(void **state)
{
	struct fixture *f = *state;

	start_server(f);
	snprintf(f->cfg.login, sizeof(f->cfg.login), "crowd");
	snprintf(f->cfg.password, sizeof(f->cfg.password), "s3cret");
	assert_int_equal(request(f, "GET", "/echo", NULL, 10), 0);
	assert_body_has(f, "authorization=\n");
}

static void test_http_connection_refused_fails_with_message(void **state)
{
	struct fixture *f = *state;
	int port, fd = bind_loopback(0, &port);   /* bound, never listening */
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", port);
	assert_int_equal(cc_http_request(f->http, "GET", url, NULL, 10, &f->resp,
					 &f->err), -1);
	assert_int_equal(f->resp.status, 0);
	assert_non_null(f->resp.body);
	assert_string_equal(f->resp.body, "");
	assert_err_has(f, "GET ");
	assert_err_has(f, url);
	assert_true(strlen(f->err.msg) > strlen(url) + 6);   /* has a reason */
	close(fd);
}

static void test_http_times_out_on_a_silent_server(void **state)
{
	struct fixture *f = *state;
	double t0;

	start_server(f);
	t0 = now();
	assert_int_equal(request(f, "GET", "/slow", NULL, 1), -1);
	assert_true(now() - t0 < 4.0);
	assert_true(cc_err_is_cause(&f->err, CC_CAUSE_CURL, CURLE_OPERATION_TIMEDOUT));
	assert_err_has(f, "/slow");
}

static void test_http_request_refuses_non_http_urls(void **state)
{
	struct fixture *f = *state;
	char url[PATH_MAX + 16];

	snprintf(url, sizeof(url), "file://%s/secret", f->dir);
	write_bytes(url + 7, "secret", 6);
	assert_int_equal(cc_http_request(f->http, "GET", url, NULL, 5, &f->resp,
					 &f->err), -1);
	assert_null(strstr(f->resp.body, "secret"));
	cc_http_resp_cleanup(&f->resp);
	assert_int_equal(cc_http_request(f->http, "GET", "ftp://127.0.0.1/x", NULL, 5,
					 &f->resp, &f->err), -1);
}

/* ---- downloads -------------------------------------------------------- */

static void test_http_download_copies_a_file_url(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], url[PATH_MAX + 32], *got;
	size_t n = 100000, len;
	unsigned char *data = malloc(n);

	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 8));   /* includes NULs */
	snprintf(src, sizeof(src), "%s/input.bin", f->dir);
	snprintf(dst, sizeof(dst), "%s/out.bin", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, data, n);
	assert_int_equal(cc_http_download(f->http, url, dst, 1 << 20, 10, &f->err), 0);
	got = read_bytes(dst, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);
	free(data);
}

static void test_http_download_allows_exactly_the_limit(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], url[PATH_MAX + 32], buf[1000];

	memset(buf, 'q', sizeof(buf));
	snprintf(src, sizeof(src), "%s/input.txt", f->dir);
	snprintf(dst, sizeof(dst), "%s/out.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, buf, sizeof(buf));
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), 0);
	assert_true(exists(dst));
}

static void test_http_download_over_the_limit_fails_and_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], url[PATH_MAX + 32], buf[1001];

	memset(buf, 'q', sizeof(buf));
	snprintf(src, sizeof(src), "%s/input.txt", f->dir);
	snprintf(dst, sizeof(dst), "%s/out.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, buf, sizeof(buf));
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_int_equal(f->err.kind, CC_ERR_TOO_LARGE);
	assert_err_has(f, "larger than 1000 bytes");
	assert_false(exists(dst));
}

static void test_http_download_of_endless_file_stops_at_the_limit(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16];

	/* size 0 to stat(), so only the write callback can stop it */
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	assert_int_equal(cc_http_download(f->http, "file:///dev/zero", dst, 1000, 10,
					  &f->err), -1);
	assert_false(exists(dst));
}

/* a folder is no input: curl reads it as an empty file */
static void test_http_download_of_a_directory_fails_and_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], url[PATH_MAX + 32];

	snprintf(src, sizeof(src), "%s/folder", f->dir);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_false(exists(dst));
}

static void test_http_download_refuses_unsupported_schemes(void **state)
{
	struct fixture *f = *state;
	static const char *const urls[] = {
		"ftp://127.0.0.1/file", "gopher://127.0.0.1/1", "dict://127.0.0.1/d",
		"scp://host/x", "/etc/passwd", "etc/passwd", "", "httpx://h/",
		"file:/etc/passwd",
	};
	char dst[PATH_MAX + 16];

	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		cc_err_clear(&f->err);
		if (cc_http_download(f->http, urls[i], dst, 1000, 5, &f->err) != -1)
			fail_msg("'%s' was fetched", urls[i]);
		assert_int_equal(f->err.kind, CC_ERR_BAD_REQUEST);
		assert_err_has(f, "unsupported");
		assert_false(exists(dst));
	}
}

static void test_http_download_refuses_existing_target(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], url[PATH_MAX + 32], *got;
	size_t len;

	snprintf(src, sizeof(src), "%s/input.txt", f->dir);
	snprintf(dst, sizeof(dst), "%s/out.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, "new content", 11);
	write_bytes(dst, "keep me", 7);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_err_has(f, dst);
	got = read_bytes(dst, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(got, "keep me", 7);   /* neither replaced nor removed */
	free(got);
}

static void test_http_download_refuses_symlink_target(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 16], victim[PATH_MAX + 16];
	char url[PATH_MAX + 32], *got;
	size_t len;

	snprintf(src, sizeof(src), "%s/input.txt", f->dir);
	snprintf(dst, sizeof(dst), "%s/out.txt", f->dir);
	snprintf(victim, sizeof(victim), "%s/victim.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, "attack", 6);
	assert_int_equal(symlink(victim, dst), 0);   /* dangling: O_CREAT would follow */
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_false(exists(victim));
	write_bytes(victim, "safe", 4);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	got = read_bytes(victim, &len);
	assert_memory_equal(got, "safe", 4);
	free(got);
}

static void test_http_download_of_missing_file_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[PATH_MAX + 32];

	snprintf(dst, sizeof(dst), "%s/out.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s/no-such-input", f->dir);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_err_has(f, "no-such-input");
	assert_false(exists(dst));
}

static void test_http_download_into_missing_folder_fails(void **state)
{
	struct fixture *f = *state;
	char src[PATH_MAX + 16], dst[PATH_MAX + 32], url[PATH_MAX + 32];

	snprintf(src, sizeof(src), "%s/input.txt", f->dir);
	snprintf(dst, sizeof(dst), "%s/nowhere/out.txt", f->dir);
	snprintf(url, sizeof(url), "file://%s", src);
	write_bytes(src, "x", 1);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_err_has(f, dst);
}

static void test_http_download_over_http_saves_the_body(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128], *got;
	size_t len;

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/big/5000", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 10000, 10, &f->err), 0);
	got = read_bytes(dst, &len);
	assert_int_equal(len, 5000);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(got[i], 'x');
	free(got);
}

static void test_http_download_http_error_fails_and_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128];

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/status/404", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 10000, 10, &f->err), -1);
	assert_err_has(f, "HTTP 404");
	assert_false(exists(dst));
}

static void test_http_download_over_limit_by_content_length_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128];

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/big/5000", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 4999, 10, &f->err), -1);
	assert_int_equal(f->err.kind, CC_ERR_TOO_LARGE);
	assert_err_has(f, "larger than 4999 bytes");
	assert_false(exists(dst));
}

static void test_http_download_over_limit_while_streaming_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128];

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/stream/100000", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 50000, 10, &f->err), -1);
	assert_int_equal(f->err.kind, CC_ERR_TOO_LARGE);
	assert_false(exists(dst));
	/* the same stream under the limit is fine */
	assert_int_equal(cc_http_download(f->http, url, dst, 100000, 10, &f->err), 0);
	assert_true(exists(dst));
}

static void test_http_download_follows_http_redirects(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128], *got;
	size_t len;

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/redirect", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), 0);
	got = read_bytes(dst, &len);
	assert_int_equal(len, 11);
	assert_memory_equal(got, "hello world", 11);
	free(got);
}

static void test_http_download_refuses_redirect_to_file_url(void **state)
{
	struct fixture *f = *state;
	char dst[PATH_MAX + 16], url[128];

	start_server(f);
	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "%s/redirect-file", f->url);
	assert_int_equal(cc_http_download(f->http, url, dst, 1 << 20, 10, &f->err), -1);
	assert_false(exists(dst));
}

static void test_http_download_connection_refused_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	int port, fd = bind_loopback(0, &port);
	char dst[PATH_MAX + 16], url[128];

	snprintf(dst, sizeof(dst), "%s/out", f->dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	assert_int_equal(cc_http_download(f->http, url, dst, 1000, 10, &f->err), -1);
	assert_err_has(f, url);
	assert_false(exists(dst));
	close(fd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_http_get_returns_status_and_body),
		T(test_http_non_2xx_status_is_a_response_not_a_failure),
		T(test_http_put_sends_form_body_as_urlencoded),
		T(test_http_post_and_delete_use_their_method),
		T(test_http_large_form_body_arrives_whole),
		T(test_http_reuses_the_connection_between_requests),
		T(test_http_reconnects_after_server_closes),
		T(test_http_sends_basic_auth_when_configured),
		T(test_http_sends_no_auth_when_not_configured),
		T(test_http_connection_refused_fails_with_message),
		T(test_http_times_out_on_a_silent_server),
		T(test_http_request_refuses_non_http_urls),
		T(test_http_download_copies_a_file_url),
		T(test_http_download_allows_exactly_the_limit),
		T(test_http_download_over_the_limit_fails_and_leaves_no_file),
		T(test_http_download_of_endless_file_stops_at_the_limit),
		T(test_http_download_of_a_directory_fails_and_leaves_no_file),
		T(test_http_download_refuses_unsupported_schemes),
		T(test_http_download_refuses_existing_target),
		T(test_http_download_refuses_symlink_target),
		T(test_http_download_of_missing_file_leaves_no_file),
		T(test_http_download_into_missing_folder_fails),
		T(test_http_download_over_http_saves_the_body),
		T(test_http_download_http_error_fails_and_leaves_no_file),
		T(test_http_download_over_limit_by_content_length_leaves_no_file),
		T(test_http_download_over_limit_while_streaming_leaves_no_file),
		T(test_http_download_follows_http_redirects),
		T(test_http_download_refuses_redirect_to_file_url),
		T(test_http_download_connection_refused_leaves_no_file),
	};
	int rc;

	if (cc_http_global_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
