/* confdoc.h - the documented crowd.conf that `crowd install` writes: every
 * key of lib/core/config.c's table, in its order and section, with its help
 * text and default as comments, and the keys given with --set written as
 * live settings. The key list is read from cc_config_print_help (the one
 * place that walks the table for people), so a key added to config.c
 * appears here without a change; tests/unit/test_cli_confdoc.c parses the
 * real help text, so a change of its shape fails a test, not an install. */
#ifndef CLI_CONFDOC_H
#define CLI_CONFDOC_H

#include <stddef.h>
#include "core/err.h"

struct cli_confkey {
	char section[32];        /* "" for the top level, else "database" */
	char name[64];
	char help[256];
	char def[1024];          /* default as text; "" when empty */
};

/* cli_confdoc_parse - parse cc_config_print_help output (text) into a new
 * array (*keys, free() it) of *n keys. Returns 0, or -1 with err set
 * naming the line that does not have the expected shape. */
int cli_confdoc_parse(const char *text, struct cli_confkey **keys, size_t *n,
		      struct cc_err *err);

/* cli_confdoc_keys - the same, from this build's cc_config_print_help. */
int cli_confdoc_keys(struct cli_confkey **keys, size_t *n, struct cc_err *err);

/* cli_confdoc_find - index of "name" (top level) or "section.name" in keys,
 * or -1. */
long cli_confdoc_find(const struct cli_confkey *keys, size_t n,
		      const char *dotted);

/* cli_confdoc_render - the crowd.conf text (new string, caller frees).
 * sets: nsets "key=value" / "database.key=value" strings; a key given
 * twice takes the last value. header: first comment lines (may be NULL).
 * NULL with err set (code 2) for a set that is not KEY=VALUE, names an
 * unknown key or holds a newline; NULL with code 500 on out of memory. */
char *cli_confdoc_render(const struct cli_confkey *keys, size_t n,
			 const char *const *sets, size_t nsets,
			 const char *header, struct cc_err *err);

#endif
