/* The console's output path: a guest prints a byte per exit, and the
 * console must neither wake its thread (a system call on the vCPU) for
 * each byte nor leave a byte waiting after a pause. The output goes to a
 * SOCK_SEQPACKET socket, so each write(2) the console makes is a packet. */
#include "harness.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/console.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void spin_us(double us)
{
	double until = now_ms() + us / 1e3;
	while (now_ms() < until)
		;
}

/* Takes what has arrived, a packet per write the console made. */
static void receive(int fd, uint8_t *buf, size_t size, size_t *got, int *packets)
{
	for (;;) {
		ssize_t r = recv(fd, buf + *got, size - *got, MSG_DONTWAIT);
		if (r <= 0)
			return;
		*got += (size_t)r;
		(*packets)++;
	}
}

static void start(struct console *con, int sv[2])
{
	struct error err = { 0 };

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(console_init(con, -1, sv[0], &err), 0);
	assert_int_equal(console_start(con, &err), 0);
}

/* A byte every 50 us, as a kernel's boot log comes: the bytes gather and
 * go out in a few writes, at most about two per CONSOLE_BATCH_MS (one at
 * the kick that wakes the thread, one when it comes back), all in order. */
static void test_output_is_written_in_batches(void **state)
{
	enum { N = 400 };
	struct console con;
	int sv[2], packets = 0;
	size_t got = 0;
	uint8_t buf[N + 1];
	double t0, elapsed;

	(void)state;
	start(&con, sv);
	t0 = now_ms();
	for (int i = 0; i < N; i++) {
		uint8_t b = (uint8_t)('a' + i % 26);
		console_write(&con, &b, 1);
		spin_us(50);
		/* read as we go: a write per byte would fill the socket */
		receive(sv[1], buf, sizeof(buf), &got, &packets);
	}
	elapsed = now_ms() - t0;
	console_stop(&con);
	receive(sv[1], buf, sizeof(buf), &got, &packets);
	assert_int_equal(got, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(buf[i], 'a' + i % 26);
	if (packets > 2 * (int)(elapsed / CONSOLE_BATCH_MS + 1) + 2)
		fail_msg("%d writes for %d bytes in %.1f ms", packets, N, elapsed);
	console_destroy(&con);
	close(sv[0]);
	close(sv[1]);
}

/* After a pause the thread sleeps; the next byte must wake it, not wait
 * for more output (a shell's echo of one key). */
static void test_byte_after_a_pause_goes_out(void **state)
{
	struct console con;
	int sv[2];

	(void)state;
	start(&con, sv);
	for (int i = 0; i < 40; i++) {
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		uint8_t b = (uint8_t)i, r;

		console_write(&con, &b, 1);
		if (poll(&p, 1, 5000) != 1)
			fail_msg("byte %d was not written within 5 s", i);
		assert_int_equal(recv(sv[1], &r, 1, 0), 1);
		assert_int_equal(r, b);
		usleep((useconds_t)(CONSOLE_BATCH_MS * 1000 * (1 + i % 3)));
	}
	console_stop(&con);
	console_destroy(&con);
	close(sv[0]);
	close(sv[1]);
}

/* saevm's last words (a stop message on stderr) come after everything the
 * guest printed: console_flush writes the ring out now, not at the next
 * batch, and in order with the thread's own writes. */
static void test_flush_writes_everything_now(void **state)
{
	struct console con;
	int sv[2], packets = 0;
	uint8_t buf[300];
	size_t got = 0;

	(void)state;
	start(&con, sv);
	for (int i = 0; i < 200; i++) {
		uint8_t b = (uint8_t)i;
		console_write(&con, &b, 1);
	}
	console_flush(&con);
	receive(sv[1], buf, sizeof(buf), &got, &packets);
	assert_int_equal(got, 200);
	for (int i = 0; i < 200; i++)
		assert_int_equal(buf[i], (uint8_t)i);
	console_stop(&con);
	console_destroy(&con);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_is_written_in_batches),
		cmocka_unit_test(test_byte_after_a_pause_goes_out),
		cmocka_unit_test(test_flush_writes_everything_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
