/* test_node_record.c - the database-free parts of the node model: the
 * "name:port" check on the host a node reports (hostname/IPv4 or [IPv6]
 * name, port 1-65535, at most 255 characters: the node_records.host
 * column), the enabled_actions list check (comma-separated [a-z0-9_]{1,64}
 * names, possibly empty) and the ",a,b," action match dispatch uses.
 * Every test builds its own strings and struct cc_node by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/node_record.h"

/* a string of n copies of c (caller frees) */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void assert_host_bad(const char *host)
{
	int port = -12345;

	if (cc_node_host_valid(host, &port))
		fail_msg("host \"%s\" was accepted (port %d)", host, port);
}

/* ---- cc_node_host_valid ------------------------------------------------- */

static void test_node_host_valid_accepts_name_and_port(void **state)
{
	static const struct { const char *host; int port; } good[] = {
		{ "vm:9063", 9063 },
		{ "127.0.0.1:1", 1 },
		{ "[::1]:9063", 9063 },
		{ "a-b.c_d:65535", 65535 },
		{ "localhost:9173", 9173 },
		{ "[fe80::1:2]:80", 80 },
		{ "node7.example.org:443", 443 },
		{ "X:2", 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int port = -1;

		if (!cc_node_host_valid(good[i].host, &port))
			fail_msg("host \"%s\" was rejected", good[i].host);
		assert_int_equal(port, good[i].port);
	}
}

static void test_node_host_valid_rejects_bad_hosts(void **state)
{
	static const char *const bad[] = {
		"vm",              /* no port */
		":9063",           /* no name */
		"vm:",             /* empty port */
		"vm:0",
		"vm:65536",
		"vm:99999999999999999999999",
		"vm:-1",
		"vm:abc",
		"vm:90x",
		"vm:9063 ",
		"v'm:1",
		"vm :1",
		"v m:1",
		"vm/x:1",
		"vm?:1",
		"vm%20:1",
		"vm\r\n:1",
		"",
		"::1:9063",        /* IPv6 needs brackets */
		"[::1:9063",
		"::1]:9063",
		"[::g]:9063",
		"[::1]x:9063",
		"user@vm:1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_host_bad(bad[i]);
}

static void test_node_host_valid_rejects_null(void **state)
{
	int port = 7;

	(void)state;
	assert_false(cc_node_host_valid(NULL, &port));
}

static void test_node_host_valid_length_limit_is_the_column(void **state)
{
	/* node_records.host is VARCHAR(255): the whole "name:port" */
	char *name = repeat('a', 256);
	char host[512];
	int port = 0;

	(void)state;
	snprintf(host, sizeof(host), "%s:1", name);          /* 256-char name */
	assert_host_bad(host);
	name[250] = '\0';
	snprintf(host, sizeof(host), "%s:9063", name);       /* 255 in all */
	assert_int_equal(strlen(host), 255);
	assert_true(cc_node_host_valid(host, &port));
	assert_int_equal(port, 9063);
	name[250] = 'a';
	name[251] = '\0';
	snprintf(host, sizeof(host), "%s:9063", name);       /* 256 in all */
	assert_int_equal(strlen(host), 256);
	assert_host_bad(host);
	free(name);

	/* very long input must not be a problem either */
	name = repeat('b', 100000);
	name[99990] = ':';
	name[99991] = '1';
	name[99992] = '\0';
	assert_host_bad(name);
	free(name);
}

/* The port must be digits. strtol() also accepts leading white space and
 * a sign, so "vm: 1", "vm:+1" and "vm:\n1" pass today: a host with a space
 * or a line break then goes into node_records.host and into the URL
 * http://<host>/work. (lib/model/node_record.c, cc_node_host_valid, the strtol
 * on colon + 1.) */
static void test_node_host_valid_rejects_sign_or_space_in_port(void **state)
{
	static const char *const bad[] = {
		"vm: 1",
		"vm:+1",
		"vm:\t9063",
		"vm:\n9063",
		"vm: +80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_host_bad(bad[i]);
}

/* "[]:1" has no name at all, like ":1", but passes the bracket branch
 * (lib/model/node_record.c, cc_node_host_valid: the loop from 1 to n - 1 is
 * empty when n == 2). */
static void test_node_host_valid_rejects_empty_brackets(void **state)
{
	(void)state;
	assert_host_bad("[]:1");
	assert_host_bad("[]:9063");
}

/* ---- cc_node_actions_valid ---------------------------------------------- */

static void test_node_actions_valid_accepts_lists(void **state)
{
	char *max = repeat('z', 64);
	char buf[1024];

	(void)state;
	assert_true(cc_node_actions_valid(""));
	assert_true(cc_node_actions_valid("noop"));
	assert_true(cc_node_actions_valid("a,b_c,d1"));
	assert_true(cc_node_actions_valid("always_fail,noop,slow_noop,word_count"));
	assert_true(cc_node_actions_valid("_"));
	assert_true(cc_node_actions_valid("0"));
	assert_true(cc_node_actions_valid(max));                    /* 64 chars */
	snprintf(buf, sizeof(buf), "a,%s,b", max);
	assert_true(cc_node_actions_valid(buf));
	free(max);
}

static void test_node_actions_valid_rejects_bad_lists(void **state)
{
	static const char *const bad[] = {
		"a,,b", "a,", ",a", ",", ",,", "A", "noop,Word_count", "a b",
		"a;b", "a-b", "a.b", " a", "a ", "a,\nb", "a\t", "noop,wörd",
		"n\"oop", "noop'",
	};
	char *long_name = repeat('a', 65);
	char buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cc_node_actions_valid(bad[i]))
			fail_msg("actions \"%s\" were accepted", bad[i]);
	assert_false(cc_node_actions_valid(long_name));             /* 65 chars */
	snprintf(buf, sizeof(buf), "noop,%s", long_name);
	assert_false(cc_node_actions_valid(buf));
	snprintf(buf, sizeof(buf), "%s,noop", long_name);
	assert_false(cc_node_actions_valid(buf));
	free(long_name);
}

static void test_node_actions_valid_rejects_huge_lists(void **state)
{
	/* 20000 characters of valid names ("abcd," repeated): too long */
	size_t n = 20000;
	char *list = malloc(n + 1);

	(void)state;
	assert_non_null(list);
	for (size_t i = 0; i < n; i++)
		list[i] = "abcd,"[i % 5];
	list[n - 1] = 'e';          /* ends in a name, not a comma */
	list[n] = '\0';
	assert_int_equal(strlen(list), 20000);
	assert_false(cc_node_actions_valid(list));
	/* and one long name without commas */
	memset(list, 'a', n);
	assert_false(cc_node_actions_valid(list));
	free(list);
}

/* ---- cc_node_can_run ---------------------------------------------------- */

static void test_node_can_run_matches_whole_names(void **state)
{
	char host[] = "vm:9063", actions[] = ",noop,word_count,";
	struct cc_node node = { 1, host, actions, 4, 0 };

	(void)state;
	assert_true(cc_node_can_run(&node, "noop"));
	assert_true(cc_node_can_run(&node, "word_count"));
	assert_false(cc_node_can_run(&node, "noo"));
	assert_false(cc_node_can_run(&node, "noop2"));
	assert_false(cc_node_can_run(&node, "oop"));
	assert_false(cc_node_can_run(&node, "word"));
	assert_false(cc_node_can_run(&node, "count"));
	assert_false(cc_node_can_run(&node, "word_count_x"));
	assert_false(cc_node_can_run(&node, "always_fail"));
	assert_false(cc_node_can_run(&node, ""));
}

static void test_node_can_run_single_and_empty_lists(void **state)
{
	char host[] = "vm:1", one[] = ",noop,", none[] = ",", empty[] = "";
	struct cc_node node = { 2, host, one, 1, 0 };

	(void)state;
	assert_true(cc_node_can_run(&node, "noop"));
	assert_false(cc_node_can_run(&node, "noop_slow"));
	assert_false(cc_node_can_run(&node, "slow_noop"));
	node.actions = none;
	assert_false(cc_node_can_run(&node, "noop"));
	node.actions = empty;
	assert_false(cc_node_can_run(&node, "noop"));
}

static void test_node_can_run_ignores_capacity_and_position(void **state)
{
	char host[] = "vm:1";
	char actions[] = ",always_fail,noop,slow_noop,word_count,";
	struct cc_node node = { 3, host, actions, 0, 0 };

	(void)state;
	assert_true(cc_node_can_run(&node, "always_fail"));   /* first */
	assert_true(cc_node_can_run(&node, "noop"));
	assert_true(cc_node_can_run(&node, "slow_noop"));
	assert_true(cc_node_can_run(&node, "word_count"));    /* last */
	assert_false(cc_node_can_run(&node, "fail"));
	assert_false(cc_node_can_run(&node, "slow"));
	node.capacity = INT_MAX;
	assert_true(cc_node_can_run(&node, "noop"));
}

static void test_node_can_run_longest_names(void **state)
{
	char host[] = "vm:1", actions[200];
	char *name64 = repeat('q', 64), *name63 = repeat('q', 63);
	struct cc_node node = { 4, host, actions, 1, 0 };

	(void)state;
	snprintf(actions, sizeof(actions), ",noop,%s,", name64);
	assert_true(cc_node_can_run(&node, name64));
	assert_false(cc_node_can_run(&node, name63));
	snprintf(actions, sizeof(actions), ",noop,%s,", name63);
	assert_true(cc_node_can_run(&node, name63));
	assert_false(cc_node_can_run(&node, name64));
	free(name64);
	free(name63);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_host_valid_accepts_name_and_port),
		cmocka_unit_test(test_node_host_valid_rejects_bad_hosts),
		cmocka_unit_test(test_node_host_valid_rejects_null),
		cmocka_unit_test(test_node_host_valid_length_limit_is_the_column),
		cmocka_unit_test(test_node_host_valid_rejects_sign_or_space_in_port),
		cmocka_unit_test(test_node_host_valid_rejects_empty_brackets),
		cmocka_unit_test(test_node_actions_valid_accepts_lists),
		cmocka_unit_test(test_node_actions_valid_rejects_bad_lists),
		cmocka_unit_test(test_node_actions_valid_rejects_huge_lists),
		cmocka_unit_test(test_node_can_run_matches_whole_names),
		cmocka_unit_test(test_node_can_run_single_and_empty_lists),
		cmocka_unit_test(test_node_can_run_ignores_capacity_and_position),
		cmocka_unit_test(test_node_can_run_longest_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
