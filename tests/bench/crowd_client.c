/* crowd_client.c - the HTTP client of `make bench`: posts jobs to central,
 * follows them to the end and times them, with one keep-alive connection
 * (libcurl) so the client itself adds no connection set-up or process
 * spawn per request.
 *
 * usage: crowd_client URL noop N POLL_MS
 *          one noop job of N inputs "unit-0".."unit-N-1"; the outputs must
 *          come back equal to the inputs, in order.
 *        crowd_client URL job BODYFILE POLL_MS [OUTFILE]
 *          the job in BODYFILE (JSON); the final job JSON goes to OUTFILE.
 *        crowd_client URL latency COUNT POLL_MS
 *          COUNT 1-input noop jobs one after the other.
 *        crowd_client URL get PATH COUNT
 *          GET PATH COUNT times (200 expected).
 *        crowd_client URL post BODYFILE
 *          POST /jobs once (the creation time of a big job).
 * A job is followed by GET /jobs/ID every POLL_MS ms (0: back to back)
 * until its status is succeeded or failed; its time is from the start of
 * the POST to the answer that says succeeded.
 * A job not done after $CROWD_CLIENT_TIMEOUT seconds (default 3600) is
 * deleted; `noop` then prints timeout=1 with the rate so far and exits 3.
 * Prints one line of key=value figures; exit 1 on any failure. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
	char *p;
	size_t len, cap;
};

static CURL *curl;
static struct curl_slist *json_hdr;
static const char *base;
static double timeout_s = 3600;   /* $CROWD_CLIENT_TIMEOUT */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct buf *b = user;
	size_t add = size * n;

	if (b->len + add + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 65536;
		while (nc < b->len + add + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np)
			return 0;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, p, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* One request; returns the HTTP status (0: no answer) and the body in *b. */
static long request(const char *method, const char *path, const char *body,
		    size_t body_len, struct buf *b)
{
	char url[1024];
	long code = 0;
	CURLcode rc;

	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, json_hdr);
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	}
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "DELETE") ? NULL : "DELETE");
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "crowd_client: %s %s: %s\n", method, url, curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

struct run {
	double elapsed, post_s, time_taken;
	long long id;
	int polls;
	int timed_out;
	double percent;          /* percent_complete when it timed out */
	json_t *job;             /* final job JSON */
};

/* POST the job, then poll it to the end. 0 when it succeeded. */
static int run_job(const char *body, size_t len, int poll_ms, struct run *r)
{
	struct buf b = { 0 };
	char path[64];
	json_error_t jerr;
	json_t *j;
	const char *status;
	double t0 = now();
	long code;

	memset(r, 0, sizeof(*r));
	code = request("POST", "/jobs", body, len, &b);
	r->post_s = now() - t0;
	if (code != 200 && code != 201) {
		fprintf(stderr, "crowd_client: POST /jobs answered %ld: %.300s\n", code,
			b.p ? b.p : "");
		free(b.p);
		return -1;
	}
	j = json_loads(b.p, 0, &jerr);
	r->id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	if (r->id <= 0) {
		fprintf(stderr, "crowd_client: no job id in %.300s\n", b.p);
		free(b.p);
		return -1;
	}
	snprintf(path, sizeof(path), "/jobs/%lld", r->id);
	for (;;) {
		sleep_ms(poll_ms);
		code = request("GET", path, NULL, 0, &b);
		r->polls++;
		if (code != 200) {
			fprintf(stderr, "crowd_client: GET %s answered %ld\n", path, code);
			free(b.p);
			return -1;
		}
		j = json_loads(b.p, 0, &jerr);
		status = json_string_value(json_object_get(j, "status"));
		if (status && (!strcmp(status, "succeeded") || !strcmp(status, "failed"))) {
			r->elapsed = now() - t0;
			r->time_taken = json_number_value(json_object_get(j, "time_taken"));
			r->job = j;
			free(b.p);
			if (strcmp(status, "succeeded")) {
				char *o = json_dumps(json_object_get(j, "outputs"), JSON_COMPACT);
				fprintf(stderr, "crowd_client: job %lld failed: %.300s\n", r->id,
					o ? o : "?");
				free(o);
				return -1;
			}
			return 0;
		}
		if (now() - t0 > timeout_s) {
			/* Give up: note how far it got, and delete the job so that it
			 * does not load whatever is measured next. */
			r->elapsed = now() - t0;
			r->percent = json_number_value(json_object_get(j, "percent_complete"));
			r->timed_out = 1;
			fprintf(stderr, "crowd_client: job %lld not done after %.0f s (%.0f%% "
				"complete): deleting it\n", r->id, timeout_s, r->percent);
			json_decref(j);
			request("DELETE", path, NULL, 0, &b);
			free(b.p);
			return -1;
		}
		json_decref(j);
	}
}

static char *noop_body(int n, size_t *len)
{
	json_t *inputs = json_array();
	char s[32];
	char *text;

	for (int i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "unit-%d", i);
		json_array_append_new(inputs, json_string(s));
	}
	json_t *o = json_pack("{s:s, s:o, s:{}}", "action", "noop", "inputs", inputs,
			      "options");
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	*len = strlen(text);
	return text;
}

/* The outputs of a noop job must be its inputs, in order. */
static int check_echo(json_t *job, int n)
{
	json_t *out = json_object_get(job, "outputs");
	char s[32];

	if (json_array_size(out) != (size_t)n) {
		fprintf(stderr, "crowd_client: %zu outputs for %d inputs\n",
			json_array_size(out), n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(out, (size_t)i));
		snprintf(s, sizeof(s), "unit-%d", i);
		if (!v || strcmp(v, s)) {
			fprintf(stderr, "crowd_client: output %d is not its input\n", i);
			return -1;
		}
	}
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char tmp[65536];
	size_t n;

	if (!f) {
		perror(path);
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		on_data(tmp, 1, n, &b);
	fclose(f);
	*len = b.len;
	return b.p;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_dist(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	int p99 = (int)((n - 1) * 0.99 + 0.5);
	printf("%s_p50_ms=%.3f %s_p99_ms=%.3f %s_min_ms=%.3f %s_max_ms=%.3f", name,
	       v[n / 2] * 1000, name, v[p99] * 1000, name, v[0] * 1000, name,
	       v[n - 1] * 1000);
}

int main(int argc, char **argv)
{
	const char *mode;
	int rc = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: crowd_client URL noop N POLL_MS | job BODYFILE POLL_MS [OUT] |"
			" latency COUNT POLL_MS | get PATH COUNT | post BODYFILE\n");
		return 2;
	}
	base = argv[1];
	mode = argv[2];
	if (getenv("CROWD_CLIENT_TIMEOUT") && atof(getenv("CROWD_CLIENT_TIMEOUT")) > 0)
		timeout_s = atof(getenv("CROWD_CLIENT_TIMEOUT"));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
	json_hdr = curl_slist_append(json_hdr, "Expect:");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);

	if (!strcmp(mode, "noop") && argc == 5) {
		int n = atoi(argv[3]), poll_ms = atoi(argv[4]);
		size_t len;
		char *body = noop_body(n, &len);
		struct run r;

		if (run_job(body, len, poll_ms, &r) == 0 && check_echo(r.job, n) == 0) {
			printf("elapsed_s=%.4f units_per_s=%.1f time_taken=%.4f post_ms=%.3f "
			       "polls=%d id=%lld\n", r.elapsed, n / r.elapsed, r.time_taken,
			       r.post_s * 1000, r.polls, r.id);
			rc = 0;
		} else if (r.timed_out) {
			/* the rate so far, flagged: the caller reports it as a timeout */
			printf("timeout=1 elapsed_s=%.4f units_per_s=%.1f done_units=%.0f id=%lld\n",
			       r.elapsed, n * r.percent / 100 / r.elapsed, n * r.percent / 100, r.id);
			rc = 3;
		}
		json_decref(r.job);
		free(body);
	} else if (!strcmp(mode, "job") && (argc == 5 || argc == 6)) {
		size_t len;
		char *body = slurp(argv[3], &len);
		struct run r;

		if (body && run_job(body, len, atoi(argv[4]), &r) == 0) {
			printf("elapsed_s=%.4f time_taken=%.4f post_ms=%.3f polls=%d id=%lld\n",
			       r.elapsed, r.time_taken, r.post_s * 1000, r.polls, r.id);
			if (argc == 6 && json_dump_file(r.job, argv[5], JSON_COMPACT) < 0)
				fprintf(stderr, "crowd_client: cannot write %s\n", argv[5]);
			else
				rc = 0;
			json_decref(r.job);
		}
		free(body);
	} else if (!strcmp(mode, "latency") && argc == 5) {
		int n = atoi(argv[3]), poll_ms = atoi(argv[4]);
		double *v = calloc((size_t)n, sizeof(*v)), *pv = calloc((size_t)n, sizeof(*pv));
		size_t len;
		char *body = noop_body(1, &len);
		int polls = 0;

		rc = 0;
		for (int i = 0; i < n && !rc; i++) {
			struct run r;
			if (run_job(body, len, poll_ms, &r) || check_echo(r.job, 1))
				rc = 1;
			v[i] = r.elapsed;
			pv[i] = r.post_s;
			polls += r.polls;
			json_decref(r.job);
		}
		if (!rc) {
			print_dist("latency", v, n);
			printf(" ");
			print_dist("post", pv, n);
			printf(" polls_per_job=%.1f n=%d\n", (double)polls / n, n);
		}
		free(v);
		free(pv);
		free(body);
	} else if (!strcmp(mode, "get") && argc == 5) {
		int n = atoi(argv[4]);
		double *v = calloc((size_t)n, sizeof(*v));
		struct buf b = { 0 };
		size_t bytes = 0;

		rc = 0;
		for (int i = 0; i < n && !rc; i++) {
			double t0 = now();
			long code = request("GET", argv[3], NULL, 0, &b);
			v[i] = now() - t0;
			bytes = b.len;
			if (code != 200) {
				fprintf(stderr, "crowd_client: GET %s answered %ld: %.300s\n",
					argv[3], code, b.p ? b.p : "");
				rc = 1;
			}
		}
		if (!rc) {
			print_dist("get", v, n);
			printf(" bytes=%zu n=%d\n", bytes, n);
		}
		free(b.p);
		free(v);
	} else if (!strcmp(mode, "post") && argc == 4) {
		size_t len;
		char *body = slurp(argv[3], &len);
		struct buf b = { 0 };

		if (body) {
			double t0 = now();
			long code = request("POST", "/jobs", body, len, &b);
			double dt = now() - t0;
			json_t *j = json_loads(b.p ? b.p : "", 0, NULL);
			long long id = json_integer_value(json_object_get(j, "id"));
			if (code == 200 && id > 0) {
				printf("post_ms=%.1f id=%lld work_units=%lld body_bytes=%zu\n",
				       dt * 1000, id,
				       (long long)json_integer_value(json_object_get(j, "work_units")),
				       len);
				rc = 0;
			} else {
				fprintf(stderr, "crowd_client: POST /jobs answered %ld: %.300s\n",
					code, b.p ? b.p : "");
			}
			json_decref(j);
		}
		free(b.p);
		free(body);
	} else {
		fprintf(stderr, "crowd_client: bad arguments for mode %s\n", mode);
		rc = 2;
	}
	curl_slist_free_all(json_hdr);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}
