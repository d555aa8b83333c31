/* progress.h - pure helpers of `crowd submit/status`: argument parsing
 * (job ids, counts) and how a job's progress is shown, as a live bar on a
 * terminal or as plain timestamped lines otherwise. No I/O here, so
 * tests/unit/test_cli_progress.c checks every shape. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <jansson.h>
#include <stddef.h>

/* cli_parse_job_id - a job id: decimal digits only, 1 to 2^63-1. Returns 0
 * with *id set, or -1 ("abc", "-1", "0", "1e3", " 7", overflow). */
int cli_parse_job_id(const char *s, long long *id);

/* cli_parse_long - a whole number from min to max (digits, optional '-');
 * 0 with *out set, or -1. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* cli_parse_seconds - a non-negative number of seconds ("2", "0.5"),
 * finite, at most max; 0 with *out set, or -1. */
int cli_parse_seconds(const char *s, double max, double *out);

/* What a job JSON says, for display. */
struct cli_job_view {
	long long id;
	char status[16];         /* processing, succeeded, failed, ... */
	int percent;             /* 0-100 */
	long long units;         /* work units of the stage (0 once complete) */
	long long done;          /* of them, done: central's "units_done" when
				    it sends one, else worked out from the
				    percentage (exact up to 100 units) */
	double seconds;          /* time_taken */
	int complete;            /* succeeded or failed */
	int succeeded;
};

/* cli_job_view_from_json - fill v from a job JSON object; -1 when it is
 * not one (no integer id or no status string). */
int cli_job_view_from_json(const json_t *job, struct cli_job_view *v);

/* cli_fmt_elapsed - "0:07", "12:03", "1:02:03" (h:mm:ss) into out. */
void cli_fmt_elapsed(double seconds, char *out, size_t n);

/* cli_progress_bar - the terminal line (no \r, no newline):
 * "job 42 [##########----------]  50%  processing  2/4 units  0:03",
 * the bar width cells wide (at least 5); without the units when there are
 * none (a complete job). */
void cli_progress_bar(const struct cli_job_view *v, int width, char *out,
		      size_t n);

/* cli_progress_line - the plain line, after a timestamp the caller adds:
 * "job 42: processing, 50% done, 2/4 units, 3.1 s" (without the units
 * when there are none). */
void cli_progress_line(const struct cli_job_view *v, char *out, size_t n);

/* cli_progress_changed - whether b would show something a does not
 * (status, percent or unit counts differ). */
int cli_progress_changed(const struct cli_job_view *a,
			 const struct cli_job_view *b);

/* cli_timestamp - ISO-8601 UTC with milliseconds, as log lines have
 * ("2026-01-02T03:04:05.678Z"), for the given epoch seconds. */
void cli_timestamp(double epoch, char *out, size_t n);

#endif
