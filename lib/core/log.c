/* log.c - timestamped log lines; one write(2) per line so that lines from
 * concurrent processes appending to one file never interleave. Every
 * message goes through cc_redact (core/redact.h) before it is written, so
 * no program logs a URL's password or a presigned URL's signature, whatever
 * the caller passed; the message is redacted whole and only then cut to
 * the line's size, so a cut never shows part of a secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include "core/log.h"
#include "core/redact.h"

int cc_log_min_level = CC_LOG_INFO;
static const char *prog = "crowd";
static int log_fd = 2;
static int tee_stderr;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void cc_log_init(const char *program)
{
	prog = program;
}

int cc_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void cc_log_tee(int on)
{
	tee_stderr = on;
}

int cc_log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, level_names[i])) {
			cc_log_min_level = i;
			return 0;
		}
	return -1;
}

void cc_log_write(enum cc_log_level level, const char *file, int line,
		  const char *fmt, ...)
{
	int saved = errno;
	char buf[4096], msg[4096], *big = NULL;
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(buf + n, sizeof(buf) - n, ".%03ldZ %s[%d] %s: ",
		     (long)(tv.tv_usec / 1000), prog, (int)getpid(),
		     level_names[level]);
	if (k > 0)
		n += (size_t)k;
	/* The whole message first (a longer one on the heap), then its
	 * redacted copy into the line. */
	va_start(ap, fmt);
	k = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k >= (int)sizeof(msg)) {
		va_start(ap, fmt);
		if (vasprintf(&big, fmt, ap) < 0)
			big = NULL;
		va_end(ap);
	}
	if (k > 0) {
		const char *m = big ? big : msg;
		size_t ml = big ? strlen(big) : strnlen(msg, sizeof(msg) - 1);
		size_t r = cc_redact(m, ml, buf + n, sizeof(buf) - n);
		n = n + r >= sizeof(buf) ? sizeof(buf) - 1 : n + r;
	}
	free(big);
	if (level >= CC_LOG_WARN && n < sizeof(buf) - 1) {
		k = snprintf(buf + n, sizeof(buf) - n, " (%s:%d)", file, line);
		if (k > 0)
			n = n + (size_t)k >= sizeof(buf) ? sizeof(buf) - 1 : n + (size_t)k;
	}
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(log_fd, buf, n) < 0) {
		/* nowhere left to report it */
	}
	if (tee_stderr && log_fd != 2 && write(2, buf, n) < 0) {
		/* likewise */
	}
	errno = saved;
}
