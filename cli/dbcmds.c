/* dbcmds.c - the commands that work on the database directly:
 * `crowd load_schema` (drops and recreates every table from
 * sql/schema.sql; refuses while jobs are unfinished unless --force),
 * `crowd cleanup` (removes complete jobs older than --days, default 7) and
 * `crowd console` (the mariadb/mysql client on the configured database,
 * its password passed through a pipe, never on the command line). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "proc/daemon.h"
#include "model/job.h"
#include "core/log.h"

#define ER_NO_SUCH_TABLE 1146

int cli_cmd_load_schema(struct cli *c, int argc, char **argv)
{
	struct cc_err err = { 0 };
	struct cc_db *db;
	char schema[PATH_MAX];
	long long unfinished = 0, units = 0;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("load_schema takes no arguments");
	if ((rc = cli_load_config(c)) != CC_EXIT_OK)
		return rc;
	snprintf(schema, sizeof(schema), "%s/sql/schema.sql", CC_SOURCE_DIR);
	if (access(schema, R_OK) != 0)
		return cli_fail(CC_EXIT_FAILED, "load_schema: cannot read %s: %s", schema,
				strerror(errno));
	if (!(db = cli_db_open(c, 0, &rc)))
		return rc;
	if (cc_job_count_incomplete(db, &unfinished, &units, &err) < 0) {
		unfinished = units = 0;
		if (cc_err_is_cause(&err, CC_CAUSE_MYSQL, ER_NO_SUCH_TABLE)) {
			/* no jobs table yet: a new database */
		} else if (c->force) {
			cc_warn("cannot count unfinished jobs (%s); --force: loading "
				"the schema anyway", err.msg);
		} else {
			rc = cli_fail(CC_EXIT_DB, "load_schema: cannot count unfinished jobs: "
				      "%s. If the database holds an older schema, "
				      "--force loads this one (dropping every table and "
				      "its jobs)", err.msg);
			goto out;
		}
	}
	if (unfinished > 0 && !c->force) {
		rc = cli_fail(CC_EXIT_FAILED, "load_schema: database '%s' holds %lld "
			      "unfinished job%s (%lld work unit%s to go); loading the "
			      "schema drops every table and them with it. Let them "
			      "finish, or run again with --force to wipe them",
			      c->cfg.db_name, unfinished, unfinished == 1 ? "" : "s",
			      units, units == 1 ? "" : "s");
		goto out;
	}
	if (unfinished > 0)
		cc_warn("--force: dropping %lld unfinished job%s", unfinished,
			unfinished == 1 ? "" : "s");
	cc_info("loading %s into database '%s'", schema, c->cfg.db_name);
	if (cc_db_load_schema(db, schema, &err) < 0) {
		rc = cli_fail(CC_EXIT_DB, "load_schema: %s", err.msg);
		goto out;
	}
	if (cc_db_check_schema(db, &err) < 0) {
		rc = cli_fail(CC_EXIT_DB, "load_schema: loaded, but %s", err.msg);
		goto out;
	}
	cc_info("schema version %s loaded into database '%s'", CC_SCHEMA_VERSION,
		c->cfg.db_name);
	rc = CC_EXIT_OK;
out:
	cc_db_free(db);
	return rc;
}

int cli_cmd_cleanup(struct cli *c, int argc, char **argv)
{
	struct cc_err err = { 0 };
	struct cc_db *db;
	long long deleted = 0;
	int days = c->days >= 0 ? c->days : 7, rc;

	(void)argv;
	if (argc)
		return cli_usage("cleanup takes no arguments (--days N)");
	if ((rc = cli_load_config(c)) != CC_EXIT_OK)
		return rc;
	if (!(db = cli_db_open(c, 1, &rc)))
		return rc;
	cc_info("removing jobs that finished more than %d day%s ago, with their "
		"work units and stored files", days, days == 1 ? "" : "s");
	if (cc_job_cleanup_old(db, &c->cfg, days, &deleted, &err) < 0)
		rc = cli_fail(CC_EXIT_DB, "cleanup: %s (removed %lld job%s before that)",
			      err.msg, deleted, deleted == 1 ? "" : "s");
	else
		cc_info("removed %lld job%s", deleted, deleted == 1 ? "" : "s");
	cc_db_free(db);
	return rc;
}

/* [client] options file with the password, read by the client from a
 * pipe (/dev/fd/N) so the password never shows in ps. Returns the read
 * end (inherited across exec) or -1. */
static int password_pipe(const char *password)
{
	int fd[2];
	FILE *f;

	if (pipe(fd) < 0)
		return -1;
	f = fdopen(fd[1], "w");
	if (!f) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	/* quoted, with \ and " escaped, as option files allow */
	fputs("[client]\npassword=\"", f);
	for (const char *p = password; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputs("\"\n", f);
	if (fclose(f) != 0) {
		close(fd[0]);
		return -1;
	}
	return fd[0];
}

int cli_cmd_console(struct cli *c, int argc, char **argv)
{
	struct cc_err err = { 0 };
	const struct cc_config *cfg;
	struct cc_db *db;
	char bin[PATH_MAX], extra[64], host[CC_STR_LEN + 16], port[32];
	char sock[CC_PATH_LEN + 16], user[CC_STR_LEN + 16];
	char **args;
	int rc, k = 0, fd;

	if ((rc = cli_load_config(c)) != CC_EXIT_OK)
		return rc;
	cfg = &c->cfg;
	if (cc_daemon_find_program("mariadb", bin, sizeof(bin), &err) < 0 &&
	    cc_daemon_find_program("mysql", bin, sizeof(bin), &err) < 0)
		return cli_fail(CC_EXIT_FAILED, "console: neither mariadb nor mysql (the "
				"client) is installed");
	/* A console is how one repairs a database: an old schema only warns. */
	if (!(db = cli_db_open(c, 0, &rc)))
		return rc;
	if (cc_db_check_schema(db, &err) < 0)
		cc_warn("%s", err.msg);
	cc_db_free(db);
	fd = password_pipe(cfg->db_password);
	if (fd < 0)
		return cli_fail(CC_EXIT_FAILED, "console: pipe: %s", strerror(errno));
	args = calloc((size_t)argc + 8, sizeof(*args));
	if (!args)
		return cli_fail(CC_EXIT_FAILED, "out of memory");
	snprintf(extra, sizeof(extra), "--defaults-extra-file=/dev/fd/%d", fd);
	snprintf(user, sizeof(user), "--user=%s", cfg->db_user);
	args[k++] = bin;
	args[k++] = extra;               /* must come first */
	if (*cfg->db_socket) {
		snprintf(sock, sizeof(sock), "--socket=%s", cfg->db_socket);
		args[k++] = sock;
	} else {
		snprintf(host, sizeof(host), "--host=%s", cfg->db_host);
		snprintf(port, sizeof(port), "--port=%d", cfg->db_port);
		args[k++] = host;
		args[k++] = port;
	}
	args[k++] = user;
	for (int i = 0; i < argc; i++)
		args[k++] = argv[i];
	args[k++] = (char *)cfg->db_name;
	args[k] = NULL;
	cc_info("console: %s on database '%s'", bin, cfg->db_name);
	execv(bin, args);
	rc = cli_fail(CC_EXIT_FAILED, "console: cannot run %s: %s", bin, strerror(errno));
	free(args);
	close(fd);
	return rc;
}
