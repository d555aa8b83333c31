/* routes_health.c - GET /health, the readiness check of a central host
 * (GET /heartbeat stays the liveness check: it answers while the pool
 * runs, whatever else is away). It looks at what a request needs, the
 * database, and at what work needs, this host's dispatcher and the nodes:
 *
 *   200 {"status": "ok" | "degraded", ...}   the database answers
 *   503 {"status": "unavailable", ...}        it does not
 *
 * with "database": {"ok", "error" when not}, "dispatcher": {"ok", "pid"
 * when known, "error" when not} and "nodes": {"count", "busy", "max"}
 * (null while the database is away). "degraded": the database answers but
 * no dispatcher runs on this host or no node has checked in, so requests
 * are served but work does not move.
 *
 * The dispatcher check is local: `ccdistribute --loop` of this host
 * listens on PID_PATH/ccdistribute.sock (central/wake.h), and whoever
 * started it (crowd server start, stack/start.sh) wrote its pid to
 * PID_PATH/ccdistribute.pid. It is running when that pid is alive and
 * the socket has a listener; started without a pid file (systemd), the
 * listener alone says so. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "central/wake.h"
#include "model/node_record.h"
#include "routes.h"

/* 1 when a process listens on the datagram socket at path: connect()
 * succeeds only to a bound socket (the way cc_wake_listen probes). */
static int listening(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, live;

	if (strlen(path) >= sizeof(a.sun_path))
		return 0;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return live;
}

/* The pid in path: > 0, 0 when there is no such file, -1 when it holds
 * no pid. */
static long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[32], *end;
	long pid;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 0)
		return -1;
	return pid;
}

/* dispatcher_json - {"ok": true, "pid": N} or {"ok": false, "error": why}
 * for this host's ccdistribute --loop. *ok gets the verdict. */
static json_t *dispatcher_json(const struct cc_config *cfg, int *ok)
{
	char sock[CC_PATH_LEN + 32], pidfile[CC_PATH_LEN + 32], why[3 * CC_PATH_LEN];
	long pid;
	int alive, live;

	*ok = 0;
	snprintf(pidfile, sizeof(pidfile), "%s/ccdistribute.pid", cfg->pid_path);
	if (cc_wake_path(cfg, CC_WAKE_DISPATCH, sock, sizeof(sock)) < 0) {
		snprintf(why, sizeof(why), "%s/ccdistribute.sock: path too long for "
			 "a unix socket", cfg->pid_path);
		return json_pack("{s:b, s:s}", "ok", 0, "error", why);
	}
	pid = read_pid(pidfile);
	live = listening(sock);
	alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	if (live && (alive || pid == 0)) {
		*ok = 1;
		return alive ? json_pack("{s:b, s:I}", "ok", 1, "pid", (json_int_t)pid) :
			       json_pack("{s:b}", "ok", 1);
	}
	if (pid < 0)
		snprintf(why, sizeof(why), "%s holds no pid", pidfile);
	else if (pid > 0 && !alive)
		snprintf(why, sizeof(why), "ccdistribute is not running: %s names "
			 "pid %ld, which has ended; start it (crowd server start, or "
			 "ccdistribute --loop)", pidfile, pid);
	else if (pid > 0)
		snprintf(why, sizeof(why), "ccdistribute pid %ld runs but nobody "
			 "listens on %s", pid, sock);
	else
		snprintf(why, sizeof(why), "no dispatcher runs on this host (no %s, "
			 "nobody listens on %s): units go out only on cron's passes; "
			 "start it (crowd server start, or ccdistribute --loop)",
			 pidfile, sock);
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

void cc_route_health(struct cc_app *app, struct cc_req *req, struct cc_resp *resp)
{
	struct cc_err err = { 0 };
	struct cc_node_counts n = { 0 };
	json_t *db, *disp, *nodes, *out;
	int db_ok, disp_ok;
	const char *status;

	if ((req->query && *req->query) || req->body_len) {
		cc_resp_error(resp, 400, "GET /health takes no parameters");
		return;
	}
	/* The counts first: their failure is the database's own (the schema
	 * check words a failure as a missing schema). */
	db_ok = cc_node_counts(app->db, &n, &err) == 0 &&
		cc_db_check_schema(app->db, &err) == 0;
	if (db_ok) {
		db = json_pack("{s:b}", "ok", 1);
		nodes = json_pack("{s:I, s:I, s:I}", "count", (json_int_t)n.count,
				  "busy", (json_int_t)n.busy, "max", (json_int_t)n.max);
	} else {
		char why[CC_ERR_LEN + 64];

		if (err.kind == CC_ERR_UNAVAILABLE && *err.cause_msg)
			snprintf(why, sizeof(why), "the database is unavailable: %s",
				 err.cause_msg);
		else
			snprintf(why, sizeof(why), "%s", err.msg);
		db = json_pack("{s:b, s:s}", "ok", 0, "error", why);
		nodes = json_pack("{s:n, s:n, s:n}", "count", "busy", "max");
	}
	disp = dispatcher_json(app->cfg, &disp_ok);
	status = !db_ok ? "unavailable" : !disp_ok || !n.count ? "degraded" : "ok";
	out = json_pack("{s:s, s:o?, s:o?, s:o?}", "status", status, "database", db,
			"dispatcher", disp, "nodes", nodes);
	if (!out || !db || !disp || !nodes) {
		json_decref(out);
		cc_resp_error(resp, 500, "out of memory");
		return;
	}
	cc_resp_json(resp, db_ok ? 200 : 503, out);
}
