/* blacklist.c - see blacklist.h. */
#include <mysqld_error.h>
#include "model/action.h"
#include "model/blacklist.h"
#include "core/log.h"

/* A record as it is read: its columns, declared once. */
struct record {
	long long id;
	char action[CC_ACTION_NAME_MAX + 1];
	char created_at[32];  /* ISO-8601 UTC, milliseconds */
};

static const struct cc_dbcol RECORD_COLS[] = {
	CC_COL(struct record, id, CC_COL_I64),
	CC_COL_CHARBUF(struct record, action),
	CC_COL_CHARBUF(struct record, created_at),
};
static const struct cc_dbrow RECORD = CC_DBROW(struct record, RECORD_COLS);

#define RECORD_SELECT "SELECT id, action, CONCAT(DATE_FORMAT(created_at," \
	" '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(created_at) / 1000)," \
	" 3, '0'), 'Z') AS created_at FROM black_listed_actions"

static const char SQL_INSERT[] =
	"INSERT INTO black_listed_actions (action, created_at, updated_at)"
	" VALUES (?, NOW(6), NOW(6))";
static const char SQL_FIND[] =
	RECORD_SELECT " WHERE action = ?";
static const char SQL_LIST[] =
	RECORD_SELECT " ORDER BY id";
static const char SQL_DELETE[] =
	"DELETE FROM black_listed_actions WHERE id = ?";

static json_t *record_json(const struct record *r)
{
	return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id,
			 "action", r->action, "created_at", r->created_at);
}

static json_t *find(struct cc_db *db, const char *action, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(action) };
	struct record r;
	json_t *o = NULL;
	int k = cc_db_select_one(db, SQL_FIND, p, 1, &RECORD, &r, err);

	if (k > 0 && !(o = record_json(&r)))
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	return o;
}

json_t *cc_blacklist_add(struct cc_db *db, const char *action, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(action) };

	if (!cc_action_name_valid(action)) {
		cc_err_set(err, CC_ERR_BAD_REQUEST, "action names must be snake_case: [a-z0-9_]+, "
			   "at most %d characters", CC_ACTION_NAME_MAX);
		return NULL;
	}
	if (cc_db_exec(db, SQL_INSERT, p, 1, NULL, NULL, err) < 0) {
		if (cc_err_is_cause(err, CC_CAUSE_MYSQL, ER_DUP_ENTRY))
			cc_err_set(err, CC_ERR_CONFLICT, "action '%s' is already blacklisted", action);
		return NULL;
	}
	cc_info("blacklisted action %s", action);
	cc_err_clear(err);
	return find(db, action, err);
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
		if (json_array_append_new(arr, record_json(&r[i]))) {
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
	cc_err_clear(err);
	*rec = find(db, action, err);
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
