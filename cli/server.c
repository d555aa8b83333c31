/* server.c - `crowd server [start|stop|restart|status]`: the central
 * server, i.e. the crowd-server FastCGI pool, the host's dispatcher
 * (ccdistribute --loop, which sends units to nodes and delivers callbacks
 * when the pool wakes it) and nginx in front, with nginx's configuration
 * made from the template nginx/crowd.conf.in (or CONFDIR/nginx.conf.in)
 * as stack/start.sh makes it.
 *
 * start: a running one is refused, stale pid files are reported and
 * removed, the schema is checked; the pool is started and waited for (its
 * socket), then the dispatcher (its wake socket), then nginx (central's
 * heartbeat through it). With -d we return then, leaving all three
 * running with their output in log_path/NAME.out; without, we stay in the
 * foreground, their logs on our terminal, and stop them on Ctrl-C,
 * SIGTERM or SIGHUP (or when one dies).
 * stop: nginx with SIGQUIT (finish requests), then the pool and the
 * dispatcher with SIGTERM; SIGKILL only after a grace period.
 * restart: every check of start first (config, database, schema, nginx
 * -t on the new configuration), so a config it cannot run leaves the
 * running server alone; then stop and start. serverconf.c makes the
 * nginx configuration, serverstatus.c reports status. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "central/wake.h"
#include "core/log.h"
#include "nginxconf.h"
#include "server.h"
#include "service.h"

#define NGINX_STOP_TIMEOUT 15.0  /* s of SIGQUIT before SIGKILL */
#define POOL_STOP_TIMEOUT 30.0

void cli_server_init(struct server *s, struct cli *c)
{
	const struct cc_config *cfg = &c->cfg;
	char dir_arg[PATH_MAX + 8];

	memset(s, 0, sizeof(*s));
	s->c = c;
	snprintf(s->conf, sizeof(s->conf), "%s/nginx.conf", cfg->pid_path);
	snprintf(dir_arg, sizeof(dir_arg), "-c %s ", cfg->dir);
	cli_proc_init(&s->pool, "crowd-server", cfg->pid_path, "crowd-server.pid",
		  "crowd-server", dir_arg, NULL);
	cli_proc_init(&s->dispatcher, "ccdistribute", cfg->pid_path,
		  "ccdistribute.pid", "ccdistribute", dir_arg, "--loop");
	snprintf(dir_arg, sizeof(dir_arg), "%s ", s->conf);
	cli_proc_init(&s->nginx, "nginx", cfg->pid_path, "nginx.pid", "nginx",
		  dir_arg, NULL);
}

static int heartbeat(struct cc_http *http, const char *host, int port)
{
	struct cc_http_resp resp;
	char url[512];
	int ok;

	snprintf(url, sizeof(url), "http://%s:%d/heartbeat", host, port);
	ok = cc_http_request(http, "GET", url, NULL, 2, &resp, NULL) == 0 &&
	     resp.status == 200 && resp.body && !strcmp(resp.body, "buh-bump");
	cc_http_resp_cleanup(&resp);
	return ok;
}

static void server_stop_all(struct server *s)
{
	int was;

	cli_proc_stop(&s->nginx, SIGQUIT, NGINX_STOP_TIMEOUT, &was);
	cli_proc_stop(&s->pool, SIGTERM, POOL_STOP_TIMEOUT, &was);
	cli_proc_stop(&s->dispatcher, SIGTERM, POOL_STOP_TIMEOUT, &was);
}

/* Foreground: until a signal, or until one of the three dies. */
static int server_supervise(struct server *s)
{
	struct cli_proc *procs[] = { &s->pool, &s->dispatcher, &s->nginx };
	int rc = CC_EXIT_OK;

	cc_info("running in the foreground: Ctrl-C stops it");
	while (!cli_got_signal) {
		struct cli_proc *dead = NULL;

		for (int i = 0; i < 3 && !dead; i++)
			if (!cc_daemon_alive(procs[i]->pid))
				dead = procs[i];
		if (dead) {
			cc_error("%s (pid %d) exited; stopping the central server",
				 dead->name, (int)dead->pid);
			unlink(dead->pidfile);
			rc = CC_EXIT_DAEMON;
			break;
		}
		cli_nap(0.2);
	}
	if (cli_got_signal)
		cc_info("SIG%s: stopping the central server", sigabbrev_np(cli_got_signal));
	server_stop_all(s);
	return rc;
}

static int server_start(struct server *s);
static int server_stop(struct server *s);

/* Everything that start needs, checked in the order of the exit codes'
 * table: the --listen addresses (2), the database and its schema (4),
 * the programs and the nginx configuration written to conf and passed
 * through nginx -t (6). With users, nginx's user files are written too;
 * without (restart's check while a server runs), nothing the running
 * server reads is touched. The three paths get PATH_MAX bytes. */
static int server_check(struct server *s, const char *conf, int users,
			char *pool_bin, char *disp_bin, char *nginx_bin)
{
	struct cli *c = s->c;
	const struct cc_config *cfg = &c->cfg;
	struct cc_err err = { 0 };
	struct cc_db *db;
	int rc;

	if (cli_nginx_listen(c->listen, (size_t)c->nlisten, cfg->server_port,
			     s->listen, sizeof(s->listen), &err) < 0)
		return cli_usage("server: %s", err.msg);
	cli_nginx_probe(c->listen, (size_t)c->nlisten, cfg->server_port,
			s->probe_host, sizeof(s->probe_host), &s->probe_port);

	/* The pool would only die one process after another without these. */
	if (!(db = cli_db_open(c, 1, &rc)))
		return rc;
	cc_db_free(db);

	if (cc_daemon_find_program("crowd-server", pool_bin, PATH_MAX, &err) < 0 ||
	    cc_daemon_find_program("ccdistribute", disp_bin, PATH_MAX, &err) < 0 ||
	    cc_daemon_find_program("nginx", nginx_bin, PATH_MAX, &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "%s", err.msg);
	if (cli_mkdir(cfg->pid_path, CC_EXIT_DAEMON) || cli_mkdir(cfg->log_path, CC_EXIT_DAEMON))
		return CC_EXIT_DAEMON;
	if ((rc = cli_server_write_nginx(s, conf, users)) != CC_EXIT_OK ||
	    (rc = cli_server_test_nginx(s, nginx_bin, conf)) != CC_EXIT_OK)
		return rc;
	return CC_EXIT_OK;
}

/* restart: check first, with the running server left alone, so a config it
 * cannot run (a wrong database password, a bad listen address) is refused
 * while the old server still serves; then stop and start. */
static int server_restart(struct server *s)
{
	char check[PATH_MAX + 8], pool_bin[PATH_MAX], disp_bin[PATH_MAX];
	char nginx_bin[PATH_MAX];
	int rc;

	snprintf(check, sizeof(check), "%s.check", s->conf);
	rc = server_check(s, check, 0, pool_bin, disp_bin, nginx_bin);
	unlink(check);
	if (rc != CC_EXIT_OK) {
		int up = cli_proc_state(&s->pool, 1) == CC_DAEMON_RUNNING ||
			 cli_proc_state(&s->nginx, 1) == CC_DAEMON_RUNNING;

		fprintf(stderr, "crowd: restart refused: nothing was stopped%s\n",
			up ? " (the running central server goes on with its old "
			"config)" : "");
		return rc;
	}
	cc_info("restart: config, database, schema and nginx configuration "
		"checked; stopping the running server");
	if ((rc = server_stop(s)) != CC_EXIT_OK)
		return rc;
	return server_start(s);
}

static int server_start(struct server *s)
{
	struct cli *c = s->c;
	const struct cc_config *cfg = &c->cfg;
	struct cc_http *http = NULL;
	char pool_bin[PATH_MAX], nginx_bin[PATH_MAX], out[PATH_MAX], nout[PATH_MAX];
	char disp_bin[PATH_MAX], dout[PATH_MAX], wake[PATH_MAX];
	char errlog[PATH_MAX];
	struct stat st;
	int rc;
	double deadline;

	if (cli_proc_state(&s->pool, 0) == CC_DAEMON_RUNNING)
		return cli_fail(CC_EXIT_FAILED, "crowd-server is already running (pid %d, "
				"pid file %s); stop it with: crowd -c %s server stop",
				(int)s->pool.pid, s->pool.pidfile, cfg->dir);
	if (cli_proc_state(&s->dispatcher, 0) == CC_DAEMON_RUNNING)
		return cli_fail(CC_EXIT_FAILED, "the dispatcher of this central server "
				"(ccdistribute --loop) is already running (pid %d, pid "
				"file %s); stop it with: crowd -c %s server stop",
				(int)s->dispatcher.pid, s->dispatcher.pidfile, cfg->dir);
	if (cli_proc_state(&s->nginx, 0) == CC_DAEMON_RUNNING)
		return cli_fail(CC_EXIT_FAILED, "nginx of this central server is already "
				"running (pid %d, pid file %s); stop it with: crowd -c "
				"%s server stop", (int)s->nginx.pid, s->nginx.pidfile,
				cfg->dir);
	if ((rc = server_check(s, s->conf, 1, pool_bin, disp_bin, nginx_bin)) != CC_EXIT_OK)
		return rc;

	/* In the foreground a Ctrl-C while starting stops what was started. */
	if (!c->daemon)
		cli_catch_signals();

	/* 1. the pool, until its socket exists */
	if (stat(cfg->server_socket, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cfg->server_socket);      /* left by one that crashed */
	snprintf(out, sizeof(out), "%s/crowd-server.out", cfg->log_path);
	char *pool_argv[] = { pool_bin, "-c", c->cfg.dir, c->daemon ? NULL : "-v", NULL };
	if ((rc = cli_proc_spawn(&s->pool, pool_argv, c->daemon ? out : NULL)) != CC_EXIT_OK)
		return rc;
	deadline = cc_clock_now() + READY_TIMEOUT;
	while (!(stat(cfg->server_socket, &st) == 0 && S_ISSOCK(st.st_mode))) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->pool.pid) || cc_clock_now() > deadline) {
			cli_fail(CC_EXIT_DAEMON, "crowd-server %s (see %s/server.log)",
				 cc_daemon_alive(s->pool.pid) ? "did not open its socket "
				 "in time" : "exited while starting", cfg->log_path);
			cli_print_tail(out, 15);
			goto fail;
		}
		cli_nap(0.05);
	}
	cc_info("crowd-server ready: %d pool processes on %s", cfg->server_workers,
		cfg->server_socket);

	/* 2. the dispatcher, until its wake socket exists */
	snprintf(dout, sizeof(dout), "%s/ccdistribute.out", cfg->log_path);
	if (cc_wake_path(cfg, CC_WAKE_DISPATCH, wake, sizeof(wake)) < 0) {
		cli_fail(CC_EXIT_DAEMON, "%s/ccdistribute.sock: path too long for a "
			 "unix socket", cfg->pid_path);
		goto fail;
	}
	char *disp_argv[] = { disp_bin, "-c", c->cfg.dir, "--loop", NULL };
	if ((rc = cli_proc_spawn(&s->dispatcher, disp_argv, c->daemon ? dout : NULL)) != CC_EXIT_OK)
		goto fail;
	deadline = cc_clock_now() + READY_TIMEOUT;
	while (!(stat(wake, &st) == 0 && S_ISSOCK(st.st_mode))) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->dispatcher.pid) || cc_clock_now() > deadline) {
			cli_fail(CC_EXIT_DAEMON, "ccdistribute --loop %s",
				 cc_daemon_alive(s->dispatcher.pid) ? "did not open "
				 "its wake socket in time" : "exited while starting");
			cli_print_tail(dout, 15);
			goto fail;
		}
		cli_nap(0.05);
	}
	cc_info("dispatcher ready: ccdistribute --loop (pid %d), woken on %s",
		(int)s->dispatcher.pid, wake);

	/* 3. nginx, until central's heartbeat answers through it */
	snprintf(nout, sizeof(nout), "%s/nginx.out", cfg->log_path);
	snprintf(errlog, sizeof(errlog), "%s/nginx-error.log", cfg->log_path);
	char *nginx_argv[] = { nginx_bin, "-p", c->cfg.pid_path, "-c", s->conf,
			       "-e", errlog, "-g", "daemon off;", NULL };
	if ((rc = cli_proc_spawn(&s->nginx, nginx_argv, c->daemon ? nout : NULL)) != CC_EXIT_OK)
		goto fail;
	if (cc_http_global_init() < 0 || !(http = cc_http_new(cfg))) {
		cli_fail(CC_EXIT_DAEMON, "cannot initialise libcurl");
		goto fail;
	}
	deadline = cc_clock_now() + READY_TIMEOUT;
	while (!heartbeat(http, s->probe_host, s->probe_port)) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->nginx.pid) || !cc_daemon_alive(s->pool.pid) ||
		    cc_clock_now() > deadline) {
			cli_fail(CC_EXIT_DAEMON, "central did not answer GET http://%s:%d/"
				 "heartbeat with buh-bump%s", s->probe_host,
				 s->probe_port, !cc_daemon_alive(s->nginx.pid) ?
				 " (nginx exited)" : !cc_daemon_alive(s->pool.pid) ?
				 " (crowd-server exited)" : "");
			cli_print_tail(errlog, 10);
			cli_print_tail(nout, 5);
			goto fail;
		}
		cli_nap(0.1);
	}
	cc_http_free(http);
	cc_info("central server ready: http://%s:%d/ (crowd-server pid %d, "
		"ccdistribute pid %d, nginx pid %d; logs in %s)", s->probe_host,
		s->probe_port, (int)s->pool.pid, (int)s->dispatcher.pid,
		(int)s->nginx.pid, cfg->log_path);
	if (c->daemon)
		return CC_EXIT_OK;
	return server_supervise(s);
interrupted:
	cc_info("SIG%s while starting: stopping the central server",
		sigabbrev_np(cli_got_signal));
	cc_http_free(http);
	server_stop_all(s);
	return CC_EXIT_OK;
fail:
	cc_http_free(http);
	server_stop_all(s);
	return CC_EXIT_DAEMON;
}

static int server_stop(struct server *s)
{
	int rc, was_nginx, was_pool, was_disp;

	if ((rc = cli_proc_stop(&s->nginx, SIGQUIT, NGINX_STOP_TIMEOUT, &was_nginx)) != CC_EXIT_OK)
		return rc;
	if ((rc = cli_proc_stop(&s->pool, SIGTERM, POOL_STOP_TIMEOUT, &was_pool)) != CC_EXIT_OK)
		return rc;
	if ((rc = cli_proc_stop(&s->dispatcher, SIGTERM, POOL_STOP_TIMEOUT, &was_disp)) != CC_EXIT_OK)
		return rc;
	if (!was_nginx && !was_pool && !was_disp)
		cc_info("the central server was not running (no live pid file in %s)",
			s->c->cfg.pid_path);
	return CC_EXIT_OK;
}

int cli_cmd_server(struct cli *c, int argc, char **argv)
{
	struct server s;
	const char *sub = argc ? argv[0] : "start";
	int rc;

	if (argc > 1)
		return cli_usage("server: unexpected argument '%s'", argv[1]);
	if (strcmp(sub, "start") && strcmp(sub, "stop") && strcmp(sub, "restart") &&
	    strcmp(sub, "status"))
		return cli_usage("server: '%s' is not start, stop, restart or status", sub);
	if ((rc = cli_load_config(c)) != CC_EXIT_OK)
		return rc;
	cli_server_init(&s, c);
	if (!strcmp(sub, "status"))
		return cli_server_status(&s);
	if (!strcmp(sub, "stop"))
		return server_stop(&s);
	if (!strcmp(sub, "restart"))
		return server_restart(&s);
	return server_start(&s);
}
