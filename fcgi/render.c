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

char *cc_render_error_page(int status, const char *title, const char *detail,
			   const char *prefix, int refresh_s, size_t *outlen)
{
	struct cc_strbuf b = { 0 };
	char num[64];

	cc_strbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		       "<meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, "
		       "initial-scale=1\">\n");
	if (refresh_s > 0) {
		snprintf(num, sizeof(num), "<meta http-equiv=\"refresh\" content=\"%d\">\n",
			 refresh_s);
		cc_strbuf_puts(&b, num);
	}
	cc_strbuf_puts(&b, "<title>");
	escape_append(&b, title);
	cc_strbuf_puts(&b, " &middot; CloudCrowd Operations Center</title>\n<style>\n"
		       "body{font:15px/1.5 system-ui,sans-serif;color:#1d2433;"
		       "background:#f4f6fa;margin:0}\n"
		       "main{max-width:46em;margin:12vh auto;background:#fff;"
		       "border:1px solid #e1e5ee;border-left:5px solid #c9372c;"
		       "border-radius:8px;padding:1.5em 2em}\n"
		       "h1{font-size:1.3em;margin:0 0 .5em;color:#c9372c}\n"
		       "p.detail{font-family:ui-monospace,monospace;background:#f7f8fb;"
		       "padding:.6em .8em;border-radius:4px;word-break:break-word}\n"
		       "small{color:#6b7385}\n</style>\n</head>\n"
		       "<body class=\"error-page\">\n<main role=\"alert\">\n"
		       "<h1 id=\"error_title\">");
	escape_append(&b, title);
	cc_strbuf_puts(&b, "</h1>\n<p class=\"detail\" id=\"error_detail\">");
	escape_append(&b, detail);
	cc_strbuf_puts(&b, "</p>\n<p><small>");
	snprintf(num, sizeof(num), "HTTP %d. ", status);
	cc_strbuf_puts(&b, num);
	if (refresh_s > 0) {
		snprintf(num, sizeof(num), "This page tries again every %d s; ", refresh_s);
		cc_strbuf_puts(&b, num);
	}
	cc_strbuf_puts(&b, "the server log has the detail. <a href=\"");
	escape_append(&b, prefix ? prefix : "");
	cc_strbuf_puts(&b, "/\">Reload</a></small></p>\n</main>\n</body>\n</html>\n");
	if (b.oom) {
		cc_strbuf_free(&b);
		return NULL;
	}
	*outlen = b.len;
	return b.data;
}
