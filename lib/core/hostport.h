/* hostport.h - the one check of a host name and of "host:port", for
 * everything that names a machine: the node agent's -H and node_host,
 * `crowd node -H`, and the "name:port" a node checks in as (node_record.c).
 * The host goes into URLs (http://HOST:PORT/work), node_records.host and
 * command lines, so the rule is strict: it accepts the names real machines
 * have and nothing that could change a URL, a header or an argv:
 *   - a name: labels of [A-Za-z0-9_-] separated by single dots, no label
 *     starting or ending with '-', an optional final dot, at most
 *     CC_HOST_NAME_MAX characters;
 *   - IPv4: a name made only of digits and dots must be a dotted quad
 *     (inet_pton: four numbers 0-255, no leading zeros);
 *   - IPv6: only in brackets, "[::1]", the inside a valid address (no
 *     zone: '%' would need escaping in a URL).
 * A port is 1-65535 written with digits only: no sign, blank or 0x. */
#ifndef CC_HOSTPORT_H
#define CC_HOSTPORT_H

#include <stddef.h>

#define CC_HOST_NAME_MAX 253    /* characters of a host, brackets included */

/* cc_host_name_valid - 1 if s (NULL is refused) is a host name, IPv4
 * address or bracketed IPv6 address as above, else 0. */
int cc_host_name_valid(const char *s);

/* cc_port_parse - s as a port, 0-65535, digits only (at most 5); 0 when
 * the caller allows "any port" must be checked by the caller. Returns 0
 * with *port set, or -1 (s NULL, empty, or anything else) leaving *port
 * unchanged. */
int cc_port_parse(const char *s, int *port);

/* cc_hostport_parse - split s, "HOST:PORT" with a valid host (as
 * cc_host_name_valid) and a port 1-65535, at its last ':'. On success
 * returns 0 and, when given, copies HOST as written (brackets kept, so it
 * can go back into a URL) into host (hostlen bytes) and sets *port. On
 * failure returns -1 and changes nothing: s NULL or not of that form, or
 * HOST longer than hostlen - 1. host and port may be NULL (check only). */
int cc_hostport_parse(const char *s, char *host, size_t hostlen, int *port);

#endif
