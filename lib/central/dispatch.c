/* dispatch.c - see dispatch.h. */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "central/dispatch.h"
#include "central/lifecycle.h"
#include "core/clock.h"
#include "core/form.h"
#include "core/log.h"
#include "core/version.h"
#include "model/node_record.h"
#include "model/work_unit.h"

struct send {
	CURL *easy;
	int unit;              /* index into the reserved units */
	int node;              /* index into the nodes */
	char *body;
	struct cc_strbuf resp;     /* the node's answer, 4 KB at most */
	char errbuf[CURL_ERROR_SIZE];
};

struct cc_dispatcher {
	const struct cc_config *cfg;
	CURLM *multi;
	CURL *pool[CC_RESERVATION_LIMIT];   /* reused easy handles, made lazily */
	struct curl_slist *headers;
	double last_release;       /* monotonic s of the last sweep of expired
				    * reservations */
};

/* Seconds a reservation outlives the node_timeout of its sends. */
#define RESERVATION_MARGIN 10

struct cc_dispatcher *cc_dispatcher_new(const struct cc_config *cfg)
{
	struct cc_dispatcher *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = cfg;
	d->multi = curl_multi_init();
	d->headers = curl_slist_append(NULL,
		"Content-Type: application/x-www-form-urlencoded");
	if (d->headers)
		d->headers = curl_slist_append(d->headers, "Expect:");
	/* Easy handles are made on first use: a pass usually sends one unit,
	 * or a few, and each handle carries its own buffers. */
	if (!d->multi || !d->headers) {
		cc_dispatcher_free(d);
		return NULL;
	}
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, 64L);
	return d;
}

void cc_dispatcher_free(struct cc_dispatcher *d)
{
	if (!d)
		return;
	for (int i = 0; i < CC_RESERVATION_LIMIT; i++)
		if (d->pool[i])
			curl_easy_cleanup(d->pool[i]);
	if (d->multi)
		curl_multi_cleanup(d->multi);
	curl_slist_free_all(d->headers);
	free(d);
}

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct send *s = user;
	size_t add = size * n;

	if (s->resp.len + add > 4096)
		return 0;
	cc_strbuf_put(&s->resp, p, add);
	return s->resp.oom ? 0 : add;
}

/* Pick a node for a unit: round-robin from *next, with capacity and the
 * action; a retried unit prefers a node other than the one it failed on,
 * and is never a benched node's probe (a send that gets no answer spends
 * an attempt: only a unit that has not failed yet is risked on a node
 * known to hang). */
static int pick(struct cc_node *nodes, int n, int *next,
		const struct cc_reserved_unit *u)
{
	int fallback = -1;

	for (int k = 0; k < n; k++) {
		int i = (*next + k) % n;
		if (nodes[i].capacity <= 0 || !cc_node_can_run(&nodes[i], u->action) ||
		    (nodes[i].bench_s > 0 && u->attempts > 0))
			continue;
		if (u->attempts > 0 && nodes[i].id == u->last_node_id) {
			if (fallback < 0)
				fallback = i;
			continue;
		}
		*next = (i + 1) % n;
		return i;
	}
	if (fallback >= 0)
		*next = (fallback + 1) % n;
	return fallback;
}

static void prepare(struct cc_dispatcher *d, struct send *s, CURL *easy,
		    const char *host)
{
	char url[CC_STR_LEN + 16];

	snprintf(url, sizeof(url), "http://%s/work", host);
	s->easy = easy;
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, CC_USER_AGENT);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, (long)d->cfg->connect_timeout);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)d->cfg->node_timeout);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, s->errbuf);
	if (d->cfg->http_authentication) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, cc_config_node_login(d->cfg));
		curl_easy_setopt(easy, CURLOPT_PASSWORD, cc_config_node_password(d->cfg));
	}
}

static void run_multi(struct cc_dispatcher *d)
{
	int running = 1;

	while (running) {
		if (curl_multi_perform(d->multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
	}
}

static long long parse_pid(const char *body)
{
	json_t *o = body ? json_loads(body, 0, NULL) : NULL;
	json_t *p = json_is_object(o) ? json_object_get(o, "pid") : NULL;
	long long pid = json_is_integer(p) ? json_integer_value(p) : -1;

	json_decref(o);
	return pid;
}

/* Give a claimed unit back (its send failed); a failure is only logged:
 * the reservation's deadline releases it anyway. */
static void unclaim(struct cc_db *db, const struct cc_reserved_unit *u,
		    int reservation, const struct cc_node *node)
{
	struct cc_err e2 = { 0 };

	if (cc_work_unit_unclaim(db, u->id, reservation, node->id, &e2) < 0)
		cc_warn("unit %lld: giving back its slot on %s: %s (its "
			"reservation's deadline will)", u->id, node->host, e2.msg);
}

/* attempt_failed - a send's attempt fails with why as its output, as
 * central's own report (the unit's token): a node refused the unit (HTTP
 * 4xx), or took the connection and never answered (it may be running the
 * unit: the attempt is spent either way, so no unit is sent more than
 * work_unit_retries times for any cause). -1 on a database failure. */
static int attempt_failed(struct cc_db *db, const struct cc_config *cfg,
			  const struct cc_reserved_unit *u, const char *why,
			  struct cc_err *err)
{
	json_t *o;
	char *out;
	struct cc_unit_report rep = { .unit_id = u->id, .token = u->token,
				      .lease_expired = 1, .succeeded = 0 };
	struct cc_finish f;
	int rc;

	o = json_pack("{s:s}", "output", why);
	out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!out)
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	rep.output = out;
	rc = cc_lifecycle_finish(db, cfg, &rep, &f, err);
	free(out);
	return rc;
}

/* One round: returns 1 to go on (every unit went out, nodes remain), 0 to
 * stop, -1 on a database failure. */
static int round_once(struct cc_dispatcher *d, struct cc_db *db,
		      struct cc_dispatch_stats *st, struct cc_err *err)
{
	const struct cc_config *cfg = d->cfg;
	struct cc_node *nodes = NULL;
	struct cc_reserved_unit *units = NULL;
	struct send sends[CC_RESERVATION_LIMIT];
	char *actions = NULL;
	int nn, nu = 0, ns = 0, next = 0, reservation = 0, rc = -1, unsent = 0;
	int limit, loose = 0;
	int lease = (cfg->action_timeout ? cfg->action_timeout : 86400) + cfg->lease_grace;
	/* A round's sends end within node_timeout (curl's total, connect
	 * included); the margin covers the statements around them. */
	int deadline = cfg->node_timeout + RESERVATION_MARGIN;
	int *dead = NULL;

	memset(sends, 0, sizeof(sends));
	nn = cc_node_list_available(db, cfg, &nodes, &actions, err);
	if (nn < 0)
		return -1;
	if (nn == 0 || !*actions) {
		rc = 0;
		goto out;
	}
	dead = calloc((size_t)nn, sizeof(*dead));
	if (!dead) {
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
		goto out;
	}
	/* Reserve no more than the nodes can take now: after a result there
	 * is usually one free slot, and reserving 25 to send 1 would cost a
	 * wide UPDATE and a cancel of 24 on every unit's pass. */
	{
		long spare = 0;
		for (int i = 0; i < nn && spare < CC_RESERVATION_LIMIT; i++)
			spare += nodes[i].capacity;
		limit = spare < CC_RESERVATION_LIMIT ? (int)spare : CC_RESERVATION_LIMIT;
	}
	nu = cc_work_unit_reserve_for(db, actions, limit, deadline, &reservation,
				      &units, err);
	if (nu <= 0) {
		rc = nu < 0 ? -1 : 0;
		goto out;
	}
	for (int i = 0; i < nu; i++) {
		struct cc_strbuf b = { 0 };
		int k, c = 0;

		/* Claim a slot before sending: the node's list entry is what
		 * it had when listed; the claim is what holds (another
		 * dispatcher may have taken the slot since: try another). */
		while ((k = pick(nodes, nn, &next, &units[i])) >= 0) {
			c = cc_work_unit_claim(db, units[i].id, reservation,
					       nodes[k].id, deadline, err);
			if (c < 0)
				goto out;
			if (c)
				break;
			nodes[k].capacity = 0;
		}
		if (k < 0) {
			unsent++;
			continue;
		}
		nodes[k].capacity--;
		cc_form_add(&b, "work_unit", units[i].payload);
		if (b.oom || (!d->pool[ns] && !(d->pool[ns] = curl_easy_init()))) {
			cc_strbuf_free(&b);
			unclaim(db, &units[i], reservation, &nodes[k]);
			unsent++;
			continue;
		}
		sends[ns].unit = i;
		sends[ns].node = k;
		sends[ns].body = b.data;
		prepare(d, &sends[ns], d->pool[ns], nodes[k].host);
		curl_multi_add_handle(d->multi, sends[ns].easy);
		ns++;
	}
	run_multi(d);
	for (int i = 0; i < ns; i++) {
		struct send *s = &sends[i];
		struct cc_reserved_unit *u = &units[s->unit];
		struct cc_node *node = &nodes[s->node];
		long status = 0;

		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 0 && !s->errbuf[0])
			snprintf(s->errbuf, sizeof(s->errbuf), "no response");
		if (status == 200) {
			long long pid = parse_pid(s->resp.data);
			int k;

			if (pid <= 0) {
				cc_warn("node %s answered POST /work without a pid: %.200s",
					node->host, s->resp.data ? s->resp.data : "");
				unclaim(db, u, reservation, node);
				unsent++;
				continue;
			}
			k = cc_work_unit_sent(db, u->id, reservation, node->id, pid,
					      lease, err);
			if (k < 0)
				goto out;
			/* not recorded: its result came first (and gave the
			 * slot back), or the node checked out, or the
			 * reservation passed its deadline */
			loose += !k;
			st->sent++;
			cc_info("unit %lld (%s, job %lld, attempt %d) -> %s pid %lld%s",
				u->id, u->action, u->job_id, u->attempts, node->host,
				pid, k ? "" : " (already finished or released)");
			continue;
		}
		/* not taken: the unit is available again, its slot free */
		unclaim(db, u, reservation, node);
		unsent++;
		if (status == 503 && s->resp.data && !strncmp(s->resp.data, "Node Full", 9)) {
			/* The node counts differently (another central, units
			 * it still finishes): none more for it in this round,
			 * but it is not overloaded. */
			st->refused++;
			node->capacity = 0;
		} else if (status == 503) {
			st->refused++;
			if (!dead[s->node]) {
				cc_info("node %s is overloaded (503): busy until it "
					"checks in", node->host);
				if (cc_node_mark_busy(db, node->id, err) < 0)
					goto out;
				dead[s->node] = 1;
			}
			node->capacity = 0;
		} else if (status == 0) {
			long sent = 0;

			/* Sent, but no answer: the node may have started it.
			 * Refused or unreachable (nothing sent): it never had
			 * it. (A reused connection has no connect time: the
			 * request's size tells.) */
			curl_easy_getinfo(s->easy, CURLINFO_REQUEST_SIZE, &sent);
			if (sent > 0) {
				char why[512];

				snprintf(why, sizeof(why), "node %s did not answer "
					 "POST /work within %d s (%.200s)", node->host,
					 cfg->node_timeout, s->errbuf);
				if (attempt_failed(db, cfg, u, why, err) < 0)
					goto out;
			}
			if (!dead[s->node]) {
				int was = node->bench_s;
				int len = was * 2 < CC_BENCH_MIN_S ? CC_BENCH_MIN_S :
					  was * 2 > CC_BENCH_MAX_S ? CC_BENCH_MAX_S : was * 2;

				cc_warn("node %s did not answer POST /work (%s): benched "
					"for %d s, then probed with one unit; its units "
					"keep their leases", node->host, s->errbuf, len);
				if (cc_node_bench(db, node->id, err) < 0)
					goto out;
				dead[s->node] = 1;
				st->unreachable++;
			}
			node->capacity = 0;
		} else if (status == 400 || status == 413 || status == 414 ||
			   status == 422 || status == 431) {
			/* The node refuses the unit itself (too large, not
			 * valid for it): the attempt fails with the node's
			 * reason, so such a unit is sent at most
			 * work_unit_retries times. */
			cc_warn("node %s refused unit %lld: HTTP %ld %.200s", node->host,
				u->id, status, s->resp.data ? s->resp.data : "");
			{
				char why[512];

				snprintf(why, sizeof(why), "node %s refused the unit: "
					 "HTTP %ld %.300s", node->host, status,
					 s->resp.data ? s->resp.data : "");
				if (attempt_failed(db, cfg, u, why, err) < 0)
					goto out;
			}
		} else {
			/* Anything else (409: it still runs there from an
			 * earlier attempt; 401/403: credentials) is not the
			 * unit's fault: it goes out again later. */
			cc_warn("node %s did not take unit %lld: HTTP %ld %.200s",
				node->host, u->id, status,
				s->resp.data ? s->resp.data : "");
		}
	}
	rc = unsent == 0 ? 1 : 0;
	if (rc) {
		int left = 0;
		for (int i = 0; i < nn; i++)
			left += nodes[i].capacity > 0;
		if (!left)
			rc = 0;
	}
out:
	for (int i = 0; i < ns; i++) {
		curl_multi_remove_handle(d->multi, sends[i].easy);
		free(sends[i].body);
		cc_strbuf_free(&sends[i].resp);
	}
	/* Units sent had their reservation ended by cc_work_unit_sent, and
	 * those unclaimed by the unclaim; what is left (not sent, released
	 * from under us, or a failed round) is released here. Claimed units
	 * a failed round left behind keep their slot until the reservation's
	 * deadline (cc_work_unit_release_expired_reservations). */
	if (reservation && (unsent || loose || rc < 0)) {
		struct cc_err e2;
		if (cc_work_unit_cancel_reservations(db, reservation, &e2) < 0)
			cc_warn("cancelling reservation %d: %s", reservation, e2.msg);
	}
	cc_work_unit_reserved_free(units, nu > 0 ? nu : 0);
	cc_node_list_free(nodes, nn);
	free(actions);
	free(dead);
	return rc;
}

int cc_dispatch_pass(struct cc_dispatcher *d, struct cc_db *db,
		     struct cc_dispatch_stats *stats, struct cc_err *err)
{
	struct cc_dispatch_stats local;
	int rc;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	/* Reservations past their deadline: their dispatcher died or
	 * stalled. An indexed SELECT that finds nothing when all is well, at
	 * most once a second per dispatcher (a pass per unit would otherwise
	 * pay it per unit). */
	if (cc_clock_now() - d->last_release >= 1.0) {
		if (cc_work_unit_release_expired_reservations(db, &stats->released,
							      err) < 0)
			return -1;
		d->last_release = cc_clock_now();
	}
	do {
		stats->rounds++;
		rc = round_once(d, db, stats, err);
	} while (rc == 1 && stats->rounds < 1000);
	return rc < 0 ? -1 : 0;
}

int cc_dispatch_maintain(struct cc_db *db, const struct cc_config *cfg,
			 struct cc_err *err)
{
	int removed = 0, expired = 0, fixed = 0;

	if (cc_node_expire(db, cfg, &removed, err) < 0 ||
	    cc_lifecycle_expire_leases(db, cfg, &expired, err) < 0 ||
	    cc_node_reconcile_slots(db, &fixed, err) < 0)
		return -1;
	return removed || expired || fixed;
}
