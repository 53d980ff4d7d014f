/* term.h - the controlling terminal. When stdin is a tty saevm puts it in
 * raw mode (Ctrl-C reaches the guest) and restores it on every exit path:
 * normal teardown, errors, and fatal signals (a handler restores, then
 * re-raises). */
#ifndef SAEVM_TERM_H
#define SAEVM_TERM_H

#include <stdbool.h>

/* Raw mode on `fd` if it is a terminal; returns whether it is one. */
bool term_enter_raw(int fd);
/* Restores the saved settings; safe to call often and from signal handlers. */
void term_restore(void);

#endif
