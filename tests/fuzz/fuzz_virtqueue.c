/* fuzz_virtqueue.c - the split-ring walker against fuzzer-made guest RAM:
 * any descriptors, indexes, flags and lengths. ASan catches any access
 * outside the RAM buffer; the walker must only ever say VQ_BROKEN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtqueue.h"

#define RAM_GPA 0x40000000ULL
#define RAM_SIZE 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain chain;
	struct guest_mem mem;
	struct virtqueue vq;
	uint8_t *ram;
	const char *why;

	if (size < 4)
		return 0;
	ram = calloc(1, RAM_SIZE); /* exactly RAM: ASan guards its edges */
	memcpy(ram, data + 4, size - 4 < RAM_SIZE ? size - 4 : RAM_SIZE);
	guest_mem_wrap(&mem, RAM_GPA, ram, RAM_SIZE);
	uint16_t qsize = (uint16_t)(1u << (data[0] % 9)); /* 1 .. 256 */
	uint32_t used = 0x8000 + (data[1] & 0x3f) * 4;
	if (!vq_setup(&vq, &mem, qsize, RAM_GPA, RAM_GPA + 0x4000 + (data[2] & 7) * 2, RAM_GPA + used, data[3] & 1,
		      data[3] & 2)) {
		for (int i = 0; i < 64; i++) {
			enum vq_pop_result r = vq_pop(&vq, &chain, &why);
			if (r != VQ_GOT_CHAIN)
				break;
			if (chain.n_in)
				vq_chain_write(&chain, 0, data, size < chain.in_len ? size : chain.in_len);
			vq_push(&vq, chain.head, (uint32_t)chain.in_len);
			vq_should_interrupt(&vq);
			if (i % 7 == 3) {
				vq_enable_notify(&vq);
				vq_notify_on_next_avail(&vq);
			}
		}
	}
	free(ram);
	return 0;
}
