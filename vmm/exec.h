/* exec.h - `saevm exec NAME [--] CMD [ARG...]`: runs CMD in the sandbox
 * NAME that stays up (saevm sandbox --detach), with the contract of
 * `saevm sandbox -- CMD`: stdout and stderr apart and byte-exact, stdin and
 * its end, a pseudo-terminal only when stdin and stdout are terminals (and
 * the window size), the command's status as saevm's; 125 when saevm or the
 * sandbox fails, 126/127 when CMD cannot run / is not found. SIGINT,
 * SIGTERM and SIGHUP that saevm exec gets go to CMD.
 *
 * How: the caller's directory must lie in one of the sandbox's shares (the
 * control directory's NAME.shares maps it to the guest's path); a stream
 * to the guest's init over vsock (NAME.vsock, "CONNECT 7100"), carrying
 * guest/stdio_proto.h's frames: REQUEST (uid, gid, directory, terminal,
 * arguments) and START, then STDIN, EOF, WINSIZE and SIGNAL one way,
 * STDOUT, STDERR and EXIT the other. */
#ifndef SAEVM_EXEC_H
#define SAEVM_EXEC_H

/* The subcommand: returns saevm's exit status. */
int exec_command(const char *name, char *const *argv, int argc);

#endif
