/* fuzz_devices.c - the virtio-mmio register interface and the virtio-blk,
 * virtio-net, virtio-console and virtio-rng request paths, driven by a
 * hostile guest: the input is guest RAM (rings and buffers anywhere)
 * followed by a stream of register accesses of any size and offset, with
 * queue processing and received frames in between. Nothing the guest does
 * may make saevm touch memory outside guest RAM (ASan), crash, or hang. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../devices/virtio_blk.h"
#include "../../devices/virtio_console.h"
#include "../../devices/virtio_net.h"
#include "../../devices/virtio_rng.h"
#include "../../vmm/console.h"
#include "../../vmm/mmio_bus.h"

#define RAM_GPA 0x40000000ULL
#define RAM_SIZE 0x20000
#define BASE 0x0a000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fb_features(struct net_backend *be) { (void)be; return 1ULL << 0 | 1ULL << 1 | 1ULL << 11; }
static void fb_activate(struct net_backend *be, uint64_t f) { (void)be; (void)f; }
static int fb_fill(struct net_backend *be, struct pollfd *fds, int max, int *t) { (void)be; (void)fds; (void)max; (void)t; return 0; }
static void fb_handle(struct net_backend *be, struct pollfd *fds, int n) { (void)be; (void)fds; (void)n; }
static void fb_send(struct net_backend *be, const struct iovec *iov, unsigned n, size_t total)
{
	volatile uint8_t sum = 0;
	(void)be; (void)total;
	for (unsigned k = 0; k < n; k++) /* touch every byte the device hands over */
		for (size_t i = 0; i < iov[k].iov_len; i++)
			sum ^= ((const uint8_t *)iov[k].iov_base)[i];
}
static void fb_destroy(struct net_backend *be) { free(be); }
static unsigned fb_mtu(struct net_backend *be) { (void)be; return 9000; }
static const struct net_backend_ops fb_ops = {
	.kind = "fuzz", .features = fb_features, .mtu = fb_mtu, .activate = fb_activate, .poll_fill = fb_fill,
	.poll_handle = fb_handle, .send = fb_send, .destroy = fb_destroy,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct console con;
	static bool con_ready;
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	struct guest_mem mem;
	struct mmio_bus bus;
	struct disk_config dc = { 0 };
	struct disk *disk;
	struct net_backend *be;
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t *ram;
	size_t ram_len = size < RAM_SIZE ? size : RAM_SIZE;
	int memfd;

	if (!con_ready) { /* output goes nowhere; no threads */
		console_init(&con, -1, open("/dev/null", O_WRONLY), &err);
		con_ready = true;
	}
	ram = calloc(1, RAM_SIZE);
	memcpy(ram, data, ram_len);
	guest_mem_wrap(&mem, RAM_GPA, ram, RAM_SIZE);
	env.mem = &mem;
	mmio_bus_init(&bus);
	memfd = memfd_create("disk", 0);
	if (ftruncate(memfd, 64 * 512) < 0)
		abort();
	snprintf(dc.path, sizeof(dc.path), "/proc/self/fd/%d", memfd);
	disk = disk_open(&dc, &err);
	close(memfd);
	if (disk)
		mmio_bus_add(&bus, virtio_blk_create(BASE, 1, &env, disk, &err), &err);
	be = calloc(1, sizeof(*be));
	be->ops = &fb_ops;
	mmio_bus_add(&bus, virtio_net_create(BASE + 0x200, 2, &env, be, mac, &err), &err);
	mmio_bus_add(&bus, virtio_console_create(BASE + 0x400, 3, &env, &con, &err), &err);
	mmio_bus_add(&bus, virtio_rng_create(BASE + 0x600, 4, &env, &err), &err);

	/* After the RAM image: ops of 8 bytes each. */
	for (size_t at = ram_len; at + 8 <= size; at += 8) {
		const uint8_t *op = data + at;
		unsigned dev = op[0] & 3, len = 1u << (op[1] & 3);
		uint64_t gpa = BASE + dev * 0x200 + (((unsigned)op[2] << 8 | op[3]) % 0x200);
		uint8_t bytes[8];
		memcpy(bytes, op + 4, 4);
		memset(bytes + 4, 0, 4);
		if (op[1] & 0x80) {
			for (unsigned i = 0; i < bus.count; i++) {
				struct virtio_mmio *t = virtio_mmio_of(bus.devices[i]);
				if (t)
					virtio_mmio_process_all(t);
			}
		} else if (op[1] & 0x40) { /* a frame from the network */
			be->sink.receive(be->sink.dev, NULL, ram + (op[2] % 64), 60 + op[3] * 8);
		} else {
			mmio_bus_dispatch(&bus, gpa, bytes, len, op[1] & 0x20);
		}
	}
	mmio_bus_destroy(&bus);
	free(ram);
	return 0;
}
