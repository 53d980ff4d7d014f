/* virtio_stdio.c - see virtio_stdio.h. receiveq (0): frames to the guest
 * (stdin bytes, stdin's end, the window size), filled on the console
 * thread as input arrives, or on the I/O thread when the guest adds
 * buffers. transmitq (1): frames from the guest, parsed on the I/O thread
 * across chain boundaries; stdout and stderr bytes are written straight
 * from the guest's buffers to the file descriptors. */
#include "virtio_stdio.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../guest/stdio_proto.h"
#include "../vmm/console.h"
#include "../vmm/le.h"
#include "../vmm/log.h"

#define RX 0
#define TX 1

struct virtio_stdio {
	struct console *con;
	struct virtio_mmio *t;
	int out_fd, err_fd;
	stdio_exit_fn on_exit;
	void *opaque;
	void (*on_serving)(void *opaque);
	void *serving_opaque;
	struct vq_chain rx_chain; /* RX lock */
	/* the TX parser (I/O thread) */
	uint8_t hdr[STDIO_HDR];
	unsigned hdr_have;
	size_t left; /* payload bytes of the current frame still to come */
	uint8_t type;
	/* control frames waiting for a receive buffer (RX lock) */
	bool eof_pending, size_pending;
	uint16_t rows, cols;
	bool ready; /* the guest's init is up: input may flow */
	unsigned long long in_bytes, out_bytes, err_bytes, dropped;
	uint8_t config[12];
};

/* Writes all of it, waiting while the reader is slow (that holds the
 * guest's output back), but never past a reset or stop. */
static void write_out(struct virtio_stdio *vs, int fd, const uint8_t *p, size_t n)
{
	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		if (virtio_mmio_should_yield(vs->t))
			break;
		if (poll(&pfd, 1, 100) == 0)
			continue;
		w = write(fd, p, n > 4096 ? 4096 : n); /* a pipe that polls writable takes 4 KiB */
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			break; /* EPIPE: nobody reads */
		p += w;
		n -= (size_t)w;
		if (fd == vs->out_fd)
			vs->out_bytes += (size_t)w;
		else
			vs->err_bytes += (size_t)w;
	}
	vs->dropped += n;
}

static void parse(struct virtio_stdio *vs, const uint8_t *p, size_t n)
{
	while (n) {
		if (vs->hdr_have < STDIO_HDR) {
			vs->hdr[vs->hdr_have++] = *p++;
			n--;
			if (vs->hdr_have == STDIO_HDR) {
				vs->type = vs->hdr[0];
				vs->left = le16_load(vs->hdr + 2);
				if (vs->type == STDIO_READY && !__atomic_exchange_n(&vs->ready, true, __ATOMIC_ACQ_REL)) {
					/* Input held back may go now; the control frames go
					 * from the receive queue's pass (never two queue
					 * locks at once). */
					virtio_mmio_kick(vs->t);
					console_kick(vs->con);
					log_info("sandbox: the guest's init is up, %.3f s after saevm started",
						 log_wall_since_start());
				}
				/* The status is one byte, after READY: anything else is
				 * the guest breaking the protocol, never a status. */
				if (vs->type == STDIO_EXIT &&
				    (vs->left != 1 || !__atomic_load_n(&vs->ready, __ATOMIC_ACQUIRE)))
					vs->on_exit(vs->opaque, STDIO_EXIT_PROTOCOL_ERROR);
				if (vs->type == STDIO_SERVING && vs->on_serving &&
				    __atomic_load_n(&vs->ready, __ATOMIC_ACQUIRE)) {
					log_info("sandbox: the guest's init takes exec streams, %.3f s after saevm started",
						 log_wall_since_start());
					vs->on_serving(vs->serving_opaque);
					vs->on_serving = NULL; /* once */
				}
				if (vs->left == 0)
					vs->hdr_have = 0;
			}
			continue;
		}
		size_t take = n < vs->left ? n : vs->left;
		if (vs->type == STDIO_STDOUT || vs->type == STDIO_STDERR)
			write_out(vs, vs->type == STDIO_STDOUT ? vs->out_fd : vs->err_fd, p, take);
		else if (vs->type == STDIO_EXIT && vs->left == 1 && le16_load(vs->hdr + 2) == 1 &&
			 __atomic_load_n(&vs->ready, __ATOMIC_ACQUIRE))
			vs->on_exit(vs->opaque, p[0]);
		p += take;
		n -= take;
		vs->left -= take;
		if (vs->left == 0)
			vs->hdr_have = 0;
	}
}

static uint32_t tx_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	(void)t;
	for (unsigned k = 0; k < c->n_out; k++)
		parse(model, c->iov[k].iov_base, c->iov[k].iov_len);
	return 0;
}

/* One frame into the next receive buffer: header, then as much of the
 * payload as fits. Returns the payload bytes taken, -1 when no buffer. */
static long rx_frame(struct virtio_stdio *vs, uint8_t type, const uint8_t *data, size_t len)
{
	uint8_t hdr[STDIO_HDR];
	size_t room;

	if (!virtio_mmio_queue_live(vs->t, RX) || virtio_mmio_pop(vs->t, RX, &vs->rx_chain) != VQ_GOT_CHAIN)
		return -1;
	room = vs->rx_chain.in_len > STDIO_HDR ? vs->rx_chain.in_len - STDIO_HDR : 0;
	if (len > room)
		len = room;
	if (len > STDIO_MAX_DATA)
		len = STDIO_MAX_DATA;
	if (vs->rx_chain.in_len < STDIO_HDR + (type == STDIO_STDIN ? 1 : len)) {
		virtio_mmio_unpop(vs->t, RX, 1); /* too small for the frame: keep it for later */
		return -1;
	}
	hdr[0] = type;
	hdr[1] = 0;
	le16_store(hdr + 2, (uint16_t)len);
	vq_chain_write(&vs->rx_chain, 0, hdr, sizeof(hdr));
	vq_chain_write(&vs->rx_chain, STDIO_HDR, data, len);
	virtio_mmio_push(vs->t, RX, vs->rx_chain.head, (uint32_t)(STDIO_HDR + len));
	return (long)len;
}

/* RX lock held: the window size and stdin's end, once there is room. */
static bool send_control(struct virtio_stdio *vs)
{
	bool sent = false;

	/* Before the init has hvc0 open, frames could sit unseen. */
	if (!__atomic_load_n(&vs->ready, __ATOMIC_ACQUIRE))
		return false;
	if (vs->size_pending) {
		uint8_t ws[4];
		le16_store(ws, vs->rows);
		le16_store(ws + 2, vs->cols);
		if (rx_frame(vs, STDIO_WINSIZE, ws, sizeof(ws)) == sizeof(ws)) {
			vs->size_pending = false;
			sent = true;
		}
	}
	if (vs->eof_pending && rx_frame(vs, STDIO_EOF, NULL, 0) == 0) {
		vs->eof_pending = false;
		sent = true;
	}
	return sent;
}

/* On the console thread: stdin bytes into receive buffers. */
static size_t stdio_receive(void *opaque, const uint8_t *bytes, size_t len)
{
	struct virtio_stdio *vs = opaque;
	size_t done = 0;
	long n;

	if (!__atomic_load_n(&vs->ready, __ATOMIC_ACQUIRE))
		return 0;
	virtio_mmio_lock_queue(vs->t, RX);
	while (done < len && (n = rx_frame(vs, STDIO_STDIN, bytes + done, len - done)) > 0)
		done += (size_t)n;
	if (done)
		virtio_mmio_interrupt_if_wanted(vs->t, RX);
	virtio_mmio_unlock_queue(vs->t, RX);
	vs->in_bytes += done;
	return done;
}

/* Console thread: stdin ended (its bytes went first: the console hands
 * them over before it reads on and sees the end), or the window changed.
 * The frame goes now if there is room, else when buffers come. */
static void stdio_eof(void *opaque)
{
	struct virtio_stdio *vs = opaque;

	virtio_mmio_lock_queue(vs->t, RX);
	vs->eof_pending = true;
	if (send_control(vs))
		virtio_mmio_interrupt_if_wanted(vs->t, RX);
	virtio_mmio_unlock_queue(vs->t, RX);
}

static void stdio_resize(void *opaque, unsigned rows, unsigned cols)
{
	struct virtio_stdio *vs = opaque;

	virtio_mmio_lock_queue(vs->t, RX);
	vs->rows = (uint16_t)rows;
	vs->cols = (uint16_t)cols;
	vs->size_pending = true;
	if (send_control(vs))
		virtio_mmio_interrupt_if_wanted(vs->t, RX);
	virtio_mmio_unlock_queue(vs->t, RX);
}

static void stdio_process(void *model, struct virtio_mmio *t, unsigned q)
{
	struct virtio_stdio *vs = model;

	if (q == TX) {
		virtio_mmio_serve(t, q, tx_handle);
		return;
	}
	/* New receive buffers: control frames first, then held input. */
	if (send_control(vs))
		virtio_mmio_interrupt_if_wanted(t, RX);
	console_kick(vs->con);
}

static void stdio_reset(void *model)
{
	struct virtio_stdio *vs = model;

	__atomic_store_n(&vs->ready, false, __ATOMIC_RELEASE);
	vs->hdr_have = 0;
	vs->left = 0;
}

static void stdio_print_stats(void *model, FILE *out)
{
	struct virtio_stdio *vs = model;
	fprintf(out, "  %llu bytes of stdin to the guest, %llu to stdout, %llu to stderr, %llu dropped\n",
		vs->in_bytes, vs->out_bytes, vs->err_bytes, vs->dropped);
}

static const struct virtio_model_ops stdio_ops = {
	.kind = "virtio-stdio", .device_id = VIRTIO_ID_CONSOLE, .num_queues = 2, .queue_max = 128,
	.process = stdio_process, .reset = stdio_reset, .print_stats = stdio_print_stats, .destroy = free,
};

void virtio_stdio_on_serving(struct device *dev, void (*fn)(void *opaque), void *opaque)
{
	struct virtio_stdio *vs = virtio_mmio_model(virtio_mmio_of(dev));
	vs->on_serving = fn;
	vs->serving_opaque = opaque;
}

struct device *virtio_stdio_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				   struct console *con, int out_fd, int err_fd, stdio_exit_fn on_exit,
				   void *opaque, struct error *err)
{
	struct virtio_stdio *vs = calloc(1, sizeof(*vs));
	struct device *dev;
	unsigned rows, cols;

	if (!vs) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for the stdio channel");
		return NULL;
	}
	vs->con = con;
	vs->out_fd = out_fd;
	vs->err_fd = err_fd;
	vs->on_exit = on_exit;
	vs->opaque = opaque;
	if (console_window_size(con, &rows, &cols)) {
		vs->rows = (uint16_t)rows;
		vs->cols = (uint16_t)cols;
	}
	dev = virtio_mmio_create(base, spi, env, &stdio_ops, vs, 0, vs->config, sizeof(vs->config), err);
	if (!dev) {
		free(vs);
		return NULL;
	}
	vs->t = virtio_mmio_of(dev);
	console_attach(con, stdio_receive, vs);
	console_attach_events(con, stdio_eof, stdio_resize);
	return dev;
}
