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
	return mmio_bus_add(&bus, rtc_pl031_create(BASE, 2, NULL, now, &err), &err);
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
	assert_int_equal(mmio_bus_add(&real, rtc_pl031_create(BASE, 2, NULL, NULL, &err), &err), 0);
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
	/* the alarm's interrupt: SPI 2, level-triggered (high) */
	const fdt32_t *irq = fdt_getprop(blob, node, "interrupts", &len);
	assert_non_null(irq);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(irq[0]), 0); /* SPI */
	assert_int_equal(fdt32_to_cpu(irq[1]), 2);
	assert_int_equal(fdt32_to_cpu(irq[2]), 4); /* IRQ_TYPE_LEVEL_HIGH */
}

/* The match register is the alarm: RIS when the counter reaches it, the
 * line (MIS) when IMSC lets it through, held until ICR clears it; a match
 * behind the counter never fires; a reboot clears it all. */
static void test_alarm_match_and_interrupt(void **state)
{
	(void)state;
	fake_now = 1700000000LL;
	uint32_t t = fd_reg_read(&bus, BASE, 0x00);
	fd_reg_write(&bus, BASE, 0x04, t + 5);           /* MR: in 5 s */
	fd_reg_write(&bus, BASE, 0x10, 1);               /* IMSC: alarm on */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x04), t + 5);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0); /* RIS */
	fake_now += 4;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0);
	fake_now += 1;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 1);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x18), 1); /* MIS: the line is up */
	fd_reg_write(&bus, BASE, 0x10, 0);                  /* masked: RIS stays, MIS drops */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 1);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x18), 0);
	fd_reg_write(&bus, BASE, 0x10, 1);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x18), 1); /* level: still there */
	fd_reg_write(&bus, BASE, 0x1c, 1);                  /* ICR */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x18), 0);
	fake_now += 100;                                    /* it fired once */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0);
	/* a match behind the counter does not fire */
	fd_reg_write(&bus, BASE, 0x04, (uint32_t)(fake_now - 10));
	fake_now += 5;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0);
	/* armed, then a reboot: nothing pending, nothing fires */
	fd_reg_write(&bus, BASE, 0x04, (uint32_t)(fake_now + 2));
	mmio_bus_reset_devices(&bus);
	fake_now += 3;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x14), 0);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x10), 0);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x04), 0);
}

/* With the host's clock, the device's own timer raises the alarm while
 * nobody touches a register (a guest idle until its wake alarm). */
static void test_alarm_fires_on_its_own(void **state)
{
	struct error err = { 0 };
	struct mmio_bus real;
	struct device *d;

	(void)state;
	mmio_bus_init(&real);
	assert_non_null(d = rtc_pl031_create(BASE, 2, NULL, NULL, &err));
	assert_int_equal(mmio_bus_add(&real, d, &err), 0);
	assert_int_equal(d->ops->start(d, &err), 0);
	uint32_t t = fd_reg_read(&real, BASE, 0x00);
	fd_reg_write(&real, BASE, 0x10, 1);
	fd_reg_write(&real, BASE, 0x04, t + 1);
	assert_false(rtc_pl031_line(d));
	/* no register access until the line is up (at most 2 s past the match) */
	for (int i = 0; i < 60 && !rtc_pl031_line(d); i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	assert_true(rtc_pl031_line(d));
	assert_int_equal(fd_reg_read(&real, BASE, 0x14), 1);
	d->ops->stop(d);
	mmio_bus_destroy(&real);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_the_host_clock_and_keeps_the_guests_setting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primecell_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_tree_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_match_and_interrupt, setup, teardown),
		cmocka_unit_test(test_alarm_fires_on_its_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
