/* virtio_mmio.h - the virtio-mmio transport, version 2 only (virtio 1.2
 * §4.2; no legacy). It owns the register file, feature negotiation, the
 * status state machine and device reset, queue setup, notifications
 * (KVM_IOEVENTFD when the host has it, else the vCPU thread signals the
 * same eventfd) and interrupts (irqfd with an in-kernel irqchip, else
 * KVM_IRQ_LINE; nothing without an irqchip: the guest polls). Device
 * models (virtio_blk.c, ...) never see a register: they get called on the
 * transport's I/O thread with a queue that may have work. */
#ifndef SAEVM_VIRTIO_MMIO_H
#define SAEVM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../vmm/device.h"
#include "../vmm/error.h"
#include "../vmm/memory.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_MAX_QUEUES 4
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40

struct irqchip;
struct virtio_mmio;

/* What the platform offers a transport. */
struct virtio_mmio_env {
	const struct guest_mem *mem;
	struct irqchip *irq;    /* may have kind IRQCHIP_NONE */
	int vm_fd;              /* -1 in unit tests */
	bool use_ioeventfd;
	bool use_irqfd;
};

struct virtio_model_ops {
	const char *kind;        /* "virtio-blk" ... */
	uint32_t device_id;
	unsigned num_queues;
	uint16_t queue_max;
	/* On the I/O thread, queue lock held: serve queue q (see
	 * virtio_mmio_serve). */
	void (*process)(void *model, struct virtio_mmio *t, unsigned q);
	/* The driver reset the device (vCPU thread, queues locked). */
	void (*reset)(void *model);
	/* The driver set DRIVER_OK: features are final (vCPU thread). */
	void (*activate)(void *model, uint64_t negotiated);
	/* Models that need their own I/O loop (virtio-net: the backend's
	 * sockets change all the time) start it here and call
	 * virtio_mmio_handle_notify() when notify_fd is readable; without
	 * this hook the transport runs a plain I/O thread. */
	int (*start_loop)(void *model, struct virtio_mmio *t, int notify_fd, struct error *err);
	void (*stop_loop)(void *model);
	/* The VM is ending: the I/O thread has stopped; flush. */
	void (*shutdown)(void *model);
	void (*print_stats)(void *model, FILE *out);
	void (*destroy)(void *model);
};

/* Creates the transport around a model. `features` are the device-specific
 * feature bits it offers (the transport adds its own); `config` (LE bytes,
 * owned by the model) is the device-specific configuration space. */
struct device *virtio_mmio_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				  const struct virtio_model_ops *ops, void *model, uint64_t features,
				  const uint8_t *config, uint32_t config_len, struct error *err);

/* The transport behind a device made by virtio_mmio_create (NULL for any
 * other device). */
struct virtio_mmio *virtio_mmio_of(struct device *dev);
/* The model a transport was created around. */
void *virtio_mmio_model(struct virtio_mmio *t);

/* ---- for device models ----
 *
 * Every call below that names a queue q must be made with q's lock held
 * (virtio_mmio_lock_queue): the I/O thread's process() already holds it;
 * any other thread (a backend, the console) takes it first. A vCPU that
 * resets the device or changes QueueReady takes the same lock, so no
 * queue field is ever read while it changes. */

/* Handles one chain; returns the bytes written into its device-writable
 * buffers. */
typedef uint32_t (*virtio_chain_fn)(void *model, struct virtio_mmio *t, struct vq_chain *chain);

/* The standard loop: pop every available chain, hand it to fn, return it to
 * the guest, re-check with event-idx, interrupt if the driver wants it.
 * Bounded: after a pass's worth of chains or bytes it returns and comes
 * back later through the notification eventfd, and it ends early when a
 * reset or stop waits (virtio_mmio_should_yield). */
void virtio_mmio_serve(struct virtio_mmio *t, unsigned q, virtio_chain_fn fn);

/* The pieces of that loop, for models that serve a queue differently
 * (virtio-console's receive queue fills buffers when input arrives). */
enum vq_pop_result virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct vq_chain *chain);
void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t written);
void virtio_mmio_unpop(struct virtio_mmio *t, unsigned q, uint16_t n);
/* Serve every queue again soon, on the I/O thread (a model that learns
 * on one queue that another has work, without taking two queue locks). */
void virtio_mmio_kick(struct virtio_mmio *t);
/* A reset or stop is waiting for the queue: end the current pass. */
bool virtio_mmio_should_yield(struct virtio_mmio *t);
/* Asks the driver to notify when it adds buffers (event-idx's
 * avail_event); true if some arrived meanwhile (look again). */
bool virtio_mmio_want_buffers(struct virtio_mmio *t, unsigned q);
/* Live, and the driver has buffers we have not taken yet. */
bool virtio_mmio_queue_has_buffers(struct virtio_mmio *t, unsigned q);
void virtio_mmio_interrupt_if_wanted(struct virtio_mmio *t, unsigned q);
void virtio_mmio_lock_queue(struct virtio_mmio *t, unsigned q);
void virtio_mmio_unlock_queue(struct virtio_mmio *t, unsigned q);
/* The lock if nobody holds it: for a thread that already holds a queue
 * with a higher index, which must not wait for a lower one. */
bool virtio_mmio_trylock_queue(struct virtio_mmio *t, unsigned q);
bool virtio_mmio_queue_live(struct virtio_mmio *t, unsigned q);
uint64_t virtio_mmio_negotiated(const struct virtio_mmio *t);
/* A malformed request: DEVICE_NEEDS_RESET, a config interrupt, a counted
 * and rate-limited log line. */
void virtio_mmio_fail(struct virtio_mmio *t, unsigned q, const char *why);
/* Runs the model's process() for every live queue now (unit tests call
 * this instead of an I/O thread). */
void virtio_mmio_process_all(struct virtio_mmio *t);
uint32_t virtio_mmio_interrupt_status(const struct virtio_mmio *t);
/* Consumes a notification (notify_fd readable) and serves the queues. */
void virtio_mmio_handle_notify(struct virtio_mmio *t);
uint8_t virtio_mmio_status(const struct virtio_mmio *t);

#endif
