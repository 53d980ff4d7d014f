/* virtio_console.h - /dev/hvc0 tied to the terminal, like the UART. */
#ifndef SAEVM_VIRTIO_CONSOLE_H
#define SAEVM_VIRTIO_CONSOLE_H

#include "../vmm/device.h"
#include "virtio_mmio.h"

struct console;

/* Attaches itself as the console's input sink: keys go to hvc0. */
struct device *virtio_console_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				     struct console *con, struct error *err);

#endif
