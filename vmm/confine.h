/* confine.h - after setup, saevm needs no privileges and few system calls.
 * confine_enter() drops every capability (a root saevm keeps its uid, so
 * it can still remove its control socket, but no CAP_*), sets
 * no_new_privs, and installs a seccomp filter that allows only the calls
 * the running VM makes, several of them only with the arguments saevm
 * uses: ioctl with the KVM, terminal, tun and block requests it issues
 * (so never TIOCSTI or TIOCLINUX on the user's terminal), mmap and
 * mprotect never with PROT_EXEC, clone only for threads (no new process),
 * prctl only to name a thread. A VM with a 9p share also gets the file
 * calls its server makes, and a root saevm then keeps CAP_DAC_OVERRIDE
 * (root's sandbox reads and writes its share as root would), never
 * CAP_CHOWN, CAP_FOWNER or CAP_FSETID (devices/share/share.h: one owner,
 * no setuid bits). Seccomp cannot see paths: Landlock (Linux 5.19+, ABI 2
 * for renames across directories; probed) then limits the file system to
 * the share roots (read-only ones for reading), the control directory
 * (to remove the socket) and /etc/resolv.conf with user networking;
 * without shares, to nothing more. Where Landlock is missing saevm says so
 * at --log-level info and goes on. A refused call ends saevm with one line
 * naming it and why (exit code 88); --no-seccomp turns the filter off.
 * Called on the main thread before any other thread starts, so every
 * thread inherits it. */
#ifndef SAEVM_CONFINE_H
#define SAEVM_CONFINE_H

#include <stdbool.h>

#include "error.h"

#define CONFINE_MAX_SHARES 16

struct confine_needs {
	bool sockets; /* user-mode networking: libslirp opens sockets, reads resolv.conf */
	bool vsock;   /* virtio-vsock: connects to host programs' Unix sockets */
	bool file_server; /* a 9p share: the file calls, and a root saevm keeps CAP_DAC_OVERRIDE */
	/* Landlock: the only places saevm may reach in the host's file system
	 * once setup is over. */
	int share_fds[CONFINE_MAX_SHARES]; /* the shares' roots (O_PATH) */
	bool share_read_only[CONFINE_MAX_SHARES];
	unsigned nshares;
	const char *control_dir; /* where its control socket is removed at exit; NULL: none */
};

int confine_enter(const struct confine_needs *needs, bool seccomp, struct error *err);

/* For the tests only: makes the call `which` names (tiocsti, tioclinux,
 * ioctl, mmap-exec, mprotect-exec, fork, prctl, execve), which the filter
 * must refuse: saevm then ends with exit code 88. Returns -1 with an error
 * if the call went through (or `which` is unknown). */
int confine_try_denied(const char *which, struct error *err);

#endif
