/* hostport.c - see hostport.h. Hand-written character checks rather than
 * getaddrinfo: validation must not touch the network or depend on the
 * resolver, and must give the same answer on every machine. */
#include <arpa/inet.h>
#include <string.h>
#include "core/hostport.h"

#define PORT_DIGITS_MAX 5

static int is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A name of n characters at s: non-empty labels of label characters,
 * none starting or ending with '-', one optional final dot. */
static int name_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n && s[n - 1] == '.')
		n--;                      /* "host.example.org." (FQDN) */
	if (!n)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_label_char(s[i]))
				return 0;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;             /* empty label, or a '-' at its edge */
		start = i + 1;
	}
	return 1;
}

/* An all-numeric name ("10.0.0.7", also "999.1" or "1.2.3") is meant as
 * an IPv4 address: only a real one is accepted. */
static int numeric(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.')
			return 0;
	return 1;
}

/* The n characters at s, copied so inet_pton sees them alone. */
static int addr_ok(int family, const char *s, size_t n)
{
	char buf[64];
	unsigned char out[16];

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(family, buf, out) == 1;
}

/* The host of n characters at s (not NUL-terminated there). */
static int host_ok(const char *s, size_t n)
{
	if (!n || n > CC_HOST_NAME_MAX)
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' && addr_ok(AF_INET6, s + 1, n - 2);
	if (numeric(s, n))
		return addr_ok(AF_INET, s, n);
	return name_ok(s, n);
}

int cc_host_name_valid(const char *s)
{
	/* strnlen: a 1 MB string costs no more than a long name */
	return s && host_ok(s, strnlen(s, CC_HOST_NAME_MAX + 1));
}

int cc_port_parse(const char *s, int *port)
{
	int p = 0;
	size_t i;

	if (!s || !*s)
		return -1;
	for (i = 0; s[i]; i++) {
		if (i == PORT_DIGITS_MAX || s[i] < '0' || s[i] > '9')
			return -1;
		p = p * 10 + (s[i] - '0');
	}
	if (p > 65535)
		return -1;
	*port = p;
	return 0;
}

int cc_hostport_parse(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	size_t n;
	int p;

	if (!colon)
		return -1;
	n = (size_t)(colon - s);
	/* a bare IPv6 address ("::1:80") has its last ':' inside the address:
	 * host_ok refuses it because it has no brackets */
	if (!host_ok(s, n) || cc_port_parse(colon + 1, &p) < 0 || p < 1)
		return -1;
	if (host) {
		if (n >= hostlen)
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	if (port)
		*port = p;
	return 0;
}
