/* checkin.c - telling central the node exists. PUT /node/HOST:PORT at
 * start (main.c makes that one critical), then from one thread every
 * check_in_interval seconds and whenever the overload state flips; that
 * thread also samples load and memory every MONITOR_INTERVAL seconds when
 * max_load or min_free_memory is set. A failed check-in (refused, 404,
 * 5xx) is logged and retried at the next tick; nothing stops the loop
 * (PITFALLS 2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/form.h"
#include "core/log.h"
#include "node.h"

#define MONITOR_INTERVAL 2     /* s between load/memory samples */
#define RETRY_INTERVAL 5       /* s before retrying a failed check-in */

int node_check_in(struct node *n, struct cc_err *err)
{
	struct cc_strbuf b = { 0 };
	struct cc_http_resp resp;
	char url[CC_STR_LEN * 2 + 16], num[32];
	int ret = -1, busy = __atomic_load_n(&n->overloaded, __ATOMIC_RELAXED);

	snprintf(url, sizeof(url), "%s/node/%s", n->central, n->identity);
	cc_form_add(&b, "busy", busy ? "true" : "false");
	cc_form_add(&b, "tag", *n->tag ? n->tag : NULL);
	/* 0 (no limit) travels as the original's nil: a bare key. */
	snprintf(num, sizeof(num), "%d", n->cfg.max_workers);
	cc_form_add(&b, "max_workers", n->cfg.max_workers ? num : NULL);
	cc_form_add(&b, "enabled_actions", n->enabled_actions);
	cc_form_add(&b, "instance", n->instance);
	/* Our addition: how often to expect us (the original's node says
	 * nothing and is expected every 300 s). */
	snprintf(num, sizeof(num), "%d", n->cfg.check_in_interval);
	cc_form_add(&b, "check_in_interval", num);
	if (b.oom) {
		cc_strbuf_free(&b);
		return cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	}
	/* The node credentials (node_login, else login): a client's may not
	 * check a node in. Set per call, n->http being main.c's. */
	cc_http_set_auth(n->http, cc_http_node_auth(&n->cfg));
	if (cc_http_request(n->http, "PUT", url, b.data, n->cfg.server_timeout,
			    &resp, err) == 0) {
		if (resp.status >= 200 && resp.status < 300)
			ret = 0;
		else
			cc_err_set(err, CC_ERR_UPSTREAM, "PUT %s: HTTP %ld: %.200s",
				   url, resp.status, resp.body ? resp.body : ""),
			cc_err_set_cause(err, CC_CAUSE_HTTP, (int)resp.status);
	}
	cc_http_resp_cleanup(&resp);
	cc_strbuf_free(&b);
	return ret;
}

void node_check_out(struct node *n)
{
	struct cc_http_resp resp;
	struct cc_err err = { 0 };
	char url[CC_STR_LEN * 2 + 16];

	snprintf(url, sizeof(url), "%s/node/%s", n->central, n->identity);
	cc_http_set_auth(n->http, cc_http_node_auth(&n->cfg));
	if (cc_http_request(n->http, "DELETE", url, NULL, n->cfg.server_timeout,
			    &resp, &err) < 0)
		cc_warn("check-out failed: %s", err.msg);
	else if (resp.status >= 200 && resp.status < 300)
		cc_info("checked out of %s as %s", n->central, n->identity);
	else
		cc_warn("check-out: DELETE %s answered HTTP %ld", url, resp.status);
	cc_http_resp_cleanup(&resp);
}

static double load_average(void)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double l = 0;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	return l;
}

/* MemAvailable in MB (MemFree on kernels without it); -1 if unknown. */
static long free_memory_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long avail = -1, mfree = -1, kb;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			avail = kb;
		else if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			mfree = kb;
	}
	fclose(f);
	kb = avail >= 0 ? avail : mfree;
	return kb < 0 ? -1 : kb / 1024;
}

int node_update_overload(struct node *n)
{
	int was = __atomic_load_n(&n->overloaded, __ATOMIC_RELAXED), now = 0;
	double load = 0;
	long mem = -1;

	if (n->cfg.max_load < 0 && n->cfg.min_free_memory <= 0)
		return 0;
	if (n->cfg.max_load >= 0) {
		load = load_average();
		if (load > n->cfg.max_load)
			now = 1;
	}
	if (n->cfg.min_free_memory > 0) {
		mem = free_memory_mb();
		if (mem >= 0 && mem < n->cfg.min_free_memory)
			now = 1;
	}
	__atomic_store_n(&n->overloaded, now, __ATOMIC_RELAXED);
	if (now != was) {
		char why[160] = "";
		if (n->cfg.max_load >= 0)
			snprintf(why, sizeof(why), "load %.2f, max_load %g", load,
				 n->cfg.max_load);
		if (n->cfg.min_free_memory > 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "%sfree memory %ld MB, min_free_memory %d MB",
				 *why ? "; " : "", mem, n->cfg.min_free_memory);
		cc_info("%s overloaded (%s)", now ? "now" : "no longer", why);
	}
	return now != was;
}

static void add_seconds(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)s;
	ts->tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void node_request_check_in(struct node *n)
{
	pthread_mutex_lock(&n->checkin_lock);
	n->checkin_now = 1;
	pthread_cond_signal(&n->checkin_cond);
	pthread_mutex_unlock(&n->checkin_lock);
}

static void *checkin_main(void *arg)
{
	struct node *n = arg;
	int monitoring = n->cfg.max_load >= 0 || n->cfg.min_free_memory > 0;
	double next_checkin = mono() + n->cfg.check_in_interval;
	double next_sample = mono() + MONITOR_INTERVAL;

	pthread_mutex_lock(&n->checkin_lock);
	while (!n->checkin_stop) {
		double now = mono(), wake = next_checkin;
		int due;

		if (monitoring && next_sample < wake)
			wake = next_sample;
		if (!n->checkin_now && now < wake) {
			struct timespec ts;
			add_seconds(&ts, wake - now);
			pthread_cond_timedwait(&n->checkin_cond, &n->checkin_lock, &ts);
			continue;
		}
		due = n->checkin_now;
		n->checkin_now = 0;
		pthread_mutex_unlock(&n->checkin_lock);

		now = mono();
		if (monitoring && now >= next_sample) {
			next_sample = now + MONITOR_INTERVAL;
			if (node_update_overload(n))
				due = 1;    /* entering or leaving: tell central now */
		}
		if (now >= next_checkin)
			due = 1;
		if (due) {
			struct cc_err err = { 0 };
			if (node_check_in(n, &err) == 0) {
				cc_debug("checked in with %s", n->central);
				next_checkin = mono() + n->cfg.check_in_interval;
			} else {
				int retry = n->cfg.check_in_interval < RETRY_INTERVAL ?
					    n->cfg.check_in_interval : RETRY_INTERVAL;
				cc_warn("check-in failed (retrying in %d s): %s", retry,
					err.msg);
				next_checkin = mono() + retry;
			}
		}
		pthread_mutex_lock(&n->checkin_lock);
	}
	pthread_mutex_unlock(&n->checkin_lock);
	return NULL;
}

int node_checkin_start(struct node *n)
{
	int rc = pthread_create(&n->checkin_thread, NULL, checkin_main, n);

	if (rc) {
		errno = rc;
		return -1;
	}
	return 0;
}

void node_checkin_stop(struct node *n)
{
	pthread_mutex_lock(&n->checkin_lock);
	n->checkin_stop = 1;
	pthread_cond_signal(&n->checkin_cond);
	pthread_mutex_unlock(&n->checkin_lock);
	pthread_join(n->checkin_thread, NULL);
}
