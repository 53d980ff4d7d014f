/* virtio_net.h - a virtio-net NIC on a backend (user networking or tap). */
#ifndef SAEVM_VIRTIO_NET_H
#define SAEVM_VIRTIO_NET_H

#include "../vmm/device.h"
#include "net_backend.h"
#include "virtio_mmio.h"

/* The device takes ownership of `backend`. */
struct device *virtio_net_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct net_backend *backend, const uint8_t mac[6], struct error *err);

#endif
