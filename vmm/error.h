/* error.h - how failures travel: library code fills a struct error and
 * returns -1; only the CLI (vmm/main.c) prints it and picks the exit code.
 * Nothing below main() calls exit(), so everything is unit-testable. */
#ifndef SAEVM_ERROR_H
#define SAEVM_ERROR_H

/* Process exit codes. The README and `saevm help exit-codes` print this
 * table (exit_code_table[] in error.c); keep the three in step.
 * 1..63 are left to the guest (a guest-chosen status, later issues). */
enum exit_code {
	EXIT_GUEST_POWEROFF = 0,  /* guest powered off (PSCI SYSTEM_OFF) */
	EXIT_INTERNAL = 70,       /* a bug in saevm */
	EXIT_USAGE = 64,          /* bad option, value or combination */
	EXIT_BAD_KERNEL = 65,     /* the kernel file is not a bootable arm64 Image */
	EXIT_NO_INPUT = 66,       /* a file named on the command line cannot be read */
	EXIT_NO_FIT = 67,         /* kernel + initrd + DTB do not fit in the guest RAM */
	EXIT_DISK_IN_USE = 68,    /* a disk image is locked by another VM or program */
	EXIT_HOST_UNSUPPORTED = 69, /* no KVM device, or the host lacks what was asked */
	EXIT_HOST_ERROR = 71,     /* an OS call failed during setup (mmap, thread...) */
	EXIT_NOT_OWNER = 77,      /* a directory saevm must trust is another user's or open to others */
	EXIT_CONFIG = 78,         /* the configuration file has an error (file:line says where) */
	EXIT_NO_SUCH_VM = 79,     /* saevm stop/pause/resume: no VM of that name runs */
	EXIT_GUEST_RESET = 80,    /* guest asked for a reset (PSCI SYSTEM_RESET), no --reboot */
	EXIT_GUEST_CRASH = 81,    /* KVM reported a guest crash system event */
	EXIT_VCPU_FAULT = 82,     /* KVM_RUN failed: the guest did what KVM cannot handle */
	EXIT_CONSOLE_QUIT = 83,   /* the user pressed Ctrl-A x on the console */
	EXIT_SIGNAL = 84,         /* stopped by SIGINT, SIGTERM or SIGHUP from outside */
	EXIT_TIMEOUT = 85,        /* --timeout expired */
	EXIT_GUEST_PANIC = 86,    /* the guest kernel panicked (pvpanic) */
	EXIT_STOPPED = 87,        /* stopped by `saevm stop NAME` */
	EXIT_SECCOMP = 88,        /* the seccomp filter refused a system call (a bug in saevm) */
	EXIT_UNSAFE_ROOTFS = 89,  /* a file saevm reads from the sandbox's rootfs is a symlink, not regular, too big */
	EXIT_GUEST_PROTOCOL = 90, /* the sandbox guest broke the stdio protocol (EXIT before READY, bad frame) */
};

/* saevm sandbox exits with the command's status (0..255) and keeps only
 * these for itself, as env(1), chroot(1) and timeout(1) do. */
enum sandbox_exit_code {
	SANDBOX_EXIT_FAILED = 125,    /* saevm failed, or the guest ended before the command */
	SANDBOX_EXIT_CANNOT_RUN = 126, /* the command cannot be run */
	SANDBOX_EXIT_NOT_FOUND = 127,  /* the command was not found */
};

/* The meaning of a saevm run exit code, for messages ("" if none). */
const char *exit_code_meaning(int code);

struct exit_code_info {
	int code;
	const char *meaning;
};
extern const struct exit_code_info exit_code_table[];
extern const unsigned exit_code_table_len;

struct error {
	int code;       /* an enum exit_code */
	char msg[384];  /* one line, no "saevm: error: " prefix, no newline */
};

/* Records the first error only (later ones are usually consequences) and
 * returns -1 so callers can write `return err_set(err, ...)`. */
int err_set(struct error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, appending ": strerror(errnum)". */
int err_errno(struct error *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
