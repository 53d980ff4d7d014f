/* The pieces below the devices: the memory door, the byte-order helpers,
 * the MMIO bus, host capabilities as data, the console's escape keys. */
#include "harness.h"

#include "../../devices/exit_dev.h"
#include "../../vmm/console.h"
#include "../../vmm/host.h"
#include "../../vmm/irq.h"
#include "../../vmm/kvm.h"
#include "../../vmm/kvm_uapi.h"
#include "../../vmm/le.h"
#include "../../vmm/memory.h"
#include "../../vmm/mmio_bus.h"

static void test_memory_door_bounds(void **state)
{
	static uint8_t ram[4096];
	struct guest_mem mem;

	(void)state;
	guest_mem_wrap(&mem, 0x80000000ULL, ram, sizeof(ram));
	assert_ptr_equal(guest_mem_ptr(&mem, 0x80000000ULL, 4096), ram);
	assert_ptr_equal(guest_mem_ptr(&mem, 0x80000ff0ULL, 16), ram + 0xff0);
	assert_null(guest_mem_ptr(&mem, 0x80000ff0ULL, 17));       /* runs past the end */
	assert_null(guest_mem_ptr(&mem, 0x7fffffffULL, 2));        /* starts below */
	assert_null(guest_mem_ptr(&mem, 0x80001000ULL, 1));        /* starts at the end */
	assert_null(guest_mem_ptr(&mem, 0x80000000ULL, 0));        /* empty */
	assert_null(guest_mem_ptr(&mem, 0x80000010ULL, UINT64_MAX)); /* length overflow */
	assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));           /* address overflow */
	assert_int_equal(guest_mem_write(&mem, 0x80000ffeULL, "ab", 2), 0);
	assert_int_equal(guest_mem_write(&mem, 0x80000fffULL, "ab", 2), -1);
	assert_memory_equal(ram + 0xffe, "ab", 2);
}

static void test_le_helpers_are_byte_exact(void **state)
{
	uint8_t b[8];
	(void)state;
	le32_store(b, 0x11223344);
	assert_memory_equal(b, "\x44\x33\x22\x11", 4);
	assert_int_equal(le16_load("\x34\x12"), 0x1234);
	le64_store(b, 0x0102030405060708ULL);
	assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_int_equal(le_bytes_to_u64((const uint8_t *)"\x78\x56\x34\x12", 4), 0x12345678);
	assert_int_equal(le_bytes_to_u64((const uint8_t *)"\x78\x56\x34\x12", 2), 0x5678);
	memset(b, 0, 8);
	u64_to_le_bytes(b, 2, 0xabcd);
	assert_memory_equal(b, "\xcd\xab\0\0", 4);
}

/* A device that records what the bus decoded. */
struct probe_dev {
	struct device dev;
	uint64_t last_offset, last_value;
	unsigned last_len;
};
static uint64_t probe_read(struct device *d, uint64_t off, unsigned len)
{
	(void)d;
	(void)len;
	return 0x1122334455667788ULL + off;
}
static void probe_write(struct device *d, uint64_t off, unsigned len, uint64_t v)
{
	struct probe_dev *p = (struct probe_dev *)d;
	p->last_offset = off;
	p->last_len = len;
	p->last_value = v;
}
static const struct device_ops probe_ops = { .kind = "probe", .mmio_read = probe_read,
					     .mmio_write = probe_write };

static void test_mmio_bus_decodes_guest_bytes(void **state)
{
	struct probe_dev a = { .dev = { .ops = &probe_ops, .mmio_base = 0x1000, .mmio_len = 0x100, .node = "a" } };
	struct probe_dev b = { .dev = { .ops = &probe_ops, .mmio_base = 0x3000, .mmio_len = 0x100, .node = "b" } };
	struct probe_dev c = { .dev = { .ops = &probe_ops, .mmio_base = 0x10f0, .mmio_len = 0x100, .node = "c" } };
	struct mmio_bus bus;
	struct error err = { 0 };
	uint8_t data[8] = { 0x78, 0x56, 0x34, 0x12 }; /* the guest stored 0x12345678 */

	(void)state;
	mmio_bus_init(&bus);
	assert_int_equal(mmio_bus_add(&bus, &b.dev, &err), 0);
	assert_int_equal(mmio_bus_add(&bus, &a.dev, &err), 0);
	assert_int_equal(mmio_bus_add(&bus, &c.dev, &err), -1); /* overlaps a */
	ASSERT_ERR_CONTAINS(&err, "overlaps");
	assert_ptr_equal(mmio_bus_find(&bus, 0x10ff), &a.dev);
	assert_ptr_equal(mmio_bus_find(&bus, 0x3000), &b.dev);
	assert_null(mmio_bus_find(&bus, 0x1100));
	assert_null(mmio_bus_find(&bus, 0xfff));
	assert_true(mmio_bus_dispatch(&bus, 0x3010, data, 4, true));
	assert_int_equal(b.last_value, 0x12345678);
	assert_int_equal(b.last_offset, 0x10);
	assert_int_equal(b.last_len, 4);
	assert_true(mmio_bus_dispatch(&bus, 0x1008, data, 8, false));
	/* the device's 0x1122334455667790 goes back least significant byte first */
	assert_memory_equal(data, "\x90\x77\x66\x55\x44\x33\x22\x11", 8);
	assert_false(mmio_bus_dispatch(&bus, 0x2000, data, 4, true));
	assert_int_equal(bus.unclaimed_writes, 1);
}

static void test_s390_profile(void **state)
{
	struct host_caps caps = { .max_vcpus = 512, .gicv3 = true, .gicv2 = false, .ioeventfd = true,
				  .irqfd = true, .vcpu_features_allowed = 0x3, .psci = PSCI_0_2,
				  .pvtime = true };
	enum irqchip_kind kind;
	struct error err = { 0 };

	(void)state;
	host_caps_apply_profile(&caps, HOST_PROFILE_AUTO);
	assert_int_equal(caps.max_vcpus, 512);
	assert_true(caps.pvtime);
	host_caps_apply_profile(&caps, HOST_PROFILE_S390);
	assert_false(caps.pvtime); /* the s390 module has no stolen time */
	assert_int_equal(caps.max_vcpus, 1);
	assert_false(caps.gicv3);
	assert_false(caps.irqfd);
	assert_true(caps.ioeventfd);
	assert_int_equal(caps.vcpu_features_allowed, 0);
	assert_int_equal(caps.psci, PSCI_SYSTEM_OFF_ONLY);
	assert_int_equal(caps.vcpu_target, KVM_ARM_TARGET_GENERIC_V8);
	assert_int_equal(irqchip_choose(IRQCHIP_AUTO, 1, &caps, &kind, &err), 0);
	assert_int_equal(kind, IRQCHIP_NONE);
	assert_int_equal(irqchip_choose(IRQCHIP_WANT_GICV3, 1, &caps, &kind, &err), -1);
	assert_int_equal(err.code, EXIT_HOST_UNSUPPORTED);
}

static void test_irqchip_choice(void **state)
{
	struct host_caps v3 = { .gicv3 = true }, v2 = { .gicv2 = true };
	enum irqchip_kind kind;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(irqchip_choose(IRQCHIP_AUTO, 4, &v3, &kind, &err), 0);
	assert_int_equal(kind, IRQCHIP_GICV3);
	assert_int_equal(irqchip_choose(IRQCHIP_AUTO, 4, &v2, &kind, &err), 0);
	assert_int_equal(kind, IRQCHIP_GICV2);
	assert_int_equal(irqchip_choose(IRQCHIP_WANT_GICV2, 4, &v3, &kind, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "GICv2");
	memset(&err, 0, sizeof(err));
	assert_int_equal(irqchip_choose(IRQCHIP_AUTO, 9, &v2, &kind, &err), -1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(irqchip_choose(IRQCHIP_WANT_NONE, 4, &v3, &kind, &err), 0);
	assert_int_equal(kind, IRQCHIP_NONE);
}

static void test_vm_ipa_type(void **state)
{
	unsigned bits;
	(void)state;
	/* 256 MiB at 2 GiB: the 40-bit default (type 0) works everywhere. */
	assert_int_equal(kvm_vm_type_for(0x90000000ULL, 48, &bits), 0);
	assert_int_equal(kvm_vm_type_for(0x90000000ULL, 0, &bits), 0);
	/* An s390 host whose limit is under 40 bits refuses type 0. */
	assert_int_equal(kvm_vm_type_for(0x90000000ULL, 36, &bits), (int)KVM_VM_TYPE_ARM_IPA_SIZE(32));
	assert_int_equal(bits, 32);
	/* Beyond 40 bits needs the capability. */
	assert_int_equal(kvm_vm_type_for(1ULL << 41, 48, &bits), (int)KVM_VM_TYPE_ARM_IPA_SIZE(41));
	assert_int_equal(kvm_vm_type_for(1ULL << 41, 0, &bits), -1);
	assert_int_equal(kvm_vm_type_for(1ULL << 41, 40, &bits), -1);
}

static void test_core_reg_ids(void **state)
{
	(void)state;
	/* The ids the s390 module and arm64 agree on (offset / 4 in the low bits). */
	assert_int_equal(ARM64_CORE_REG_ID(regs.pc) & 0xffff, 256 / 4);
	assert_int_equal(ARM64_CORE_REG_ID(regs.regs[0]) & 0xffff, 0);
	assert_int_equal(ARM64_CORE_REG_ID(regs.pstate) & 0xffff, 264 / 4);
	assert_int_equal(ARM64_CORE_REG_ID(regs.pc) >> 32, (KVM_REG_ARM64 | KVM_REG_SIZE_U64) >> 32);
}

static void test_console_escape_keys(void **state)
{
	struct console con;
	uint8_t out[32];
	bool quit;
	size_t n;

	(void)state;
	memset(&con, 0, sizeof(con));
	con.in_is_tty = true;
	n = console_filter_input(&con, (const uint8_t *)"ab\x03", 3, out, &quit);
	assert_int_equal(n, 3); /* Ctrl-C goes to the guest */
	assert_false(quit);
	n = console_filter_input(&con, (const uint8_t *)"\x01\x01z", 3, out, &quit);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x01z", 2);
	n = console_filter_input(&con, (const uint8_t *)"\x01", 1, out, &quit); /* split across reads */
	assert_int_equal(n, 0);
	n = console_filter_input(&con, (const uint8_t *)"q", 1, out, &quit);
	assert_memory_equal(out, "\x01q", 2); /* not a command: nothing lost */
	n = console_filter_input(&con, (const uint8_t *)"ok\x01xrest", 8, out, &quit);
	assert_true(quit);
	assert_int_equal(n, 2);
	con.in_is_tty = false; /* a pipe: bytes pass untouched */
	n = console_filter_input(&con, (const uint8_t *)"\x01x", 2, out, &quit);
	assert_false(quit);
	assert_int_equal(n, 2);
}

static unsigned markers, exits;
static void on_marker(void *opaque) { (void)opaque; markers++; }
static void on_exit_code(void *opaque, int code) { (void)opaque; (void)code; exits++; }

static void bus_write32(struct mmio_bus *bus, uint64_t gpa, uint32_t v)
{
	uint8_t data[8];
	u64_to_le_bytes(data, 4, v);
	mmio_bus_dispatch(bus, gpa, data, 4, true);
}

/* The boot-time marker prints a line on the vCPU thread: once per boot, so
 * a guest writing it in a loop cannot flood saevm's stderr. */
static void test_boot_marker_once_per_boot(void **state)
{
	struct error err = { 0 };
	struct mmio_bus bus;

	(void)state;
	mmio_bus_init(&bus);
	assert_int_equal(mmio_bus_add(&bus, exit_dev_create(EXIT_DEV_BASE, on_exit_code, on_marker, NULL, &err), &err), 0);
	markers = exits = 0;
	for (int i = 0; i < 1000; i++)
		bus_write32(&bus, EXIT_DEV_BASE + 8, EXIT_DEV_BOOT_MARKER);
	assert_int_equal(markers, 1);
	mmio_bus_reset_devices(&bus); /* a reboot: the next boot has its marker */
	bus_write32(&bus, EXIT_DEV_BASE + 8, EXIT_DEV_BOOT_MARKER);
	bus_write32(&bus, EXIT_DEV_BASE + 8, EXIT_DEV_BOOT_MARKER);
	assert_int_equal(markers, 2);
	assert_int_equal(exits, 0);
	mmio_bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_door_bounds),
		cmocka_unit_test(test_le_helpers_are_byte_exact),
		cmocka_unit_test(test_mmio_bus_decodes_guest_bytes),
		cmocka_unit_test(test_s390_profile),
		cmocka_unit_test(test_irqchip_choice),
		cmocka_unit_test(test_vm_ipa_type),
		cmocka_unit_test(test_core_reg_ids),
		cmocka_unit_test(test_console_escape_keys),
		cmocka_unit_test(test_boot_marker_once_per_boot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
