/* node.h - state shared by the parts of crowd-node: main.c (options,
 * signals, start and stop), httpd.c (the libmicrohttpd server and its
 * routes), checkin.c (check-in, check-out, load and memory monitor) and
 * runner.c (one supervising thread per work unit). */
#ifndef CC_NODE_H
#define CC_NODE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/config.h"
#include "core/http.h"
#include "proc/worker.h"

#define NODE_SHUTDOWN_GRACE 5      /* s running units get to report at exit */

struct run;

struct node {
	struct cc_config cfg;         /* read-only once threads start */
	char host[CC_STR_LEN];        /* name central reaches us at */
	int port;                     /* actual listening port */
	char identity[CC_STR_LEN + 8];/* HOST:PORT */
	char tag[CC_STR_LEN];         /* "" = none */
	char instance[64];            /* unique per process start */
	char central[CC_STR_LEN];     /* central_server without trailing '/' */
	char bin_dir[CC_PATH_LEN];    /* where crowd-save lives (our own dir) */
	char *enabled_actions;        /* comma-separated, owned */
	size_t max_body;              /* POST /work body limit, bytes */

	int overloaded;               /* atomic: load or memory over limits */
	int stopping;                 /* atomic: shutting down */

	pthread_mutex_t lock;         /* guards everything below */
	pthread_cond_t cond;          /* runs changed state or left */
	struct run *runs;             /* units accepted and not yet done */
	int nruns;
	int nactive;                  /* of them, with the action not yet
				       * finished: what max_workers limits */
	int refused_full;             /* answered 503 for max_workers: check
				       * in when a slot frees (central marked
				       * us busy) */
	struct cc_http **pool;        /* idle HTTP clients for runners */
	int npool, pool_cap;

	/* check-in thread */
	pthread_t checkin_thread;
	pthread_mutex_t checkin_lock;
	pthread_cond_t checkin_cond;  /* wake it: stop, or check in now */
	int checkin_now, checkin_stop;
	struct cc_http *http;         /* main thread and check-in thread only */
};

/* checkin.c */

/* node_check_in - PUT /node/IDENTITY; 0 on a 2xx answer, else -1 (logged
 * by the caller from err). Uses n->http. */
int node_check_in(struct node *n, struct cc_err *err);

/* node_check_out - DELETE /node/IDENTITY, logged. */
void node_check_out(struct node *n);

/* node_request_check_in - wake the check-in thread to check in now. */
void node_request_check_in(struct node *n);

/* node_update_overload - read load and memory, set n->overloaded; returns
 * 1 if the state changed. No-op (0) when neither limit is configured. */
int node_update_overload(struct node *n);

/* node_checkin_start / _stop - the thread that checks in every
 * check_in_interval and when the overload state changes. */
int node_checkin_start(struct node *n);
void node_checkin_stop(struct node *n);

/* runner.c */

enum node_accept {
	NODE_ACCEPTED,      /* started; *pid is the action's (or ours) */
	NODE_FULL,          /* max_workers units already running */
	NODE_DUPLICATE,     /* this unit is already running here */
	NODE_FAILED,        /* could not start a thread */
};

/* node_run_unit - take over u (moved: u is emptied) and start its thread;
 * waits until the action is spawned (or failed before it, or a bounded
 * wait for a slow input download passed) and sets *pid. */
enum node_accept node_run_unit(struct node *n, struct cc_worker_unit *u,
			       pid_t *pid);

/* node_runs_wait - wait up to timeout_s for every run to finish; returns
 * how many are left. */
int node_runs_wait(struct node *n, int timeout_s);

/* node_http_get / _put - an HTTP client from the pool (NULL on OOM), and
 * back to it. */
struct cc_http *node_http_get(struct node *n);
void node_http_put(struct node *n, struct cc_http *h);

/* httpd.c */

struct MHD_Daemon;

/* node_httpd_start - listen on n->port (0 = any free port; n->port is set
 * to the real one). NULL with err set on failure. */
struct MHD_Daemon *node_httpd_start(struct node *n, struct cc_err *err);
void node_httpd_stop(struct MHD_Daemon *d);

#endif
