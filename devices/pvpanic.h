/* pvpanic.h - QEMU's pvpanic over MMIO ("qemu,pvpanic-mmio", Linux's
 * pvpanic-mmio driver, CONFIG_PVPANIC_MMIO): a guest kernel that panics
 * writes PANICKED here and saevm ends the VM at once with exit code 86.
 * Debian 12's arm64 kernel is built without it (CONFIG_PVPANIC unset);
 * there, boot with panic=-1 (a panic resets: exit code 80) or --timeout. */
#ifndef SAEVM_PVPANIC_H
#define SAEVM_PVPANIC_H

#include "../vmm/device.h"

#define PVPANIC_BASE 0x09002000ULL
#define PVPANIC_SIZE 0x1000
#define PVPANIC_PANICKED 1u
#define PVPANIC_CRASH_LOADED 2u

struct device *pvpanic_create(uint64_t base, void (*on_panic)(void *opaque, unsigned events), void *opaque,
			      struct error *err);

#endif
