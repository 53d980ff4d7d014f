/* virtio_rng.h - an entropy source for the guest, fed from getrandom(). */
#ifndef SAEVM_VIRTIO_RNG_H
#define SAEVM_VIRTIO_RNG_H

#include "../vmm/device.h"
#include "virtio_mmio.h"

struct device *virtio_rng_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct error *err);

#endif
