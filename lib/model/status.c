/* status.c - see status.h. */
#include "model/status.h"

const char *cc_status_name(int status)
{
	static const char *const names[] = { "unknown", "processing",
		"succeeded", "failed", "splitting", "merging" };

	return status >= 1 && status <= 5 ? names[status] : names[0];
}

int cc_status_complete(int status)
{
	return status == CC_STATUS_SUCCEEDED || status == CC_STATUS_FAILED;
}
