/* virtio-9p: one request queue; each chain is a T-message (device-readable)
 * and room for its R-message (device-writable), served in order on the
 * transport's I/O thread by the 9p server. The config space is the mount
 * tag: le16 length, then its bytes (no NUL). */
#include "virtio_9p.h"

#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/le.h"
#include "share/p9_server.h"

#define VIRTIO_9P_MOUNT_TAG 0 /* feature bit */
/* Linux's client puts a whole request (up to 128 segments) in one chain. */
#define QUEUE_SIZE 128

struct virtio_9p {
	struct p9_server *server;
	char tag[VIRTIO_9P_TAG_MAX + 1];
	uint8_t config[2 + VIRTIO_9P_TAG_MAX];
};

static uint32_t p9_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	struct virtio_9p *v = model;
	uint32_t n = p9_server_handle(v->server, c);

	if (n == 0)
		virtio_mmio_fail(t, 0, "9p request with no room for a reply");
	return n;
}

static void p9_process(void *model, struct virtio_mmio *t, unsigned q)
{
	(void)model;
	virtio_mmio_serve(t, q, p9_handle);
}

static void p9_reset(void *model)
{
	p9_server_reset(((struct virtio_9p *)model)->server);
}

static void p9_print_stats(void *model, FILE *out)
{
	struct virtio_9p *v = model;
	const struct p9_stats *st = p9_server_stats(v->server);

	fprintf(out, "  %s: msize %u, %llu requests (%llu errors), %llu walks, %llu getattrs, %llu readdirs, "
		     "%llu bytes read in %llu Treads, %llu written in %llu Twrites\n",
		v->tag, p9_server_msize(v->server), st->requests, st->errors, st->walks, st->getattrs, st->readdirs,
		st->bytes_read, st->reads, st->bytes_written, st->writes);
}

static void p9_destroy(void *model)
{
	struct virtio_9p *v = model;

	p9_server_destroy(v->server);
	free(v);
}

static const struct virtio_model_ops p9_ops = {
	.kind = "virtio-9p", .device_id = VIRTIO_ID_9P, .num_queues = 1, .queue_max = QUEUE_SIZE,
	.process = p9_process, .reset = p9_reset, .print_stats = p9_print_stats, .destroy = p9_destroy,
};

struct device *virtio_9p_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				struct p9_server *server, const char *tag, struct error *err)
{
	struct virtio_9p *v = calloc(1, sizeof(*v));
	size_t len = strlen(tag);
	struct device *dev;

	if (!v || len == 0 || len > VIRTIO_9P_TAG_MAX) {
		free(v);
		p9_server_destroy(server);
		if (len == 0 || len > VIRTIO_9P_TAG_MAX)
			err_set(err, EXIT_USAGE, "9p mount tag '%s': 1 to %d bytes", tag, VIRTIO_9P_TAG_MAX);
		else
			err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-9p");
		return NULL;
	}
	v->server = server;
	memcpy(v->tag, tag, len);
	le16_store(v->config, (uint16_t)len);
	memcpy(v->config + 2, tag, len);
	dev = virtio_mmio_create(base, spi, env, &p9_ops, v, 1ULL << VIRTIO_9P_MOUNT_TAG, v->config,
				 (uint32_t)(2 + len), err);
	if (!dev)
		p9_destroy(v);
	return dev;
}
