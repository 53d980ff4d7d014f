/* virtio_fs.h - virtio-fs (virtio 1.2 §5.11): one host directory shared
 * with the guest over FUSE, which it mounts by its tag:
 *   mount -t virtiofs TAG /mnt
 * The protocol itself is devices/share/fuse_server.c. */
#ifndef SAEVM_VIRTIO_FS_H
#define SAEVM_VIRTIO_FS_H

#include "../vmm/device.h"
#include "../vmm/error.h"
#include "virtio_mmio.h"

#define VIRTIO_FS_TAG_MAX 36

struct fuse_server;

/* The device serving `server` (which it then owns) under `tag`. */
struct device *virtio_fs_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				struct fuse_server *server, const char *tag, struct error *err);

#endif
