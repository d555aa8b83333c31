/* blacklist.c - see blacklist.h. */
#include <mysqld_error.h>
#include "model/action.h"
#include "model/blacklist.h"
#include "core/log.h"

#define RECORD_COLS "id, action, CONCAT(DATE_FORMAT(created_at," \
	" '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(created_at) / 1000)," \
	" 3, '0'), 'Z')"

static const char SQL_INSERT[] =
	"INSERT INTO black_listed_actions (action, created_at, updated_at)"
	" VALUES (?, NOW(6), NOW(6))";
static const char SQL_FIND[] =
	"SELECT " RECORD_COLS " FROM black_listed_actions WHERE action = ?";
static const char SQL_LIST[] =
	"SELECT " RECORD_COLS " FROM black_listed_actions ORDER BY id";
static const char SQL_DELETE[] =
	"DELETE FROM black_listed_actions WHERE id = ?";

static json_t *record(const struct cc_db_rows *r, size_t i)
{
	return json_pack("{s:I, s:s, s:s}",
			 "id", (json_int_t)cc_db_cell_int(r, i, 0),
			 "action", cc_db_cell(r, i, 1),
			 "created_at", cc_db_cell(r, i, 2));
}

static json_t *find(struct cc_db *db, const char *action, struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBS(action) };
	struct cc_db_rows r;
	json_t *o = NULL;

	if (cc_db_query(db, SQL_FIND, p, 1, &r, err) < 0)
		return NULL;
	if (r.nrows && !(o = record(&r, 0)))
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	cc_db_rows_free(&r);
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
	struct cc_db_rows r;
	json_t *arr;

	if (cc_db_query(db, SQL_LIST, NULL, 0, &r, err) < 0)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < r.nrows; i++)
		if (json_array_append_new(arr, record(&r, i))) {
			json_decref(arr);
			arr = NULL;
		}
	cc_db_rows_free(&r);
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
