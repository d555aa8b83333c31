/* blacklist.h - the black_listed_actions table: actions never dispatched
 * while listed. Records render as {id, action, created_at}. */
#ifndef CC_BLACKLIST_H
#define CC_BLACKLIST_H

#include <jansson.h>
#include "core/db.h"
#include "core/err.h"

/* cc_blacklist_add - list action; the new record as JSON (new ref) or NULL
 * with err's kind bad request (invalid name), conflict (already listed) or
 * another. */
json_t *cc_blacklist_add(struct cc_db *db, const char *action, struct cc_err *err);

/* cc_blacklist_list - every record, oldest first. New ref or NULL. */
json_t *cc_blacklist_list(struct cc_db *db, struct cc_err *err);

/* cc_blacklist_remove - unlist action; *record gets the removed record (new
 * ref). 1 removed, 0 not listed, -1 error. */
int cc_blacklist_remove(struct cc_db *db, const char *action, json_t **record,
			struct cc_err *err);

#endif
