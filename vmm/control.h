/* control.h - one control socket per VM, for `saevm list|stop|pause|resume`.
 *
 * Where: $XDG_RUNTIME_DIR/saevm/NAME.sock, else /run/saevm/NAME.sock for
 * root, else /tmp/saevm-UID/NAME.sock; the directory is 0700, the socket
 * 0600. A socket left by a VM that died is found stale (connection
 * refused) and removed, not an error.
 *
 * Protocol: a client connects, sends one line, gets one line back:
 *   status  ->  "ok running|paused NAME PID"
 *   pause   ->  "ok paused"     (every vCPU is out of the guest)
 *   resume  ->  "ok running"
 *   stop    ->  "ok stopping"   (saevm then exits with code 87)
 *   other   ->  "error unknown command"
 * Pure socket code: the VM side is vmm/vm.c. */
#ifndef SAEVM_CONTROL_H
#define SAEVM_CONTROL_H

#include <stddef.h>

#include "error.h"

#define CONTROL_NAME_MAX 64

/* Whether `name` may name a VM: [A-Za-z0-9._-], 1 to 64 characters. */
int control_check_name(const char *name, struct error *err);
int control_dir(char *buf, size_t size, struct error *err);
/* Creates the listening socket for `name`; fails if a live VM has it. */
int control_listen(const char *name, char *path, size_t path_size, struct error *err);
/* Sends `command` to VM `name`, puts its one-line answer in reply. */
int control_request(const char *name, const char *command, char *reply, size_t size, struct error *err);
/* Reads one command line from an accepted client (short timeout). */
int control_read_command(int fd, char *buf, size_t size);

/* The subcommands: exit codes as saevm's own. */
int control_cmd_list(void);
int control_cmd_send(const char *name, const char *command);

#endif
