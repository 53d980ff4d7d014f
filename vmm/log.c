#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level current_level = LOG_WARN;
static struct timespec start_wall;

void log_mark_start(void) { clock_gettime(CLOCK_MONOTONIC, &start_wall); }

double log_wall_since_start(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start_wall.tv_sec) + (double)(now.tv_nsec - start_wall.tv_nsec) / 1e9;
}

double log_cpu_since_start(void)
{
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu); /* the process's CPU time since it began */
	return (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
}

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char line[512];
	va_list ap;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from different threads do not
	 * interleave. A plain \n is enough even in raw mode: term.c keeps the
	 * terminal's output processing (OPOST) on. */
	fprintf(stderr, "saevm: %s%s\n", prefix[level], line);
}
