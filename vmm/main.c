/* main.c - a VM's whole life: parse, check the files, create the VM, add
 * devices, build the device tree, load, run, tear down. Errors come back up
 * here as struct error; this is the only place that prints them and picks
 * the exit code (table in vmm/error.h, README, `saevm help exit-codes`). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libfdt.h>

#include "../boot/layout.h"
#include "../boot/loader.h"
#include "../devices/virtio_blk.h"
#include "cli.h"
#include "control.h"
#include "exec.h"
#include "log.h"
#include "machine.h"
#include "sandbox.h"
#include "vm.h"

#ifndef SAEVM_VERSION
#define SAEVM_VERSION "0.1.0"
#endif

static int write_file(const char *path, const void *data, size_t len, struct error *err)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return err_errno(err, EXIT_NO_INPUT, errno, "cannot create %s", path);
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot write %s", path);
	return 0;
}

/* SIGINT/SIGTERM/SIGHUP arrive on a signalfd that vm_run() polls; every
 * thread inherits the blocked mask, vCPU threads unblock only their kick. */
static int block_signals(struct error *err)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIG_VCPU_KICK);
	sigaddset(&set, SIGWINCH); /* the console thread's (vmm/console.h) */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIG_VCPU_KICK);
	sigdelset(&set, SIGWINCH);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "signalfd");
	return fd;
}

/* `saevm run`, and `saevm sandbox` with sb (its kernel, command line,
 * initramfs and shares, from sandbox_prepare). */
static int run(const struct vm_config *cfg, struct sandbox *sb, struct error *err)
{
	uint8_t *dtb = NULL;
	char cmdline[VM_MAX_PARAMS + 32];
	struct disk *disks[VM_MAX_DISKS] = { 0 };
	struct boot_files files;
	struct boot_layout layout;
	struct vm vm;
	int code = -1, signal_fd = -1;
	double stopped_at = 0;

	/* 1. Check the input before touching KVM: bad files fail fast anywhere. */
	if (sb)
		snprintf(cmdline, sizeof(cmdline), "%s", sb->cmdline);
	else if (cli_kernel_cmdline(cfg, cmdline, sizeof(cmdline)) < 0)
		return err_set(err, EXIT_USAGE, "the kernel command line is too long");
	if ((sb && sb->kernel_fd >= 0 ? boot_files_open_kernel_fd(&files, sb->kernel_fd, sb->kernel, err)
				      : boot_files_open(&files, sb ? sb->kernel : cfg->kernel_path,
							sb ? NULL : cfg->initrd_path, err)) < 0 ||
	    (sb && boot_files_use_initrd(&files, sb->initrd_fd, "the sandbox's initramfs", err) < 0) ||
	    boot_layout_plan(RAM_BASE, cfg->mem_bytes, &files.kernel, files.initrd_size, &layout, err) < 0)
		goto out_files;
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if (!(disks[i] = disk_open(&cfg->disks[i], err)))
			goto out_files;
	log_debug("files checked at %.4f s", log_wall_since_start());
	/* 2. The VM: KVM device, RAM, irqchip, vCPUs; then its devices. */
	if (vm_create(&vm, cfg, sb, err) < 0 || vm_open_console_and_control(&vm, err) < 0 ||
	    machine_add_devices(&vm, disks, err) < 0 ||
	    (signal_fd = block_signals(err)) < 0)
		goto out_vm;
	log_debug("VM and devices created at %.4f s", log_wall_since_start());
	do {
		/* 3. Device tree, then kernel, initrd and DTB into RAM. */
		free(dtb);
		dtb = vm_build_dtb(&vm, &layout, cmdline, err);
		if (!dtb)
			break;
		if (cfg->dump_dtb_path) {
			if (write_file(cfg->dump_dtb_path, dtb, fdt_totalsize(dtb), err) == 0)
				code = EXIT_GUEST_POWEROFF;
			break;
		}
		log_debug("device tree built at %.4f s", log_wall_since_start());
		if (vm_load(&vm, &files, &layout, dtb, fdt_totalsize(dtb), err) < 0)
			break;
		log_debug("kernel, initrd and DTB loaded at %.4f s", log_wall_since_start());
		/* 4. Run until the guest or the user ends it. */
		code = vm_run(&vm, signal_fd, err);
		if (code == EXIT_GUEST_RESET && cfg->reboot) {
			log_info("guest reset: rebooting");
			if (vm_reset_for_reboot(&vm, err) < 0)
				code = -1;
			else
				continue;
		}
		break;
	} while (1);
out_vm:
	free(dtb);
	/* 5. Tear down: vCPUs are joined, console output drained, tty restored. */
	stopped_at = vm.stopped_at;
	vm_destroy(&vm);
	if (signal_fd >= 0)
		close(signal_fd);
out_files:
	for (unsigned i = 0; i < cfg->ndisks; i++)
		disk_close(disks[i]); /* those the machine did not take */
	boot_files_close(&files);
	if (stopped_at > 0)
		log_info("exiting %.4f s after the VM stopped", log_wall_since_start() - stopped_at);
	return code;
}

/* saevm sandbox: the command's status is saevm's; saevm's own failures,
 * and a guest that ended before the command, are 125 (vmm/error.h).
 * serving_fd: --detach's, told when the guest takes exec streams. */
static int sandbox(struct vm_config *cfg, int serving_fd)
{
	struct error err = { 0 };
	struct sandbox *sb = calloc(1, sizeof(*sb));
	int code = -1, status = -1;

	if (!sb)
		err_set(&err, EXIT_HOST_ERROR, "out of memory");
	else if (sandbox_prepare(cfg, sb, &err) == 0) {
		sb->serving_fd = serving_fd;
		serving_fd = -1;
		code = run(cfg, sb, &err);
	}
	if (serving_fd >= 0)
		close(serving_fd);
	if (sb) {
		status = atomic_load(&sb->command_status);
		sandbox_release(sb);
		free(sb);
	}
	vm_config_free(cfg);
	if (status >= 0)
		return status;
	if (code < 0)
		fprintf(stderr, "saevm: error: %s\n", err.code ? err.msg : "unknown failure");
	else
		fprintf(stderr, "saevm: error: the guest ended before the command did: %s (saevm run's exit code %d)\n",
			exit_code_meaning(code), code);
	return SANDBOX_EXIT_FAILED;
}

/* saevm sandbox --detach: the VM lives on in a child, in a session of its
 * own, with no terminal. This process passes on what the child says on
 * stderr until the guest's init takes exec streams, then runs CMD there as
 * saevm exec does (or prints a name it chose) and ends; if the child ends
 * first, its error was passed on and the status is 125. */
static int sandbox_detached(struct vm_config *cfg, bool named)
{
	int up[2], errs[2];
	char buf[4096];
	bool serving = false;
	pid_t pid;

	if (pipe2(up, O_CLOEXEC) < 0 || pipe2(errs, O_CLOEXEC) < 0) {
		fprintf(stderr, "saevm: error: pipe: %s\n", strerror(errno));
		return SANDBOX_EXIT_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "saevm: error: fork: %s\n", strerror(errno));
		return SANDBOX_EXIT_FAILED;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		close(up[0]);
		close(errs[0]);
		/* stderr goes to the parent while it waits, then nowhere (EPIPE) */
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
		    dup2(errs[1], STDERR_FILENO) < 0)
			_exit(SANDBOX_EXIT_FAILED);
		close(null);
		close(errs[1]);
		setsid();
		exit(sandbox(cfg, up[1]));
	}
	close(up[1]);
	close(errs[1]);
	/* Ctrl-C while it starts stops the sandbox too: nothing is left
	 * running in the background that the user gave up on. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	for (;;) {
		struct pollfd p[3] = { { .fd = up[0], .events = POLLIN }, { .fd = errs[0], .events = POLLIN },
				       { .fd = sig_fd, .events = POLLIN } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents) {
			kill(pid, SIGTERM); /* saevm's own stop: the child ends, and says so */
			p[2].fd = -1;
			if (sig_fd >= 0)
				close(sig_fd);
			sig_fd = -1;
		}
		if (p[1].revents) {
			ssize_t n = read(errs[0], buf, sizeof(buf));
			if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
				break;
			if (n <= 0)
				p[1].fd = errs[0] = -1;
		}
		if (p[0].revents) {
			char c;
			serving = read(up[0], &c, 1) == 1;
			break;
		}
		if (errs[0] < 0)
			break;
	}
	close(up[0]);
	if (errs[0] >= 0)
		close(errs[0]);
	if (sig_fd >= 0)
		close(sig_fd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (!serving) {
		waitpid(pid, NULL, 0);
		return SANDBOX_EXIT_FAILED;
	}
	if (cfg->command_argc > 0)
		return exec_command(cfg->name, cfg->command, cfg->command_argc);
	if (!named)
		printf("%s\n", cfg->name);
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct error err = { 0 };
	char default_name[32];
	int code;

	log_mark_start();
	if (cli_parse(argc, argv, &cfg, &err) < 0) {
		fprintf(stderr, "saevm: error: %s\n", err.msg);
		vm_config_free(&cfg);
		/* sandbox and exec: the command's statuses are theirs, 125 is saevm's */
		return cfg.action == ACTION_SANDBOX || cfg.action == ACTION_EXEC ? SANDBOX_EXIT_FAILED : err.code;
	}
	log_set_level(cfg.log_level);
	switch (cfg.action) {
	case ACTION_HELP:
		cli_print_help(stdout);
		return 0;
	case ACTION_HELP_SANDBOX:
		cli_print_sandbox_help(stdout);
		return 0;
	case ACTION_HELP_EXIT_CODES:
		cli_print_exit_codes(stdout);
		return 0;
	case ACTION_VERSION:
		printf("saevm %s\n", SAEVM_VERSION);
		return 0;
	case ACTION_LIST:
		return control_cmd_list();
	case ACTION_CONTROL:
		return control_cmd_send(cfg.name, cfg.control_command);
	case ACTION_EXEC:
		return exec_command(cfg.name, cfg.command, cfg.command_argc);
	case ACTION_RUN:
	case ACTION_SANDBOX:
		break;
	}
	bool named = cfg.name != NULL;
	if (!named) {
		snprintf(default_name, sizeof(default_name), "saevm-%d", (int)getpid());
		cfg.name = default_name;
	}
	if (cfg.action == ACTION_SANDBOX && cfg.detach) {
		if (!cfg.vsock_cid)
			cfg.vsock_cid = 3; /* saevm exec's streams */
		return sandbox_detached(&cfg, named);
	}
	if (cfg.action == ACTION_SANDBOX)
		return sandbox(&cfg, -1);
	code = run(&cfg, NULL, &err);
	vm_config_free(&cfg);
	if (code < 0) {
		fprintf(stderr, "saevm: error: %s\n", err.code ? err.msg : "unknown failure");
		return err.code ? err.code : EXIT_INTERNAL;
	}
	return code;
}
