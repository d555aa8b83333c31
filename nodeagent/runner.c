/* runner.c - one thread per accepted work unit, and the table of them.
 * The thread makes the scratch folder, downloads a URL input, spawns the
 * action's stage (the unit's only process creation), supervises
 * it (proc.h), removes the scratch folder, then reports PUT /work/ID with
 * bounded backoff. The scratch folder goes before the report so that a
 * retry of the unit dispatched here the moment central has the result never
 * meets the old folder. A unit counts against max_workers while its action
 * runs: central, which already counts it until the result is recorded,
 * runs its next dispatch pass right after recording it, often before this
 * thread has seen the answer; counting the report too would refuse that
 * unit (503) and leave the node marked busy until its next check-in.
 *
 * The POST /work handler waits for the thread to reach the spawn so it can
 * answer the action's pid. When the unit fails before any process exists
 * (a bad download), or the download outlasts the handler's bounded wait,
 * the answer is the node agent's own pid: the process doing the unit's
 * work at that moment. Central ignores a report whose pid differs from
 * the one it recorded, so the report always carries the pid answered. A
 * run is freed by whichever of thread and handler
 * lets go of it last (refs, under node->lock). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/fs.h"
#include "core/log.h"
#include "node.h"
#include "proc/proc.h"

#define POOL_MAX 16
/* A report is retried while central is away (down, 5xx, unreachable) for
 * as long as central would still take it: the unit's lease
 * (action_timeout + lease_grace; a day when there is no timeout). After
 * that central has given the unit to someone else, and refuses it (409). */
#define REPORT_BUDGET(cfg) \
	((cfg)->action_timeout ? (cfg)->action_timeout + (cfg)->lease_grace : 86400)
#define ENV_VALUE_MAX (96 * 1024)  /* larger values go to a file */

extern char **environ;

enum run_state { RUN_STARTING, RUN_RUNNING, RUN_FAILED_EARLY, RUN_REPORTING };

struct run {
	struct node *node;
	struct cc_worker_unit unit;
	enum cc_stage stage;
	enum run_state state;         /* under node->lock */
	pid_t pid;                    /* the action, 0 before spawn */
	pid_t answered;               /* pid POST /work answered, 0 = not yet */
	int refs;                     /* thread + waiting handler */
	double started;               /* monotonic s, thread start */
	char dir[CC_PATH_LEN + 96];   /* scratch folder */
	struct run *next;
};

struct cc_http *node_http_get(struct node *n)
{
	struct cc_http *h = NULL;

	pthread_mutex_lock(&n->lock);
	if (n->npool > 0)
		h = n->pool[--n->npool];
	pthread_mutex_unlock(&n->lock);
	return h ? h : cc_http_new(&n->cfg);
}

void node_http_put(struct node *n, struct cc_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->npool < POOL_MAX) {
		if (n->npool == n->pool_cap) {
			int nc = n->pool_cap ? n->pool_cap * 2 : 4;
			struct cc_http **np = realloc(n->pool, (size_t)nc * sizeof(*np));
			if (np) {
				n->pool = np;
				n->pool_cap = nc;
			}
		}
		if (n->npool < n->pool_cap) {
			n->pool[n->npool++] = h;
			h = NULL;
		}
	}
	pthread_mutex_unlock(&n->lock);
	cc_http_free(h);
}

/* Under node->lock. */
static void run_unref(struct run *r)
{
	if (--r->refs == 0) {
		cc_worker_unit_cleanup(&r->unit);
		free(r);
	}
}

static void set_state(struct run *r, enum run_state st, pid_t pid)
{
	struct node *n = r->node;

	pthread_mutex_lock(&n->lock);
	r->state = st;
	if (pid)
		r->pid = pid;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

/* The environment under construction. */
struct envb {
	char **v;
	size_t n, cap;
	int oom;
};

static void env_put(struct envb *e, char *kv)
{
	if (!kv) {
		e->oom = 1;
		return;
	}
	if (e->n + 2 > e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 64;
		char **nv = realloc(e->v, nc * sizeof(*nv));
		if (!nv) {
			free(kv);
			e->oom = 1;
			return;
		}
		e->v = nv;
		e->cap = nc;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void env_set(struct envb *e, const char *key, const char *val)
{
	char *kv = NULL;

	if (asprintf(&kv, "%s=%s", key, val) < 0)
		kv = NULL;
	env_put(e, kv);
}

/* A JSON value for the environment. Linux refuses an exec whose single
 * environment string passes 128 KB (MAX_ARG_STRLEN), and a merge input
 * can be larger: such a value goes to a file named by KEY_FILE instead. */
static int env_set_big(struct envb *e, struct run *r, const char *key,
		       const char *val, struct cc_err *err)
{
	char path[sizeof(r->dir) + 64], fkey[64];
	size_t len = strlen(val), off = 0;
	int fd;

	if (len <= ENV_VALUE_MAX) {
		env_set(e, key, val);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/.crowd-env-%s.json", r->dir, key);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, val + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int saved = errno;
			close(fd);
			return cc_err_set(err, CC_ERR_INTERNAL, "writing %s: %s", path, strerror(saved));
		}
		off += (size_t)w;
	}
	close(fd);
	snprintf(fkey, sizeof(fkey), "%s_FILE", key);
	env_set(e, fkey, path);
	return 0;
}

static void env_free(struct envb *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* Our environment minus CROWD_* and PATH, plus the unit's (the README's
 * "Writing an action"). */
static int build_env(struct envb *e, struct run *r, const char *input_path,
		     struct cc_err *err)
{
	struct node *n = r->node;
	struct cc_worker_unit *u = &r->unit;
	const char *path = getenv("PATH");
	char num[32], *s = NULL;
	int ret = -1;

	for (char **p = environ; p && *p; p++)
		if (strncmp(*p, "CROWD_", 6) && strncmp(*p, "PATH=", 5))
			env_put(e, strdup(*p));
	if (asprintf(&s, "PATH=%s:%s", n->bin_dir,
		     path && *path ? path : "/usr/local/bin:/usr/bin:/bin") < 0)
		s = NULL;
	env_put(e, s);
	env_set(e, "CROWD_STAGE", cc_action_stage_name(r->stage));
	env_set(e, "CROWD_ACTION", u->action);
	if (!(s = cc_worker_input_json(u->input, u->input_is_json)))
		goto oom;
	ret = env_set_big(e, r, "CROWD_INPUT", s, err);
	free(s);
	if (ret < 0)
		return -1;
	if (input_path)
		env_set(e, "CROWD_INPUT_PATH", input_path);
	if (!(s = cc_worker_options_json(u)))
		goto oom;
	ret = env_set_big(e, r, "CROWD_OPTIONS", s, err);
	free(s);
	if (ret < 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", u->job_id);
	env_set(e, "CROWD_JOB_ID", num);
	snprintf(num, sizeof(num), "%lld", u->id);
	env_set(e, "CROWD_WORK_UNIT_ID", num);
	snprintf(num, sizeof(num), "%lld", u->attempts);
	env_set(e, "CROWD_ATTEMPTS", num);
	env_set(e, "CROWD_WORK_DIR", r->dir);
	env_set(e, "CROWD_CONFIG", n->cfg.dir);
	if (e->oom)
		goto oom;
	return 0;
oom:
	return cc_err_set(err, CC_ERR_INTERNAL, "out of memory building the environment");
}

static int make_scratch(struct run *r, struct cc_err *err)
{
	struct node *n = r->node;
	char parent[sizeof(r->dir)];
	int len;

	len = snprintf(parent, sizeof(parent), "%s/%s", n->cfg.temp_storage_path,
		       r->unit.action);
	if (len > 0 && (size_t)len < sizeof(parent))
		len = snprintf(r->dir, sizeof(r->dir), "%s/unit_%lld", parent,
			       r->unit.id);
	if (len < 0 || (size_t)len >= sizeof(r->dir)) {
		r->dir[0] = '\0';
		return cc_err_set(err, CC_ERR_INTERNAL, "temp_storage_path %s: too long for "
				  "the scratch folder of unit %lld", n->cfg.temp_storage_path,
				  r->unit.id);
	}
	if (cc_fs_mkdirs(parent, 0755, err) < 0)
		return -1;
	/* Left over by a node that died mid-unit: start clean. */
	if (cc_fs_rmtree(r->dir, err) < 0)
		return -1;
	if (mkdir(r->dir, 0755) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "mkdir %s: %s", r->dir, strerror(errno));
	return 0;
}

static void report(struct run *r, pid_t pid, int succeeded, json_t *value,
		   double seconds)
{
	struct node *n = r->node;
	long long id = r->unit.id;
	char url[CC_STR_LEN + 64];
	double first = cc_clock_now();
	int budget = REPORT_BUDGET(&n->cfg), refused_size = 0;
	char *form;

	/* The token proves to central that this node holds the unit. */
	form = cc_worker_report_form_token(pid, id, seconds, succeeded, value,
					   r->unit.token);
	if (!form) {
		cc_error("unit %lld: out of memory building the report; result lost", id);
		return;
	}
	snprintf(url, sizeof(url), "%s/work/%lld", n->central, id);
	for (int attempt = 0;; attempt++) {
		struct cc_http *h = node_http_get(n);
		struct cc_http_resp resp = { 0 };
		struct cc_err err = { 0 };
		int rc = -1, wait;

		if (h) {
			/* A report is a node route: the node credentials. */
			cc_http_set_auth(h, cc_http_node_auth(&n->cfg));
			rc = cc_http_request(h, "PUT", url, form, n->cfg.server_timeout,
					     &resp, &err);
		} else {
			cc_err_set(&err, CC_ERR_INTERNAL, "out of memory");
		}
		node_http_put(n, h);
		if (rc == 0 && resp.status >= 200 && resp.status < 300) {
			cc_info("unit %lld: reported %s (HTTP %ld, attempt %d)", id,
				succeeded ? "succeeded" : "failed", resp.status,
				attempt + 1);
			cc_http_resp_cleanup(&resp);
			break;
		}
		if (rc == 0 && resp.status == 404) {
			cc_warn("unit %lld: central does not know it any more (404); "
				"result dropped", id);
			cc_http_resp_cleanup(&resp);
			break;
		}
		if (rc == 0 && resp.status == 409) {
			cc_warn("unit %lld: central refused the report as not from "
				"the unit's holder (409: %.200s); result dropped", id,
				resp.body ? resp.body : "");
			cc_http_resp_cleanup(&resp);
			break;
		}
		if (rc == 0 && resp.status == 413 && !refused_size) {
			/* Too large for central (max_body_kb, or nginx's limit):
			 * the attempt fails with that reason, reported at once. */
			char why[160];
			json_t *msg;

			snprintf(why, sizeof(why), "the result (%zu bytes as a report) "
				 "was refused by central as too large (HTTP 413)",
				 strlen(form));
			cc_warn("unit %lld: %s; reporting a failure instead", id, why);
			msg = json_string(why);
			free(form);
			form = msg ? cc_worker_report_form_token(pid, id, seconds, 0, msg,
								 r->unit.token) : NULL;
			json_decref(msg);
			cc_http_resp_cleanup(&resp);
			if (!form) {
				cc_error("unit %lld: out of memory building the report; "
					 "result lost", id);
				return;
			}
			succeeded = 0;
			refused_size = 1;
			attempt = -1;
			continue;
		}
		if (rc == 0 && resp.status >= 400 && resp.status < 500) {
			cc_error("unit %lld: central refused the report (HTTP %ld: "
				 "%.200s); giving up", id, resp.status, resp.body);
			cc_http_resp_cleanup(&resp);
			break;
		}
		if (rc == 0)
			cc_err_set(&err, CC_ERR_UPSTREAM, "HTTP %ld: %.200s",
				   resp.status, resp.body),
			cc_err_set_cause(&err, CC_CAUSE_HTTP, (int)resp.status);
		cc_http_resp_cleanup(&resp);
		wait = cc_worker_backoff(attempt);
		if (cc_clock_now() - first + wait > budget) {
			cc_error("unit %lld: report attempt %d failed (%s); giving up "
				 "after %d s (the unit's lease), result lost", id,
				 attempt + 1, err.msg, budget);
			break;
		}
		cc_warn("unit %lld: report attempt %d failed (%s); retrying in %d s",
			id, attempt + 1, err.msg, wait);
		sleep((unsigned)wait);
	}
	free(form);
}

/* Run the stage; returns its pid (0 when it never started) and sets
 * *value / *ok. */
static pid_t execute(struct run *r, json_t **value, int *ok)
{
	struct node *n = r->node;
	struct cc_worker_unit *u = &r->unit;
	char input_path[sizeof(r->dir) + 128], stage_path[CC_PATH_LEN + 160];
	const char *ipath = NULL;
	struct cc_err err = { 0 };
	struct envb env = { 0 };
	struct cc_proc proc;
	struct cc_proc_result res;
	size_t max_out = (size_t)n->cfg.max_output_kb * 1024;
	char *in = NULL;
	pid_t pid = 0;

	*ok = 0;
	*value = NULL;
	if (make_scratch(r, &err) < 0)
		goto failed;
	if (u->input_is_json != 1 && cc_worker_input_is_url(u->input)) {
		char name[128];
		struct cc_http *h = node_http_get(n);
		long limit = n->cfg.action_timeout > 0 ? n->cfg.action_timeout : 3600;

		cc_worker_input_filename(u->input, name, sizeof(name));
		snprintf(input_path, sizeof(input_path), "%s/%s", r->dir, name);
		if (!h) {
			cc_err_set(&err, CC_ERR_INTERNAL, "out of memory");
			goto failed;
		}
		/* Never the node credentials to an input's host, which a
		 * client chose: the clients' login as before, or none. */
		cc_http_set_auth(h, n->cfg.http_authentication ? CC_HTTP_AUTH_CLIENT :
				 CC_HTTP_AUTH_NONE);
		int rc = cc_http_download(h, u->input, input_path,
					  (long long)n->cfg.max_download_mb << 20,
					  limit, &err);
		node_http_put(n, h);
		if (rc < 0)
			goto failed;
		ipath = input_path;
	}
	if (build_env(&env, r, ipath, &err) < 0)
		goto failed;
	cc_action_stage_path(&n->cfg, u->action, r->stage, stage_path,
			     sizeof(stage_path));
	char *argv[] = { stage_path, NULL };
	struct cc_proc_spec spec = { stage_path, argv, env.v, r->dir };
	if (cc_proc_spawn(&proc, &spec, &err) < 0)
		goto failed;
	pid = proc.pid;
	set_state(r, RUN_RUNNING, pid);
	cc_info("unit %lld: %s %s started, pid %d (job %lld, attempt %lld)", u->id,
		u->action, cc_action_stage_name(r->stage), (int)pid, u->job_id,
		u->attempts);

	/* stdin: the unit JSON and a newline, so line readers see a line. */
	in = malloc(u->json_len + 1);
	if (in) {
		memcpy(in, u->json, u->json_len);
		in[u->json_len] = '\n';
	}
	if (cc_proc_supervise(&proc, in ? in : "", in ? u->json_len + 1 : 0,
			      max_out, n->cfg.action_timeout, &res, &err) < 0) {
		cc_proc_result_cleanup(&res);
		goto failed;
	}
	int rc = cc_worker_result(&res, r->stage, n->cfg.action_timeout, max_out,
				  value);
	if (rc < 0) {
		cc_err_set(&err, CC_ERR_INTERNAL, "out of memory building the result");
		cc_proc_result_cleanup(&res);
		goto failed;
	}
	*ok = rc;
	if (*ok)
		cc_info("unit %lld: pid %d succeeded in %.3f s", u->id, (int)pid,
			res.seconds);
	else
		cc_warn("unit %lld: pid %d failed in %.3f s: %.300s", u->id, (int)pid,
			res.seconds, json_string_value(*value));
	cc_proc_result_cleanup(&res);
	goto out;

failed:
	cc_warn("unit %lld: %s %s failed: %s", u->id, u->action,
		cc_action_stage_name(r->stage), err.msg);
	*ok = 0;
	json_decref(*value);
	*value = NULL;
	/* The message may quote bytes cut mid-character: clean it first. */
	char *msg = cc_worker_clean_text(err.msg, strlen(err.msg));
	if (msg)
		*value = json_string(msg);
	free(msg);
out:
	free(in);
	env_free(&env);
	return pid;
}

static void *run_main(void *arg)
{
	struct run *r = arg;
	struct node *n = r->node;
	struct cc_err err = { 0 };
	json_t *value = NULL;
	double seconds;
	pid_t pid;
	int ok;

	pid = execute(r, &value, &ok);
	seconds = cc_clock_now() - r->started;
	if (!pid)
		set_state(r, RUN_FAILED_EARLY, 0);
	if (r->dir[0] && cc_fs_rmtree(r->dir, &err) < 0)
		cc_warn("unit %lld: removing the scratch folder: %s", r->unit.id,
			err.msg);
	set_state(r, RUN_REPORTING, 0);
	pthread_mutex_lock(&n->lock);
	n->nactive--;
	int recheck = n->refused_full;
	n->refused_full = 0;
	pthread_mutex_unlock(&n->lock);
	if (recheck)
		node_request_check_in(n);
	/* The pid central recorded: the answer, if the handler gave one
	 * already; if not, it will give the same pid this picks. */
	pthread_mutex_lock(&n->lock);
	if (r->answered)
		pid = r->answered;
	else if (!pid)
		pid = getpid();
	pthread_mutex_unlock(&n->lock);
	report(r, pid, ok, value, seconds);
	json_decref(value);

	pthread_mutex_lock(&n->lock);
	for (struct run **pp = &n->runs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			n->nruns--;
			break;
		}
	pthread_cond_broadcast(&n->cond);
	run_unref(r);
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

static void deadline_in(struct timespec *ts, int s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += s;
}

enum node_accept node_run_unit(struct node *n, struct cc_worker_unit *u,
			       pid_t *pid)
{
	pthread_attr_t attr;
	struct timespec until;
	struct run *r;
	pthread_t t;
	int rc, wait_s = n->cfg.node_timeout / 2;

	wait_s = wait_s < 1 ? 1 : wait_s > 15 ? 15 : wait_s;
	*pid = 0;
	pthread_mutex_lock(&n->lock);
	for (r = n->runs; r; r = r->next) {
		if (r->unit.id != u->id || r->state == RUN_REPORTING)
			continue;
		/* The same dispatch again (a retried POST): same answer. */
		if (r->state == RUN_RUNNING && r->unit.attempts == u->attempts) {
			*pid = r->answered ? r->answered : r->pid;
			pthread_mutex_unlock(&n->lock);
			cc_info("unit %lld: already running here as pid %d", u->id,
				(int)*pid);
			return NODE_ACCEPTED;
		}
		pthread_mutex_unlock(&n->lock);
		return NODE_DUPLICATE;
	}
	if (n->cfg.max_workers > 0 && n->nactive >= n->cfg.max_workers) {
		n->refused_full = 1;
		pthread_mutex_unlock(&n->lock);
		return NODE_FULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		pthread_mutex_unlock(&n->lock);
		return NODE_FAILED;
	}
	r->node = n;
	r->unit = *u;
	memset(u, 0, sizeof(*u));
	r->stage = cc_action_stage_for_status(r->unit.status);
	r->state = RUN_STARTING;
	r->refs = 2;
	r->started = cc_clock_now();
	r->next = n->runs;
	n->runs = r;
	n->nruns++;
	n->nactive++;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, run_main, r);
	pthread_attr_destroy(&attr);
	if (rc) {
		n->runs = r->next;
		n->nruns--;
		n->nactive--;
		r->refs = 1;
		run_unref(r);
		pthread_mutex_unlock(&n->lock);
		cc_error("cannot start a thread: %s", strerror(rc));
		return NODE_FAILED;
	}
	deadline_in(&until, wait_s);
	while (r->state == RUN_STARTING)
		if (pthread_cond_timedwait(&n->cond, &n->lock, &until) == ETIMEDOUT)
			break;
	if (r->pid) {
		*pid = r->pid;
	} else {
		*pid = getpid();
		if (r->state == RUN_STARTING)
			cc_info("unit %lld: input still downloading after %d s; "
				"answering with the node's pid", r->unit.id, wait_s);
	}
	r->answered = *pid;
	run_unref(r);
	pthread_mutex_unlock(&n->lock);
	return NODE_ACCEPTED;
}

int node_runs_wait(struct node *n, int timeout_s)
{
	struct timespec until;
	int left;

	deadline_in(&until, timeout_s);
	pthread_mutex_lock(&n->lock);
	while (n->nruns > 0)
		if (pthread_cond_timedwait(&n->cond, &n->lock, &until) == ETIMEDOUT)
			break;
	left = n->nruns;
	pthread_mutex_unlock(&n->lock);
	return left;
}
