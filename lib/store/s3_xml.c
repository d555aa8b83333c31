/* s3_xml.c - reading S3's XML answers (see s3_xml.h): ListObjectsV2
 * listings, error answers and DeleteObjects results. Parsed with a few
 * string searches, not an XML library: S3 escapes every '<' inside text,
 * so a tag found by name is a tag. Text is decoded (the five entities,
 * character references, CDATA) into new strings; anything else an XML
 * parser would accept there is refused rather than guessed at. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/s3_xml.h"
#include "core/strbuf.h"

/* ---- XML text ------------------------------------------------------------- */

/* The text between <tag> and </tag>, searched in [p, end): start returned,
 * *stop set to the '<' of the closing tag. NULL if absent. */
static const char *xml_elem(const char *p, const char *end, const char *tag,
			    const char **stop)
{
	size_t tl = strlen(tag);

	for (; p + tl + 2 <= end; p++) {
		if (p[0] != '<' || strncmp(p + 1, tag, tl) || p[tl + 1] != '>')
			continue;
		const char *start = p + tl + 2;
		for (const char *q = start; q + tl + 3 <= end; q++) {
			if (q[0] == '<' && q[1] == '/' && !strncmp(q + 2, tag, tl) &&
			    q[tl + 2] == '>') {
				*stop = q;
				return start;
			}
		}
		return NULL;
	}
	return NULL;
}

static void utf8_put(struct cc_strbuf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		cc_strbuf_put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		cc_strbuf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		cc_strbuf_put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		cc_strbuf_put(b, u, 4);
	}
}

/* Text content [p, end) with the five entities, character references and
 * CDATA sections resolved, into a new string (*out, caller frees). */
static int xml_text(const char *p, const char *end, char **out)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	struct cc_strbuf b = { 0 };

	*out = NULL;
	cc_strbuf_put(&b, "", 0);
	while (p < end) {
		if (*p == '<' && end - p >= 9 && !strncmp(p, "<![CDATA[", 9)) {
			const char *q = p + 9;
			while (q + 3 <= end && strncmp(q, "]]>", 3))
				q++;
			if (q + 3 > end)
				goto bad;
			cc_strbuf_put(&b, p + 9, (size_t)(q - p - 9));
			p = q + 3;
		} else if (*p == '<') {
			goto bad;
		} else if (*p == '&') {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			size_t i, n;
			if (!semi || semi - p > 12)
				goto bad;
			n = (size_t)(semi - p);      /* "&...;" is n + 1 bytes */
			if (p[1] == '#') {
				int hx = p[2] == 'x' || p[2] == 'X';
				const char *d = p + 2 + hx;
				char *e;
				unsigned long cp;
				if (d == semi)
					goto bad;
				errno = 0;
				cp = strtoul(d, &e, hx ? 16 : 10);
				if (errno || e != semi || cp == 0 || cp > 0x10FFFF ||
				    (cp >= 0xD800 && cp <= 0xDFFF) || *d == '-' || *d == '+')
					goto bad;
				utf8_put(&b, cp);
			} else {
				for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
					if (strlen(ents[i].name) == n &&
					    !strncmp(p + 1, ents[i].name, n))
						break;
				if (i == sizeof(ents) / sizeof(ents[0]))
					goto bad;
				cc_strbuf_putc(&b, ents[i].c);
			}
			p = semi + 1;
		} else {
			cc_strbuf_putc(&b, *p++);
		}
	}
	if (b.oom)
		goto bad;
	*out = b.data;
	return 0;
bad:
	free(b.data);
	return -1;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In place: %XX to the byte, '+' to a space (S3's EncodingType url). */
static int url_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			int a = hexval((unsigned char)p[1]), b = a < 0 ? -1 :
				hexval((unsigned char)p[2]);
			if (b < 0 || (a == 0 && b == 0))
				return -1;
			*o++ = (char)(a * 16 + b);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

/* ---- the answers ---------------------------------------------------------- */

void cc_s3_xml_list_cleanup(struct cc_s3_xml_list *list)
{
	for (size_t i = 0; i < list->nkeys; i++)
		free(list->keys[i]);
	free(list->keys);
	free(list->next_token);
	memset(list, 0, sizeof(*list));
}

int cc_s3_xml_list_parse(const char *xml, size_t len,
			 struct cc_s3_xml_list *out, struct cc_err *err)
{
	const char *end = xml + len, *p = xml, *s, *stop;
	char *text = NULL;
	int urlenc = 0;

	memset(out, 0, sizeof(*out));
	if (!memmem(xml, len, "<ListBucketResult", 17))
		return cc_err_set(err, CC_ERR_UPSTREAM, "S3 answer is not a ListBucketResult");
	if ((s = xml_elem(xml, end, "EncodingType", &stop))) {
		if (xml_text(s, stop, &text) < 0)
			goto bad;
		urlenc = !strcmp(text, "url");
		free(text);
	}
	if ((s = xml_elem(xml, end, "IsTruncated", &stop)))
		out->truncated = stop - s == 4 && !strncmp(s, "true", 4);
	if ((s = xml_elem(xml, end, "NextContinuationToken", &stop)) &&
	    xml_text(s, stop, &out->next_token) < 0)
		goto bad;
	while ((s = xml_elem(p, end, "Contents", &stop))) {
		const char *c_end = stop, *k, *k_end;
		char **keys;
		p = stop + 11;                   /* past "</Contents>" */
		if (!(k = xml_elem(s, c_end, "Key", &k_end)))
			continue;
		if (xml_text(k, k_end, &text) < 0 || (urlenc && url_decode(text) < 0))
			goto bad;
		keys = realloc(out->keys, (out->nkeys + 1) * sizeof(*keys));
		if (!keys)
			goto bad;
		out->keys = keys;
		out->keys[out->nkeys++] = text;
		text = NULL;
	}
	return 0;
bad:
	free(text);
	return cc_err_set(err, CC_ERR_UPSTREAM, "S3 ListObjectsV2 answer: bad or unreadable "
			  "XML (or out of memory)");
}

void cc_s3_xml_error_fields(const char *body, size_t len, char *code,
			    size_t cl, char *msg, size_t ml)
{
	const char *end = body + len, *s, *stop;
	char *t;

	code[0] = msg[0] = '\0';
	if ((s = xml_elem(body, end, "Code", &stop)) && xml_text(s, stop, &t) == 0) {
		snprintf(code, cl, "%s", t);
		free(t);
	}
	if ((s = xml_elem(body, end, "Message", &stop)) && xml_text(s, stop, &t) == 0) {
		snprintf(msg, ml, "%s", t);
		free(t);
	}
}

int cc_s3_xml_delete_error(const char *xml, size_t len, char *code, size_t cl,
			   char *msg, size_t ml, char **key)
{
	const char *e, *stop, *ks, *kstop;

	*key = NULL;
	if (!(e = xml_elem(xml, xml + len, "Error", &stop)))
		return 0;
	cc_s3_xml_error_fields(e, (size_t)(stop - e), code, cl, msg, ml);
	if ((ks = xml_elem(e, stop, "Key", &kstop)))
		xml_text(ks, kstop, key);
	return 1;
}
