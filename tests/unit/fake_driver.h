/* fake_driver.h - a guest virtio driver in miniature, for unit tests: it
 * lays out split rings in a plain buffer that stands in for guest RAM, and
 * writes every field little-endian byte by byte, the way a real arm64
 * guest does, whatever the host's byte order. */
#ifndef SAEVM_FAKE_DRIVER_H
#define SAEVM_FAKE_DRIVER_H

#include "../../devices/virtqueue.h"
#include "../../vmm/le.h"
#include "../../vmm/memory.h"

#define FD_RAM_GPA 0x40000000ULL
#define FD_RAM_SIZE (4u << 20)
#define FD_DESC 0x0000u
#define FD_AVAIL 0x4000u
#define FD_USED 0x8000u
#define FD_DATA 0x10000u
#define FD_WRITE 2
#define FD_NEXT 1
#define FD_INDIRECT 4

struct fake_driver {
	uint8_t *ram;
	struct guest_mem mem;
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
	uint32_t data_top;
};

struct fd_buf {
	uint32_t len;
	int writable;
	const void *content; /* copied in for readable buffers, may be NULL */
};

static inline void fd_init(struct fake_driver *d, uint16_t size)
{
	if (!d->ram)
		d->ram = calloc(1, FD_RAM_SIZE);
	memset(d->ram, 0, FD_RAM_SIZE);
	guest_mem_wrap(&d->mem, FD_RAM_GPA, d->ram, FD_RAM_SIZE);
	d->size = size;
	d->avail_idx = 0;
	d->next_desc = 0;
	d->data_top = FD_DATA;
}

static inline uint64_t fd_alloc(struct fake_driver *d, uint32_t len)
{
	uint64_t gpa = FD_RAM_GPA + d->data_top;
	d->data_top += (len + 15) & ~15u;
	return gpa;
}

static inline void fd_desc(struct fake_driver *d, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	uint8_t *p = d->ram + FD_DESC + 16u * i;
	le64_store(p, gpa);
	le32_store(p + 8, len);
	le16_store(p + 12, flags);
	le16_store(p + 14, next);
}

static inline void fd_publish(struct fake_driver *d, uint16_t head)
{
	le16_store(d->ram + FD_AVAIL + 4 + 2 * (d->avail_idx % d->size), head);
	d->avail_idx++;
	le16_store(d->ram + FD_AVAIL + 2, d->avail_idx);
}

/* Adds a chain of direct descriptors; returns its head. gpas[] gets each
 * buffer's guest address. */
static inline uint16_t fd_add_chain(struct fake_driver *d, const struct fd_buf *bufs, unsigned n,
				    uint64_t *gpas)
{
	uint16_t head = d->next_desc;
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((d->next_desc + k) % d->size);
		uint64_t gpa = fd_alloc(d, bufs[k].len);
		if (bufs[k].content)
			memcpy(d->ram + (gpa - FD_RAM_GPA), bufs[k].content, bufs[k].len);
		if (gpas)
			gpas[k] = gpa;
		fd_desc(d, i, gpa, bufs[k].len, (uint16_t)((bufs[k].writable ? FD_WRITE : 0) |
						       (k + 1 < n ? FD_NEXT : 0)),
			(uint16_t)((i + 1) % d->size));
	}
	d->next_desc = (uint16_t)((d->next_desc + n) % d->size);
	fd_publish(d, head);
	return head;
}

static inline const char *fd_setup(struct fake_driver *d, struct virtqueue *vq, int event_idx, int indirect)
{
	return vq_setup(vq, &d->mem, d->size, FD_RAM_GPA + FD_DESC, FD_RAM_GPA + FD_AVAIL,
			FD_RAM_GPA + FD_USED, event_idx, indirect);
}

static inline uint16_t fd_used_idx(const struct fake_driver *d) { return le16_load(d->ram + FD_USED + 2); }
static inline uint32_t fd_used_id(const struct fake_driver *d, uint16_t n)
{
	return le32_load(d->ram + FD_USED + 4 + 8 * (n % d->size));
}
static inline uint32_t fd_used_len(const struct fake_driver *d, uint16_t n)
{
	return le32_load(d->ram + FD_USED + 4 + 8 * (n % d->size) + 4);
}
static inline uint8_t *fd_host(const struct fake_driver *d, uint64_t gpa) { return d->ram + (gpa - FD_RAM_GPA); }

#endif
