/* console_exit.h - --exit-on-console: the exit status a guest prints.
 *
 * A bare-metal test that cannot use saevm's exit device prints its verdict
 * on the console, e.g. kvm-unit-tests' "EXIT: STATUS=%d". The watch sees
 * every byte the guest writes to its console; after PATTERN it reads a
 * decimal number, and at the first byte that is not a digit the status is
 * final: the number (halved first for kvm-unit-tests, whose runner
 * decodes STATUS=(code << 1) | 1 so), modulo 256 as a shell's $? is.
 * Pure: bytes in, a status out; the console calls it under its lock. */
#ifndef SAEVM_CONSOLE_EXIT_H
#define SAEVM_CONSOLE_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CONSOLE_EXIT_PATTERN_MAX 64
#define CONSOLE_EXIT_KVM_UNIT_TESTS "kvm-unit-tests" /* the preset's name */

struct console_exit {
	char pattern[CONSOLE_EXIT_PATTERN_MAX + 1];
	size_t len;
	unsigned shift;          /* the number is shifted right by this first */
	uint8_t window[CONSOLE_EXIT_PATTERN_MAX]; /* the last `len` bytes, a ring */
	size_t seen;             /* bytes seen so far, up to len */
	size_t at;               /* where the next byte goes in the window */
	bool in_number;          /* the pattern matched; digits follow */
	unsigned digits;
	uint64_t number;
	bool done;               /* a status was found; the watch stops */
};

/* PATTERN, or "kvm-unit-tests" for "EXIT: STATUS=" halved. Errors
 * (EXIT_USAGE): empty, too long, or a control character in it. */
int console_exit_init(struct console_exit *w, const char *spec, struct error *err);

/* Feeds guest output; true (and *status) once, when the status is final. */
bool console_exit_feed(struct console_exit *w, const uint8_t *bytes, size_t len, int *status);

#endif
