/* image.h - the arm64 Linux Image header (Documentation/arch/arm64/booting.rst):
 *
 *   0  u32 code0        8  u64 text_offset (LE)   24 u64 flags (LE)
 *   4  u32 code1       16  u64 image_size  (LE)   56 u32 magic "ARM\x64"
 *
 * Pure parsing: bytes in, struct out, nothing else touched. */
#ifndef SAEVM_IMAGE_H
#define SAEVM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/error.h"

#define ARM64_IMAGE_HEADER_SIZE 64
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" read little-endian */

struct kernel_image {
	uint64_t text_offset;  /* load at a 2 MiB aligned base + this */
	uint64_t image_size;   /* bytes the kernel occupies from its load address */
	uint64_t file_size;    /* bytes to copy */
	unsigned page_size_kib; /* 4, 16, 64, or 0 when the header does not say */
	bool place_anywhere;   /* flags bit 3: any 2 MiB aligned base will do */
	bool raw;              /* no Image header: a raw binary (below) */
};

/* Where a raw binary goes: RAM base + 0x80000, entered there with x0 =
 * the device tree, as QEMU's -kernel and kvmtool load a file without the
 * header (kvm-unit-tests' .flat binaries, other bare-metal tests). */
#define RAW_BINARY_OFFSET 0x80000u

/* Validates the header of a `file_size`-byte Image whose first `len` bytes
 * are at `bytes`. Errors name the problem: empty, compressed (gzip, xz,
 * zstd, bzip2, lz4), an ELF vmlinux, big-endian, an image_size smaller
 * than the file. A file without the "ARM\x64" magic is a raw binary
 * (out->raw). `what` names the file in messages. */
int kernel_image_parse(const uint8_t *bytes, size_t len, uint64_t file_size, const char *what,
		       struct kernel_image *out, struct error *err);

#endif
