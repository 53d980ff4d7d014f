#include "harness.h"

#include <libfdt.h>

#include "../../devices/uart_8250.h"
#include "../../fdt/dt.h"
#include "../../vmm/irq.h"
#include "../../vmm/mmio_bus.h"

static uint8_t blob[64 * 1024];

static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(blob, path);
	if (node < 0)
		fail_msg("no node %s: %s", path, fdt_strerror(node));
	return fdt_getprop(blob, node, name, len);
}

/* Device-tree properties are only 4-byte aligned: copy, never cast. */
static uint64_t cell64(const void *p, int index)
{
	fdt64_t v;
	memcpy(&v, (const uint8_t *)p + 8 * index, sizeof(v));
	return fdt64_to_cpu(v);
}

static void build(enum irqchip_kind irqchip, enum psci_kind psci, unsigned ncpus, bool initrd,
		  struct mmio_bus *bus)
{
	struct dt_params p = {
		.ram_base = 0x80000000ULL, .ram_size = 256ULL << 20, .ncpus = ncpus,
		.irqchip = irqchip, .psci = psci, .bootargs = "console=ttyS0 quiet",
		.initrd_start = initrd ? 0x8e000000ULL : 0, .initrd_end = initrd ? 0x8e123456ULL : 0,
		.stdout_path = "/uart@9000000", .kaslr_seed = 0x1122334455667788ULL,
		.devices = bus,
	};
	struct error err = { 0 };

	memset(p.rng_seed, 0xab, sizeof(p.rng_seed));
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	assert_int_equal(fdt_check_header(blob), 0);
	/* The blob is big-endian on every host. */
	assert_int_equal(blob[0], 0xd0);
	assert_int_equal(blob[3], 0xed);
}

static void test_memory_chosen_and_seeds(void **state)
{
	const void *p;
	int len;

	(void)state;
	build(IRQCHIP_GICV3, PSCI_0_2, 1, true, NULL);
	p = prop("/memory@80000000", "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(cell64(p, 0), 0x80000000ULL);
	assert_int_equal(cell64(p, 1), 256ULL << 20);
	assert_string_equal(prop("/memory@80000000", "device_type", &len), "memory");
	assert_string_equal(prop("/chosen", "bootargs", &len), "console=ttyS0 quiet");
	assert_int_equal(cell64(prop("/chosen", "linux,initrd-start", &len), 0), 0x8e000000ULL);
	assert_int_equal(cell64(prop("/chosen", "linux,initrd-end", &len), 0), 0x8e123456ULL);
	assert_int_equal(cell64(prop("/chosen", "kaslr-seed", &len), 0), 0x1122334455667788ULL);
	p = prop("/chosen", "rng-seed", &len);
	assert_int_equal(len, 64);
	assert_int_equal(((const uint8_t *)p)[63], 0xab);
	assert_string_equal(prop("/chosen", "stdout-path", &len), "/uart@9000000");
	assert_string_equal(prop("/aliases", "serial0", &len), "/uart@9000000");
}

static void test_no_initrd_no_props(void **state)
{
	int len;
	(void)state;
	build(IRQCHIP_GICV3, PSCI_0_2, 1, false, NULL);
	assert_null(prop("/chosen", "linux,initrd-start", &len));
}

static void test_cpus_mpidr_and_psci(void **state)
{
	int len, cpus = fdt_path_offset(blob, "/cpus"), node, count = 0;

	(void)state;
	build(IRQCHIP_GICV3, PSCI_0_2, 18, false, NULL);
	cpus = fdt_path_offset(blob, "/cpus");
	fdt_for_each_subnode(node, blob, cpus) {
		const fdt32_t *reg = fdt_getprop(blob, node, "reg", &len);
		assert_int_equal(len, 4);
		assert_int_equal(fdt32_to_cpu(*reg), dt_vcpu_mpidr((unsigned)count));
		assert_string_equal(fdt_getprop(blob, node, "enable-method", &len), "psci");
		count++;
	}
	assert_int_equal(count, 18);
	assert_int_equal(dt_vcpu_mpidr(17), 0x101); /* Aff1 = 1, Aff0 = 1 */
	assert_non_null(prop("/cpus/cpu@101", "reg", &len));
	assert_string_equal(prop("/psci", "method", &len), "hvc");
	assert_string_equal(prop("/psci", "compatible", &len), "arm,psci-1.0");
}

static void test_gicv3_nodes(void **state)
{
	const void *p;
	int len, root;

	(void)state;
	build(IRQCHIP_GICV3, PSCI_0_2, 4, false, NULL);
	p = prop("/intc@8000000", "reg", &len);
	assert_int_equal(len, 32);
	assert_int_equal(cell64(p, 0), GIC_DIST_BASE);
	assert_int_equal(cell64(p, 2), GIC_REDIST_BASE_V3);
	assert_int_equal(cell64(p, 3), 4 * GIC_REDIST_SIZE_PER_CPU);
	assert_string_equal(prop("/intc@8000000", "compatible", &len), "arm,gic-v3");
	assert_non_null(prop("/intc@8000000", "interrupt-controller", &len));
	root = fdt_path_offset(blob, "/");
	assert_int_equal(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(blob, root, "interrupt-parent", &len)),
			 fdt_get_phandle(blob, fdt_path_offset(blob, "/intc@8000000")));
	p = prop("/timer", "interrupts", &len);
	assert_int_equal(len, 48);
	assert_int_equal(fdt32_to_cpu(((const fdt32_t *)p)[1]), 13);
	assert_int_equal(fdt32_to_cpu(((const fdt32_t *)p)[7]), 11);
}

static void test_gicv2_nodes(void **state)
{
	const void *p;
	int len;

	(void)state;
	build(IRQCHIP_GICV2, PSCI_0_2, 2, false, NULL);
	p = prop("/intc@8000000", "reg", &len);
	assert_int_equal(cell64(p, 2), GIC_CPUIF_BASE_V2);
	assert_string_equal(prop("/intc@8000000", "compatible", &len), "arm,cortex-a15-gic");
	p = prop("/timer", "interrupts", &len);
	assert_int_equal(fdt32_to_cpu(((const fdt32_t *)p)[2]), 4 | (3 << 8)); /* 2 CPUs' mask */
}

static void test_no_irqchip_means_no_interrupts(void **state)
{
	struct mmio_bus bus;
	struct error err = { 0 };
	struct device *uart;
	int len;

	(void)state;
	mmio_bus_init(&bus);
	uart = uart_8250_create(0x09000000, 0, NULL, NULL, &err);
	assert_int_equal(mmio_bus_add(&bus, uart, &err), 0);
	build(IRQCHIP_NONE, PSCI_SYSTEM_OFF_ONLY, 1, false, &bus);
	assert_int_equal(fdt_path_offset(blob, "/intc@8000000"), -FDT_ERR_NOTFOUND);
	assert_int_equal(fdt_path_offset(blob, "/timer"), -FDT_ERR_NOTFOUND);
	assert_null(fdt_getprop(blob, 0, "interrupt-parent", &len));
	assert_null(prop("/uart@9000000", "interrupts", &len));
	assert_null(prop("/cpus/cpu@0", "enable-method", &len));
	assert_string_equal(prop("/psci", "method", &len), "hvc");
	mmio_bus_destroy(&bus);
}

static void test_uart_node(void **state)
{
	struct mmio_bus bus;
	struct error err = { 0 };
	const void *p;
	int len;

	(void)state;
	mmio_bus_init(&bus);
	assert_int_equal(mmio_bus_add(&bus, uart_8250_create(0x09000000, 0, NULL, NULL, &err), &err), 0);
	build(IRQCHIP_GICV3, PSCI_0_2, 1, false, &bus);
	assert_string_equal(prop("/uart@9000000", "compatible", &len), "ns16550a");
	p = prop("/uart@9000000", "reg", &len);
	assert_int_equal(cell64(p, 0), 0x09000000);
	assert_int_equal(cell64(p, 1), UART_MMIO_SIZE);
	p = prop("/uart@9000000", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(((const fdt32_t *)p)[0]), 0); /* SPI */
	assert_int_equal(fdt32_to_cpu(((const fdt32_t *)p)[1]), 0);
	mmio_bus_destroy(&bus);
}

/* The PMU (when the vCPUs have one): its overflow PPI, level-high, with the
 * CPU mask on GICv2; no node without an in-kernel GIC. */
static void test_pmu_node(void **state)
{
	struct dt_params p = { .ram_base = 0x80000000ULL, .ram_size = 256ULL << 20, .ncpus = 2,
			       .irqchip = IRQCHIP_GICV3, .psci = PSCI_0_2, .pmu_ppi = 7 };
	struct error err = { 0 };
	const fdt32_t *cells;
	int len;

	(void)state;
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	cells = prop("/pmu", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(cells[0]), 1); /* PPI */
	assert_int_equal(fdt32_to_cpu(cells[1]), 7);
	assert_int_equal(fdt32_to_cpu(cells[2]), 4); /* level high */
	assert_string_equal(prop("/pmu", "compatible", NULL), "arm,armv8-pmuv3");
	p.irqchip = IRQCHIP_GICV2;
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	cells = prop("/pmu", "interrupts", &len);
	assert_int_equal(fdt32_to_cpu(cells[2]), 0x304); /* CPUs 0 and 1 */
	p.irqchip = IRQCHIP_NONE;
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	assert_true(fdt_path_offset(blob, "/pmu") < 0);
	p.irqchip = IRQCHIP_GICV3;
	p.pmu_ppi = 0;
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	assert_true(fdt_path_offset(blob, "/pmu") < 0);
}

static void test_too_small_buffer(void **state)
{
	struct dt_params p = { .ram_base = 0x80000000ULL, .ram_size = 1 << 28, .ncpus = 1 };
	struct error err = { 0 };
	(void)state;
	assert_int_equal(dt_build(&p, blob, 200, &err), -1);
	assert_int_equal(err.code, EXIT_NO_FIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_chosen_and_seeds),
		cmocka_unit_test(test_no_initrd_no_props),
		cmocka_unit_test(test_cpus_mpidr_and_psci),
		cmocka_unit_test(test_gicv3_nodes),
		cmocka_unit_test(test_gicv2_nodes),
		cmocka_unit_test(test_no_irqchip_means_no_interrupts),
		cmocka_unit_test(test_uart_node),
		cmocka_unit_test(test_too_small_buffer),
		cmocka_unit_test(test_pmu_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
