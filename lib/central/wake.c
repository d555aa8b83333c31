/* wake.c - see wake.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "central/wake.h"
#include "core/log.h"

int cc_wake_path(const struct cc_config *cfg, enum cc_wake_what what,
		 char *out, size_t len)
{
	struct sockaddr_un a;
	int n = snprintf(out, len, "%s/ccdistribute%s.sock", cfg->pid_path,
			 what == CC_WAKE_CALLBACKS ? "-callbacks" : "");

	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(a.sun_path))
		return -1;
	return 0;
}

static int fill_addr(const struct cc_config *cfg, enum cc_wake_what what,
		     struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return cc_wake_path(cfg, what, a->sun_path, sizeof(a->sun_path));
}

void cc_wake_send(const struct cc_config *cfg, enum cc_wake_what what,
		  double delay)
{
	static int fd = -1;
	static time_t last_warned;
	struct sockaddr_un a;
	char msg[32];
	int n;

	if (fill_addr(cfg, what, &a) < 0)
		return;
	if (fd < 0) {
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
	}
	if (delay > 0)
		n = snprintf(msg, sizeof(msg), "%c%.3f", (char)what, delay);
	else
		n = snprintf(msg, sizeof(msg), "%c", (char)what);
	if (sendto(fd, msg, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&a,
		   sizeof(a)) >= 0)
		return;
	/* EAGAIN: the dispatcher's queue is full, so a wake-up is pending. */
	if (errno != EAGAIN && time(NULL) - last_warned >= 60) {
		last_warned = time(NULL);
		cc_warn("no dispatcher listens on %s (%s): is `ccdistribute --loop` "
			"running on this host? Until it is, units and callbacks go "
			"out only on cron's passes", a.sun_path, strerror(errno));
	}
}

int cc_wake_listen(const struct cc_config *cfg, enum cc_wake_what what,
		   struct cc_err *err)
{
	struct sockaddr_un a;
	int fd, probe;

	if (fill_addr(cfg, what, &a) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s/ccdistribute*.sock: path "
				  "too long for a unix socket", cfg->pid_path);
	/* Someone listening already? A datagram to a live socket is taken. */
	probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		int live = connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(probe);
		if (live)
			return cc_err_set(err, CC_ERR_CONFLICT, "another ccdistribute "
					  "--loop already listens on %s", a.sun_path);
	}
	unlink(a.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return cc_err_set(err, CC_ERR_INTERNAL, "cannot listen on %s: %s",
				  a.sun_path, strerror(e));
	}
	chmod(a.sun_path, 0660);
	return fd;
}

void cc_wake_due_add(struct cc_wake_dues *d, double t)
{
	int i;

	if (d->n == CC_WAKE_DUES) {
		if (t >= d->at[d->n - 1])
			return;
		d->n--;            /* the latest goes: the timer covers it */
	}
	for (i = d->n; i > 0 && d->at[i - 1] > t; i--)
		d->at[i] = d->at[i - 1];
	d->at[i] = t;
	d->n++;
}

double cc_wake_due_next(const struct cc_wake_dues *d)
{
	return d->n ? d->at[0] : HUGE_VAL;
}

void cc_wake_due_done(struct cc_wake_dues *d, double t)
{
	int k = 0;

	while (k < d->n && d->at[k] <= t)
		k++;
	memmove(d->at, d->at + k, (size_t)(d->n - k) * sizeof(d->at[0]));
	d->n -= k;
}

int cc_wake_drain(int fd, int *dispatch, int *callbacks,
		  struct cc_wake_dues *dues, double now)
{
	char msg[32];
	int count = 0;
	ssize_t n;

	while ((n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
		double delay = 0;
		char *end;

		msg[n] = '\0';
		count++;
		if (msg[1]) {
			delay = strtod(msg + 1, &end);
			if (*end || !isfinite(delay) || delay < 0 ||
			    delay > CC_WAKE_MAX_DELAY)
				continue;      /* not ours: ignored */
		}
		if (msg[0] == CC_WAKE_DISPATCH && delay > 0) {
			if (dues)
				cc_wake_due_add(dues, now + delay + 0.1);
		} else if (msg[0] == CC_WAKE_DISPATCH) {
			*dispatch = 1;
		} else if (msg[0] == CC_WAKE_CALLBACKS) {
			*callbacks = 1;
		}
	}
	return count;
}

void cc_wake_close(const struct cc_config *cfg, enum cc_wake_what what, int fd)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (fd < 0)
		return;
	close(fd);
	if (cc_wake_path(cfg, what, path, sizeof(path)) == 0)
		unlink(path);
}
