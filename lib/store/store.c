/* store.c - the asset store front (see store.h): checks what every backend
 * relies on (a valid action name, positive ids, a plain file name) and
 * hands the call to the backend cfg->storage names. */
#include <string.h>
#include "model/action.h"
#include "store/store.h"
#include "store/store_fs.h"
#include "store/store_s3.h"

/* The part after the last '/', borrowed from path. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int check(const char *action, long long job_id, long long unit_id,
		 struct cc_err *err)
{
	if (!cc_action_name_valid(action))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "invalid action name '%.80s' "
				  "(expected [a-z0-9_]+)", action ? action : "");
	if (job_id <= 0 || unit_id <= 0)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "invalid job id %lld or unit id %lld",
				  job_id, unit_id);
	return 0;
}

int cc_store_save(const struct cc_config *cfg, const struct cc_store_key *key,
		  const char *path, char *url, size_t url_len,
		  struct cc_err *err)
{
	const char *name;

	if (!key)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "no storage key");
	if (check(key->action, key->job_id, key->unit_id, err) < 0)
		return -1;
	if (!path)
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "no file to save");
	name = base_name(path);
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return cc_err_set(err, CC_ERR_BAD_REQUEST, "cannot save '%.200s': not a file name",
				  path);
	if (!strcmp(cfg->storage, "filesystem"))
		return cc_store_fs_save(cfg, key, path, name, url, url_len, err);
	if (!strcmp(cfg->storage, "s3"))
		return cc_store_s3_save(cfg, key, path, name, url, url_len, err);
	return cc_err_set(err, CC_ERR_INTERNAL, "unknown storage '%s'", cfg->storage);
}

int cc_store_delete_job(const struct cc_config *cfg, const char *action,
			long long job_id, struct cc_err *err)
{
	if (check(action, job_id, 1, err) < 0)
		return -1;
	if (!strcmp(cfg->storage, "filesystem"))
		return cc_store_fs_delete_job(cfg, action, job_id, err);
	if (!strcmp(cfg->storage, "s3"))
		return cc_store_s3_delete_job(cfg, action, job_id, err);
	return cc_err_set(err, CC_ERR_INTERNAL, "unknown storage '%s'", cfg->storage);
}
