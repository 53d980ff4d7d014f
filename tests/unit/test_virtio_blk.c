/* virtio-blk through the virtio-mmio transport, driven like a guest does:
 * register accesses through the MMIO bus (little-endian bytes), requests in
 * split rings in simulated guest RAM, the image file checked with pread. */
#include "harness.h"

#include <fcntl.h>
#include <time.h>
#include <linux/virtio_blk.h>
#include <unistd.h>

#include "fake_driver.h"
#include "../../devices/virtio_blk.h"
#include "../../vmm/mmio_bus.h"

#define BASE 0x0a000000ULL
#define SECTORS 64

static struct fake_driver drv;
static struct mmio_bus bus;
static struct virtio_mmio *t;
static char image[64];
static int image_fd;

static uint32_t reg_read(unsigned off) { return fd_reg_read(&bus, BASE, off); }
static void reg_write(unsigned off, uint32_t v) { fd_reg_write(&bus, BASE, off, v); }

static void driver_init(uint64_t drop_features)
{
	assert_int_equal(reg_read(0x000), 0x74726976);
	assert_true(fd_bring_up(&bus, BASE, &drv, 1, drop_features) != 0);
	reg_write(0x030, 0);
	assert_int_equal(reg_read(0x034), 256);
	assert_int_equal(reg_read(0x044), 1);
}

static int open_device(bool read_only, uint16_t size);

static int make_device(bool read_only)
{
	uint8_t sector[512];

	snprintf(image, sizeof(image), "/tmp/saevm-blk-XXXXXX");
	image_fd = mkstemp(image);
	for (unsigned s = 0; s < SECTORS; s++) { /* sector s is filled with byte s */
		memset(sector, (int)s, sizeof(sector));
		if (write(image_fd, sector, sizeof(sector)) != sizeof(sector))
			return -1;
	}
	return open_device(read_only, 8);
}

/* The device on the image file as it is now, with a queue of `size`. */
static int open_device(bool read_only, uint16_t size)
{
	struct disk_config cfg = { .read_only = read_only };
	struct virtio_mmio_env env = { .mem = &drv.mem, .vm_fd = -1 };
	struct error err = { 0 };
	struct disk *disk;
	struct device *dev;

	fd_init(&drv, size);
	snprintf(cfg.path, sizeof(cfg.path), "%s", image);
	snprintf(cfg.id, sizeof(cfg.id), "disk-one");
	disk = disk_open(&cfg, &err);
	if (!disk)
		return -1;
	mmio_bus_init(&bus);
	dev = virtio_blk_create(BASE, 1, &env, disk, &err);
	t = virtio_mmio_of(dev);
	if (!dev || mmio_bus_add(&bus, dev, &err) < 0)
		return -1;
	driver_init(0);
	return 0;
}

static int setup_rw(void **state) { (void)state; return make_device(false); }
static int setup_ro(void **state) { (void)state; return make_device(true); }

static void teardown_bus_only(void) { mmio_bus_destroy(&bus); }

static int teardown(void **state)
{
	(void)state;
	mmio_bus_destroy(&bus);
	close(image_fd);
	unlink(image);
	return 0;
}

/* One request: header, optional data (in or out), status. Returns the
 * status byte; *data_gpa gets the data buffer's address. */
static uint8_t request(uint32_t type, uint64_t sector, const void *out, uint32_t out_len, uint32_t in_len,
		       uint64_t *data_gpa)
{
	uint8_t hdr[16] = { 0 };
	struct fd_buf bufs[3];
	uint64_t gpas[3];
	unsigned n = 0;
	uint16_t used_before = fd_used_idx(&drv);

	le32_store(hdr, type);
	le64_store(hdr + 8, sector);
	bufs[n++] = (struct fd_buf){ 16, 0, hdr };
	if (out_len)
		bufs[n++] = (struct fd_buf){ out_len, 0, out };
	if (in_len)
		bufs[n++] = (struct fd_buf){ in_len, 1, NULL };
	bufs[n++] = (struct fd_buf){ 1, 1, NULL };
	fd_add_chain(&drv, bufs, n, gpas);
	virtio_mmio_process_all(t);
	assert_int_equal(fd_used_idx(&drv), (uint16_t)(used_before + 1));
	if (data_gpa)
		*data_gpa = gpas[1];
	return *fd_host(&drv, gpas[n - 1]);
}

static void test_identity_and_config(void **state)
{
	uint8_t data[8];
	(void)state;
	assert_int_equal(reg_read(0x000), 0x74726976); /* "virt" */
	assert_int_equal(reg_read(0x004), 2);
	assert_int_equal(reg_read(0x008), 2);          /* block */
	/* capacity, read as the guest does: 8 bytes, and 2 x 4 */
	assert_true(mmio_bus_dispatch(&bus, BASE + 0x100, data, 8, false));
	assert_int_equal(le64_load(data), SECTORS);
	assert_int_equal(reg_read(0x100), SECTORS);
	assert_int_equal(reg_read(0x104), 0);
	assert_int_equal(reg_read(0x100 + 20), 512);  /* blk_size */
}

static void test_write_then_file_has_it(void **state)
{
	uint8_t out[1024], back[1024];
	(void)state;
	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 3, out, sizeof(out), 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(image_fd, back, sizeof(back), 3 * 512), sizeof(back));
	assert_memory_equal(back, out, sizeof(out));
	assert_int_equal(fd_used_len(&drv, 0), 1); /* only the status byte written */
	assert_int_equal(virtio_mmio_interrupt_status(t) & 1, 1);
	reg_write(0x064, 1); /* InterruptACK */
	assert_int_equal(reg_read(0x060), 0);
}

static void test_read(void **state)
{
	uint64_t gpa;
	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_IN, 5, NULL, 0, 1024, &gpa), VIRTIO_BLK_S_OK);
	assert_int_equal(fd_host(&drv, gpa)[0], 5);
	assert_int_equal(fd_host(&drv, gpa)[1023], 6);
	assert_int_equal(fd_used_len(&drv, 0), 1025);
}

static void test_flush(void **state)
{
	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_OK);
}

static void test_out_of_range(void **state)
{
	uint8_t out[512] = { 0 };
	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS, NULL, 0, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, NULL, 0, 1024, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, UINT64_MAX, out, 512, 0, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, NULL, 0, 100, NULL), VIRTIO_BLK_S_IOERR); /* not sectors */
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, NULL, 0, 512, NULL), VIRTIO_BLK_S_OK);
}

static void test_get_id_and_unsupported(void **state)
{
	uint64_t gpa;
	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, NULL, 0, 20, &gpa), VIRTIO_BLK_S_OK);
	assert_string_equal((char *)fd_host(&drv, gpa), "disk-one");
	assert_int_equal(request(99, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void test_discard_and_write_zeroes(void **state)
{
	uint8_t seg[16], back[512];
	(void)state;
	le64_store(seg, 10);
	le32_store(seg + 8, 2);
	le32_store(seg + 12, 0);
	assert_int_equal(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(image_fd, back, 512, 11 * 512), 512);
	assert_int_equal(back[0], 0);
	assert_int_equal(back[511], 0);
	assert_int_equal(pread(image_fd, back, 512, 12 * 512), 512);
	assert_int_equal(back[0], 12); /* the neighbour is untouched */
	le64_store(seg, 20);
	assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, seg, 16, 0, NULL), VIRTIO_BLK_S_OK);
	le64_store(seg, SECTORS - 1); /* 2 sectors from the last: past the end */
	assert_int_equal(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 0, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_read_only(void **state)
{
	uint8_t out[512], back[512];
	(void)state;
	reg_write(0x014, 0);
	assert_true(reg_read(0x010) & (1u << VIRTIO_BLK_F_RO));
	memset(out, 0xee, sizeof(out));
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 1, out, 512, 0, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(image_fd, back, 512, 512), 512);
	assert_int_equal(back[0], 1); /* unchanged */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, NULL, 0, 512, NULL), VIRTIO_BLK_S_OK);
}

static void test_malformed_request_needs_reset(void **state)
{
	const struct fd_buf bufs[] = { { 8, 0, "short!!!" }, { 1, 1, NULL } }; /* header < 16 bytes */
	(void)state;
	fd_add_chain(&drv, bufs, 2, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(reg_read(0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(reg_read(0x060) & 2, 2); /* config change interrupt */
	/* the device does nothing more until reset ... */
	assert_int_equal(fd_used_idx(&drv), 0);
	/* ... and works again after one */
	fd_init(&drv, 8);
	driver_init(0);
	assert_int_equal(reg_read(0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL), VIRTIO_BLK_S_OK);
}

static void test_feature_negotiation(void **state)
{
	(void)state;
	/* A feature we never offered: FEATURES_OK does not stick. */
	reg_write(0x070, 0);
	reg_write(0x070, 3);
	reg_write(0x024, 0);
	reg_write(0x020, 1u << 31);
	reg_write(0x024, 1);
	reg_write(0x020, 1); /* VERSION_1 */
	reg_write(0x070, 3 | 8);
	assert_int_equal(reg_read(0x070) & 8, 0);
	/* A legacy driver (no VERSION_1) is refused the same way. */
	reg_write(0x070, 0);
	reg_write(0x070, 3);
	reg_write(0x024, 1);
	reg_write(0x020, 0);
	reg_write(0x070, 3 | 8);
	assert_int_equal(reg_read(0x070) & 8, 0);
}

static void test_ring_outside_ram_refused(void **state)
{
	(void)state;
	reg_write(0x070, 0);
	reg_write(0x070, 3);
	reg_write(0x024, 1);
	reg_write(0x020, 1);
	reg_write(0x070, 3 | 8);
	reg_write(0x030, 0);
	reg_write(0x038, 8);
	reg_write(0x080, 0x1000); /* below RAM */
	reg_write(0x044, 1);
	assert_int_equal(reg_read(0x044), 0);
	assert_true(reg_read(0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* EIO from the backing file: the request fails with IOERR, the device goes
 * on. /proc/self/mem put on the disk's descriptor gives EIO for reads and
 * writes at unmapped addresses (sector 1 = address 512). */
static void test_eio_from_backing_file(void **state)
{
	uint8_t out[512] = { 1 };
	int disk_fd = -1, mem_fd;

	(void)state;
	for (int fd = 3; fd < 1024; fd++) { /* the disk's descriptor: the one on our image */
		char link[64], target[sizeof(image) + 1];
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = 0, !strcmp(target, image)) && fd != image_fd)
			disk_fd = fd;
	}
	assert_true(disk_fd >= 0);
	mem_fd = open("/proc/self/mem", O_RDWR);
	assert_true(mem_fd >= 0);
	assert_int_equal(dup2(mem_fd, disk_fd), disk_fd);
	close(mem_fd);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, NULL, 0, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 1, out, 512, 0, NULL), VIRTIO_BLK_S_IOERR);
	/* the device still serves requests */
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, NULL, 0, 20, NULL), VIRTIO_BLK_S_OK);
}

static void test_second_writer_refused(void **state)
{
	struct disk_config cfg = { 0 };
	struct error err = { 0 };

	(void)state;
	snprintf(cfg.path, sizeof(cfg.path), "%s", image);
	assert_null(disk_open(&cfg, &err));
	assert_int_equal(err.code, EXIT_DISK_IN_USE);
	ASSERT_ERR_CONTAINS(&err, image);
}

/* A read of `bytes` into 64 KiB of guest RAM named over and over by one
 * indirect table: a hostile guest's large request from little memory. */
struct big_read {
	uint64_t table, data, status;
	uint32_t table_len;
};

static struct big_read lay_big_read(uint64_t bytes)
{
	uint32_t segs = (uint32_t)((bytes + 0xffff) / 0x10000);
	struct big_read b = { .table = fd_alloc(&drv, 16 * (segs + 2)), .data = fd_alloc(&drv, 0x10000),
			      .table_len = 16 * (segs + 2) };
	uint64_t hdr = fd_alloc(&drv, 16);
	uint8_t *tb = fd_host(&drv, b.table);

	b.status = fd_alloc(&drv, 1);
	le32_store(fd_host(&drv, hdr), VIRTIO_BLK_T_IN);
	fd_desc_at(tb, 0, hdr, 16, FD_NEXT, 1);
	for (uint32_t i = 0; i < segs; i++) {
		uint64_t left = bytes - (uint64_t)i * 0x10000;
		fd_desc_at(tb, 1 + i, b.data, left < 0x10000 ? (uint32_t)left : 0x10000, FD_WRITE | FD_NEXT,
			   (uint16_t)(2 + i));
	}
	fd_desc_at(tb, 1 + segs, b.status, 1, FD_WRITE, 0);
	return b;
}

/* The guest learns the largest request from size_max and seg_max; a larger
 * one fails at once, without I/O. */
static void test_request_larger_than_the_limit(void **state)
{
	uint64_t limit;

	(void)state;
	reg_write(0x014, 0);
	assert_true(reg_read(0x010) & (1u << VIRTIO_BLK_F_SIZE_MAX));
	limit = (uint64_t)reg_read(0x100 + 8) * reg_read(0x100 + 12); /* size_max * seg_max */
	assert_true(limit >= (1u << 20) && limit <= (64u << 20));
	/* limit + 512 bytes from a small guest */
	struct big_read big = lay_big_read(limit + 512);
	fd_desc(&drv, 0, big.table, big.table_len, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	virtio_mmio_process_all(t);
	assert_int_equal(fd_used_idx(&drv), 1);
	assert_int_equal(*fd_host(&drv, big.status), VIRTIO_BLK_S_IOERR);
	assert_int_equal(fd_host(&drv, big.data)[0], 0); /* nothing was read into it */
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A guest floods the queue with requests of the largest size, each naming
 * the same RAM over and over (256 x 16 MiB from a few KiB): stopping the
 * device (saevm stop, SIGTERM, --timeout) must not wait for all of it. The
 * real I/O thread runs here. */
static void test_flood_then_stop_is_prompt(void **state)
{
	struct device *dev = bus.devices[0];
	struct error err = { 0 };
	uint64_t limit;
	double t0, took;

	(void)state;
	assert_int_equal(ftruncate(image_fd, 64 << 20), 0); /* a sparse 64 MiB disk */
	teardown_bus_only();
	assert_int_equal(open_device(false, 256), 0);
	dev = bus.devices[0];
	limit = (uint64_t)reg_read(0x100 + 8) * reg_read(0x100 + 12);
	struct big_read big = lay_big_read(limit);
	for (uint16_t i = 0; i < 256; i++) { /* every entry: one request of the largest size */
		fd_desc(&drv, i, big.table, big.table_len, FD_INDIRECT, 0);
		fd_publish(&drv, i);
	}
	assert_int_equal(dev->ops->start(dev, &err), 0);
	reg_write(0x050, 0); /* QueueNotify */
	while (fd_used_idx(&drv) == 0)
		usleep(1000); /* busy now */
	t0 = now_s();
	mmio_bus_stop_devices(&bus);
	took = now_s() - t0;
	print_message("stop after %u of 256 requests (%llu MiB each) took %.3f s\n", fd_used_idx(&drv),
		      (unsigned long long)(limit >> 20), took);
	assert_true(fd_used_idx(&drv) < 256);
	if (took > 1.0)
		fail_msg("stopping a flooded device took %.2f s", took);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_config, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write_then_file_has_it, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_get_id_and_unsupported, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_request_needs_reset, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_ram_refused, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_second_writer_refused, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_eio_from_backing_file, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_request_larger_than_the_limit, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_flood_then_stop_is_prompt, setup_rw, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
