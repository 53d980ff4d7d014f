/* virtio-net's rings with a fake backend: frames from the guest reach the
 * backend whole; frames for the guest are merged across receive buffers,
 * wait when there are none, are dropped (and counted) only when they can
 * never fit; a malformed transmit chain needs a reset. */
#include "harness.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <unistd.h>

#include "fake_driver.h"
#include "../../devices/virtio_net.h"

#define BASE 0x0a000200ULL

struct fake_backend {
	struct net_backend be;
	uint8_t sent[70000];
	size_t sent_len;
	unsigned sent_frames;
	uint64_t offloads, activated;
	unsigned activations;
};

static uint64_t fb_features(struct net_backend *be) { return ((struct fake_backend *)be)->offloads; }
static void fb_activate(struct net_backend *be, uint64_t f)
{
	((struct fake_backend *)be)->activated = f;
	((struct fake_backend *)be)->activations++;
}
static int fb_fill(struct net_backend *be, struct pollfd *fds, int max, int *timeout)
{
	(void)be; (void)fds; (void)max; (void)timeout;
	return 0;
}
static void fb_handle(struct net_backend *be, struct pollfd *fds, int n) { (void)be; (void)fds; (void)n; }
static void fb_send(struct net_backend *be, const struct iovec *iov, unsigned n, size_t total)
{
	struct fake_backend *f = (struct fake_backend *)be;
	f->sent_len = 0;
	for (unsigned k = 0; k < n; k++) {
		memcpy(f->sent + f->sent_len, iov[k].iov_base, iov[k].iov_len);
		f->sent_len += iov[k].iov_len;
	}
	assert_int_equal(f->sent_len, total);
	f->sent_frames++;
}
static void fb_destroy(struct net_backend *be) { (void)be; }
static unsigned fb_mtu(struct net_backend *be) { (void)be; return 0; }
static const struct net_backend_ops fb_ops = {
	.kind = "fake", .features = fb_features, .mtu = fb_mtu, .activate = fb_activate, .poll_fill = fb_fill,
	.poll_handle = fb_handle, .send = fb_send, .destroy = fb_destroy,
};

static struct fake_backend fb;
static uint8_t *ram;
static struct fake_driver rxq, txq;
static struct mmio_bus bus;
static struct virtio_mmio *t;
static const uint8_t mac[6] = { 0x02, 0x5a, 1, 2, 3, 4 };

static int make_nic(uint64_t offloads, uint64_t drop)
{
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	struct device *dev;

	memset(&fb, 0, sizeof(fb));
	fb.be.ops = &fb_ops;
	fb.offloads = offloads;
	if (!ram)
		ram = malloc(FD_RAM_SIZE);
	memset(ram, 0, FD_RAM_SIZE);
	fd_init_at(&rxq, ram, 0x00000, 0x100000, 16);
	fd_init_at(&txq, ram, 0x10000, 0x300000, 16);
	env.mem = &rxq.mem;
	mmio_bus_init(&bus);
	dev = virtio_net_create(BASE, 2, &env, &fb.be, mac, &err);
	if (!dev || mmio_bus_add(&bus, dev, &err) < 0)
		return -1;
	t = virtio_mmio_of(dev);
	struct fake_driver qs[2] = { rxq, txq };
	return fd_bring_up(&bus, BASE, qs, 2, drop) ? 0 : -1;
}

static int setup(void **state) { (void)state; return make_nic(0, 0); }
static int setup_no_mrg(void **state) { (void)state; return make_nic(0, 1ULL << VIRTIO_NET_F_MRG_RXBUF); }
static int setup_tap_like(void **state)
{
	(void)state;
	return make_nic((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM), 0);
}
static int teardown(void **state) { (void)state; mmio_bus_destroy(&bus); return 0; }

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 13);
}

static void test_config_and_features(void **state)
{
	(void)state;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x008), 1); /* network card */
	/* the MAC's bytes in order: 02:5a:01:02:03:04 */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x100), 0x02015a02);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x104) & 0xffff, 0x0403);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x104) >> 16, VIRTIO_NET_S_LINK_UP);
	fd_reg_write(&bus, BASE, 0x014, 0);
	uint32_t f = fd_reg_read(&bus, BASE, 0x010);
	assert_true(f & (1u << VIRTIO_NET_F_MAC));
	assert_true(f & (1u << VIRTIO_NET_F_MRG_RXBUF));
	assert_false(f & (1u << VIRTIO_NET_F_CSUM)); /* the backend offers none */
	assert_true(fb.activated & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
}

static void test_transmit(void **state)
{
	uint8_t hdr[12] = { 0 }, frame[60];
	const struct fd_buf bufs[] = { { 12, 0, hdr }, { 60, 0, frame } };

	(void)state;
	make_frame(frame, sizeof(frame), 7);
	fd_add_chain(&txq, bufs, 2, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(fb.sent_frames, 1);
	assert_int_equal(fb.sent_len, 72);
	assert_memory_equal(fb.sent + 12, frame, 60);
	assert_int_equal(fd_used_idx(&txq), 1);
}

static void test_malformed_transmit(void **state)
{
	uint8_t hdr[12] = { 0 };
	const struct fd_buf bufs[] = { { 12, 0, hdr } }; /* a header and no frame */

	(void)state;
	fd_add_chain(&txq, bufs, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(fb.sent_frames, 0);
	assert_true(fd_reg_read(&bus, BASE, 0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* A 3000-byte frame (+12 header bytes) over 1024-byte buffers: 3 merged. */
static void test_receive_mergeable(void **state)
{
	uint8_t frame[3000], back[3000];
	uint64_t gpa[6];
	size_t got = 0;

	(void)state;
	for (unsigned i = 0; i < 6; i++) {
		const struct fd_buf b = { 1024, 1, NULL };
		fd_add_chain(&rxq, &b, 1, &gpa[i]);
	}
	make_frame(frame, sizeof(frame), 1);
	fb.be.sink.receive(fb.be.sink.dev, NULL, frame, sizeof(frame));
	assert_false(virtio_mmio_interrupt_status(t) & 1); /* not before the burst ends */
	fb.be.sink.flush(fb.be.sink.dev);
	assert_int_equal(fd_used_idx(&rxq), 3);
	assert_int_equal(le16_load(fd_host(&rxq, gpa[0]) + 10), 3); /* num_buffers */
	for (unsigned i = 0; i < 3; i++) {
		uint32_t len = fd_used_len(&rxq, (uint16_t)i);
		size_t skip = i == 0 ? 12 : 0;
		memcpy(back + got, fd_host(&rxq, gpa[i]) + skip, len - skip);
		got += len - skip;
	}
	assert_int_equal(got, sizeof(frame));
	assert_memory_equal(back, frame, sizeof(frame));
	assert_true(virtio_mmio_interrupt_status(t) & 1);
}

/* No buffers: the frame waits, then arrives when the guest adds some. */
static void test_receive_waits_for_buffers(void **state)
{
	uint8_t f1[100], f2[200];
	uint64_t gpa[2];
	const struct fd_buf b = { 1514, 1, NULL };

	(void)state;
	make_frame(f1, sizeof(f1), 1);
	make_frame(f2, sizeof(f2), 2);
	assert_false(fb.be.sink.can_receive(fb.be.sink.dev));
	fb.be.sink.receive(fb.be.sink.dev, NULL, f1, sizeof(f1));
	fb.be.sink.receive(fb.be.sink.dev, NULL, f2, sizeof(f2));
	assert_int_equal(fd_used_idx(&rxq), 0);
	/* With event-idx, the device asked to hear of the next buffer. */
	assert_int_equal(le16_load(fd_ring(&rxq, FD_USED + 4 + 8 * rxq.size)), 0);
	fd_add_chain(&rxq, &b, 1, &gpa[0]);
	fd_add_chain(&rxq, &b, 1, &gpa[1]);
	virtio_mmio_process_all(t); /* the guest's notify */
	assert_int_equal(fd_used_idx(&rxq), 2);
	assert_memory_equal(fd_host(&rxq, gpa[0]) + 12, f1, sizeof(f1)); /* in order */
	assert_memory_equal(fd_host(&rxq, gpa[1]) + 12, f2, sizeof(f2));
	assert_int_equal(fd_used_len(&rxq, 1), 212);
}

/* Without MRG_RXBUF, a frame bigger than one buffer can never fit: it is
 * dropped and counted, and the buffer stays for the next frame. */
static void test_receive_buffer_too_small(void **state)
{
	uint8_t big[2000], small[100];
	uint64_t gpa;
	const struct fd_buf b = { 1526, 1, NULL };

	(void)state;
	fd_add_chain(&rxq, &b, 1, &gpa);
	make_frame(big, sizeof(big), 3);
	make_frame(small, sizeof(small), 4);
	fb.be.sink.receive(fb.be.sink.dev, NULL, big, sizeof(big));
	assert_int_equal(fd_used_idx(&rxq), 0);
	fb.be.sink.receive(fb.be.sink.dev, NULL, small, sizeof(small));
	assert_int_equal(fd_used_idx(&rxq), 1);
	assert_memory_equal(fd_host(&rxq, gpa) + 12, small, sizeof(small));
}

static void test_offloads_and_data_valid(void **state)
{
	uint8_t frame[64];
	uint64_t gpa;
	const struct fd_buf b = { 1526, 1, NULL };

	(void)state;
	fd_reg_write(&bus, BASE, 0x014, 0);
	assert_true(fd_reg_read(&bus, BASE, 0x010) & (1u << VIRTIO_NET_F_CSUM));
	assert_true(fb.activated & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	fd_add_chain(&rxq, &b, 1, &gpa);
	make_frame(frame, sizeof(frame), 9);
	fb.be.sink.receive(fb.be.sink.dev, NULL, frame, sizeof(frame));
	assert_int_equal(fd_host(&rxq, gpa)[0], VIRTIO_NET_HDR_F_DATA_VALID);
}

/* A guest reboot (--reboot) resets the machine's devices: a receive buffer
 * the old kernel posted is forgotten, a frame arriving afterwards leaves
 * guest RAM untouched (it now holds the new kernel), the status reads 0. */
static void test_reset_for_reboot_forgets_the_old_rings(void **state)
{
	uint8_t frame[200], *before = malloc(FD_RAM_SIZE);
	const struct fd_buf b = { 1526, 1, NULL };

	(void)state;
	fd_add_chain(&rxq, &b, 1, NULL);
	mmio_bus_reset_devices(&bus);
	memcpy(before, ram, FD_RAM_SIZE);
	make_frame(frame, sizeof(frame), 5);
	assert_false(fb.be.sink.can_receive(fb.be.sink.dev));
	fb.be.sink.receive(fb.be.sink.dev, NULL, frame, sizeof(frame));
	fb.be.sink.flush(fb.be.sink.dev);
	assert_memory_equal(ram, before, FD_RAM_SIZE);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x070), 0);
	assert_int_equal(virtio_mmio_interrupt_status(t), 0);
	/* the next guest brings it up as new, from index 0 */
	fd_init_at(&rxq, ram, 0x00000, 0x100000, 16);
	fd_init_at(&txq, ram, 0x10000, 0x300000, 16);
	struct fake_driver qs[2] = { rxq, txq };
	assert_true(fd_bring_up(&bus, BASE, qs, 2, 0) != 0);
	fd_add_chain(&rxq, &b, 1, NULL);
	fb.be.sink.receive(fb.be.sink.dev, NULL, frame, sizeof(frame));
	assert_int_equal(fd_used_idx(&rxq), 1);
	free(before);
}

/* virtio 1.2 §2.1, §3.1.1: status bits only go up until a reset, features
 * freeze at FEATURES_OK, activate runs once per reset, DRIVER_OK needs
 * FEATURES_OK, rings are set up only after feature negotiation. */
static void test_status_and_features_are_one_way(void **state)
{
	uint64_t negotiated = virtio_mmio_negotiated(t);

	(void)state;
	assert_int_equal(fb.activations, 1);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x070), 0xf);
	fd_reg_write(&bus, BASE, 0x070, 1 | 2 | 8 | 4); /* DRIVER_OK again */
	assert_int_equal(fb.activations, 1);
	fd_reg_write(&bus, BASE, 0x070, 1 | 2 | 4); /* clears FEATURES_OK: ignored */
	assert_int_equal(fd_reg_read(&bus, BASE, 0x070), 0xf);
	fd_reg_write(&bus, BASE, 0x024, 0); /* new features under live queues: ignored */
	fd_reg_write(&bus, BASE, 0x020, 0);
	fd_reg_write(&bus, BASE, 0x024, 1);
	fd_reg_write(&bus, BASE, 0x020, 1);
	fd_reg_write(&bus, BASE, 0x070, 1 | 2 | 8 | 4);
	assert_int_equal(virtio_mmio_negotiated(t), negotiated);
	assert_int_equal(fb.activations, 1);
	assert_true(virtio_mmio_queue_live(t, 0));

	/* After a reset: DRIVER_OK without FEATURES_OK does not stick, nor
	 * does a queue made ready before the features are final. */
	fd_reg_write(&bus, BASE, 0x070, 0);
	fd_reg_write(&bus, BASE, 0x070, 1 | 2);
	fd_reg_write(&bus, BASE, 0x030, 0);
	fd_reg_write(&bus, BASE, 0x044, 1);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x044), 0);
	fd_reg_write(&bus, BASE, 0x070, 1 | 2 | 4);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x070), 1 | 2);
	assert_int_equal(fb.activations, 1);
	/* the ordinary bring-up activates once more */
	struct fake_driver qs[2] = { rxq, txq };
	assert_true(fd_bring_up(&bus, BASE, qs, 2, 0) != 0);
	assert_int_equal(fb.activations, 2);
}

/* A transmit chain naming more than the largest frame fails the queue
 * instead of being handed to the backend. */
static void test_oversized_transmit(void **state)
{
	uint8_t hdr[12] = { 0 };
	const struct fd_buf bufs[] = { { 12, 0, hdr }, { 65536, 0, NULL }, { 65536, 0, NULL } };

	(void)state;
	fd_add_chain(&txq, bufs, 3, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(fb.sent_frames, 0);
	assert_true(fd_reg_read(&bus, BASE, 0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* ---- tap: the order of its ioctls, with a fake /dev/net/tun ---- */

static unsigned long tap_calls[8];
static int tap_le_value;
static unsigned n_tap_calls;
static int refuse_request_le;

static int fake_tap_ioctl(int fd, unsigned long request, void *arg)
{
	(void)fd;
	if (n_tap_calls < 8)
		tap_calls[n_tap_calls++] = request;
	if (request == TUNSETVNETLE) {
		tap_le_value = *(int *)arg;
		if (refuse_request_le) {
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

/* The guest's virtio-net header is little-endian; on a big-endian host
 * (this test also runs under qemu-s390x) the tap must be told so before
 * offloads are set and before any frame flows. */
static void test_tap_is_told_headers_are_little_endian(void **state)
{
	struct nic_config cfg = { 0 };
	struct error err = { 0 };
	struct net_backend *be;

	(void)state;
	snprintf(cfg.ifname, sizeof(cfg.ifname), "tap9");
	n_tap_calls = 0;
	refuse_request_le = 0;
	be = net_tap_create_on(&cfg, dup(0), fake_tap_ioctl, &err);
	assert_non_null(be);
	assert_int_equal(n_tap_calls, 4);
	assert_int_equal(tap_calls[0], TUNSETIFF);
	assert_int_equal(tap_calls[1], TUNSETVNETHDRSZ);
	assert_int_equal(tap_calls[2], TUNSETVNETLE);
	assert_int_equal(tap_le_value, 1);
	assert_int_equal(tap_calls[3], TUNSETOFFLOAD);
	be->ops->activate(be, 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	assert_int_equal(tap_calls[4], TUNSETOFFLOAD);
	be->ops->destroy(be);

	refuse_request_le = 1; /* a kernel that refuses: a clear error, no NIC */
	memset(&err, 0, sizeof(err));
	assert_null(net_tap_create_on(&cfg, dup(0), fake_tap_ioctl, &err));
	assert_int_equal(err.code, EXIT_HOST_UNSUPPORTED);
	ASSERT_ERR_CONTAINS(&err, "TUNSETVNETLE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_buffer_too_small, setup_no_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_offloads_and_data_valid, setup_tap_like, teardown),
		cmocka_unit_test_setup_teardown(test_reset_for_reboot_forgets_the_old_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_features_are_one_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_transmit, setup, teardown),
		cmocka_unit_test(test_tap_is_told_headers_are_little_endian),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
