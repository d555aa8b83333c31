/* confdoc.c - see confdoc.h. The help text has one line per key,
 *   "  NAME<spaces>HELP (default: DEFAULT)"
 * with "empty" for an empty default, "[section]" lines between sections and
 * a title line first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "confdoc.h"
#include "core/strbuf.h"

static int parse_key_line(const char *line, size_t len, const char *section,
			  struct cli_confkey *k)
{
	static const char mark[] = " (default: ";
	const char *p = line + 2, *end = line + len, *name_end, *help, *d = NULL;

	memset(k, 0, sizeof(*k));
	if (len < 4 || line[0] != ' ' || line[1] != ' ' || end[-1] != ')')
		return -1;
	name_end = p;
	while (name_end < end && *name_end != ' ')
		name_end++;
	if (name_end == p || (size_t)(name_end - p) >= sizeof(k->name))
		return -1;
	help = name_end;
	while (help < end && *help == ' ')
		help++;
	/* the last " (default: " on the line: help texts may hold parentheses */
	for (const char *q = help; q + sizeof(mark) - 1 <= end; q++)
		if (!memcmp(q, mark, sizeof(mark) - 1))
			d = q;
	if (!d)
		return -1;
	snprintf(k->section, sizeof(k->section), "%s", section);
	snprintf(k->name, sizeof(k->name), "%.*s", (int)(name_end - p), p);
	snprintf(k->help, sizeof(k->help), "%.*s", (int)(d - help), help);
	d += sizeof(mark) - 1;
	snprintf(k->def, sizeof(k->def), "%.*s", (int)(end - 1 - d), d);
	if (!strcmp(k->def, "empty"))
		k->def[0] = '\0';
	return 0;
}

int cli_confdoc_parse(const char *text, struct cli_confkey **keys, size_t *n,
		      struct cc_err *err)
{
	struct cli_confkey *arr = NULL;
	size_t cap = 0, count = 0;
	char section[32] = "";
	int lineno = 0;

	*keys = NULL;
	*n = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		if (lineno == 1 || len == 0) {
			/* title line, blank lines */
		} else if (p[0] == '[' && p[len - 1] == ']' && len - 2 < sizeof(section)) {
			snprintf(section, sizeof(section), "%.*s", (int)(len - 2), p + 1);
		} else {
			if (count == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cli_confkey *na = realloc(arr, ncap * sizeof(*na));
				if (!na) {
					free(arr);
					return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
				}
				arr = na;
				cap = ncap;
			}
			if (parse_key_line(p, len, section, &arr[count]) < 0) {
				free(arr);
				return cc_err_set(err, CC_ERR_INTERNAL, "config help line %d is not "
						  "\"  KEY HELP (default: VALUE)\": %.*s",
						  lineno, (int)(len > 120 ? 120 : len), p);
			}
			count++;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!count) {
		free(arr);
		return cc_err_set(err, CC_ERR_INTERNAL, "config help lists no keys");
	}
	*keys = arr;
	*n = count;
	return 0;
}

int cli_confdoc_keys(struct cli_confkey **keys, size_t *n, struct cc_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	cc_config_print_help(f);
	if (fclose(f) != 0 || !text) {
		free(text);
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	}
	rc = cli_confdoc_parse(text, keys, n, err);
	free(text);
	return rc;
}

long cli_confdoc_find(const struct cli_confkey *keys, size_t n,
		      const char *dotted)
{
	const char *dot = strchr(dotted, '.');
	size_t slen = dot ? (size_t)(dot - dotted) : 0;
	const char *name = dot ? dot + 1 : dotted;

	for (size_t i = 0; i < n; i++)
		if (strlen(keys[i].section) == slen &&
		    !strncmp(keys[i].section, dotted, slen) &&
		    !strcmp(keys[i].name, name))
			return (long)i;
	return -1;
}

/* Comment lines: each line of text prefixed with "# ". */
static void add_comment(struct cc_strbuf *b, const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len)
			cc_strbuf_printf(b, "# %.*s\n", (int)len, p);
		else
			cc_strbuf_printf(b, "#\n");
		p = nl ? nl + 1 : p + len;
	}
}

char *cli_confdoc_render(const struct cli_confkey *keys, size_t n,
			 const char *const *sets, size_t nsets,
			 const char *header, struct cc_err *err)
{
	const char **value = calloc(n ? n : 1, sizeof(*value));
	size_t *vlen = calloc(n ? n : 1, sizeof(*vlen));
	struct cc_strbuf b = { 0 };
	const char *section = "";
	char *out = NULL;

	if (!value || !vlen) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nsets; i++) {
		const char *eq = strchr(sets[i], '=');
		char key[128];
		long k;

		if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof(key)) {
			cc_err_set(err, CC_ERR_BAD_REQUEST, "--set '%s': expected KEY=VALUE "
				   "(database.KEY=VALUE for the [database] section)",
				   sets[i]);
			goto out;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - sets[i]), sets[i]);
		k = cli_confdoc_find(keys, n, key);
		if (k < 0) {
			char *dot = strchr(key, '.'), hint[160] = "";
			const char *sec = NULL, *near;

			if (dot)
				*dot = '\0';
			near = cc_config_suggest(dot ? key : "", dot ? dot + 1 : key, &sec);
			if (dot)
				*dot = '.';
			if (near)
				snprintf(hint, sizeof(hint), "did you mean %s%s%s? ",
					 *sec ? sec : "", *sec ? "." : "", near);
			cc_err_set(err, CC_ERR_BAD_REQUEST, "--set %s: unknown key (%severy key "
				   "is listed by crowd-server --help; [database] keys "
				   "are database.KEY)", key, hint);
			goto out;
		}
		if (strchr(eq + 1, '\n') || strchr(eq + 1, '\r')) {
			cc_err_set(err, CC_ERR_BAD_REQUEST, "--set %s: the value holds a line break", key);
			goto out;
		}
		/* inih ends a value at ';' after a blank (an inline comment) */
		if (strstr(eq + 1, " ;") || strstr(eq + 1, "\t;")) {
			cc_err_set(err, CC_ERR_BAD_REQUEST, "--set %s: ' ;' in a value starts a comment "
				   "in crowd.conf", key);
			goto out;
		}
		value[k] = eq + 1;
		vlen[k] = strlen(eq + 1);
	}
	if (header)
		add_comment(&b, header);
	for (size_t i = 0; i < n; i++) {
		const struct cli_confkey *k = &keys[i];

		if (strcmp(section, k->section)) {
			section = k->section;
			cc_strbuf_printf(&b, "\n[%s]\n", section);
		}
		/* the commented-out line shows the default; a set key says it */
		if (value[i]) {
			cc_strbuf_printf(&b, "\n# %s (default: %s)\n", k->help,
			    *k->def ? k->def : "empty");
			cc_strbuf_printf(&b, "%s = %.*s\n", k->name, (int)vlen[i], value[i]);
		} else {
			cc_strbuf_printf(&b, "\n# %s\n", k->help);
			cc_strbuf_printf(&b, "# %s =%s%s\n", k->name, *k->def ? " " : "", k->def);
		}
	}
	if (b.oom) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	out = b.data;
	b.data = NULL;
out:
	free(b.data);
	free(value);
	free(vlen);
	return out;
}
