/* loader.h - the kernel and initrd files: opened and checked before any
 * KVM work (so bad input fails fast, also on hosts without KVM), then read
 * straight into guest RAM through the memory door; and the boot vCPU's
 * registers as booting.rst wants them. */
#ifndef SAEVM_LOADER_H
#define SAEVM_LOADER_H

#include <stdint.h>

#include "../vmm/error.h"
#include "../vmm/memory.h"
#include "image.h"
#include "layout.h"

struct boot_files {
	int kernel_fd;
	int initrd_fd; /* -1: none */
	const char *kernel_path;
	const char *initrd_path;
	struct kernel_image kernel;
	uint64_t initrd_size;
};

int boot_files_open(struct boot_files *files, const char *kernel_path, const char *initrd_path,
		    struct error *err);
/* The kernel is a file saevm opened already (the sandbox's, opened
 * beneath its rootfs; dup'ed), `kernel_name` names it in messages; no
 * initrd yet. */
int boot_files_open_kernel_fd(struct boot_files *files, int kernel_fd, const char *kernel_name, struct error *err);
/* The initrd is an open file (the sandbox's initramfs in memory) instead
 * of a path; `what` names it in messages. */
int boot_files_use_initrd(struct boot_files *files, int fd, const char *what, struct error *err);
void boot_files_close(struct boot_files *files);

/* Copies the kernel and initrd to their places in `layout`, in slices
 * read by up to `max_threads` threads (at most 4; 1 keeps it on the
 * caller's thread, as unit tests want). */
int boot_files_load(const struct boot_files *files, const struct boot_layout *layout,
		    const struct guest_mem *mem, unsigned max_threads, struct error *err);

/* PC = entry, X0 = DTB, X1-X3 = 0, PSTATE = EL1h with DAIF masked. Only
 * core registers: all the s390 module lets us touch. */
int boot_set_vcpu_regs(int vcpu_fd, uint64_t entry, uint64_t dtb, struct error *err);

#endif
