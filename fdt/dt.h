/* dt.h - the guest's device tree, built with libfdt's sequential writer.
 * Pure: parameters in, blob out; the unit tests parse it back. */
#ifndef SAEVM_DT_H
#define SAEVM_DT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/error.h"
#include "../vmm/host.h"

struct mmio_bus;

/* Handed to each device's fdt_node callback. */
struct dt_ctx {
	void *fdt;
	enum irqchip_kind irqchip;
	unsigned ncpus;
	uint32_t gic_phandle;
	uint32_t apb_pclk_phandle; /* 0 until dt_apb_pclk() wrote the clock */
};

struct dt_params {
	uint64_t ram_base;
	uint64_t ram_size;
	unsigned ncpus;
	enum irqchip_kind irqchip;
	enum psci_kind psci;
	const char *bootargs;
	uint64_t initrd_start;  /* both 0: no initrd */
	uint64_t initrd_end;
	const char *stdout_path; /* e.g. "/uart@9000000"; NULL: none */
	unsigned pmu_ppi;        /* the PMU's overflow PPI; 0: no PMU node */
	uint64_t kaslr_seed;
	uint8_t rng_seed[64];
	const struct mmio_bus *devices; /* each writes its own node; may be NULL */
};

/* Builds the blob into `buf` (at most `size` bytes). */
int dt_build(const struct dt_params *params, void *buf, size_t size, struct error *err);

/* Helpers for device nodes: begin "name" with compatible and reg, and the
 * interrupts property for shared interrupt `spi`, level or rising edge
 * (nothing without a GIC). */
int dt_begin_mmio_node(struct dt_ctx *dt, const char *name, const char *compatible,
		       uint64_t base, uint64_t size);
/* The same with a list of compatible strings, NUL-separated, len bytes in
 * all (the last NUL included). */
int dt_begin_mmio_node_compat(struct dt_ctx *dt, const char *name, const char *compatible, size_t len,
			      uint64_t base, uint64_t size);
int dt_prop_spi(struct dt_ctx *dt, int spi, bool edge);
/* AMBA PrimeCell devices (the PL031) need the APB bus clock that Linux's
 * amba bus enables before it reads their IDs: writes one fixed-clock node,
 * the first time, and returns its phandle (<0: a libfdt error). Call
 * before beginning the device's own node. */
int dt_apb_pclk(struct dt_ctx *dt);

/* MPIDR of vCPU `index` as KVM assigns it: Aff0 = index[3:0],
 * Aff1 = index[11:4], Aff2 = index[19:12]. The s390 module gives no access
 * to MPIDR through ONE_REG, so it is computed, not read. */
uint64_t dt_vcpu_mpidr(unsigned index);

#endif
