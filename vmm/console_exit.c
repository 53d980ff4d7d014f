#include "console_exit.h"

#include <string.h>

int console_exit_init(struct console_exit *w, const char *spec, struct error *err)
{
	memset(w, 0, sizeof(*w));
	if (!strcmp(spec, CONSOLE_EXIT_KVM_UNIT_TESTS)) {
		spec = "EXIT: STATUS=";
		w->shift = 1;
	}
	w->len = strlen(spec);
	if (w->len == 0 || w->len > CONSOLE_EXIT_PATTERN_MAX)
		return err_set(err, EXIT_USAGE, "--exit-on-console: the pattern must have 1 to %d characters",
			       CONSOLE_EXIT_PATTERN_MAX);
	for (size_t i = 0; i < w->len; i++)
		if ((unsigned char)spec[i] < 0x20 || spec[i] == 0x7f)
			return err_set(err, EXIT_USAGE, "--exit-on-console: the pattern has a control character");
	memcpy(w->pattern, spec, w->len);
	return 0;
}

/* Whether the window (the last len bytes, oldest at `at`) is the pattern. */
static bool window_matches(const struct console_exit *w)
{
	for (size_t i = 0; i < w->len; i++)
		if (w->window[(w->at + i) % w->len] != (uint8_t)w->pattern[i])
			return false;
	return true;
}

bool console_exit_feed(struct console_exit *w, const uint8_t *bytes, size_t len, int *status)
{
	for (size_t i = 0; i < len && !w->done; i++) {
		uint8_t b = bytes[i];

		if (w->in_number) {
			if (b >= '0' && b <= '9' && w->digits < 19) {
				w->number = w->number * 10 + (uint64_t)(b - '0');
				w->digits++;
				continue;
			}
			if (w->digits) {
				w->done = true;
				*status = (int)((w->number >> w->shift) & 0xff);
				return true;
			}
			w->in_number = false; /* the pattern, then no number: look again */
		}
		w->window[w->at] = b;
		w->at = (w->at + 1) % w->len;
		if (w->seen < w->len)
			w->seen++;
		if (w->seen == w->len && window_matches(w)) {
			w->in_number = true;
			w->digits = 0;
			w->number = 0;
		}
	}
	return false;
}
