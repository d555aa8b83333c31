/* cidr.h - a list of IP addresses and CIDR blocks ("10.0.0.5, 10.1.0.0/16,
 * fd00::/8"), and whether a peer's address is in it: the node's
 * node_allow (who may connect to crowd-node). IPv4 entries also match
 * IPv4 peers seen through a dual-stack IPv6 socket (::ffff:a.b.c.d).
 * Addresses only, no host names: a name would need a resolver at every
 * accept, and the answer can change under us. Fixed size, no allocation:
 * tests/unit/test_config.c (through node_allow). */
#ifndef CC_CIDR_H
#define CC_CIDR_H

#include <stddef.h>
#include <sys/socket.h>
#include "core/err.h"

#define CC_CIDR_MAX 64          /* entries in one list */

struct cc_cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];     /* network order; 4 bytes used for IPv4 */
	int prefix;                 /* bits that must match: 0-32 or 0-128 */
};

struct cc_cidr_list {
	struct cc_cidr v[CC_CIDR_MAX];
	size_t n;                   /* 0 = empty list */
};

/* cc_cidr_list_parse - text: entries separated by commas and/or blanks,
 * each ADDRESS or ADDRESS/PREFIX (IPv4 dotted quad or IPv6). Returns 0
 * with out filled (an empty or blank text gives n = 0), or -1 with err
 * naming the first bad entry ("'x' is not an IP address or ADDRESS/PREFIX")
 * or saying there are more than CC_CIDR_MAX. */
int cc_cidr_list_parse(const char *text, struct cc_cidr_list *out,
		       struct cc_err *err);

/* cc_cidr_list_match - is the peer address sa (AF_INET or AF_INET6; len
 * bytes) inside one of l's entries? 0 for other families. */
int cc_cidr_list_match(const struct cc_cidr_list *l, const struct sockaddr *sa,
		       socklen_t len);

#endif
