/* config_file.h - vmm.conf: an INI-style file with the run options.
 *
 *   [vm]      mem, cpus, name, irqchip, kvm-dev, host-profile, reboot,
 *             log-level, timeout, stats, no-rng
 *   [kernel]  kernel, initrd, params
 *   [console] console, console-log
 *   [disk "NAME"]  path, ro, direct, id (default: NAME)   one per disk
 *   [net "NAME"]   mode (user|tap), hostfwd (repeatable), net, mac, ifname
 *
 * Keys are the long command-line option names and take the same values
 * (flags take true/false/yes/no/on/off/1/0). "#" and ";" start comments.
 * The values are copied into cfg; vm_config_free() releases them.
 * Errors name file:line, the key and what was expected; an unknown key or
 * section gets a "did you mean". Pure text processing: unit-tested. */
#ifndef SAEVM_CONFIG_FILE_H
#define SAEVM_CONFIG_FILE_H

#include "config.h"
#include "error.h"

int config_file_load(struct vm_config *cfg, const char *path, struct error *err);
/* `text` is the file's contents; `name` is used in messages. */
int config_file_parse(struct vm_config *cfg, const char *text, const char *name, struct error *err);

#endif
