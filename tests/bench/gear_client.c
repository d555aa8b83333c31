/* gear_client.c - the gearmand baseline of `make bench` (W1 baseline b),
 * adapted from shared/bench/peers/2a_gearman.sh: one libgearman client
 * connection to gearmand; the workers are `gearman -w -f noop -- EXE`
 * (fork + exec of EXE per job, the job's data on its stdin, its stdout the
 * result). EXE is the same noop action the node runs; it prints
 * $CROWD_INPUT, which the workers' environment sets to EXPECT, so every
 * result must be EXPECT plus a newline.
 *
 * usage: gear_client PORT fg N EXPECT    N foreground tasks at once
 *                                        (gearman_client_run_tasks)
 *        gear_client PORT lat N EXPECT   N gearman_client_do() in turn
 * prints: tasks_per_s=.. n=N   |   lat_p50_ms=.. lat_p99_ms=.. n=N */
#include <libgearman/gearman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int done, bad;
static char expect[256];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static gearman_return_t complete(gearman_task_st *t)
{
	size_t n = gearman_task_data_size(t);

	if (n != strlen(expect) || memcmp(gearman_task_data(t), expect, n))
		bad++;
	done++;
	return GEARMAN_SUCCESS;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	gearman_client_st *cl;
	gearman_return_t r;
	int port, n;
	char **in;

	if (argc != 5) {
		fprintf(stderr, "usage: gear_client PORT fg|lat N EXPECT\n");
		return 2;
	}
	port = atoi(argv[1]);
	n = atoi(argv[3]);
	snprintf(expect, sizeof(expect), "%s\n", argv[4]);
	cl = gearman_client_create(NULL);
	if (!cl || gearman_client_add_server(cl, "127.0.0.1", (in_port_t)port) != GEARMAN_SUCCESS) {
		fprintf(stderr, "gear_client: add_server failed\n");
		return 1;
	}
	in = malloc((size_t)n * sizeof(*in));
	for (int i = 0; i < n; i++) {
		in[i] = malloc(64);
		snprintf(in[i], 64, "{\"id\":%d,\"input\":\"unit-%d\",\"action\":\"noop\"}", i + 1, i);
	}
	if (!strcmp(argv[2], "fg")) {
		double t0 = now(), dt;

		gearman_client_set_complete_fn(cl, complete);
		for (int i = 0; i < n; i++)
			if (!gearman_client_add_task(cl, NULL, in[i], "noop", NULL, in[i],
						     strlen(in[i]), &r)) {
				fprintf(stderr, "gear_client: add_task: %s\n", gearman_client_error(cl));
				return 1;
			}
		r = gearman_client_run_tasks(cl);
		dt = now() - t0;
		if (r != GEARMAN_SUCCESS || done != n || bad) {
			fprintf(stderr, "gear_client: run_tasks: %s done=%d bad=%d\n",
				gearman_client_error(cl), done, bad);
			return 1;
		}
		printf("tasks_per_s=%.1f n=%d\n", n / dt, n);
	} else {
		double *l = malloc((size_t)n * sizeof(*l));

		for (int i = 0; i < n; i++) {
			size_t rs;
			double t0 = now();
			void *res = gearman_client_do(cl, "noop", NULL, in[i], strlen(in[i]), &rs, &r);
			l[i] = now() - t0;
			if (r != GEARMAN_SUCCESS || rs != strlen(expect) || memcmp(res, expect, rs)) {
				fprintf(stderr, "gear_client: do: %s\n", gearman_client_error(cl));
				return 1;
			}
			free(res);
		}
		qsort(l, (size_t)n, sizeof(*l), cmpd);
		printf("lat_p50_ms=%.3f lat_p99_ms=%.3f n=%d\n", l[n / 2] * 1000,
		       l[(int)((n - 1) * 0.99 + 0.5)] * 1000, n);
	}
	gearman_client_free(cl);
	return 0;
}
