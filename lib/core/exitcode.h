/* exitcode.h - the exit codes of every program: crowd, crowd-server,
 * crowd-node, ccdistribute, crowd-save and crowd-download. One table, so
 * a script, a systemd unit or cron can tell a bad command line from a bad
 * config or an unreachable database whichever program it ran. The values
 * are those `crowd` has always used (README.md, "Exit codes"); a new code
 * is added at the end, never renumbered. Only main() returns them
 * (STYLE.md 3: lib/ never exits). */
#ifndef CC_EXITCODE_H
#define CC_EXITCODE_H

enum cc_exit {
	CC_EXIT_OK = 0,          /* done; the job succeeded */
	CC_EXIT_FAILED = 1,      /* the job failed, or the program could not
				    do what was asked (already running, a
				    download or a dispatch pass failed, ...) */
	CC_EXIT_USAGE = 2,       /* bad command line (or environment, for
				    the action tools) */
	CC_EXIT_CONFIG = 3,      /* config folder missing or invalid */
	CC_EXIT_DB = 4,          /* database unreachable or schema out of date */
	CC_EXIT_CENTRAL = 5,     /* central server unreachable or refusing */
	CC_EXIT_DAEMON = 6,      /* a process would not start or stop (a
				    socket or port it cannot listen on, ...) */
};

#endif
