/* The control socket's guards: a client that sends its line slowly is cut
 * off within the limit (it must not hold saevm's main loop), and the
 * control directory is used only when it is the user's own, private,
 * real directory. */
#include "harness.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/control.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One byte every 100 ms for 3 s, never a newline: the old reader waited up
 * to 1 s per byte and so as long as the client went on. */
static void test_slow_client_is_cut_off(void **state)
{
	int sv[2];
	char buf[64];
	double t0, took;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		for (int i = 0; i < 30; i++) {
			if (write(sv[1], "s", 1) != 1)
				break;
			usleep(100000);
		}
		_exit(0);
	}
	close(sv[1]);
	t0 = now_s();
	control_read_line(sv[0], buf, sizeof(buf), CONTROL_CLIENT_MS);
	took = now_s() - t0;
	close(sv[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (took > 0.2 + 0.3)
		fail_msg("a dribbling client held the reader %.2f s (limit %d ms)", took, CONTROL_CLIENT_MS);
}

static void test_whole_line_is_read(void **state)
{
	int sv[2];
	char buf[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "stop\n", 5), 5);
	assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), CONTROL_CLIENT_MS), 0);
	assert_string_equal(buf, "stop");
	close(sv[0]);
	close(sv[1]);
}

static void test_directory_must_be_private_and_real(void **state)
{
	char base[] = "/tmp/saevm-test-XXXXXX", path[128];
	struct error err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/saevm", base);
	setenv("XDG_RUNTIME_DIR", base, 1);

	assert_int_equal(control_dir(path, sizeof(path), &err), 0); /* made 0700 */
	assert_int_equal(control_dir_check(path, &err), 0);

	chmod(path, 0755);
	memset(&err, 0, sizeof(err));
	assert_int_equal(control_dir(path, sizeof(path), &err), -1);
	assert_int_equal(err.code, EXIT_NOT_OWNER);
	ASSERT_ERR_CONTAINS(&err, "open to other users");

	rmdir(path);
	assert_int_equal(symlink("/tmp", path), 0); /* a link to someone's directory */
	memset(&err, 0, sizeof(err));
	assert_int_equal(control_dir(path, sizeof(path), &err), -1);
	assert_int_equal(err.code, EXIT_NOT_OWNER);
	ASSERT_ERR_CONTAINS(&err, "is not a directory");
	unlink(path);
	rmdir(base);
	unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_client_is_cut_off),
		cmocka_unit_test(test_whole_line_is_read),
		cmocka_unit_test(test_directory_must_be_private_and_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
