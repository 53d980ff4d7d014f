/* fake_driver.h - a guest virtio driver in miniature, for unit tests: it
 * lays out split rings in a plain buffer that stands in for guest RAM, and
 * writes every field little-endian byte by byte, the way a real arm64
 * guest does, whatever the host's byte order. One fake_driver per queue;
 * several may share one RAM buffer (each with its own ring and data area). */
#ifndef SAEVM_FAKE_DRIVER_H
#define SAEVM_FAKE_DRIVER_H

#include "../../devices/virtqueue.h"
#include "../../vmm/le.h"
#include "../../vmm/memory.h"
#include "../../vmm/mmio_bus.h"

#define FD_RAM_GPA 0x40000000ULL
#define FD_RAM_SIZE (4u << 20)
#define FD_DESC 0x0000u   /* offsets from the queue's ring_off */
#define FD_AVAIL 0x4000u
#define FD_USED 0x8000u
#define FD_DATA 0x10000u  /* default data area of a lone queue */
#define FD_WRITE 2
#define FD_NEXT 1
#define FD_INDIRECT 4

struct fake_driver {
	uint8_t *ram;
	struct guest_mem mem;
	uint32_t ring_off, data_off, data_top;
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
};

struct fd_buf {
	uint32_t len;
	int writable;
	const void *content; /* copied in for readable buffers, may be NULL */
};

/* A queue whose rings start at ring_off and whose buffers come from
 * data_off on, in `ram` (allocated and cleared when NULL). */
static inline void fd_init_at(struct fake_driver *d, uint8_t *ram, uint32_t ring_off, uint32_t data_off,
			      uint16_t size)
{
	if (!ram) {
		if (!d->ram)
			d->ram = calloc(1, FD_RAM_SIZE);
		memset(d->ram, 0, FD_RAM_SIZE);
		ram = d->ram;
	}
	d->ram = ram;
	guest_mem_wrap(&d->mem, FD_RAM_GPA, ram, FD_RAM_SIZE);
	d->ring_off = ring_off;
	d->data_off = d->data_top = data_off;
	d->size = size;
	d->avail_idx = 0;
	d->next_desc = 0;
}

static inline void fd_init(struct fake_driver *d, uint16_t size) { fd_init_at(d, NULL, 0, FD_DATA, size); }

static inline uint8_t *fd_ring(const struct fake_driver *d, uint32_t off) { return d->ram + d->ring_off + off; }

static inline uint64_t fd_alloc(struct fake_driver *d, uint32_t len)
{
	uint64_t gpa = FD_RAM_GPA + d->data_top;
	d->data_top += (len + 15) & ~15u;
	return gpa;
}

static inline void fd_desc(struct fake_driver *d, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	uint8_t *p = fd_ring(d, FD_DESC + 16u * i);
	le64_store(p, gpa);
	le32_store(p + 8, len);
	le16_store(p + 12, flags);
	le16_store(p + 14, next);
}

/* A descriptor in an indirect table the test lays out itself. */
static inline void fd_desc_at(uint8_t *table, uint32_t i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = table + 16u * i;
	le64_store(p, gpa);
	le32_store(p + 8, len);
	le16_store(p + 12, flags);
	le16_store(p + 14, next);
}

static inline void fd_publish(struct fake_driver *d, uint16_t head)
{
	le16_store(fd_ring(d, FD_AVAIL + 4 + 2 * (d->avail_idx % d->size)), head);
	d->avail_idx++;
	le16_store(fd_ring(d, FD_AVAIL + 2), d->avail_idx);
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
	return vq_setup(vq, &d->mem, d->size, FD_RAM_GPA + d->ring_off + FD_DESC,
			FD_RAM_GPA + d->ring_off + FD_AVAIL, FD_RAM_GPA + d->ring_off + FD_USED, event_idx, indirect);
}

static inline uint16_t fd_used_idx(const struct fake_driver *d) { return le16_load(fd_ring(d, FD_USED + 2)); }
static inline uint32_t fd_used_id(const struct fake_driver *d, uint16_t n)
{
	return le32_load(fd_ring(d, FD_USED + 4 + 8 * (n % d->size)));
}
static inline uint32_t fd_used_len(const struct fake_driver *d, uint16_t n)
{
	return le32_load(fd_ring(d, FD_USED + 4 + 8 * (n % d->size) + 4));
}
static inline uint8_t *fd_host(const struct fake_driver *d, uint64_t gpa) { return d->ram + (gpa - FD_RAM_GPA); }

/* ---- the virtio-mmio registers, as a driver touches them ---- */

static inline uint32_t fd_reg_read(struct mmio_bus *bus, uint64_t base, unsigned off)
{
	uint8_t data[8] = { 0 };
	mmio_bus_dispatch(bus, base + off, data, 4, false);
	return (uint32_t)le_bytes_to_u64(data, 4);
}

static inline void fd_reg_write(struct mmio_bus *bus, uint64_t base, unsigned off, uint32_t v)
{
	uint8_t data[8];
	u64_to_le_bytes(data, 4, v);
	mmio_bus_dispatch(bus, base + off, data, 4, true);
}

/* The Linux driver's bring-up (virtio 1.2 §3.1.1): reset, take every
 * offered feature except `drop`, set up queue q on drivers[q], DRIVER_OK.
 * Returns the negotiated features (0 if FEATURES_OK did not stick). */
static inline uint64_t fd_bring_up(struct mmio_bus *bus, uint64_t base, struct fake_driver *drivers,
				   unsigned nqueues, uint64_t drop)
{
	uint64_t f;

	fd_reg_write(bus, base, 0x070, 0);
	fd_reg_write(bus, base, 0x070, 1 | 2);
	fd_reg_write(bus, base, 0x014, 0);
	f = fd_reg_read(bus, base, 0x010);
	fd_reg_write(bus, base, 0x014, 1);
	f |= (uint64_t)fd_reg_read(bus, base, 0x010) << 32;
	f &= ~drop;
	fd_reg_write(bus, base, 0x024, 0);
	fd_reg_write(bus, base, 0x020, (uint32_t)f);
	fd_reg_write(bus, base, 0x024, 1);
	fd_reg_write(bus, base, 0x020, (uint32_t)(f >> 32));
	fd_reg_write(bus, base, 0x070, 1 | 2 | 8);
	if (!(fd_reg_read(bus, base, 0x070) & 8))
		return 0;
	for (unsigned q = 0; q < nqueues; q++) {
		uint64_t r = FD_RAM_GPA + drivers[q].ring_off;
		fd_reg_write(bus, base, 0x030, q);
		fd_reg_write(bus, base, 0x038, drivers[q].size);
		fd_reg_write(bus, base, 0x080, (uint32_t)(r + FD_DESC));
		fd_reg_write(bus, base, 0x084, 0);
		fd_reg_write(bus, base, 0x090, (uint32_t)(r + FD_AVAIL));
		fd_reg_write(bus, base, 0x094, 0);
		fd_reg_write(bus, base, 0x0a0, (uint32_t)(r + FD_USED));
		fd_reg_write(bus, base, 0x0a4, 0);
		fd_reg_write(bus, base, 0x044, 1);
	}
	fd_reg_write(bus, base, 0x070, 1 | 2 | 8 | 4);
	return f;
}

#endif
