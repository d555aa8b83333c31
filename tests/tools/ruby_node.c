/* ruby_node.c - a test node that behaves on the wire exactly like the
 * original Ruby CloudCrowd 0.7 node (protocol/SUMMARY.md), as a real
 * process:
 *  - checks in with PUT /node/HOST:PORT and the original's body, byte for
 *    byte (`busy=false&tag&max_workers=N&enabled_actions=a%2Cb`: no
 *    instance, no check_in_interval), at start and then only every
 *    --interval seconds (300, hard-coded in the original);
 *  - accepts every POST /work (never 503: the original never refuses) and
 *    forks a worker per unit whose pid it answers, {"pid": N};
 *  - the worker runs the unit: it sleeps the unit's option "sleep"
 *    (seconds, default 0) and returns its input, as slow_noop does; then it
 *    reports PUT /work/:id itself with the original's form, in its order:
 *    pid, id, time, status, output ({"output": INPUT}); no token. A 404
 *    drops the result; any other answer or error is retried every
 *    --retry-wait seconds (5, the original's RETRY_WAIT), forever;
 *  - SIGTERM checks it out (DELETE /node/HOST:PORT), as the original's
 *    trap does, and stops it.
 * For tests it also answers GET /heartbeat (buh-bump, as the original) and
 * GET /counts: {"working", "max_working", "received", "reported", "live"}
 * - working: units whose action is running now (from the accepted POST
 *   /work until the action ends, before its report), max_working: the
 *   most at any moment (kept in memory shared with the workers, so it is
 *   exact); live: worker processes not yet reaped.
 * usage: ruby_node --central URL --port P [--host NAME] [--max-workers N]
 *                  [--actions a,b,...] [--interval S] [--retry-wait S]
 * (the worker is the same program: ruby_node --worker ...) */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Counters shared by the node and its workers (a memfd, kept across the
 * worker's exec). */
struct counts {
	int working, max_working, received, reported, live;
};

static struct counts *shared;
static int shared_fd = -1;
static const char *central;
static char node_name[300];        /* HOST:PORT */
static int max_workers = 4;
static double retry_wait = 5;
static const char *self_path;
static volatile sig_atomic_t stopping;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	char when[32];

	strftime(when, sizeof(when), "%H:%M:%S", gmtime(&t));
	fprintf(stderr, "%s ruby_node[%d] ", when, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;
}

/* request - METHOD central PATH with a form body (or none); the HTTP
 * status, 0 when there was no answer. RestClient's headers, as the
 * original sends them. */
static long request(const char *method, const char *path, const char *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048];
	long status = 0;

	if (!c)
		return 0;
	snprintf(url, sizeof(url), "%s%s", central, path);
	h = curl_slist_append(h, "Accept: */*");
	h = curl_slist_append(h, "Accept-Encoding: gzip;q=1.0,deflate;q=0.6,identity;q=0.3");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
			 "rest-client/2.1.0 (linux-gnu x86_64) ruby/3.1.2p20");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);   /* open_timeout */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);         /* timeout */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* form-encode s (caller frees) */
static char *esc(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}

/* ---- the worker ---------------------------------------------------------- */

static int worker_main(const char *unit_text)
{
	json_t *u = json_loads(unit_text, 0, NULL);
	json_t *opt = json_object_get(u, "options");
	json_t *sl = json_object_get(opt, "sleep");
	const char *input = json_string_value(json_object_get(u, "input"));
	long long id = json_integer_value(json_object_get(u, "id"));
	double t0 = now(), secs = json_is_number(sl) ? json_number_value(sl) : 0;
	json_t *out;
	char *out_text, *out_esc, *body, path[64];
	int n;

	if (!u || id <= 0) {
		say("worker: bad unit %s", unit_text);
		return 1;
	}
	if (secs > 0) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	/* the action is over: the slot it used is free, as far as the
	 * machine goes; the report follows */
	__atomic_sub_fetch(&shared->working, 1, __ATOMIC_SEQ_CST);
	out = json_pack("{s:s}", "output", input ? input : "");
	out_text = json_dumps(out, JSON_COMPACT);
	out_esc = out_text ? esc(out_text) : NULL;
	n = out_esc ? snprintf(NULL, 0, "pid=%d&id=%lld&time=%.5f&status=succeeded&output=%s",
			       (int)getpid(), id, now() - t0, out_esc) : -1;
	body = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!body) {
		say("worker: out of memory");
		return 1;
	}
	snprintf(body, (size_t)n + 1, "pid=%d&id=%lld&time=%.5f&status=succeeded&output=%s",
		 (int)getpid(), id, now() - t0, out_esc);
	snprintf(path, sizeof(path), "/work/%lld", id);
	for (;;) {
		long st = request("PUT", path, body);

		if (st >= 200 && st < 300) {
			__atomic_add_fetch(&shared->reported, 1, __ATOMIC_SEQ_CST);
			say("finished unit %lld", id);
			break;
		}
		if (st == 404) {
			say("work unit #%lld doesn't exist. discarding...", id);
			break;
		}
		say("failed to complete work unit %lld (HTTP %ld) -- retry in %g seconds",
		    id, st, retry_wait);
		usleep((useconds_t)(retry_wait * 1e6));
	}
	free(body);
	free(out_esc);
	free(out_text);
	json_decref(out);
	json_decref(u);
	return 0;
}

/* ---- the node ------------------------------------------------------------ */

struct upload {
	char *body;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* the work_unit field of a form body, decoded (caller frees) */
static char *form_unit(char *body)
{
	char *p = body, *v = NULL, *out = NULL;
	int n = 0;

	while (p && *p) {
		char *amp = strchr(p, '&');
		if (amp)
			*amp = '\0';
		if (!strncmp(p, "work_unit=", 10)) {
			v = p + 10;
			break;
		}
		p = amp ? amp + 1 : NULL;
	}
	if (!v)
		return NULL;
	for (char *q = v; *q; q++)
		if (*q == '+')
			*q = ' ';
	{
		char *d = curl_easy_unescape(NULL, v, 0, &n);
		if (d)
			out = strndup(d, (size_t)n);
		curl_free(d);
	}
	return out;
}

static enum MHD_Result take_work(struct MHD_Connection *c, struct upload *up)
{
	char *unit = form_unit(up->body ? up->body : (char *)"");
	char fdarg[16], ok[64];
	pid_t pid;
	int w;

	if (!unit)
		return reply(c, 400, "text/plain", "no work_unit");
	/* never refused, however many run (the original has no check) */
	w = __atomic_add_fetch(&shared->working, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&shared->received, 1, __ATOMIC_SEQ_CST);
	for (int m = __atomic_load_n(&shared->max_working, __ATOMIC_SEQ_CST); w > m;
	     m = __atomic_load_n(&shared->max_working, __ATOMIC_SEQ_CST))
		if (__atomic_compare_exchange_n(&shared->max_working, &m, w, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
	snprintf(fdarg, sizeof(fdarg), "%d", shared_fd);
	pid = fork();
	if (pid == 0) {
		char rw[32];
		snprintf(rw, sizeof(rw), "%g", retry_wait);
		execl(self_path, "ruby_node", "--worker", central, fdarg, rw, unit,
		      (char *)NULL);
		_exit(127);
	}
	free(unit);
	if (pid < 0) {
		__atomic_sub_fetch(&shared->working, 1, __ATOMIC_SEQ_CST);
		return reply(c, 500, "text/plain", "fork failed");
	}
	__atomic_add_fetch(&shared->live, 1, __ATOMIC_SEQ_CST);
	snprintf(ok, sizeof(ok), "{\"pid\":%d}", (int)pid);
	return reply(c, 200, "application/json", ok);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)version;
	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return up ? MHD_YES : MHD_NO;
	}
	if (*size) {
		char *nb = realloc(up->body, up->len + *size + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + up->len, data, *size);
		up->body = nb;
		up->len += *size;
		up->body[up->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	if (!strcmp(method, "POST") && !strcmp(url, "/work"))
		return take_work(c, up);
	if (!strcmp(method, "GET") && !strcmp(url, "/heartbeat"))
		return reply(c, 200, "text/html;charset=utf-8", "buh-bump");
	if (!strcmp(method, "GET") && !strcmp(url, "/counts")) {
		char b[200];
		snprintf(b, sizeof(b), "{\"working\":%d,\"max_working\":%d,"
			 "\"received\":%d,\"reported\":%d,\"live\":%d}",
			 __atomic_load_n(&shared->working, __ATOMIC_SEQ_CST),
			 __atomic_load_n(&shared->max_working, __ATOMIC_SEQ_CST),
			 __atomic_load_n(&shared->received, __ATOMIC_SEQ_CST),
			 __atomic_load_n(&shared->reported, __ATOMIC_SEQ_CST),
			 __atomic_load_n(&shared->live, __ATOMIC_SEQ_CST));
		return reply(c, 200, "application/json", b);
	}
	return reply(c, 404, "text/html;charset=utf-8", "<h1>Not Found</h1>");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (up) {
		free(up->body);
		free(up);
		*con_cls = NULL;
	}
}

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int check_in(const char *actions_esc)
{
	char path[400], body[2048];
	long st;

	snprintf(path, sizeof(path), "/node/%s", node_name);
	/* the original's body, in its order; tag nil is the bare key */
	snprintf(body, sizeof(body), "busy=false&tag&max_workers=%d&enabled_actions=%s",
		 max_workers, actions_esc);
	st = request("PUT", path, body);
	say("checked in (%s): HTTP %ld", body, st);
	return st >= 200 && st < 300 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "central", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "max-workers", required_argument, NULL, 'm' },
		{ "actions", required_argument, NULL, 'a' },
		{ "interval", required_argument, NULL, 'i' },
		{ "retry-wait", required_argument, NULL, 'r' },
		{ 0, 0, 0, 0 },
	};
	const char *host = "127.0.0.1", *actions = "slow_noop,noop";
	char *actions_esc;
	struct MHD_Daemon *d;
	struct sockaddr_in sa = { 0 };
	struct sigaction act = { 0 };
	double interval = 300, next_checkin;
	int port = 0, c, failures = 0;

	self_path = "/proc/self/exe";
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (argc == 6 && !strcmp(argv[1], "--worker")) {
		/* ruby_node --worker CENTRAL FD RETRY_WAIT UNIT_JSON */
		central = argv[2];
		shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED,
			      atoi(argv[3]), 0);
		retry_wait = atof(argv[4]);
		if (shared == MAP_FAILED)
			return 1;
		return worker_main(argv[5]);
	}
	while ((c = getopt_long(argc, argv, "c:p:H:m:a:i:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': central = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'H': host = optarg; break;
		case 'm': max_workers = atoi(optarg); break;
		case 'a': actions = optarg; break;
		case 'i': interval = atof(optarg); break;
		case 'r': retry_wait = atof(optarg); break;
		default:
			fprintf(stderr, "usage: ruby_node --central URL --port P [--host NAME]"
				" [--max-workers N] [--actions a,b] [--interval S]"
				" [--retry-wait S]\n");
			return 2;
		}
	}
	if (!central || port <= 0 || port > 65535) {
		fprintf(stderr, "ruby_node: --central and --port are required\n");
		return 2;
	}
	shared_fd = memfd_create("ruby_node", 0);   /* kept across exec */
	if (shared_fd < 0 || ftruncate(shared_fd, sizeof(*shared)) < 0)
		return 1;
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED,
		      shared_fd, 0);
	if (shared == MAP_FAILED)
		return 1;
	snprintf(node_name, sizeof(node_name), "%s:%d", host, port);
	actions_esc = esc(actions);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
			     on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	if (!d || !actions_esc) {
		fprintf(stderr, "ruby_node: cannot listen on 127.0.0.1:%d\n", port);
		return 6;
	}
	act.sa_handler = on_term;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the original: at start, then every CHECK_IN_INTERVAL; after a
	 * failure the wait grows to 300*n s, up to 5 attempts */
	next_checkin = now();
	while (!stopping) {
		pid_t dead;

		if (now() >= next_checkin) {
			if (check_in(actions_esc) == 0) {
				failures = 0;
				next_checkin = now() + interval;
			} else if (++failures >= 5) {
				say("could not check in 5 times: giving up");
				break;
			} else {
				next_checkin = now() + (interval < 300 ? interval : 300) * failures;
			}
		}
		while ((dead = waitpid(-1, NULL, WNOHANG)) > 0)
			__atomic_sub_fetch(&shared->live, 1, __ATOMIC_SEQ_CST);
		usleep(50000);
	}
	if (stopping) {
		char path[400];
		snprintf(path, sizeof(path), "/node/%s", node_name);
		say("checking out: HTTP %ld", request("DELETE", path, NULL));
	}
	MHD_stop_daemon(d);
	free(actions_esc);
	curl_global_cleanup();
	return 0;
}
