/* serverstatus.c - `crowd server status`: the three processes of the
 * central server (pid files), then, through nginx as this machine reaches
 * it, central's liveness (GET /heartbeat: the pool answers) and readiness
 * (GET /health: the database, the dispatcher, the nodes; health.c says
 * what its answer means). A central without /health (an older one) is
 * "readiness: unknown", not a failure. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "health.h"
#include "nginxconf.h"
#include "server.h"

#define PROBE_TIMEOUT 5          /* s per request */

/* GET path on the server's nginx; 0 with resp (any status), or -1 with
 * why (n bytes). */
static int probe(struct server *s, struct cc_http *http, const char *path,
		 struct cc_http_resp *resp, char *why, size_t n)
{
	struct cc_err err = { 0 };
	char url[512];

	snprintf(url, sizeof(url), "http://%s:%d%s", s->probe_host, s->probe_port, path);
	if (cc_http_request(http, "GET", url, NULL, PROBE_TIMEOUT, resp, &err) < 0) {
		snprintf(why, n, "GET %.300s: %.300s", url, err.msg);
		return -1;
	}
	return 0;
}

int cli_server_status(struct server *s)
{
	const struct cc_config *cfg = &s->c->cfg;
	struct cli_proc *procs[] = { &s->pool, &s->dispatcher, &s->nginx };
	struct cc_http_resp resp = { 0 };
	struct cc_http *http = NULL;
	char why[1024], lines[2048], msg[512];
	int all = 1, live = 0, rc;

	for (int i = 0; i < 3; i++) {
		int up = cli_proc_state(procs[i], 0) == CC_DAEMON_RUNNING;

		printf("%s: %s", procs[i]->name, up ? "running" : "not running");
		if (up)
			printf(" (pid %d)", (int)procs[i]->pid);
		printf("\n");
		all &= up;
	}
	if (!s->nginx.pid) {
		printf("liveness: not checked (nginx does not run)\n");
		return CC_EXIT_FAILED;
	}
	cli_nginx_probe(s->c->listen, (size_t)s->c->nlisten, cfg->server_port,
			s->probe_host, sizeof(s->probe_host), &s->probe_port);
	if (cc_http_global_init() < 0 || !(http = cc_http_new(cfg)))
		return cli_fail(CC_EXIT_FAILED, "cannot initialise libcurl");

	/* liveness: the pool answers through nginx */
	if (probe(s, http, "/heartbeat", &resp, why, sizeof(why)) < 0) {
		printf("liveness: no answer (%s)\n", why);
	} else if (resp.status == 401) {
		printf("liveness: unknown (401)\n");
		cc_http_resp_cleanup(&resp);
		cc_http_free(http);
		return cli_auth_refused(cfg, 0, "GET /heartbeat");
	} else if (resp.status == 200 && resp.body && !strcmp(resp.body, "buh-bump")) {
		printf("liveness: ok (http://%s:%d/heartbeat: buh-bump)\n",
		       s->probe_host, s->probe_port);
		live = 1;
	} else {
		printf("liveness: not alive (GET /heartbeat: %s)\n",
		       cli_resp_error(&resp, msg, sizeof(msg)));
	}
	cc_http_resp_cleanup(&resp);

	/* readiness: what central says of its database, dispatcher, nodes */
	why[0] = '\0';
	if (probe(s, http, "/health", &resp, why, sizeof(why)) < 0)
		resp.status = 0;
	rc = cli_health_report(resp.status, resp.body, why, lines, sizeof(lines));
	fputs(lines, stdout);
	cc_http_resp_cleanup(&resp);
	cc_http_free(http);
	if (!all || !live)
		return CC_EXIT_FAILED;
	return rc;
}
