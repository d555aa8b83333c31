/* crowd-save FILE - store FILE in the asset store for the running unit and
 * print its URL. Run by actions: the worker sets CROWD_CONFIG,
 * CROWD_ACTION, CROWD_JOB_ID and CROWD_WORK_UNIT_ID in their environment
 * (outside a unit, set them by hand). The config folder is found as by
 * every program (cc_config_find_dir): -c, else $CROWD_CONFIG, else
 * $CLOUD_CROWD_CONFIG, else ./config. Exit codes: core/exitcode.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/exitcode.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crowd-save [-c CONFDIR] FILE\n"
		"Stores FILE as ACTION/job_ID/unit_ID/NAME in the asset store of the\n"
		"config folder and prints its URL. Reads CROWD_ACTION, CROWD_JOB_ID\n"
		"and CROWD_WORK_UNIT_ID from the environment, as the worker sets them.\n"
		"The config folder: -c, else $CROWD_CONFIG, else $CLOUD_CROWD_CONFIG,\n"
		"else ./config.\n");
}

static int env_id(const char *name, long long *out)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v) {
		fprintf(stderr, "crowd-save: %s is not set (run me from an action)\n",
			name);
		return -1;
	}
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno || *end || *out <= 0) {
		fprintf(stderr, "crowd-save: %s='%s' is not a positive number\n",
			name, v);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cc_config cfg;
	struct cc_err err = { 0 };
	struct cc_store_key key;
	const char *confdir = NULL, *file = NULL;
	char dir[CC_PATH_LEN], url[8192];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return CC_EXIT_OK;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			confdir = argv[++i];
		} else if (!file && (argv[i][0] != '-' || !strcmp(argv[i], "--"))) {
			if (!strcmp(argv[i], "--") && ++i >= argc)
				break;
			file = argv[i];
		} else {
			usage(stderr);
			return CC_EXIT_USAGE;
		}
	}
	if (!file) {
		usage(stderr);
		return CC_EXIT_USAGE;
	}
	key.action = getenv("CROWD_ACTION");
	if (!key.action || !*key.action) {
		fprintf(stderr, "crowd-save: CROWD_ACTION is not set (run me from "
			"an action)\n");
		return CC_EXIT_USAGE;
	}
	if (env_id("CROWD_JOB_ID", &key.job_id) < 0 ||
	    env_id("CROWD_WORK_UNIT_ID", &key.unit_id) < 0)
		return CC_EXIT_USAGE;
	if (!cc_config_find_dir(confdir, dir)) {
		fprintf(stderr, "crowd-save: the config folder's path is too long\n");
		return CC_EXIT_CONFIG;
	}
	if (cc_config_load(&cfg, dir, &err) < 0) {
		fprintf(stderr, "crowd-save: %s\n", err.msg);
		return CC_EXIT_CONFIG;
	}
	if (cc_store_save(&cfg, &key, file, url, sizeof(url), &err) < 0) {
		fprintf(stderr, "crowd-save: %s\n", err.msg);
		return CC_EXIT_FAILED;
	}
	printf("%s\n", url);
	return fflush(stdout) == 0 ? CC_EXIT_OK : CC_EXIT_FAILED;
}
