/* callback.c - see callback.h. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "central/callback.h"
#include "core/form.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "core/version.h"
#include "model/job.h"

static const char SQL_DUE[] =
	"SELECT id, callback_url FROM jobs WHERE callback_at <= NOW(6)"
	" ORDER BY callback_at LIMIT ?";
/* Claim: push the next try past this delivery's deadline, so nobody else
 * takes it while it is in flight. */
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

struct delivery {
	CURL *easy;
	long long job_id;
	long long attempt;
	char *url;
	char *body;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

struct cc_callbacks {
	const struct cc_config *cfg;
	CURLM *multi;
	struct delivery slot[CC_CALLBACK_PARALLEL];
	int busy;
};

struct cc_callbacks *cc_callbacks_new(const struct cc_config *cfg)
{
	struct cc_callbacks *cb = calloc(1, sizeof(*cb));

	if (!cb)
		return NULL;
	cb->cfg = cfg;
	cb->multi = curl_multi_init();
	if (!cb->multi) {
		free(cb);
		return NULL;
	}
	return cb;
}

static void slot_clear(struct cc_callbacks *cb, struct delivery *d)
{
	if (d->easy) {
		curl_multi_remove_handle(cb->multi, d->easy);
		curl_easy_cleanup(d->easy);
		cb->busy--;
	}
	curl_slist_free_all(d->headers);
	free(d->url);
	free(d->body);
	memset(d, 0, sizeof(*d));
}

void cc_callbacks_free(struct cc_callbacks *cb)
{
	if (!cb)
		return;
	for (int i = 0; i < CC_CALLBACK_PARALLEL; i++)
		slot_clear(cb, &cb->slot[i]);
	curl_multi_cleanup(cb->multi);
	free(cb);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;      /* the receiver's body is not kept */
}

/* The request for a claimed job: body job=<JSON>, the delivery header. */
static int prepare(struct cc_callbacks *cb, struct delivery *d,
		   struct cc_db *db, struct cc_err *err)
{
	struct cc_job job;
	struct cc_strbuf b = { 0 };
	char header[160];
	char *json = NULL;
	json_t *o;
	int found = cc_job_find(db, d->job_id, &job, err);

	if (found <= 0)
		return found;       /* deleted meanwhile: nothing to send */
	o = cc_job_to_json(&job);
	json = o ? json_dumps(o, CC_JSON_FLAGS) : NULL;
	json_decref(o);
	snprintf(header, sizeof(header), "X-CloudCrowd-Delivery: %lld:%s:%.6f",
		 job.id, job.created_at, job.time < 0 ? 0 : job.time);
	cc_job_cleanup(&job);
	if (json)
		cc_form_add(&b, "job", json);
	free(json);
	d->headers = curl_slist_append(NULL,
		"Content-Type: application/x-www-form-urlencoded");
	if (d->headers)
		d->headers = curl_slist_append(d->headers, header);
	if (d->headers)
		d->headers = curl_slist_append(d->headers, "Expect:");
	d->easy = curl_easy_init();
	if (!json || b.oom || !d->headers || !d->easy) {
		cc_strbuf_free(&b);
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	}
	d->body = b.data;
	curl_easy_setopt(d->easy, CURLOPT_URL, d->url);
	curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->easy, CURLOPT_USERAGENT, CC_USER_AGENT);
	curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT, (long)cb->cfg->connect_timeout);
	curl_easy_setopt(d->easy, CURLOPT_TIMEOUT, (long)cb->cfg->server_timeout);
	curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
	if (curl_multi_add_handle(cb->multi, d->easy) != CURLM_OK) {
		curl_easy_cleanup(d->easy);
		d->easy = NULL;
		return cc_err_set(err, CC_ERR_INTERNAL, "curl_multi_add_handle failed");
	}
	cb->busy++;
	return 1;
}

int cc_callbacks_start_due(struct cc_callbacks *cb, struct cc_db *db,
			   struct cc_err *err)
{
	const struct cc_config *cfg = cb->cfg;
	int room = CC_CALLBACK_PARALLEL - cb->busy, started = 0, rc = 0;
	struct cc_dbv lim[] = { CC_DBI(room) };
	struct cc_job *due;
	size_t n;

	if (room <= 0)
		return 0;
	if (cc_db_select(db, SQL_DUE, lim, 1, &cc_job_row, &due, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* The claim outlasts the delivery: connect + transfer + a minute. */
		struct cc_dbv p[] = { CC_DBI(cfg->connect_timeout + cfg->server_timeout + 60),
				      CC_DBI(due[i].id) };
		struct cc_dbv q[] = { CC_DBI(due[i].id) };
		unsigned long long claimed = 0;
		struct delivery *d = NULL;
		int found, k;

		if (cc_db_exec(db, SQL_CLAIM, p, 2, &claimed, NULL, err) < 0) {
			rc = -1;
			break;
		}
		if (!claimed)
			continue;          /* another dispatcher took it */
		for (int j = 0; j < CC_CALLBACK_PARALLEL && !d; j++)
			if (!cb->slot[j].easy)
				d = &cb->slot[j];
		if (!d)
			break;             /* cannot happen: room was counted */
		d->job_id = due[i].id;
		d->url = strdup(due[i].callback_url ? due[i].callback_url : "");
		if (!d->url ||
		    cc_db_query_int(db, SQL_ATTEMPTS, q, 1, &d->attempt, &found, err) < 0) {
			slot_clear(cb, d);
			rc = -1;
			break;
		}
		k = prepare(cb, d, db, err);
		if (k <= 0) {
			slot_clear(cb, d);
			if (k < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		cc_info("job %lld: delivering its callback to %s (attempt %lld of %d)",
			d->job_id, d->url, d->attempt, cfg->callback_retries);
		started++;
	}
	cc_db_rows_free(&cc_job_row, due, n);
	return rc < 0 ? -1 : started;
}

/* Record how a delivery ended. */
static int finish(struct cc_callbacks *cb, struct cc_db *db, struct delivery *d,
		  CURLcode code, struct cc_err *err)
{
	const struct cc_config *cfg = cb->cfg;
	struct cc_dbv q[] = { CC_DBI(d->job_id) };
	long status = 0;
	const char *why = code == CURLE_OK ? NULL :
		(d->errbuf[0] ? d->errbuf : curl_easy_strerror(code));

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!why && status == 201) {
		cc_info("job %lld: callback %s answered 201: deleting the job",
			d->job_id, d->url);
		return cc_job_delete(db, cfg, d->job_id, err) < 0 ? -1 : 0;
	}
	if (!why && status >= 200 && status < 300) {
		cc_info("job %lld: callback %s answered %ld", d->job_id, d->url, status);
		return cc_db_exec(db, SQL_DONE, q, 1, NULL, NULL, err);
	}
	if (d->attempt >= cfg->callback_retries) {
		if (why)
			cc_warn("job %lld: callback %s failed (%s), attempt %lld of %d: "
				"giving up", d->job_id, d->url, why, d->attempt,
				cfg->callback_retries);
		else
			cc_warn("job %lld: callback %s answered %ld, attempt %lld of %d: "
				"giving up", d->job_id, d->url, status, d->attempt,
				cfg->callback_retries);
		return cc_db_exec(db, SQL_DONE, q, 1, NULL, NULL, err);
	} else {
		long long delay = (long long)(cfg->retry_backoff ? cfg->retry_backoff : 1)
			<< (d->attempt < 16 ? d->attempt : 16);
		struct cc_dbv r[] = { CC_DBI(delay), CC_DBI(d->job_id) };

		if (why)
			cc_warn("job %lld: callback %s failed: %s; attempt %lld of %d, "
				"retrying in %lld s", d->job_id, d->url, why, d->attempt,
				cfg->callback_retries, delay);
		else
			cc_warn("job %lld: callback %s answered %ld, attempt %lld of %d; "
				"retrying in %lld s", d->job_id, d->url, status, d->attempt,
				cfg->callback_retries, delay);
		return cc_db_exec(db, SQL_RETRY, r, 2, NULL, NULL, err);
	}
}

int cc_callbacks_wait(struct cc_callbacks *cb, struct cc_db *db,
		      const int *fds, int nfds, int wait_ms, struct cc_err *err)
{
	struct curl_waitfd extra[4];
	CURLMsg *m;
	int running = 0, left, rc = 0, n = 0;

	for (int i = 0; i < nfds && n < 4; i++)
		if (fds[i] >= 0)
			extra[n++] = (struct curl_waitfd){ .fd = fds[i],
							   .events = CURL_WAIT_POLLIN };
	curl_multi_perform(cb->multi, &running);
	if (running || n)
		curl_multi_poll(cb->multi, n ? extra : NULL, (unsigned)n, wait_ms, NULL);
	curl_multi_perform(cb->multi, &running);
	while ((m = curl_multi_info_read(cb->multi, &left))) {
		struct delivery *d = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
		if (!d)
			continue;
		if (finish(cb, db, d, m->data.result, err) < 0)
			rc = -1;
		slot_clear(cb, d);
	}
	return rc < 0 ? -1 : cb->busy;
}

int cc_callback_deliver_due(struct cc_db *db, const struct cc_config *cfg,
			    int *delivered, struct cc_err *err)
{
	struct cc_callbacks *cb = cc_callbacks_new(cfg);
	int rc = 0, k;

	*delivered = 0;
	if (!cb)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	for (;;) {
		k = cc_callbacks_start_due(cb, db, err);
		if (k < 0) {
			rc = -1;
			break;
		}
		*delivered += k;
		if (!k && !cb->busy)
			break;
		if (cc_callbacks_wait(cb, db, NULL, 0, 1000, err) < 0)
			rc = -1;
	}
	cc_callbacks_free(cb);
	return rc;
}
