/* httpd.c - the node's HTTP server (libmicrohttpd, a thread per connection
 * so a POST /work waiting for its spawn never holds up a heartbeat). Routes
 * are one table. Bodies are gathered up to max_body_kb (413 beyond);
 * basic auth with the node credentials (node_login, else login) is
 * required on every route when http_authentication is on. The listening
 * socket is close-on-exec (MHD opens it with SOCK_CLOEXEC; we set
 * FD_CLOEXEC again in case a build does not), so actions never inherit it
 * (PITFALLS 6).
 *
 * Doors: only node_allow's addresses are accepted (when it is set), one
 * address holds at most node_connections_per_ip connections, and a
 * connection idle (or sending nothing more of a half-sent request) for
 * CONNECTION_TIMEOUT seconds is closed: a client without credentials
 * cannot use up the connection limit and silence the node. The port is
 * never shared: the socket gets SO_REUSEADDR (MHD's default: a restart
 * binds past TIME_WAIT) but not SO_REUSEPORT, so a second node on a busy
 * port fails at start, naming the process that holds it, before it ever
 * checks in. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "model/action.h"
#include "core/cidr.h"
#include "core/form.h"
#include "core/log.h"
#include "node.h"

#define CONNECTION_LIMIT 512
#define CONNECTION_TIMEOUT 5       /* s an idle connection stays open */
#define LOG_REPEAT_S 10            /* s between two equal MHD messages */
#define OVERLOADED "Node Overloaded"
/* All max_workers slots taken: a 503 too (a Ruby central treats every 503
 * alike), but our central only releases the unit and does not mark the
 * node busy, since a slot frees as soon as a running action ends. */
#define FULL "Node Full"

struct req {
	char *body;
	size_t len, cap;
	int too_big;        /* body passed the limit: 413 at the end */
	int answered;       /* a response was queued early */
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status,
				  json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(v);
	if (!s)
		return reply(c, 500, "application/json",
			     "{\"error\":\"out of memory\"}");
	ret = reply(c, status, "application/json", s);
	free(s);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status,
				   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status,
				   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result do_heartbeat(struct node *n, struct MHD_Connection *c,
				    struct req *rq)
{
	(void)n;
	(void)rq;
	return reply(c, 200, "text/html;charset=utf-8", "buh-bump");
}

static enum MHD_Result do_work(struct node *n, struct MHD_Connection *c,
			       struct req *rq)
{
	struct cc_form form;
	struct cc_worker_unit u;
	struct cc_err err = { 0 };
	const struct cc_form_field *f = NULL;
	enum cc_stage stage;
	enum MHD_Result ret;
	pid_t pid;

	if (cc_form_parse(&form, rq->body ? rq->body : "", rq->len) < 0)
		return reply_error(c, 400, "body is not a valid form "
				   "(application/x-www-form-urlencoded)");
	for (size_t i = 0; i < form.n; i++)
		if (!strcmp(form.fields[i].key, "work_unit")) {
			f = &form.fields[i];
			break;
		}
	if (!f || !f->value) {
		cc_form_cleanup(&form);
		return reply_error(c, 400, "missing form field work_unit "
				   "(the unit as JSON)");
	}
	if (cc_worker_unit_parse(&u, f->value, f->value_len, &err) < 0) {
		cc_form_cleanup(&form);
		cc_warn("POST /work refused: %s", err.msg);
		return reply_error(c, 400, "%s", err.msg);
	}
	cc_form_cleanup(&form);

	stage = cc_action_stage_for_status(u.status);
	if (!cc_action_exists(&n->cfg, u.action))
		cc_err_set(&err, CC_ERR_BAD_REQUEST, "action '%s' is not installed on this node",
			   u.action);
	else if (cc_config_action_disabled(&n->cfg, u.action))
		cc_err_set(&err, CC_ERR_BAD_REQUEST, "action '%s' is disabled on this node", u.action);
	else if (!cc_action_has_stage(&n->cfg, u.action, stage))
		cc_err_set(&err, CC_ERR_BAD_REQUEST, "action '%s' has no %s stage", u.action,
			   cc_action_stage_name(stage));
	if (err.kind) {
		cc_warn("POST /work refused unit %lld: %s", u.id, err.msg);
		ret = reply_error(c, 400, "%s", err.msg);
		goto out;
	}
	if (__atomic_load_n(&n->overloaded, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&n->stopping, __ATOMIC_RELAXED)) {
		cc_info("POST /work: unit %lld refused, node overloaded", u.id);
		ret = reply(c, 503, "text/html;charset=utf-8", OVERLOADED);
		goto out;
	}
	switch (node_run_unit(n, &u, &pid)) {
	case NODE_ACCEPTED:
		ret = reply_json(c, 200, json_pack("{s:I}", "pid", (json_int_t)pid));
		break;
	case NODE_FULL:
		cc_info("POST /work: unit %lld refused, %d units already running",
			u.id, n->cfg.max_workers);
		ret = reply(c, 503, "text/html;charset=utf-8", FULL);
		break;
	case NODE_DUPLICATE:
		ret = reply_error(c, 409, "unit %lld is already running on this node",
				  u.id);
		break;
	default:
		ret = reply(c, 503, "text/html;charset=utf-8", OVERLOADED);
		break;
	}
out:
	cc_worker_unit_cleanup(&u);
	return ret;
}

typedef enum MHD_Result (*handler_fn)(struct node *, struct MHD_Connection *,
				      struct req *);

static const struct route {
	const char *method;
	const char *path;
	handler_fn fn;
} routes[] = {
	{ "GET", "/heartbeat", do_heartbeat },
	{ "HEAD", "/heartbeat", do_heartbeat },
	{ "POST", "/work", do_work },
};

static enum MHD_Result dispatch(struct node *n, struct MHD_Connection *c,
				const char *url, const char *method,
				struct req *rq)
{
	int path_known = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, url))
			continue;
		path_known = 1;
		if (!strcmp(routes[i].method, method))
			return routes[i].fn(n, c, rq);
	}
	if (path_known)
		return reply_error(c, 405, "%s is not allowed on %s", method, url);
	return reply_error(c, 404, "no route %s %.200s", method, url);
}

/* Equal strings, in time that depends on the lengths only. */
static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int authorized(struct node *n, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	int ok;

	/* Only central calls a node: the node credentials (node_login when
	 * set), never a client's login. */
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && same(user, cc_config_node_login(&n->cfg)) &&
	     same(pass, cc_config_node_password(&n->cfg));
	if (user)
		MHD_free(user);
	if (pass)
		MHD_free(pass);
	return ok;
}

static enum MHD_Result ask_auth(struct MHD_Connection *c)
{
	static const char body[] = "{\"error\":\"authentication required\"}";
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_basic_auth_fail_response(c, "CloudCrowd", r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct node *n = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		if (n->cfg.http_authentication && !authorized(n, c)) {
			rq->answered = 1;
			return ask_auth(c);
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > n->max_body) {
			rq->answered = 1;
			return reply_error(c, 413, "body larger than %zu bytes",
					   n->max_body);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t add = *upload_size;

		*upload_size = 0;
		if (rq->answered || rq->too_big)
			return MHD_YES;
		if (rq->len + add > n->max_body) {
			rq->too_big = 1;
			return MHD_YES;
		}
		if (rq->len + add + 1 > rq->cap) {
			size_t nc = rq->cap ? rq->cap : 4096;
			while (nc < rq->len + add + 1)
				nc *= 2;
			char *nb = realloc(rq->body, nc);
			if (!nb)
				return MHD_NO;
			rq->body = nb;
			rq->cap = nc;
		}
		memcpy(rq->body + rq->len, upload, add);
		rq->len += add;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = 1;
	if (rq->too_big)
		return reply_error(c, 413, "body larger than %zu bytes", n->max_body);
	return dispatch(n, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void on_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void on_log(void *cls, const char *fmt, va_list ap)
{
	/* A client opening connections past the limits makes MHD say so for
	 * each one: the same message is logged at most every LOG_REPEAT_S
	 * seconds, with the count of those left out. */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char last[512];
	static time_t last_at;
	static unsigned long dropped;
	char msg[512];
	unsigned long was_dropped;
	time_t now = time(NULL);
	size_t l;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
		msg[--l] = '\0';
	pthread_mutex_lock(&lock);
	if (!strcmp(msg, last) && now - last_at < LOG_REPEAT_S) {
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	was_dropped = !strcmp(msg, last) ? dropped : 0;
	memcpy(last, msg, l + 1);
	last_at = now;
	dropped = 0;
	pthread_mutex_unlock(&lock);
	if (was_dropped)
		cc_warn("httpd: %s (%lu more times in the last %d s)", msg, was_dropped,
			LOG_REPEAT_S);
	else
		cc_warn("httpd: %s", msg);
}

/* node_allow, parsed once at start; read-only while the daemon runs. */
static struct cc_cidr_list allow;

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	(void)cls;
	if (!allow.n || cc_cidr_list_match(&allow, addr, addrlen))
		return MHD_YES;
	return MHD_NO;
}

static struct MHD_Daemon *start(struct node *n, unsigned extra)
{
	/* No MHD_OPTION_LISTENING_ADDRESS_REUSE: with it MHD sets
	 * SO_REUSEPORT, and a second node would share our port. */
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_THREAD_PER_CONNECTION |
				MHD_USE_ERROR_LOG | extra,
				(uint16_t)n->port, on_accept, n, on_request, n,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, n,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, n,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned)n->cfg.node_connections_per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
				MHD_OPTION_END);
}

/* Inodes of the sockets listening on TCP port (IPv4 and IPv6), from
 * /proc/net/tcp{,6}; how many were found (at most max). */
static int listening_inodes(int port, unsigned long *inodes, int max)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	int found = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "re");
		char line[512];

		if (!f)
			continue;
		while (found < max && fgets(line, sizeof(line), f)) {
			char local[64];
			unsigned lport, st;
			unsigned long inode;

			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu",
				   local, &st, &inode) != 3)
				continue;
			char *colon = strrchr(local, ':');
			if (!colon || sscanf(colon + 1, "%x", &lport) != 1)
				continue;
			if (st == 0x0A && (int)lport == port && inode)
				inodes[found++] = inode;
		}
		fclose(f);
	}
	return found;
}

/* The pid of a process holding one of the inodes' sockets, or 0 (none
 * found, or /proc/PID/fd not readable for us); its name into comm. */
static pid_t socket_owner(const unsigned long *inodes, int n, char *comm,
			  size_t comm_len)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t owner = 0;

	if (!proc)
		return 0;
	while (!owner && (de = readdir(proc))) {
		char path[64], link[64];
		DIR *fds;
		struct dirent *fe;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		if (!(fds = opendir(path)))
			continue;
		while (!owner && (fe = readdir(fds))) {
			ssize_t l;
			unsigned long ino;

			l = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (int i = 0; i < n; i++)
				if (inodes[i] == ino)
					owner = (pid_t)pid;
		}
		closedir(fds);
	}
	closedir(proc);
	comm[0] = '\0';
	if (owner) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)owner);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, (int)comm_len, f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
	}
	return owner;
}

/* Why port cannot be listened on, into err: "port 9063 in use by pid N
 * (NAME)" when another socket listens there, else the bind error. MHD
 * says only that it failed, so the bind is tried again here, the way MHD
 * does it (SO_REUSEADDR, no SO_REUSEPORT), to learn errno. */
static void explain_bind_failure(int port, struct cc_err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;
	unsigned long inodes[8];
	char comm[64];
	pid_t pid;
	int ninodes;

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			e = errno;
		close(fd);
	} else {
		e = errno;
	}
	if (e && e != EADDRINUSE) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot listen on port %d: %s", port,
			   strerror(e));
		return;
	}
	ninodes = listening_inodes(port, inodes, 8);
	pid = ninodes ? socket_owner(inodes, ninodes, comm, sizeof(comm)) : 0;
	if (pid)
		cc_err_set(err, CC_ERR_INTERNAL, "port %d in use by pid %d%s%s%s", port,
			   (int)pid, *comm ? " (" : "", comm, *comm ? ")" : "");
	else if (e == EADDRINUSE || ninodes)
		cc_err_set(err, CC_ERR_INTERNAL, "port %d in use by another process", port);
	else
		cc_err_set(err, CC_ERR_INTERNAL, "cannot listen on port %d", port);
}

struct MHD_Daemon *node_httpd_start(struct node *n, struct cc_err *err)
{
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	if (cc_cidr_list_parse(n->cfg.node_allow, &allow, err) < 0)
		return NULL;        /* cc_config_load checked it already */
	/* IPv6 and IPv4 when the machine has IPv6, else IPv4 alone. */
	d = start(n, MHD_USE_DUAL_STACK);
	if (!d)
		d = start(n, 0);
	if (!d) {
		explain_bind_failure(n->port, err);
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (info) {
		int fl = fcntl(info->listen_fd, F_GETFD);
		if (fl >= 0)
			fcntl(info->listen_fd, F_SETFD, fl | FD_CLOEXEC);
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		n->port = info->port;
	return d;
}

void node_httpd_stop(struct MHD_Daemon *d)
{
	/* Stops accepting, closes the listening socket and every connection,
	 * and joins their threads (a POST /work mid-wait finishes first). */
	if (d)
		MHD_stop_daemon(d);
}
