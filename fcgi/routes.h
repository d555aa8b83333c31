/* routes.h - the route handlers, grouped by audience: routes_jobs.c (the
 * public job API), routes_admin.c (Operations Center, status, log,
 * blacklist), routes_health.c (readiness), routes_node.c (the node and
 * worker API). router.c holds the
 * table that maps method + path to them. */
#ifndef CC_ROUTES_H
#define CC_ROUTES_H

#include "request.h"

typedef void (*cc_handler)(struct cc_app *app, struct cc_req *req,
			   struct cc_resp *resp);

/* cc_server_handle - route one request and fill resp (never fails: errors
 * become 4xx/5xx JSON). */
void cc_server_handle(struct cc_app *app, struct cc_req *req,
		      struct cc_resp *resp);

void cc_route_jobs_create(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_jobs_list(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_jobs_show(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_jobs_delete(struct cc_app *, struct cc_req *, struct cc_resp *);

void cc_route_index(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_status(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_worker(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_heartbeat(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_health(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_log(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_actions(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_blacklist_list(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_blacklist_add(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_blacklist_remove(struct cc_app *, struct cc_req *, struct cc_resp *);

void cc_route_node_check_in(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_node_check_out(struct cc_app *, struct cc_req *, struct cc_resp *);
void cc_route_work_finish(struct cc_app *, struct cc_req *, struct cc_resp *);

#endif
