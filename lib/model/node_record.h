/* node_record.h - the node_records table: central's record of each node
 * agent, keyed by "HOST:PORT". A check-in upserts the row; a node whose
 * process changed (its `instance` differs) loses the units its previous
 * process held; check-out and unreachable or silent nodes release theirs. */
#ifndef CC_NODE_RECORD_H
#define CC_NODE_RECORD_H

#include <jansson.h>
#include "core/config.h"
#include "core/db.h"
#include "core/err.h"

struct cc_node_checkin {
	const char *host;            /* "name:port" from the path */
	const char *ip_address;      /* REMOTE_ADDR */
	int busy;
	const char *tag;             /* NULL for none */
	int max_workers;             /* < 0 for none (unlimited) */
	const char *enabled_actions; /* comma-separated names */
	const char *instance;        /* NULL for nodes that do not send it */
};

/* cc_node_host_valid - "name:port" with a hostname/IPv4 (or [IPv6]) name
 * and a port 1-65535; *port receives the port. */
int cc_node_host_valid(const char *host, int *port);

/* cc_node_actions_valid - comma-separated [a-z0-9_]+ names (may be empty). */
int cc_node_actions_valid(const char *actions);

/* cc_node_check_in - validate and upsert. err->code 400 on invalid data.
 * *released counts units released because the node restarted. */
int cc_node_check_in(struct cc_db *db, const struct cc_node_checkin *in,
		     unsigned long long *released, struct cc_err *err);

/* cc_node_check_out - remove the node and release its units. 1 removed,
 * 0 unknown, -1 error. */
int cc_node_check_out(struct cc_db *db, const char *host, struct cc_err *err);

/* cc_node_remove - by id (unreachable node): release units, delete. */
int cc_node_remove(struct cc_db *db, long long id, struct cc_err *err);

/* cc_node_mark_busy - a node answered 503: no work until it checks in. */
int cc_node_mark_busy(struct cc_db *db, long long id, struct cc_err *err);

/* An available node, as dispatch sees it. */
struct cc_node {
	long long id;
	char *host;                  /* name:port */
	char *actions;               /* ",a,b,c," for quick matching */
	int capacity;                /* units it can still take; INT_MAX if no limit */
};

/* cc_node_list_available - nodes not busy, checked in recently enough,
 * with spare capacity. Returns the count (array in *nodes, free with
 * cc_node_list_free) or -1. *all_actions gets the comma-separated union of
 * their actions (caller frees). */
int cc_node_list_available(struct cc_db *db, const struct cc_config *cfg,
			   struct cc_node **nodes, char **all_actions,
			   struct cc_err *err);
void cc_node_list_free(struct cc_node *nodes, int n);

/* cc_node_can_run - does the node offer action? */
int cc_node_can_run(const struct cc_node *node, const char *action);

/* cc_node_expire - remove nodes silent for node_expiry_intervals check-in
 * intervals; *removed counts them. */
int cc_node_expire(struct cc_db *db, const struct cc_config *cfg, int *removed,
		   struct cc_err *err);

/* cc_node_status_json - the `nodes` array of GET /status: {host, tag,
 * workers:[pid...], status} ordered by host desc. New reference or NULL. */
json_t *cc_node_status_json(struct cc_db *db, struct cc_err *err);

#endif
