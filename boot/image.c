#include "image.h"

#include <string.h>

#include "../vmm/le.h"

/* Formats users pass by mistake, each with the fix it needs. */
static const struct {
	const uint8_t magic[6];
	unsigned len;
	const char *what;
} wrong_formats[] = {
	{ { 0x1f, 0x8b }, 2, "a gzip-compressed kernel (arm64 kernels do not decompress themselves: use 'zcat FILE > Image')" },
	{ { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6, "an xz-compressed kernel (use 'xzcat FILE > Image')" },
	{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, "a zstd-compressed kernel (use 'zstdcat FILE > Image')" },
	{ { 'B', 'Z', 'h' }, 3, "a bzip2-compressed kernel (use 'bzcat FILE > Image')" },
	{ { 0x02, 0x21, 0x4c, 0x18 }, 4, "an lz4-compressed kernel (use 'lz4cat FILE > Image')" },
	{ { 0x7f, 'E', 'L', 'F' }, 4, "an ELF file such as vmlinux (use arch/arm64/boot/Image)" },
};

int kernel_image_parse(const uint8_t *bytes, size_t len, uint64_t file_size, const char *what,
		       struct kernel_image *out, struct error *err)
{
	uint64_t flags;
	unsigned i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(wrong_formats) / sizeof(wrong_formats[0]); i++)
		if (len >= wrong_formats[i].len &&
		    memcmp(bytes, wrong_formats[i].magic, wrong_formats[i].len) == 0)
			return err_set(err, EXIT_BAD_KERNEL, "kernel %s is %s", what,
				       wrong_formats[i].what);
	if (file_size == 0 || len == 0)
		return err_set(err, EXIT_BAD_KERNEL, "kernel %s is empty", what);
	if (len < ARM64_IMAGE_HEADER_SIZE || file_size < ARM64_IMAGE_HEADER_SIZE ||
	    le32_load(bytes + 56) != ARM64_IMAGE_MAGIC) {
		out->raw = true;
		out->text_offset = RAW_BINARY_OFFSET;
		out->image_size = out->file_size = file_size;
		return 0;
	}
	flags = le64_load(bytes + 24);
	out->text_offset = le64_load(bytes + 8);
	out->image_size = le64_load(bytes + 16);
	out->file_size = file_size;
	if (flags & 1)
		return err_set(err, EXIT_BAD_KERNEL,
			       "kernel %s is a big-endian arm64 Image; KVM runs little-endian guests only",
			       what);
	out->page_size_kib = (unsigned[]){ 0, 4, 16, 64 }[(flags >> 1) & 3];
	out->place_anywhere = (flags >> 3) & 1;
	if (out->image_size == 0) {
		/* Kernels before 3.17 leave image_size 0; booting.rst says
		 * text_offset is then 0x80000. Their BSS size is unknown, so the
		 * file size is all we can reserve. */
		out->text_offset = 0x80000;
		out->image_size = file_size;
	}
	if (out->text_offset % 4096 || out->text_offset >= (2ULL << 20))
		return err_set(err, EXIT_BAD_KERNEL,
			       "kernel %s has an unusable text_offset 0x%llx (must be page aligned, below 2 MiB)",
			       what, (unsigned long long)out->text_offset);
	if (out->image_size < file_size)
		return err_set(err, EXIT_BAD_KERNEL,
			       "kernel %s is corrupt: header image_size %llu is smaller than the file (%llu bytes)",
			       what, (unsigned long long)out->image_size,
			       (unsigned long long)file_size);
	return 0;
}
