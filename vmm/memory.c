#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_ALIGN (2ULL << 20)

int guest_mem_map(struct guest_mem *mem, uint64_t gpa_base, uint64_t size, struct error *err)
{
	size_t map_len = size + RAM_ALIGN; /* slack so we can align the start */
	uint8_t *base, *aligned;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % (1ULL << 20) || gpa_base % (1ULL << 20))
		return err_set(err, EXIT_INTERNAL, "guest RAM of %llu bytes at 0x%llx is not 1 MiB aligned",
			       (unsigned long long)size, (unsigned long long)gpa_base);
	base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot map %llu MiB of guest RAM",
				 (unsigned long long)(size >> 20));
	aligned = (uint8_t *)(((uintptr_t)base + RAM_ALIGN - 1) & ~(uintptr_t)(RAM_ALIGN - 1));
	/* Transparent huge pages cut stage-2 faults and TLB misses; a host
	 * without THP just ignores the advice. */
	madvise(aligned, size, MADV_HUGEPAGE);
	mem->gpa_base = gpa_base;
	mem->size = size;
	mem->host = aligned;
	mem->map_base = base;
	mem->map_len = map_len;
	return 0;
}

void guest_mem_unmap(struct guest_mem *mem)
{
	if (mem->map_base)
		munmap(mem->map_base, mem->map_len);
	memset(mem, 0, sizeof(*mem));
}

void guest_mem_wrap(struct guest_mem *mem, uint64_t gpa_base, void *buf, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->gpa_base = gpa_base;
	mem->size = size;
	mem->host = buf;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return -1;
	memcpy(dst, src, len);
	return 0;
}
