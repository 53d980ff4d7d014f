/* irq.h - the interrupt controller: in-kernel vGICv3, else vGICv2, else none.
 *
 * With none (the s390 module today) no interrupt can reach the guest:
 * devices still work for guests that poll them, and the device tree has no
 * GIC and no interrupt properties. */
#ifndef SAEVM_IRQ_H
#define SAEVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

/* Guest-physical placement (see the memory map in vmm/vm.h). */
#define GIC_DIST_BASE 0x08000000ULL
#define GIC_DIST_SIZE_V3 0x10000ULL
#define GIC_DIST_SIZE_V2 0x1000ULL
#define GIC_CPUIF_BASE_V2 0x08010000ULL
#define GIC_CPUIF_SIZE_V2 0x2000ULL
#define GIC_REDIST_BASE_V3 0x080a0000ULL
#define GIC_REDIST_SIZE_PER_CPU 0x20000ULL
#define GIC_REDIST_LIMIT_V3 0x09000000ULL /* the UART starts here */
#define GIC_MAX_CPUS_V3 ((GIC_REDIST_LIMIT_V3 - GIC_REDIST_BASE_V3) / GIC_REDIST_SIZE_PER_CPU)
#define GIC_MAX_CPUS_V2 8
#define GIC_NR_IRQS 128 /* 32 private + 96 shared (SPIs) */
#define GIC_NR_SPIS (GIC_NR_IRQS - 32)

struct irqchip {
	enum irqchip_kind kind;
	int vm_fd;
	int dev_fd;
	unsigned ncpus;
	uint64_t redist_size; /* v3: one 128 KiB frame per vCPU */
};

/* Chooses and creates the irqchip (before the vCPUs exist). `auto` tries
 * v3 then v2 then none; an explicit choice the host lacks is an error. */
int irqchip_create(struct irqchip *chip, int vm_fd, enum irqchip_request request, unsigned ncpus,
		   const struct host_caps *caps, struct error *err);
/* Completes the in-kernel GIC once every vCPU exists. */
int irqchip_finalize(struct irqchip *chip, struct error *err);
/* Drives shared interrupt `spi` (0-based) to `level`; no-op without a GIC. */
void irqchip_set_spi(struct irqchip *chip, unsigned spi, bool level);
void irqchip_destroy(struct irqchip *chip);

/* The pure part of the choice, for tests: what `request` yields on `caps`
 * with `ncpus`, or an error. */
int irqchip_choose(enum irqchip_request request, unsigned ncpus, const struct host_caps *caps,
		   enum irqchip_kind *out, struct error *err);

#endif
