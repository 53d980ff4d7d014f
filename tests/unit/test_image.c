#include "harness.h"

#include "../../boot/image.h"
#include "../../boot/layout.h"
#include "../../boot/loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../../vmm/le.h"

/* A header as the kernel's head.S lays it out, written byte by byte in
 * little-endian whatever the host's order. */
static void make_header(uint8_t *h, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(h, 0, ARM64_IMAGE_HEADER_SIZE);
	h[0] = 'M'; h[1] = 'Z';
	le64_store(h + 8, text_offset);
	le64_store(h + 16, image_size);
	le64_store(h + 24, flags);
	h[56] = 'A'; h[57] = 'R'; h[58] = 'M'; h[59] = 0x64;
}

static void test_good_header(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0, 0x2000000, 0xa); /* 4K pages, place anywhere */
	assert_int_equal(kernel_image_parse(h, sizeof(h), 0x1f00000, "Image", &img, &err), 0);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 0x2000000);
	assert_int_equal(img.file_size, 0x1f00000);
	assert_int_equal(img.page_size_kib, 4);
	assert_true(img.place_anywhere);
	/* The magic is the bytes "ARM\x64": a host reading it natively would
	 * get 0x41524d64 on big-endian. le32_load must hide that. */
	assert_int_equal(le32_load(h + 56), ARM64_IMAGE_MAGIC);
}

static void test_legacy_zero_image_size(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0, 0, 0);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 5 << 20, "old", &img, &err), 0);
	assert_int_equal(img.text_offset, 0x80000);
	assert_int_equal(img.image_size, 5 << 20);
}

/* A file without the Image header is a raw binary (a bare-metal test):
 * loaded at RAM base + 0x80000, all of it, whatever its size. Only an
 * empty file is refused. */
static void test_raw_binaries(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };
	struct boot_layout lay;

	(void)state;
	make_header(h, 0, 0x1000000, 0);
	h[59] = 0x65; /* no magic */
	assert_int_equal(kernel_image_parse(h, sizeof(h), 4096, "x.flat", &img, &err), 0);
	assert_true(img.raw);
	assert_int_equal(img.text_offset, 0x80000);
	assert_int_equal(img.file_size, 4096);
	assert_int_equal(img.image_size, 4096);
	assert_int_equal(boot_layout_plan(0x80000000, 128 << 20, &img, 0, &lay, &err), 0);
	assert_int_equal(lay.kernel_gpa, 0x80080000);
	/* shorter than a header: raw too */
	assert_int_equal(kernel_image_parse(h, 40, 40, "tiny", &img, &err), 0);
	assert_true(img.raw);
	assert_int_equal(img.file_size, 40);
	/* a real header is never taken for raw */
	make_header(h, 0, 0x1000000, 0);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 4096, "Image", &img, &err), 0);
	assert_false(img.raw);
	/* empty: refused */
	assert_int_equal(kernel_image_parse(h, 0, 0, "empty", &img, &err), -1);
	assert_int_equal(err.code, EXIT_BAD_KERNEL);
	ASSERT_ERR_CONTAINS(&err, "kernel empty is empty");
}

static void test_big_endian_refused(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0, 0x1000000, 1);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 4096, "be", &img, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "big-endian");
}

static void test_compressed_and_elf(void **state)
{
	static const uint8_t gz[64] = { 0x1f, 0x8b, 8 };
	static const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F' };
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(kernel_image_parse(gz, sizeof(gz), 1 << 20, "vmlinuz", &img, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "gzip");
	memset(&err, 0, sizeof(err));
	assert_int_equal(kernel_image_parse(elf, sizeof(elf), 1 << 20, "vmlinux", &img, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "ELF");
}

static void test_image_size_smaller_than_file(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0, 4096, 0);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 8192, "k", &img, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "image_size");
}

static void test_huge_image_size_does_not_fit(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct boot_layout lay;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0, 0xffffffffffff0000ULL, 0);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 4096, "k", &img, &err), 0);
	assert_int_equal(boot_layout_plan(0x80000000ULL, 256 << 20, &img, 0, &lay, &err), -1);
	assert_int_equal(err.code, EXIT_NO_FIT);
}

static void test_bad_text_offset(void **state)
{
	uint8_t h[64];
	struct kernel_image img;
	struct error err = { 0 };

	(void)state;
	make_header(h, 0x123, 1 << 20, 0);
	assert_int_equal(kernel_image_parse(h, sizeof(h), 4096, "k", &img, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "text_offset");
}

static void write_temp(char *path, const uint8_t *data, size_t len)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The kernel spans two load slices (8 MiB each) and the initrd one; every
 * byte lands where the layout put it. Then the kernel file shrinks under
 * us: the load fails, naming the file, instead of booting a torn kernel. */
static void test_load_slices_and_shrunk_file(void **state)
{
	const size_t ksize = (9u << 20) + 123, rsize = 5000, ram_size = 64u << 20;
	uint8_t *kernel = malloc(ksize), *initrd = malloc(rsize), *ram = calloc(1, ram_size);
	char kpath[] = "/tmp/saevm-test-kernel-XXXXXX", rpath[] = "/tmp/saevm-test-initrd-XXXXXX";
	struct boot_files files;
	struct boot_layout layout;
	struct guest_mem mem;
	struct error err = { 0 };

	(void)state;
	assert_non_null(kernel);
	assert_non_null(initrd);
	assert_non_null(ram);
	for (size_t i = 0; i < ksize; i++)
		kernel[i] = (uint8_t)(i * 7 + (i >> 20));
	make_header(kernel, 0, 0x1000000, 0xa);
	for (size_t i = 0; i < rsize; i++)
		initrd[i] = (uint8_t)(i * 3 + 1);
	write_temp(kpath, kernel, ksize);
	write_temp(rpath, initrd, rsize);
	guest_mem_wrap(&mem, 0x80000000, ram, ram_size);

	assert_int_equal(boot_files_open(&files, kpath, rpath, &err), 0);
	assert_int_equal(boot_layout_plan(0x80000000, ram_size, &files.kernel, files.initrd_size, &layout, &err), 0);
	assert_int_equal(boot_files_load(&files, &layout, &mem, 1, &err), 0);
	assert_memory_equal(ram + (layout.kernel_gpa - 0x80000000), kernel, ksize);
	assert_memory_equal(ram + (layout.initrd_gpa - 0x80000000), initrd, rsize);

	assert_int_equal(truncate(kpath, 4u << 20), 0);
	assert_int_equal(boot_files_load(&files, &layout, &mem, 1, &err), -1);
	assert_int_equal(err.code, EXIT_NO_INPUT);
	assert_non_null(strstr(err.msg, "cannot read kernel"));

	boot_files_close(&files);
	unlink(kpath);
	unlink(rpath);
	free(kernel);
	free(initrd);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_header),
		cmocka_unit_test(test_legacy_zero_image_size),
		cmocka_unit_test(test_raw_binaries),
		cmocka_unit_test(test_big_endian_refused),
		cmocka_unit_test(test_compressed_and_elf),
		cmocka_unit_test(test_image_size_smaller_than_file),
		cmocka_unit_test(test_huge_image_size_does_not_fit),
		cmocka_unit_test(test_bad_text_offset),
		cmocka_unit_test(test_load_slices_and_shrunk_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
