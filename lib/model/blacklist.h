/* blacklist.h - the black_listed_actions table: actions never dispatched
 * while listed. An entry may lapse by itself (expires_at, set from the
 * `for` seconds of POST /blacklist): past it, it counts as not listed
 * everywhere, dispatch included, whether or not its row is gone yet
 * (rows that lapsed are deleted lazily, by the next add or remove).
 * Records render as {id, action, created_at}, plus "until" (ISO-8601 UTC,
 * milliseconds) when the entry lapses; a listing's records always carry
 * "until", null for an entry that stays until removed. (A record without
 * an expiry keeps the Ruby server's exact keys.) */
#ifndef CC_BLACKLIST_H
#define CC_BLACKLIST_H

#include <jansson.h>
#include "core/db.h"
#include "core/err.h"

/* The longest `for`: 30 days, in seconds. */
#define CC_BLACKLIST_FOR_MAX 2592000

/* cc_blacklist_for_parse - text as a `for` duration: whole seconds, digits
 * only (no sign, space or fraction), 1 to CC_BLACKLIST_FOR_MAX. 0 with
 * *seconds set, or -1 with err (bad request) saying what is expected. */
int cc_blacklist_for_parse(const char *text, long long *seconds, struct cc_err *err);

/* cc_blacklist_add - list action, for for_s seconds (0: until removed);
 * the new record as JSON (new ref) or NULL with err's kind bad request
 * (invalid name, for_s out of range), conflict (listed, and not lapsed) or
 * another. On failure nothing changed (but a lapsed entry may be gone). */
json_t *cc_blacklist_add(struct cc_db *db, const char *action, long long for_s,
			 struct cc_err *err);

/* cc_blacklist_list - every entry in force, oldest first, each with its
 * "until". New ref or NULL. */
json_t *cc_blacklist_list(struct cc_db *db, struct cc_err *err);

/* cc_blacklist_remove - unlist action; *record gets the removed record (new
 * ref). 1 removed, 0 not listed (or lapsed already), -1 error. */
int cc_blacklist_remove(struct cc_db *db, const char *action, json_t **record,
			struct cc_err *err);

#endif
