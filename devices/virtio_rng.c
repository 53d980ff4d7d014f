/* virtio-rng (virtio 1.2 §5.4): one queue of device-writable buffers that
 * we fill with random bytes. */
#include "virtio_rng.h"

#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <sys/random.h>

#define MAX_PER_REQUEST 4096u /* a hungry guest cannot make us block long */

struct virtio_rng {
	unsigned long long bytes;
};

static uint32_t rng_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	struct virtio_rng *r = model;
	uint32_t done = 0;

	(void)t;
	for (unsigned k = c->n_out; k < c->n_out + c->n_in && done < MAX_PER_REQUEST; k++) {
		size_t want = c->iov[k].iov_len;
		if (want > MAX_PER_REQUEST - done)
			want = MAX_PER_REQUEST - done;
		ssize_t got = getrandom(c->iov[k].iov_base, want, 0);
		if (got <= 0)
			break;
		done += (uint32_t)got;
		if ((size_t)got < want)
			break;
	}
	r->bytes += done;
	return done;
}

static void rng_process(void *model, struct virtio_mmio *t, unsigned q)
{
	(void)model;
	virtio_mmio_serve(t, q, rng_handle);
}

static void rng_print_stats(void *model, FILE *out)
{
	fprintf(out, "  %llu random bytes given\n", ((struct virtio_rng *)model)->bytes);
}

static const struct virtio_model_ops rng_ops = {
	.kind = "virtio-rng", .device_id = VIRTIO_ID_RNG, .num_queues = 1, .queue_max = 64,
	.process = rng_process, .print_stats = rng_print_stats, .destroy = free,
};

struct device *virtio_rng_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct error *err)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	struct device *dev;

	if (!r) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-rng");
		return NULL;
	}
	dev = virtio_mmio_create(base, spi, env, &rng_ops, r, 0, NULL, 0, err);
	if (!dev)
		free(r);
	return dev;
}
