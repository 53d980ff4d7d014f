/* virtio_vsock.h - virtio-vsock (virtio 1.2 §5.10, device 19), served by
 * saevm in userspace (no vhost, no privileges), its streams bridged to Unix
 * sockets in the Firecracker style:
 *
 * - The guest has a CID (3 and up). A guest connection to the host (CID 2)
 *   port P becomes a connection to the Unix socket `PATH_P`, which a host
 *   program listens on.
 * - A host program that connects to the Unix socket `PATH` and writes
 *   "CONNECT P\n" gets a stream to the guest's port P: saevm answers
 *   "OK L\n" (L: the host-side port the guest sees) once the guest
 *   accepted, and closes the socket if it refused.
 *
 * PATH is NAME.vsock in the VM's control directory (vmm/control.h: the
 * user's own, 0700), so no other user can reach a guest.
 *
 * Credit-based flow control both ways (buf_alloc, fwd_cnt): saevm never
 * reads from a host socket more than the guest has room for, and never
 * holds more of the guest's bytes than the credit it gave (a guest that
 * sends past it gets a reset). Every table the guest fills is bounded.
 *
 * Threads: one, the device's own, owns every connection and host socket;
 * it takes the receive queue's lock to fill it and is called with the
 * transmit queue's lock to empty it, never both. A vCPU that resets the
 * device only bumps a generation (under every queue lock); the thread then
 * drops all connections before touching a queue again. */
#ifndef SAEVM_VIRTIO_VSOCK_H
#define SAEVM_VIRTIO_VSOCK_H

#include <stdint.h>

#include "../../vmm/device.h"
#include "../../vmm/error.h"
#include "../virtio_mmio.h"

#define VSOCK_MAX_CONNS 128           /* streams at once, both directions */
#define VSOCK_BUF_ALLOC (256u * 1024) /* credit saevm gives each stream */

/* Listens on the Unix socket `path` (a stale one is replaced); guest
 * connections go to `path`_PORT. */
struct device *virtio_vsock_create(uint64_t base, int spi, const struct virtio_mmio_env *env, uint64_t guest_cid,
				   const char *path, struct error *err);

/* One turn of the device's loop: waits up to timeout_ms for the guest's
 * notifications and the host sockets, and serves them. The device's
 * thread runs it; unit tests call it instead of a thread. */
void virtio_vsock_poll(struct device *dev, int timeout_ms);

#endif
