/* The seccomp filter, in a forked child: every call saevm must not make
 * after setup ends the child with exit code 88 and a line naming the call;
 * what a running VM does (threads, RW memory, thread names, terminal
 * ioctls) still works. Only where the test runs on its own build's
 * kernel: under qemu-user the filter would meet the emulator's system
 * calls, not ours (the rig checks the arm64 build on a real arm64 kernel). */
#include "harness.h"

#include <sys/syscall.h>

#include <sys/stat.h>

#include <errno.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../vmm/confine.h"

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/* (ThreadSanitizer's runtime makes calls of its own that the filter
 * refuses, inside its signal handling: the filter is checked elsewhere.) */
#define FILTER_TESTABLE 1
#else
#define FILTER_TESTABLE 0
#endif

/* Runs fn in a child under the filter; returns its exit status and what
 * it wrote to stderr. */
static int in_child(int (*fn)(const char *), const char *arg, char *out, size_t out_size)
{
	int pipefd[2], status = -1;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct confine_needs needs = { .sockets = false };
		struct error err = { 0 };
		dup2(pipefd[1], STDERR_FILENO);
		if (confine_enter(&needs, true, &err) < 0) {
			fprintf(stderr, "enter: %s\n", err.msg);
			_exit(99);
		}
		_exit(fn(arg));
	}
	close(pipefd[1]);
	n = read(pipefd[0], out, out_size - 1);
	out[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int try_denied(const char *which)
{
	struct error err = { 0 };
	confine_try_denied(which, &err);
	fprintf(stderr, "not refused: %s\n", err.msg);
	return 1;
}

static void *thread_fn(void *arg)
{
	prctl(PR_SET_NAME, "worker", 0, 0, 0);
	return arg;
}

static int allowed_work(const char *unused)
{
	pthread_t th;
	struct termios tio;
	void *p;

	(void)unused;
	if (pthread_create(&th, NULL, thread_fn, NULL) != 0 || pthread_join(th, NULL) != 0)
		return 2;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) != 0)
		return 3;
	tcgetattr(STDIN_FILENO, &tio); /* ENOTTY is fine: the call was allowed */
	return 0;
}

static void test_denied_calls_end_saevm(void **state)
{
	static const struct { const char *which, *name; } cases[] = {
		{ "tiocsti", "(ioctl)" }, { "tioclinux", "(ioctl)" }, { "ioctl", "(ioctl)" },
		{ "mmap-exec", "(mmap)" }, { "mprotect-exec", "(mprotect)" }, { "fork", "(clone)" },
		{ "prctl", "(prctl)" }, { "execve", "(execve)" },
	};
	char out[512];

	(void)state;
	if (!FILTER_TESTABLE)
		skip();
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = in_child(try_denied, cases[i].which, out, sizeof(out));
		if (rc != EXIT_SECCOMP || !strstr(out, cases[i].name) || !strstr(out, "refused system call"))
			fail_msg("%s: exit %d, stderr '%s'", cases[i].which, rc, out);
	}
}

static void test_what_a_vm_does_is_allowed(void **state)
{
	char out[512];

	(void)state;
	if (!FILTER_TESTABLE)
		skip();
	assert_int_equal(in_child(allowed_work, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* Landlock: after confine_enter with one read-write share, saevm can make
 * and read files beneath it and reach nothing else of the host's file
 * system, even as root (no seccomp here: the file calls are allowed). */
static int landlocked(const char *share)
{
	struct confine_needs needs = { .file_server = true, .nshares = 1 };
	struct error err = { 0 };
	char p[300];
	int fd;

	needs.share_fds[0] = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (needs.share_fds[0] < 0 || confine_enter(&needs, false, &err) < 0)
		return 2;
	snprintf(p, sizeof(p), "%s/made-inside", share);
	if ((fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) < 0)
		return 3;
	close(fd);
	/* the share layer reopens and chmods by /proc/self/fd/N: allowed,
	 * since the object lies beneath the share */
	char proc[64];
	int pathfd = open(p, O_PATH | O_CLOEXEC);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	if (pathfd < 0 || (fd = open(proc, O_RDWR | O_CLOEXEC)) < 0)
		return 6;
	close(fd);
	if (chmod(proc, 0600) < 0)
		return 7;
	if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 4;
	/* an O_PATH descriptor from before is no way out either */
	int etc = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (etc >= 0 && openat(etc, "passwd", O_RDONLY | O_CLOEXEC) >= 0)
		return 8;
	snprintf(p, sizeof(p), "%s/../escaped", share);
	if (open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644) >= 0)
		return 5;
	return 0;
}

static void test_landlock_keeps_to_the_shares(void **state)
{
	char dir[] = "/tmp/saevm-ll-XXXXXX", sub[64], p[128];
	int status;
	pid_t pid;

	(void)state;
	if (syscall(444 /* landlock_create_ruleset */, NULL, 0, 1 /* VERSION */) < 2)
		skip(); /* no Landlock (qemu-user, an old kernel): saevm says so and goes on */
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/share", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(landlocked(sub));
	waitpid(pid, &status, 0);
	snprintf(p, sizeof(p), "%s/escaped", dir);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/made-inside", sub);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
	assert_int_equal(WIFEXITED(status) ? WEXITSTATUS(status) : 99, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_denied_calls_end_saevm),
		cmocka_unit_test(test_what_a_vm_does_is_allowed),
		cmocka_unit_test(test_landlock_keeps_to_the_shares),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
