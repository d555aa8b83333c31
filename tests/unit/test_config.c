/* test_config.c - crowd.conf: defaults, a full file, every kind of bad value
 * ("file:line: key: reason"), path resolution, the config folder lookup,
 * disabled_actions, node_allow (and its matching, core/cidr.h), the node
 * credentials (a pair, else login) and the masked dump. Each test works in
 * its own mkdtemp folder, removed by its teardown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/fs.h"

struct fixture {
	char dir[PATH_MAX];          /* the config folder (realpath'd) */
	struct cc_config cfg;
	struct cc_err err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_config.XXXXXX";

	if (!f || !mkdtemp(tmpl) || !realpath(tmpl, f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_fs_rmtree(f->dir, NULL);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void write_conf(struct fixture *f, const char *text)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/crowd.conf", f->dir);
	write_file(path, text);
}

/* load text as if it were a file named crowd.conf in f->dir */
static int load(struct fixture *f, const char *text)
{
	cc_err_clear(&f->err);
	return cc_config_load_string(&f->cfg, f->dir, text, "crowd.conf", &f->err);
}

static void assert_path(const struct fixture *f, const char *got, const char *rel)
{
	char want[PATH_MAX * 2];

	snprintf(want, sizeof(want), "%s/%s", f->dir, rel);
	assert_string_equal(got, want);
}

static void assert_load_fails_with(struct fixture *f, const char *text,
				   const char *msg)
{
	assert_int_equal(load(f, text), -1);
	assert_string_equal(f->err.msg, msg);
}

/* macros, so that a failure reports the caller's line */
#define assert_msg_starts(f, prefix) do { \
	if (strncmp((f)->err.msg, (prefix), strlen(prefix))) \
		fail_msg("error '%s' does not start with '%s'", (f)->err.msg, \
			 (prefix)); \
	} while (0)

#define assert_msg_has(f, part) do { \
	if (!strstr((f)->err.msg, (part))) \
		fail_msg("error '%s' does not mention '%s'", (f)->err.msg, (part)); \
	} while (0)

/* ---- defaults ---------------------------------------------------------- */

static void test_config_defaults_fill_every_important_key(void **state)
{
	struct fixture *f = *state;
	struct cc_config *c = &f->cfg;

	cc_config_defaults(c, f->dir);
	assert_string_equal(c->dir, f->dir);
	assert_path(f, c->file, "crowd.conf");
	assert_string_equal(c->central_server, "http://localhost:9173");
	assert_int_equal(c->max_workers, 4);
	assert_true(c->max_load < 0);
	assert_int_equal(c->min_free_memory, 0);
	assert_string_equal(c->storage, "filesystem");
	assert_path(f, c->local_storage_path, "storage");
	assert_path(f, c->temp_storage_path, "tmp");
	assert_int_equal(c->work_unit_retries, 3);
	assert_int_equal(c->http_authentication, 0);
	assert_string_equal(c->login, "");
	assert_string_equal(c->password, "");
	assert_path(f, c->actions_path, "actions");
	assert_string_equal(c->disabled_actions, "");
	assert_string_equal(c->s3_bucket, "");
	assert_int_equal(c->s3_authentication, 0);
	assert_string_equal(c->s3_endpoint, "https://s3.amazonaws.com");
	assert_string_equal(c->s3_region, "us-east-1");
	assert_path(f, c->log_path, "log");
	assert_path(f, c->pid_path, "run");
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->node_timeout, 10);
	assert_int_equal(c->server_timeout, 30);
	assert_int_equal(c->connect_timeout, 5);
	assert_int_equal(c->action_timeout, 3600);
	assert_int_equal(c->lease_grace, 120);
	assert_int_equal(c->check_in_interval, 300);
	assert_int_equal(c->node_expiry_intervals, 3);
	assert_int_equal(c->dispatch_interval, 20);
	assert_int_equal(c->retry_backoff, 2);
	assert_int_equal(c->callback_retries, 5);
	assert_int_equal(c->max_download_mb, 2048);
	assert_int_equal(c->max_output_kb, 16384);
	assert_string_equal(c->node_host, "");
	assert_int_equal(c->node_port, 9063);
	assert_string_equal(c->node_tag, "");
	assert_string_equal(c->node_allow, "");
	assert_int_equal(c->node_connections_per_ip, 64);
	assert_int_equal(c->server_workers, 4);
	assert_path(f, c->server_socket, "run/crowd-server.sock");
	assert_int_equal(c->server_port, 9173);
	assert_int_equal(c->max_body_kb, 16384);
	assert_string_equal(c->db_host, "localhost");
	assert_int_equal(c->db_port, 3306);
	assert_string_equal(c->db_socket, "");   /* empty stays empty */
	assert_string_equal(c->db_user, "root");
	assert_string_equal(c->db_password, "");
	assert_string_equal(c->db_name, "cloud_crowd");
}

static void test_config_empty_file_loads_the_defaults(void **state)
{
	struct fixture *f = *state;
	struct cc_config want;

	cc_config_defaults(&want, f->dir);
	write_conf(f, "; only comments\n# and blank lines\n\n");
	assert_int_equal(cc_config_load(&f->cfg, f->dir, &f->err), 0);
	assert_memory_equal(&f->cfg, &want, sizeof(want));
}

/* ---- a full valid file --------------------------------------------------- */

static const char full_conf[] =
	"; crowd.conf written by hand\n"
	"central_server = https://central.example:8443\n"
	"max_workers = 12\n"
	"max_load = 2.5\n"
	"min_free_memory = 256\n"
	"storage = s3\n"
	"local_storage_path = data/store\n"
	"temp_storage_path = /var/tmp/crowd\n"
	"work_unit_retries = 7\n"
	"http_authentication = yes\n"
	"login = crowd\n"
	"password = hunter2\n"
	"node_login = crowd-node\n"
	"node_password = nodesecret\n"
	"actions_path = /opt/actions\n"
	"disabled_actions = slow_noop, always_fail\n"
	"s3_bucket = my-bucket\n"
	"aws_access_key = AKIAEXAMPLE\n"
	"aws_secret_key = SECRETEXAMPLE\n"
	"s3_authentication = on\n"
	"s3_endpoint = http://127.0.0.1:9000\n"
	"s3_region = eu-west-1\n"
	"log_path = logs\n"
	"pid_path = /run/crowd\n"
	"log_level = debug\n"
	"node_timeout = 11\n"
	"server_timeout = 12\n"
	"connect_timeout = 3\n"
	"action_timeout = 0\n"
	"lease_grace = 60\n"
	"check_in_interval = 15\n"
	"node_expiry_intervals = 4\n"
	"dispatch_interval = 2\n"
	"retry_backoff = 0\n"
	"callback_retries = 9\n"
	"max_download_mb = 10\n"
	"max_output_kb = 64\n"
	"node_host = node7.example\n"
	"node_port = 9100\n"
	"node_tag = gpu\n"
	"node_allow = 10.0.0.1, 10.0.1.0/24,fd00::/8\n"
	"node_connections_per_ip = 8\n"
	"server_workers = 8\n"
	"server_socket = sock/pool.sock\n"
	"server_port = 8080\n"
	"max_body_kb = 512\n"
	"\n"
	"[database]\n"
	"host = db.example\n"
	"port = 3307\n"
	"socket = mysql.sock\n"
	"username = crowd_user\n"
	"password = dbsecret\n"
	"database = crowd_test\n";

static void check_full(const struct fixture *f)
{
	const struct cc_config *c = &f->cfg;

	assert_string_equal(c->central_server, "https://central.example:8443");
	assert_int_equal(c->max_workers, 12);
	assert_true(c->max_load > 2.49 && c->max_load < 2.51);
	assert_int_equal(c->min_free_memory, 256);
	assert_string_equal(c->storage, "s3");
	assert_path(f, c->local_storage_path, "data/store");
	assert_string_equal(c->temp_storage_path, "/var/tmp/crowd");
	assert_int_equal(c->work_unit_retries, 7);
	assert_int_equal(c->http_authentication, 1);
	assert_string_equal(c->login, "crowd");
	assert_string_equal(c->password, "hunter2");
	assert_string_equal(c->node_login, "crowd-node");
	assert_string_equal(c->node_password, "nodesecret");
	assert_string_equal(c->actions_path, "/opt/actions");
	assert_string_equal(c->disabled_actions, "slow_noop, always_fail");
	assert_string_equal(c->s3_bucket, "my-bucket");
	assert_string_equal(c->aws_access_key, "AKIAEXAMPLE");
	assert_string_equal(c->aws_secret_key, "SECRETEXAMPLE");
	assert_int_equal(c->s3_authentication, 1);
	assert_string_equal(c->s3_endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c->s3_region, "eu-west-1");
	assert_path(f, c->log_path, "logs");
	assert_string_equal(c->pid_path, "/run/crowd");
	assert_string_equal(c->log_level, "debug");
	assert_int_equal(c->node_timeout, 11);
	assert_int_equal(c->server_timeout, 12);
	assert_int_equal(c->connect_timeout, 3);
	assert_int_equal(c->action_timeout, 0);
	assert_int_equal(c->lease_grace, 60);
	assert_int_equal(c->check_in_interval, 15);
	assert_int_equal(c->node_expiry_intervals, 4);
	assert_int_equal(c->dispatch_interval, 2);
	assert_int_equal(c->retry_backoff, 0);
	assert_int_equal(c->callback_retries, 9);
	assert_int_equal(c->max_download_mb, 10);
	assert_int_equal(c->max_output_kb, 64);
	assert_string_equal(c->node_host, "node7.example");
	assert_int_equal(c->node_port, 9100);
	assert_string_equal(c->node_tag, "gpu");
	assert_string_equal(c->node_allow, "10.0.0.1, 10.0.1.0/24,fd00::/8");
	assert_int_equal(c->node_connections_per_ip, 8);
	assert_int_equal(c->server_workers, 8);
	assert_path(f, c->server_socket, "sock/pool.sock");
	assert_int_equal(c->server_port, 8080);
	assert_int_equal(c->max_body_kb, 512);
	assert_string_equal(c->db_host, "db.example");
	assert_int_equal(c->db_port, 3307);
	assert_path(f, c->db_socket, "mysql.sock");
	assert_string_equal(c->db_user, "crowd_user");
	assert_string_equal(c->db_password, "dbsecret");
	assert_string_equal(c->db_name, "crowd_test");
}

static void test_config_load_reads_every_key_of_a_full_file(void **state)
{
	struct fixture *f = *state;
	char file[PATH_MAX * 2];

	write_conf(f, full_conf);
	assert_int_equal(cc_config_load(&f->cfg, f->dir, &f->err), 0);
	snprintf(file, sizeof(file), "%s/crowd.conf", f->dir);
	assert_string_equal(f->cfg.file, file);
	assert_string_equal(f->cfg.dir, f->dir);
	check_full(f);
}

static void test_config_load_string_matches_load_of_the_same_text(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, full_conf), 0);
	check_full(f);
}

static void test_config_accepts_crlf_line_ends(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_workers = 9\r\n[database]\r\nport = 1\r\n"), 0);
	assert_int_equal(f->cfg.max_workers, 9);
	assert_int_equal(f->cfg.db_port, 1);
}

static void test_config_bool_accepts_yes_no_true_false_on_off_1_0(void **state)
{
	struct fixture *f = *state;
	static const char *const yes[] = { "yes", "YES", "true", "True", "on", "1" };
	static const char *const no[] = { "no", "NO", "false", "FALSE", "off", "0" };
	char text[128];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "s3_authentication = %s\n", yes[i]);
		assert_int_equal(load(f, text), 0);
		assert_int_equal(f->cfg.s3_authentication, 1);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text), "s3_authentication = yes\n"
			 "s3_authentication = %s\n", no[i]);
		assert_int_equal(load(f, text), 0);
		assert_int_equal(f->cfg.s3_authentication, 0);
	}
}

static void test_config_later_value_of_a_key_wins(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_workers = 2\nmax_workers = 6\n"), 0);
	assert_int_equal(f->cfg.max_workers, 6);
}

static void test_config_int_limits_are_inclusive(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "node_port = 1\nmax_workers = 1024\n"
			      "max_load = -1\naction_timeout = 0\n"), 0);
	assert_int_equal(f->cfg.node_port, 1);
	assert_int_equal(f->cfg.max_workers, 1024);
	assert_int_equal(load(f, "node_port = 65535\n"), 0);
	assert_int_equal(f->cfg.node_port, 65535);
}

/* ---- errors ------------------------------------------------------------ */

static void test_config_rejects_unknown_key_naming_file_and_line(void **state)
{
	struct fixture *f = *state;
	char want[PATH_MAX * 2];

	write_conf(f, "; comment\n"
		      "max_workers = 2\n"
		      "\n"
		      "# another comment\n"
		      "max_wrokers = 3\n"
		      "node_port = 9000\n");
	assert_int_equal(cc_config_load(&f->cfg, f->dir, &f->err), -1);
	snprintf(want, sizeof(want), "%s/crowd.conf:5: max_wrokers: unknown key; did you mean max_workers?",
		 f->dir);
	assert_string_equal(f->err.msg, want);
}

static void test_config_load_string_error_uses_given_name(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cc_config_load_string(&f->cfg, f->dir, "\n\nbogus = 1\n",
					       "my.conf", &f->err), -1);
	assert_string_equal(f->err.msg, "my.conf:3: bogus: unknown key");
}

static void test_config_rejects_unknown_key_in_database_section(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "max_workers = 1\n[database]\nhost = x\nhostname = y\n",
			       "crowd.conf:4: database.hostname: unknown key");
	/* a top-level key is not valid inside [database], nor the reverse */
	assert_load_fails_with(f, "[database]\nmax_workers = 3\n",
			       "crowd.conf:2: database.max_workers: unknown key; did you "
			       "mean max_workers, at the top (before any [section])?");
	assert_load_fails_with(f, "username = root\n",
			       "crowd.conf:1: username: unknown key; did you mean "
			       "username, in [database]?");
}

static void test_config_rejects_unknown_section(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "[database]\nport = 3307\n[other]\nx = 1\n",
			       "crowd.conf:4: other.x: unknown key");
}

static void test_config_suggests_the_nearest_key_for_a_typo(void **state)
{
	const char *sec = "x";

	(void)state;
	assert_string_equal(cc_config_suggest("", "max_wrokers", &sec), "max_workers");
	assert_string_equal(sec, "");
	assert_string_equal(cc_config_suggest(NULL, "MAX_WORKERS_", NULL), "max_workers");
	assert_string_equal(cc_config_suggest("", "server_prot", &sec), "server_port");
	assert_string_equal(cc_config_suggest("database", "pasword", &sec), "password");
	assert_string_equal(sec, "database");
	assert_string_equal(cc_config_suggest("database", "sokcet", &sec), "socket");
	/* the right name in the other section */
	assert_string_equal(cc_config_suggest("", "socket", &sec), "socket");
	assert_string_equal(sec, "database");
	assert_string_equal(cc_config_suggest("database", "node_port", &sec), "node_port");
	assert_string_equal(sec, "");
}

static void test_config_suggests_nothing_when_no_key_is_near(void **state)
{
	const char *sec = "x";

	(void)state;
	assert_null(cc_config_suggest("", "bogus", &sec));
	assert_null(sec);
	assert_null(cc_config_suggest("", "", &sec));
	assert_null(cc_config_suggest("", "x", NULL));
	assert_null(cc_config_suggest("other", "x", NULL));
	assert_null(cc_config_suggest("", "completely_unrelated_words", NULL));
	assert_null(cc_config_suggest("database", "hostname", NULL));
}

static void test_config_unknown_key_error_says_did_you_mean(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "max_workers = 2\nmax_worker = 3\n",
			       "crowd.conf:2: max_worker: unknown key; did you mean "
			       "max_workers?");
	assert_load_fails_with(f, "[database]\nusername = u\npassowrd = p\n",
			       "crowd.conf:3: database.passowrd: unknown key; did you "
			       "mean password?");
	assert_load_fails_with(f, "socket = /run/mysqld.sock\n",
			       "crowd.conf:1: socket: unknown key; did you mean "
			       "socket, in [database]?");
}

static void test_config_rejects_line_without_equals_as_syntax_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_workers = 1\nmax_workers\n"), -1);
	assert_msg_starts(f, "crowd.conf:2: syntax error");
}

static void test_config_rejects_non_numeric_int(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "\nmax_workers = four\n",
			       "crowd.conf:2: max_workers: 'four' is not a whole number "
			       "from 0 to 1024");
	assert_int_equal(load(f, "max_workers = 4x\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_workers: '4x'");
	assert_int_equal(load(f, "max_workers =\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_workers: ");
	assert_int_equal(load(f, "max_workers = 2.5\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_workers: '2.5'");
	assert_int_equal(load(f, "max_workers = 99999999999999999999999\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_workers: ");
}

static void test_config_rejects_int_out_of_range(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "node_port = 9063\n[database]\nport = 70000\n",
			       "crowd.conf:3: port: '70000' is not a whole number "
			       "from 0 to 65535");
	assert_int_equal(load(f, "node_port = 0\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: node_port: '0'");
	assert_int_equal(load(f, "max_workers = -1\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_workers: '-1'");
	assert_int_equal(load(f, "work_unit_retries = 0\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: work_unit_retries: '0'");
}

static void test_config_rejects_double_out_of_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_load = -2\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_load: '-2' is not a number");
	assert_int_equal(load(f, "max_load = inf\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_load: 'inf'");
	assert_int_equal(load(f, "max_load = lots\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_load: 'lots'");
}

/* NaN compares false against both limits, so a plain range check lets it in */
static void test_config_rejects_nan_for_a_number_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_load = nan\n"), -1);
	assert_msg_starts(f, "crowd.conf:1: max_load: 'nan'");
}

static void test_config_rejects_bad_bool(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "max_workers = 1\nhttp_authentication = maybe\n",
			       "crowd.conf:2: http_authentication: 'maybe' is not "
			       "yes or no");
	assert_int_equal(load(f, "s3_authentication = \n"), -1);
	assert_msg_starts(f, "crowd.conf:1: s3_authentication: ");
}

static void test_config_rejects_string_longer_than_its_field(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "log_level = debugdebugdebugdebug\n",
			       "crowd.conf:1: log_level: longer than 15 characters");
}

static void test_config_rejects_bad_storage_naming_line_and_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_workers = 2\nstorage = s4\n"), -1);
	assert_msg_has(f, "storage");
	assert_msg_has(f, "'s4'");
	/* "file:line: key: reason", like every other config error */
	assert_msg_starts(f, "crowd.conf:2: storage: ");
}

static void test_config_rejects_s3_storage_without_bucket(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "storage = s3\n"), -1);
	assert_msg_starts(f, "crowd.conf");
	assert_msg_has(f, "s3_bucket");
	assert_int_equal(load(f, "storage = s3\ns3_bucket = b\n"), 0);
}

static void test_config_rejects_http_authentication_without_login(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "max_workers = 2\n\nhttp_authentication = yes\n"), -1);
	assert_msg_has(f, "login");
	assert_msg_has(f, "http_authentication");
	assert_msg_starts(f, "crowd.conf:3: ");
	/* login without password is not enough either */
	assert_int_equal(load(f, "http_authentication = yes\nlogin = crowd\n"), -1);
	assert_msg_has(f, "password");
	assert_int_equal(load(f, "http_authentication = yes\nlogin = crowd\n"
			      "password = pw\n"), 0);
	assert_int_equal(f->cfg.http_authentication, 1);
}

/* Separate node credentials come as a pair; without them the node side
 * uses the one login (the original's), with them only node_*. */
static void test_config_node_credentials_come_in_pairs(void **state)
{
	struct fixture *f = *state;

	assert_load_fails_with(f, "http_authentication = yes\nlogin = crowd\n"
			       "password = pw\n\nnode_login = crowd-node\n",
			       "crowd.conf:5: node_login: node_password is "
			       "required with it");
	assert_load_fails_with(f, "node_password = npw\nmax_workers = 2\n",
			       "crowd.conf:1: node_password: node_login is "
			       "required with it");
	/* no node_*: the node side uses login and password */
	assert_int_equal(load(f, "http_authentication = yes\nlogin = crowd\n"
			      "password = pw\n"), 0);
	assert_int_equal(cc_config_node_auth(&f->cfg), 0);
	assert_string_equal(cc_config_node_login(&f->cfg), "crowd");
	assert_string_equal(cc_config_node_password(&f->cfg), "pw");
	/* both: the node side uses them, the clients' login stays */
	assert_int_equal(load(f, "http_authentication = yes\nlogin = crowd\n"
			      "password = pw\nnode_login = crowd-node\n"
			      "node_password = npw\n"), 0);
	assert_int_equal(cc_config_node_auth(&f->cfg), 1);
	assert_string_equal(cc_config_node_login(&f->cfg), "crowd-node");
	assert_string_equal(cc_config_node_password(&f->cfg), "npw");
	assert_string_equal(f->cfg.login, "crowd");
	assert_string_equal(f->cfg.password, "pw");
}

static void test_config_rejects_non_http_central_server(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "central_server = ftp://central\n"), -1);
	assert_msg_starts(f, "crowd.conf");
	assert_msg_has(f, "central_server");
	assert_msg_has(f, "ftp://central");
}

static void test_config_rejects_unknown_log_level(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "log_level = verbose\n"), -1);
	assert_msg_starts(f, "crowd.conf");
	assert_msg_has(f, "log_level");
	assert_msg_has(f, "'verbose'");
}

static void test_config_rejects_bad_node_allow_naming_line_and_entry(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"central.example", "10.0.0.256", "10.0.0.0/33", "fd00::/129",
		"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "10.0.0.0/ 8",
		"::1/0x10",
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "node_tag = x\nnode_allow = 127.0.0.1, %s\n",
			 bad[i]);
		if (load(f, text) == 0)
			fail_msg("node_allow '%s' was accepted", bad[i]);
		assert_msg_starts(f, "crowd.conf:2: node_allow: '");
		assert_msg_has(f, "is not an IP address or ADDRESS/PREFIX");
	}
	assert_int_equal(load(f, "node_allow = 10.0.0.0/8 ::1\n"), 0);
	assert_int_equal(load(f, "node_allow = ,\n"), 0);
	assert_int_equal(load(f, "node_connections_per_ip = 0\n"), 0);
	assert_int_equal(load(f, "node_connections_per_ip = -1\n"), -1);
	assert_msg_has(f, "node_connections_per_ip");
}

/* node_allow as the node applies it (core/cidr.h): IPv4 entries match
 * IPv4 peers, also when they arrive mapped on a dual-stack socket. */
static void test_config_node_allow_matches_addresses_and_blocks(void **state)
{
	struct cc_cidr_list l;
	struct cc_err err = { 0 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	static const struct { const char *addr; int in; } peers[] = {
		{ "10.0.0.5", 1 }, { "10.0.0.6", 0 }, { "192.168.7.200", 1 },
		{ "192.168.6.1", 0 }, { "::ffff:10.0.0.5", 1 }, { "::ffff:10.0.0.7", 0 },
		{ "fd12::1", 1 }, { "fe80::1", 0 }, { "::1", 1 }, { "::2", 0 },
	};

	(void)state;
	assert_int_equal(cc_cidr_list_parse("10.0.0.5, 192.168.7.128/25,fd00::/8 ::1",
					    &l, &err), 0);
	assert_int_equal(l.n, 4);
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		int got;
		if (strchr(peers[i].addr, ':')) {
			assert_int_equal(inet_pton(AF_INET6, peers[i].addr, &a6.sin6_addr), 1);
			got = cc_cidr_list_match(&l, (struct sockaddr *)&a6, sizeof(a6));
		} else {
			assert_int_equal(inet_pton(AF_INET, peers[i].addr, &a4.sin_addr), 1);
			got = cc_cidr_list_match(&l, (struct sockaddr *)&a4, sizeof(a4));
		}
		if (got != peers[i].in)
			fail_msg("%s: matched %d, expected %d", peers[i].addr, got, peers[i].in);
	}
	assert_int_equal(cc_cidr_list_parse("0.0.0.0/0", &l, &err), 0);
	assert_int_equal(inet_pton(AF_INET, "203.0.113.9", &a4.sin_addr), 1);
	assert_int_equal(cc_cidr_list_match(&l, (struct sockaddr *)&a4, sizeof(a4)), 1);
	assert_int_equal(cc_cidr_list_match(&l, (struct sockaddr *)&a6, sizeof(a6)), 0);
}

/* inih reads at most 199 bytes of a line per call; the rest of a longer line
 * must not be taken as a line of its own (wrong line number, or worse, as
 * another key). Either the whole value is kept or line 1 is blamed. */
static void test_config_long_line_is_kept_or_rejected_at_its_line(void **state)
{
	struct fixture *f = *state;
	char text[1024], val[400];

	memset(val, 'a', 300);
	val[300] = '\0';
	snprintf(text, sizeof(text), "local_storage_path = /x/%s\nmax_workers = 7\n", val);
	if (load(f, text) == 0) {
		assert_int_equal(strlen(f->cfg.local_storage_path), 303);
		assert_int_equal(f->cfg.max_workers, 7);
	} else {
		assert_msg_starts(f, "crowd.conf:1: ");
	}
}

static void test_config_long_line_tail_is_not_read_as_another_key(void **state)
{
	struct fixture *f = *state;
	char text[1024], val[400];
	const char *key = "disabled_actions = ";
	size_t pad = 199 - strlen(key);   /* the first chunk inih asks for */

	memset(val, 'b', pad);
	val[pad] = '\0';
	/* one line; its tail happens to look like "max_workers = 9" */
	snprintf(text, sizeof(text), "%s%smax_workers = 9\n", key, val);
	if (load(f, text) == 0) {
		assert_int_equal(f->cfg.max_workers, 4);
		assert_int_equal(strlen(f->cfg.disabled_actions), pad + 15);
	} else {
		assert_msg_starts(f, "crowd.conf:1: ");
	}
}

/* inih (built with INI_ALLOW_MULTILINE) takes an indented line as more value
 * for the previous key: "  password = secret" under "  host = db" would set
 * host to "password = secret". Indented keys must be keys, or an error. */
static void test_config_indented_key_lines_are_keys_not_continuations(void **state)
{
	struct fixture *f = *state;

	if (load(f, "[database]\n  host = db\n  password = secret\n  port = 3307\n") == 0) {
		assert_string_equal(f->cfg.db_host, "db");
		assert_string_equal(f->cfg.db_password, "secret");
		assert_int_equal(f->cfg.db_port, 3307);
	} else {
		assert_msg_starts(f, "crowd.conf:3: ");
	}
	if (load(f, "login = crowd\n\tnode_tag = gpu\n") == 0) {
		assert_string_equal(f->cfg.login, "crowd");
		assert_string_equal(f->cfg.node_tag, "gpu");
	} else {
		assert_msg_starts(f, "crowd.conf:2: ");
	}
}

static void test_config_load_of_missing_folder_names_the_path(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX + 16], want[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/nowhere", f->dir);
	assert_int_equal(cc_config_load(&f->cfg, dir, &f->err), -1);
	snprintf(want, sizeof(want), "%s/crowd.conf: cannot open: ", dir);
	assert_msg_starts(f, want);
	assert_msg_has(f, strerror(ENOENT));
	/* defaults are still filled in */
	assert_int_equal(f->cfg.max_workers, 4);
}

static void test_config_load_without_err_just_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cc_config_load_string(&f->cfg, f->dir, "bogus = 1\n",
					       "x", NULL), -1);
	assert_int_equal(cc_config_load_string(&f->cfg, f->dir, "storage = x\n",
					       "x", NULL), -1);
}

/* ---- paths ------------------------------------------------------------- */

static void test_config_relative_paths_resolve_against_config_dir(void **state)
{
	struct fixture *f = *state;

	write_conf(f, "actions_path = my/actions\nlog_path = ./logs\n"
		      "[database]\nsocket = run/mysql.sock\n");
	assert_int_equal(cc_config_load(&f->cfg, f->dir, &f->err), 0);
	assert_path(f, f->cfg.actions_path, "my/actions");
	assert_path(f, f->cfg.log_path, "./logs");
	assert_path(f, f->cfg.db_socket, "run/mysql.sock");
}

static void test_config_absolute_paths_are_kept(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "actions_path = /srv/actions\n"
			      "server_socket = /run/crowd.sock\n"), 0);
	assert_string_equal(f->cfg.actions_path, "/srv/actions");
	assert_string_equal(f->cfg.server_socket, "/run/crowd.sock");
}

static void test_config_string_keys_are_not_resolved_as_paths(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "node_tag = a/b\ns3_region = x/y\n"), 0);
	assert_string_equal(f->cfg.node_tag, "a/b");
	assert_string_equal(f->cfg.s3_region, "x/y");
}

/* ---- cc_config_find_dir -------------------------------------------------- */

struct env_saved {
	char *env;
	char cwd[PATH_MAX];
};

static void env_save(struct env_saved *s)
{
	const char *e = getenv("CLOUD_CROWD_CONFIG");

	s->env = e ? strdup(e) : NULL;
	assert_non_null(getcwd(s->cwd, sizeof(s->cwd)));
}

static void env_restore(struct env_saved *s)
{
	if (s->env)
		setenv("CLOUD_CROWD_CONFIG", s->env, 1);
	else
		unsetenv("CLOUD_CROWD_CONFIG");
	free(s->env);
	assert_int_equal(chdir(s->cwd), 0);
}

static void test_config_find_dir_prefers_the_argument(void **state)
{
	struct fixture *f = *state;
	struct env_saved s;
	char arg[PATH_MAX + 8], env[PATH_MAX + 8], out[CC_PATH_LEN];

	env_save(&s);
	snprintf(arg, sizeof(arg), "%s/a", f->dir);
	snprintf(env, sizeof(env), "%s/e", f->dir);
	assert_int_equal(mkdir(arg, 0755), 0);
	assert_int_equal(mkdir(env, 0755), 0);
	setenv("CLOUD_CROWD_CONFIG", env, 1);
	cc_config_find_dir(arg, out);
	assert_string_equal(out, arg);
	/* relative argument: made absolute when it exists */
	assert_int_equal(chdir(f->dir), 0);
	cc_config_find_dir("a", out);
	assert_string_equal(out, arg);
	env_restore(&s);
}

static void test_config_find_dir_uses_env_when_no_argument(void **state)
{
	struct fixture *f = *state;
	struct env_saved s;
	char env[PATH_MAX + 8], out[CC_PATH_LEN];

	env_save(&s);
	snprintf(env, sizeof(env), "%s/e", f->dir);
	assert_int_equal(mkdir(env, 0755), 0);
	setenv("CLOUD_CROWD_CONFIG", env, 1);
	cc_config_find_dir(NULL, out);
	assert_string_equal(out, env);
	cc_config_find_dir("", out);
	assert_string_equal(out, env);
	env_restore(&s);
}

static void test_config_find_dir_falls_back_to_config(void **state)
{
	struct fixture *f = *state;
	struct env_saved s;
	char want[PATH_MAX + 16], out[CC_PATH_LEN];

	env_save(&s);
	unsetenv("CLOUD_CROWD_CONFIG");
	assert_int_equal(chdir(f->dir), 0);
	cc_config_find_dir(NULL, out);
	assert_string_equal(out, "config");          /* not there: kept as is */
	setenv("CLOUD_CROWD_CONFIG", "", 1);          /* empty env is no env */
	snprintf(want, sizeof(want), "%s/config", f->dir);
	assert_int_equal(mkdir(want, 0755), 0);
	cc_config_find_dir(NULL, out);
	assert_string_equal(out, want);
	env_restore(&s);
}

/* ---- disabled_actions -------------------------------------------------- */

static void test_config_action_disabled_splits_on_commas_and_spaces(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "disabled_actions =  noop ,slow_noop,  word_count,,\n"), 0);
	assert_true(cc_config_action_disabled(&f->cfg, "noop"));
	assert_true(cc_config_action_disabled(&f->cfg, "slow_noop"));
	assert_true(cc_config_action_disabled(&f->cfg, "word_count"));
	assert_false(cc_config_action_disabled(&f->cfg, "no"));
	assert_false(cc_config_action_disabled(&f->cfg, "noo"));
	assert_false(cc_config_action_disabled(&f->cfg, "noop_x"));
	assert_false(cc_config_action_disabled(&f->cfg, "slow"));
	assert_false(cc_config_action_disabled(&f->cfg, "always_fail"));
}

static void test_config_action_disabled_single_and_empty_lists(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "disabled_actions = noop\n"), 0);
	assert_true(cc_config_action_disabled(&f->cfg, "noop"));
	assert_false(cc_config_action_disabled(&f->cfg, "noops"));
	assert_int_equal(load(f, "max_workers = 1\n"), 0);
	assert_false(cc_config_action_disabled(&f->cfg, "noop"));
	/* a name inside a space-separated run is not a comma-separated item */
	snprintf(f->cfg.disabled_actions, sizeof(f->cfg.disabled_actions),
		 "\ta,\tb c ,d");
	assert_true(cc_config_action_disabled(&f->cfg, "a"));
	assert_true(cc_config_action_disabled(&f->cfg, "b c"));
	assert_true(cc_config_action_disabled(&f->cfg, "d"));
	assert_false(cc_config_action_disabled(&f->cfg, "b"));
	assert_false(cc_config_action_disabled(&f->cfg, "c"));
}

/* ---- dump and help ----------------------------------------------------- */

static char *dump(const struct cc_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	cc_config_dump(cfg, m);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void test_config_dump_masks_password_and_aws_keys(void **state)
{
	struct fixture *f = *state;
	char *out;

	assert_int_equal(load(f, full_conf), 0);
	out = dump(&f->cfg);
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, "AKIAEXAMPLE"));
	assert_null(strstr(out, "SECRETEXAMPLE"));
	assert_null(strstr(out, "dbsecret"));
	assert_null(strstr(out, "nodesecret"));
	assert_non_null(strstr(out, "\nnode_password = ********\n"));
	assert_non_null(strstr(out, "\nnode_login = crowd-node\n"));
	assert_non_null(strstr(out, "\npassword = ********\n"));
	assert_non_null(strstr(out, "\naws_access_key = ********\n"));
	assert_non_null(strstr(out, "\naws_secret_key = ********\n"));
	/* [database] password too */
	assert_non_null(strstr(strstr(out, "[database]\n"), "\npassword = ********\n"));
	/* the rest is shown */
	assert_non_null(strstr(out, "\nlogin = crowd\n"));
	assert_non_null(strstr(out, "\nusername = crowd_user\n"));
	assert_non_null(strstr(out, "\nmax_workers = 12\n"));
	assert_non_null(strstr(out, "\nhttp_authentication = yes\n"));
	assert_non_null(strstr(out, "\nmax_load = 2.5\n"));
	free(out);
}

static void test_config_dump_shows_empty_secret_as_empty(void **state)
{
	struct fixture *f = *state;
	char *out;

	cc_config_defaults(&f->cfg, f->dir);
	out = dump(&f->cfg);
	assert_non_null(strstr(out, "\npassword = \n"));
	assert_null(strstr(out, "********"));
	free(out);
}

static void test_config_dump_of_defaults_loads_back_unchanged(void **state)
{
	struct fixture *f = *state;
	struct cc_config want;
	char *out;

	cc_config_defaults(&want, f->dir);
	out = dump(&want);
	assert_int_equal(load(f, out), 0);
	assert_memory_equal(&f->cfg, &want, sizeof(want));
	free(out);
}

static void test_config_help_lists_every_section_and_key(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(m);
	cc_config_print_help(m);
	assert_int_equal(fclose(m), 0);
	assert_non_null(strstr(buf, " max_workers "));
	assert_non_null(strstr(buf, " http_authentication "));
	assert_non_null(strstr(buf, "\n[database]\n"));
	assert_non_null(strstr(strstr(buf, "[database]"), " socket "));
	assert_non_null(strstr(buf, "(default: 9063)"));
	free(buf);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_defaults_fill_every_important_key),
		T(test_config_empty_file_loads_the_defaults),
		T(test_config_load_reads_every_key_of_a_full_file),
		T(test_config_load_string_matches_load_of_the_same_text),
		T(test_config_accepts_crlf_line_ends),
		T(test_config_bool_accepts_yes_no_true_false_on_off_1_0),
		T(test_config_later_value_of_a_key_wins),
		T(test_config_int_limits_are_inclusive),
		T(test_config_rejects_unknown_key_naming_file_and_line),
		T(test_config_load_string_error_uses_given_name),
		T(test_config_rejects_unknown_key_in_database_section),
		T(test_config_rejects_unknown_section),
		T(test_config_suggests_the_nearest_key_for_a_typo),
		T(test_config_suggests_nothing_when_no_key_is_near),
		T(test_config_unknown_key_error_says_did_you_mean),
		T(test_config_rejects_line_without_equals_as_syntax_error),
		T(test_config_rejects_non_numeric_int),
		T(test_config_rejects_int_out_of_range),
		T(test_config_rejects_double_out_of_range),
		T(test_config_rejects_nan_for_a_number_key),
		T(test_config_rejects_bad_bool),
		T(test_config_rejects_string_longer_than_its_field),
		T(test_config_rejects_bad_storage_naming_line_and_key),
		T(test_config_rejects_s3_storage_without_bucket),
		T(test_config_rejects_http_authentication_without_login),
		T(test_config_node_credentials_come_in_pairs),
		T(test_config_rejects_non_http_central_server),
		T(test_config_rejects_unknown_log_level),
		T(test_config_rejects_bad_node_allow_naming_line_and_entry),
		T(test_config_node_allow_matches_addresses_and_blocks),
		T(test_config_long_line_is_kept_or_rejected_at_its_line),
		T(test_config_long_line_tail_is_not_read_as_another_key),
		T(test_config_indented_key_lines_are_keys_not_continuations),
		T(test_config_load_of_missing_folder_names_the_path),
		T(test_config_load_without_err_just_fails),
		T(test_config_relative_paths_resolve_against_config_dir),
		T(test_config_absolute_paths_are_kept),
		T(test_config_string_keys_are_not_resolved_as_paths),
		T(test_config_find_dir_prefers_the_argument),
		T(test_config_find_dir_uses_env_when_no_argument),
		T(test_config_find_dir_falls_back_to_config),
		T(test_config_action_disabled_splits_on_commas_and_spaces),
		T(test_config_action_disabled_single_and_empty_lists),
		T(test_config_dump_masks_password_and_aws_keys),
		T(test_config_dump_shows_empty_secret_as_empty),
		T(test_config_dump_of_defaults_loads_back_unchanged),
		T(test_config_help_lists_every_section_and_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
