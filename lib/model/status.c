/* status.c - see status.h. */
#include "model/status.h"

const char *cc_status_name(int status)
{
	switch (status) {
	case CC_STATUS_PROCESSING: return "processing";
	case CC_STATUS_SUCCEEDED:  return "succeeded";
	case CC_STATUS_FAILED:     return "failed";
	case CC_STATUS_SPLITTING:  return "splitting";
	case CC_STATUS_MERGING:    return "merging";
	}
	return "unknown";
}

int cc_status_complete(int status)
{
	return status == CC_STATUS_SUCCEEDED || status == CC_STATUS_FAILED;
}
