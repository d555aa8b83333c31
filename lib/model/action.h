/* action.h - the actions folder: actions/NAME/ (NAME matches [a-z0-9_]+)
 * holding an executable `process` and optionally `split` and `merge`.
 * Central reads it to refuse unknown actions and to know a job's stages; a
 * node reads it to offer its actions (minus disabled_actions). */
#ifndef CC_ACTION_H
#define CC_ACTION_H

#include <stddef.h>
#include "core/config.h"
#include "core/err.h"

#define CC_ACTION_NAME_MAX 64

enum cc_stage { CC_STAGE_SPLIT, CC_STAGE_PROCESS, CC_STAGE_MERGE };

/* cc_action_name_valid - 1 if name matches [a-z0-9_]{1,64}. */
int cc_action_name_valid(const char *name);

/* cc_action_stage_name - "split", "process", "merge". */
const char *cc_action_stage_name(enum cc_stage stage);

/* cc_action_stage_for_status - the stage a unit of that status runs:
 * 4 splitting -> split, 5 merging -> merge, else process. */
enum cc_stage cc_action_stage_for_status(int status);

/* cc_action_exists / cc_action_has_stage - look in cfg->actions_path. */
int cc_action_exists(const struct cc_config *cfg, const char *name);
int cc_action_has_stage(const struct cc_config *cfg, const char *name,
			enum cc_stage stage);

/* cc_action_stage_path - full path of a stage's executable into out. */
void cc_action_stage_path(const struct cc_config *cfg, const char *name,
			  enum cc_stage stage, char *out, size_t len);

/* cc_action_list - the installed actions, sorted, comma-separated, into a
 * new string (caller frees); with skip_disabled, minus disabled_actions.
 * NULL on failure with err set. */
char *cc_action_list(const struct cc_config *cfg, int skip_disabled,
		     struct cc_err *err);

#endif
