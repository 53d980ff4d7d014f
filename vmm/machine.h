/* machine.h - what `saevm run` puts in a VM, in one place: the devices,
 * their addresses and interrupts, and their order. The platform (vm.h) runs
 * whatever is on the bus; only machine.c names concrete devices.
 *
 * Guest physical memory map (also in the README):
 *
 *   0x0800_0000  GIC distributor (64 KiB v3, 4 KiB v2)
 *   0x0801_0000  GICv2 CPU interface (8 KiB)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU (up to 0x0900_0000)
 *   0x0900_0000  16550 UART (ttyS0), 4 KiB window, SPI 0
 *   0x0900_1000  exit device ("saevm,exit"): the guest's exit code, and
 *                the boot-time marker
 *   0x0900_2000  pvpanic ("qemu,pvpanic-mmio")
 *   0x0900_3000  PL031 real-time clock ("arm,pl031"), the host's time
 *   0x09ff_0000  stolen-time records (pvtime), 64 KiB, when the host has
 *                them (vm.h: a vCPU feature, not a device)
 *   0x0a00_0000  virtio-mmio transports, 512 bytes each, SPI 1, 2, ...:
 *                the disks in command-line order (vda, vdb...), the NICs
 *                (eth0...), the 9p shares (a sandbox's root, its working
 *                directory, then the --share's), the virtio console (or
 *                the sandbox's stdio channel, hvc0), then virtio-rng
 *   0x8000_0000  RAM, -m bytes (1 MiB multiple; kernel at the bottom,
 *                initrd and DTB at the top, see boot/layout.h)
 *
 */
#ifndef SAEVM_MACHINE_H
#define SAEVM_MACHINE_H

#include <stdint.h>

#include "sandbox.h"
#include "vm.h"

#define UART_BASE 0x09000000ULL
#define UART_SPI 0
#define VIRTIO_MMIO_BASE 0x0a000000ULL
#define VIRTIO_MMIO_STRIDE 0x200ULL
#define VIRTIO_FIRST_SPI 1
/* The PL031's alarm: the last SPI, clear of the virtio slots counting up. */
#define RTC_SPI (GIC_NR_SPIS - 1)

struct disk;
/* Adds the UART, the exit device, pvpanic, the RTC, the disks (opened
 * already; the VM now owns them), the NICs, the 9p shares, the virtio
 * console (a sandbox: its stdio channel) and virtio-rng as the
 * configuration (and vm->sandbox) asks. */
int machine_add_devices(struct vm *vm, struct disk **disks, struct error *err);
/* NIC `index`'s MAC: the one given, else locally administered and stable
 * for a given --name. */
void machine_nic_mac(const struct vm_config *cfg, unsigned index, uint8_t mac[6]);

#endif
