/* progress.c - see progress.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "progress.h"

int cli_parse_job_id(const char *s, long long *id)
{
	char *end;
	long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	*id = v;
	return 0;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !(isdigit((unsigned char)*s) ||
		    (*s == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_job_view_from_json(const json_t *job, struct cli_job_view *v)
{
	const json_t *id = json_object_get(job, "id");
	const char *st = json_string_value(json_object_get(job, "status"));
	const json_t *pc = json_object_get(job, "percent_complete");
	const json_t *wu = json_object_get(job, "work_units");
	const json_t *tt = json_object_get(job, "time_taken");

	memset(v, 0, sizeof(*v));
	if (!json_is_object(job) || !json_is_integer(id) || !st)
		return -1;
	v->id = json_integer_value(id);
	snprintf(v->status, sizeof(v->status), "%s", st);
	v->percent = json_is_number(pc) ? (int)json_number_value(pc) : 0;
	if (v->percent < 0)
		v->percent = 0;
	if (v->percent > 100)
		v->percent = 100;
	v->units = json_is_integer(wu) && json_integer_value(wu) > 0 ?
		   json_integer_value(wu) : 0;
	if (json_is_integer(json_object_get(job, "units_done")))
		v->done = json_integer_value(json_object_get(job, "units_done"));
	else if (!strcmp(st, "merging"))
		v->done = 0;             /* 99% while the merge runs */
	else
		v->done = llround((double)v->percent * (double)v->units / 100.0);
	if (v->done < 0)
		v->done = 0;
	if (v->done > v->units)
		v->done = v->units;
	v->seconds = json_is_number(tt) ? json_number_value(tt) : 0;
	v->succeeded = !strcmp(st, "succeeded");
	v->complete = v->succeeded || !strcmp(st, "failed");
	return 0;
}

void cli_fmt_elapsed(double seconds, char *out, size_t n)
{
	long s = seconds > 0 && seconds < 1e9 ? (long)seconds : 0;

	if (s >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%ld:%02ld", s / 60, s % 60);
}

/* "SEP2/4 units", or "" when the job has no units (any more). */
static void units_text(const struct cli_job_view *v, const char *sep, char *out,
		       size_t n)
{
	if (v->units > 0)
		snprintf(out, n, "%s%lld/%lld unit%s", sep, v->done, v->units,
			 v->units == 1 ? "" : "s");
	else
		out[0] = '\0';
}

void cli_progress_bar(const struct cli_job_view *v, int width, char *out,
		      size_t n)
{
	char bar[256], el[32], units[64];
	int fill;

	if (width < 5)
		width = 5;
	if (width > (int)sizeof(bar) - 3)
		width = (int)sizeof(bar) - 3;
	fill = v->percent * width / 100;
	bar[0] = '[';
	for (int i = 0; i < width; i++)
		bar[1 + i] = i < fill ? '#' : '-';
	bar[1 + width] = ']';
	bar[2 + width] = '\0';
	cli_fmt_elapsed(v->seconds, el, sizeof(el));
	units_text(v, "  ", units, sizeof(units));
	snprintf(out, n, "job %lld %s %3d%%  %s%s  %s", v->id, bar, v->percent,
		 v->status, units, el);
}

void cli_progress_line(const struct cli_job_view *v, char *out, size_t n)
{
	char units[64];

	units_text(v, ", ", units, sizeof(units));
	snprintf(out, n, "job %lld: %s, %d%% done%s, %.1f s", v->id, v->status,
		 v->percent, units, v->seconds);
}

int cli_progress_changed(const struct cli_job_view *a,
			 const struct cli_job_view *b)
{
	return strcmp(a->status, b->status) || a->percent != b->percent ||
	       a->units != b->units || a->done != b->done;
}

void cli_timestamp(double epoch, char *out, size_t n)
{
	long long total = epoch > 0 ? llround(epoch * 1000) : 0;
	time_t t = (time_t)(total / 1000);
	long ms = (long)(total % 1000);
	struct tm tm;
	char day[32];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03ldZ", day, ms);
}
