/* crowd-download URL FILE - fetch an http, https or file URL into FILE,
 * within the config's limits (max_download_mb; action_timeout, or an hour,
 * for the time). Written to a temporary name beside FILE and renamed, so
 * FILE is whole or absent. The config folder is found as by every program
 * (cc_config_find_dir): -c, else $CROWD_CONFIG (set for actions), else
 * $CLOUD_CROWD_CONFIG, else ./config. Exit codes: core/exitcode.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"
#include "core/exitcode.h"
#include "core/http.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-download [-c CONFDIR] URL FILE\n"
		"Downloads URL (http, https or file) into FILE, at most max_download_mb\n"
		"and action_timeout seconds (an hour when that is 0). The config folder:\n"
		"-c, else $CROWD_CONFIG, else $CLOUD_CROWD_CONFIG, else ./config.\n");
}

int main(int argc, char **argv)
{
	struct cc_config cfg;
	struct cc_err err = { 0 };
	const char *confdir = NULL, *args[2] = { NULL, NULL };
	char dir[CC_PATH_LEN], tmp[4096];
	struct cc_http *h;
	int nargs = 0, rc;
	long limit;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return CC_EXIT_OK;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			confdir = argv[++i];
		} else if (nargs < 2) {
			args[nargs++] = argv[i];
		} else {
			usage(stderr);
			return CC_EXIT_USAGE;
		}
	}
	if (nargs != 2) {
		usage(stderr);
		return CC_EXIT_USAGE;
	}
	if (!cc_config_find_dir(confdir, dir)) {
		fprintf(stderr, "crowd-download: the config folder's path is too long\n");
		return CC_EXIT_CONFIG;
	}
	if (cc_config_load(&cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-download: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.part-%d", args[1],
			     (int)getpid()) >= sizeof(tmp)) {
		fprintf(stderr, "crowd-download: %s: path too long\n", args[1]);
		return CC_EXIT_USAGE;
	}
	if (cc_http_global_init() < 0 || !(h = cc_http_new(&cfg))) {
		fprintf(stderr, "crowd-download: cannot initialise libcurl\n");
		return CC_EXIT_FAILED;
	}
	limit = cfg.action_timeout > 0 ? cfg.action_timeout : 3600;
	unlink(tmp);
	rc = cc_http_download(h, args[0], tmp, (long long)cfg.max_download_mb << 20,
			      limit, &err);
	cc_http_free(h);
	if (rc < 0) {
		fprintf(stderr, "crowd-download: %s\n", err.msg);
		return CC_EXIT_FAILED;
	}
	if (rename(tmp, args[1]) < 0) {
		fprintf(stderr, "crowd-download: %s: %s\n", args[1], strerror(errno));
		unlink(tmp);
		return CC_EXIT_FAILED;
	}
	return CC_EXIT_OK;
}
