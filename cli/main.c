/* main.c - `crowd`, the command people use to install, run and operate
 * CloudCrowd-C: two tables (options, commands) drive the parsing, the
 * check that each option given applies to the command, and --help. The
 * commands themselves live in install.c, server.c, node.c, dbcmds.c and
 * client.c; each returns an exit code (cli.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "core/hostport.h"
#include "core/log.h"
#include "progress.h"

/* Long-only options get a key that is not a short option letter. */
enum {
	K_DAYS = 'D', K_FORCE = 'F', K_OPTIONS = 'O', K_FILE = 'f',
	K_CALLBACK = 'C', K_EMAIL = 'E', K_TIMEOUT = 'T', K_PAGE = 'P',
	K_PER_PAGE = 'N', K_JSON = 'J', K_SET = 'S', K_TEST_ACTIONS = 'A',
	K_FOR = 'R',
};

struct opt {
	const char *name;
	int key;
	int has_arg;
	const char *arg;             /* its value's name in --help */
	const char *help;
};

static const struct opt opts[] = {
	{ "config", 'c', 1, "DIR", "config folder (default $CROWD_CONFIG, else $CLOUD_CROWD_CONFIG, else ./config)" },
	{ "server", 's', 1, "URL", "central server for client commands (default central_server)" },
	{ "daemon", 'd', 0, NULL, "server/node: run in the background (pid files in pid_path, "
				  "output in log_path)" },
	{ "port", 'p', 1, "PORT", "node: its port (default node_port)" },
	{ "tag", 't', 1, "TAG", "node: the tag it shows (default node_tag)" },
	{ "host", 'H', 1, "HOST", "node: the name or address central reaches it at "
				  "(default node_host, else the hostname)" },
	{ "listen", 'l', 1, "ADDR[:PORT]", "server: an address nginx listens on (repeatable; "
					   "default every IPv4 address, port server_port)" },
	{ "days", K_DAYS, 1, "N", "cleanup: remove jobs finished more than N days ago (default 7)" },
	{ "force", K_FORCE, 0, NULL, "load_schema: even over unfinished jobs; install: "
				     "replace existing files" },
	{ "set", K_SET, 1, "KEY=VALUE", "install: a setting of crowd.conf (repeatable; "
					"database.KEY for [database])" },
	{ "with-test-actions", K_TEST_ACTIONS, 0, NULL, "install: the test suite's actions "
							"too (always_fail, slow_noop, ...)" },
	{ "options", K_OPTIONS, 1, "JSON", "submit: the job's options, a JSON object" },
	{ "file", K_FILE, 1, "JOB.json", "submit: the job as JSON {action, inputs, options, ...} "
					 "(- for stdin)" },
	{ "callback", K_CALLBACK, 1, "URL", "submit: callback_url of the job" },
	{ "email", K_EMAIL, 1, "ADDR", "submit: email of the job" },
	{ "wait", 'w', 0, NULL, "submit/status: follow the job until it is complete" },
	{ "timeout", K_TIMEOUT, 1, "S", "submit/status --wait: give up after S seconds" },
	{ "page", K_PAGE, 1, "N", "jobs: which page (default 1)" },
	{ "per-page", K_PER_PAGE, 1, "N", "jobs: jobs per page, 1-100 (default 20)" },
	{ "json", K_JSON, 0, NULL, "jobs/nodes/blacklist ls: print central's JSON as is" },
	{ "for", K_FOR, 1, "S", "blacklist add: the entry lapses by itself after S seconds "
				"(1 to 2592000)" },
	{ "help", 'h', 0, NULL, "this help" },
	{ "version", 'V', 0, NULL, "the version" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Options every command takes. */
static const char global_keys[] = { 'c', 'h', 'V', 0 };

struct command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *args;
	const char keys[16];         /* options that apply, besides global ones */
	const char *help;
};

static const struct command commands[] = {
	{ "install", cli_cmd_install, "DIR", { K_FORCE, K_SET, K_TEST_ACTIONS },
	  "make a config folder: a documented crowd.conf and the shipped actions" },
	{ "load_schema", cli_cmd_load_schema, "", { K_FORCE },
	  "create the tables (drops existing ones; refuses over unfinished jobs)" },
	{ "server", cli_cmd_server, "[start|stop|restart|status]", { 'd', 'l' },
	  "the central server: the crowd-server pool plus nginx" },
	{ "node", cli_cmd_node, "[start|stop|restart|status]", { 'd', 'p', 't', 'H' },
	  "the node agent of this machine (crowd-node); stop checks it out" },
	{ "cleanup", cli_cmd_cleanup, "", { K_DAYS },
	  "remove finished jobs older than --days (for cron)" },
	{ "console", cli_cmd_console, "[-- CLIENT-OPTIONS]", { 0 },
	  "the mariadb/mysql client on the configured database" },
	{ "submit", cli_cmd_submit, "ACTION INPUT...", { K_OPTIONS, K_FILE, K_CALLBACK,
							 K_EMAIL, 'w', K_TIMEOUT, 's' },
	  "post a job; prints its JSON (with --wait, once it is complete)" },
	{ "status", cli_cmd_status, "JOB", { 'w', K_TIMEOUT, 's' },
	  "a job's progress; exit 0 unless it failed" },
	{ "jobs", cli_cmd_jobs, "", { K_PAGE, K_PER_PAGE, K_JSON, 's' },
	  "the jobs, newest first, a page at a time" },
	{ "nodes", cli_cmd_nodes, "", { K_JSON, 's' },
	  "the nodes checked in with central, and their workers" },
	{ "blacklist", cli_cmd_blacklist, "add|rm|ls [ACTION]", { K_JSON, K_FOR, 's' },
	  "actions whose units are held back" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Keys that are also short options (-c DIR ...). */
static int is_short(int key)
{
	return key > 0 && strchr("csdptHlwhV", key) != NULL;
}

static void help(FILE *out)
{
	fprintf(out,
		"usage: crowd [-c DIR] COMMAND [ARGS] [OPTIONS]\n"
		"CloudCrowd-C %s: install, run and operate a cluster; submit and follow "
		"jobs.\n\nCommands:\n", CC_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-12s %-28s %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	fprintf(out, "\nOptions (each applies to the commands it names):\n");
	for (size_t i = 0; i < NOPTS; i++) {
		char left[64];
		if (is_short(opts[i].key))
			snprintf(left, sizeof(left), "-%c, --%s%s%s", opts[i].key,
				 opts[i].name, opts[i].arg ? " " : "",
				 opts[i].arg ? opts[i].arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", opts[i].name,
				 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(out, "  %-26s %s\n", left, opts[i].help);
	}
	fprintf(out,
		"\nExit codes (the same for every CloudCrowd-C program): 0 done (the "
		"job\nsucceeded), 1 failed (the job failed, or the command could not "
		"do it),\n2 bad command line, 3 config, 4 database or schema, 5 "
		"central server\nunreachable or refusing, 6 a process would not start "
		"or stop. Reasons\ngo to stderr.\n"
		"\nExamples:\n"
		"  crowd install /etc/cloud-crowd --set central_server=http://central:9173\n"
		"  crowd -c /etc/cloud-crowd load_schema\n"
		"  crowd -c /etc/cloud-crowd server start -d\n"
		"  crowd -c /etc/cloud-crowd node start -d -p 9063 -t big\n"
		"  crowd submit word_count https://example.org/a.txt --wait\n"
		"  crowd status 42 --wait\n"
		"  crowd -c /etc/cloud-crowd cleanup --days 7      (daily, from cron)\n"
		"Every crowd.conf key: crowd-server --help, or the crowd.conf written "
		"by install.\n");
}

static const struct opt *opt_by_key(int key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].key == key)
			return &opts[i];
	return NULL;
}

static int parse_long_arg(const char *name, const char *v, long min, long max,
			  long *out)
{
	if (cli_parse_long(v, min, max, out) < 0)
		return cli_usage("--%s '%s': expected a whole number from %ld to %ld",
				 name, v, min, max);
	return CC_EXIT_OK;
}

/* Set c's field for key from optarg. CC_EXIT_OK or CC_EXIT_USAGE. */
static int take(struct cli *c, int key, const char *v)
{
	long n;
	int rc;

	switch (key) {
	case 'c': c->config_arg = v; break;
	case 's': c->server_url = v; break;
	case 'd': c->daemon = 1; break;
	case 'p':
		if (cc_port_parse(v, &c->port) < 0)
			return cli_usage("--port '%s': expected a whole number from 0 "
					 "to 65535", v);
		break;
	case 't': c->tag = v; break;
	case 'H':
		if (!cc_host_name_valid(v))
			return cli_usage("--host '%s': not a host name, IPv4 address or "
					 "[IPv6] address", v);
		c->host = v;
		break;
	case 'l':
		if (c->nlisten == CLI_MAX_LISTEN)
			return cli_usage("--listen: at most %d addresses", CLI_MAX_LISTEN);
		c->listen[c->nlisten++] = v;
		break;
	case K_DAYS:
		if ((rc = parse_long_arg("days", v, 0, 36500, &n)) != CC_EXIT_OK)
			return rc;
		c->days = (int)n;
		break;
	case K_FORCE: c->force = 1; break;
	case K_TEST_ACTIONS: c->with_test_actions = 1; break;
	case K_SET:
		if (c->nsets == CLI_MAX_SETS)
			return cli_usage("--set: at most %d", CLI_MAX_SETS);
		c->sets[c->nsets++] = v;
		break;
	case K_OPTIONS: c->options_json = v; break;
	case K_FILE: c->file = v; break;
	case K_CALLBACK: c->callback = v; break;
	case K_EMAIL: c->email = v; break;
	case 'w': c->wait = 1; break;
	case K_TIMEOUT:
		if (cli_parse_seconds(v, 1e7, &c->timeout) < 0 || c->timeout <= 0)
			return cli_usage("--timeout '%s': expected seconds (> 0)", v);
		break;
	case K_PAGE:
		if ((rc = parse_long_arg("page", v, 1, 1000000, &c->page)) != CC_EXIT_OK)
			return rc;
		break;
	case K_PER_PAGE:
		if ((rc = parse_long_arg("per-page", v, 1, 100, &c->per_page)) != CC_EXIT_OK)
			return rc;
		break;
	case K_JSON: c->json = 1; break;
	case K_FOR: c->for_arg = v; break;     /* checked by blacklist add */
	}
	return CC_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct cli cli;
	struct option lopts[NOPTS + 1];
	char shorts[2 * NOPTS + 2];
	int seen[256] = { 0 };
	const struct command *cmd = NULL;
	size_t ns = 0;
	int key, rc, want_help = 0, want_version = 0;

	cc_log_init("crowd");
	cli.port = -1;
	cli.days = -1;
	memset(lopts, 0, sizeof(lopts));
	for (size_t i = 0; i < NOPTS; i++) {
		lopts[i].name = opts[i].name;
		lopts[i].has_arg = opts[i].has_arg ? required_argument : no_argument;
		lopts[i].val = opts[i].key;
		if (is_short(opts[i].key)) {
			shorts[ns++] = (char)opts[i].key;
			if (opts[i].has_arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	opterr = 0;
	while ((key = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		if (key == '?') {
			if (optopt && optopt < 256 && strchr(shorts, optopt))
				return cli_usage("option -%c needs a value", optopt);
			if (optopt)
				return cli_usage("unknown option -%c", optopt);
			return cli_usage("unknown option, or one that needs a value: %s",
					 argv[optind - 1]);
		}
		if (key == 'h') {
			want_help = 1;
			continue;
		}
		if (key == 'V') {
			want_version = 1;
			continue;
		}
		seen[key & 0xff] = 1;
		if ((rc = take(&cli, key, optarg)) != CC_EXIT_OK)
			return rc;
	}
	if (want_help) {
		help(stdout);
		return CC_EXIT_OK;
	}
	if (want_version) {
		printf("crowd %s (schema %s)\n", CC_VERSION, CC_SCHEMA_VERSION);
		return CC_EXIT_OK;
	}
	if (optind >= argc)
		return cli_usage("no command given; usage: crowd [-c DIR] COMMAND "
				 "[ARGS] [OPTIONS]");
	if (!strcmp(argv[optind], "help")) {
		help(stdout);
		return CC_EXIT_OK;
	}
	if (!strcmp(argv[optind], "version")) {
		printf("crowd %s (schema %s)\n", CC_VERSION, CC_SCHEMA_VERSION);
		return CC_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, argv[optind]))
			cmd = &commands[i];
	if (!cmd)
		return cli_usage("unknown command '%s'", argv[optind]);
	for (int k = 1; k < 256; k++) {
		if (!seen[k] || strchr(global_keys, k) || memchr(cmd->keys, k, sizeof(cmd->keys)))
			continue;
		const struct opt *o = opt_by_key(k);
		return cli_usage("option --%s does not apply to '%s'",
				 o ? o->name : "?", cmd->name);
	}
	return cmd->run(&cli, argc - optind - 1, argv + optind + 1);
}
