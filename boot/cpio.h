/* cpio.h - writes an initramfs (the "newc" cpio format the kernel
 * unpacks, Documentation/driver-api/early-userspace/buffer-format.rst)
 * into an anonymous memory file, for the loader to read like a file. */
#ifndef SAEVM_CPIO_H
#define SAEVM_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../vmm/error.h"

struct cpio {
	int fd;       /* memfd */
	uint64_t size;
	uint32_t ino;
	int failed;   /* errno of the first failed write, 0 if none */
};

int cpio_begin(struct cpio *c, struct error *err);
void cpio_add_dir(struct cpio *c, const char *path, mode_t perm);
void cpio_add_file(struct cpio *c, const char *path, mode_t perm, const void *data, size_t len);
/* A file's contents copied from an open file of `len` bytes. */
void cpio_add_file_from(struct cpio *c, const char *path, mode_t perm, int src_fd, size_t len);
void cpio_add_char_dev(struct cpio *c, const char *path, mode_t perm, unsigned major, unsigned minor);
/* Writes the trailer; returns the memfd (the caller closes it), or -1. */
int cpio_end(struct cpio *c, struct error *err);

#endif
