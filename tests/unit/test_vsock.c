/* virtio-vsock through the transport, as Linux's driver uses it, against
 * real Unix sockets in a temporary directory: streams both ways, credit
 * that stalls and resumes, shutdown and reset from either side, a guest
 * that floods past its credit, malformed and stray packets, a device
 * reset under open streams. The device's loop is turned by hand
 * (virtio_vsock_poll), no thread. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_driver.h"
#include "../../devices/vsock/packet.h"
#include "../../devices/vsock/virtio_vsock.h"
#include "../../vmm/mmio_bus.h"

#define BASE 0x0a000000ULL
#define CID 3
#define QSIZE 64
#define RXBUF (VSOCK_HDR_SIZE + 4096)
#define RX_DATA 0x100000u  /* QSIZE receive buffers */
#define TX_HDRS 0x180000u  /* QSIZE headers */
#define TX_DATA 0x200000u  /* payloads, up to 1 MiB */

static uint8_t *ram;
static struct fake_driver rxq, txq, evq;
static struct mmio_bus bus;
static struct device *dev;
static char dir[32], path[64];
static uint16_t rx_seen, rx_given;

/* ---- the fake guest ---- */

static void poll_device(void)
{
	virtio_mmio_process_all(virtio_mmio_of(dev));
	for (int i = 0; i < 4; i++)
		virtio_vsock_poll(dev, 0);
}

/* n receive buffers of one descriptor each, as Linux 6.2 on gives them. */
static void rx_give(unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = rxq.next_desc;
		fd_desc(&rxq, i, FD_RAM_GPA + RX_DATA + (uint64_t)i * RXBUF, RXBUF, FD_WRITE, 0);
		fd_publish(&rxq, i);
		rxq.next_desc = (uint16_t)((i + 1) % QSIZE);
		rx_given++;
	}
}

/* Tops the receive queue up to full, as the driver does as it reads. */
static void rx_refill(void)
{
	rx_give((uint16_t)(QSIZE - (uint16_t)(rx_given - fd_used_idx(&rxq))));
	fd_reg_write(&bus, BASE, 0x050, 0);
}

/* One packet from the guest: header and payload in two descriptors. */
static void tx_raw(const uint8_t *hdr, uint32_t hdr_len, const void *payload, uint32_t len)
{
	uint16_t i = txq.next_desc, j = (uint16_t)((i + 1) % QSIZE);
	uint64_t h = FD_RAM_GPA + TX_HDRS + (uint64_t)i * 64;

	memcpy(fd_host(&txq, h), hdr, hdr_len);
	if (len) {
		memcpy(fd_host(&txq, FD_RAM_GPA + TX_DATA), payload, len);
		fd_desc(&txq, i, h, hdr_len, FD_NEXT, j);
		fd_desc(&txq, j, FD_RAM_GPA + TX_DATA, len, 0, 0);
		txq.next_desc = (uint16_t)((j + 1) % QSIZE);
	} else {
		fd_desc(&txq, i, h, hdr_len, 0, 0);
		txq.next_desc = j;
	}
	fd_publish(&txq, i);
	poll_device();
}

static void tx(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags, uint32_t buf_alloc,
	       uint32_t fwd_cnt, const void *payload, uint32_t len)
{
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port, .dst_port = dst_port,
			       .len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
			       .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(&h, raw);
	tx_raw(raw, sizeof(raw), payload, len);
}

/* The next packet the device put in a receive buffer; false if none. */
static bool rx_next(struct vsock_hdr *h, uint8_t *payload)
{
	if (fd_used_idx(&rxq) == rx_seen)
		return false;
	uint32_t id = fd_used_id(&rxq, rx_seen), len = fd_used_len(&rxq, rx_seen);
	const uint8_t *buf = fd_host(&rxq, FD_RAM_GPA + RX_DATA + (uint64_t)id * RXBUF);
	rx_seen++;
	assert_true(len >= VSOCK_HDR_SIZE);
	vsock_hdr_decode(buf, h);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VSOCK_TYPE_STREAM);
	assert_int_equal(len, VSOCK_HDR_SIZE + h->len);
	if (payload)
		memcpy(payload, buf + VSOCK_HDR_SIZE, h->len);
	return true;
}

static void expect_op(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h;
	assert_true(rx_next(&h, NULL));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, src_port);
	assert_int_equal(h.dst_port, dst_port);
}

/* ---- the host side ---- */

static int listen_port(uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", path, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int host_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads exactly n bytes (the device is turned while waiting). */
static void host_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	for (int tries = 0; got < n && tries < 1000; tries++) {
		ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else
			poll_device();
	}
	assert_int_equal(got, n);
}

static bool host_at_eof(int fd)
{
	char c;
	for (int tries = 0; tries < 100; tries++) {
		ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
		if (r == 0)
			return true;
		if (r > 0 || errno != EAGAIN)
			return false;
		poll_device();
	}
	return false;
}

/* ---- set-up ---- */

static int setup(void **state)
{
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };

	(void)state;
	snprintf(dir, sizeof(dir), "%s", "/tmp/saevm-vsock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/vm.vsock", dir);
	if (!ram)
		ram = malloc(FD_RAM_SIZE);
	memset(ram, 0, FD_RAM_SIZE);
	fd_init_at(&rxq, ram, 0x00000, RX_DATA, QSIZE);
	fd_init_at(&txq, ram, 0x10000, TX_DATA, QSIZE);
	fd_init_at(&evq, ram, 0x20000, 0x300000, QSIZE);
	env.mem = &rxq.mem;
	mmio_bus_init(&bus);
	dev = virtio_vsock_create(BASE, 3, &env, CID, path, &err);
	if (!dev || mmio_bus_add(&bus, dev, &err) < 0)
		return -1;
	struct fake_driver qs[3] = { rxq, txq, evq };
	if (!fd_bring_up(&bus, BASE, qs, 3, 0))
		return -1;
	rx_seen = rx_given = 0;
	rx_give(QSIZE);
	poll_device();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	mmio_bus_destroy(&bus);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_config_space_has_the_cid_and_the_socket_is_private(void **state)
{
	struct stat st;
	(void)state;
	assert_int_equal(fd_reg_read(&bus, BASE, 0x100), CID);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x104), 0);
	assert_int_equal(fd_reg_read(&bus, BASE, 0x008), 19);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
}

static void test_guest_connects_to_a_host_socket(void **state)
{
	int l = listen_port(5000), s;
	uint8_t buf[4096];
	struct vsock_hdr h;
	(void)state;

	tx(VSOCK_OP_REQUEST, 1025, 5000, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RESPONSE, 5000, 1025);
	s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	tx(VSOCK_OP_RW, 1025, 5000, 0, 65536, 0, "hello", 5);
	host_read(s, buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(s, "world!", 6), 6);
	poll_device();
	assert_true(rx_next(&h, buf));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.src_port, 5000);
	assert_int_equal(h.dst_port, 1025);
	assert_int_equal(h.len, 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	assert_int_equal(h.fwd_cnt, 5); /* the 5 bytes reached the host */
	/* close() in the guest: both ways shut, the device answers with RST,
	 * the host program reads the end. */
	tx(VSOCK_OP_SHUTDOWN, 1025, 5000, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, 65536, 6, NULL, 0);
	expect_op(VSOCK_OP_RST, 5000, 1025);
	assert_true(host_at_eof(s));
	close(s);
	close(l);
}

static void test_guest_connect_without_listener_is_reset(void **state)
{
	(void)state;
	tx(VSOCK_OP_REQUEST, 1026, 4444, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RST, 4444, 1026);
	/* and data on a stream that does not exist gets a reset too */
	tx(VSOCK_OP_RW, 1027, 4444, 0, 65536, 0, "x", 1);
	expect_op(VSOCK_OP_RST, 4444, 1027);
	/* a reset is never answered */
	tx(VSOCK_OP_RST, 1027, 4444, 0, 65536, 0, NULL, 0);
	struct vsock_hdr h;
	assert_false(rx_next(&h, NULL));
}

static uint32_t host_opens(int *s, uint32_t guest_port)
{
	struct vsock_hdr h;
	char line[32];
	char want[32];

	*s = host_connect();
	char line0[32];
	int n0 = snprintf(line0, sizeof(line0), "CONNECT %u\n", guest_port);
	assert_int_equal(write(*s, line0, (size_t)n0), n0);
	poll_device();
	assert_true(rx_next(&h, NULL));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, guest_port);
	assert_true(h.src_port >= (1u << 30));
	tx(VSOCK_OP_RESPONSE, guest_port, h.src_port, 0, 65536, 0, NULL, 0);
	int n = snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	host_read(*s, line, (size_t)n);
	assert_memory_equal(line, want, (size_t)n);
	return h.src_port;
}

static void test_host_connects_to_the_guest(void **state)
{
	int s;
	uint8_t buf[64];
	struct vsock_hdr h;
	(void)state;

	uint32_t port = host_opens(&s, 1234);
	assert_int_equal(write(s, "ping", 4), 4);
	poll_device();
	assert_true(rx_next(&h, buf));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "ping", 4);
	tx(VSOCK_OP_RW, 1234, port, 0, 65536, 4, "pong", 4);
	host_read(s, buf, 4);
	assert_memory_equal(buf, "pong", 4);
	/* The host program closes: the guest hears it sends no more. */
	close(s);
	poll_device();
	expect_op(VSOCK_OP_SHUTDOWN, port, 1234);
	/* The guest writes anyway: the host socket is gone, so a reset. */
	tx(VSOCK_OP_RW, 1234, port, 0, 65536, 4, "late", 4);
	expect_op(VSOCK_OP_RST, port, 1234);
}

static void test_host_connect_refused_by_guest_closes_socket(void **state)
{
	int s = host_connect();
	struct vsock_hdr h;
	(void)state;

	assert_int_equal(write(s, "CONNECT 99\n", 11), 11);
	poll_device();
	assert_true(rx_next(&h, NULL));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	tx(VSOCK_OP_RST, 99, h.src_port, 0, 0, 0, NULL, 0);
	assert_true(host_at_eof(s));
	close(s);
}

/* The host program hangs up while the guest has not answered yet: the
 * guest, which heard the request, hears the reset; one that had not heard
 * it yet (no receive buffer) hears nothing at all. */
static void test_host_gives_up_while_connecting(void **state)
{
	int s = host_connect();
	struct vsock_hdr h;
	(void)state;

	assert_int_equal(write(s, "CONNECT 77\n", 11), 11);
	poll_device();
	assert_true(rx_next(&h, NULL));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	close(s);
	poll_device();
	expect_op(VSOCK_OP_RST, h.src_port, 77);
	/* the guest's late answer is to a stream that is gone: reset */
	tx(VSOCK_OP_RESPONSE, 77, h.src_port, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RST, h.src_port, 77);
}

/* A guest that shuts a stream down before it answered the request, or
 * sends data on it: a reset, and the host program sees the end. */
static void test_guest_shutdown_while_connecting(void **state)
{
	int s = host_connect();
	struct vsock_hdr h;
	(void)state;

	assert_int_equal(write(s, "CONNECT 78\n", 11), 11);
	poll_device();
	assert_true(rx_next(&h, NULL));
	tx(VSOCK_OP_SHUTDOWN, 78, h.src_port, VSOCK_SHUTDOWN_SEND, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RST, h.src_port, 78);
	assert_true(host_at_eof(s));
	close(s);
}

static void test_bad_connect_line_is_answered_and_closed(void **state)
{
	int s = host_connect();
	char buf[64];
	(void)state;

	assert_int_equal(write(s, "HELLO 12\n", 9), 9);
	poll_device();
	ssize_t n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "ERROR"));
	assert_true(host_at_eof(s));
	close(s);
	struct vsock_hdr h;
	assert_false(rx_next(&h, NULL)); /* the guest heard nothing */
}

static void test_credit_stalls_and_resumes(void **state)
{
	int s;
	static uint8_t data[20000], got[20000];
	uint32_t total = 0;
	struct vsock_hdr h;
	(void)state;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	uint32_t port = host_opens(&s, 2000);
	/* The guest gives 8 KiB of credit. */
	tx(VSOCK_OP_CREDIT_UPDATE, 2000, port, 0, 8192, 0, NULL, 0);
	assert_int_equal(write(s, data, sizeof(data)), (ssize_t)sizeof(data));
	poll_device();
	while (rx_next(&h, got + total)) {
		assert_int_equal(h.op, VSOCK_OP_RW);
		total += h.len;
	}
	assert_int_equal(total, 8192); /* not a byte past the credit */
	poll_device();
	assert_false(rx_next(&h, NULL));
	/* The guest read it all: more credit, more bytes. */
	rx_refill();
	tx(VSOCK_OP_CREDIT_UPDATE, 2000, port, 0, 8192, 8192, NULL, 0);
	while (rx_next(&h, got + total))
		total += h.len;
	assert_int_equal(total, 16384);
	rx_refill();
	tx(VSOCK_OP_CREDIT_UPDATE, 2000, port, 0, 65536, 16384, NULL, 0);
	while (rx_next(&h, got + total))
		total += h.len;
	assert_int_equal(total, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	close(s);
}

static void test_guest_waits_for_receive_buffers(void **state)
{
	int s;
	struct vsock_hdr h;
	uint8_t buf[4096];
	uint32_t total = 0;
	(void)state;

	uint32_t port = host_opens(&s, 2001);
	/* Use up every receive buffer with 4 KiB packets. */
	static uint8_t data[QSIZE * 4096 + 4096];
	memset(data, 'z', sizeof(data));
	tx(VSOCK_OP_CREDIT_UPDATE, 2001, port, 0, 1u << 20, 0, NULL, 0);
	size_t written = 0;
	for (int i = 0; i < 200 && written < sizeof(data); i++) {
		ssize_t w = send(s, data + written, sizeof(data) - written, MSG_DONTWAIT);
		if (w > 0)
			written += (size_t)w;
		poll_device();
	}
	unsigned packets = 0;
	while (rx_next(&h, buf)) {
		total += h.len;
		packets++;
	}
	assert_int_equal(packets, QSIZE - 1); /* every buffer (the request took one), and then it waits */
	assert_true(total < sizeof(data));
	for (int i = 0; i < 10; i++)
		poll_device();
	assert_false(rx_next(&h, buf));
	for (int round = 0; round < 10 && total < sizeof(data); round++) {
		rx_refill();
		for (int i = 0; i < 10 && written < sizeof(data); i++) {
			ssize_t w = send(s, data + written, sizeof(data) - written, MSG_DONTWAIT);
			if (w > 0)
				written += (size_t)w;
			poll_device();
		}
		poll_device();
		while (rx_next(&h, buf))
			total += h.len;
	}
	assert_int_equal(written, sizeof(data));
	assert_int_equal(total, sizeof(data));
	close(s);
}

static void test_slow_host_reader_loses_nothing_and_credit_returns(void **state)
{
	int l = listen_port(6000), s;
	static uint8_t chunk[65536], got[65536];
	struct vsock_hdr h;
	uint32_t sent = 0, credit_seen = 0;
	(void)state;

	tx(VSOCK_OP_REQUEST, 1100, 6000, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RESPONSE, 6000, 1100);
	s = accept(l, NULL, NULL);
	/* The guest sends its whole credit while the host reads nothing. */
	for (unsigned k = 0; k < VSOCK_BUF_ALLOC / sizeof(chunk); k++) {
		memset(chunk, 'a' + (int)k, sizeof(chunk));
		tx(VSOCK_OP_RW, 1100, 6000, 0, 65536, 0, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	while (rx_next(&h, NULL)) /* no reset: the guest stayed inside its credit */
		assert_int_not_equal(h.op, VSOCK_OP_RST);
	/* The host reads it all, exact and in order. */
	for (unsigned k = 0; k < VSOCK_BUF_ALLOC / sizeof(chunk); k++) {
		host_read(s, got, sizeof(got));
		memset(chunk, 'a' + (int)k, sizeof(chunk));
		assert_memory_equal(got, chunk, sizeof(got));
	}
	poll_device();
	/* The guest heard that the room is back. */
	while (rx_next(&h, NULL))
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			credit_seen = h.fwd_cnt;
	assert_int_equal(credit_seen, sent);
	close(s);
	close(l);
}

static void test_guest_past_its_credit_is_reset(void **state)
{
	int l = listen_port(6001), s;
	static uint8_t chunk[65536];
	struct vsock_hdr h;
	bool reset = false;
	(void)state;

	tx(VSOCK_OP_REQUEST, 1101, 6001, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RESPONSE, 6001, 1101);
	s = accept(l, NULL, NULL);
	/* The host never reads; the guest sends far past 256 KiB. */
	for (unsigned k = 0; k < 40 && !reset; k++) {
		tx(VSOCK_OP_RW, 1101, 6001, 0, 65536, 0, chunk, sizeof(chunk));
		while (rx_next(&h, NULL))
			reset |= h.op == VSOCK_OP_RST;
	}
	assert_true(reset);
	close(s);
	close(l);
}

static void test_half_close_from_the_guest(void **state)
{
	int l = listen_port(6002), s;
	char buf[8];
	(void)state;

	tx(VSOCK_OP_REQUEST, 1102, 6002, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RESPONSE, 6002, 1102);
	s = accept(l, NULL, NULL);
	tx(VSOCK_OP_RW, 1102, 6002, 0, 65536, 0, "abc", 3);
	tx(VSOCK_OP_SHUTDOWN, 1102, 6002, VSOCK_SHUTDOWN_SEND, 65536, 0, NULL, 0);
	host_read(s, buf, 3);
	assert_true(host_at_eof(s)); /* the guest's end of file */
	/* The other way still flows. */
	assert_int_equal(write(s, "back", 4), 4);
	poll_device();
	struct vsock_hdr h;
	uint8_t p[8];
	assert_true(rx_next(&h, p));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_memory_equal(p, "back", 4);
	close(s);
	close(l);
}

static void test_malformed_packets(void **state)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = 1, .dst_port = 2,
			       .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_REQUEST };
	(void)state;

	/* Another source CID: dropped, no answer. */
	tx(VSOCK_OP_REQUEST, 1, 2, 0, 0, 0, NULL, 0);
	expect_op(VSOCK_OP_RST, 2, 1); /* (no listener) */
	h.src_cid = 7;
	vsock_hdr_encode(&h, raw);
	tx_raw(raw, sizeof(raw), NULL, 0);
	struct vsock_hdr got;
	assert_false(rx_next(&got, NULL));
	/* Seqpacket (not offered): reset. */
	h.src_cid = CID;
	h.type = 2;
	vsock_hdr_encode(&h, raw);
	tx_raw(raw, sizeof(raw), NULL, 0);
	expect_op(VSOCK_OP_RST, 2, 1);
	assert_int_equal(virtio_mmio_status(virtio_mmio_of(dev)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	/* A length past the buffers: the device needs a reset. */
	h.type = VSOCK_TYPE_STREAM;
	h.op = VSOCK_OP_RW;
	h.len = 100;
	vsock_hdr_encode(&h, raw);
	tx_raw(raw, sizeof(raw), "short", 5);
	assert_int_not_equal(virtio_mmio_status(virtio_mmio_of(dev)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void test_short_header_needs_reset(void **state)
{
	uint8_t raw[VSOCK_HDR_SIZE] = { 0 };
	(void)state;
	tx_raw(raw, 20, NULL, 0);
	assert_int_not_equal(virtio_mmio_status(virtio_mmio_of(dev)) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void test_device_reset_ends_every_stream(void **state)
{
	int l = listen_port(6003), s, h2;
	(void)state;

	tx(VSOCK_OP_REQUEST, 1103, 6003, 0, 65536, 0, NULL, 0);
	expect_op(VSOCK_OP_RESPONSE, 6003, 1103);
	s = accept(l, NULL, NULL);
	host_opens(&h2, 1234);
	fd_reg_write(&bus, BASE, 0x070, 0); /* the driver resets the device */
	for (int i = 0; i < 3; i++)
		virtio_vsock_poll(dev, 0);
	assert_true(host_at_eof(s));
	assert_true(host_at_eof(h2));
	close(s);
	close(h2);
	close(l);
}

static void test_connection_table_is_bounded(void **state)
{
	int l = listen_port(7000);
	struct vsock_hdr h;
	unsigned responses = 0, resets = 0;
	(void)state;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS + 8; i++) {
		tx(VSOCK_OP_REQUEST, 2000 + i, 7000, 0, 65536, 0, NULL, 0);
		while (rx_next(&h, NULL)) {
			responses += h.op == VSOCK_OP_RESPONSE;
			resets += h.op == VSOCK_OP_RST;
		}
		rx_refill();
		for (int a; (a = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
			(void)a; /* kept open: the streams stay up */
	}
	assert_int_equal(responses, VSOCK_MAX_CONNS);
	assert_int_equal(resets, 8);
	close(l);
}

static void test_packet_check(void **state)
{
	const char *why = NULL;
	struct vsock_hdr h = { .src_cid = 3, .dst_cid = 2, .type = 1, .op = VSOCK_OP_RW, .len = 10 };
	(void)state;
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE + 10, 3, &why), VSOCK_ACCEPT);
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE + 9, 3, &why), VSOCK_MALFORMED);
	assert_int_equal(vsock_packet_check(&h, 10, 3, &why), VSOCK_MALFORMED);
	h.len = 70000;
	assert_int_equal(vsock_packet_check(&h, 80000, 3, &why), VSOCK_MALFORMED);
	h.len = 0;
	h.dst_cid = 5;
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE, 3, &why), VSOCK_DROP);
	h.dst_cid = 2;
	h.op = 99;
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE, 3, &why), VSOCK_REFUSE);
	h.op = VSOCK_OP_SHUTDOWN;
	h.flags = 4;
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE, 3, &why), VSOCK_REFUSE);
	h.op = VSOCK_OP_REQUEST;
	h.len = 3;
	h.flags = 0;
	assert_int_equal(vsock_packet_check(&h, VSOCK_HDR_SIZE + 3, 3, &why), VSOCK_REFUSE);
	assert_false(vsock_cid_valid(2));
	assert_true(vsock_cid_valid(3));
	assert_false(vsock_cid_valid(0xffffffffULL));
}

static void test_bad_cid_and_long_path_refused(void **state)
{
	struct virtio_mmio_env env = { .vm_fd = -1, .mem = &rxq.mem };
	struct error err = { 0 };
	char longpath[200];
	(void)state;
	assert_null(virtio_vsock_create(BASE + 0x200, 4, &env, 2, path, &err));
	ASSERT_ERR_CONTAINS(&err, "CID 2");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	longpath[0] = '/';
	struct error err2 = { 0 };
	assert_null(virtio_vsock_create(BASE + 0x200, 4, &env, 3, longpath, &err2));
	ASSERT_ERR_CONTAINS(&err2, "too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space_has_the_cid_and_the_socket_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_connects_to_a_host_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_connect_without_listener_is_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_connects_to_the_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_connect_refused_by_guest_closes_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_connect_line_is_answered_and_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_gives_up_while_connecting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_shutdown_while_connecting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_stalls_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_waits_for_receive_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_host_reader_loses_nothing_and_credit_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_past_its_credit_is_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close_from_the_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_header_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_reset_ends_every_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_table_is_bounded, setup, teardown),
		cmocka_unit_test(test_packet_check),
		cmocka_unit_test_setup_teardown(test_bad_cid_and_long_path_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
