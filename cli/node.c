/* node.c - `crowd node [start|stop|restart|status] [-d] [-p PORT] [-t TAG]
 * [-H HOST]`: this machine's node agent (crowd-node), known by the pid
 * file pid_path/node-PORT.pid. start waits until central's /status lists
 * the node (so a node that cannot check in is an error, with its reason);
 * with -d it then returns, else it stays in the foreground and passes
 * Ctrl-C, SIGTERM or SIGHUP on as SIGTERM. stop sends SIGTERM: the node
 * lets its running units report, then checks out. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "core/log.h"
#include "service.h"

struct node {
	struct cli *c;
	struct cli_proc proc;
	int port;
	char host[256];                  /* as central knows it, no port */
};

/* Does central's /status list HOST:PORT? 1 yes, 0 not (yet), -1 when
 * central refuses our credentials (401). */
static int node_listed(struct node *n, struct cc_http *http)
{
	struct cc_http_resp resp;
	char url[CC_STR_LEN + 16], want[300];
	json_t *j = NULL, *node;
	size_t i;
	int found = 0, len;

	len = snprintf(url, sizeof(url), "%s", n->c->cfg.central_server);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	snprintf(url + len, sizeof(url) - (size_t)len, "/status");
	snprintf(want, sizeof(want), "%s:%d", n->host, n->port);
	if (cc_http_request(http, "GET", url, NULL, 5, &resp, NULL) == 0 &&
	    resp.status == 401)
		found = -1;
	else if (resp.status == 200 && (j = json_loads(resp.body, 0, NULL)))
		json_array_foreach(json_object_get(j, "nodes"), i, node) {
			const char *h = json_string_value(json_object_get(node, "host"));
			if (h && !strcmp(h, want))
				found = 1;
		}
	json_decref(j);
	cc_http_resp_cleanup(&resp);
	return found;
}

/* Does another process hold TCP port on this machine? (bind, as the node
 * will, to every address.) */
static int port_taken(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, taken;

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

static int node_start(struct node *n)
{
	struct cli *c = n->c;
	const struct cc_config *cfg = &c->cfg;
	struct cc_err err = { 0 };
	struct cc_http *http = NULL;
	char bin[PATH_MAX], out[PATH_MAX], port[16];
	char *argv[12];
	int k = 0, rc, listed;
	double deadline;

	if (cli_proc_state(&n->proc, 0) == CC_DAEMON_RUNNING)
		return cli_fail(CC_EXIT_FAILED, "the node on port %d is already running "
				"(pid %d, pid file %s); stop it with: crowd -c %s node "
				"stop -p %d", n->port, (int)n->proc.pid,
				n->proc.pidfile, cfg->dir, n->port);
	if (cc_daemon_find_program("crowd-node", bin, sizeof(bin), &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "%s", err.msg);
	/* Checked first: the node would exit, but central may list HOST:PORT
	 * already (the process holding the port), and we would take that for
	 * our node checking in. */
	if (port_taken(n->port))
		return cli_fail(CC_EXIT_DAEMON, "port %d is in use by another process: the "
				"node could not listen on it (another node? ss -ltnp "
				"'sport = :%d'; or give -p PORT)", n->port, n->port);
	if (cli_mkdir(cfg->pid_path, CC_EXIT_DAEMON) || cli_mkdir(cfg->log_path, CC_EXIT_DAEMON))
		return CC_EXIT_DAEMON;
	snprintf(port, sizeof(port), "%d", n->port);
	snprintf(out, sizeof(out), "%s/node-%d.out", cfg->log_path, n->port);
	argv[k++] = bin;
	argv[k++] = "-c";
	argv[k++] = c->cfg.dir;
	if (c->tag) {
		argv[k++] = "-t";
		argv[k++] = (char *)c->tag;
	}
	if (c->host) {
		argv[k++] = "-H";
		argv[k++] = (char *)c->host;
	}
	if (!c->daemon)
		argv[k++] = "-v";
	argv[k++] = "-p";                /* last: the pid file check matches it */
	argv[k++] = port;
	argv[k] = NULL;
	if (!c->daemon)
		cli_catch_signals();         /* from here a Ctrl-C stops the node */
	if ((rc = cli_proc_spawn(&n->proc, argv, c->daemon ? out : NULL)) != CC_EXIT_OK)
		return rc;
	if (cc_http_global_init() < 0 || !(http = cc_http_new(cfg))) {
		cli_fail(CC_EXIT_DAEMON, "cannot initialise libcurl");
		goto fail;
	}
	deadline = cc_clock_now() + READY_TIMEOUT;
	while ((listed = node_listed(n, http)) != 1) {
		int st, code = -1;

		if (cli_got_signal)
			break;
		if (listed < 0) {
			/* the node may be in (its own credentials), but we, with the
			 * clients' login, cannot see it: a config to fix either way */
			cli_auth_refused(cfg, 0, "GET /status (to see the node check in)");
			rc = CC_EXIT_CENTRAL;
			goto fail;
		}
		/* our child: its exit status tells why it did not come up */
		if (waitpid(n->proc.pid, &st, WNOHANG) == n->proc.pid)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (code >= 0 || !cc_daemon_alive(n->proc.pid) || cc_clock_now() > deadline) {
			rc = code == CC_EXIT_CENTRAL ? CC_EXIT_CENTRAL : CC_EXIT_DAEMON;
			if (code == CC_EXIT_CENTRAL && c->daemon &&
			    cli_tail_has(out, "HTTP 401"))
				cli_auth_refused(cfg, 1, "the node's check-in (PUT /node/...)");
			else
				cli_fail(rc, "the node %s:%d %s", n->host, n->port,
					 code == CC_EXIT_CENTRAL ? "exited while starting: "
					 "it cannot check in with central" : code >= 0 ||
					 !cc_daemon_alive(n->proc.pid) ? "exited while "
					 "starting" : "is not listed by central in time");
			if (c->daemon)
				cli_print_tail(out, 10);
			goto fail;
		}
		cli_nap(0.1);
	}
	cc_http_free(http);
	http = NULL;
	if (c->daemon) {
		cc_info("node %s:%d ready and checked in with %s (pid %d; log "
			"%s/node-%d.log)", n->host, n->port, cfg->central_server,
			(int)n->proc.pid, cfg->log_path, n->port);
		return CC_EXIT_OK;
	}
	if (!cli_got_signal)                 /* (else: stopped while starting) */
		cc_info("node %s:%d ready and checked in with %s (pid %d); Ctrl-C "
			"checks it out and stops it", n->host, n->port,
			cfg->central_server, (int)n->proc.pid);

	/* Foreground: pass a stop on to the node and wait for it. */
	while (cc_daemon_alive(n->proc.pid)) {
		if (cli_got_signal) {
			int was;
			cc_info("SIG%s: stopping the node", sigabbrev_np(cli_got_signal));
			cli_got_signal = 0;
			return cli_proc_stop(&n->proc, SIGTERM, 30.0 + cfg->server_timeout, &was);
		}
		cli_nap(0.2);
	}
	unlink(n->proc.pidfile);
	cc_error("the node (pid %d) exited", (int)n->proc.pid);
	return CC_EXIT_DAEMON;
fail:
	cc_http_free(http);
	if (cc_daemon_alive(n->proc.pid)) {
		int was;
		cli_proc_stop(&n->proc, SIGTERM, 30.0 + cfg->server_timeout, &was);
	} else {
		unlink(n->proc.pidfile);     /* it exited: not a stale file to report */
	}
	return rc == CC_EXIT_CENTRAL ? CC_EXIT_CENTRAL : CC_EXIT_DAEMON;
}

static int node_stop(struct node *n)
{
	int was, rc;

	/* a node checks out on SIGTERM, after its running units had a few
	 * seconds to report (each report may wait server_timeout) */
	rc = cli_proc_stop(&n->proc, SIGTERM, 30.0 + n->c->cfg.server_timeout, &was);
	if (rc == CC_EXIT_OK && !was)
		cc_info("the node on port %d was not running (no live pid file %s)",
			n->port, n->proc.pidfile);
	return rc;
}

int cli_cmd_node(struct cli *c, int argc, char **argv)
{
	struct node n;
	const char *sub = argc ? argv[0] : "start";
	char dir_arg[PATH_MAX + 8], port_arg[32], file[64];
	int rc;

	if (argc > 1)
		return cli_usage("node: unexpected argument '%s'", argv[1]);
	if (strcmp(sub, "start") && strcmp(sub, "stop") && strcmp(sub, "restart") &&
	    strcmp(sub, "status"))
		return cli_usage("node: '%s' is not start, stop, restart or status", sub);
	if (c->port == 0)
		return cli_usage("node: -p 0 (any port) cannot be tracked by a pid "
				 "file; give a port");
	if ((rc = cli_load_config(c)) != CC_EXIT_OK)
		return rc;
	memset(&n, 0, sizeof(n));
	n.c = c;
	n.port = c->port > 0 ? c->port : c->cfg.node_port;
	if (c->host)
		snprintf(n.host, sizeof(n.host), "%s", c->host);
	else if (*c->cfg.node_host)
		snprintf(n.host, sizeof(n.host), "%s", c->cfg.node_host);
	else if (gethostname(n.host, sizeof(n.host) - 1) < 0)
		return cli_fail(CC_EXIT_FAILED, "gethostname: %s", strerror(errno));
	snprintf(dir_arg, sizeof(dir_arg), "-c %s ", c->cfg.dir);
	snprintf(port_arg, sizeof(port_arg), "-p %d ", n.port);
	snprintf(file, sizeof(file), "node-%d.pid", n.port);
	{
		char name[64];
		snprintf(name, sizeof(name), "node %d", n.port);
		cli_proc_init(&n.proc, name, c->cfg.pid_path, file, "crowd-node", dir_arg,
			  port_arg);
	}
	if (!strcmp(sub, "status")) {
		int up = cli_proc_state(&n.proc, 0) == CC_DAEMON_RUNNING;
		printf("node %s:%d: %s", n.host, n.port, up ? "running" : "not running");
		if (up)
			printf(" (pid %d)", (int)n.proc.pid);
		printf("\n");
		return up ? CC_EXIT_OK : CC_EXIT_FAILED;
	}
	if (!strcmp(sub, "stop"))
		return node_stop(&n);
	if (!strcmp(sub, "restart") && (rc = node_stop(&n)) != CC_EXIT_OK)
		return rc;
	return node_start(&n);
}
