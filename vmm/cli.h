/* cli.h - argv -> struct vm_config. Pure: no I/O, no exit(); errors come
 * back in struct error with EXIT_USAGE. */
#ifndef SAEVM_CLI_H
#define SAEVM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

int cli_parse(int argc, char *const argv[], struct vm_config *cfg, struct error *err);

/* Sets one option by its long name ("mem", "cpus"...): the CLI and the
 * config file share this, so both accept exactly the same values. */
int cli_set_option(struct vm_config *cfg, const char *name, const char *value, struct error *err);

/* Whether `name` is a flag (an option without a value), and set or clear
 * it (a config file's "reboot = false"). */
bool cli_option_is_flag(const char *name);
int cli_set_flag(struct vm_config *cfg, const char *name, bool on, struct error *err);

/* Parses a size: a number of MiB, or a number with K, M, G or T (optionally
 * followed by "iB" or "B"). */
int cli_parse_size(const char *text, uint64_t *out);

/* The kernel command line the guest gets: the user's, with console=ttyS0
 * put first only when the user named no console=. Returns bytes written
 * (without NUL), or -1 when it does not fit in `size`. */
int cli_kernel_cmdline(const struct vm_config *cfg, char *buf, size_t size);

void cli_print_help(FILE *out);
void cli_print_exit_codes(FILE *out);
void cli_print_sandbox_help(FILE *out);

#endif
