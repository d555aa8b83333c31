/* serverconf.c - the nginx configuration of `crowd server` (server.h):
 * made from the template nginx/crowd.conf.in (or CONFDIR/nginx.conf.in)
 * as stack/start.sh makes it, with nginx's user files for basic auth, and
 * checked with nginx -t before anything runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "core/log.h"
#include "nginxconf.h"
#include "server.h"

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

int cli_server_write_nginx(struct server *s, const char *path, int users)
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
	if (users)
		unlink(node_htpasswd);
	if (users && cfg->http_authentication &&
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
	FILE *f = fopen(path, "w");
	if (!f || fputs(out, f) < 0 || fclose(f) != 0) {
		cli_fail(CC_EXIT_DAEMON, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	cc_info("wrote %s from %s (listen %s)", path, tpl_path, s->listen);
	rc = CC_EXIT_OK;
out:
	free(tpl);
	free(out);
	return rc;
}

int cli_server_test_nginx(struct server *s, const char *nginx_bin,
			  const char *path)
{
	const struct cc_config *cfg = &s->c->cfg;
	char out[PATH_MAX], errlog[PATH_MAX];
	char *argv[] = { (char *)nginx_bin, "-t", "-q", "-p", (char *)cfg->pid_path,
			 "-c", (char *)path, "-e", errlog, NULL };
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
		cli_fail(CC_EXIT_DAEMON, "nginx rejects %s", path);
		cli_print_tail(out, 10);
		return CC_EXIT_DAEMON;
	}
	return CC_EXIT_OK;
}

