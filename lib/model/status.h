/* status.h - status codes shared by jobs and work units, as stored in
 * MySQL by the original: 1 processing, 2 succeeded, 3 failed, 4 splitting,
 * 5 merging. Units travel with the integer, jobs are shown with the name. */
#ifndef CC_STATUS_H
#define CC_STATUS_H

enum cc_status {
	CC_STATUS_PROCESSING = 1,
	CC_STATUS_SUCCEEDED = 2,
	CC_STATUS_FAILED = 3,
	CC_STATUS_SPLITTING = 4,
	CC_STATUS_MERGING = 5,
};

/* cc_status_name - "processing" ... "merging"; "unknown" otherwise. */
const char *cc_status_name(int status);

/* cc_status_complete - succeeded or failed. */
int cc_status_complete(int status);

#endif
