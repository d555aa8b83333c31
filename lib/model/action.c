/* action.c - see action.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/action.h"
#include "model/status.h"

int cc_action_name_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return 0;
	for (; name[n]; n++)
		if (!((name[n] >= 'a' && name[n] <= 'z') ||
		      (name[n] >= '0' && name[n] <= '9') || name[n] == '_'))
			return 0;
	return n >= 1 && n <= CC_ACTION_NAME_MAX;
}

const char *cc_action_stage_name(enum cc_stage stage)
{
	return stage == CC_STAGE_SPLIT ? "split" :
	       stage == CC_STAGE_MERGE ? "merge" : "process";
}

enum cc_stage cc_action_stage_for_status(int status)
{
	return status == CC_STATUS_SPLITTING ? CC_STAGE_SPLIT :
	       status == CC_STATUS_MERGING ? CC_STAGE_MERGE : CC_STAGE_PROCESS;
}

void cc_action_stage_path(const struct cc_config *cfg, const char *name,
			  enum cc_stage stage, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", cfg->actions_path, name,
		 cc_action_stage_name(stage));
}

int cc_action_has_stage(const struct cc_config *cfg, const char *name,
			enum cc_stage stage)
{
	char path[CC_PATH_LEN + 160];
	struct stat st;

	if (!cc_action_name_valid(name))
		return 0;
	cc_action_stage_path(cfg, name, stage, path, sizeof(path));
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

int cc_action_exists(const struct cc_config *cfg, const char *name)
{
	return cc_action_has_stage(cfg, name, CC_STAGE_PROCESS);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *cc_action_list(const struct cc_config *cfg, int skip_disabled,
		     struct cc_err *err)
{
	DIR *d = opendir(cfg->actions_path);
	struct dirent *e;
	char **names = NULL, *out = NULL;
	size_t n = 0, cap = 0, total = 1;

	if (!d) {
		cc_err_set(err, CC_ERR_INTERNAL, "%s: %s", cfg->actions_path, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!cc_action_name_valid(e->d_name) || !cc_action_exists(cfg, e->d_name))
			continue;
		if (skip_disabled && cc_config_action_disabled(cfg, e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				goto out;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto out;
		total += strlen(names[n]) + 1;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	out = malloc(total);
	if (!out)
		goto out;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (i)
			out[o++] = ',';
		memcpy(out + o, names[i], l);
		o += l;
	}
	out[o] = '\0';
out:
	if (!out)
		cc_err_set(err, CC_ERR_INTERNAL, "out of memory listing actions");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return out;
}
