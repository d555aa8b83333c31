/* blacklist.c - see blacklist.h. "In force" is one SQL condition
 * (IN_FORCE), the same one dispatch uses (work_unit.c, SQL_RESERVE), so
 * correctness never waits for a lapsed row to be deleted. */
#include <errno.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include "model/action.h"
#include "model/blacklist.h"
#include "core/log.h"

/* A record as it is read: its columns, declared once. */
struct record {
	long long id;
	char action[CC_ACTION_NAME_MAX + 1];
	char created_at[32];  /* ISO-8601 UTC, milliseconds */
	char until[32];       /* the same, or "" when it never lapses */
};

static const struct cc_dbcol RECORD_COLS[] = {
	CC_COL(struct record, id, CC_COL_I64),
	CC_COL_CHARBUF(struct record, action),
	CC_COL_CHARBUF(struct record, created_at),
	CC_COL_CHARBUF(struct record, until),
};
static const struct cc_dbrow RECORD = CC_DBROW(struct record, RECORD_COLS);

#define ISO_MS(col) "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.'),"      \
	" LPAD(FLOOR(MICROSECOND(" col ") / 1000), 3, '0'), 'Z')"
#define RECORD_SELECT "SELECT id, action, " ISO_MS("created_at") " AS created_at," \
	" COALESCE(" ISO_MS("expires_at") ", '') AS until FROM black_listed_actions"
#define IN_FORCE "(expires_at IS NULL OR expires_at > NOW(6))"

static const char SQL_INSERT[] =
	"INSERT INTO black_listed_actions (action, created_at, updated_at, expires_at)"
	" VALUES (?, NOW(6), NOW(6), IF(? > 0, NOW(6) + INTERVAL ? SECOND, NULL))";
static const char SQL_BY_ID[] =
	RECORD_SELECT " WHERE id = ?";
static const char SQL_FIND[] =
	RECORD_SELECT " WHERE action = ? AND " IN_FORCE;
static const char SQL_LIST[] =
	RECORD_SELECT " WHERE " IN_FORCE " ORDER BY id";
static const char SQL_DELETE[] =
	"DELETE FROM black_listed_actions WHERE id = ?";
/* Lapsed rows: deleted before an add (so the action can be listed again)
 * and a remove. The table holds a handful of rows: no index needed. */
static const char SQL_PURGE[] =
	"DELETE FROM black_listed_actions WHERE expires_at <= NOW(6)";

/* record_json - r as JSON; "until" when r lapses, or always (null when
 * it does not) with all_keys. New ref or NULL. */
static json_t *record_json(const struct record *r, int all_keys)
{
	json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id,
			      "action", r->action, "created_at", r->created_at);

	if (o && (*r->until || all_keys) &&
	    json_object_set_new(o, "until", *r->until ? json_string(r->until) :
				json_null())) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static json_t *find(struct cc_db *db, const char *sql, struct cc_dbv p,
		    struct cc_err *err)
{
	struct record r;
	json_t *o = NULL;
	int k = cc_db_select_one(db, sql, &p, 1, &RECORD, &r, err);

	if (k > 0 && !(o = record_json(&r, 0)))
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return o;
}

int cc_blacklist_for_parse(const char *text, long long *seconds, struct cc_err *err)
{
	char *end;
	long long v;

	errno = 0;
	v = text && *text && strspn(text, "0123456789") == strlen(text) ?
	    strtoll(text, &end, 10) : -1;
	if (v < 1 || v > CC_BLACKLIST_FOR_MAX || errno == ERANGE)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "for must be a whole number "
				  "of seconds from 1 to %d (30 days)", CC_BLACKLIST_FOR_MAX);
	*seconds = v;
	return 0;
}

json_t *cc_blacklist_add(struct cc_db *db, const char *action, long long for_s,
			 struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(action), CC_DBI(for_s), CC_DBI(for_s) };
	unsigned long long id = 0;

	if (!cc_action_name_valid(action)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "action names must be snake_case: [a-z0-9_]+, "
			   "at most %d characters", CC_ACTION_NAME_MAX);
		return NULL;
	}
	if (for_s < 0 || for_s > CC_BLACKLIST_FOR_MAX) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "for must be a whole number of seconds "
			   "from 1 to %d (30 days)", CC_BLACKLIST_FOR_MAX);
		return NULL;
	}
	if (cc_db_exec(db, SQL_PURGE, NULL, 0, NULL, NULL, err) < 0)
		return NULL;
	if (cc_db_exec(db, SQL_INSERT, p, 3, NULL, &id, err) < 0) {
		if (cc_err_is_cause(err, CC_CAUSE_MYSQL, ER_DUP_ENTRY))
			cc_err_set(err, CC_ERR_CONFLICT, "action '%s' is already blacklisted", action);
		return NULL;
	}
	if (for_s)
		cc_info("blacklisted action %s for %lld s", action, for_s);
	else
		cc_info("blacklisted action %s", action);
	cc_err_clear(err);
	return find(db, SQL_BY_ID, CC_DBI(id), err);
}

json_t *cc_blacklist_list(struct cc_db *db, struct cc_err *err)
{
	struct record *r;
	size_t n;
	json_t *arr;

	if (cc_db_select(db, SQL_LIST, NULL, 0, &RECORD, &r, &n, err) < 0)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, record_json(&r[i], 1))) {
			json_decref(arr);
			arr = NULL;
		}
	cc_db_rows_free(&RECORD, r, n);
	if (!arr)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return arr;
}

int cc_blacklist_remove(struct cc_db *db, const char *action, json_t **rec,
			struct cc_err *err)
{
	struct cc_dbv p[1];

	*rec = NULL;
	if (!cc_action_name_valid(action))
		return 0;
	if (cc_db_exec(db, SQL_PURGE, NULL, 0, NULL, NULL, err) < 0)
		return -1;
	cc_err_clear(err);
	*rec = find(db, SQL_FIND, CC_DBS(action), err);
	if (!*rec)
		return err && err->kind ? -1 : 0;
	p[0] = CC_DBI(json_integer_value(json_object_get(*rec, "id")));
	if (cc_db_exec(db, SQL_DELETE, p, 1, NULL, NULL, err) < 0) {
		json_decref(*rec);
		*rec = NULL;
		return -1;
	}
	cc_info("removed action %s from the blacklist", action);
	return 1;
}
