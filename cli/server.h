/* server.h - what the files of `crowd server` share (server.c: start,
 * stop, restart; serverconf.c: the nginx configuration; serverstatus.c:
 * status, with central's liveness and readiness). */
#ifndef CLI_SERVER_H
#define CLI_SERVER_H

#include <limits.h>
#include "cli.h"
#include "service.h"

/* One central server of a config folder: its three processes. */
struct server {
	struct cli *c;
	struct cli_proc pool, nginx, dispatcher;
	char conf[PATH_MAX];             /* generated nginx.conf */
	char probe_host[256];            /* where this machine reaches it */
	int probe_port;
	char listen[4096];               /* @LISTEN@ of the template */
};

/* cli_server_init - s for c's loaded config (pid files in pid_path). */
void cli_server_init(struct server *s, struct cli *c);

/* cli_server_write_nginx - write the nginx configuration of s (its
 * s->listen set) to path; with users, also nginx's user files (basic
 * auth) in pid_path, which a running nginx reads on every request: a
 * check before a restart passes 0 and leaves them alone. CC_EXIT_OK or
 * CC_EXIT_DAEMON with the reason printed. */
int cli_server_write_nginx(struct server *s, const char *path, int users);

/* cli_server_test_nginx - nginx -t on path. CC_EXIT_OK, or CC_EXIT_DAEMON
 * with nginx's complaint printed. */
int cli_server_test_nginx(struct server *s, const char *nginx_bin,
			  const char *path);

/* cli_server_status - one line per process, then central's liveness
 * (GET /heartbeat) and readiness (GET /health, one line per part). Exit
 * code: CC_EXIT_OK when every process runs and central is ready (ok or
 * degraded), CC_EXIT_DB when its database is unavailable, else
 * CC_EXIT_FAILED. */
int cli_server_status(struct server *s);

#endif
