/* The PL031 real-time clock through the MMIO bus, as Linux's rtc-pl031 and
 * the amba bus use it, and its device-tree node with the APB clock the
 * amba bus needs before it binds the driver. */
#include "harness.h"

#include <libfdt.h>
#include <time.h>

#include "fake_driver.h"
#include "../../devices/rtc_pl031.h"
#include "../../fdt/dt.h"
#include "../../vmm/mmio_bus.h"

#define BASE 0x09003000ULL

static long long fake_now = 1700000000LL;
static long long now(void) { return fake_now; }

static struct mmio_bus bus;

static int setup(void **state)
{
	struct error err = { 0 };

	(void)state;
	mmio_bus_init(&bus);
	return mmio_bus_add(&bus, rtc_pl031_create(BASE, now, &err), &err);
}

static int teardown(void **state)
{
	(void)state;
	mmio_bus_destroy(&bus);
	return 0;
}

static void test_reads_the_host_clock_and_keeps_the_guests_setting(void **state)
{
	(void)state;
	fake_now = 1700000000LL;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x00), 1700000000u); /* DR */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x0c), 1);           /* CR: counting */
	fd_reg_write(&bus, BASE, 0x08, 1234567890u);                  /* LR: hwclock --systohc */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x00), 1234567890u);
	fake_now += 10;                                               /* it keeps counting */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x00), 1234567900u);
	mmio_bus_reset_devices(&bus);                                 /* a reboot keeps the time */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x00), 1234567900u);
	/* the real clock, through the real time source */
	long long t = (long long)time(NULL);
	struct error err = { 0 };
	struct mmio_bus real;
	mmio_bus_init(&real);
	assert_int_equal(mmio_bus_add(&real, rtc_pl031_create(BASE, NULL, &err), &err), 0);
	long long dr = fd_reg_read(&real, BASE, 0x00);
	assert_true(dr >= t && dr <= t + 2);
	mmio_bus_destroy(&real);
}

static void test_primecell_ids(void **state)
{
	static const uint8_t want[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	(void)state;
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(fd_reg_read(&bus, BASE, 0xfe0 + 4 * i), want[i]);
}

static void test_device_tree_node(void **state)
{
	static uint8_t blob[64 * 1024];
	struct dt_params p = { .ram_base = 0x80000000ULL, .ram_size = 256ULL << 20, .ncpus = 1,
			       .irqchip = IRQCHIP_GICV3, .psci = PSCI_0_2, .devices = &bus };
	struct error err = { 0 };
	const fdt32_t *clk;
	int node, clock, len;

	(void)state;
	assert_int_equal(dt_build(&p, blob, sizeof(blob), &err), 0);
	node = fdt_node_offset_by_compatible(blob, -1, "arm,pl031");
	assert_true(node >= 0);
	assert_int_equal(fdt_node_check_compatible(blob, node, "arm,primecell"), 0);
	assert_string_equal(fdt_get_name(blob, node, NULL), "pl031@9003000");
	clk = fdt_getprop(blob, node, "clocks", &len);
	assert_non_null(clk);
	clock = fdt_node_offset_by_phandle(blob, fdt32_to_cpu(*clk));
	assert_true(clock >= 0);
	assert_int_equal(fdt_node_check_compatible(blob, clock, "fixed-clock"), 0);
	assert_string_equal(fdt_getprop(blob, node, "clock-names", NULL), "apb_pclk");
	assert_null(fdt_getprop(blob, node, "interrupts", NULL)); /* no alarm */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_the_host_clock_and_keeps_the_guests_setting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primecell_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_tree_node, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
