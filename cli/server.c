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
 * dispatcher with SIGTERM; SIGKILL only after a grace period. */
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
#include "service.h"

#define NGINX_STOP_TIMEOUT 15.0  /* s of SIGQUIT before SIGKILL */
#define POOL_STOP_TIMEOUT 30.0

struct server {
	struct cli *c;
	struct cli_proc pool, nginx, dispatcher;
	char conf[PATH_MAX];             /* generated nginx.conf */
	char probe_host[256];
	int probe_port;
	char listen[4096];
};

static void server_init(struct server *s, struct cli *c)
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

static char *read_text(const char *path, struct cc_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	if (!f) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
		cc_err_set(err, CC_ERR_INTERNAL, "cannot read %s", path);
	}
	fclose(f);
	return text;
}

/* nginx's user file at path holding one user, login. */
static int write_htpasswd(const char *login, const char *password,
			  const char *path)
{
	unsigned char salt[8];
	char line[CC_STR_LEN * 2];
	FILE *f;
	int fd;

	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt) ||
	    cli_nginx_ssha(login, password, salt, sizeof(salt), line,
			   sizeof(line)) < 0)
		return cli_fail(CC_EXIT_DAEMON, "cannot make %s", path);
	/* 0640: nginx's group may read it (chgrp it to nginx's group when
	 * nginx runs as another user), nobody else; fchmod also fixes the
	 * mode of a file that was there before. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0)
		fchmod(fd, 0640);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0)
		return cli_fail(CC_EXIT_DAEMON, "cannot write %s: %s", path, strerror(errno));
	return CC_EXIT_OK;
}

/* nginx.conf from the template (CONFDIR/nginx.conf.in if there, else the
 * source tree's nginx/crowd.conf.in), as stack/start.sh fills it in. */
static int write_nginx_conf(struct server *s)
{
	const struct cc_config *cfg = &s->c->cfg;
	struct cc_err err = { 0 };
	char tpl_path[PATH_MAX], static_dir[PATH_MAX], temp[PATH_MAX];
	char htpasswd[PATH_MAX], node_htpasswd[PATH_MAX], user_line[128], body[32];
	char auth[4 * PATH_MAX], auth_map[sizeof(auth)], keepalive[128];
	char *tpl = NULL, *out = NULL;
	struct stat st;
	int rc = CC_EXIT_DAEMON, ka = cfg->server_workers / 2;

	snprintf(tpl_path, sizeof(tpl_path), "%s/nginx.conf.in", cfg->dir);
	if (stat(tpl_path, &st) != 0)
		snprintf(tpl_path, sizeof(tpl_path), "%s/nginx/crowd.conf.in",
			 CC_SOURCE_DIR);
	snprintf(static_dir, sizeof(static_dir), "%s/static", cfg->dir);
	if (stat(static_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(static_dir, sizeof(static_dir), "%s/static", CC_SOURCE_DIR);
	snprintf(temp, sizeof(temp), "%s/nginx-temp", cfg->pid_path);
	snprintf(htpasswd, sizeof(htpasswd), "%s/htpasswd", cfg->pid_path);
	snprintf(node_htpasswd, sizeof(node_htpasswd), "%s/htpasswd-node", cfg->pid_path);
	if (cli_mkdir(temp, CC_EXIT_DAEMON) != CC_EXIT_OK)
		return CC_EXIT_DAEMON;
	if (geteuid() == 0)
		snprintf(user_line, sizeof(user_line),
			 "user root;  # workers must reach the pool's socket");
	else
		snprintf(user_line, sizeof(user_line),
			 "# (not root: workers run as this user)");
	snprintf(body, sizeof(body), "%d", cfg->max_body_kb);
	/* With node_login, a user file for the clients (login) and one for
	 * nodes and workers: neither may use the other's routes. Without, the
	 * one file of the original's single login; no stale node file. */
	unlink(node_htpasswd);
	if (cfg->http_authentication &&
	    (write_htpasswd(cfg->login, cfg->password, htpasswd) != CC_EXIT_OK ||
	     (cc_config_node_auth(cfg) &&
	      write_htpasswd(cfg->node_login, cfg->node_password,
			     node_htpasswd) != CC_EXIT_OK)))
		return CC_EXIT_DAEMON;
	if (cli_nginx_auth(cfg->http_authentication ? htpasswd : NULL,
			   cc_config_node_auth(cfg) ? node_htpasswd : NULL,
			   auth_map, auth, sizeof(auth), &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "nginx configuration: %s", err.msg);
	if (ka > 0)
		snprintf(keepalive, sizeof(keepalive),
			 "\t\tkeepalive %d;\n\t\tkeepalive_timeout 5s;", ka);
	else
		snprintf(keepalive, sizeof(keepalive), "\t\t# (one pool process: "
			 "no keep-alive, it would hold the only process)");
	const struct cli_nginx_var vars[] = {
		{ "USER_LINE", user_line },
		{ "RUN_DIR", cfg->pid_path },
		{ "LOG_DIR", cfg->log_path },
		{ "TEMP_DIR", temp },
		{ "MAX_BODY_KB", body },
		{ "SOCKET", cfg->server_socket },
		{ "UPSTREAM_KEEPALIVE", keepalive },
		{ "KEEP_CONN", ka > 0 ? "\t\t\tfastcgi_keep_conn on;" :
					"\t\t\t# (fastcgi_keep_conn off)" },
		{ "LISTEN", s->listen },
		{ "AUTH_MAP", auth_map },
		{ "AUTH", auth },
		{ "STATIC_DIR", static_dir },
	};
	if (!(tpl = read_text(tpl_path, &err)) ||
	    !(out = cli_nginx_render(tpl, vars, sizeof(vars) / sizeof(vars[0]), &err))) {
		cli_fail(CC_EXIT_DAEMON, "nginx configuration from %s: %s", tpl_path, err.msg);
		goto out;
	}
	FILE *f = fopen(s->conf, "w");
	if (!f || fputs(out, f) < 0 || fclose(f) != 0) {
		cli_fail(CC_EXIT_DAEMON, "cannot write %s: %s", s->conf, strerror(errno));
		goto out;
	}
	cc_info("wrote %s from %s (listen %s)", s->conf, tpl_path, s->listen);
	rc = CC_EXIT_OK;
out:
	free(tpl);
	free(out);
	return rc;
}

/* nginx -t on the generated file: a clear error before anything runs. */
static int test_nginx_conf(struct server *s, const char *nginx_bin)
{
	const struct cc_config *cfg = &s->c->cfg;
	char out[PATH_MAX], errlog[PATH_MAX];
	char *argv[] = { (char *)nginx_bin, "-t", "-q", "-p", (char *)cfg->pid_path,
			 "-c", s->conf, "-e", errlog, NULL };
	struct cc_daemon_spec spec = { nginx_bin, argv, out, 0 };
	struct cc_err err = { 0 };
	pid_t pid;
	int status;

	snprintf(out, sizeof(out), "%s/nginx-test.out", cfg->log_path);
	snprintf(errlog, sizeof(errlog), "%s/nginx-error.log", cfg->log_path);
	unlink(out);
	if (cc_daemon_spawn(&spec, &pid, &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "nginx -t: %s", err.msg);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		cli_fail(CC_EXIT_DAEMON, "nginx rejects %s", s->conf);
		cli_print_tail(out, 10);
		return CC_EXIT_DAEMON;
	}
	return CC_EXIT_OK;
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

static int server_start(struct server *s)
{
	struct cli *c = s->c;
	const struct cc_config *cfg = &c->cfg;
	struct cc_err err = { 0 };
	struct cc_http *http = NULL;
	struct cc_db *db;
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
	if (cli_nginx_listen(c->listen, (size_t)c->nlisten, cfg->server_port,
			     s->listen, sizeof(s->listen), &err) < 0)
		return cli_usage("server: %s", err.msg);
	cli_nginx_probe(c->listen, (size_t)c->nlisten, cfg->server_port,
			s->probe_host, sizeof(s->probe_host), &s->probe_port);
	if (cc_daemon_find_program("crowd-server", pool_bin, sizeof(pool_bin), &err) < 0 ||
	    cc_daemon_find_program("ccdistribute", disp_bin, sizeof(disp_bin), &err) < 0 ||
	    cc_daemon_find_program("nginx", nginx_bin, sizeof(nginx_bin), &err) < 0)
		return cli_fail(CC_EXIT_DAEMON, "%s", err.msg);

	/* The pool would only die one process after another without these. */
	if (!(db = cli_db_open(c, 1, &rc)))
		return rc;
	cc_db_free(db);

	if (cli_mkdir(cfg->pid_path, CC_EXIT_DAEMON) || cli_mkdir(cfg->log_path, CC_EXIT_DAEMON))
		return CC_EXIT_DAEMON;
	if ((rc = write_nginx_conf(s)) != CC_EXIT_OK ||
	    (rc = test_nginx_conf(s, nginx_bin)) != CC_EXIT_OK)
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
	deadline = cli_now() + READY_TIMEOUT;
	while (!(stat(cfg->server_socket, &st) == 0 && S_ISSOCK(st.st_mode))) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->pool.pid) || cli_now() > deadline) {
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
	deadline = cli_now() + READY_TIMEOUT;
	while (!(stat(wake, &st) == 0 && S_ISSOCK(st.st_mode))) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->dispatcher.pid) || cli_now() > deadline) {
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
	deadline = cli_now() + READY_TIMEOUT;
	while (!heartbeat(http, s->probe_host, s->probe_port)) {
		if (cli_got_signal)
			goto interrupted;
		if (!cc_daemon_alive(s->nginx.pid) || !cc_daemon_alive(s->pool.pid) ||
		    cli_now() > deadline) {
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

static int server_status(struct server *s)
{
	struct cli_proc *procs[] = { &s->pool, &s->dispatcher, &s->nginx };
	int all = 1;

	for (int i = 0; i < 3; i++) {
		int up = cli_proc_state(procs[i], 0) == CC_DAEMON_RUNNING;

		printf("%s: %s", procs[i]->name, up ? "running" : "not running");
		if (up)
			printf(" (pid %d)", (int)procs[i]->pid);
		printf("\n");
		all &= up;
	}
	return all ? CC_EXIT_OK : CC_EXIT_FAILED;
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
	server_init(&s, c);
	if (!strcmp(sub, "status"))
		return server_status(&s);
	if (!strcmp(sub, "stop"))
		return server_stop(&s);
	if (!strcmp(sub, "restart") && (rc = server_stop(&s)) != CC_EXIT_OK)
		return rc;
	return server_start(&s);
}
