/* nginxconf.c - see nginxconf.h. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nginxconf.h"
#include "core/strbuf.h"

/* Length of the placeholder name at p (just after an '@'), when p holds
 * NAME@ with NAME in [A-Z_]+; else 0. */
static size_t placeholder(const char *p)
{
	size_t i = 0;

	while (isupper((unsigned char)p[i]) || p[i] == '_')
		i++;
	return i && p[i] == '@' ? i : 0;
}

char *cli_nginx_render(const char *tpl, const struct cli_nginx_var *vars,
		       size_t nvars, struct cc_err *err)
{
	struct cc_strbuf b = { 0 };
	char *out;
	int line = 1;

	cc_strbuf_put(&b, "", 0);
	for (const char *p = tpl; *p;) {
		size_t nl = p[0] == '@' ? placeholder(p + 1) : 0;
		const char *val = NULL;

		for (size_t i = 0; nl && i < nvars; i++)
			if (strlen(vars[i].name) == nl && !memcmp(vars[i].name, p + 1, nl))
				val = vars[i].value;
		if (!val) {
			cc_strbuf_put(&b, p, 1);
			p++;
		} else {
			cc_strbuf_puts(&b, val);
			p += nl + 2;
		}
	}
	if (b.oom)
		goto oom;
	out = b.data;

	/* Anything still looking like a placeholder outside comments. */
	for (const char *p = out; *p; line++) {
		const char *e = strchrnul(p, '\n'), *q = p;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (*q != '#')
			for (; q < e; q++)
				if (*q == '@' && placeholder(q + 1)) {
					cc_err_set(err, CC_ERR_INTERNAL, "placeholder %.*s (line %d) is not "
						   "filled in", (int)placeholder(q + 1) + 2,
						   q, line);
					free(out);
					return NULL;
				}
		p = *e ? e + 1 : e;
	}
	return out;
oom:
	cc_strbuf_free(&b);
	cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return NULL;
}

int cli_nginx_listen(const char *const *addrs, size_t naddrs, int port,
		     char *out, size_t n, struct cc_err *err)
{
	size_t len = 0;

	out[0] = '\0';
	if (!naddrs) {
		snprintf(out, n, "%d", port);
		return 0;
	}
	for (size_t i = 0; i < naddrs; i++) {
		const char *a = addrs[i], *close = strrchr(a, ']');
		const char *colon = strrchr(a, ':');
		int has_port;
		int k;

		if (!*a || strpbrk(a, " \t\n;{}'\"\\"))
			return cc_err_set(err, CC_ERR_BAD_REQUEST, "--listen '%s': not an address", a);
		/* "[::1]" has colons but no port; "[::1]:80" and "1.2.3.4:80" do */
		has_port = a[0] == '[' ? (close && close[1] == ':') : colon != NULL;
		k = snprintf(out + len, n - len, "%s%s", i ? ";\n\t\tlisten " : "", a);
		if (k < 0 || (size_t)k >= n - len)
			return cc_err_set(err, CC_ERR_BAD_REQUEST, "--listen: too many addresses");
		len += (size_t)k;
		if (!has_port) {
			k = snprintf(out + len, n - len, ":%d", port);
			if (k < 0 || (size_t)k >= n - len)
				return cc_err_set(err, CC_ERR_BAD_REQUEST, "--listen: too many addresses");
			len += (size_t)k;
		}
	}
	return 0;
}

void cli_nginx_probe(const char *const *addrs, size_t naddrs, int port,
		     char *host, size_t n, int *probe_port)
{
	const char *a = naddrs ? addrs[0] : "*";
	const char *sep = a[0] == '[' ? strchr(a, ']') : strrchr(a, ':');
	size_t hl = strlen(a);

	*probe_port = port;
	if (a[0] == '[') {
		if (sep && sep[1] == ':')
			*probe_port = atoi(sep + 2);
		hl = sep ? (size_t)(sep - a + 1) : hl;
	} else if (sep) {
		*probe_port = atoi(sep + 1);
		hl = (size_t)(sep - a);
	}
	if ((hl == 1 && a[0] == '*') || (hl == 7 && !strncmp(a, "0.0.0.0", 7)))
		snprintf(host, n, "127.0.0.1");
	else if (hl == 4 && !strncmp(a, "[::]", 4))
		snprintf(host, n, "[::1]");
	else
		snprintf(host, n, "%.*s", (int)hl, a);
}

/* A path nginx reads back as written inside "...": no quote, no escape,
 * no variable (auth_basic_user_file and map values expand $NAME). */
static int plain_path(const char *p)
{
	return p && *p && !strpbrk(p, "\"$\\\n\r");
}

int cli_nginx_auth(const char *htpasswd, const char *node_htpasswd,
		   char *map, char *auth, size_t n, struct cc_err *err)
{
	int km, ka;

	if (!htpasswd) {
		km = snprintf(map, n, "\t# (http_authentication is off)");
		ka = snprintf(auth, n, "\t\t# (http_authentication is off)");
	} else if (!plain_path(htpasswd) ||
		   (node_htpasswd && !plain_path(node_htpasswd))) {
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "user file path %s: "
				  "empty, or has a quote, '$', '\\' or a line break",
				  plain_path(htpasswd) ? node_htpasswd : htpasswd);
	} else if (!node_htpasswd) {
		km = snprintf(map, n, "\t# (no node_login: one login for every route)");
		ka = snprintf(auth, n, "\t\tauth_basic \"CloudCrowd\";\n"
			      "\t\tauth_basic_user_file \"%s\";", htpasswd);
	} else {
		/* The pool routes the raw REQUEST_URI ($request_uri, prefix
		 * stripped, up to '?'), so the map does too: $uri is decoded
		 * and normalised ("/jobs/..%2Fnode/x" is "/node/x") and could
		 * name another route than the pool runs. [^?]* admits a
		 * CROWD_PREFIX; a path that is not a route gets a 404 anyway. */
		km = snprintf(map, n,
			"\tmap \"$request_method $request_uri\" $crowd_auth_file {\n"
			"\t\t\"~^(PUT|DELETE) [^?]*/node/[^/?]+([?]|$)\" \"%s\";\n"
			"\t\t\"~^PUT [^?]*/work/[^/?]+([?]|$)\" \"%s\";\n"
			"\t\tdefault \"%s\";\n"
			"\t}", node_htpasswd, node_htpasswd, htpasswd);
		ka = snprintf(auth, n, "\t\tauth_basic \"CloudCrowd\";\n"
			      "\t\tauth_basic_user_file $crowd_auth_file;");
	}
	if (km < 0 || (size_t)km >= n || ka < 0 || (size_t)ka >= n)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "user file paths too long");
	return 0;
}

int cli_nginx_ssha(const char *login, const char *password,
		   const unsigned char *salt, size_t salt_len, char *out,
		   size_t n)
{
	unsigned char raw[EVP_MAX_MD_SIZE + 64];
	unsigned char b64[((EVP_MAX_MD_SIZE + 64) / 3 + 1) * 4 + 1];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if (salt_len > 64)
		return -1;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
	     EVP_DigestUpdate(ctx, password, strlen(password)) &&
	     EVP_DigestUpdate(ctx, salt, salt_len) &&
	     EVP_DigestFinal_ex(ctx, raw, &dlen);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(raw + dlen, salt, salt_len);
	EVP_EncodeBlock(b64, raw, (int)(dlen + salt_len));
	if (snprintf(out, n, "%s:{SSHA}%s", login, b64) >= (int)n)
		return -1;
	return 0;
}
