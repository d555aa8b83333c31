/* health.h - what `crowd server status` says about central's readiness:
 * the answer to GET /health ({"status": "ok"|"degraded"|"unavailable",
 * "database": {"ok", "error"}, "dispatcher": {"ok", "pid", "error"},
 * "nodes": {"count", "busy", "max"}}; 200 while the database is reachable,
 * else 503) made into one line per part, and an exit code. Pure (no I/O):
 * tests/unit/test_cli_health.c checks every shape. */
#ifndef CLI_HEALTH_H
#define CLI_HEALTH_H

#include <stddef.h>

/* cli_health_report - the lines for central's answer (status: its HTTP
 * status, 0 when none came; body: NULL or its text; why: what went wrong
 * when none came) into out (n bytes, each line ending in '\n'):
 *   database: ok | database: unavailable: ERROR
 *   dispatcher: running (pid N) | dispatcher: not running: ERROR
 *   nodes: 2 checked in, 3/8 workers busy | nodes: none checked in
 *   readiness: ok | degraded (no dispatcher, no nodes) | unavailable
 * or one "readiness: unknown (...)" line when central has no /health
 * (404) or the answer is not its JSON. Returns CC_EXIT_OK (ok, degraded,
 * or no /health), CC_EXIT_DB (the database is unavailable) or
 * CC_EXIT_FAILED (no answer, or one we cannot read). */
int cli_health_report(long status, const char *body, const char *why,
		      char *out, size_t n);

#endif
