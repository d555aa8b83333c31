/* crowd-download URL FILE - fetch an http, https or file URL into FILE,
 * within the config's limits (max_download_mb; action_timeout, or an hour,
 * for the time). Written to a temporary name beside FILE and renamed, so
 * FILE is whole or absent. Run by actions (CROWD_CONFIG names the config);
 * elsewhere -c or $CLOUD_CROWD_CONFIG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"
#include "core/http.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-download [-c CONFDIR] URL FILE\n"
		"Downloads URL (http, https or file) into FILE, at most max_download_mb\n"
		"and action_timeout seconds (an hour when that is 0).\n");
}

int main(int argc, char **argv)
{
	struct cc_config cfg;
	struct cc_err err = { 0 };
	const char *confdir = getenv("CROWD_CONFIG"), *args[2] = { NULL, NULL };
	char dir[CC_PATH_LEN], tmp[4096];
	struct cc_http *h;
	int nargs = 0, rc;
	long limit;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			if (!confdir || !*confdir)
				confdir = argv[i + 1];
			i++;
		} else if (nargs < 2) {
			args[nargs++] = argv[i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (nargs != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cc_config_find_dir(confdir, dir);
	if (cc_config_load(&cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-download: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.part-%d", args[1],
			     (int)getpid()) >= sizeof(tmp)) {
		fprintf(stderr, "crowd-download: %s: path too long\n", args[1]);
		return EXIT_USAGE;
	}
	if (cc_http_global_init() < 0 || !(h = cc_http_new(&cfg))) {
		fprintf(stderr, "crowd-download: cannot initialise libcurl\n");
		return EXIT_FAIL;
	}
	limit = cfg.action_timeout > 0 ? cfg.action_timeout : 3600;
	unlink(tmp);
	rc = cc_http_download(h, args[0], tmp, (long long)cfg.max_download_mb << 20,
			      limit, &err);
	cc_http_free(h);
	if (rc < 0) {
		fprintf(stderr, "crowd-download: %s\n", err.msg);
		return EXIT_FAIL;
	}
	if (rename(tmp, args[1]) < 0) {
		fprintf(stderr, "crowd-download: %s: %s\n", args[1], strerror(errno));
		unlink(tmp);
		return EXIT_FAIL;
	}
	return 0;
}
