#include "mmio_bus.h"

#include "kvm_uapi.h"

#include <string.h>

#include "le.h"

void mmio_bus_init(struct mmio_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int mmio_bus_add(struct mmio_bus *bus, struct device *dev, struct error *err)
{
	uint64_t end = dev->mmio_base + dev->mmio_len;
	unsigned pos;

	if (dev->mmio_len == 0 || end < dev->mmio_base)
		return err_set(err, EXIT_INTERNAL, "device %s has a bad MMIO window", dev->node);
	if (bus->count == MMIO_BUS_MAX_DEVICES)
		return err_set(err, EXIT_USAGE, "too many devices (at most %d)", MMIO_BUS_MAX_DEVICES);
	for (pos = 0; pos < bus->count && bus->devices[pos]->mmio_base < dev->mmio_base; pos++)
		;
	if (pos > 0) {
		const struct device *prev = bus->devices[pos - 1];
		if (prev->mmio_base + prev->mmio_len > dev->mmio_base)
			return err_set(err, EXIT_INTERNAL, "device %s overlaps %s", dev->node, prev->node);
	}
	if (pos < bus->count && end > bus->devices[pos]->mmio_base)
		return err_set(err, EXIT_INTERNAL, "device %s overlaps %s", dev->node,
			       bus->devices[pos]->node);
	memmove(&bus->devices[pos + 1], &bus->devices[pos],
		(bus->count - pos) * sizeof(bus->devices[0]));
	bus->devices[pos] = dev;
	bus->count++;
	return 0;
}

struct device *mmio_bus_find(const struct mmio_bus *bus, uint64_t gpa)
{
	unsigned lo = 0, hi = bus->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct device *dev = bus->devices[mid];

		if (gpa < dev->mmio_base)
			hi = mid;
		else if (gpa - dev->mmio_base >= dev->mmio_len)
			lo = mid + 1;
		else
			return dev;
	}
	return NULL;
}

bool mmio_bus_dispatch(struct mmio_bus *bus, uint64_t gpa, uint8_t data[8], unsigned len,
		       bool is_write)
{
	struct device *dev = mmio_bus_find(bus, gpa);
	uint64_t offset;

	if (len == 0 || len > 8)
		len = 8; /* KVM never does this; be safe anyway */
	if (!dev) {
		if (is_write) {
			atomic_fetch_add_explicit(&bus->unclaimed_writes, 1, memory_order_relaxed);
		} else {
			atomic_fetch_add_explicit(&bus->unclaimed_reads, 1, memory_order_relaxed);
			memset(data, 0, len);
		}
		return false;
	}
	offset = gpa - dev->mmio_base;
	if (is_write) {
		if (dev->ops->mmio_write)
			dev->ops->mmio_write(dev, offset, len, le_bytes_to_u64(data, len));
	} else {
		uint64_t value = dev->ops->mmio_read ? dev->ops->mmio_read(dev, offset, len) : 0;
		u64_to_le_bytes(data, len, value);
	}
	return true;
}

int mmio_bus_start_devices(struct mmio_bus *bus, struct error *err)
{
	for (unsigned i = 0; i < bus->count; i++) {
		struct device *dev = bus->devices[i];
		if (dev->ops->start && dev->ops->start(dev, err) < 0) {
			mmio_bus_stop_devices(bus);
			return -1;
		}
	}
	return 0;
}

void mmio_bus_reset_devices(struct mmio_bus *bus)
{
	for (unsigned i = 0; i < bus->count; i++)
		if (bus->devices[i]->ops->reset)
			bus->devices[i]->ops->reset(bus->devices[i]);
}

void mmio_bus_stop_devices(struct mmio_bus *bus)
{
	for (unsigned i = 0; i < bus->count; i++)
		if (bus->devices[i]->ops->stop)
			bus->devices[i]->ops->stop(bus->devices[i]);
}

void mmio_bus_destroy(struct mmio_bus *bus)
{
	unsigned i;

	for (i = 0; i < bus->count; i++)
		if (bus->devices[i]->ops->destroy)
			bus->devices[i]->ops->destroy(bus->devices[i]);
	bus->count = 0;
}

unsigned mmio_bus_replay_ring(struct mmio_bus *bus, struct kvm_coalesced_mmio_ring *ring, unsigned slots)
{
	uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
	uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE); /* KVM's, after the entry */
	unsigned n = 0;

	if (first >= slots || last >= slots)
		return 0; /* not a ring KVM wrote */
	while (first != last) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[first];
		uint8_t data[8];
		uint32_t len = e->len;

		/* The whole 8 bytes, a fixed size the compiler copies inline:
		 * glibc's memcpy may use SVE, and SVE in a vCPU thread's exit
		 * path makes the kernel swap the guest's vector state. */
		memcpy(data, e->data, sizeof(data));
		if (len && len <= sizeof(data))
			mmio_bus_dispatch(bus, e->phys_addr, data, len, true);
		first = (first + 1) % slots;
		n++;
	}
	__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE); /* the slots are KVM's again */
	return n;
}
