/* virtio-net (virtio 1.2 §5.1): one receive and one transmit queue, MAC,
 * STATUS, MRG_RXBUF, event-idx, and the backend's offloads (tap: CSUM and
 * TSO; slirp: none). Each NIC has its own network thread that polls the
 * notification eventfd and the backend's descriptors together.
 *
 * Receive never drops silently: a frame that finds no guest buffer waits
 * in a bounded backlog until the guest adds buffers, and tap stops reading
 * meanwhile (back-pressure). Only a full backlog, a frame larger than the
 * guest's buffers can hold, or a driver that is not up drops, and each
 * drop is counted (--stats).
 *
 * Lock order is the transport's (receive queue, then transmit), but user
 * networking answers a frame from the guest at once: libslirp's
 * slirp_input() calls back with an ACK or more data while the transmit
 * pass holds its queue's lock. Waiting for the receive lock there would
 * deadlock with a vCPU resetting the device, which holds it and waits for
 * the transmit lock: so an answer goes to the guest at once only if the
 * receive lock is free, and otherwise is kept aside (`answers`, under
 * its own lock, which is taken last and holds nothing else) until
 * whoever takes the receive lock next. */
#include "virtio_net.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/le.h"
#include "../vmm/log.h"

#define RX 0
#define TX 1
#define QUEUE_SIZE 256
#define BACKLOG_FRAMES 128
/* What one transmit pass (64 chains) can make the backend answer: slirp
 * sends at most what it holds from host sockets, an ACK per segment. */
#define ANSWER_FRAMES 512
#define MAX_MERGE 64
#define MAX_POLL_FDS 256

struct frame {
	uint8_t hdr[VNET_HDR_LEN];
	bool has_hdr;
	size_t len;
	uint8_t *data;
};

struct virtio_net {
	struct virtio_mmio *t;
	struct net_backend *be;
	uint8_t config[12]; /* mac[6], status, max_virtqueue_pairs, mtu */
	uint64_t negotiated;
	struct vq_chain rx_chain;
	struct { uint16_t head; uint32_t len; } merged[MAX_MERGE];
	struct frame backlog[BACKLOG_FRAMES];
	unsigned backlog_head, backlog_len;
	bool rx_placed; /* frames placed since the last flush */
	pthread_mutex_t answers_lock;
	struct frame answers[ANSWER_FRAMES]; /* made during transmit passes, in order */
	unsigned answers_len;
	unsigned long long answers_dropped; /* answers_lock */

	pthread_t thread;
	bool thread_started;
	int notify_fd, stop_fd;
	struct pollfd fds[2 + MAX_POLL_FDS];

	unsigned long long tx_frames, tx_bytes, rx_frames, rx_bytes;
	unsigned long long rx_backlogged, rx_dropped, rx_too_big;
};

/* The device whose transmit pass this thread is in: its transmit lock is
 * held, and the backend may answer. */
static _Thread_local struct virtio_net *transmitting;

static bool has(const struct virtio_net *n, unsigned bit) { return n->negotiated & (1ULL << bit); }

static uint8_t *chain_byte(const struct vq_chain *c, size_t offset)
{
	for (unsigned k = c->n_out; k < c->n_out + c->n_in; k++) {
		if (offset < c->iov[k].iov_len)
			return (uint8_t *)c->iov[k].iov_base + offset;
		offset -= c->iov[k].iov_len;
	}
	return NULL;
}

enum place_result { PLACED, NO_ROOM, NEVER_FITS };

/* Puts one frame into the guest's receive buffers, merged across several
 * when MRG_RXBUF was negotiated. Receive queue lock held. On NO_ROOM
 * nothing was taken. */
static enum place_result place_frame(struct virtio_net *n, const uint8_t *hdr, const uint8_t *frame,
				     size_t len)
{
	uint8_t h[VNET_HDR_LEN] = { 0 };
	uint8_t *num_buffers_lo = NULL, *num_buffers_hi = NULL;
	bool mergeable = has(n, VIRTIO_NET_F_MRG_RXBUF);
	size_t placed = 0; /* frame bytes */
	unsigned bufs = 0;

	if (hdr)
		memcpy(h, hdr, VNET_HDR_LEN);
	else if (has(n, VIRTIO_NET_F_GUEST_CSUM))
		h[0] = VIRTIO_NET_HDR_F_DATA_VALID; /* slirp's checksums are whole */
	do {
		struct vq_chain *c = &n->rx_chain;
		size_t w = 0;

		if (bufs == MAX_MERGE || (bufs && !mergeable)) {
			virtio_mmio_unpop(n->t, RX, (uint16_t)bufs);
			return NEVER_FITS;
		}
		if (virtio_mmio_pop(n->t, RX, c) != VQ_GOT_CHAIN) {
			virtio_mmio_unpop(n->t, RX, (uint16_t)bufs);
			return NO_ROOM;
		}
		if (c->in_len < VNET_HDR_LEN) {
			virtio_mmio_fail(n->t, RX, "receive buffer smaller than the virtio-net header");
			return NEVER_FITS;
		}
		if (bufs == 0) {
			w = vq_chain_write(c, 0, h, VNET_HDR_LEN);
			num_buffers_lo = chain_byte(c, 10);
			num_buffers_hi = chain_byte(c, 11);
		}
		size_t k = vq_chain_write(c, w, frame + placed, len - placed);
		w += k;
		placed += k;
		n->merged[bufs].head = c->head;
		n->merged[bufs].len = (uint32_t)w;
		bufs++;
	} while (placed < len);
	*num_buffers_lo = (uint8_t)bufs; /* le16 num_buffers, now that we know it */
	*num_buffers_hi = (uint8_t)(bufs >> 8);
	for (unsigned i = 0; i < bufs; i++)
		virtio_mmio_push(n->t, RX, n->merged[i].head, n->merged[i].len);
	n->rx_frames++;
	n->rx_bytes += len;
	return PLACED;
}

/* Moves backlogged frames into the guest while it has room. Lock held.
 * When frames must wait, asks the driver to notify us of new buffers
 * (without that, event-idx lets it refill silently). */
static bool flush_backlog(struct virtio_net *n)
{
	bool any = false;

	while (n->backlog_len) {
		struct frame *f = &n->backlog[n->backlog_head];
		enum place_result r = place_frame(n, f->has_hdr ? f->hdr : NULL, f->data, f->len);
		if (r == NO_ROOM) {
			if (virtio_mmio_want_buffers(n->t, RX))
				continue; /* the guest added buffers meanwhile */
			break;
		}
		if (r == NEVER_FITS)
			n->rx_too_big++;
		any |= r == PLACED;
		free(f->data);
		f->data = NULL;
		n->backlog_head = (n->backlog_head + 1) % BACKLOG_FRAMES;
		n->backlog_len--;
	}
	return any;
}

/* A copy of a frame into *f; false without memory. */
static bool frame_keep(struct frame *f, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	if (!(f->data = malloc(len)))
		return false;
	memcpy(f->data, frame, len);
	f->len = len;
	f->has_hdr = hdr != NULL;
	if (hdr)
		memcpy(f->hdr, hdr, VNET_HDR_LEN);
	return true;
}

static void backlog_add(struct virtio_net *n, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	if (n->backlog_len == BACKLOG_FRAMES) {
		n->rx_dropped++;
		return;
	}
	if (frame_keep(&n->backlog[(n->backlog_head + n->backlog_len) % BACKLOG_FRAMES], hdr, frame, len)) {
		n->backlog_len++;
		n->rx_backlogged++;
	} else {
		n->rx_dropped++;
	}
}

/* One frame towards the guest. Receive queue lock held. */
static void receive_locked(struct virtio_net *n, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	bool placed = false;

	if (!virtio_mmio_queue_live(n->t, RX)) {
		n->rx_dropped++; /* no driver to give it to */
		return;
	}
	placed = flush_backlog(n);
	if (n->backlog_len) {
		backlog_add(n, hdr, frame, len); /* keep the order */
	} else {
		enum place_result r = place_frame(n, hdr, frame, len);
		if (r == NO_ROOM) {
			backlog_add(n, hdr, frame, len);
			if (virtio_mmio_want_buffers(n->t, RX)) /* raced with a refill */
				placed |= flush_backlog(n);
		} else if (r == NEVER_FITS)
			n->rx_too_big++;
		placed |= r == PLACED;
	}
	n->rx_placed |= placed;
}

/* The answers the last transmit pass made, before anything newer.
 * Receive queue lock held, on the network thread (or with every lock). */
static void deliver_answers(struct virtio_net *n)
{
	pthread_mutex_lock(&n->answers_lock);
	for (unsigned i = 0; i < n->answers_len; i++) {
		struct frame *f = &n->answers[i];
		receive_locked(n, f->has_hdr ? f->hdr : NULL, f->data, f->len);
		free(f->data);
		f->data = NULL;
	}
	n->answers_len = 0;
	pthread_mutex_unlock(&n->answers_lock);
}

/* The backend's sink (network thread). */
static void net_receive(void *dev, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	struct virtio_net *n = dev;

	if (transmitting == n) { /* see the top of this file */
		if (!virtio_mmio_trylock_queue(n->t, RX)) {
			pthread_mutex_lock(&n->answers_lock);
			if (n->answers_len < ANSWER_FRAMES && frame_keep(&n->answers[n->answers_len], hdr, frame, len))
				n->answers_len++;
			else
				n->answers_dropped++;
			pthread_mutex_unlock(&n->answers_lock);
			return;
		}
	} else {
		virtio_mmio_lock_queue(n->t, RX);
	}
	deliver_answers(n);
	receive_locked(n, hdr, frame, len);
	virtio_mmio_unlock_queue(n->t, RX);
}

/* The backend's burst is over: one interrupt (if the guest wants one) for
 * every frame placed since the last. */
static void net_flush(void *dev)
{
	struct virtio_net *n = dev;

	virtio_mmio_lock_queue(n->t, RX);
	deliver_answers(n);
	if (n->rx_placed) {
		n->rx_placed = false;
		virtio_mmio_interrupt_if_wanted(n->t, RX);
	}
	virtio_mmio_unlock_queue(n->t, RX);
}

static bool net_can_receive(void *dev)
{
	struct virtio_net *n = dev;
	bool room;

	/* The backlog and the queue belong to the receive queue's lock: a vCPU
	 * may be resetting the device right now. */
	virtio_mmio_lock_queue(n->t, RX);
	room = n->backlog_len == 0 && virtio_mmio_queue_has_buffers(n->t, RX);
	virtio_mmio_unlock_queue(n->t, RX);
	return room;
}

static uint32_t tx_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	struct virtio_net *n = model;

	if (c->out_len <= VNET_HDR_LEN || c->n_in) {
		virtio_mmio_fail(t, TX, "transmit chain without a frame after its header, or with writable buffers");
		return 0;
	}
	if (c->out_len > VNET_HDR_LEN + NET_FRAME_MAX) {
		virtio_mmio_fail(t, TX, "transmit frame larger than 64 KiB");
		return 0;
	}
	transmitting = n;
	n->be->ops->send(n->be, c->iov, c->n_out, c->out_len);
	transmitting = NULL;
	n->tx_frames++;
	n->tx_bytes += c->out_len - VNET_HDR_LEN;
	return 0;
}

static void net_process(void *model, struct virtio_mmio *t, unsigned q)
{
	struct virtio_net *n = model;

	if (q == TX) {
		virtio_mmio_serve(t, q, tx_handle);
	} else {
		deliver_answers(n);
		if (flush_backlog(n) || n->rx_placed) { /* the guest gave receive buffers */
			n->rx_placed = false;
			virtio_mmio_interrupt_if_wanted(t, RX);
		}
	}
}

/* Transport's register and queue locks held: once per device reset. */
static void net_activate(void *model, uint64_t features)
{
	struct virtio_net *n = model;
	n->negotiated = features;
	n->be->ops->activate(n->be, features);
}

static void net_reset(void *model)
{
	struct virtio_net *n = model;

	n->negotiated = 0;
	n->rx_placed = false;
	pthread_mutex_lock(&n->answers_lock);
	for (unsigned i = 0; i < n->answers_len; i++) { /* nor answers to the old one */
		free(n->answers[i].data);
		n->answers[i].data = NULL;
		n->rx_dropped++;
	}
	n->answers_len = 0;
	pthread_mutex_unlock(&n->answers_lock);
	while (n->backlog_len) { /* a reset guest wants no stale frames */
		free(n->backlog[n->backlog_head].data);
		n->backlog[n->backlog_head].data = NULL;
		n->backlog_head = (n->backlog_head + 1) % BACKLOG_FRAMES;
		n->backlog_len--;
		n->rx_dropped++;
	}
}

static void *net_thread(void *arg)
{
	struct virtio_net *n = arg;

	pthread_setname_np(pthread_self(), "net-io");
	for (;;) {
		int timeout = -1, nb;

		n->fds[0] = (struct pollfd){ .fd = n->notify_fd, .events = POLLIN };
		n->fds[1] = (struct pollfd){ .fd = n->stop_fd, .events = POLLIN };
		nb = n->be->ops->poll_fill(n->be, n->fds + 2, MAX_POLL_FDS, &timeout);
		if (poll(n->fds, (nfds_t)(2 + nb), timeout) < 0 && errno != EINTR)
			break;
		if (n->fds[1].revents)
			break;
		if (n->fds[0].revents & POLLIN) {
			virtio_mmio_handle_notify(n->t);
			net_flush(n); /* the answers its transmissions made */
		}
		/* Last, so that it also flushes frames the backend made while
		 * taking the guest's transmissions (slirp answers at once). */
		n->be->ops->poll_handle(n->be, n->fds + 2, nb);
	}
	return NULL;
}

static int net_start_loop(void *model, struct virtio_mmio *t, int notify_fd, struct error *err)
{
	struct virtio_net *n = model;
	int r;

	n->t = t;
	n->notify_fd = notify_fd;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "eventfd for virtio-net");
	r = pthread_create(&n->thread, NULL, net_thread, n);
	if (r)
		return err_errno(err, EXIT_HOST_ERROR, r, "cannot start the network thread");
	n->thread_started = true;
	return 0;
}

static void net_stop_loop(void *model)
{
	struct virtio_net *n = model;
	uint64_t one = 1;

	if (n->thread_started && write(n->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(n->thread, NULL);
	n->thread_started = false;
}

static void net_print_stats(void *model, FILE *out)
{
	struct virtio_net *n = model;
	fprintf(out, "  %s: tx %llu frames (%llu bytes), rx %llu frames (%llu bytes), %llu waited for buffers, "
		     "%llu dropped (backlog full or driver down), %llu too big for the guest's buffers\n",
		n->be->ops->kind, n->tx_frames, n->tx_bytes, n->rx_frames, n->rx_bytes, n->rx_backlogged,
		n->rx_dropped + n->answers_dropped, n->rx_too_big);
}

static void net_destroy(void *model)
{
	struct virtio_net *n = model;

	net_stop_loop(n);
	net_reset(n);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->be->ops->destroy(n->be);
	pthread_mutex_destroy(&n->answers_lock);
	free(n);
}

static const struct virtio_model_ops net_ops = {
	.kind = "virtio-net", .device_id = VIRTIO_ID_NET, .num_queues = 2, .queue_max = QUEUE_SIZE,
	.process = net_process, .reset = net_reset, .activate = net_activate,
	.start_loop = net_start_loop, .stop_loop = net_stop_loop, .print_stats = net_print_stats,
	.destroy = net_destroy,
};

struct device *virtio_net_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct net_backend *backend, const uint8_t mac[6], struct error *err)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	struct device *dev;
	uint64_t features;

	if (!n) {
		backend->ops->destroy(backend);
		err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-net");
		return NULL;
	}
	n->be = backend;
	n->stop_fd = -1;
	pthread_mutex_init(&n->answers_lock, NULL);
	backend->sink = (struct net_rx_sink){ .can_receive = net_can_receive, .receive = net_receive,
						   .flush = net_flush, .dev = n };
	memcpy(n->config, mac, 6);
	le16_store(n->config + 6, VIRTIO_NET_S_LINK_UP);
	le16_store(n->config + 8, 1);                            /* max_virtqueue_pairs */
	le16_store(n->config + 10, (uint16_t)backend->ops->mtu(backend)); /* mtu */
	/* What the NIC offers depends on its backend's offloads and MTU. */
	features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
		   backend->ops->features(backend) | (backend->ops->mtu(backend) ? 1ULL << VIRTIO_NET_F_MTU : 0);
	dev = virtio_mmio_create(base, spi, env, &net_ops, n, features, n->config, sizeof(n->config), err);
	if (!dev) {
		net_destroy(n);
		return NULL;
	}
	n->t = virtio_mmio_of(dev);
	return dev;
}
