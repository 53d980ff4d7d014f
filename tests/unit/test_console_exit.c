/* --exit-on-console: the status a guest prints after a pattern, found in
 * output that arrives in any pieces. */
#include "harness.h"

#include "../../vmm/console.h"
#include "../../vmm/console_exit.h"

static bool feed(struct console_exit *w, const char *text, int *status)
{
	return console_exit_feed(w, (const uint8_t *)text, strlen(text), status);
}

static void test_pattern_and_number_in_pieces(void **state)
{
	struct console_exit w;
	struct error err = { 0 };
	int status = -1;

	(void)state;
	assert_int_equal(console_exit_init(&w, "RESULT=", &err), 0);
	assert_false(feed(&w, "booting... RESU", &status));
	assert_false(feed(&w, "LT", &status));
	assert_false(feed(&w, "=4", &status));
	assert_false(feed(&w, "2", &status));    /* more digits may follow */
	assert_true(feed(&w, "\r\nbye", &status));
	assert_int_equal(status, 42);
	assert_false(feed(&w, "RESULT=7\n", &status)); /* once only */
}

static void test_no_number_is_no_status(void **state)
{
	struct console_exit w;
	struct error err = { 0 };
	int status = -1;

	(void)state;
	assert_int_equal(console_exit_init(&w, "RC=", &err), 0);
	assert_false(feed(&w, "RC=none\nRCRC=", &status));
	assert_true(feed(&w, "300 ", &status));
	assert_int_equal(status, 300 & 0xff); /* modulo 256, as $? */
}

/* kvm-unit-tests prints STATUS=(code << 1) | 1; its runner exits code. */
static void test_kvm_unit_tests_preset(void **state)
{
	struct console_exit w;
	struct error err = { 0 };
	int status = -1;

	(void)state;
	assert_int_equal(console_exit_init(&w, "kvm-unit-tests", &err), 0);
	assert_true(feed(&w, "SUMMARY: 4 tests, 1 unexpected failures\n\nEXIT: STATUS=3\n", &status));
	assert_int_equal(status, 1);
	assert_int_equal(console_exit_init(&w, "kvm-unit-tests", &err), 0);
	assert_true(feed(&w, "EXIT: STATUS=155\n", &status));
	assert_int_equal(status, 77); /* SKIP */
	assert_int_equal(console_exit_init(&w, "kvm-unit-tests", &err), 0);
	assert_true(feed(&w, "EXIT: STATUS=1\n", &status));
	assert_int_equal(status, 0);
}

static void test_bad_patterns(void **state)
{
	struct console_exit w;
	struct error err = { 0 };
	char long_one[80];

	(void)state;
	assert_int_equal(console_exit_init(&w, "", &err), -1);
	assert_int_equal(err.code, EXIT_USAGE);
	memset(long_one, 'x', sizeof(long_one) - 1);
	long_one[sizeof(long_one) - 1] = '\0';
	struct error err2 = { 0 }, err3 = { 0 };
	assert_int_equal(console_exit_init(&w, long_one, &err2), -1);
	ASSERT_ERR_CONTAINS(&err2, "1 to 64 characters");
	assert_int_equal(console_exit_init(&w, "a\tb", &err3), -1);
	ASSERT_ERR_CONTAINS(&err3, "control character");
}

static int said = -1, calls;
static void on_status(void *opaque, int status)
{
	(void)opaque;
	said = status;
	calls++;
}

/* The console feeds the watch with everything the guest writes, and calls
 * back once, outside its lock (the callback stops the VM). */
static void test_console_calls_back_once(void **state)
{
	struct console con;
	struct console_exit w;
	struct error err = { 0 };

	(void)state;
	assert_int_equal(console_init(&con, -1, -1, &err), 0);
	assert_int_equal(console_exit_init(&w, "kvm-unit-tests", &err), 0);
	console_watch_exit(&con, &w, on_status, NULL);
	console_write(&con, (const uint8_t *)"PASS: x\nEXIT: STATUS=", 21);
	assert_int_equal(calls, 0);
	console_write(&con, (const uint8_t *)"5\n", 2);
	assert_int_equal(calls, 1);
	assert_int_equal(said, 2);
	console_write(&con, (const uint8_t *)"EXIT: STATUS=9\n", 15);
	assert_int_equal(calls, 1);
	console_destroy(&con);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_and_number_in_pieces),
		cmocka_unit_test(test_no_number_is_no_status),
		cmocka_unit_test(test_kvm_unit_tests_preset),
		cmocka_unit_test(test_bad_patterns),
		cmocka_unit_test(test_console_calls_back_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
