/* main.c - crowd-server: the central server as a pool of FastCGI
 * responders behind nginx. main() reads the options and the config,
 * checks the database once (so a wrong password or a missing schema stops
 * the start with exit 4), and hands over to the supervisor (pool.c),
 * which forks server_workers pool processes on the unix socket; each runs
 * responder() below: its own MySQL connection, opened when first needed
 * and re-opened after an outage (meanwhile requests get 503 with a JSON
 * error), then one request after another. A pool process never calls a
 * node or a callback receiver: after answering (FCGX_Finish_r) it wakes
 * the host's dispatcher (central/wake.h), which does. */
#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "central/wake.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/version.h"
#include "pool.h"
#include "routes.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-server [-c CONFIG_DIR] [-v] [--help] [--version]\n"
		"  The CloudCrowd central server: a pool of FastCGI processes on the\n"
		"  unix socket `server_socket` of crowd.conf, run behind nginx.\n"
		"  -c DIR     config folder (default $CROWD_CONFIG, else\n"
		"             $CLOUD_CROWD_CONFIG, else ./config)\n"
		"  -v         also log to stderr\n\n");
	cc_config_print_help(out);
}

/* give_back_heap - freed chunks below the top of the heap (a big job's
 * outputs, parsed and dumped, leave thousands) are not returned by
 * M_TRIM_THRESHOLD; once the free heap has grown by FREE_HEAP_SLACK since
 * the last look, malloc_trim releases their pages. mallinfo2 walks the
 * free chunks, which are few once consolidated: `make bench` shows no
 * change in the pool's CPU per unit. (The heap's end, sbrk(0), would be
 * free to read but misses holes that a later job fills again.) */
#define FREE_HEAP_SLACK (512 * 1024)

static void give_back_heap(void)
{
	static size_t mark;
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks > mark + FREE_HEAP_SLACK) {
		malloc_trim(0);
		mark = mi.fordblks;
	} else if (mi.fordblks < mark) {
		mark = mi.fordblks;
	}
}

static void after_response(struct cc_app *app, const struct cc_resp *resp)
{
	if (resp->wake_dispatch)
		cc_wake_send(app->cfg, CC_WAKE_DISPATCH, 0);
	if (resp->deliver_callbacks)
		cc_wake_send(app->cfg, CC_WAKE_CALLBACKS, 0);
	if (resp->wake_later > 0)
		cc_wake_send(app->cfg, CC_WAKE_DISPATCH, resp->wake_later);
	give_back_heap();
}

static char *read_body(FCGX_Request *r, size_t len)
{
	char *buf = malloc(len + 1);
	size_t got = 0;

	if (!buf)
		return NULL;
	while (got < len) {
		int n = FCGX_GetStr(buf + got, (int)(len - got), r->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (got != len) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void write_resp(FCGX_Request *r, const struct cc_resp *resp)
{
	char head[1024];      /* fits: the header line is at most 384 */
	int n;

	/* libfcgi's FCGX_FPrintF has its own printf without %zu: format here. */
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s%s%s%s%s"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Cache-Control: no-store\r\n"
		     "Content-Length: %zu\r\n\r\n", resp->status,
		     cc_status_text(resp->status),
		     resp->content_type ? "Content-Type: " : "",
		     resp->content_type ? resp->content_type : "",
		     resp->content_type ? "\r\n" : "", resp->header,
		     *resp->header ? "\r\n" : "", resp->body_len);
	FCGX_PutStr(head, n, r->out);
	if (resp->body_len)
		FCGX_PutStr(resp->body, (int)resp->body_len, r->out);
}

static void serve_one(struct cc_app *app, FCGX_Request *r)
{
	struct cc_req req = { 0 };
	struct cc_resp resp = { 0 };
	const char *uri = FCGX_GetParam("REQUEST_URI", r->envp);
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	char *path = NULL, *body = NULL, *q;
	long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0;

	req.method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	req.query = FCGX_GetParam("QUERY_STRING", r->envp);
	req.content_type = FCGX_GetParam("CONTENT_TYPE", r->envp);
	req.remote_addr = FCGX_GetParam("REMOTE_ADDR", r->envp);
	req.script_name = FCGX_GetParam("CROWD_PREFIX", r->envp);
	req.server_addr = FCGX_GetParam("SERVER_ADDR", r->envp);
	req.server_port = FCGX_GetParam("SERVER_PORT", r->envp);
	if (!req.method || !uri) {
		cc_resp_error(&resp, 400, "missing REQUEST_METHOD or REQUEST_URI");
		goto answer;
	}
	path = strdup(uri);
	if (!path) {
		cc_resp_error(&resp, 500, "out of memory");
		goto answer;
	}
	if ((q = strchr(path, '?')))
		*q = '\0';
	req.path = path;
	if (!req.query)
		req.query = "";
	if (len < 0 || len > (long long)app->cfg->max_body_kb * 1024) {
		cc_resp_error(&resp, 413, "request body of %lld bytes is over the "
			      "limit of %d KB", len, app->cfg->max_body_kb);
		goto answer;
	}
	if (len) {
		body = read_body(r, (size_t)len);
		if (!body) {
			cc_resp_error(&resp, 400, "request body shorter than its "
				      "Content-Length");
			goto answer;
		}
	}
	req.body = body;
	req.body_len = (size_t)len;
	cc_server_handle(app, &req, &resp);
	if (resp.status >= 500)
		cc_warn("%s %s -> %d", req.method, req.path, resp.status);
	else
		cc_debug("%s %s -> %d", req.method, req.path, resp.status);
answer:
	write_resp(r, &resp);
	FCGX_Finish_r(r);
	after_response(app, &resp);
	cc_req_cleanup(&req);
	cc_resp_cleanup(&resp);
	free(body);
	free(path);
}

/* The templates: the config folder's templates/ when it has one, else
 * the source tree's. Looked up by each pool process as it starts. -1 when
 * a path does not fit app->templates_dir (main() checks this once, so a
 * pool process never fails here). */
static int find_templates(struct cc_app *app, const struct cc_config *cfg)
{
	struct stat st;
	int n;

	n = snprintf(app->templates_dir, sizeof(app->templates_dir), "%s/templates",
		     cfg->dir);
	if (n < 0 || (size_t)n >= sizeof(app->templates_dir))
		return -1;
	if (stat(app->templates_dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	n = snprintf(app->templates_dir, sizeof(app->templates_dir), "%s/templates",
		     CC_SOURCE_DIR);
	return n < 0 || (size_t)n >= sizeof(app->templates_dir) ? -1 : 0;
}

/* responder - the body of a pool process (cc_pool_child): answer
 * requests until the supervisor says stop. The database connection opens
 * on the first request that needs it; while MySQL is away, requests get
 * 503 and the connection is tried again with backoff (core/db.h). */
static int responder(struct cc_config *cfg, int sock)
{
	struct cc_app app = { 0 };
	FCGX_Request r;

	/* A big job's outputs are large, short-lived allocations. Fixed
	 * thresholds (glibc otherwise raises them after each large free) send
	 * them to mmap and give freed heap back, so an idle pool process stays
	 * small after serving one. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	app.cfg = cfg;
	snprintf(app.version, sizeof(app.version), "%s", CC_VERSION);
	find_templates(&app, cfg);
	app.db = cc_db_new(cfg);
	if (!app.db || FCGX_InitRequest(&r, sock, 0)) {
		cc_error("out of memory starting a pool process");
		cc_db_free(app.db);
		return CC_EXIT_FAILED;
	}
	cc_info("pool process ready");
	while (cc_pool_accept(&r) == 0)
		serve_one(&app, &r);
	FCGX_Free(&r, 1);
	cc_db_free(app.db);
	cc_info("pool process exiting");
	return CC_EXIT_OK;
}

/* check_database - once, before the pool starts: the settings work and
 * the schema is this version's. */
static int check_database(const struct cc_config *cfg)
{
	struct cc_err err = { 0 };
	struct cc_db *db = cc_db_connect(cfg, &err);

	if (!db || cc_db_check_schema(db, &err) < 0) {
		cc_error("%s", err.msg);
		fprintf(stderr, "crowd-server: %s\n", err.msg);
		cc_db_free(db);
		return -1;
	}
	cc_db_free(db);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0, 0, 0, 0 },
	};
	static struct cc_config cfg;
	static struct cc_app probe;      /* for the templates check only */
	struct cc_err err = { 0 };
	char dir[CC_PATH_LEN], logfile[CC_PATH_LEN + 16];
	const char *cdir = NULL;
	int c, verbose = 0;

	cc_log_init("crowd-server");
	while ((c = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cdir = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return CC_EXIT_OK;
		case 'V': printf("crowd-server %s\n", CC_VERSION); return CC_EXIT_OK;
		default: usage(stderr); return CC_EXIT_USAGE;
		}
	}
	if (!cc_config_find_dir(cdir, dir)) {
		fprintf(stderr, "crowd-server: the config folder's path is too long\n");
		return CC_EXIT_CONFIG;
	}
	if (cc_config_load(&cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-server: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}
	if (find_templates(&probe, &cfg) < 0) {
		fprintf(stderr, "crowd-server: %s/templates: path too long\n", cfg.dir);
		return CC_EXIT_CONFIG;
	}
	cc_log_set_level(cfg.log_level);
	mkdir(cfg.log_path, 0755);
	snprintf(logfile, sizeof(logfile), "%s/server.log", cfg.log_path);
	if (!verbose && cc_log_open(logfile) < 0)
		fprintf(stderr, "crowd-server: cannot open %s: %s (logging to stderr)\n",
			logfile, strerror(errno));
	if (FCGX_Init()) {
		cc_error("cannot initialise libfcgi");
		return CC_EXIT_DAEMON;
	}
	if (check_database(&cfg) < 0)
		return CC_EXIT_DB;
	switch (cc_pool_run(&cfg, responder)) {
	case CC_POOL_STOPPED: return CC_EXIT_OK;
	case CC_POOL_NO_SOCKET: return CC_EXIT_DAEMON;
	}
	return CC_EXIT_FAILED;
}
