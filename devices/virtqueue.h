/* virtqueue.h - a split virtqueue (virtio 1.2 §2.7), device side.
 *
 * The guest is untrusted. The rings are checked against guest RAM once,
 * when the driver sets QueueReady (vq_setup); every descriptor's buffer is
 * checked through the memory door (guest_mem_ptr) as the chain is walked.
 * A chain that loops, is longer than the queue, nests indirect tables, has
 * an indirect table whose length is not a multiple of 16, a zero-length or
 * out-of-RAM buffer, or a device-readable buffer after a device-writable
 * one, makes vq_pop() return VQ_BROKEN with the reason: the transport then
 * sets DEVICE_NEEDS_RESET. Nothing the guest writes can make saevm touch
 * host memory outside guest RAM. Every ring field is read and written
 * through the le16/32/64 helpers (vmm/le.h): s390x hosts are big-endian. */
#ifndef SAEVM_VIRTQUEUE_H
#define SAEVM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../vmm/memory.h"

#define VQ_MAX_SIZE 1024   /* largest queue the transport offers */
#define VQ_MAX_CHAIN 1024  /* buffers in one chain, indirect included */

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t size;
	bool event_idx;          /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;           /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint8_t *desc;           /* host pointers, valid for the whole rings */
	uint8_t *avail;
	uint8_t *used;
	uint16_t last_avail_idx; /* next avail entry the device will take */
	uint16_t used_idx;       /* next used entry the device will write */
	uint16_t signalled_used; /* used_idx when the guest was last interrupted */
	bool signalled_valid;
};

struct vq_chain {
	uint16_t head;
	unsigned n_out;          /* iov[0 .. n_out): device-readable */
	unsigned n_in;           /* iov[n_out .. n_out+n_in): device-writable */
	uint64_t out_len, in_len;
	struct iovec iov[VQ_MAX_CHAIN];
};

enum vq_pop_result { VQ_BROKEN = -1, VQ_EMPTY = 0, VQ_GOT_CHAIN = 1 };

/* Checks that the three rings of a `size`-entry queue lie in guest RAM with
 * their required alignment; NULL on success, else the reason. */
const char *vq_setup(struct virtqueue *vq, const struct guest_mem *mem, uint16_t size,
		     uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, bool event_idx,
		     bool indirect);

/* Takes the next available chain. On VQ_BROKEN, *why says what was wrong. */
enum vq_pop_result vq_pop(struct virtqueue *vq, struct vq_chain *chain, const char **why);

/* Gives back the last n popped chains untouched (a frame that did not fit
 * in the buffers available). */
void vq_unpop(struct virtqueue *vq, uint16_t n);
/* Whether the driver has made buffers available that we have not taken. */
bool vq_has_available(const struct virtqueue *vq);

/* Returns a chain to the guest with `written` bytes written into it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/* With EVENT_IDX: publishes how far the device has read (avail_event), so
 * the driver knows when to notify again. Then says whether more arrived
 * meanwhile (the caller must then pop again instead of going to sleep). */
bool vq_enable_notify(struct virtqueue *vq);

/* For a device waiting for more buffers than are available: asks the
 * driver (EVENT_IDX) to notify when it adds the next one. True if buffers
 * were added while we asked (look again rather than sleep). */
bool vq_notify_on_next_avail(struct virtqueue *vq);

/* Whether the driver wants an interrupt for what was pushed since the last
 * one (EVENT_IDX's used_event, or VRING_AVAIL_F_NO_INTERRUPT). */
bool vq_should_interrupt(struct virtqueue *vq);

/* Copies from/to a chain's readable/writable buffers at byte `offset` within
 * that side; returns bytes copied. */
size_t vq_chain_read(const struct vq_chain *chain, size_t offset, void *dst, size_t len);
size_t vq_chain_write(const struct vq_chain *chain, size_t offset, const void *src, size_t len);
/* iovecs (at most max) for bytes [offset, offset+len) of the chain's
 * readable (writable false) or writable side, for I/O straight between a
 * host file and the guest's buffers; returns how many. */
unsigned vq_chain_slice(const struct vq_chain *chain, bool writable, uint64_t offset, uint64_t len,
			struct iovec *out, unsigned max);

#endif
