#include "virtqueue.h"

#include <string.h>

#include "../vmm/le.h"

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define DESC_SIZE 16

/* Ring layout (virtio 1.2 §2.7): desc[size] of 16 bytes; avail: flags, idx,
 * ring[size], used_event; used: flags, idx, ring[size] of {id, len},
 * avail_event. All little-endian. */
#define AVAIL_IDX(vq) ((vq)->avail + 2)
#define AVAIL_RING(vq, i) ((vq)->avail + 4 + 2 * (i))
#define USED_EVENT(vq) ((vq)->avail + 4 + 2 * (vq)->size)
#define USED_IDX(vq) ((vq)->used + 2)
#define USED_RING(vq, i) ((vq)->used + 4 + 8 * (i))
#define AVAIL_EVENT(vq) ((vq)->used + 4 + 8 * (vq)->size)

const char *vq_setup(struct virtqueue *vq, const struct guest_mem *mem, uint16_t size,
		     uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, bool event_idx,
		     bool indirect)
{
	memset(vq, 0, sizeof(*vq));
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)))
		return "queue size is not a power of 2 up to the maximum";
	if (desc_gpa % 16 || avail_gpa % 2 || used_gpa % 4)
		return "ring address misaligned";
	vq->desc = guest_mem_ptr(mem, desc_gpa, (uint64_t)DESC_SIZE * size);
	vq->avail = guest_mem_ptr(mem, avail_gpa, 6 + 2ULL * size);
	vq->used = guest_mem_ptr(mem, used_gpa, 6 + 8ULL * size);
	if (!vq->desc || !vq->avail || !vq->used)
		return "ring outside guest RAM";
	vq->mem = mem;
	vq->size = size;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* A reset device starts from index 0 on both rings (§2.7.13). */
	return NULL;
}

/* One descriptor, read from guest memory exactly once: every check and
 * every use below looks at this copy, never at the guest's bytes again. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc load_desc(const uint8_t *d)
{
	return (struct desc){ .addr = le64_load_shared(d), .len = le32_load_shared(d + 8),
			      .flags = le16_load_shared(d + 12), .next = le16_load_shared(d + 14) };
}

static int add_buffer(struct vq_chain *chain, const struct virtqueue *vq, const struct desc *d,
		      const char **why)
{
	unsigned n = chain->n_out + chain->n_in;
	void *host;

	if (d->len == 0)
		return *why = "zero-length buffer", -1;
	host = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!host)
		return *why = "buffer outside guest RAM", -1;
	if (n == VQ_MAX_CHAIN)
		return *why = "chain longer than the device handles", -1;
	if (d->flags & VRING_DESC_F_WRITE) {
		chain->n_in++;
		chain->in_len += d->len;
	} else {
		if (chain->n_in)
			return *why = "device-readable buffer after a device-writable one", -1;
		chain->n_out++;
		chain->out_len += d->len;
	}
	chain->iov[n].iov_base = host;
	chain->iov[n].iov_len = d->len;
	return 0;
}

/* Walks an indirect table (§2.7.5.3) that descriptor `ind` points to. */
static int walk_indirect(struct vq_chain *chain, const struct virtqueue *vq, const struct desc *ind,
			 const char **why)
{
	const uint8_t *table;
	unsigned count, i = 0, seen = 0;

	if (!vq->indirect)
		return *why = "indirect descriptor not negotiated", -1;
	if (ind->flags & VRING_DESC_F_NEXT)
		return *why = "indirect descriptor with NEXT set", -1;
	if (ind->len == 0 || ind->len % DESC_SIZE)
		return *why = "indirect table length not a multiple of 16", -1;
	table = guest_mem_ptr(vq->mem, ind->addr, ind->len);
	if (!table)
		return *why = "indirect table outside guest RAM", -1;
	count = ind->len / DESC_SIZE;
	for (;;) {
		struct desc d = load_desc(table + (size_t)i * DESC_SIZE);

		if (++seen > count)
			return *why = "indirect chain loops", -1;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return *why = "indirect table inside an indirect table", -1;
		if (add_buffer(chain, vq, &d, why) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= count)
			return *why = "indirect next index out of the table", -1;
	}
}

enum vq_pop_result vq_pop(struct virtqueue *vq, struct vq_chain *chain, const char **why)
{
	uint16_t avail_idx, head, i;
	unsigned seen = 0;

	avail_idx = le16_load_shared(AVAIL_IDX(vq));
	if (avail_idx == vq->last_avail_idx)
		return VQ_EMPTY;
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size) {
		*why = "available index moved by more than the queue size";
		return VQ_BROKEN;
	}
	/* Read the ring entry only after the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = le16_load_shared(AVAIL_RING(vq, vq->last_avail_idx % vq->size));
	if (head >= vq->size) {
		*why = "chain head out of the queue";
		return VQ_BROKEN;
	}
	chain->head = head;
	chain->n_out = chain->n_in = 0;
	chain->out_len = chain->in_len = 0;
	for (i = head;;) {
		struct desc d = load_desc(vq->desc + (size_t)i * DESC_SIZE);

		if (++seen > vq->size) {
			*why = "descriptor chain loops or is longer than the queue";
			return VQ_BROKEN;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (walk_indirect(chain, vq, &d, why) < 0)
				return VQ_BROKEN;
		} else if (add_buffer(chain, vq, &d, why) < 0) {
			return VQ_BROKEN;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= vq->size) {
			*why = "next index out of the queue";
			return VQ_BROKEN;
		}
	}
	vq->last_avail_idx++;
	return VQ_GOT_CHAIN;
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
}

bool vq_has_available(const struct virtqueue *vq)
{
	return le16_load_shared(AVAIL_IDX(vq)) != vq->last_avail_idx;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	uint8_t *elem = USED_RING(vq, vq->used_idx % vq->size);

	le32_store_shared(elem, head);
	le32_store_shared(elem + 4, written);
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	le16_store_shared(USED_IDX(vq), vq->used_idx);
}

bool vq_enable_notify(struct virtqueue *vq)
{
	if (vq->event_idx)
		le16_store_shared(AVAIL_EVENT(vq), vq->last_avail_idx);
	/* Publish avail_event before re-reading avail idx (pairs with the
	 * driver's barrier between writing idx and reading avail_event). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16_load_shared(AVAIL_IDX(vq)) != vq->last_avail_idx;
}

bool vq_notify_on_next_avail(struct virtqueue *vq)
{
	uint16_t idx = le16_load_shared(AVAIL_IDX(vq));

	if (vq->event_idx)
		le16_store_shared(AVAIL_EVENT(vq), idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16_load_shared(AVAIL_IDX(vq)) != idx;
}

bool vq_should_interrupt(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	/* Our used idx writes must be visible before we read the guest's
	 * suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(le16_load_shared(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	/* vring_need_event(): did used idx pass used_event since last time? */
	return (uint16_t)(now - le16_load_shared(USED_EVENT(vq)) - 1) < (uint16_t)(now - old);
}

static size_t chain_copy(const struct vq_chain *chain, unsigned first, unsigned n, size_t offset,
			 void *buf, size_t len, bool to_chain)
{
	size_t done = 0;

	for (unsigned k = first; k < first + n && done < len; k++) {
		size_t seg = chain->iov[k].iov_len;
		size_t take;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		take = seg - offset < len - done ? seg - offset : len - done;
		if (to_chain)
			memcpy((uint8_t *)chain->iov[k].iov_base + offset, (const uint8_t *)buf + done, take);
		else
			memcpy((uint8_t *)buf + done, (const uint8_t *)chain->iov[k].iov_base + offset, take);
		done += take;
		offset = 0;
	}
	return done;
}

size_t vq_chain_read(const struct vq_chain *chain, size_t offset, void *dst, size_t len)
{
	return chain_copy(chain, 0, chain->n_out, offset, dst, len, false);
}

size_t vq_chain_write(const struct vq_chain *chain, size_t offset, const void *src, size_t len)
{
	return chain_copy(chain, chain->n_out, chain->n_in, offset, (void *)src, len, true);
}

unsigned vq_chain_slice(const struct vq_chain *chain, bool writable, uint64_t offset, uint64_t len,
			struct iovec *out, unsigned max)
{
	unsigned first = writable ? chain->n_out : 0, end = first + (writable ? chain->n_in : chain->n_out), n = 0;

	for (unsigned k = first; k < end && len && n < max; k++) {
		uint64_t seg = chain->iov[k].iov_len;
		uint64_t take;

		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		take = seg - offset < len ? seg - offset : len;
		out[n].iov_base = (uint8_t *)chain->iov[k].iov_base + offset;
		out[n].iov_len = take;
		n++;
		len -= take;
		offset = 0;
	}
	return n;
}
