/* virtio_stdio.h - the sandbox's stdio channel: a virtio-console device
 * (hvc0 in the guest) that carries frames (guest/stdio_proto.h) between
 * saevm's stdin, stdout and stderr and the guest's init, which runs the
 * command. Unlike the terminal console nothing is dropped: the guest's
 * output waits in its queue while saevm's stdout is full. */
#ifndef SAEVM_VIRTIO_STDIO_H
#define SAEVM_VIRTIO_STDIO_H

#include "../vmm/device.h"
#include "../vmm/error.h"
#include "virtio_mmio.h"

struct console;

/* The command ended with status (0..255), or the guest broke the
 * protocol (an EXIT frame before READY, or not of one byte):
 * STDIO_EXIT_PROTOCOL_ERROR. */
#define STDIO_EXIT_PROTOCOL_ERROR (-1)
typedef void (*stdio_exit_fn)(void *opaque, int status);

/* stdin comes through `con` (its sink; the device takes it over), output
 * goes to out_fd and err_fd. */
struct device *virtio_stdio_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				   struct console *con, int out_fd, int err_fd, stdio_exit_fn on_exit,
				   void *opaque, struct error *err);

/* A sandbox that stays up: fn(opaque) runs once, on the device's I/O
 * thread, when the guest's init says it takes exec streams (SERVING). */
void virtio_stdio_on_serving(struct device *dev, void (*fn)(void *opaque), void *opaque);

#endif
