/* log.h - every line saevm prints about itself goes to stderr, prefixed
 * "saevm: ". The guest's console never goes through here. */
#ifndef SAEVM_LOG_H
#define SAEVM_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* saevm's own start, for the boot-time marker: wall and CPU seconds since. */
void log_mark_start(void);
double log_wall_since_start(void);
double log_cpu_since_start(void);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
