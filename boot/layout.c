#include "layout.h"

#include <string.h>

#define SZ_2M (2ULL << 20)
#define PAGE 4096ULL

static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static unsigned long long mib_up(uint64_t v) { return (unsigned long long)((v + (1 << 20) - 1) >> 20); }

int boot_layout_plan(uint64_t ram_base, uint64_t ram_size, const struct kernel_image *kernel,
		     uint64_t initrd_size, struct boot_layout *out, struct error *err)
{
	uint64_t ram_end = ram_base + ram_size;
	uint64_t base = align_up(ram_base, SZ_2M);
	uint64_t need;

	memset(out, 0, sizeof(*out));
	/* Needed: the kernel's image_size from a 2 MiB aligned base, the
	 * initrd rounded to pages, and a whole 2 MiB block for the DTB. */
	need = (base - ram_base) + kernel->text_offset + align_up(kernel->image_size, PAGE) +
	       align_up(initrd_size, PAGE) + SZ_2M + SZ_2M /* top block may be partial */;
	if (kernel->image_size > ram_size || initrd_size > ram_size || need > ram_size)
		return err_set(err, EXIT_NO_FIT,
			       "kernel (%llu MiB) + initrd (%llu MiB) + device tree (2 MiB) need about %llu MiB but the guest has %llu MiB: raise -m",
			       mib_up(kernel->image_size), mib_up(initrd_size), mib_up(need),
			       (unsigned long long)(ram_size >> 20));
	out->kernel_gpa = base + kernel->text_offset;
	out->kernel_end = out->kernel_gpa + kernel->image_size;
	out->dtb_gpa = align_down(ram_end, SZ_2M) - SZ_2M;
	if (initrd_size) {
		out->initrd_gpa = align_down(out->dtb_gpa - initrd_size, PAGE);
		out->initrd_size = initrd_size;
	}
	return 0;
}
