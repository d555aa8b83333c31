/* jsontext.c - see jsontext.h. A recursive descent over the bytes that
 * only says yes or no: no values are built, nothing is allocated. */
#include <string.h>
#include "core/jsontext.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

struct scan {
	const unsigned char *p, *end;
};

static int peek(const struct scan *s)
{
	return s->p < s->end ? *s->p : -1;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int digits(struct scan *s)
{
	const unsigned char *a = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > a;
}

static int hex4(struct scan *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = s->p < s->end ? hexval(*s->p) : -1;

		if (h < 0)
			return 0;
		*v = *v << 4 | (unsigned)h;
		s->p++;
	}
	return 1;
}

static int scan_string(struct scan *s)
{
	unsigned v, w;
	int c;

	s->p++;                         /* the opening quote */
	for (;;) {
		c = peek(s);
		if (c < 0x20)           /* a control character, or the end */
			return 0;
		s->p++;
		if (c == '"')
			return 1;
		if (c != '\\')
			continue;
		c = peek(s);
		if (c <= 0)
			return 0;
		s->p++;
		if (c != 'u') {
			if (!strchr("\"\\/bfnrt", c))
				return 0;
			continue;
		}
		if (!hex4(s, &v) || (v >= 0xDC00 && v <= 0xDFFF))
			return 0;
		if (v < 0xD800 || v > 0xDBFF)
			continue;
		if (peek(s) != '\\')
			return 0;
		s->p++;
		if (peek(s) != 'u')
			return 0;
		s->p++;
		if (!hex4(s, &w) || w < 0xDC00 || w > 0xDFFF)
			return 0;
	}
}

static int scan_number(struct scan *s)
{
	if (peek(s) == '-')
		s->p++;
	if (peek(s) == '0')
		s->p++;
	else if (!digits(s))
		return 0;
	if (peek(s) == '.') {
		s->p++;
		if (!digits(s))
			return 0;
	}
	if (peek(s) == 'e' || peek(s) == 'E') {
		s->p++;
		if (peek(s) == '+' || peek(s) == '-')
			s->p++;
		if (!digits(s))
			return 0;
	}
	return 1;
}

static int scan_word(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return 0;
	s->p += n;
	return 1;
}

static int scan_value(struct scan *s, int depth)
{
	int c, close;

	skip_ws(s);
	c = peek(s);
	if (depth > JSON_PARSER_MAX_DEPTH)
		return 0;
	switch (c) {
	case '"':
		return scan_string(s);
	case 't':
		return scan_word(s, "true");
	case 'f':
		return scan_word(s, "false");
	case 'n':
		return scan_word(s, "null");
	case '[':
	case '{':
		close = c == '[' ? ']' : '}';
		s->p++;
		skip_ws(s);
		if (peek(s) == close) {
			s->p++;
			return 1;
		}
		for (;;) {
			if (close == '}') {
				skip_ws(s);
				if (peek(s) != '"' || !scan_string(s))
					return 0;
				skip_ws(s);
				if (peek(s) != ':')
					return 0;
				s->p++;
			}
			if (!scan_value(s, depth + 1))
				return 0;
			skip_ws(s);
			c = peek(s);
			if (c != close && c != ',')
				return 0;
			s->p++;
			if (c == close)
				return 1;
		}
	default:
		return scan_number(s);
	}
}

int cc_jsontext_valid(const char *text, size_t len, int any)
{
	struct scan s = { (const unsigned char *)text,
			  (const unsigned char *)text + len };

	skip_ws(&s);
	if (!any && peek(&s) != '[' && peek(&s) != '{')
		return 0;
	if (!scan_value(&s, 1))
		return 0;
	skip_ws(&s);
	return s.p == s.end;
}

int cc_jsontext_load_failed_for_memory(const char *text, size_t len, int any,
				       const json_error_t *e)
{
	if (!e->text[0])
		return 1;       /* no error set: a constructor got no memory */
	switch (json_error_code(e)) {
	case json_error_out_of_memory:
		return 1;
	case json_error_unknown:
	case json_error_invalid_syntax:
	case json_error_premature_end_of_input:
	case json_error_end_of_input_expected:
		return cc_jsontext_valid(text, len, any);
	default:
		return 0;
	}
}
