/* nginxconf.h - the nginx configuration of `crowd server`, made from the
 * template nginx/crowd.conf.in the way stack/start.sh makes it: every
 * placeholder @NAME@ (capitals and '_') is replaced by its value, and a
 * placeholder left over outside a comment line is an error. Also the
 * basic-auth directives (one user file, or the clients' and the nodes')
 * and a user file line, in nginx's salted SHA-1 scheme ({SSHA}), so no
 * htpasswd tool is needed. Pure: tests/unit/test_cli_nginxconf.c. */
#ifndef CLI_NGINXCONF_H
#define CLI_NGINXCONF_H

#include <stddef.h>
#include "core/err.h"

struct cli_nginx_var {
	const char *name;        /* without the @s: "SOCKET" */
	const char *value;
};

/* cli_nginx_render - tpl with every @NAME@ of vars (nvars) replaced. New
 * string (caller frees), or NULL with err set: "placeholder @X@ (line N)
 * is not filled in", or out of memory. */
char *cli_nginx_render(const char *tpl, const struct cli_nginx_var *vars,
		       size_t nvars, struct cc_err *err);

/* cli_nginx_listen - the value of @LISTEN@ for addrs (naddrs; each "ADDR",
 * "ADDR:PORT", "[V6]" or "[V6]:PORT"; a bare ADDR gets port): one address
 * per listen directive, joined so that the template's "listen @LISTEN@;"
 * becomes several directives. naddrs 0 means every IPv4 address: "PORT".
 * Returns 0, or -1 with err (code 2) for an address with whitespace or ';'. */
int cli_nginx_listen(const char *const *addrs, size_t naddrs, int port,
		     char *out, size_t n, struct cc_err *err);

/* cli_nginx_probe_host - the address to reach the first listen address
 * from this machine: its host part, or 127.0.0.1 for a wildcard; and its
 * port (default port). host gets n bytes. */
void cli_nginx_probe(const char *const *addrs, size_t naddrs, int port,
		     char *host, size_t n, int *probe_port);

/* cli_nginx_auth - the values of @AUTH_MAP@ (http level) and @AUTH@ (in
 * the server): comments only when htpasswd is NULL (http_authentication
 * off); basic auth from htpasswd on every route when node_htpasswd is NULL
 * (one login for everybody); else node_htpasswd on the routes of nodes and
 * workers (PUT and DELETE /node/ID, PUT /work/ID, under any prefix) and
 * htpasswd on every other route, chosen by a map on the raw request URI,
 * which is what the pool routes on. map and auth get n bytes each. Returns
 * 0, or -1 with err (code 2) for a path with a quote, '$', '\' or a line
 * break, or one too long. */
int cli_nginx_auth(const char *htpasswd, const char *node_htpasswd,
		   char *map, char *auth, size_t n, struct cc_err *err);

/* cli_nginx_ssha - "login:{SSHA}BASE64" for nginx's auth_basic_user_file:
 * base64(SHA1(password salt) salt). Returns 0, or -1 if it does not fit. */
int cli_nginx_ssha(const char *login, const char *password,
		   const unsigned char *salt, size_t salt_len, char *out,
		   size_t n);

#endif
