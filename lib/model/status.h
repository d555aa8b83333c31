/* status.h - status codes shared by jobs and work units, as stored in
 * MySQL by the original: 1 processing, 2 succeeded, 3 failed, 4 splitting,
 * 5 merging. Units travel with the integer, jobs are shown with the name.
 *
 * The numbers are defined once, here, as macros so that SQL text can be
 * built from them at compile time ("... WHERE status IN " CC_SQL_INCOMPLETE):
 * no statement spells a status as a literal. */
#ifndef CC_STATUS_H
#define CC_STATUS_H

#define CC_ST_PROCESSING 1
#define CC_ST_SUCCEEDED  2
#define CC_ST_FAILED     3
#define CC_ST_SPLITTING  4
#define CC_ST_MERGING    5

enum cc_status {
	CC_STATUS_PROCESSING = CC_ST_PROCESSING,
	CC_STATUS_SUCCEEDED = CC_ST_SUCCEEDED,
	CC_STATUS_FAILED = CC_ST_FAILED,
	CC_STATUS_SPLITTING = CC_ST_SPLITTING,
	CC_STATUS_MERGING = CC_ST_MERGING,
};

/* SQL text of the codes, and of the sets that statements test. */
#define CC_SQL_STR_(x) #x
#define CC_SQL_STR(x) CC_SQL_STR_(x)
#define CC_SQL_PROCESSING CC_SQL_STR(CC_ST_PROCESSING)
#define CC_SQL_SUCCEEDED  CC_SQL_STR(CC_ST_SUCCEEDED)
#define CC_SQL_FAILED     CC_SQL_STR(CC_ST_FAILED)
#define CC_SQL_SPLITTING  CC_SQL_STR(CC_ST_SPLITTING)
#define CC_SQL_MERGING    CC_SQL_STR(CC_ST_MERGING)
/* still to run: processing, splitting or merging */
#define CC_SQL_INCOMPLETE \
	"(" CC_SQL_PROCESSING ", " CC_SQL_SPLITTING ", " CC_SQL_MERGING ")"
/* done: succeeded or failed */
#define CC_SQL_COMPLETE "(" CC_SQL_SUCCEEDED ", " CC_SQL_FAILED ")"

/* cc_status_name - "processing" ... "merging"; "unknown" otherwise. */
const char *cc_status_name(int status);

/* cc_status_complete - succeeded or failed. */
int cc_status_complete(int status);

#endif
