/* jsontext.h - is a text JSON, by the grammar alone? jansson 2.14 does not
 * always say when json_loads failed for lack of memory: a failed
 * allocation in a value constructor leaves the error unset, and one in its
 * lexer reads as "invalid token" or another syntax error. Code that falls
 * back on something else for text that is not JSON (the worker: an
 * action's output becomes a JSON string) must not take such a failure for
 * the text's fault; these tell the two apart without allocating. */
#ifndef CC_JSONTEXT_H
#define CC_JSONTEXT_H

#include <jansson.h>
#include <stddef.h>

/* cc_jsontext_valid - is text (len bytes) one JSON value with white space
 * around it, by RFC 8259's grammar as jansson applies it (its escapes,
 * surrogate escapes in pairs, nesting up to JSON_PARSER_MAX_DEPTH)? With
 * any 0, only an object or an array (json_loads without JSON_DECODE_ANY).
 * What jansson refuses in text valid by that grammar (an integer too big,
 * \u0000, bad UTF-8) it reports with a code of its own. */
int cc_jsontext_valid(const char *text, size_t len, int any);

/* cc_jsontext_load_failed_for_memory - json_loads or json_loadb failed on
 * text with error e (any: the flags had JSON_DECODE_ANY): was it for lack
 * of memory rather than the text's fault? 1 or 0. */
int cc_jsontext_load_failed_for_memory(const char *text, size_t len, int any,
				       const json_error_t *e);

#endif
