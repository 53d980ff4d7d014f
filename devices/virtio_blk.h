/* virtio_blk.h - virtio-blk over a raw image file or a block device. */
#ifndef SAEVM_VIRTIO_BLK_H
#define SAEVM_VIRTIO_BLK_H

#include "../vmm/config.h"
#include "../vmm/device.h"
#include "../vmm/error.h"
#include "virtio_mmio.h"

struct disk;

/* Opens and locks the image (an OFD lock: a second VM cannot open it for
 * writing). Done before any KVM work, so a busy or missing disk fails fast. */
struct disk *disk_open(const struct disk_config *cfg, struct error *err);
void disk_close(struct disk *disk);

/* The virtio-blk device on `disk` (which it then owns). */
struct device *virtio_blk_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct disk *disk, struct error *err);

#endif
