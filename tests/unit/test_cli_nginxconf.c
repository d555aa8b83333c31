/* test_cli_nginxconf.c - the nginx configuration of `crowd server`: the
 * real template nginx/crowd.conf.in filled in completely (no placeholder
 * left outside comments), a missing value named with its line, the listen
 * directives made from --listen, the per-client connection limit and
 * timeouts, the address probed for the heartbeat, the basic-auth
 * directives (off, one user file, or the clients' and the nodes' chosen
 * per route), and the {SSHA} line of the basic-auth file (checked against a value computed
 * independently: base64(SHA1("secret" "salt") "salt")). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../cli/nginxconf.c"

static const struct cli_nginx_var all_vars[] = {
	{ "USER_LINE", "# user" }, { "RUN_DIR", "/r" }, { "LOG_DIR", "/l" },
	{ "TEMP_DIR", "/t" }, { "MAX_BODY_KB", "64" }, { "SOCKET", "/r/s.sock" },
	{ "UPSTREAM_KEEPALIVE", "\t\tkeepalive 2;" }, { "KEEP_CONN", "" },
	{ "LISTEN", "127.0.0.1:9173" }, { "AUTH_MAP", "" }, { "AUTH", "" },
	{ "STATIC_DIR", "/static" },
};
#define NVARS (sizeof(all_vars) / sizeof(all_vars[0]))

static char *template_text(void)
{
	FILE *f = fopen(CC_SOURCE_DIR "/nginx/crowd.conf.in", "r");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static void test_cli_nginx_fills_every_placeholder_of_the_template(void **state)
{
	struct cc_err err = { 0 };
	char *tpl = template_text(), *out;

	(void)state;
	assert_non_null(tpl);
	out = cli_nginx_render(tpl, all_vars, NVARS, &err);
	assert_non_null(out);
	assert_non_null(strstr(out, "listen 127.0.0.1:9173;"));
	assert_non_null(strstr(out, "server \"unix:/r/s.sock\";"));
	assert_non_null(strstr(out, "client_max_body_size 64k;"));
	assert_non_null(strstr(out, "at most 64 KB"));
	assert_non_null(strstr(out, "location @too_large"));   /* not a placeholder */
	free(out);
	free(tpl);
}

/* The generated config limits connections per client address and drops
 * slow headers and stalled bodies; a refusal is a JSON 429 (a 503 would
 * read as "central server unavailable"). */
static void test_cli_nginx_limits_connections_per_client(void **state)
{
	struct cc_err err = { 0 };
	char *tpl = template_text(), *out, *server;

	(void)state;
	assert_non_null(tpl);
	out = cli_nginx_render(tpl, all_vars, NVARS, &err);
	assert_non_null(out);
	assert_non_null(strstr(out, "\tlimit_conn_zone $binary_remote_addr zone=crowd_conn:"));
	assert_non_null(strstr(out, "\tlimit_conn_status 429;"));
	assert_non_null(strstr(out, "\tclient_header_timeout 10s;"));
	assert_non_null(strstr(out, "\tclient_body_timeout 30s;"));
	server = strstr(out, "\tserver {");
	assert_non_null(server);
	assert_non_null(strstr(server, "\t\tlimit_conn crowd_conn 64;"));
	assert_non_null(strstr(server, "error_page 429 @too_many;"));
	assert_non_null(strstr(server, "location @too_many {"));
	assert_non_null(strstr(server, "return 429 '{\"error\": \"too many connections"));
	/* the zone is declared once, at http level, before the server */
	assert_true(strstr(out, "limit_conn_zone") < server);
	assert_null(strstr(strstr(out, "limit_conn_zone") + 1, "limit_conn_zone"));
	free(out);
	free(tpl);
}

static void test_cli_nginx_names_a_placeholder_left_over(void **state)
{
	struct cc_err err = { 0 };
	char *tpl = template_text();

	(void)state;
	assert_null(cli_nginx_render(tpl, all_vars, NVARS - 1, &err));  /* no STATIC_DIR */
	assert_non_null(strstr(err.msg, "@STATIC_DIR@"));
	assert_non_null(strstr(err.msg, "line "));
	free(tpl);
}

static void test_cli_nginx_ignores_placeholders_in_comments(void **state)
{
	const struct cli_nginx_var v[] = { { "A", "x" } };
	struct cc_err err = { 0 };
	char *out;

	(void)state;
	out = cli_nginx_render("# about @NAME@ here\na @A@ b@A@\n  # @B@\nc@ d @e@\n",
			       v, 1, &err);
	assert_non_null(out);
	assert_string_equal(out, "# about @NAME@ here\na x bx\n  # @B@\nc@ d @e@\n");
	free(out);
	assert_null(cli_nginx_render("ok\nlisten @B@;\n", v, 1, &err));
	assert_non_null(strstr(err.msg, "@B@ (line 2)"));
}

static void test_cli_nginx_listen_one_or_many(void **state)
{
	const char *const a[] = { "127.0.0.1", "10.0.0.1:81", "[::1]", "[::]:82" };
	struct cc_err err = { 0 };
	char out[512];

	(void)state;
	assert_int_equal(cli_nginx_listen(NULL, 0, 9173, out, sizeof(out), &err), 0);
	assert_string_equal(out, "9173");
	assert_int_equal(cli_nginx_listen(a, 1, 9173, out, sizeof(out), &err), 0);
	assert_string_equal(out, "127.0.0.1:9173");
	assert_int_equal(cli_nginx_listen(a, 4, 9173, out, sizeof(out), &err), 0);
	assert_string_equal(out, "127.0.0.1:9173;\n\t\tlisten 10.0.0.1:81;\n\t\tlisten "
			    "[::1]:9173;\n\t\tlisten [::]:82");
}

static void test_cli_nginx_listen_refuses_injection(void **state)
{
	const char *const bad[] = { "1.2.3.4; include /etc/passwd", "a b", "", "x{" };
	struct cc_err err = { 0 };
	char out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_nginx_listen(&bad[i], 1, 80, out, sizeof(out), &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	}
}

static void test_cli_nginx_probe_picks_a_reachable_address(void **state)
{
	const char *const a[] = { "10.1.2.3:81" }, *const w[] = { "0.0.0.0" };
	const char *const v6[] = { "[::1]:90" }, *const any6[] = { "[::]" };
	char host[64];
	int port;

	(void)state;
	cli_nginx_probe(NULL, 0, 9173, host, sizeof(host), &port);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9173);
	cli_nginx_probe(a, 1, 9173, host, sizeof(host), &port);
	assert_string_equal(host, "10.1.2.3");
	assert_int_equal(port, 81);
	cli_nginx_probe(w, 1, 9173, host, sizeof(host), &port);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9173);
	cli_nginx_probe(v6, 1, 9173, host, sizeof(host), &port);
	assert_string_equal(host, "[::1]");
	assert_int_equal(port, 90);
	cli_nginx_probe(any6, 1, 9173, host, sizeof(host), &port);
	assert_string_equal(host, "[::1]");
	assert_int_equal(port, 9173);
}

/* The template rendered with cli_nginx_auth's values; new string. */
static char *render_auth(const char *map, const char *auth)
{
	struct cli_nginx_var v[NVARS];
	struct cc_err err = { 0 };
	char *tpl = template_text(), *out;

	assert_non_null(tpl);
	memcpy(v, all_vars, sizeof(v));
	for (size_t i = 0; i < NVARS; i++) {
		if (!strcmp(v[i].name, "AUTH_MAP"))
			v[i].value = map;
		if (!strcmp(v[i].name, "AUTH"))
			v[i].value = auth;
	}
	out = cli_nginx_render(tpl, v, NVARS, &err);
	assert_non_null(out);
	free(tpl);
	return out;
}

static void test_cli_nginx_auth_off_or_one_user_file(void **state)
{
	struct cc_err err = { 0 };
	char map[1024], auth[1024], *out;

	(void)state;
	assert_int_equal(cli_nginx_auth(NULL, NULL, map, auth, sizeof(map), &err), 0);
	assert_null(strstr(map, "map "));
	assert_null(strstr(auth, "auth_basic"));
	out = render_auth(map, auth);
	assert_null(strstr(out, "\t\tauth_basic"));
	free(out);

	/* no node_login: the original's one login, on every route */
	assert_int_equal(cli_nginx_auth("/r/htpasswd", NULL, map, auth, sizeof(map),
					&err), 0);
	assert_null(strstr(map, "map "));
	assert_string_equal(auth, "\t\tauth_basic \"CloudCrowd\";\n"
			    "\t\tauth_basic_user_file \"/r/htpasswd\";");
	out = render_auth(map, auth);
	assert_non_null(strstr(out, "\t\tauth_basic_user_file \"/r/htpasswd\";"));
	assert_null(strstr(out, "auth_basic_user_file $crowd_auth_file"));
	assert_null(strstr(out, "\tmap "));
	free(out);
}

/* The FILE the map gives "METHOD RAW_URI", matching its regexes as nginx
 * does (in order, first match; they are POSIX EREs as well as PCRE). */
static const char *map_pick(const char *map, const char *req)
{
	static char file[256];
	const char *p = map, *dflt = strstr(map, "default \"");

	while ((p = strstr(p, "\"~"))) {
		const char *re_end = strstr(p, "\" \""), *f = re_end + 3;
		char re[256];
		regex_t rx;
		int hit;

		assert_non_null(re_end);
		snprintf(re, sizeof(re), "%.*s", (int)(re_end - p - 2), p + 2);
		assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
		hit = regexec(&rx, req, 0, NULL, 0) == 0;
		regfree(&rx);
		if (hit) {
			snprintf(file, sizeof(file), "%.*s", (int)strcspn(f, "\""), f);
			return file;
		}
		p = f;
	}
	assert_non_null(dflt);
	dflt += strlen("default \"");
	snprintf(file, sizeof(file), "%.*s", (int)strcspn(dflt, "\""), dflt);
	return file;
}

/* With node credentials: the node routes of fcgi/router.c (PUT and DELETE
 * /node/ID, PUT /work/ID, as the pool sees them: raw, before '?', under
 * any prefix) take the nodes' file, every other request the clients'. */
static void test_cli_nginx_auth_node_routes_take_the_node_file(void **state)
{
	static const char *const node[] = {
		"PUT /node/127.0.0.1:9063", "DELETE /node/127.0.0.1:9063",
		"PUT /node/h%3A1?x=1", "PUT /work/42", "PUT /work/42?", "PUT /crowd/work/7",
		"DELETE /crowd/node/h:1",
	};
	static const char *const client[] = {
		"POST /jobs", "GET /jobs/1", "DELETE /jobs/1", "GET /status",
		"GET /heartbeat", "GET /node/h:1", "POST /node/h:1", "GET /work/42",
		"DELETE /work/42", "POST /work/42", "PUT /worker/42", "GET /worker/1",
		"PUT /node/", "PUT /node/a/b", "PUT /work/", "PUT /jobs/..%2Fnode/x",
		"PUT /jobs?u=/node/x", "PUT /static/x", "put /node/h:1",
	};
	struct cc_err err = { 0 };
	char map[1024], auth[1024], *out, *server;

	(void)state;
	assert_int_equal(cli_nginx_auth("/r/htpasswd", "/r/htpasswd-node", map, auth,
					sizeof(map), &err), 0);
	assert_string_equal(auth, "\t\tauth_basic \"CloudCrowd\";\n"
			    "\t\tauth_basic_user_file $crowd_auth_file;");
	assert_non_null(strstr(map, "\tmap \"$request_method $request_uri\" "
			       "$crowd_auth_file {\n"));
	for (size_t i = 0; i < sizeof(node) / sizeof(node[0]); i++)
		if (strcmp(map_pick(map, node[i]), "/r/htpasswd-node"))
			fail_msg("%s: %s, not the node file", node[i], map_pick(map, node[i]));
	for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++)
		if (strcmp(map_pick(map, client[i]), "/r/htpasswd"))
			fail_msg("%s: %s, not the client file", client[i],
				 map_pick(map, client[i]));

	/* the map at http level, before the server that uses it */
	out = render_auth(map, auth);
	server = strstr(out, "\tserver {");
	assert_non_null(server);
	assert_true(strstr(out, "\tmap \"$request_method") < server);
	assert_non_null(strstr(server, "\t\tauth_basic_user_file $crowd_auth_file;"));
	free(out);
}

static void test_cli_nginx_auth_refuses_paths_nginx_would_misread(void **state)
{
	static const char *const bad[] = { "/r/ht\"passwd", "/r/$x", "/r/a\\b", "/r/a\nb", "" };
	struct cc_err err = { 0 };
	char map[1024], auth[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_nginx_auth(bad[i], NULL, map, auth, sizeof(map),
						&err), -1);
		assert_int_equal(cli_nginx_auth("/r/htpasswd", bad[i], map, auth,
						sizeof(map), &err), -1);
		assert_int_equal(err.kind, CC_ERR_BAD_REQUEST);
	}
	assert_int_equal(cli_nginx_auth("/r/htpasswd", "/r/htpasswd-node", map, auth,
					40, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
}

static void test_cli_nginx_ssha_matches_nginx_scheme(void **state)
{
	char out[256];

	(void)state;
	/* python3: base64(sha1(b"secretsalt").digest() + b"salt") */
	assert_int_equal(cli_nginx_ssha("crowd", "secret",
					(const unsigned char *)"salt", 4, out,
					sizeof(out)), 0);
	assert_string_equal(out, "crowd:{SSHA}gVK8WC9YyFT1gMsQHTGCgT3sSv5zYWx0");
	assert_int_equal(cli_nginx_ssha("crowd", "secret",
					(const unsigned char *)"salt", 4, out, 20), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
	const struct CMUnitTest tests[] = {
		T(test_cli_nginx_fills_every_placeholder_of_the_template),
		T(test_cli_nginx_limits_connections_per_client),
		T(test_cli_nginx_names_a_placeholder_left_over),
		T(test_cli_nginx_ignores_placeholders_in_comments),
		T(test_cli_nginx_listen_one_or_many),
		T(test_cli_nginx_listen_refuses_injection),
		T(test_cli_nginx_probe_picks_a_reachable_address),
		T(test_cli_nginx_auth_off_or_one_user_file),
		T(test_cli_nginx_auth_node_routes_take_the_node_file),
		T(test_cli_nginx_auth_refuses_paths_nginx_would_misread),
		T(test_cli_nginx_ssha_matches_nginx_scheme),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
