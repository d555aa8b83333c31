/* callback.c - see callback.h. */
#include <stdlib.h>
#include <string.h>
#include "central/callback.h"
#include "core/form.h"
#include "model/job.h"
#include "core/log.h"

static const char SQL_DUE[] =
	"SELECT id, callback_url FROM jobs WHERE callback_at <= NOW(6)"
	" ORDER BY callback_at LIMIT 20";
/* Claim: push the next try far enough out that nobody else takes it while
 * we deliver. */
static const char SQL_CLAIM[] =
	"UPDATE jobs SET callback_at = NOW(6) + INTERVAL ? SECOND,"
	" callback_attempts = callback_attempts + 1"
	" WHERE id = ? AND callback_at <= NOW(6)";
static const char SQL_ATTEMPTS[] =
	"SELECT callback_attempts FROM jobs WHERE id = ?";
static const char SQL_DONE[] =
	"UPDATE jobs SET callback_at = NULL WHERE id = ?";
static const char SQL_RETRY[] =
	"UPDATE jobs SET callback_at = NOW(6) + INTERVAL ? SECOND WHERE id = ?";

static int deliver(struct cc_db *db, const struct cc_config *cfg,
		   struct cc_http *http, long long id, const char *url,
		   struct cc_err *err)
{
	struct cc_dbv p[] = { CC_DBI(cfg->server_timeout + 60), CC_DBI(id) };
	struct cc_dbv q[] = { CC_DBI(id) };
	struct cc_http_resp resp = { 0 };
	struct cc_strbuf b = { 0 };
	struct cc_err herr;
	unsigned long long claimed = 0;
	long long attempts = 0;
	char *json = NULL;
	int found, rc = -1, sent;

	if (cc_db_exec(db, SQL_CLAIM, p, 2, &claimed, NULL, err) < 0)
		return -1;
	if (!claimed)
		return 0;
	if (cc_db_query_int(db, SQL_ATTEMPTS, q, 1, &attempts, &found, err) < 0)
		return -1;
	if (cc_job_json_text(db, id, &json, err) <= 0)
		return -1;
	cc_form_add(&b, "job", json);
	cc_http_set_auth(http, 0);
	sent = b.oom ? -1 : cc_http_request(http, "POST", url, b.data,
					     cfg->server_timeout, &resp, &herr);
	if (b.oom)
		cc_err_set(&herr, CC_ERR_INTERNAL, "out of memory");
	if (sent == 0 && resp.status == 201) {
		cc_info("job %lld: callback %s answered 201: deleting the job", id, url);
		rc = cc_job_delete(db, cfg, id, err) < 0 ? -1 : 1;
	} else if (sent == 0 && resp.status >= 200 && resp.status < 300) {
		cc_info("job %lld: callback %s answered %ld", id, url, resp.status);
		rc = cc_db_exec(db, SQL_DONE, q, 1, NULL, NULL, err) < 0 ? -1 : 1;
	} else if (attempts >= cfg->callback_retries) {
		cc_warn("job %lld: callback %s failed (%s), attempt %lld of %d: "
			"giving up", id, url, sent ? herr.msg : "bad status",
			attempts, cfg->callback_retries);
		rc = cc_db_exec(db, SQL_DONE, q, 1, NULL, NULL, err) < 0 ? -1 : 1;
	} else {
		long long delay = (long long)(cfg->retry_backoff ? cfg->retry_backoff : 1)
			<< (attempts < 16 ? attempts : 16);
		struct cc_dbv r[] = { CC_DBI(delay), CC_DBI(id) };
		if (sent == 0)
			cc_warn("job %lld: callback %s answered %ld, attempt %lld of %d; "
				"retrying in %lld s", id, url, resp.status, attempts,
				cfg->callback_retries, delay);
		else
			cc_warn("job %lld: callback %s failed: %s; attempt %lld of %d, "
				"retrying in %lld s", id, url, herr.msg, attempts,
				cfg->callback_retries, delay);
		rc = cc_db_exec(db, SQL_RETRY, r, 2, NULL, NULL, err) < 0 ? -1 : 1;
	}
	cc_http_resp_cleanup(&resp);
	cc_strbuf_free(&b);
	free(json);
	return rc;
}

int cc_callback_deliver_due(struct cc_db *db, const struct cc_config *cfg,
			    struct cc_http *http, int *delivered,
			    struct cc_err *err)
{
	struct cc_job *due;
	size_t n;
	int rc = 0;

	*delivered = 0;
	if (cc_db_select(db, SQL_DUE, NULL, 0, &cc_job_row, &due, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = deliver(db, cfg, http, due[i].id, due[i].callback_url, err);
		if (k < 0) {
			rc = -1;
			break;
		}
		*delivered += k;
	}
	cc_db_rows_free(&cc_job_row, due, n);
	return rc;
}
