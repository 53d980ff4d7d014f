/* The sandbox's stdio channel through the transport, as the guest's init
 * uses it: frames split anywhere across descriptors and chains reach
 * stdout and stderr apart and exact, the exit frame gives the status, and
 * stdin bytes and its end go to the guest as frames, only after the init
 * said it is ready. */
#include "harness.h"

#include <fcntl.h>
#include <unistd.h>

#include "fake_driver.h"
#include "../../devices/virtio_stdio.h"
#include "../../guest/stdio_proto.h"
#include "../../vmm/console.h"
#include "../../vmm/mmio_bus.h"

#define BASE 0x0a000000ULL

static uint8_t *ram;
static struct fake_driver rxq, txq;
static struct mmio_bus bus;
static struct virtio_mmio *t;
static struct device *stdio_dev;
static int serving_calls;
static void on_serving_cb(void *opaque) { (void)opaque; serving_calls++; }
static struct console con;
static int out_p[2], err_p[2], exit_status;

static void on_exit_cb(void *opaque, int status) { (void)opaque; exit_status = status; }

static int setup(void **state)
{
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	struct device *dev;

	(void)state;
	exit_status = -1;
	if (pipe2(out_p, O_NONBLOCK) < 0 || pipe2(err_p, O_NONBLOCK) < 0 || console_init(&con, -1, -1, &err) < 0)
		return -1;
	if (!ram)
		ram = malloc(FD_RAM_SIZE);
	memset(ram, 0, FD_RAM_SIZE);
	fd_init_at(&rxq, ram, 0x00000, 0x100000, 16);
	fd_init_at(&txq, ram, 0x10000, 0x300000, 16);
	env.mem = &rxq.mem;
	mmio_bus_init(&bus);
	dev = virtio_stdio_create(BASE, 3, &env, &con, out_p[1], err_p[1], on_exit_cb, NULL, &err);
	if (!dev || mmio_bus_add(&bus, dev, &err) < 0)
		return -1;
	t = virtio_mmio_of(dev);
	stdio_dev = dev;
	serving_calls = 0;
	struct fake_driver qs[2] = { rxq, txq };
	return fd_bring_up(&bus, BASE, qs, 2, 0) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mmio_bus_destroy(&bus);
	console_destroy(&con);
	close(out_p[0]);
	close(out_p[1]);
	close(err_p[0]);
	close(err_p[1]);
	return 0;
}

static void frame(uint8_t *p, uint8_t type, const char *data, size_t len)
{
	p[0] = type;
	p[1] = 0;
	le16_store(p + 2, (uint16_t)len);
	memcpy(p + 4, data, len);
}

static size_t drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_frames_to_stdout_stderr_and_status(void **state)
{
	uint8_t all[64];
	char buf[64];
	size_t n = 0;
	(void)state;
	frame(all + n, STDIO_READY, "", 0);
	n += 4;
	frame(all + n, STDIO_STDOUT, "hello\n\0x", 8); /* binary: a NUL passes */
	n += 12;
	frame(all + n, STDIO_STDERR, "oops", 4);
	n += 8;
	frame(all + n, STDIO_EXIT, "\x2a", 1);
	n += 5;
	/* split at awkward places: inside a header, inside data, across chains */
	struct fd_buf a[2] = { { 2, 0, all }, { 9, 0, all + 2 } };
	struct fd_buf b[3] = { { 1, 0, all + 11 }, { 6, 0, all + 12 }, { (uint32_t)(n - 18), 0, all + 18 } };
	fd_add_chain(&txq, a, 2, NULL);
	fd_add_chain(&txq, b, 3, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(fd_used_idx(&txq), 2);
	assert_int_equal(drain(out_p[0], buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "hello\n\0x", 8);
	assert_int_equal(drain(err_p[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "oops");
	assert_int_equal(exit_status, 42);
}

static void test_stdin_waits_for_ready_then_goes_framed(void **state)
{
	uint64_t gpa[2];
	uint8_t ready[4];
	(void)state;
	struct fd_buf rx = { 64, 1, NULL };
	fd_add_chain(&rxq, &rx, 1, &gpa[0]);
	virtio_mmio_process_all(t);
	/* before the init is up, nothing is taken */
	assert_int_equal(con.sink(con.sink_opaque, (const uint8_t *)"abc", 3), 0);
	con.on_eof(con.sink_opaque);
	assert_int_equal(fd_used_idx(&rxq), 0);
	frame(ready, STDIO_READY, "", 0);
	struct fd_buf tx = { 4, 0, ready };
	fd_add_chain(&txq, &tx, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(con.sink(con.sink_opaque, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(fd_used_idx(&rxq), 1);
	assert_int_equal(fd_used_len(&rxq, 0), 7);
	assert_memory_equal(fd_host(&rxq, gpa[0]), "\x10\x00\x03\x00" "abc", 7);
	/* the end of stdin goes once there is a buffer for it */
	fd_add_chain(&rxq, &rx, 1, &gpa[1]);
	virtio_mmio_process_all(t);
	assert_int_equal(fd_used_idx(&rxq), 2);
	assert_memory_equal(fd_host(&rxq, gpa[1]), "\x11\x00\x00\x00", 4);
}

/* An EXIT frame before READY, or one that is not one byte, is no status:
 * the guest broke the protocol (saevm ends with 125 and says so). */
static void test_exit_before_ready_is_a_protocol_error(void **state)
{
	uint8_t bad[8];
	(void)state;
	frame(bad, STDIO_EXIT, "\x00", 1);
	struct fd_buf tx = { 5, 0, bad };
	fd_add_chain(&txq, &tx, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(exit_status, STDIO_EXIT_PROTOCOL_ERROR);
	/* after READY, a two-byte status is malformed too */
	exit_status = 0;
	uint8_t seq[4 + 6];
	frame(seq, STDIO_READY, "", 0);
	frame(seq + 4, STDIO_EXIT, "\x01\x01", 2);
	struct fd_buf tx2 = { 10, 0, seq };
	fd_add_chain(&txq, &tx2, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(exit_status, STDIO_EXIT_PROTOCOL_ERROR);
}

/* A sandbox that stays up: SERVING after READY tells saevm once; before
 * READY it is ignored, as any frame that runs ahead of the init's start. */
static void test_serving_is_told_once_after_ready(void **state)
{
	uint8_t f[4 * 4];
	(void)state;
	virtio_stdio_on_serving(stdio_dev, on_serving_cb, NULL);
	frame(f, STDIO_SERVING, "", 0);
	struct fd_buf early = { 4, 0, f };
	fd_add_chain(&txq, &early, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(serving_calls, 0);
	frame(f, STDIO_READY, "", 0);
	frame(f + 4, STDIO_SERVING, "", 0);
	frame(f + 8, STDIO_SERVING, "", 0);
	struct fd_buf late = { 12, 0, f };
	fd_add_chain(&txq, &late, 1, NULL);
	virtio_mmio_process_all(t);
	assert_int_equal(serving_calls, 1);
	assert_int_equal(exit_status, -1); /* not an exit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_to_stdout_stderr_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_waits_for_ready_then_goes_framed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_before_ready_is_a_protocol_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serving_is_told_once_after_ready, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
