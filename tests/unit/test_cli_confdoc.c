/* test_cli_confdoc.c - the crowd.conf that `crowd install` writes: the
 * key list parsed from this build's real cc_config_print_help (so a change
 * of its shape fails here), every key documented, --set keys live and
 * validated, and the rendered file loads back through cc_config_load_string
 * with the set values and every other key at its default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "../../cli/confdoc.c"

static void test_cli_confdoc_parses_every_key_of_the_real_help(void **state)
{
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	size_t n = 0;
	long i;

	(void)state;
	assert_int_equal(cli_confdoc_keys(&keys, &n, &err), 0);
	assert_true(n >= 40);
	i = cli_confdoc_find(keys, n, "central_server");
	assert_true(i >= 0);
	assert_string_equal(keys[i].section, "");
	assert_string_equal(keys[i].def, "http://localhost:9173");
	assert_non_null(strstr(keys[i].help, "central server"));
	i = cli_confdoc_find(keys, n, "database.password");
	assert_true(i >= 0);
	assert_string_equal(keys[i].section, "database");
	assert_string_equal(keys[i].def, "");           /* "empty" */
	i = cli_confdoc_find(keys, n, "password");      /* the top-level one */
	assert_true(i >= 0);
	assert_string_equal(keys[i].section, "");
	assert_int_equal(cli_confdoc_find(keys, n, "no_such_key"), -1);
	assert_int_equal(cli_confdoc_find(keys, n, "database.central_server"), -1);
	free(keys);
}

static void test_cli_confdoc_parse_keeps_parentheses_in_help(void **state)
{
	const char *text = "title\n"
			   "  a_key                  units (0 = none) here (default: 4)\n"
			   "[database]\n"
			   "  host                   MySQL host (default: localhost)\n";
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	size_t n = 0;

	(void)state;
	assert_int_equal(cli_confdoc_parse(text, &keys, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].name, "a_key");
	assert_string_equal(keys[0].help, "units (0 = none) here");
	assert_string_equal(keys[0].def, "4");
	assert_string_equal(keys[1].section, "database");
	free(keys);
}

static void test_cli_confdoc_parse_names_a_malformed_line(void **state)
{
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	size_t n = 0;

	(void)state;
	assert_int_equal(cli_confdoc_parse("title\n  k   no default here\n", &keys,
					   &n, &err), -1);
	assert_null(keys);
	assert_non_null(strstr(err.msg, "line 2"));
	assert_int_equal(cli_confdoc_parse("title only\n", &keys, &n, &err), -1);
}

static void test_cli_confdoc_render_documents_every_key(void **state)
{
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	size_t n = 0;
	char *text, line[1200];

	(void)state;
	assert_int_equal(cli_confdoc_keys(&keys, &n, &err), 0);
	text = cli_confdoc_render(keys, n, NULL, 0, "header line", &err);
	assert_non_null(text);
	assert_true(!strncmp(text, "# header line\n", 14));
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "\n# %s =%s%s\n", keys[i].name,
			 *keys[i].def ? " " : "", keys[i].def);
		assert_non_null(strstr(text, line));
		snprintf(line, sizeof(line), "# %s\n", keys[i].help);
		assert_non_null(strstr(text, line));
	}
	assert_non_null(strstr(text, "\n[database]\n"));
	free(text);
	free(keys);
}

static void test_cli_confdoc_render_with_sets_loads_back(void **state)
{
	static const char *const sets[] = {
		"central_server=http://central.example.org:9173",
		"max_workers=9",
		"max_workers=12",                       /* last one wins */
		"database.host=db.example.org",
		"database.password=p;w#x",
		"password=basic-secret",
	};
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	struct cc_config cfg, def;
	size_t n = 0;
	char *text;

	(void)state;
	assert_int_equal(cli_confdoc_keys(&keys, &n, &err), 0);
	text = cli_confdoc_render(keys, n, sets, 6, NULL, &err);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nmax_workers = 12\n"));
	assert_int_equal(cc_config_load_string(&cfg, "/etc/cc", text, "crowd.conf",
					       &err), 0);
	assert_string_equal(cfg.central_server, "http://central.example.org:9173");
	assert_int_equal(cfg.max_workers, 12);
	assert_string_equal(cfg.db_host, "db.example.org");
	assert_string_equal(cfg.db_password, "p;w#x");
	assert_string_equal(cfg.password, "basic-secret");
	/* everything else at its default */
	cc_config_defaults(&def, "/etc/cc");
	assert_string_equal(cfg.log_path, def.log_path);
	assert_int_equal(cfg.node_port, def.node_port);
	assert_int_equal(cfg.db_port, def.db_port);
	free(text);
	free(keys);
}

static void test_cli_confdoc_render_of_defaults_loads_as_defaults(void **state)
{
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	struct cc_config cfg, def;
	size_t n = 0;
	char *text;

	(void)state;
	assert_int_equal(cli_confdoc_keys(&keys, &n, &err), 0);
	text = cli_confdoc_render(keys, n, NULL, 0, "h", &err);
	assert_int_equal(cc_config_load_string(&cfg, "/x", text, "crowd.conf", &err), 0);
	cc_config_defaults(&def, "/x");
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	free(text);
	free(keys);
}

static void test_cli_confdoc_render_refuses_bad_sets(void **state)
{
	static const char *const bad[] = { "nokey", "=v", "no_such_key=1",
		"database.central_server=x", "host=x", "login=a\nb",
		"login=a ;b" };
	struct cli_confkey *keys = NULL;
	struct cc_err err = { 0 };
	size_t n = 0;

	(void)state;
	assert_int_equal(cli_confdoc_keys(&keys, &n, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cc_err_clear(&err);
		assert_null(cli_confdoc_render(keys, n, &bad[i], 1, NULL, &err));
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
		assert_true(err.msg[0] != '\0');
	}
	free(keys);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
	const struct CMUnitTest tests[] = {
		T(test_cli_confdoc_parses_every_key_of_the_real_help),
		T(test_cli_confdoc_parse_keeps_parentheses_in_help),
		T(test_cli_confdoc_parse_names_a_malformed_line),
		T(test_cli_confdoc_render_documents_every_key),
		T(test_cli_confdoc_render_with_sets_loads_back),
		T(test_cli_confdoc_render_of_defaults_loads_as_defaults),
		T(test_cli_confdoc_render_refuses_bad_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
