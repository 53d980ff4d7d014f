/* virtio-fs: queue 0 is the high-priority queue (FORGET, BATCH_FORGET,
 * INTERRUPT: no replies), queue 1 the one request queue. Both are served
 * on the transport's one I/O thread, so the FUSE server sees one request
 * at a time. The config space is the tag (36 bytes, NUL-padded) and the
 * number of request queues (le32). */
#include "virtio_fs.h"

#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/le.h"
#include "share/fuse_server.h"

/* Linux's client puts a whole request (up to 256 data pages and its
 * headers) in one chain: indirect descriptors carry it. */
#define QUEUE_SIZE 1024

struct virtio_fs {
	struct fuse_server *server;
	char tag[VIRTIO_FS_TAG_MAX + 1];
	uint8_t config[VIRTIO_FS_TAG_MAX + 4];
};

static uint32_t fs_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	(void)t;
	return fuse_server_handle(((struct virtio_fs *)model)->server, c);
}

static void fs_process(void *model, struct virtio_mmio *t, unsigned q)
{
	(void)model;
	virtio_mmio_serve(t, q, fs_handle);
}

static void fs_reset(void *model)
{
	fuse_server_reset(((struct virtio_fs *)model)->server);
}

static void fs_print_stats(void *model, FILE *out)
{
	struct virtio_fs *v = model;
	const struct fuse_stats *st = fuse_server_stats(v->server);

	fprintf(out, "  %s: %llu requests (%llu errors), %llu lookups, %llu forgets, %llu getattrs, %llu readdirs, "
		     "%llu bytes read, %llu written, %llu inodes held\n",
		v->tag, st->requests, st->errors, st->lookups, st->forgets, st->getattrs, st->readdirs, st->bytes_read,
		st->bytes_written, st->inodes);
	fprintf(out, "  %s: by opcode:", v->tag);
	for (uint32_t op = 0; op < FUSE_STATS_OPCODES; op++)
		if (st->by_opcode[op])
			fprintf(out, " %s %llu", fuse_opcode_name(op) ? fuse_opcode_name(op) : "other", st->by_opcode[op]);
	fputc('\n', out);
}

static void fs_destroy(void *model)
{
	struct virtio_fs *v = model;

	fuse_server_destroy(v->server);
	free(v);
}

static const struct virtio_model_ops fs_ops = {
	.kind = "virtio-fs", .device_id = VIRTIO_ID_FS, .num_queues = 2, .queue_max = QUEUE_SIZE,
	.process = fs_process, .reset = fs_reset, .print_stats = fs_print_stats, .destroy = fs_destroy,
};

struct device *virtio_fs_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				struct fuse_server *server, const char *tag, struct error *err)
{
	struct virtio_fs *v = calloc(1, sizeof(*v));
	size_t len = strlen(tag);
	struct device *dev;

	if (!v || len == 0 || len > VIRTIO_FS_TAG_MAX) {
		free(v);
		fuse_server_destroy(server);
		if (len == 0 || len > VIRTIO_FS_TAG_MAX)
			err_set(err, EXIT_USAGE, "virtio-fs tag '%s': 1 to %d bytes", tag, VIRTIO_FS_TAG_MAX);
		else
			err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-fs");
		return NULL;
	}
	v->server = server;
	memcpy(v->tag, tag, len);
	memcpy(v->config, tag, len);
	le32_store(v->config + VIRTIO_FS_TAG_MAX, 1); /* num_request_queues */
	dev = virtio_mmio_create(base, spi, env, &fs_ops, v, 0, v->config, sizeof(v->config), err);
	if (!dev)
		fs_destroy(v);
	return dev;
}
