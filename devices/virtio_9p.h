/* virtio_9p.h - virtio-9p (virtio 1.2 §5.x "9P transport"): one host
 * directory shared with the guest, which mounts it by its tag:
 *   mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 TAG /mnt
 * The protocol itself is devices/share/p9_server.c. */
#ifndef SAEVM_VIRTIO_9P_H
#define SAEVM_VIRTIO_9P_H

#include <stdbool.h>

#include "../vmm/device.h"
#include "../vmm/error.h"
#include "virtio_mmio.h"

#define VIRTIO_9P_TAG_MAX 32

struct p9_server;

/* The device serving `server` (which it then owns) under `tag`. */
struct device *virtio_9p_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				struct p9_server *server, const char *tag, struct error *err);

#endif
