/* redact.c - see redact.h. One pass over the text: at each "://" the
 * authority (up to the first '/', '?', '#', blank, quote or control byte)
 * is looked at, and when it holds userinfo with a password (a ':' before
 * its last '@'), the password is written as "***"; at each '?' or '&'
 * followed by a secret parameter name and '=', the value (up to '&', '#',
 * a blank or a quote) is written as "***". The last '@' is the one that
 * counts: an unescaped '@' inside a password must not leave its tail in
 * the log. */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "core/redact.h"

#define MASK "***"

/* Query and form parameters whose value is a credential. */
static const char *const secret_params[] = {
	"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
	"Signature", "AWSAccessKeyId", "password", "access_token",
};

struct emit {
	char *out;
	size_t cap;
	size_t len;         /* bytes of the whole result so far */
};

static void put(struct emit *e, const char *p, size_t n)
{
	if (e->len < e->cap) {
		size_t room = e->cap - 1 - e->len;
		memcpy(e->out + e->len, p, n < room ? n : room);
	}
	e->len += n;
}

/* Where a URL's authority ends (the byte is not part of it). */
static int authority_end(unsigned char c)
{
	return c == '/' || c == '?' || c == '#' || c <= ' ' || c == 0x7f ||
	       c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' ||
	       c == '\\' || c == '{' || c == '}' || c == '|' || c == '^';
}

/* Where a parameter's value ends. */
static int value_end(unsigned char c)
{
	return c == '&' || c == '#' || c <= ' ' || c == 0x7f || c == '"' ||
	       c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\';
}

/* Length of "NAME=" at p (n bytes left) when NAME is a secret parameter;
 * else 0. */
static size_t secret_param(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(secret_params) / sizeof(secret_params[0]); i++) {
		size_t l = strlen(secret_params[i]);
		if (n > l && p[l] == '=' && !strncasecmp(p, secret_params[i], l))
			return l + 1;
	}
	return 0;
}

size_t cc_redact(const char *in, size_t n, char *out, size_t cap)
{
	struct emit e = { out, cap, 0 };
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)in[i];

		if (c == ':' && i > 0 && isalnum((unsigned char)in[i - 1]) &&
		    n - i >= 3 && in[i + 1] == '/' && in[i + 2] == '/') {
			size_t a = i + 3, k = a, at = 0;
			const char *colon;

			while (k < n && !authority_end((unsigned char)in[k])) {
				if (in[k] == '@')
					at = k;
				k++;
			}
			colon = at ? memchr(in + a, ':', at - a) : NULL;
			if (colon && colon + 1 < in + at) {
				/* "://user:" then the mask, then "@host..." */
				put(&e, in + i, (size_t)(colon + 1 - (in + i)));
				put(&e, MASK, sizeof(MASK) - 1);
				put(&e, in + at, k - at);
				i = k;
				continue;
			}
			put(&e, in + i, 3);
			i += 3;
			continue;
		}
		if ((c == '?' || c == '&') && i + 1 < n) {
			size_t l = secret_param(in + i + 1, n - i - 1);
			if (l) {
				size_t v = i + 1 + l, k = v;
				while (k < n && !value_end((unsigned char)in[k]))
					k++;
				put(&e, in + i, 1 + l);
				if (k > v)
					put(&e, MASK, sizeof(MASK) - 1);
				i = k;
				continue;
			}
		}
		put(&e, in + i, 1);
		i++;
	}
	if (cap)
		out[e.len < cap ? e.len : cap - 1] = '\0';
	return e.len;
}
