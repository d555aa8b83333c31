/* render.c - see render.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"
#include "core/strbuf.h"

/* Append s HTML-escaped (& < > " '). */
static void escape_append(struct cc_strbuf *b, const char *s)
{
	for (; *s; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e)
			cc_strbuf_puts(b, e);
		else
			cc_strbuf_put(b, s, 1);
	}
}

char *cc_render_file(const char *path, const struct cc_render_var *vars,
		     size_t nvars, size_t *outlen)
{
	FILE *f = fopen(path, "r");
	struct cc_strbuf b = { 0 };
	char *tpl = NULL, *p;
	size_t tlen = 0;

	if (!f)
		return NULL;
	/* An empty file is an empty template: getdelim says -1 at end of
	 * file with nothing read, which is only a failure if ferror says so. */
	if (getdelim(&tpl, &tlen, '\0', f) < 0) {
		if (ferror(f) || (!tpl && !(tpl = malloc(1)))) {
			fclose(f);
			free(tpl);
			return NULL;
		}
		*tpl = '\0';
	}
	fclose(f);
	cc_strbuf_put(&b, "", 0);
	for (p = tpl; *p;) {
		char *open = strstr(p, "{{"), *close;
		if (!open || !(close = strstr(open + 2, "}}"))) {
			cc_strbuf_puts(&b, p);
			break;
		}
		cc_strbuf_put(&b, p, (size_t)(open - p));
		for (size_t i = 0; i < nvars; i++) {
			size_t n = strlen(vars[i].name);
			if ((size_t)(close - open - 2) == n &&
			    !strncmp(open + 2, vars[i].name, n))
				escape_append(&b, vars[i].value);
		}
		p = close + 2;
	}
	free(tpl);
	if (b.oom) {
		cc_strbuf_free(&b);
		return NULL;
	}
	*outlen = b.len;
	return b.data;
}
