/* pool.h - the crowd-server supervisor: it opens the unix socket
 * server_socket, forks server_workers pool processes that all accept on
 * it, restarts one that dies, and on SIGTERM/SIGINT stops them all and
 * removes the socket. What a pool process does with its requests is the
 * caller's (main.c); it takes them with cc_pool_accept, which is what lets
 * a stop signal end an idle process at once but a busy one only after its
 * request. */
#ifndef CC_POOL_H
#define CC_POOL_H

#include <fcgiapp.h>
#include "core/config.h"

/* cc_pool_child - the body of one pool process, run in the forked child
 * with the listening socket: set up, then serve requests taken with
 * cc_pool_accept until it fails. Returns the process's exit code (any
 * exit but a stop is a death: restarted, after a backoff when it came
 * within a second of the start). */
typedef int (*cc_pool_child)(struct cc_config *cfg, int sock);

enum cc_pool_end {
	CC_POOL_STOPPED,         /* a stop signal: everything stopped */
	CC_POOL_NO_SOCKET,       /* cannot listen on server_socket (logged,
				    and said on stderr) */
};

/* cc_pool_run - supervise cfg->server_workers processes running child
 * until a stop signal; returns how it ended. Installs the SIGTERM/SIGINT
 * handlers (inherited by the children) and ignores SIGPIPE. Returns once
 * every child has been reaped and the socket removed (NO_SOCKET: nothing
 * was started). */
enum cc_pool_end cc_pool_run(struct cc_config *cfg, cc_pool_child child);

/* cc_pool_accept - in a pool process: the previous request (if any) is
 * done; wait for the next one into r (FCGX_InitRequest'ed). Returns 0 with
 * a request, or -1 when the process should leave (a stop signal arrived,
 * or accept failed). From the first call on, a stop signal ends the
 * process at once (_exit(0)) while it waits here; before, and while it
 * serves a request, the signal only makes the next call return -1. */
int cc_pool_accept(FCGX_Request *r);

#endif
