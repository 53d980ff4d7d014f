#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct exit_code_info exit_code_table[] = {
	{ EXIT_GUEST_POWEROFF, "the guest powered off (PSCI SYSTEM_OFF), or --dump-dtb/--help/version finished" },
	{ 1, "1-63: the exit code the guest set through the saevm,exit device" },
	{ EXIT_USAGE, "bad command line: unknown option, malformed value, impossible combination" },
	{ EXIT_BAD_KERNEL, "the kernel cannot boot (empty, big-endian, compressed, an ELF vmlinux)" },
	{ EXIT_NO_INPUT, "a file named on the command line is missing or unreadable" },
	{ EXIT_NO_FIT, "kernel + initrd + device tree do not fit in the guest RAM given with -m" },
	{ EXIT_DISK_IN_USE, "a disk image is in use (locked) by another VM or program" },
	{ EXIT_HOST_UNSUPPORTED, "no usable KVM device, or the host lacks a feature that was asked for" },
	{ EXIT_INTERNAL, "internal error in saevm (please report it)" },
	{ EXIT_HOST_ERROR, "a host system call failed during setup (memory, threads, files)" },
	{ EXIT_NOT_OWNER, "the control directory is not a directory of saevm's user alone (another user made it, or it is open to others)" },
	{ EXIT_CONFIG, "the configuration file (--config) has an error; the message says file:line" },
	{ EXIT_NO_SUCH_VM, "saevm stop/pause/resume NAME: no VM of that name is running" },
	{ EXIT_GUEST_RESET, "the guest asked for a reset (reboot) and --reboot was not given" },
	{ EXIT_GUEST_CRASH, "KVM reported that the guest crashed" },
	{ EXIT_VCPU_FAULT, "a vCPU stopped with an error KVM cannot handle (message names vCPU, PC, error)" },
	{ EXIT_CONSOLE_QUIT, "the user quit with Ctrl-A x on the console" },
	{ EXIT_SIGNAL, "saevm was stopped by SIGINT, SIGTERM or SIGHUP" },
	{ EXIT_TIMEOUT, "the VM ran longer than --timeout and was stopped" },
	{ EXIT_GUEST_PANIC, "the guest kernel panicked (reported through pvpanic)" },
	{ EXIT_STOPPED, "the VM was stopped with `saevm stop NAME`" },
	{ EXIT_SECCOMP, "the seccomp filter refused a system call: a bug in saevm (--no-seccomp works around it)" },
	{ EXIT_UNSAFE_ROOTFS, "a file saevm reads from the sandbox's rootfs (kernel, modules) is a symlink, leads outside it, is not a regular file or is too big" },
	{ EXIT_GUEST_PROTOCOL, "the sandbox's guest broke the stdio protocol (an exit status before it was ready, a malformed frame)" },
};
const unsigned exit_code_table_len = sizeof(exit_code_table) / sizeof(exit_code_table[0]);

static void err_vset(struct error *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code)
		return;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int err_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct error *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || err->code)
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	return -1;
}

const char *exit_code_meaning(int code)
{
	for (unsigned i = 0; i < exit_code_table_len; i++)
		if (exit_code_table[i].code == code)
			return exit_code_table[i].meaning;
	return "";
}
