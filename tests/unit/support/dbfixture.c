/* dbfixture.c - see dbfixture.h. The server is started the way
 * stack/start.sh does it (mariadb-install-db into a private data folder,
 * then mariadbd --no-defaults on its own socket), with what keeps a
 * throw-away server quick to start: a small buffer pool and redo log, no
 * binary log, no doublewrite, no flush at each commit, and no TCP at all.
 * None of that changes SQL behaviour (grants are on, as in production).
 * Readiness is polled by connecting; the data is thrown away, so the
 * server is stopped with SIGKILL rather than a clean shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/log.h"
#include "dbfixture.h"

#define DB_NAME "cloud_crowd_test"
#define START_TIMEOUT_S 60
#define PREFIX "ccdbfx-"

static struct dbfx fx;
static struct cc_config pristine;   /* the config every test starts from */
static pid_t server = -1;
static pid_t owner = -1;            /* the process that started it */
static MYSQL *check;                /* the helpers' own connection */
static char sock[300];
static int started;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dbfixture: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Show the last lines of a log, for a server that would not start. */
static void tail_log(const char *path)
{
	char line[512];
	char *lines[20] = { 0 };
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		free(lines[n % 20]);
		lines[n % 20] = strdup(line);
		n++;
	}
	fclose(f);
	say("last lines of %s:", path);
	for (size_t i = n > 20 ? n - 20 : 0; i < n; i++) {
		fprintf(stderr, "  %s", lines[i % 20] ? lines[i % 20] : "\n");
		free(lines[i % 20]);
		lines[i % 20] = NULL;
	}
}

/* spawn - run argv with stdout and stderr into log; the child dies with
 * us (PR_SET_PDEATHSIG), so a test binary killed by a timeout leaves no
 * server behind. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	int null = open("/dev/null", O_RDONLY);
	if (fd < 0 || null < 0)
		_exit(127);
	dup2(null, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

/* A folder PREFIX<pid>-... whose process is gone was left by a test
 * binary that was killed: remove it. */
static void sweep_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[512];
		long pid;

		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(PREFIX), NULL, 10);
		if (pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name);
		cc_fs_rmtree(path, NULL);
	}
	closedir(d);
}

static int write_action(const char *name, const char *stages)
{
	char path[sizeof(fx.root) + 64];
	char *list = strdup(stages), *save = NULL;
	int rc = 0;

	if (!list)
		return -1;
	snprintf(path, sizeof(path), "%s/actions/%s", fx.root, name);
	if (cc_fs_mkdirs(path, 0755, NULL) < 0) {
		free(list);
		return -1;
	}
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/actions/%s/%s", fx.root, name, s);
		f = fopen(path, "w");
		if (!f || fputs("#!/bin/sh\necho '\"ok\"'\n", f) < 0) {
			rc = -1;
			if (f)
				fclose(f);
			break;
		}
		fclose(f);
		chmod(path, 0755);
	}
	free(list);
	return rc;
}

static void stop_server(void)
{
	if (server > 0 && getpid() == owner) {
		kill(server, SIGKILL);
		while (waitpid(server, NULL, 0) < 0 && errno == EINTR)
			;
	}
	server = -1;
}

/* Everything the fixture made goes; safe to call twice (atexit after the
 * group teardown), and a no-op in a forked child. */
static void cleanup_all(void)
{
	if (owner != getpid())
		return;
	if (fx.db) {
		cc_db_free(fx.db);
		fx.db = NULL;
	}
	if (check) {
		mysql_close(check);
		check = NULL;
	}
	stop_server();
	if (fx.root[0]) {
		cc_fs_rmtree(fx.root, NULL);
		fx.root[0] = '\0';
	}
	if (started) {
		mysql_library_end();
		started = 0;
	}
}

static MYSQL *raw_connect(const char *db)
{
	MYSQL *m = mysql_init(NULL);
	unsigned int timeout = 5;

	if (!m)
		return NULL;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	if (!mysql_real_connect(m, NULL, "root", "", db, 0, sock, 0)) {
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* One parameter of a helper statement. */
struct rawp {
	int is_str;
	long long i;
	const char *s;
};

/* raw - prepare, bind and run sql on the helpers' connection. With out,
 * the first column of the first row is returned as a new string in *out
 * (NULL for SQL NULL) and *found says whether there was a row. Returns
 * 0, or -1 with the reason in msg. */
static int raw(const char *sql, const struct rawp *p, size_t n, char **out,
	       int *found, long long *affected, long long *insert_id,
	       char *msg, size_t msglen)
{
	MYSQL_STMT *st = check ? mysql_stmt_init(check) : NULL;
	MYSQL_BIND b[16], rb;
	unsigned long lens[16], len = 0;
	char small[64];
	my_bool isnull = 0;
	int rc = -1;

	if (out)
		*out = NULL;
	if (found)
		*found = 0;
	if (!st) {
		snprintf(msg, msglen, "no helper connection");
		return -1;
	}
	if (n > 16) {
		snprintf(msg, msglen, "at most 16 parameters");
		goto out;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		snprintf(msg, msglen, "prepare: %s", mysql_stmt_error(st));
		goto out;
	}
	if (mysql_stmt_param_count(st) != n) {
		snprintf(msg, msglen, "statement takes %lu parameters, got %zu",
			 mysql_stmt_param_count(st), n);
		goto out;
	}
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		if (p[i].is_str && !p[i].s) {
			b[i].buffer_type = MYSQL_TYPE_NULL;
		} else if (p[i].is_str) {
			lens[i] = strlen(p[i].s);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)p[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
		} else {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p[i].i;
		}
	}
	if ((n && mysql_stmt_bind_param(st, b)) || mysql_stmt_execute(st)) {
		snprintf(msg, msglen, "%s", mysql_stmt_error(st));
		goto out;
	}
	if (affected)
		*affected = (long long)mysql_stmt_affected_rows(st);
	if (insert_id)
		*insert_id = (long long)mysql_stmt_insert_id(st);
	if (out) {
		int f;

		if (mysql_stmt_field_count(st) < 1) {
			snprintf(msg, msglen, "statement returns no columns");
			goto out;
		}
		/* Fetched as text into a small buffer first (numbers need one:
		 * the length a binary DOUBLE reports for an empty buffer is
		 * not its text's), then again in full when that was short. */
		memset(&rb, 0, sizeof(rb));
		rb.buffer_type = MYSQL_TYPE_STRING;
		rb.buffer = small;
		rb.buffer_length = sizeof(small);
		rb.length = &len;
		rb.is_null = &isnull;
		if (mysql_stmt_store_result(st) || mysql_stmt_bind_result(st, &rb)) {
			snprintf(msg, msglen, "%s", mysql_stmt_error(st));
			goto out;
		}
		f = mysql_stmt_fetch(st);
		if (f == 1) {
			snprintf(msg, msglen, "fetch: %s", mysql_stmt_error(st));
			goto out;
		}
		if (f != MYSQL_NO_DATA) {
			*found = 1;
			if (!isnull) {
				*out = malloc(len + 1);
				if (!*out) {
					snprintf(msg, msglen, "out of memory");
					goto out;
				}
				memcpy(*out, small, len < sizeof(small) ? len : 0);
				rb.buffer = *out;
				rb.buffer_length = len + 1;
				if (len >= sizeof(small) &&
				    mysql_stmt_fetch_column(st, &rb, 0, 0)) {
					snprintf(msg, msglen, "fetch_column: %s",
						 mysql_stmt_error(st));
					free(*out);
					*out = NULL;
					goto out;
				}
				(*out)[len] = '\0';
			}
		}
		mysql_stmt_free_result(st);
	}
	rc = 0;
out:
	mysql_stmt_close(st);
	return rc;
}

/* Integer arguments into parameters; fails the test on an error. */
static int run_ints(const char *sql, const long long *args, size_t n,
		    char **out, int *found, long long *affected,
		    long long *insert_id, const char *file, int line)
{
	struct rawp p[16];
	char msg[512];

	memset(p, 0, sizeof(p));
	for (size_t i = 0; i < n && i < 16; i++)
		p[i].i = args[i];
	if (raw(sql, p, n, out, found, affected, insert_id, msg, sizeof(msg)) < 0) {
		fail_msg("%s:%d: %s [%s]", file, line, msg, sql);
		return -1;
	}
	return 0;
}

long long dbfx_int_(const char *sql, const long long *args, size_t n,
		    const char *file, int line)
{
	char *s = NULL, *end;
	int found;
	long long v;

	run_ints(sql, args, n, &s, &found, NULL, NULL, file, line);
	if (!found)
		fail_msg("%s:%d: no row [%s]", file, line, sql);
	if (!s)
		return DBFX_NULL;
	v = strtoll(s, &end, 10);
	if (*end) {
		/* DOUBLE or DECIMAL columns: the integer part */
		v = (long long)strtod(s, NULL);
	}
	free(s);
	return v;
}

char *dbfx_str_(const char *sql, const long long *args, size_t n,
		const char *file, int line)
{
	char *s = NULL;
	int found;

	run_ints(sql, args, n, &s, &found, NULL, NULL, file, line);
	if (!found)
		fail_msg("%s:%d: no row [%s]", file, line, sql);
	return s;
}

long long dbfx_exec_(const char *sql, const long long *args, size_t n,
		     const char *file, int line)
{
	long long affected = 0;

	run_ints(sql, args, n, NULL, NULL, &affected, NULL, file, line);
	return affected;
}

long long dbfx_insert_(const char *sql, const long long *args, size_t n,
		       const char *file, int line)
{
	long long id = 0;

	run_ints(sql, args, n, NULL, NULL, NULL, &id, file, line);
	return id;
}

long long dbfx_job_new(int status, const char *action, const char *callback_url)
{
	static const char sql[] =
		"INSERT INTO jobs (status, inputs, action, options, callback_url,"
		" created_at, updated_at) VALUES (?, '[]', ?, '{}', ?, NOW(6), NOW(6))";
	struct rawp p[] = { { 0, status, NULL }, { 1, 0, action },
			    { 1, 0, callback_url } };
	long long id = 0;
	char msg[512];

	if (raw(sql, p, 3, NULL, NULL, NULL, &id, msg, sizeof(msg)) < 0)
		fail_msg("dbfx_job_new: %s", msg);
	return id;
}

long long dbfx_unit_new(long long job_id, int status, long long position,
			const char *input)
{
	static const char sql[] =
		"INSERT INTO work_units (status, job_id, input, action, position,"
		" created_at, updated_at) SELECT ?, id, ?, action, ?, NOW(6), NOW(6)"
		" FROM jobs WHERE id = ?";
	static const char bump[] =
		"UPDATE jobs SET units_total = units_total + 1 WHERE id = ?";
	struct rawp p[] = { { 0, status, NULL }, { 1, 0, input },
			    { 0, position, NULL }, { 0, job_id, NULL } };
	long long id = 0;
	char msg[512];

	if (raw(sql, p, 4, NULL, NULL, NULL, &id, msg, sizeof(msg)) < 0 ||
	    raw(bump, p + 3, 1, NULL, NULL, NULL, NULL, msg, sizeof(msg)) < 0)
		fail_msg("dbfx_unit_new: %s", msg);
	if (!id)
		fail_msg("dbfx_unit_new: no job %lld", job_id);
	return id;
}

static int mkdir_in(const char *name)
{
	char path[sizeof(fx.root) + 32];

	snprintf(path, sizeof(path), "%s/%s", fx.root, name);
	return cc_fs_mkdirs(path, 0755, NULL);
}

/* start - the folder, the server, the database and the schema. */
static int start(void)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char data[300], log[300], errlog[300], pidf[300], tmpd[300], schema[CC_PATH_LEN];
	char a_datadir[320], a_socket[320], a_pid[320], a_log[320], a_tmp[320];
	double t0 = now();
	struct cc_err err = { 0 };
	struct cc_db *db = NULL;
	int status;
	pid_t pid;

	owner = getpid();
	/* Short: the socket path must fit in 108 bytes. */
	if (strlen(tmp) > 120)
		tmp = "/tmp";
	sweep_stale(tmp);
	snprintf(fx.root, sizeof(fx.root), "%s/" PREFIX "%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(fx.root)) {
		say("mkdtemp %s: %s", fx.root, strerror(errno));
		fx.root[0] = '\0';
		return -1;
	}
	atexit(cleanup_all);
	snprintf(sock, sizeof(sock), "%s/mysql.sock", fx.root);
	snprintf(data, sizeof(data), "%s/data", fx.root);
	snprintf(log, sizeof(log), "%s/mariadb-install.log", fx.root);
	snprintf(errlog, sizeof(errlog), "%s/mariadb.err", fx.root);
	snprintf(pidf, sizeof(pidf), "%s/mariadbd.pid", fx.root);
	snprintf(tmpd, sizeof(tmpd), "%s/mysqltmp", fx.root);
	if (strlen(sock) >= 108) {
		say("socket path too long: %s", sock);
		return -1;
	}
	if (mkdir_in("mysqltmp") < 0 || mkdir_in("storage") < 0 ||
	    mkdir_in("tmp") < 0 || mkdir_in("log") < 0 || mkdir_in("run") < 0 ||
	    write_action("plain", "process") < 0 ||
	    write_action("merged", "process,merge") < 0 ||
	    write_action("splitter", "split,process") < 0 ||
	    write_action("split_merge", "split,process,merge") < 0 ||
	    write_action("other", "process") < 0) {
		say("cannot fill %s", fx.root);
		return -1;
	}
	snprintf(a_datadir, sizeof(a_datadir), "--datadir=%s", data);
	snprintf(a_socket, sizeof(a_socket), "--socket=%s", sock);
	snprintf(a_pid, sizeof(a_pid), "--pid-file=%s", pidf);
	snprintf(a_log, sizeof(a_log), "--log-error=%s", errlog);
	snprintf(a_tmp, sizeof(a_tmp), "--tmpdir=%s", tmpd);

	/* Options for both install and server, as start.sh's MYSQL_OPTS.
	 * mariadbd refuses to run as root without --user=root; as another
	 * user that slot repeats a harmless option instead (an argv cannot
	 * leave a hole). */
#define COMMON a_datadir, "--innodb-log-file-size=8M", \
	"--innodb-buffer-pool-size=16M", "--innodb-doublewrite=0", \
	"--innodb-flush-log-at-trx-commit=2", "--skip-log-bin"
	{
		char *argv[] = { "mariadb-install-db", "--no-defaults", COMMON,
			geteuid() == 0 ? "--user=root" : "--skip-name-resolve",
			"--skip-name-resolve", "--skip-test-db",
			"--auth-root-authentication-method=normal", NULL };
		pid = spawn(argv, log);
		if (pid < 0 || waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			say("mariadb-install-db failed");
			tail_log(log);
			return -1;
		}
	}
	{
		/* mariadbd is in /usr/sbin, often not in a test's PATH */
		const char *bin = access("/usr/sbin/mariadbd", X_OK) == 0 ?
			"/usr/sbin/mariadbd" : "mariadbd";
		char *argv[] = { (char *)bin, "--no-defaults", COMMON, a_socket,
			"--skip-networking", a_pid, a_log, a_tmp,
			"--skip-name-resolve", "--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_bin", "--max-connections=100",
			geteuid() == 0 ? "--user=root" : "--skip-name-resolve", NULL };
		server = spawn(argv, log);
		if (server < 0) {
			say("fork: %s", strerror(errno));
			return -1;
		}
	}
#undef COMMON
	mysql_library_init(0, NULL, NULL);
	started = 1;
	/* Ready when it takes a connection; gone if it exited. */
	for (;;) {
		if ((check = raw_connect(NULL)))
			break;
		if (waitpid(server, &status, WNOHANG) == server) {
			server = -1;
			say("mariadbd exited while starting");
			tail_log(errlog);
			return -1;
		}
		if (now() - t0 > START_TIMEOUT_S) {
			say("mariadbd not ready after %d s", START_TIMEOUT_S);
			tail_log(errlog);
			return -1;
		}
		usleep(20 * 1000);
	}
	{
		char msg[512];
		if (raw("CREATE DATABASE " DB_NAME " CHARACTER SET utf8mb4"
			" COLLATE utf8mb4_bin", NULL, 0, NULL, NULL, NULL, NULL,
			msg, sizeof(msg)) < 0 ||
		    mysql_select_db(check, DB_NAME)) {
			say("creating the database: %s", msg);
			return -1;
		}
	}

	cc_config_defaults(&pristine, fx.root);
	snprintf(pristine.db_host, sizeof(pristine.db_host), "localhost");
	snprintf(pristine.db_socket, sizeof(pristine.db_socket), "%s", sock);
	snprintf(pristine.db_user, sizeof(pristine.db_user), "root");
	pristine.db_password[0] = '\0';
	snprintf(pristine.db_name, sizeof(pristine.db_name), DB_NAME);
	snprintf(pristine.actions_path, sizeof(pristine.actions_path), "%s/actions", fx.root);
	snprintf(pristine.local_storage_path, sizeof(pristine.local_storage_path),
		 "%s/storage", fx.root);
	snprintf(pristine.temp_storage_path, sizeof(pristine.temp_storage_path),
		 "%s/tmp", fx.root);
	snprintf(pristine.log_path, sizeof(pristine.log_path), "%s/log", fx.root);
	snprintf(pristine.pid_path, sizeof(pristine.pid_path), "%s/run", fx.root);
	snprintf(pristine.storage, sizeof(pristine.storage), "filesystem");
	snprintf(pristine.central_server, sizeof(pristine.central_server),
		 "http://127.0.0.1:9");
	pristine.work_unit_retries = 3;
	pristine.retry_backoff = 2;
	pristine.connect_timeout = 2;
	pristine.node_timeout = 5;

	snprintf(schema, sizeof(schema), "%s/sql/schema.sql", CC_SOURCE_DIR);
	db = cc_db_connect(&pristine, &err);
	if (!db || cc_db_load_schema(db, schema, &err) < 0 ||
	    cc_db_check_schema(db, &err) < 0) {
		say("loading %s: %s", schema, err.msg);
		cc_db_free(db);
		return -1;
	}
	cc_db_free(db);
	if (getenv("DBFX_VERBOSE"))
		say("MariaDB ready in %.2f s (socket %s)", now() - t0, sock);
	return 0;
}

int dbfx_group_setup(void **state)
{
	const char *level = getenv("CC_TEST_LOG_LEVEL");

	(void)state;
	/* Tests provoke warnings on purpose; show only errors unless asked. */
	cc_log_set_level(level && *level ? level : "error");
	if (start() < 0) {
		cleanup_all();
		return -1;
	}
	return 0;
}

int dbfx_group_teardown(void **state)
{
	(void)state;
	cleanup_all();
	return 0;
}

int dbfx_setup(void **state)
{
	static const char *const clear[] = {
		"DELETE FROM work_units", "DELETE FROM jobs",
		"DELETE FROM node_records", "DELETE FROM black_listed_actions",
	};
	struct cc_err err = { 0 };
	char msg[512];

	if (!check) {
		say("the group setup did not start MariaDB");
		return -1;
	}
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		if (raw(clear[i], NULL, 0, NULL, NULL, NULL, NULL, msg, sizeof(msg)) < 0) {
			say("%s: %s", clear[i], msg);
			return -1;
		}
	fx.cfg = pristine;
	fx.db = cc_db_connect(&fx.cfg, &err);
	if (!fx.db) {
		say("cc_db_connect: %s", err.msg);
		return -1;
	}
	*state = &fx;
	return 0;
}

int dbfx_teardown(void **state)
{
	(void)state;
	cc_db_free(fx.db);
	fx.db = NULL;
	return 0;
}

struct dbfx *dbfx(void)
{
	return &fx;
}

struct cc_db *dbfx_connect(void)
{
	struct cc_err err = { 0 };
	struct cc_db *db = cc_db_connect(&fx.cfg, &err);

	if (!db)
		fail_msg("dbfx_connect: %s", err.msg);
	return db;
}

int dbfx_server_pid(void)
{
	return (int)server;
}
