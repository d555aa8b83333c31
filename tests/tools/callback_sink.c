/* callback_sink.c - a real HTTP receiver for job callbacks in tests:
 * listens on 127.0.0.1:PORT, appends each request as one line
 * "METHOD PATH BODY" to FILE (and its X-CloudCrowd-Delivery header, when
 * there is one, as a line to FILE.delivery), and answers STATUS (default
 * 200). STATUS "hang" answers nothing, ever: each request is written down
 * and then held until the sink stops (a receiver that hangs).
 * usage: callback_sink PORT FILE [STATUS|hang] */
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conn {
	char *body;
	size_t len;
};

static const char *out_path;
static unsigned int answer = 200;
static int hang;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **state)
{
	struct conn *s = *state;
	struct MHD_Response *r;
	enum MHD_Result ret;
	FILE *f;

	(void)cls;
	(void)version;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_NO;
		*state = s;
		return MHD_YES;
	}
	if (*size) {
		char *nb = realloc(s->body, s->len + *size + 1);
		if (!nb)
			return MHD_NO;
		s->body = nb;
		memcpy(s->body + s->len, data, *size);
		s->len += *size;
		s->body[s->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	f = fopen(out_path, "a");
	if (f) {
		fprintf(f, "%s %s %s\n", method, url, s->body ? s->body : "");
		fclose(f);
	}
	{
		const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     "X-CloudCrowd-Delivery");
		char path[4096];

		if (id && snprintf(path, sizeof(path), "%s.delivery", out_path) <
		    (int)sizeof(path) && (f = fopen(path, "a"))) {
			fprintf(f, "%s\n", id);
			fclose(f);
		}
	}
	if (hang) {
		/* this connection's own thread: hold it until the sink stops */
		for (;;)
			poll(NULL, 0, 1000);
	}
	r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, answer, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode code)
{
	struct conn *s = *state;

	(void)cls;
	(void)c;
	(void)code;
	if (s) {
		free(s->body);
		free(s);
	}
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	sigset_t set;
	int sig;

	if (argc < 3) {
		fprintf(stderr, "usage: callback_sink PORT FILE [STATUS]\n");
		return 1;
	}
	out_path = argv[2];
	if (argc > 3 && !strcmp(argv[3], "hang"))
		hang = 1;
	else if (argc > 3)
		answer = (unsigned)atoi(argv[3]);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(hang ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD :
			     MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)atoi(argv[1]),
			     NULL, NULL, on_request, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "callback_sink: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	sigwait(&set, &sig);
	if (hang)
		_exit(0);      /* held connections' threads never return */
	MHD_stop_daemon(d);
	return 0;
}
