/* layout.h - where the kernel, initrd and device tree go in guest RAM.
 * Pure arithmetic, unit-tested over RAM sizes from 64 MiB to 4 GiB.
 *
 *   RAM base (2 MiB aligned)
 *   + text_offset ......... kernel, image_size bytes (not just the file)
 *   ... free for the kernel ...
 *   initrd ................ page aligned, right below the DTB's 2 MiB block
 *   last 2 MiB block ...... DTB (at most 2 MiB, 8-byte aligned, in a 2 MiB
 *                           block of its own as booting.rst asks)
 *
 * No 256 MiB cap: arm64 maps all of RAM linearly, so the top is fine. */
#ifndef SAEVM_LAYOUT_H
#define SAEVM_LAYOUT_H

#include <stdint.h>

#include "../vmm/error.h"
#include "image.h"

#define DTB_MAX_SIZE (2ULL << 20)

struct boot_layout {
	uint64_t kernel_gpa;  /* load address = entry point */
	uint64_t kernel_end;  /* kernel_gpa + image_size */
	uint64_t initrd_gpa;  /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t dtb_gpa;
};

int boot_layout_plan(uint64_t ram_base, uint64_t ram_size, const struct kernel_image *kernel,
		     uint64_t initrd_size, struct boot_layout *out, struct error *err);

#endif
