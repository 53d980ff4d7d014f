/* sandbox.h - after setup, saevm needs no privileges and few system calls.
 * sandbox_enter() drops every capability (a root saevm keeps its uid, so
 * it can still remove its control socket, but no CAP_*), sets
 * no_new_privs, and installs a seccomp filter that allows only the calls
 * the running VM makes. A refused call ends saevm with one line naming it
 * (exit code 88); --no-seccomp turns the filter off. Called on the main
 * thread before any other thread starts, so every thread inherits it. */
#ifndef SAEVM_SANDBOX_H
#define SAEVM_SANDBOX_H

#include <stdbool.h>

#include "error.h"

struct sandbox_needs {
	bool sockets; /* user-mode networking: libslirp opens sockets, reads resolv.conf */
};

int sandbox_enter(const struct sandbox_needs *needs, bool seccomp, struct error *err);

#endif
