/* mmio_bus.h - guest-physical address ranges -> devices.
 *
 * Filled once during setup (single-threaded), read-only while vCPUs run, so
 * lookups take no lock. Ranges are kept sorted and found by binary search:
 * O(log n) as devices are added. */
#ifndef SAEVM_MMIO_BUS_H
#define SAEVM_MMIO_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "error.h"

#define MMIO_BUS_MAX_DEVICES 64

struct mmio_bus {
	struct device *devices[MMIO_BUS_MAX_DEVICES]; /* sorted by mmio_base */
	unsigned count;
	atomic_ulong unclaimed_reads;  /* accesses no device owns: counted, */
	atomic_ulong unclaimed_writes; /* reads answer 0, never fatal */
};

void mmio_bus_init(struct mmio_bus *bus);
/* Adds a device; refuses an empty window, overflow or an overlap. */
int mmio_bus_add(struct mmio_bus *bus, struct device *dev, struct error *err);
struct device *mmio_bus_find(const struct mmio_bus *bus, uint64_t gpa);

/* The MMIO exit choke point. `data` is kvm_run.mmio.data: the guest's bytes
 * in guest (little-endian) order on every host, arm64 or s390x. Decodes them
 * for writes, encodes the device's answer for reads. Returns false when no
 * device claimed the address (a read then returns zeros). */
/* KVM's coalesced MMIO ring (struct kvm_coalesced_mmio_ring: u32 first,
 * last, then entries of u64 phys_addr, u32 len, u32 pad, u8 data[8]):
 * writes KVM buffered instead of exiting, in the guests' order. Replays
 * each through the bus and empties the ring; `slots` entries fit its
 * page. Returns how many it replayed. One caller at a time. */
struct kvm_coalesced_mmio_ring;
unsigned mmio_bus_replay_ring(struct mmio_bus *bus, struct kvm_coalesced_mmio_ring *ring, unsigned slots);

bool mmio_bus_dispatch(struct mmio_bus *bus, uint64_t gpa, uint8_t data[8], unsigned len,
		       bool is_write);

/* Starts every device that has a start hook; stops them again on failure. */
int mmio_bus_start_devices(struct mmio_bus *bus, struct error *err);
/* Stops every device (in-flight work finishes, disks are flushed). */
void mmio_bus_stop_devices(struct mmio_bus *bus);
/* Resets every device to its power-on state (a guest reboot). */
void mmio_bus_reset_devices(struct mmio_bus *bus);
/* Calls destroy on every device and empties the bus. */
void mmio_bus_destroy(struct mmio_bus *bus);

#endif
