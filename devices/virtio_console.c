/* virtio-console (virtio 1.2 §5.3), one port, no multiport: receiveq (0)
 * carries keys to the guest, transmitq (1) its output to the terminal.
 * Output goes through the console's ring (never blocks); input is offered
 * by the console thread and taken only into buffers the guest has given,
 * so what cannot be taken yet waits in the console, nothing is dropped.
 *
 * Input also waits until the guest has written to hvc0 once. Linux's
 * driver (without MULTIPORT) sets DRIVER_OK and fills the receive queue
 * before its port exists; bytes that arrive in that window sit in the used
 * ring until some later interrupt. A guest that has printed to hvc0 (the
 * kernel console, a getty prompt, a shell) has its port. */
#include "virtio_console.h"

#include <linux/virtio_ids.h>
#include <stdlib.h>

#include "../vmm/console.h"

#define RX 0
#define TX 1

struct virtio_console {
	struct console *con;
	struct virtio_mmio *t;
	struct vq_chain rx_chain; /* the console thread's own scratch */
	bool guest_spoke;         /* the guest has written to hvc0 */
	unsigned long long rx_bytes, tx_bytes;
	uint8_t config[12]; /* cols, rows, max_nr_ports, emerg_wr: unused */
};

static uint32_t tx_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	struct virtio_console *vc = model;

	(void)t;
	for (unsigned k = 0; k < c->n_out; k++) {
		console_write(vc->con, c->iov[k].iov_base, c->iov[k].iov_len);
		vc->tx_bytes += c->iov[k].iov_len;
	}
	if (c->n_out && !__atomic_exchange_n(&vc->guest_spoke, true, __ATOMIC_ACQ_REL))
		console_kick(vc->con); /* held input may go now */
	return 0;
}

static void vcon_process(void *model, struct virtio_mmio *t, unsigned q)
{
	struct virtio_console *vc = model;

	if (q == TX)
		virtio_mmio_serve(t, q, tx_handle);
	else
		console_kick(vc->con); /* new receive buffers: input may be waiting */
}

/* On the console thread: fill receive buffers with input. */
static size_t vcon_receive(void *opaque, const uint8_t *bytes, size_t len)
{
	struct virtio_console *vc = opaque;
	size_t done = 0;

	if (!__atomic_load_n(&vc->guest_spoke, __ATOMIC_ACQUIRE))
		return 0;
	virtio_mmio_lock_queue(vc->t, RX);
	while (done < len && virtio_mmio_queue_live(vc->t, RX) &&
	       virtio_mmio_pop(vc->t, RX, &vc->rx_chain) == VQ_GOT_CHAIN) {
		size_t n = vq_chain_write(&vc->rx_chain, 0, bytes + done, len - done);
		virtio_mmio_push(vc->t, RX, vc->rx_chain.head, (uint32_t)n);
		done += n;
	}
	if (done)
		virtio_mmio_interrupt_if_wanted(vc->t, RX);
	virtio_mmio_unlock_queue(vc->t, RX);
	vc->rx_bytes += done;
	return done;
}

static void vcon_reset(void *model)
{
	__atomic_store_n(&((struct virtio_console *)model)->guest_spoke, false, __ATOMIC_RELEASE);
}

static void vcon_print_stats(void *model, FILE *out)
{
	struct virtio_console *vc = model;
	fprintf(out, "  %llu bytes to the guest, %llu from it\n", vc->rx_bytes, vc->tx_bytes);
}

static const struct virtio_model_ops console_ops = {
	.kind = "virtio-console", .device_id = VIRTIO_ID_CONSOLE, .num_queues = 2, .queue_max = 64,
	.process = vcon_process, .reset = vcon_reset, .print_stats = vcon_print_stats, .destroy = free,
};

struct device *virtio_console_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				     struct console *con, struct error *err)
{
	struct virtio_console *vc = calloc(1, sizeof(*vc));
	struct device *dev;

	if (!vc) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-console");
		return NULL;
	}
	vc->con = con;
	dev = virtio_mmio_create(base, spi, env, &console_ops, vc, 0, vc->config, sizeof(vc->config), err);
	if (!dev) {
		free(vc);
		return NULL;
	}
	vc->t = virtio_mmio_of(dev);
	console_attach(con, vcon_receive, vc);
	return dev;
}
