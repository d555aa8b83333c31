/* proc.c - see proc.h. One poll loop per child watches its three pipes and
 * a pidfd (child exit), so the supervisor notices the exit even when a
 * background grandchild keeps stdout open. Without pidfd (old kernels) it
 * polls waitid(WNOWAIT) every 100 ms instead. The child is only reaped
 * after we have signalled its group for the last time: until then its pid,
 * which is also the group id, cannot be reused, so kill(-pid) never hits a
 * stranger.
 *
 * Descendants outside the group (proc.h): with the subreaper on, every
 * orphan is a child of ours, so its pid cannot be reused before we reap
 * it, and a kill() of a pid read from our children list reaches that
 * orphan and nobody else. Only cc_proc_supervise reaps the spawned
 * children (they stay listed in `tree` until then); orphans are reaped
 * only by the pass (sweep), under tree.lock, so no two threads ever wait
 * for the same pid. Which spawned child an orphan descends from is in its
 * environment: /proc/PID/environ is the environment it was started with,
 * inherited from the spawned child unless somebody cleared it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc/proc.h"
#include "core/clock.h"
#include "core/strbuf.h"

#define KILL_GRACE 2.0          /* s between SIGTERM and SIGKILL */
#define DRAIN_GRACE 0.5         /* s to read pipes after the child exited */
#define TREE_GRACE 3.0          /* s a supervisor spends killing the orphans
				 * of its child before it returns */
#define TAG_ENV "CROWD_PROC_TAG"
#define STRAYS_MAX 64           /* untagged orphans tracked at once */
#define STRAY_CONFIRM 3         /* passes without a tag before it counts */
#define ENVIRON_MAX (8 << 20)   /* bytes of /proc/PID/environ read */

/* A spawned child, from before its spawn until cc_proc_supervise reaped
 * it. */
struct spawned {
	unsigned long long tag;
	pid_t pid;              /* 0 until posix_spawn returned */
	int ended;              /* it exited: its tagged orphans are killed */
};

/* An orphan without our tag, first seen when tags up to upto existed: it
 * descends from one of them, so it goes once they have all ended. Its
 * environment is read again on its first STRAY_CONFIRM sightings: a
 * process in the middle of an exec shows none for a moment. */
struct stray {
	pid_t pid;
	unsigned long long upto;
	int seen;               /* passes that found no tag */
};

static struct {
	pthread_mutex_t lock;   /* guards everything below */
	int on;                 /* we are a subreaper: tag, sweep */
	pid_t self;
	unsigned long long last_tag;
	struct spawned *v;
	size_t n, cap;
	struct stray strays[STRAYS_MAX];
	int nstrays;
} tree = { .lock = PTHREAD_MUTEX_INITIALIZER };

void cc_tail_add(struct cc_tail *t, const char *p, size_t n)
{
	if (n >= CC_TAIL_MAX) {
		memcpy(t->buf, p + n - CC_TAIL_MAX, CC_TAIL_MAX);
		t->truncated = t->truncated || n > CC_TAIL_MAX || t->len > 0;
		t->len = CC_TAIL_MAX;
		return;
	}
	if (t->len + n > CC_TAIL_MAX) {
		size_t drop = t->len + n - CC_TAIL_MAX;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->truncated = 1;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* ---- the tree: tags, orphans --------------------------------------------- */

/* Under tree.lock. The entry of tag, or NULL. */
static struct spawned *find_tag(unsigned long long tag)
{
	for (size_t i = 0; i < tree.n; i++)
		if (tree.v[i].tag == tag)
			return &tree.v[i];
	return NULL;
}

/* A new tag for a child about to be spawned; 0 when the subreaper is off
 * or out of memory (the child then goes untagged: its escaped
 * descendants are handled as strays). */
static unsigned long long tag_new(void)
{
	unsigned long long tag = 0;

	pthread_mutex_lock(&tree.lock);
	if (tree.on) {
		if (tree.n == tree.cap) {
			size_t nc = tree.cap ? tree.cap * 2 : 16;
			struct spawned *nv = realloc(tree.v, nc * sizeof(*nv));
			if (nv) {
				tree.v = nv;
				tree.cap = nc;
			}
		}
		if (tree.n < tree.cap) {
			tag = ++tree.last_tag;
			tree.v[tree.n++] = (struct spawned){ tag, 0, 0 };
		}
	}
	pthread_mutex_unlock(&tree.lock);
	return tag;
}

static void tag_update(unsigned long long tag, pid_t pid, int ended)
{
	struct spawned *s;

	pthread_mutex_lock(&tree.lock);
	if ((s = find_tag(tag))) {
		if (pid)
			s->pid = pid;
		if (ended)
			s->ended = 1;
	}
	pthread_mutex_unlock(&tree.lock);
}

static void tag_forget(unsigned long long tag)
{
	struct spawned *s;

	pthread_mutex_lock(&tree.lock);
	if ((s = find_tag(tag)))
		*s = tree.v[--tree.n];
	pthread_mutex_unlock(&tree.lock);
}

/* Under tree.lock. Is pid a spawned child not yet reaped? */
static int is_spawned(pid_t pid)
{
	for (size_t i = 0; i < tree.n; i++)
		if (tree.v[i].pid == pid)
			return 1;
	return 0;
}

/* Under tree.lock. Has every child tagged up to upto ended? */
static int ended_upto(unsigned long long upto)
{
	for (size_t i = 0; i < tree.n; i++)
		if (tree.v[i].tag <= upto && !tree.v[i].ended)
			return 0;
	return 1;
}

/* Under tree.lock. The stray entry of pid, made if new; NULL if full. */
static struct stray *stray_of(pid_t pid)
{
	for (int i = 0; i < tree.nstrays; i++)
		if (tree.strays[i].pid == pid)
			return &tree.strays[i];
	if (tree.nstrays == STRAYS_MAX)
		return NULL;
	tree.strays[tree.nstrays] = (struct stray){ pid, tree.last_tag, 0 };
	return &tree.strays[tree.nstrays++];
}

static void stray_forget(pid_t pid)
{
	for (int i = 0; i < tree.nstrays; i++)
		if (tree.strays[i].pid == pid) {
			tree.strays[i] = tree.strays[--tree.nstrays];
			return;
		}
}

/* The tag pid was started with: 1 with *tag set, 0 when it has none of
 * ours (no tag, another process's, or unreadable environment). */
static int read_tag(pid_t pid, unsigned long long *tag)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			size_t nc = cap ? cap * 2 : 16384;
			char *nb = nc <= ENVIRON_MAX ? realloc(buf, nc) : NULL;
			if (!nb)
				break;
			buf = nb;
			cap = nc;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	for (size_t i = 0; buf && i < len; i += strlen(buf + i) + 1) {
		int who;
		unsigned long long t;
		char end;

		if (strncmp(buf + i, TAG_ENV "=", sizeof(TAG_ENV)))
			continue;
		if (sscanf(buf + i + sizeof(TAG_ENV), "%d.%llu%c", &who, &t, &end) == 2 &&
		    who == tree.self) {
			*tag = t;
			found = 1;
		}
	}
	free(buf);
	return found;
}

/* Under tree.lock. One pass over our orphans (see proc.h): reap the
 * exited, kill those whose spawned child has ended. Returns how many
 * were sent SIGKILL, plus how many are not decided yet (no tag seen, not
 * yet STRAY_CONFIRM times): another pass soon is worth it. */
static int sweep(void)
{
	char path[64];
	FILE *f;
	int pid, killed = 0, pending = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)tree.self);
	if (!(f = fopen(path, "re")))
		return 0;
	/* Read as we go: a pid listed is our child until we reap it, and only
	 * this pass (holding the lock) reaps orphans. */
	while (fscanf(f, "%d", &pid) == 1) {
		unsigned long long tag;
		struct stray *st;
		int status, doomed;

		if (pid <= 0 || is_spawned(pid))
			continue;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			stray_forget(pid);
			continue;
		}
		if (r < 0)
			continue;
		if (read_tag(pid, &tag)) {
			struct spawned *s = find_tag(tag);
			stray_forget(pid);
			doomed = !s || s->ended;
		} else {
			st = stray_of(pid);
			if (st && st->seen < STRAY_CONFIRM) {
				st->seen++;
				pending++;
				continue;
			}
			doomed = st && ended_upto(st->upto);
		}
		if (doomed && kill(pid, SIGKILL) == 0)
			killed++;
	}
	fclose(f);
	return killed + pending;
}

int cc_proc_subreaper_start(struct cc_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (access(path, R_OK) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "%s: %s (a kernel without "
				  "CONFIG_PROC_CHILDREN?)", path, strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return cc_err_set(err, CC_ERR_INTERNAL, "prctl(PR_SET_CHILD_SUBREAPER): %s",
				  strerror(errno));
	pthread_mutex_lock(&tree.lock);
	tree.self = getpid();
	tree.on = 1;
	pthread_mutex_unlock(&tree.lock);
	return 0;
}

int cc_proc_reap_orphans(void)
{
	int killed = 0;

	pthread_mutex_lock(&tree.lock);
	if (tree.on)
		killed = sweep();
	pthread_mutex_unlock(&tree.lock);
	return killed;
}

/* The child tagged tag has exited: kill its orphans, level by level, for
 * up to TREE_GRACE seconds (what is left then goes with later passes). */
static void end_tree(unsigned long long tag)
{
	double until = cc_clock_now() + TREE_GRACE;

	tag_update(tag, 0, 1);
	for (int round = 0; cc_proc_reap_orphans() > 0 && cc_clock_now() < until; round++)
		usleep(round < 20 ? 1000 : 20000);
}

/* envp plus TAG_ENV=<self>.<tag> (replacing one already there), into a new
 * array (free it; the strings are envp's and tagbuf). NULL on OOM. */
static char **tagged_env(char *const *envp, unsigned long long tag,
			 char *tagbuf, size_t tagbuf_len)
{
	size_t n = 0, k = 0;
	char **v;

	while (envp && envp[n])
		n++;
	if (!(v = malloc((n + 2) * sizeof(*v))))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], TAG_ENV "=", sizeof(TAG_ENV)))
			v[k++] = envp[i];
	snprintf(tagbuf, tagbuf_len, TAG_ENV "=%d.%llu", (int)tree.self, tag);
	v[k++] = tagbuf;
	v[k] = NULL;
	return v;
}

/* ---- one child ----------------------------------------------------------- */

int cc_proc_spawn(struct cc_proc *p, const struct cc_proc_spec *spec,
		  struct cc_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fa_ok = 0, attr_ok = 0, rc, ret = -1;
	unsigned long long tag = tag_new();
	char tagbuf[sizeof(TAG_ENV) + 48], **envp = NULL;
	sigset_t none, dfl;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->in_fd = p->out_fd = p->err_fd = p->pidfd = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		cc_err_set(err, CC_ERR_INTERNAL, "cannot run %s: pipe: %s", spec->path,
			   strerror(errno));
		goto out;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_fail;
	fa_ok = 1;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto spawn_fail;
	attr_ok = 1;
	/* dup2 clears close-on-exec on 0-2; closefrom then drops whatever any
	 * thread or library opened without O_CLOEXEC (PITFALLS 6). */
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
		goto spawn_fail;
	if (spec->dir && (rc = posix_spawn_file_actions_addchdir_np(&fa, spec->dir)))
		goto spawn_fail;
	/* Own process group (a timeout kills the whole tree), and none of our
	 * blocked or ignored signals: a blocked mask and SIG_IGN both survive
	 * exec, and the node blocks SIGTERM and ignores SIGPIPE. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					   POSIX_SPAWN_SETSIGMASK |
					   POSIX_SPAWN_SETSIGDEF)) ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)))
		goto spawn_fail;
	if (tag && !(envp = tagged_env(spec->envp, tag, tagbuf, sizeof(tagbuf)))) {
		rc = ENOMEM;
		goto spawn_fail;
	}
	rc = posix_spawn(&pid, spec->path, &fa, &attr, spec->argv,
			 envp ? envp : spec->envp);
	if (rc != 0)
		goto spawn_fail;

	if (tag) {
		tag_update(tag, pid, 0);
		p->_tag = tag;
		tag = 0;
	}
	p->pid = pid;
	p->started = cc_clock_now();
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = errp[0];
	in[1] = out[0] = errp[0] = -1;
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	/* pidfds are always close-on-exec. */
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ret = 0;
	goto out;

spawn_fail:
	cc_err_set(err, CC_ERR_INTERNAL, "cannot run %s: %s", spec->path, strerror(rc));
out:
	if (tag)
		tag_forget(tag);
	free(envp);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	return ret;
}

/* The action's stdout, kept up to max bytes. */
struct outbuf {
	struct cc_strbuf buf;
	size_t max;
	int too_big;
};

static void out_add(struct outbuf *b, const char *p, size_t n)
{
	if (b->too_big)
		return;
	if (b->buf.len + n > b->max) {
		b->too_big = 1;
		return;
	}
	cc_strbuf_put(&b->buf, p, n);
}

/* Read what is there; returns 0 at EOF (fd closed), 1 otherwise. */
static int pump(int *fd, struct outbuf *ob, struct cc_tail *tail)
{
	char buf[16384];

	for (;;) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			if (ob)
				out_add(ob, buf, (size_t)n);
			else
				cc_tail_add(tail, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		close_fd(fd);      /* EOF or a read error: done with it */
		return 0;
	}
}

static int child_exited(const struct cc_proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == p->pid;
}

int cc_proc_supervise(struct cc_proc *p, const char *in, size_t in_len,
		      size_t max_out, int timeout_s, struct cc_proc_result *r,
		      struct cc_err *err)
{
	struct outbuf ob = { .max = max_out };
	double deadline = timeout_s > 0 ? p->started + timeout_s : 0;
	double kill_at = 0, drain_until = 0, exited_at = 0;
	size_t in_off = 0;
	int exited = 0, status = 0, ret = 0;

	memset(r, 0, sizeof(*r));
	if (in_len == 0)
		close_fd(&p->in_fd);
	for (;;) {
		struct pollfd fds[4];
		int nf = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
		double now = cc_clock_now(), wait_s = 3600;

		if (!exited && (p->pidfd < 0 ? child_exited(p) : 0)) {
			exited = 1;
			exited_at = now;
			drain_until = now + DRAIN_GRACE;
		}
		if (exited && ((p->out_fd < 0 && p->err_fd < 0) || now >= drain_until))
			break;
		/* Deadline and output cap: signal the group, escalate later. */
		if (!exited && !kill_at && (ob.too_big || ob.buf.oom ||
					    (deadline && now >= deadline))) {
			if (!ob.too_big && !ob.buf.oom)
				r->timed_out = 1;
			kill(-p->pid, ob.too_big || ob.buf.oom ? SIGKILL : SIGTERM);
			kill_at = now + KILL_GRACE;
		}
		if (!exited && kill_at && now >= kill_at) {
			kill(-p->pid, SIGKILL);
			kill_at = now + 3600;
		}
		if (exited)
			wait_s = drain_until - now;
		else if (kill_at)
			wait_s = kill_at - now;
		else if (deadline)
			wait_s = deadline - now;
		if (p->pidfd < 0 && !exited && wait_s > 0.1)
			wait_s = 0.1;
		if (wait_s < 0)
			wait_s = 0;

		if (p->in_fd >= 0 && !exited) {
			fds[nf] = (struct pollfd){ p->in_fd, POLLOUT, 0 };
			i_in = nf++;
		}
		if (p->out_fd >= 0) {
			fds[nf] = (struct pollfd){ p->out_fd, POLLIN, 0 };
			i_out = nf++;
		}
		if (p->err_fd >= 0) {
			fds[nf] = (struct pollfd){ p->err_fd, POLLIN, 0 };
			i_err = nf++;
		}
		if (p->pidfd >= 0 && !exited) {
			fds[nf] = (struct pollfd){ p->pidfd, POLLIN, 0 };
			i_pid = nf++;
		}
		int n = poll(fds, (nfds_t)nf, (int)(wait_s * 1000) + 1);
		if (n < 0 && errno != EINTR) {
			ret = cc_err_set(err, CC_ERR_INTERNAL, "poll: %s", strerror(errno));
			kill(-p->pid, SIGKILL);
			break;
		}
		if (n <= 0)
			continue;
		if (i_in >= 0 && fds[i_in].revents) {
			ssize_t w = write(p->in_fd, in + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			/* EPIPE: it closed stdin without reading it all; fine. */
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off >= in_len)
				close_fd(&p->in_fd);
		}
		if (i_out >= 0 && fds[i_out].revents)
			pump(&p->out_fd, &ob, NULL);
		if (i_err >= 0 && fds[i_err].revents)
			pump(&p->err_fd, NULL, &r->err);
		if (i_pid >= 0 && fds[i_pid].revents) {
			exited = 1;
			exited_at = cc_clock_now();
			drain_until = exited_at + DRAIN_GRACE;
		}
	}
	if (!exited)
		exited_at = cc_clock_now();
	/* Leftover members of its group (background jobs) go now, before the
	 * reap frees the group id; then whatever left the group. */
	kill(-p->pid, SIGKILL);
	if (p->_tag && exited)
		end_tree(p->_tag);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (p->_tag) {
		/* From now on its tag is unknown, which dooms its orphans too:
		 * those the passes above missed (it had not exited, poll
		 * failed) go with later passes. */
		tag_forget(p->_tag);
		p->_tag = 0;
	}
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->pidfd);
	if (WIFEXITED(status)) {
		r->exit_code = WEXITSTATUS(status);
	} else {
		r->exit_code = -1;
		r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	r->seconds = exited_at - p->started;
	r->output_too_big = ob.too_big;
	if (ob.buf.oom && !ret)
		ret = cc_err_set(err, CC_ERR_INTERNAL, "out of memory reading the output");
	r->out = ob.buf.data;
	r->out_len = ob.buf.len;
	if (!r->out && !(r->out = calloc(1, 1)) && !ret)
		ret = cc_err_set(err, CC_ERR_INTERNAL, "out of memory");
	p->pid = -1;
	return ret;
}

void cc_proc_result_cleanup(struct cc_proc_result *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}
