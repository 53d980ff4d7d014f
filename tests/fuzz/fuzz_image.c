/* fuzz_image.c - the arm64 Image header parser, and the placement it feeds. */
#include <stdint.h>

#include "../../boot/image.h"
#include "../../boot/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kernel_image img;
	struct boot_layout layout;
	struct error err = { 0 };

	if (kernel_image_parse(data, size, size, "fuzz", &img, &err) == 0) {
		uint64_t ram = size > 64 ? ((uint64_t)data[0] + 8) << 20 : 64ULL << 20;
		uint64_t initrd = size > 64 ? (uint64_t)data[1] << 20 : 0;
		boot_layout_plan(0x80000000ULL, ram, &img, initrd, &layout, &err);
	}
	return 0;
}
