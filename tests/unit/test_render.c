/* test_render.c - the Operations Center template renderer (fcgi/render.c):
 * {{name}} placeholders replaced by their values, HTML-escaped; an unknown
 * placeholder renders empty; a missing file is NULL; and the shipped
 * template renders. Each test writes its template into its own temp
 * folder. No database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "render.h"

struct fixture {
	char root[PATH_MAX];
	char tpl[PATH_MAX + 16];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/render-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	snprintf(f->tpl, sizeof(f->tpl), "%s/t.html", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cc_fs_rmtree(f->root, NULL);
	free(f);
	return 0;
}

/* render - write text as the template, render it with vars; the result
 * (caller frees) and its length. */
static char *render(struct fixture *f, const char *text,
		    const struct cc_render_var *vars, size_t n, size_t *len)
{
	FILE *fp = fopen(f->tpl, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	fclose(fp);
	*len = (size_t)-1;
	return cc_render_file(f->tpl, vars, n, len);
}

static void test_render_substitutes_variables(void **state)
{
	const struct cc_render_var vars[] = {
		{ "title", "Jobs" }, { "count", "42" }, { "t", "short" },
	};
	size_t len;
	char *out = render(*state, "<h1>{{title}}</h1>{{count}} {{title}}/{{t}}.",
			   vars, 3, &len);

	assert_non_null(out);
	assert_string_equal(out, "<h1>Jobs</h1>42 Jobs/short.");
	assert_int_equal(len, strlen(out));
	free(out);
}

static void test_render_escapes_html_in_values(void **state)
{
	const struct cc_render_var vars[] = {
		{ "v", "<script>alert(\"x\" + 'y')</script> & co" },
	};
	size_t len;
	char *out = render(*state, "<p title=\"{{v}}\">{{v}}</p>", vars, 1, &len);

	assert_non_null(out);
	assert_string_equal(out,
		"<p title=\"&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt; &amp; co\">"
		"&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt; &amp; co</p>");
	/* the template's own markup is not escaped */
	assert_non_null(strstr(out, "<p title="));
	free(out);
}

static void test_render_value_with_braces_is_not_expanded_again(void **state)
{
	const struct cc_render_var vars[] = { { "a", "{{b}}" }, { "b", "B" } };
	size_t len;
	char *out = render(*state, "[{{a}}][{{b}}]", vars, 2, &len);

	assert_non_null(out);
	assert_string_equal(out, "[{{b}}][B]");
	free(out);
}

static void test_render_missing_variable_renders_empty(void **state)
{
	const struct cc_render_var vars[] = { { "known", "K" } };
	size_t len;
	char *out = render(*state, "a{{unknown}}b{{known}}c{{}}d", vars, 1, &len);

	assert_non_null(out);
	assert_string_equal(out, "abKcd");
	assert_int_equal(len, 5);
	free(out);
	/* no variables at all */
	out = render(*state, "x{{y}}z", NULL, 0, &len);
	assert_non_null(out);
	assert_string_equal(out, "xz");
	free(out);
}

static void test_render_unclosed_placeholder_is_kept(void **state)
{
	const struct cc_render_var vars[] = { { "a", "A" } };
	size_t len;
	char *out = render(*state, "{{a}} and {{a", vars, 1, &len);

	assert_non_null(out);
	assert_string_equal(out, "A and {{a");
	free(out);
}

static void test_render_empty_template_is_empty_string(void **state)
{
	size_t len;
	char *out = render(*state, "", NULL, 0, &len);

	assert_non_null(out);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	free(out);
}

static void test_render_missing_file_is_null(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 32];
	size_t len = 77;

	snprintf(path, sizeof(path), "%s/no-such.html", f->root);
	assert_null(cc_render_file(path, NULL, 0, &len));
	/* a folder is not a template either */
	assert_null(cc_render_file(f->root, NULL, 0, &len));
}

static void test_render_shipped_template_renders(void **state)
{
	const char *path = CC_SOURCE_DIR "/templates/operations_center.html";
	const struct cc_render_var vars[] = { { "version", "9.9.9<b>" } };
	size_t len = 0;
	char *out;

	(void)state;
	if (access(path, R_OK) != 0)
		fail_msg("%s is not readable", path);
	out = cc_render_file(path, vars, 1, &len);
	assert_non_null(out);
	assert_true(len > 100);
	assert_int_equal(len, strlen(out));
	assert_non_null(strstr(out, "<html"));
	assert_null(strstr(out, "9.9.9<b>"));       /* never unescaped */
	free(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	static const struct CMUnitTest tests[] = {
		T(test_render_substitutes_variables),
		T(test_render_escapes_html_in_values),
		T(test_render_value_with_braces_is_not_expanded_again),
		T(test_render_missing_variable_renders_empty),
		T(test_render_unclosed_placeholder_is_kept),
		T(test_render_empty_template_is_empty_string),
		T(test_render_missing_file_is_null),
		T(test_render_shipped_template_renders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
