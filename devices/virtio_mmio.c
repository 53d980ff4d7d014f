#include "virtio_mmio.h"

#include <errno.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../fdt/dt.h"
#include "../vmm/iothread.h"
#include "../vmm/irq.h"
#include "../vmm/kvm_uapi.h"
#include "../vmm/le.h"
#include "../vmm/log.h"

/* Register offsets (virtio 1.2 §4.2.2). */
enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac, REG_SHM_LEN_LOW = 0x0b0, REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8, REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};
#define MAGIC 0x74726976u   /* "virt" */
#define VENDOR 0x56454153u  /* "SAEV" */
#define STATUS_FEATURES_OK 0x08
#define STATUS_DRIVER_OK 0x04
#define INT_USED_BUFFER 1u
#define INT_CONFIG_CHANGE 2u
#define MAX_FAILURE_LOGS 5
/* One pass of the I/O thread over a queue holds its lock for at most this
 * many chains or this many bytes that the chains name; then it lets go
 * (a reset, QueueReady or stop waiting for the lock gets it) and comes
 * back through its eventfd. */
#define PASS_MAX_CHAINS 64
#define PASS_MAX_BYTES (32ULL << 20)

struct queue {
	pthread_mutex_t lock;
	uint16_t num;
	bool ready;
	bool broken;
	uint64_t desc, driver, device;
	struct virtqueue vq;
};

struct virtio_mmio {
	struct device dev;
	struct virtio_mmio_env env;
	const struct virtio_model_ops *ops;
	void *model;
	uint64_t features; /* the model's own feature bits */
	const uint8_t *config;
	uint32_t config_len;

	/* Locking: `lock` guards the registers. Each queue's lock guards that
	 * queue and the model's state for it. `status`, `negotiated` and a
	 * queue's ready/broken change only with `lock` and every queue lock
	 * held, so a thread holding one queue lock may read them. Order:
	 * `lock`, then queue locks in index order. */
	pthread_mutex_t lock;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features, negotiated;
	uint8_t status;
	bool activated;    /* activate() ran since the last reset */
	atomic_bool yield; /* a reset or stop waits: end the pass now */
	atomic_bool stopping;
	atomic_bool needs_reset; /* set by whichever thread found the guest's error */
	uint32_t config_generation;
	atomic_uint interrupt_status;
	struct queue queues[VIRTIO_MMIO_MAX_QUEUES];
	struct vq_chain *chain; /* scratch for the I/O thread */

	int notify_fd;   /* ioeventfd target, or signalled by the vCPU thread */
	bool ioeventfd_registered;
	int irq_fd;      /* irqfd, or -1 */
	struct iothread io;
	atomic_ulong notifies, interrupts, failures;
};

static struct virtio_mmio *to_t(struct device *dev) { return (struct virtio_mmio *)dev; }

static uint64_t offered_features(const struct virtio_mmio *t)
{
	return t->features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
	       (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	uint64_t one = 1;

	atomic_fetch_or(&t->interrupt_status, bits);
	atomic_fetch_add_explicit(&t->interrupts, 1, memory_order_relaxed);
	/* An edge (the DT says so): the sticky InterruptStatus bits tell the
	 * driver what happened, however many edges it saw. */
	if (t->irq_fd >= 0) {
		if (write(t->irq_fd, &one, sizeof(one)) < 0)
			log_debug("%s: irqfd: %s", t->dev.node, strerror(errno));
	} else if (t->env.irq && t->dev.spi >= 0) {
		irqchip_set_spi(t->env.irq, (unsigned)t->dev.spi, true);
		irqchip_set_spi(t->env.irq, (unsigned)t->dev.spi, false);
	}
}

void virtio_mmio_fail(struct virtio_mmio *t, unsigned q, const char *why)
{
	unsigned long n = atomic_fetch_add(&t->failures, 1) + 1;

	if (q < VIRTIO_MMIO_MAX_QUEUES)
		t->queues[q].broken = true;
	if (n <= MAX_FAILURE_LOGS)
		log_warn("%s (%s) queue %u: %s: device needs reset%s", t->dev.node, t->ops->kind, q, why,
			 n == MAX_FAILURE_LOGS ? " (further errors are only counted)" : "");
	atomic_store(&t->needs_reset, true);
	if (t->status & STATUS_DRIVER_OK)
		raise_interrupt(t, INT_CONFIG_CHANGE);
}

enum vq_pop_result virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct vq_chain *chain)
{
	struct queue *qu = &t->queues[q];
	const char *why = NULL;
	enum vq_pop_result r;

	if (!qu->ready || qu->broken)
		return VQ_EMPTY;
	r = vq_pop(&qu->vq, chain, &why);
	if (r == VQ_BROKEN) {
		virtio_mmio_fail(t, q, why);
		return VQ_EMPTY;
	}
	return r;
}

void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t written)
{
	vq_push(&t->queues[q].vq, head, written);
}

void virtio_mmio_unpop(struct virtio_mmio *t, unsigned q, uint16_t n)
{
	vq_unpop(&t->queues[q].vq, n);
}

bool virtio_mmio_want_buffers(struct virtio_mmio *t, unsigned q)
{
	return virtio_mmio_queue_live(t, q) && vq_notify_on_next_avail(&t->queues[q].vq);
}

bool virtio_mmio_queue_has_buffers(struct virtio_mmio *t, unsigned q)
{
	return virtio_mmio_queue_live(t, q) && vq_has_available(&t->queues[q].vq);
}

void virtio_mmio_interrupt_if_wanted(struct virtio_mmio *t, unsigned q)
{
	/* A queue reset since the work was done has no rings to look at. */
	if (virtio_mmio_queue_live(t, q) && vq_should_interrupt(&t->queues[q].vq))
		raise_interrupt(t, INT_USED_BUFFER);
}

static void kick_io(struct virtio_mmio *t)
{
	uint64_t one = 1;

	if (write(t->notify_fd, &one, sizeof(one)) < 0)
		log_debug("%s: notify: %s", t->dev.node, strerror(errno));
}

void virtio_mmio_kick(struct virtio_mmio *t)
{
	kick_io(t);
}

bool virtio_mmio_should_yield(struct virtio_mmio *t)
{
	return atomic_load_explicit(&t->yield, memory_order_relaxed) ||
	       atomic_load_explicit(&t->stopping, memory_order_relaxed);
}

void virtio_mmio_serve(struct virtio_mmio *t, unsigned q, virtio_chain_fn fn)
{
	struct queue *qu = &t->queues[q];
	unsigned chains = 0;
	uint64_t bytes = 0;
	bool pushed = false;

	do {
		while (!virtio_mmio_should_yield(t) && virtio_mmio_pop(t, q, t->chain) == VQ_GOT_CHAIN) {
			uint32_t written = fn(t->model, t, t->chain);
			if (qu->broken)
				return;
			virtio_mmio_push(t, q, t->chain->head, written);
			pushed = true;
			bytes += t->chain->out_len + t->chain->in_len;
			if (++chains >= PASS_MAX_CHAINS || bytes >= PASS_MAX_BYTES) {
				/* Enough for one pass: let go of the lock and come
				 * back through the eventfd, after whatever else
				 * (a stop, a reset) is waiting. */
				kick_io(t);
				goto done;
			}
		}
		if (virtio_mmio_should_yield(t))
			break; /* a reset or stop: the rest does not matter */
	} while (qu->ready && !qu->broken && vq_enable_notify(&qu->vq));
done:
	if (pushed)
		virtio_mmio_interrupt_if_wanted(t, q);
}

void virtio_mmio_lock_queue(struct virtio_mmio *t, unsigned q) { pthread_mutex_lock(&t->queues[q].lock); }
void virtio_mmio_unlock_queue(struct virtio_mmio *t, unsigned q) { pthread_mutex_unlock(&t->queues[q].lock); }
bool virtio_mmio_trylock_queue(struct virtio_mmio *t, unsigned q) { return pthread_mutex_trylock(&t->queues[q].lock) == 0; }
bool virtio_mmio_queue_live(struct virtio_mmio *t, unsigned q)
{
	return (t->status & STATUS_DRIVER_OK) && t->queues[q].ready && !t->queues[q].broken;
}
uint64_t virtio_mmio_negotiated(const struct virtio_mmio *t) { return t->negotiated; }
uint32_t virtio_mmio_interrupt_status(const struct virtio_mmio *t) { return atomic_load(&t->interrupt_status); }
uint8_t virtio_mmio_status(const struct virtio_mmio *t)
{
	return (uint8_t)(t->status | (atomic_load(&t->needs_reset) ? VIRTIO_STATUS_DEVICE_NEEDS_RESET : 0));
}

void virtio_mmio_process_all(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		virtio_mmio_lock_queue(t, q);
		if (virtio_mmio_queue_live(t, q))
			t->ops->process(t->model, t, q);
		virtio_mmio_unlock_queue(t, q);
	}
}

void virtio_mmio_handle_notify(struct virtio_mmio *t)
{
	uint64_t count;

	if (read(t->notify_fd, &count, sizeof(count)) < 0)
		return;
	atomic_fetch_add_explicit(&t->notifies, 1, memory_order_relaxed);
	virtio_mmio_process_all(t);
}

static void on_notify(void *opaque)
{
	virtio_mmio_handle_notify(opaque);
}

/* The vCPU side (register lock held) takes a queue from the I/O thread:
 * asks a pass in progress to end early, then waits for the lock. */
static void take_queue(struct virtio_mmio *t, struct queue *qu)
{
	atomic_store(&t->yield, true);
	pthread_mutex_lock(&qu->lock);
	atomic_store(&t->yield, false);
}

/* Every queue lock, so no other thread is inside any queue. */
static void lock_all_queues(struct virtio_mmio *t)
{
	for (unsigned q = 0; q < t->ops->num_queues; q++)
		take_queue(t, &t->queues[q]);
}

static void unlock_all_queues(struct virtio_mmio *t)
{
	for (unsigned q = t->ops->num_queues; q-- > 0;)
		pthread_mutex_unlock(&t->queues[q].lock);
}

/* Device reset (status 0, or the machine's reset): every queue and
 * negotiation state back to power-on, after the I/O thread is done with
 * the queues. Register lock held. */
static void reset_device(struct virtio_mmio *t)
{
	lock_all_queues(t);
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		struct queue *qu = &t->queues[q];
		qu->num = t->ops->queue_max;
		qu->ready = qu->broken = false;
		qu->desc = qu->driver = qu->device = 0;
		memset(&qu->vq, 0, sizeof(qu->vq));
	}
	if (t->ops->reset)
		t->ops->reset(t->model);
	t->status = 0;
	t->activated = false;
	atomic_store(&t->needs_reset, false);
	t->driver_features = t->negotiated = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->config_generation = 0;
	atomic_store(&t->interrupt_status, 0);
	unlock_all_queues(t);
}

/* Status bits only go up until a reset (virtio 1.2 §2.1.2: the driver
 * never clears a bit; a write that would is ignored). Features freeze at
 * FEATURES_OK; DRIVER_OK counts only after FEATURES_OK; activate() runs
 * once per reset. Register lock held. */
static void write_status(struct virtio_mmio *t, uint8_t value)
{
	uint8_t now = t->status;

	if (value == 0) {
		reset_device(t);
		return;
	}
	value &= (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET; /* the device's bit, not the driver's */
	if (now & ~value) {
		log_debug("%s: the driver tried to clear status bits (0x%x -> 0x%x): ignored", t->dev.node, now,
			  value);
		return;
	}
	if ((value & STATUS_FEATURES_OK) && !(now & STATUS_FEATURES_OK)) {
		/* Refuse features we did not offer, and drivers without
		 * VERSION_1 (legacy): FEATURES_OK then does not stick, and the
		 * driver sees that when it reads the status back. */
		if ((t->driver_features & ~offered_features(t)) ||
		    !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			value &= (uint8_t)~STATUS_FEATURES_OK;
	}
	if (!(value & STATUS_FEATURES_OK))
		value &= (uint8_t)~STATUS_DRIVER_OK; /* no device without final features */
	if (value == now)
		return;
	lock_all_queues(t);
	if ((value & STATUS_FEATURES_OK) && !(now & STATUS_FEATURES_OK))
		t->negotiated = t->driver_features;
	if ((value & STATUS_DRIVER_OK) && !t->activated) {
		t->activated = true;
		if (t->ops->activate)
			t->ops->activate(t->model, t->negotiated);
	}
	t->status = value;
	unlock_all_queues(t);
}

static struct queue *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

static void write_queue_ready(struct virtio_mmio *t, struct queue *qu, uint32_t value)
{
	const char *why;

	if (value && !(t->status & STATUS_FEATURES_OK))
		return; /* rings are set up after feature negotiation (§3.1.1) */
	take_queue(t, qu);
	if (!value) {
		qu->ready = false;
	} else if (!qu->ready) {
		why = vq_setup(&qu->vq, t->env.mem, qu->num, qu->desc, qu->driver, qu->device,
			       t->negotiated & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			       t->negotiated & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
		if (why)
			virtio_mmio_fail(t, t->queue_sel, why);
		else
			qu->ready = true;
	}
	pthread_mutex_unlock(&qu->lock);
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	*v = high ? (*v & 0xffffffffULL) | ((uint64_t)half << 32) : (*v & ~0xffffffffULL) | half;
}

static uint64_t vmmio_read(struct device *dev, uint64_t off, unsigned len)
{
	struct virtio_mmio *t = to_t(dev);
	struct queue *qu;
	uint64_t v = 0;

	if (off >= REG_CONFIG) {
		off -= REG_CONFIG;
		if (off >= t->config_len || len > t->config_len - off)
			return 0;
		return le_bytes_to_u64(t->config + off, len);
	}
	if (len != 4 || off % 4)
		return 0; /* registers are 32-bit (§4.2.2.2) */
	pthread_mutex_lock(&t->lock);
	qu = selected(t);
	switch (off) {
	case REG_MAGIC: v = MAGIC; break;
	case REG_VERSION: v = 2; break;
	case REG_DEVICE_ID: v = t->ops->device_id; break;
	case REG_VENDOR_ID: v = VENDOR; break;
	case REG_DEVICE_FEATURES:
		v = t->device_features_sel < 2 ? (uint32_t)(offered_features(t) >> (32 * t->device_features_sel)) : 0;
		break;
	case REG_QUEUE_NUM_MAX: v = qu ? t->ops->queue_max : 0; break;
	case REG_QUEUE_READY: v = qu ? qu->ready : 0; break;
	case REG_INTERRUPT_STATUS: v = atomic_load(&t->interrupt_status); break;
	case REG_STATUS: v = virtio_mmio_status(t); break;
	case REG_SHM_LEN_LOW: case REG_SHM_LEN_HIGH: case REG_SHM_BASE_LOW: case REG_SHM_BASE_HIGH:
		v = 0xffffffffu; /* no shared memory regions */
		break;
	case REG_CONFIG_GENERATION: v = t->config_generation; break;
	default: break;
	}
	pthread_mutex_unlock(&t->lock);
	return v;
}

static void vmmio_write(struct device *dev, uint64_t off, unsigned len, uint64_t value64)
{
	struct virtio_mmio *t = to_t(dev);
	uint32_t value = (uint32_t)value64;
	struct queue *qu;

	if (off >= REG_CONFIG || len != 4 || off % 4)
		return; /* the config spaces saevm offers are read-only */
	if (off == REG_QUEUE_NOTIFY) {
		/* Only reached without ioeventfd: hand the work to the I/O
		 * thread, as the kernel would have. */
		kick_io(t);
		return;
	}
	pthread_mutex_lock(&t->lock);
	qu = selected(t);
	switch (off) {
	case REG_DEVICE_FEATURES_SEL: t->device_features_sel = value; break;
	case REG_DRIVER_FEATURES:
		if (!(t->status & (STATUS_FEATURES_OK | STATUS_DRIVER_OK)) && t->driver_features_sel < 2)
			set_half(&t->driver_features, t->driver_features_sel, value);
		break;
	case REG_DRIVER_FEATURES_SEL: t->driver_features_sel = value; break;
	case REG_QUEUE_SEL: t->queue_sel = value; break;
	case REG_QUEUE_NUM:
		if (qu && !qu->ready)
			qu->num = (uint16_t)(value > t->ops->queue_max ? 0 : value);
		break;
	case REG_QUEUE_READY:
		if (qu)
			write_queue_ready(t, qu, value);
		break;
	case REG_INTERRUPT_ACK: atomic_fetch_and(&t->interrupt_status, ~value); break;
	case REG_STATUS: write_status(t, (uint8_t)value); break;
	case REG_QUEUE_DESC_LOW: case REG_QUEUE_DESC_HIGH:
		if (qu && !qu->ready)
			set_half(&qu->desc, off == REG_QUEUE_DESC_HIGH, value);
		break;
	case REG_QUEUE_DRIVER_LOW: case REG_QUEUE_DRIVER_HIGH:
		if (qu && !qu->ready)
			set_half(&qu->driver, off == REG_QUEUE_DRIVER_HIGH, value);
		break;
	case REG_QUEUE_DEVICE_LOW: case REG_QUEUE_DEVICE_HIGH:
		if (qu && !qu->ready)
			set_half(&qu->device, off == REG_QUEUE_DEVICE_HIGH, value);
		break;
	default: break;
	}
	pthread_mutex_unlock(&t->lock);
}

static int vmmio_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	int r = dt_begin_mmio_node(dt, dev->node, "virtio,mmio", dev->mmio_base, dev->mmio_len);

	if (r >= 0)
		r = dt_prop_spi(dt, dev->spi, true);
	if (r >= 0)
		r = fdt_property(dt->fdt, "dma-coherent", NULL, 0);
	if (r >= 0)
		r = fdt_end_node(dt->fdt);
	return r;
}

static int vmmio_start(struct device *dev, struct error *err)
{
	struct virtio_mmio *t = to_t(dev);
	char name[16];

	if (t->env.vm_fd >= 0 && t->env.use_ioeventfd) {
		/* No datamatch: it compares host-endian on s390 (the guest's
		 * bytes are LE there), and one eventfd per device is enough. */
		struct kvm_ioeventfd ioe = { .addr = dev->mmio_base + REG_QUEUE_NOTIFY, .len = 4,
					     .fd = t->notify_fd };
		t->ioeventfd_registered = ioctl(t->env.vm_fd, KVM_IOEVENTFD, &ioe) == 0;
		if (!t->ioeventfd_registered)
			log_debug("%s: KVM_IOEVENTFD failed (%s): notifications via the vCPU thread",
				  dev->node, strerror(errno));
	}
	if (t->env.vm_fd >= 0 && t->env.use_irqfd && dev->spi >= 0) {
		int fd = eventfd(0, EFD_CLOEXEC);
		struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = (uint32_t)dev->spi };
		if (fd >= 0 && ioctl(t->env.vm_fd, KVM_IRQFD, &irqfd) == 0) {
			t->irq_fd = fd;
		} else {
			log_debug("%s: KVM_IRQFD failed (%s): interrupts via KVM_IRQ_LINE", dev->node,
				  strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	}
	if (t->ops->start_loop)
		return t->ops->start_loop(t->model, t, t->notify_fd, err);
	snprintf(name, sizeof(name), "%.11s-io", t->ops->kind + (strncmp(t->ops->kind, "virtio-", 7) ? 0 : 7));
	if (iothread_init(&t->io, name, err) < 0 ||
	    iothread_watch(&t->io, t->notify_fd, on_notify, t, err) < 0 ||
	    iothread_start(&t->io, err) < 0)
		return -1;
	return 0;
}

static void vmmio_stop(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	atomic_store(&t->stopping, true); /* a pass in progress ends after its chain */
	iothread_stop(&t->io);
	if (t->ops->stop_loop)
		t->ops->stop_loop(t->model);
	if (t->ops->shutdown)
		t->ops->shutdown(t->model);
}

/* The machine resets (every vCPU is out of the guest): the same as the
 * driver writing 0 to Status. The I/O thread keeps running and finds every
 * queue down until the next guest sets the device up. */
static void vmmio_reset(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	pthread_mutex_lock(&t->lock);
	reset_device(t);
	pthread_mutex_unlock(&t->lock);
}

static void vmmio_print_stats(struct device *dev, FILE *out)
{
	struct virtio_mmio *t = to_t(dev);

	fprintf(out, "%s (%s): %lu notifications, %lu interrupts, %lu malformed requests\n", dev->node,
		t->ops->kind, atomic_load(&t->notifies), atomic_load(&t->interrupts),
		atomic_load(&t->failures));
	if (t->ops->print_stats)
		t->ops->print_stats(t->model, out);
}

static void vmmio_destroy(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	iothread_destroy(&t->io);
	if (t->env.vm_fd >= 0 && t->ioeventfd_registered) {
		struct kvm_ioeventfd ioe = { .addr = dev->mmio_base + REG_QUEUE_NOTIFY, .len = 4,
					     .fd = t->notify_fd, .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };
		ioctl(t->env.vm_fd, KVM_IOEVENTFD, &ioe);
	}
	if (t->notify_fd >= 0)
		close(t->notify_fd);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	if (t->ops->destroy && t->model) /* NULL: creation failed, the caller keeps the model */
		t->ops->destroy(t->model);
	for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		pthread_mutex_destroy(&t->queues[q].lock);
	pthread_mutex_destroy(&t->lock);
	free(t->chain);
	free(t);
}

static const struct device_ops virtio_mmio_ops = {
	.kind = "virtio-mmio",
	.mmio_read = vmmio_read,
	.mmio_write = vmmio_write,
	.fdt_node = vmmio_fdt_node,
	.start = vmmio_start,
	.stop = vmmio_stop,
	.reset = vmmio_reset,
	.print_stats = vmmio_print_stats,
	.destroy = vmmio_destroy,
};

struct virtio_mmio *virtio_mmio_of(struct device *dev)
{
	return dev && dev->ops == &virtio_mmio_ops ? to_t(dev) : NULL;
}

void *virtio_mmio_model(struct virtio_mmio *t) { return t->model; }

struct device *virtio_mmio_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				  const struct virtio_model_ops *ops, void *model, uint64_t features,
				  const uint8_t *config, uint32_t config_len, struct error *err)
{
	struct virtio_mmio *t = calloc(1, sizeof(*t));

	if (!t || !(t->chain = malloc(sizeof(*t->chain)))) {
		free(t);
		err_set(err, EXIT_HOST_ERROR, "out of memory for %s", ops->kind);
		return NULL;
	}
	device_init(&t->dev, &virtio_mmio_ops, "virtio_mmio", base, VIRTIO_MMIO_SIZE, spi);
	t->env = *env;
	t->ops = ops;
	t->model = model;
	t->features = features;
	t->config = config;
	t->config_len = config_len;
	t->irq_fd = -1;
	t->io.epoll_fd = t->io.stop_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
		pthread_mutex_init(&t->queues[q].lock, NULL);
		t->queues[q].num = ops->queue_max;
	}
	t->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->notify_fd < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "eventfd for %s", ops->kind);
		t->model = NULL;
		vmmio_destroy(&t->dev);
		return NULL;
	}
	return &t->dev;
}
