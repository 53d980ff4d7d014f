/* Threads racing one virtio-net transport, as a hostile guest and a busy
 * backend make them race in saevm: a vCPU-like thread (here, the test's
 * main thread) resets the device, brings it up, toggles QueueReady, adds
 * buffers and notifies, while the device's own network thread serves the
 * notifications and a backend thread asks can_receive() and delivers
 * frames. Nothing may crash, and under ThreadSanitizer (make check-tsan)
 * nothing may race: every queue field is read under its lock.
 *
 * The one exception to the unit tests' "no threads" rule (harness.h): this
 * file exists to have them. The fake driver's ring writes race with the
 * device's reads by design (guest memory is shared); tests/unit/tsan.supp
 * names those functions and nothing else. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "fake_driver.h"
#include "../../devices/virtio_net.h"
#include "../../devices/vsock/packet.h"
#include "../../devices/vsock/virtio_vsock.h"
#include <sys/socket.h>
#include <sys/un.h>

#define BASE 0x0a000200ULL
#define SECONDS 1.5

static struct net_backend be;
static struct fake_driver rxq, txq;
static struct mmio_bus bus;
static uint8_t *ram;
static struct guest_mem device_mem;
static atomic_bool done;
static atomic_ulong frames_offered, can_receive_true;

static uint64_t no_features(struct net_backend *b) { (void)b; return 0; }
static unsigned no_mtu(struct net_backend *b) { (void)b; return 0; }
static void no_activate(struct net_backend *b, uint64_t f) { (void)b; (void)f; }
static int no_fill(struct net_backend *b, struct pollfd *fds, int max, int *timeout)
{
	(void)b; (void)fds; (void)max;
	*timeout = 5;
	return 0;
}
static void no_handle(struct net_backend *b, struct pollfd *fds, int n) { (void)b; (void)fds; (void)n; }
static void count_send(struct net_backend *b, const struct iovec *iov, unsigned n, size_t total)
{
	(void)b; (void)iov; (void)n; (void)total;
}
static void no_destroy(struct net_backend *b) { (void)b; }
static const struct net_backend_ops ops = {
	.kind = "stress", .features = no_features, .mtu = no_mtu, .activate = no_activate, .poll_fill = no_fill,
	.poll_handle = no_handle, .send = count_send, .destroy = no_destroy,
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A backend thread like tap's or slirp's, off the device's own thread. */
static void *backend_thread(void *arg)
{
	uint8_t frame[300];

	(void)arg;
	memset(frame, 0xab, sizeof(frame));
	while (!atomic_load(&done)) {
		if (be.sink.can_receive(be.sink.dev))
			atomic_fetch_add(&can_receive_true, 1);
		be.sink.receive(be.sink.dev, NULL, frame, sizeof(frame));
		be.sink.flush(be.sink.dev);
		atomic_fetch_add(&frames_offered, 1);
	}
	return NULL;
}

/* A new guest's rings start from zero. */
static void clear_rings(void) { memset(ram, 0, 0x20000); }

static void test_vcpu_resets_while_io_and_backend_run(void **state)
{
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	const uint8_t mac[6] = { 2, 0x5a, 0, 0, 0, 1 };
	const struct fd_buf rxbuf = { 1526, 1, NULL };
	uint8_t hdr[12] = { 0 }, payload[64] = { 0 };
	const struct fd_buf txbufs[2] = { { 12, 0, hdr }, { 64, 0, payload } };
	struct device *dev;
	pthread_t backend;
	unsigned long rounds = 0;
	double end;

	(void)state;
	ram = calloc(1, FD_RAM_SIZE);
	fd_init_at(&rxq, ram, 0x00000, 0x100000, 64);
	fd_init_at(&txq, ram, 0x10000, 0x300000, 64);
	guest_mem_wrap(&device_mem, FD_RAM_GPA, ram, FD_RAM_SIZE); /* the device's view, set up once */
	env.mem = &device_mem;
	mmio_bus_init(&bus);
	be.ops = &ops;
	dev = virtio_net_create(BASE, 2, &env, &be, mac, &err);
	assert_non_null(dev);
	assert_int_equal(mmio_bus_add(&bus, dev, &err), 0);
	assert_int_equal(mmio_bus_start_devices(&bus, &err), 0);
	assert_int_equal(pthread_create(&backend, NULL, backend_thread, NULL), 0);

	end = now_s() + SECONDS;
	while (now_s() < end) {
		clear_rings();
		fd_init_at(&rxq, ram, 0x00000, 0x100000, 64);
		fd_init_at(&txq, ram, 0x10000, 0x300000, 64);
		struct fake_driver qs[2] = { rxq, txq };
		fd_bring_up(&bus, BASE, qs, 2, 0); /* starts with a reset */
		for (unsigned i = 0; i < 8; i++) {
			fd_add_chain(&rxq, &rxbuf, 1, NULL);
			fd_add_chain(&txq, txbufs, 2, NULL);
			fd_reg_write(&bus, BASE, 0x050, i & 1); /* QueueNotify */
		}
		fd_reg_write(&bus, BASE, 0x030, 0); /* QueueReady off and on, live */
		fd_reg_write(&bus, BASE, 0x044, 0);
		fd_reg_write(&bus, BASE, 0x044, 1);
		fd_reg_write(&bus, BASE, 0x070, 0x0b); /* tries to clear DRIVER_OK */
		if (rounds % 3 == 0)
			mmio_bus_reset_devices(&bus); /* a reboot */
		rounds++;
	}
	atomic_store(&done, true);
	pthread_join(backend, NULL);
	mmio_bus_stop_devices(&bus);
	mmio_bus_destroy(&bus);
	print_message("%lu reset rounds, %lu frames offered, can_receive true %lu times\n", rounds,
		      atomic_load(&frames_offered), atomic_load(&can_receive_true));
	assert_true(rounds > 10);
	assert_true(atomic_load(&frames_offered) > 10);
	free(ram);
}

/* libslirp answers a frame from the guest (an ACK, more data) inside
 * slirp_input(), while the transmit pass holds its queue's lock. A vCPU
 * resetting the device meanwhile holds the receive lock and waits for the
 * transmit lock: the answer must not wait for the receive lock. Here a
 * second thread holds it until the pass is over; before the fix the pass
 * waited for it forever (the alarm ends the test). The answer reaches the
 * guest once the lock is free. */
static struct virtio_mmio *race_t;
/* 1: take the receive lock; 2: it is held; 3: the pass is over */
static atomic_int race_phase;
static uint8_t answer_frame[80];
static void *hold_receive_lock(void *arg)
{
	(void)arg;
	while (atomic_load(&race_phase) != 1)
		usleep(1000);
	virtio_mmio_lock_queue(race_t, 0);
	atomic_store(&race_phase, 2);
	while (atomic_load(&race_phase) != 3)
		usleep(1000);
	virtio_mmio_unlock_queue(race_t, 0);
	return NULL;
}
/* Inside the pass: the "vCPU" takes the receive lock now, then slirp answers. */
static void answering_send(struct net_backend *b, const struct iovec *iov, unsigned n, size_t total)
{
	(void)iov; (void)n; (void)total;
	atomic_store(&race_phase, 1);
	while (atomic_load(&race_phase) != 2)
		usleep(1000);
	b->sink.receive(b->sink.dev, NULL, answer_frame, sizeof(answer_frame));
}

static void test_answer_during_transmit_waits_for_no_lock(void **state)
{
	static const struct net_backend_ops answering = {
		.kind = "answering", .features = no_features, .mtu = no_mtu, .activate = no_activate,
		.poll_fill = no_fill, .poll_handle = no_handle, .send = answering_send, .destroy = no_destroy,
	};
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	const uint8_t mac[6] = { 2, 0x5a, 0, 0, 0, 2 };
	uint8_t hdr[12] = { 0 }, payload[60] = { 0 };
	const struct fd_buf txbufs[2] = { { 12, 0, hdr }, { 60, 0, payload } };
	const struct fd_buf rxbuf = { 1514, 1, NULL };
	struct device *dev;
	pthread_t holder;
	uint64_t gpa;

	(void)state;
	ram = calloc(1, FD_RAM_SIZE);
	fd_init_at(&rxq, ram, 0x00000, 0x100000, 16);
	fd_init_at(&txq, ram, 0x10000, 0x300000, 16);
	guest_mem_wrap(&device_mem, FD_RAM_GPA, ram, FD_RAM_SIZE);
	env.mem = &device_mem;
	mmio_bus_init(&bus);
	be.ops = &answering;
	dev = virtio_net_create(BASE, 2, &env, &be, mac, &err);
	assert_non_null(dev);
	assert_int_equal(mmio_bus_add(&bus, dev, &err), 0);
	race_t = virtio_mmio_of(dev);
	struct fake_driver qs[2] = { rxq, txq };
	assert_true(fd_bring_up(&bus, BASE, qs, 2, 0));
	for (size_t i = 0; i < sizeof(answer_frame); i++)
		answer_frame[i] = (uint8_t)(i * 7 + 1);
	fd_add_chain(&rxq, &rxbuf, 1, &gpa);
	fd_add_chain(&txq, txbufs, 2, NULL);

	assert_int_equal(pthread_create(&holder, NULL, hold_receive_lock, NULL), 0);
	alarm(20);
	virtio_mmio_process_all(race_t); /* the transmit pass; the backend answers */
	alarm(0);
	atomic_store(&race_phase, 3);
	pthread_join(holder, NULL);
	assert_int_equal(fd_used_idx(&rxq), 0); /* not while the lock was held */
	be.sink.flush(be.sink.dev); /* the network thread, after the pass */
	assert_int_equal(fd_used_idx(&rxq), 1);
	assert_int_equal(fd_used_len(&rxq, 0), 12 + sizeof(answer_frame));
	assert_memory_equal(fd_host(&rxq, gpa) + 12, answer_frame, sizeof(answer_frame));
	assert_true(virtio_mmio_interrupt_status(race_t) & 1);
	mmio_bus_destroy(&bus);
	free(ram);
}

/* virtio-vsock's own thread serving a guest that resets it, brings it up
 * and sends requests, data and shutdowns, while host programs connect to
 * its socket, write and hang up, and a listener takes the guest's streams
 * and drops them. */
static char vs_path[64];
static atomic_ulong host_connects;
static void *host_programs(void *arg)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX }, l = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	(void)arg;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", vs_path);
	snprintf(l.sun_path, sizeof(l.sun_path), "%s_5000", vs_path);
	if (bind(listener, (struct sockaddr *)&l, sizeof(l)) < 0 || listen(listener, 64) < 0)
		return NULL;
	while (!atomic_load(&done)) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			atomic_fetch_add(&host_connects, 1);
			if (send(fd, "CONNECT 1234\nsome bytes", 23, MSG_NOSIGNAL) < 0)
				(void)0;
			usleep(200);
		}
		close(fd);
		for (int c; (c = accept(listener, NULL, NULL)) >= 0;)
			close(c);
	}
	close(listener);
	return NULL;
}

static void vsock_packet(struct fake_driver *q, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	struct vsock_hdr h = { .src_cid = 3, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port, .len = len,
			       .type = VSOCK_TYPE_STREAM, .op = op, .flags = 3, .buf_alloc = 65536 };
	static uint8_t raw[VSOCK_HDR_SIZE], payload[256];
	vsock_hdr_encode(&h, raw);
	const struct fd_buf bufs[2] = { { VSOCK_HDR_SIZE, 0, raw }, { len ? len : 1, 0, payload } };
	fd_add_chain(q, bufs, len ? 2 : 1, NULL);
}

static void test_vsock_thread_under_resets_and_host_programs(void **state)
{
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	const struct fd_buf rxbuf = { VSOCK_HDR_SIZE + 4096, 1, NULL };
	char dir[] = "/tmp/saevm-stress-XXXXXX", cmd[64];
	struct fake_driver evq;
	struct device *dev;
	pthread_t host;
	unsigned long rounds = 0;
	double end;

	(void)state;
	atomic_store(&done, false);
	assert_non_null(mkdtemp(dir));
	snprintf(vs_path, sizeof(vs_path), "%s/vm.vsock", dir);
	ram = calloc(1, FD_RAM_SIZE);
	guest_mem_wrap(&device_mem, FD_RAM_GPA, ram, FD_RAM_SIZE);
	env.mem = &device_mem;
	mmio_bus_init(&bus);
	dev = virtio_vsock_create(BASE, 2, &env, 3, vs_path, &err);
	assert_non_null(dev);
	assert_int_equal(mmio_bus_add(&bus, dev, &err), 0);
	assert_int_equal(mmio_bus_start_devices(&bus, &err), 0);
	assert_int_equal(pthread_create(&host, NULL, host_programs, NULL), 0);

	end = now_s() + SECONDS;
	while (now_s() < end) {
		clear_rings();
		fd_init_at(&rxq, ram, 0x00000, 0x100000, 64);
		fd_init_at(&txq, ram, 0x10000, 0x300000, 64);
		memset(&evq, 0, sizeof(evq));
		fd_init_at(&evq, ram, 0x20000, 0x380000, 64);
		struct fake_driver qs[3] = { rxq, txq, evq };
		fd_bring_up(&bus, BASE, qs, 3, 0); /* starts with a reset */
		for (unsigned i = 0; i < 8; i++) {
			fd_add_chain(&rxq, &rxbuf, 1, NULL);
			vsock_packet(&txq, VSOCK_OP_REQUEST, 1000 + i, 5000, 0);
			vsock_packet(&txq, VSOCK_OP_RW, 1000 + i, 5000, 200);
			vsock_packet(&txq, VSOCK_OP_RESPONSE, 1234, (1u << 30) + i, 0);
			if (i & 1)
				vsock_packet(&txq, VSOCK_OP_SHUTDOWN, 1000 + i, 5000, 0);
			fd_reg_write(&bus, BASE, 0x050, i & 1); /* QueueNotify */
		}
		usleep(500);
		if (rounds % 3 == 0)
			mmio_bus_reset_devices(&bus); /* a reboot */
		rounds++;
	}
	atomic_store(&done, true);
	pthread_join(host, NULL);
	mmio_bus_stop_devices(&bus);
	mmio_bus_destroy(&bus);
	print_message("%lu reset rounds, %lu host connections\n", rounds, atomic_load(&host_connects));
	assert_true(rounds > 10);
	assert_true(atomic_load(&host_connects) > 10);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_resets_while_io_and_backend_run),
		cmocka_unit_test(test_answer_during_transmit_waits_for_no_lock),
		cmocka_unit_test(test_vsock_thread_under_resets_and_host_programs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
