/* log.h - one logging module for every program.
 * Line: ISO-8601 UTC time with milliseconds, program, pid, level, message
 * (and file:line for warnings and errors). Output goes to stderr, or to the
 * file given to cc_log_open (opened O_APPEND, so pool processes share it). */
#ifndef CC_LOG_H
#define CC_LOG_H

enum cc_log_level { CC_LOG_DEBUG, CC_LOG_INFO, CC_LOG_WARN, CC_LOG_ERROR };

extern int cc_log_min_level;

/* cc_log_init - set the program name shown on each line (not copied). */
void cc_log_init(const char *program);

/* cc_log_open - append log lines to path instead of stderr; -1 on failure
 * (logging stays on stderr). */
int cc_log_open(const char *path);

/* cc_log_tee - also copy every line to stderr while logging to a file. */
void cc_log_tee(int on);

/* cc_log_set_level - "debug", "info", "warn" or "error"; -1 if unknown. */
int cc_log_set_level(const char *name);

void cc_log_write(enum cc_log_level level, const char *file, int line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Skip evaluating arguments below the level (redis serverLog style). */
#define cc_log(level, ...) do { \
	if ((level) >= cc_log_min_level) \
		cc_log_write((level), __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)
#define cc_debug(...) cc_log(CC_LOG_DEBUG, __VA_ARGS__)
#define cc_info(...)  cc_log(CC_LOG_INFO, __VA_ARGS__)
#define cc_warn(...)  cc_log(CC_LOG_WARN, __VA_ARGS__)
#define cc_error(...) cc_log(CC_LOG_ERROR, __VA_ARGS__)

#endif
