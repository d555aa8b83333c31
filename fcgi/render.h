/* render.h - Operations Center pages from templates/: the template's
 * {{name}} placeholders are replaced by HTML-escaped values (escaping is
 * the API's job, not the caller's: cgit html.c). */
#ifndef CC_RENDER_H
#define CC_RENDER_H

#include <stddef.h>

struct cc_render_var {
	const char *name;
	const char *value;     /* raw text; escaped on output */
};

/* cc_render_file - render path with vars into a new string (caller frees);
 * NULL if the template cannot be read. Unknown placeholders render empty. */
char *cc_render_file(const char *path, const struct cc_render_var *vars,
		     size_t nvars, size_t *len);

/* cc_render_error_page - a whole HTML page (no template, no static file:
 * it must work when those are what is missing) saying title and detail,
 * that reloads itself every refresh_s seconds (0: never), with a link to
 * prefix + "/". A new string (caller frees) and its length; NULL on out of
 * memory. */
char *cc_render_error_page(int status, const char *title, const char *detail,
			   const char *prefix, int refresh_s, size_t *len);

#endif
