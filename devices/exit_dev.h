/* exit_dev.h - a guest-settable exit code for scripted boot tests.
 *
 * DT: compatible = "saevm,exit", reg = <0x0 0x09001000 0x0 0x1000>.
 * A 32-bit write of N to offset 0 ends the VM at once and saevm exits
 * with status N & 0xff. From a Linux guest's shell (busybox):
 *     devmem 0x9001000 32 7        # saevm exits 7
 * Reads return 0x5341455f ("_EAS", i.e. "SAE_" little-endian) so a guest
 * can check the device is there.
 *
 * Boot-time marker, like Firecracker's boot timer: a 32-bit write of 123
 * to offset 8 makes saevm log the wall and CPU time since it started, once
 * per boot (further writes are ignored until the guest reboots):
 *     devmem 0x9001008 32 123      # e.g. as the first line of /init */
#ifndef SAEVM_EXIT_DEV_H
#define SAEVM_EXIT_DEV_H

#include "../vmm/device.h"

#define EXIT_DEV_BASE 0x09001000ULL
#define EXIT_DEV_SIZE 0x1000
#define EXIT_DEV_MAGIC 0x5341455fu
#define EXIT_DEV_BOOT_MARKER 123u

/* on_exit(opaque, code) / on_marker(opaque) are called on the vCPU thread
 * that wrote. */
struct device *exit_dev_create(uint64_t base, void (*on_exit)(void *opaque, int code),
			       void (*on_marker)(void *opaque), void *opaque, struct error *err);

#endif
