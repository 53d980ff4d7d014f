/* device.h - what every emulated device is to the platform.
 *
 * A device embeds `struct device` and points it at a const table of typed
 * callbacks. The composition root (vmm/main.c) creates the devices the
 * configuration asks for and adds each to the MMIO bus (vmm/mmio_bus.h), the
 * one explicit table that the vCPU exit dispatch and the device-tree builder
 * both walk. The platform never names a concrete device.
 *
 * Values cross this interface as host integers: the bus has already turned
 * the guest's little-endian bytes into a number (see vmm/le.h), so no device
 * ever byte-swaps MMIO data itself. */
#ifndef SAEVM_DEVICE_H
#define SAEVM_DEVICE_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct device;
struct dt_ctx; /* fdt/dt.h */

struct device_ops {
	const char *kind; /* "uart-8250", "virtio-blk", ... for logs and --stats */
	/* Register access at `offset` into the device's window, len 1/2/4/8.
	 * Called on vCPU threads, possibly several at once: devices lock. */
	uint64_t (*mmio_read)(struct device *dev, uint64_t offset, unsigned len);
	void (*mmio_write)(struct device *dev, uint64_t offset, unsigned len, uint64_t value);
	/* Writes the device's node into the device tree (fdt/dt.h helpers). */
	int (*fdt_node)(struct device *dev, struct dt_ctx *dt);
	/* Starts the device's own threads, before the vCPUs run (optional). */
	int (*start)(struct device *dev, struct error *err);
	/* After the vCPUs stopped: lets in-flight work finish, flushes (disks
	 * fdatasync), ends the threads (optional). */
	void (*stop)(struct device *dev);
	/* The machine resets (--reboot; every vCPU is out of the guest): back
	 * to the power-on state, under the device's own locks. Its threads keep
	 * running but touch guest RAM no more until a new guest sets the device
	 * up, so RAM can be reloaded next (optional). */
	void (*reset)(struct device *dev);
	/* Prints one line of counters for --stats (optional). */
	void (*print_stats)(struct device *dev, FILE *out);
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	uint64_t mmio_base;
	uint64_t mmio_len;
	int spi;        /* shared peripheral interrupt number, -1 for none */
	char node[48];  /* device-tree node name, e.g. "uart@9000000" */
};

/* Fills in the platform's view of a device: its ops, its MMIO window, its
 * interrupt (-1: none) and its device-tree node name, "<kind>@<base>". */
static inline void device_init(struct device *dev, const struct device_ops *ops, const char *node_kind,
			       uint64_t base, uint64_t len, int spi)
{
	dev->ops = ops;
	dev->mmio_base = base;
	dev->mmio_len = len;
	dev->spi = spi;
	snprintf(dev->node, sizeof(dev->node), "%s@%llx", node_kind, (unsigned long long)base);
}

#endif
