/* cidr.c - see cidr.h. A peer matches an entry when the first prefix bits
 * of their addresses agree; an IPv4-mapped IPv6 peer is compared as the
 * IPv4 address it carries. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "core/cidr.h"

static int parse_one(const char *s, struct cc_cidr *c)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	c->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		char *end;
		long v;

		if (!isdigit((unsigned char)*p) || strlen(p) > 3)
			return -1;
		v = strtol(p, &end, 10);
		if (*end || v > max)
			return -1;
		c->prefix = (int)v;
	}
	return 0;
}

static int bad_entry(struct cc_cidr_list *out, const char *p, size_t len,
		     struct cc_err *err)
{
	out->n = 0;
	return cc_err_set(err, CC_ERR_BAD_REQUEST, "'%.*s' is not an IP address "
			  "or ADDRESS/PREFIX", len > 64 ? 64 : (int)len, p);
}

int cc_cidr_list_parse(const char *text, struct cc_cidr_list *out,
		       struct cc_err *err)
{
	const char *p = text ? text : "";

	out->n = 0;
	for (;;) {
		char item[96];
		size_t len = 0;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		while (p[len] && p[len] != ',' && !isspace((unsigned char)p[len]))
			len++;
		if (out->n == CC_CIDR_MAX) {
			out->n = 0;
			return cc_err_set(err, CC_ERR_BAD_REQUEST, "more than %d entries",
					  CC_CIDR_MAX);
		}
		if (len >= sizeof(item))
			return bad_entry(out, p, len, err);
		memcpy(item, p, len);
		item[len] = '\0';
		if (parse_one(item, &out->v[out->n]) < 0)
			return bad_entry(out, p, len, err);
		out->n++;
		p += len;
	}
}

/* The first bits of a and b agree. */
static int same_prefix(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole))
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int cc_cidr_list_match(const struct cc_cidr_list *l, const struct sockaddr *sa,
		       socklen_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0xff, 0xff };
	unsigned char v4[4], v6[16];
	int has4 = 0, has6 = 0;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		has4 = 1;
	} else if (sa->sa_family == AF_INET6 &&
		   len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		memcpy(v6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		has6 = 1;
		if (!memcmp(v6, mapped, sizeof(mapped))) {
			memcpy(v4, v6 + 12, 4);
			has4 = 1;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct cc_cidr *c = &l->v[i];
		if ((c->family == AF_INET && has4 && same_prefix(c->addr, v4, c->prefix)) ||
		    (c->family == AF_INET6 && has6 && same_prefix(c->addr, v6, c->prefix)))
			return 1;
	}
	return 0;
}
