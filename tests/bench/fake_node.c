/* fake_node.c - a stand-in node agent for the W4 dispatch-pass figure of
 * `make bench`: it accepts every POST /work at once with 200 {"pid": N}
 * (N counting up) and runs nothing, so a timed pass measures central's own
 * cost (node list, reservation, the POSTs over kept-alive connections, the
 * assignments) and no action. GET /heartbeat answers buh-bump. HTTP/1.1
 * with keep-alive, any number of connections, one poll() loop.
 *
 * usage: fake_node PORT      (listens on 127.0.0.1:PORT until SIGTERM)
 * On SIGTERM prints "requests=N" and exits. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 256
#define BUFSZ (1 << 20)

struct conn {
	int fd;
	char *buf;
	size_t len;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Length of the first complete request in c->buf, or 0 if incomplete. */
static size_t complete(const struct conn *c)
{
	char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	size_t head, body = 0;

	if (!end)
		return 0;
	head = (size_t)(end - c->buf) + 4;
	for (char *p = c->buf; p < end; p++) {
		if ((p == c->buf || p[-1] == '\n') && !strncasecmp(p, "Content-Length:", 15)) {
			body = strtoul(p + 15, NULL, 10);
			break;
		}
	}
	return c->len >= head + body ? head + body : 0;
}

int main(int argc, char **argv)
{
	struct conn conns[MAXC];
	struct pollfd pfd[MAXC + 1];
	struct sockaddr_in a = { 0 };
	struct sigaction sa = { 0 };
	long long pid = 100000, requests = 0;
	int ls, one = 1, nc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: fake_node PORT\n");
		return 2;
	}
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128)) {
		perror("fake_node: bind/listen");
		return 1;
	}
	while (!stopping) {
		pfd[0].fd = ls;
		pfd[0].events = POLLIN;
		for (int i = 0; i < nc; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nc + 1, 200) < 0)
			continue;
		for (int i = nc - 1; i >= 0; i--) {
			struct conn *c = &conns[i];
			ssize_t n;
			size_t req;
			int closed = 0;

			if (!pfd[i + 1].revents)
				continue;
			n = read(c->fd, c->buf + c->len, BUFSZ - c->len);
			if (n <= 0) {
				closed = 1;
			} else {
				c->len += (size_t)n;
				while ((req = complete(c)) > 0) {
					char body[64], resp[256];
					int bl, rl;

					if (!strncmp(c->buf, "GET /heartbeat", 14))
						bl = snprintf(body, sizeof(body), "buh-bump");
					else
						bl = snprintf(body, sizeof(body), "{\"pid\": %lld}", pid++);
					rl = snprintf(resp, sizeof(resp),
						      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
						      "Content-Length: %d\r\n\r\n%s", bl, body);
					if (write(c->fd, resp, (size_t)rl) != rl)
						closed = 1;
					requests++;
					memmove(c->buf, c->buf + req, c->len - req);
					c->len -= req;
				}
				if (c->len == BUFSZ)
					closed = 1;
			}
			if (closed) {
				close(c->fd);
				free(c->buf);
				conns[i] = conns[--nc];
			}
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);
			if (fd >= 0 && nc < MAXC) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				conns[nc].fd = fd;
				conns[nc].len = 0;
				conns[nc].buf = malloc(BUFSZ);
				if (conns[nc].buf)
					nc++;
				else
					close(fd);
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
	printf("requests=%lld\n", requests);
	return 0;
}
