#include "harness.h"

#include "../../boot/layout.h"

#define RAM 0x80000000ULL
#define MiB (1ULL << 20)

static const struct kernel_image debian_kernel = {
	.text_offset = 0, .image_size = 36 * MiB, .file_size = 33 * MiB,
};

/* The invariants booting.rst asks for, on any successful plan. */
static void check_plan(const struct boot_layout *l, uint64_t ram_size, uint64_t initrd)
{
	uint64_t ram_end = RAM + ram_size;

	assert_int_equal(l->kernel_gpa % (2 * MiB), debian_kernel.text_offset);
	assert_true(l->kernel_end <= (initrd ? l->initrd_gpa : l->dtb_gpa));
	assert_int_equal(l->dtb_gpa % 8, 0);
	assert_int_equal(l->dtb_gpa % (2 * MiB), 0); /* a 2 MiB block of its own */
	assert_true(l->dtb_gpa + DTB_MAX_SIZE <= ram_end);
	if (initrd) {
		assert_int_equal(l->initrd_gpa % 4096, 0);
		assert_int_equal(l->initrd_size, initrd);
		assert_true(l->initrd_gpa + initrd <= l->dtb_gpa);
		assert_true(l->initrd_gpa >= RAM);
	} else {
		assert_int_equal(l->initrd_gpa, 0);
	}
}

static void test_sizes_64m_to_4g(void **state)
{
	static const uint64_t sizes[] = { 64, 100, 128, 256, 1000, 1024, 3072, 4096 };
	(void)state;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct boot_layout l;
		struct error err = { 0 };
		uint64_t ram = sizes[i] * MiB;

		assert_int_equal(boot_layout_plan(RAM, ram, &debian_kernel, 0, &l, &err), 0);
		check_plan(&l, ram, 0);
		assert_int_equal(boot_layout_plan(RAM, ram, &debian_kernel, 5 * MiB + 123, &l, &err), 0);
		check_plan(&l, ram, 5 * MiB + 123);
	}
}

static void test_initrd_at_top_no_256m_cap(void **state)
{
	struct boot_layout l;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(boot_layout_plan(RAM, 4096 * MiB, &debian_kernel, 150 * MiB, &l, &err), 0);
	assert_true(l.initrd_gpa > RAM + 3000 * MiB); /* kvmtool would cap at 256 MiB */
	assert_int_equal(l.dtb_gpa, RAM + 4094 * MiB);
}

static void test_big_initrd_in_1g(void **state)
{
	struct boot_layout l;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(boot_layout_plan(RAM, 1024 * MiB, &debian_kernel, 110 * MiB, &l, &err), 0);
	check_plan(&l, 1024 * MiB, 110 * MiB);
}

static void test_no_fit(void **state)
{
	struct boot_layout l;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(boot_layout_plan(RAM, 32 * MiB, &debian_kernel, 0, &l, &err), -1);
	assert_int_equal(err.code, EXIT_NO_FIT);
	ASSERT_ERR_CONTAINS(&err, "-m");
	memset(&err, 0, sizeof(err));
	assert_int_equal(boot_layout_plan(RAM, 64 * MiB, &debian_kernel, 30 * MiB, &l, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "initrd (30 MiB)");
	/* Exactly enough fits; one page less does not. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(boot_layout_plan(RAM, 64 * MiB, &debian_kernel, 24 * MiB, &l, &err), 0);
	assert_int_equal(boot_layout_plan(RAM, 64 * MiB, &debian_kernel, 24 * MiB + 1, &l, &err), -1);
}

static void test_text_offset_honoured(void **state)
{
	struct kernel_image k = { .text_offset = 0x80000, .image_size = 10 * MiB, .file_size = 9 * MiB };
	struct boot_layout l;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(boot_layout_plan(RAM, 64 * MiB, &k, 0, &l, &err), 0);
	assert_int_equal(l.kernel_gpa, RAM + 0x80000);
	assert_int_equal(l.kernel_end, RAM + 0x80000 + 10 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_64m_to_4g),
		cmocka_unit_test(test_initrd_at_top_no_256m_cap),
		cmocka_unit_test(test_big_initrd_in_1g),
		cmocka_unit_test(test_no_fit),
		cmocka_unit_test(test_text_offset_honoured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
