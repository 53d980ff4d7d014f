#include "dt.h"

#include <libfdt.h>
#include <string.h>

#include "../vmm/device.h"
#include "../vmm/irq.h"
#include "../vmm/mmio_bus.h"

#define GIC_PHANDLE 1
#define APB_PCLK_PHANDLE 2
#define GIC_FDT_IRQ_TYPE_SPI 0
#define GIC_FDT_IRQ_TYPE_PPI 1
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH 4
/* Timer PPIs as the arm64 architecture fixes them. */
#define PPI_SECURE_PHYS_TIMER 13
#define PPI_NONSECURE_PHYS_TIMER 14
#define PPI_VIRT_TIMER 11
#define PPI_HYP_TIMER 10

/* Every libfdt call returns <0 on failure; collect the first one. */
#define FDT_TRY(expr) do { int r_ = (expr); if (r_ < 0) return r_; } while (0)

uint64_t dt_vcpu_mpidr(unsigned index)
{
	return (uint64_t)(index & 0xf) | ((uint64_t)((index >> 4) & 0xff) << 8) |
	       ((uint64_t)((index >> 12) & 0xff) << 16);
}

static int prop_reg2(void *fdt, uint64_t a, uint64_t as, uint64_t b, uint64_t bs, int pairs)
{
	fdt64_t reg[4] = { cpu_to_fdt64(a), cpu_to_fdt64(as), cpu_to_fdt64(b), cpu_to_fdt64(bs) };
	return fdt_property(fdt, "reg", reg, (int)(pairs * 2 * sizeof(fdt64_t)));
}

int dt_begin_mmio_node(struct dt_ctx *dt, const char *name, const char *compatible,
		       uint64_t base, uint64_t size)
{
	return dt_begin_mmio_node_compat(dt, name, compatible, strlen(compatible) + 1, base, size);
}

int dt_begin_mmio_node_compat(struct dt_ctx *dt, const char *name, const char *compatible, size_t len,
			      uint64_t base, uint64_t size)
{
	FDT_TRY(fdt_begin_node(dt->fdt, name));
	FDT_TRY(fdt_property(dt->fdt, "compatible", compatible, (int)len));
	return prop_reg2(dt->fdt, base, size, 0, 0, 1);
}

int dt_prop_spi(struct dt_ctx *dt, int spi, bool edge)
{
	fdt32_t cells[3];

	if (dt->irqchip == IRQCHIP_NONE || spi < 0)
		return 0;
	cells[0] = cpu_to_fdt32(GIC_FDT_IRQ_TYPE_SPI);
	cells[1] = cpu_to_fdt32((uint32_t)spi);
	cells[2] = cpu_to_fdt32(edge ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_LEVEL_HIGH);
	return fdt_property(dt->fdt, "interrupts", cells, sizeof(cells));
}

int dt_apb_pclk(struct dt_ctx *dt)
{
	if (dt->apb_pclk_phandle)
		return (int)dt->apb_pclk_phandle;
	FDT_TRY(fdt_begin_node(dt->fdt, "apb-pclk"));
	FDT_TRY(fdt_property_string(dt->fdt, "compatible", "fixed-clock"));
	FDT_TRY(fdt_property_u32(dt->fdt, "#clock-cells", 0));
	FDT_TRY(fdt_property_u32(dt->fdt, "clock-frequency", 24000000));
	FDT_TRY(fdt_property_string(dt->fdt, "clock-output-names", "clk24mhz"));
	FDT_TRY(fdt_property_u32(dt->fdt, "phandle", APB_PCLK_PHANDLE));
	FDT_TRY(fdt_end_node(dt->fdt));
	dt->apb_pclk_phandle = APB_PCLK_PHANDLE;
	return APB_PCLK_PHANDLE;
}

static int add_cpus(struct dt_ctx *dt, const struct dt_params *p)
{
	void *fdt = dt->fdt;

	FDT_TRY(fdt_begin_node(fdt, "cpus"));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned i = 0; i < p->ncpus; i++) {
		char name[24];
		uint64_t mpidr = dt_vcpu_mpidr(i);

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr);
		FDT_TRY(fdt_begin_node(fdt, name));
		FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		FDT_TRY(fdt_property_u32(fdt, "reg", (uint32_t)mpidr));
		if (p->psci == PSCI_0_2)
			FDT_TRY(fdt_property_string(fdt, "enable-method", "psci"));
		FDT_TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int add_psci(struct dt_ctx *dt, const struct dt_params *p)
{
	void *fdt = dt->fdt;
	/* hvc, never smc: KVM (and the s390 module, which leaves an smc
	 * looping forever) handles PSCI on hvc. The s390 stub implements only
	 * SYSTEM_OFF, which PSCI 0.2 defines at a fixed id; Linux would find
	 * PSCI_VERSION unsupported, which is honest. */
	static const char compat_0_2[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
	static const char compat_off[] = "arm,psci-0.2\0arm,psci";

	FDT_TRY(fdt_begin_node(fdt, "psci"));
	if (p->psci == PSCI_0_2)
		FDT_TRY(fdt_property(fdt, "compatible", compat_0_2, sizeof(compat_0_2)));
	else
		FDT_TRY(fdt_property(fdt, "compatible", compat_off, sizeof(compat_off)));
	FDT_TRY(fdt_property_string(fdt, "method", "hvc"));
	return fdt_end_node(fdt);
}

static int add_gic(struct dt_ctx *dt, const struct dt_params *p)
{
	void *fdt = dt->fdt;
	char name[32];

	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)GIC_DIST_BASE);
	FDT_TRY(fdt_begin_node(fdt, name));
	if (p->irqchip == IRQCHIP_GICV3) {
		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		FDT_TRY(prop_reg2(fdt, GIC_DIST_BASE, GIC_DIST_SIZE_V3, GIC_REDIST_BASE_V3,
				  GIC_REDIST_SIZE_PER_CPU * p->ncpus, 2));
	} else {
		FDT_TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		FDT_TRY(prop_reg2(fdt, GIC_DIST_BASE, GIC_DIST_SIZE_V2, GIC_CPUIF_BASE_V2,
				  GIC_CPUIF_SIZE_V2, 2));
	}
	FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
	FDT_TRY(fdt_property_u32(fdt, "phandle", GIC_PHANDLE));
	return fdt_end_node(fdt);
}

static int add_timer(struct dt_ctx *dt, const struct dt_params *p)
{
	static const uint32_t ppis[] = { PPI_SECURE_PHYS_TIMER, PPI_NONSECURE_PHYS_TIMER,
					 PPI_VIRT_TIMER, PPI_HYP_TIMER };
	uint32_t flags = IRQ_TYPE_LEVEL_HIGH;
	fdt32_t cells[12];

	if (p->irqchip == IRQCHIP_GICV2) /* v2 PPIs name their target CPUs */
		flags |= ((1u << (p->ncpus > 8 ? 8 : p->ncpus)) - 1) << 8;
	for (unsigned i = 0; i < 4; i++) {
		cells[i * 3] = cpu_to_fdt32(GIC_FDT_IRQ_TYPE_PPI);
		cells[i * 3 + 1] = cpu_to_fdt32(ppis[i]);
		cells[i * 3 + 2] = cpu_to_fdt32(flags);
	}
	FDT_TRY(fdt_begin_node(dt->fdt, "timer"));
	FDT_TRY(fdt_property_string(dt->fdt, "compatible", "arm,armv8-timer"));
	FDT_TRY(fdt_property(dt->fdt, "interrupts", cells, sizeof(cells)));
	FDT_TRY(fdt_property(dt->fdt, "always-on", NULL, 0));
	return fdt_end_node(dt->fdt);
}

static int add_pmu(struct dt_ctx *dt, const struct dt_params *p)
{
	uint32_t flags = IRQ_TYPE_LEVEL_HIGH;
	fdt32_t cells[3];

	if (!p->pmu_ppi || p->irqchip == IRQCHIP_NONE)
		return 0;
	if (p->irqchip == IRQCHIP_GICV2)
		flags |= ((1u << (p->ncpus > 8 ? 8 : p->ncpus)) - 1) << 8;
	cells[0] = cpu_to_fdt32(GIC_FDT_IRQ_TYPE_PPI);
	cells[1] = cpu_to_fdt32(p->pmu_ppi);
	cells[2] = cpu_to_fdt32(flags);
	FDT_TRY(fdt_begin_node(dt->fdt, "pmu"));
	FDT_TRY(fdt_property_string(dt->fdt, "compatible", "arm,armv8-pmuv3"));
	FDT_TRY(fdt_property(dt->fdt, "interrupts", cells, sizeof(cells)));
	return fdt_end_node(dt->fdt);
}

static int add_chosen(struct dt_ctx *dt, const struct dt_params *p)
{
	void *fdt = dt->fdt;

	FDT_TRY(fdt_begin_node(fdt, "chosen"));
	FDT_TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
	if (p->initrd_end > p->initrd_start) {
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
	}
	if (p->stdout_path)
		FDT_TRY(fdt_property_string(fdt, "stdout-path", p->stdout_path));
	FDT_TRY(fdt_property_u64(fdt, "kaslr-seed", p->kaslr_seed));
	FDT_TRY(fdt_property(fdt, "rng-seed", p->rng_seed, sizeof(p->rng_seed)));
	return fdt_end_node(fdt);
}

static int build(struct dt_ctx *dt, const struct dt_params *p)
{
	void *fdt = dt->fdt;
	char name[40];

	FDT_TRY(fdt_finish_reservemap(fdt));
	FDT_TRY(fdt_begin_node(fdt, ""));
	FDT_TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
	if (p->irqchip != IRQCHIP_NONE)
		FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", GIC_PHANDLE));
	FDT_TRY(add_chosen(dt, p));
	if (p->stdout_path) {
		FDT_TRY(fdt_begin_node(fdt, "aliases"));
		FDT_TRY(fdt_property_string(fdt, "serial0", p->stdout_path));
		FDT_TRY(fdt_end_node(fdt));
	}
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)p->ram_base);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
	FDT_TRY(prop_reg2(fdt, p->ram_base, p->ram_size, 0, 0, 1));
	FDT_TRY(fdt_end_node(fdt));
	FDT_TRY(add_cpus(dt, p));
	FDT_TRY(add_psci(dt, p));
	if (p->irqchip != IRQCHIP_NONE) {
		FDT_TRY(add_gic(dt, p));
		FDT_TRY(add_timer(dt, p));
		FDT_TRY(add_pmu(dt, p));
	}
	if (p->devices)
		for (unsigned i = 0; i < p->devices->count; i++) {
			struct device *dev = p->devices->devices[i];
			if (dev->ops->fdt_node)
				FDT_TRY(dev->ops->fdt_node(dev, dt));
		}
	FDT_TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int dt_build(const struct dt_params *p, void *buf, size_t size, struct error *err)
{
	struct dt_ctx dt = { .fdt = buf, .irqchip = p->irqchip, .ncpus = p->ncpus,
			     .gic_phandle = GIC_PHANDLE };
	int r;

	if (size > INT32_MAX)
		size = INT32_MAX;
	r = fdt_create(buf, (int)size);
	if (r == 0)
		r = build(&dt, p);
	if (r < 0)
		return err_set(err, r == -FDT_ERR_NOSPACE ? EXIT_NO_FIT : EXIT_INTERNAL,
			       "cannot build the device tree: %s", fdt_strerror(r));
	return 0;
}
