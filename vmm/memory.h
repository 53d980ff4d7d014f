/* memory.h - guest RAM and THE door to it.
 *
 * Guest RAM is one anonymous mapping registered as one KVM memslot. Every
 * guest-physical address that saevm dereferences - loader, virtqueues, device
 * buffers - is turned into a host pointer by guest_mem_ptr() and nowhere
 * else (`make check` greps that nobody else adds gpa offsets to the mapping).
 * It checks the whole range [gpa, gpa+len) against RAM, overflow included,
 * like Solo5's HVT_CHECKED_GPA_P. A NULL answer means "the guest lied". */
#ifndef SAEVM_MEMORY_H
#define SAEVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct guest_mem {
	uint64_t gpa_base; /* first guest-physical byte of RAM */
	uint64_t size;     /* bytes */
	uint8_t *host;     /* host mapping of gpa_base */
	size_t map_len;    /* length of the host mapping (munmap) */
	void *map_base;    /* start of the host mapping (alignment slack before host) */
};

/* Maps `size` bytes of anonymous memory for RAM at `gpa_base`: 2 MiB aligned
 * (the Image base and THP want it; the s390 module wants 1 MiB), with
 * MADV_HUGEPAGE. The memory is not touched: guests pay for what they use. */
int guest_mem_map(struct guest_mem *mem, uint64_t gpa_base, uint64_t size, struct error *err);
void guest_mem_unmap(struct guest_mem *mem);

/* Wraps an existing host buffer (unit tests use this: no mmap needed). */
void guest_mem_wrap(struct guest_mem *mem, uint64_t gpa_base, void *buf, uint64_t size);

/* The door: a host pointer to [gpa, gpa + len), or NULL if any byte of that
 * range lies outside guest RAM (or gpa + len overflows). len 0 is refused. */
static inline void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - mem->gpa_base; /* wraps to huge when gpa < base */

	if (len == 0 || gpa < mem->gpa_base || off >= mem->size || len > mem->size - off)
		return NULL;
	return mem->host + off;
}

static inline bool guest_mem_contains(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(mem, gpa, len) != NULL;
}

/* Copies in and out through the door; -1 when the range is outside RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

#endif
