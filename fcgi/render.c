/* render.c - see render.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 4096;
		while (nc < *len + n + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

int cc_html_escape_append(char **buf, size_t *len, size_t *cap, const char *s)
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
		if (e ? append(buf, len, cap, e, strlen(e)) : append(buf, len, cap, s, 1))
			return -1;
	}
	return 0;
}

char *cc_render_file(const char *path, const struct cc_render_var *vars,
		     size_t nvars, size_t *outlen)
{
	FILE *f = fopen(path, "r");
	char *tpl = NULL, *out = NULL, *p;
	size_t tlen = 0, len = 0, cap = 0;

	if (!f)
		return NULL;
	if (getdelim(&tpl, &tlen, '\0', f) < 0) {
		fclose(f);
		free(tpl);
		return NULL;
	}
	fclose(f);
	if (append(&out, &len, &cap, "", 0) < 0)
		goto fail;
	for (p = tpl; *p;) {
		char *open = strstr(p, "{{"), *close;
		if (!open || !(close = strstr(open + 2, "}}"))) {
			if (append(&out, &len, &cap, p, strlen(p)) < 0)
				goto fail;
			break;
		}
		if (append(&out, &len, &cap, p, (size_t)(open - p)) < 0)
			goto fail;
		for (size_t i = 0; i < nvars; i++) {
			size_t n = strlen(vars[i].name);
			if ((size_t)(close - open - 2) == n &&
			    !strncmp(open + 2, vars[i].name, n) &&
			    cc_html_escape_append(&out, &len, &cap, vars[i].value) < 0)
				goto fail;
		}
		p = close + 2;
	}
	free(tpl);
	*outlen = len;
	return out;
fail:
	free(tpl);
	free(out);
	return NULL;
}
