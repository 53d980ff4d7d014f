/* control.h - one control socket per VM, for `saevm list|stop|pause|resume`.
 *
 * Where: $XDG_RUNTIME_DIR/saevm/NAME.sock, else /run/saevm/NAME.sock for
 * root, else /tmp/saevm-UID/NAME.sock; the directory must be the user's
 * own with mode 0700 (checked every time: another user may have made it
 * first), the socket is created 0600. A socket left by a VM that died is found stale (connection
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
/* The directory for this user's sockets, made if missing and checked
 * (control_dir_check). */
int control_dir(char *buf, size_t size, struct error *err);
/* A real directory (not a link), owned by the effective uid, with no group
 * or other permission; else EXIT_NOT_OWNER with a line that says why. */
int control_dir_check(const char *dir, struct error *err);
/* Creates the listening socket for `name`; fails if a live VM has it. */
int control_listen(const char *name, char *path, size_t path_size, struct error *err);
/* Sends `command` to VM `name`, puts its one-line answer in reply. */
int control_request(const char *name, const char *command, char *reply, size_t size, struct error *err);
/* Reads one line within limit_ms in all: a client that sends slowly is cut
 * off, so the main loop (signals, stop, --timeout) is never held longer. */
#define CONTROL_CLIENT_MS 200
#define CONTROL_REPLY_MS 10000 /* a pause waits for every vCPU to leave the guest */
int control_read_line(int fd, char *buf, size_t size, int limit_ms);

/* The subcommands: exit codes as saevm's own. */
int control_cmd_list(void);
int control_cmd_send(const char *name, const char *command);

#endif
