/* test_hostport.c - lib/core/hostport.c, the one host and host:port check
 * every program uses: names, IPv4 and bracketed IPv6 are accepted; what
 * could change a URL, a header or a command line (blanks, line breaks,
 * quotes, '/', '?', '#', '%', '@', a leading '-'), half addresses, signs
 * and blanks in ports and overlong names are refused, and a refused input
 * leaves the outputs alone. Each test uses its own buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hostport.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* a string of n copies of c (caller frees) */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void assert_hostport_bad(const char *s)
{
	char host[300] = "untouched";
	int port = -12345;

	if (cc_hostport_parse(s, host, sizeof(host), &port) == 0)
		fail_msg("\"%s\" was accepted (host %s, port %d)", s, host, port);
	assert_string_equal(host, "untouched");
	assert_int_equal(port, -12345);
}

/* ---- cc_host_name_valid ------------------------------------------------- */

static void test_host_name_valid_accepts_names_and_addresses(void **state)
{
	static const char *const good[] = {
		"vm", "X", "localhost", "node7.example.org", "a-b.c_d",
		"node7.example.org.",      /* fully qualified, final dot */
		"_srv.example", "x1", "1x", "123abc.example",
		"127.0.0.1", "10.0.0.7", "0.0.0.0", "255.255.255.255",
		"[::1]", "[fe80::1:2]", "[::]", "[2001:db8::8a2e:370:7334]",
		"[::ffff:192.0.2.1]",
	};

	(void)state;
	for (size_t i = 0; i < N(good); i++)
		if (!cc_host_name_valid(good[i]))
			fail_msg("host \"%s\" was refused", good[i]);
}

static void test_host_name_valid_refuses_injection(void **state)
{
	static const char *const bad[] = {
		"", "v m", "vm ", " vm", "vm\t", "vm\r\nX-Evil: 1", "vm\n",
		"v'm", "v\"m", "vm;rm -rf /", "vm`id`", "$(id)", "vm|x", "vm&x",
		"vm/x", "../etc", "vm/../x", "vm?x=1", "vm#frag", "vm%20",
		"vm%0d%0a", "user@vm", "vm\\x", "vm:1", "<vm>", "vm,x", "vm=x",
		"-oProxyCommand=x", "-vm", "vm-", "a.-b", "a-.b",
		".", "..", ".vm", "vm..x", "vm..",
		"v\xc3\xa9m",              /* non-ASCII (UTF-8 é) */
		"vm\x7f", "vm\x01",
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++)
		if (cc_host_name_valid(bad[i]))
			fail_msg("host \"%s\" was accepted", bad[i]);
	assert_false(cc_host_name_valid(NULL));
}

static void test_host_name_valid_refuses_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3",
		"999", "127.0.0.1.", "1.2.3.4/24",
		"::1", "fe80::1",          /* IPv6 needs brackets */
		"[]", "[", "]", "[::1", "::1]", "[::g]", "[::1]x", "x[::1]",
		"[[::1]]", "[fe80::1%eth0]", "[fe80::1%25eth0]", "[1:2]",
		"[vm]", "[127.0.0.1]",
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++)
		if (cc_host_name_valid(bad[i]))
			fail_msg("host \"%s\" was accepted", bad[i]);
}

static void test_host_name_valid_length_limit(void **state)
{
	char *name = repeat('a', 100000);

	(void)state;
	name[CC_HOST_NAME_MAX] = '\0';
	assert_true(cc_host_name_valid(name));            /* 253 */
	name[CC_HOST_NAME_MAX] = 'a';
	name[CC_HOST_NAME_MAX + 1] = '\0';
	assert_false(cc_host_name_valid(name));           /* 254 */
	name[CC_HOST_NAME_MAX + 1] = 'a';
	assert_false(cc_host_name_valid(name));           /* 100000 */
	free(name);
}

/* ---- cc_port_parse ------------------------------------------------------ */

static void test_port_parse_takes_digits_only(void **state)
{
	static const struct { const char *s; int port; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "80", 80 }, { "9063", 9063 },
		{ "65535", 65535 }, { "00080", 80 },
	};
	static const char *const bad[] = {
		"", "65536", "99999", "100000", "99999999999999999999", "-1",
		"+1", " 1", "1 ", "\t1", "\n1", "1\n", "0x50", "8o", "1e3",
		"8080/x", "80?", "８０",
	};
	int port;

	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		port = -1;
		if (cc_port_parse(good[i].s, &port) < 0)
			fail_msg("port \"%s\" was refused", good[i].s);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < N(bad); i++) {
		port = -7;
		if (cc_port_parse(bad[i], &port) == 0)
			fail_msg("port \"%s\" was accepted as %d", bad[i], port);
		assert_int_equal(port, -7);
	}
	assert_int_equal(cc_port_parse(NULL, &port), -1);
}

/* ---- cc_hostport_parse -------------------------------------------------- */

static void test_hostport_parse_splits_host_and_port(void **state)
{
	static const struct { const char *s, *host; int port; } good[] = {
		{ "vm:9063", "vm", 9063 },
		{ "127.0.0.1:1", "127.0.0.1", 1 },
		{ "[::1]:9063", "[::1]", 9063 },
		{ "a-b.c_d:65535", "a-b.c_d", 65535 },
		{ "localhost:9173", "localhost", 9173 },
		{ "[fe80::1:2]:80", "[fe80::1:2]", 80 },
		{ "node7.example.org:443", "node7.example.org", 443 },
		{ "node7.example.org.:443", "node7.example.org.", 443 },
		{ "X:2", "X", 2 },
	};

	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		char host[CC_HOST_NAME_MAX + 1] = "";
		int port = -1;

		if (cc_hostport_parse(good[i].s, host, sizeof(host), &port) < 0)
			fail_msg("\"%s\" was refused", good[i].s);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
}

static void test_hostport_parse_refuses_bad_input(void **state)
{
	static const char *const bad[] = {
		"", ":", "vm", ":9063", "vm:", "vm:0", "vm:65536", "vm:-1",
		"vm:+1", "vm: 1", "vm:1 ", "vm:\t9063", "vm:\n9063", "vm: +80",
		"vm:abc", "vm:90x", "vm:0x50", "vm:99999999999999999999999",
		"vm:9063/work", "vm:9063?x", "vm:80#x",
		"v m:1", "vm :1", "v'm:1", "vm/x:1", "vm?:1", "vm%20:1",
		"vm\r\n:1", "user@vm:1", "http://vm:80", "vm:80:90",
		"../../etc/passwd:1", "/etc/passwd:1", "-x:1", ".:1",
		"::1:9063", "[::1:9063", "::1]:9063", "[::g]:9063",
		"[::1]x:9063", "[]:1", "[]:9063", "[::1]:", "[::1]",
		"[fe80::1%eth0]:80",
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++)
		assert_hostport_bad(bad[i]);
	assert_hostport_bad(NULL);
}

static void test_hostport_parse_length_limits(void **state)
{
	char *name = repeat('a', 100000);
	char s[512], host[CC_HOST_NAME_MAX + 1];
	int port = 0;

	(void)state;
	name[CC_HOST_NAME_MAX] = '\0';                     /* 253: fits */
	snprintf(s, sizeof(s), "%s:9063", name);
	assert_int_equal(cc_hostport_parse(s, host, sizeof(host), &port), 0);
	assert_string_equal(host, name);
	assert_int_equal(port, 9063);
	/* a host that is valid but longer than the caller's buffer */
	assert_int_equal(cc_hostport_parse(s, host, 10, &port), -1);
	assert_int_equal(cc_hostport_parse("vm:1", host, 2, &port), -1);
	assert_int_equal(cc_hostport_parse("vm:1", host, 3, &port), 0);
	assert_string_equal(host, "vm");

	name[CC_HOST_NAME_MAX] = 'a';                      /* 254: too long */
	name[CC_HOST_NAME_MAX + 1] = '\0';
	snprintf(s, sizeof(s), "%s:1", name);
	assert_hostport_bad(s);

	name[CC_HOST_NAME_MAX + 1] = 'a';                  /* 100000 */
	name[99990] = ':';
	name[99991] = '1';
	name[99992] = '\0';
	assert_hostport_bad(name);
	free(name);
}

static void test_hostport_parse_check_only(void **state)
{
	(void)state;
	assert_int_equal(cc_hostport_parse("vm:9063", NULL, 0, NULL), 0);
	assert_int_equal(cc_hostport_parse("vm:0", NULL, 0, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_name_valid_accepts_names_and_addresses),
		cmocka_unit_test(test_host_name_valid_refuses_injection),
		cmocka_unit_test(test_host_name_valid_refuses_bad_addresses),
		cmocka_unit_test(test_host_name_valid_length_limit),
		cmocka_unit_test(test_port_parse_takes_digits_only),
		cmocka_unit_test(test_hostport_parse_splits_host_and_port),
		cmocka_unit_test(test_hostport_parse_refuses_bad_input),
		cmocka_unit_test(test_hostport_parse_length_limits),
		cmocka_unit_test(test_hostport_parse_check_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
