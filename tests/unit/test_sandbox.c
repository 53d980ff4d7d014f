/* The sandbox's pure pieces: the kernel release from an Image's banner,
 * module dependencies from modules.dep (dependencies first, each once),
 * the newc initramfs as the kernel reads it, and the CLI's sandbox words
 * (the command after -- or from the first bare word). */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "../../boot/cpio.h"
#include "../../vmm/cli.h"
#include "../../vmm/sandbox.h"

static void test_kernel_release(void **state)
{
	static const char image[] = "\x4d\x5a junk Linux version 6.1.0-27-arm64 (debian-kernel@lists) #1 SMP";
	char rel[64];
	(void)state;
	assert_true(sandbox_kernel_release(image, sizeof(image), rel, sizeof(rel)));
	assert_string_equal(rel, "6.1.0-27-arm64");
	assert_false(sandbox_kernel_release("no banner here", 14, rel, sizeof(rel)));
}

static void test_modules_dependencies_first(void **state)
{
	const char *dep = "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n"
			  "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko\n"
			  "kernel/net/9p/9pnet.ko:\n"
			  "kernel/fs/netfs/netfs.ko:\n"
			  "kernel/drivers/char/hw_random/virtio-rng.ko:\n";
	char *list[8];
	unsigned n = 0;
	(void)state;
	assert_int_equal(sandbox_resolve_module(dep, "9pnet_virtio", list, &n, 8), 0);
	assert_int_equal(sandbox_resolve_module(dep, "9p", list, &n, 8), 0);
	assert_int_equal(sandbox_resolve_module(dep, "virtio_rng", list, &n, 8), 0); /* - and _ alike */
	assert_int_equal(sandbox_resolve_module(dep, "virtio_mmio", list, &n, 8), 1);
	assert_int_equal(n, 5);
	assert_string_equal(list[0], "kernel/net/9p/9pnet.ko");
	assert_string_equal(list[1], "kernel/net/9p/9pnet_virtio.ko");
	assert_string_equal(list[2], "kernel/fs/netfs/netfs.ko");
	assert_string_equal(list[3], "kernel/fs/9p/9p.ko");
	assert_string_equal(list[4], "kernel/drivers/char/hw_random/virtio-rng.ko");
	for (unsigned i = 0; i < n; i++)
		free(list[i]);
	/* a 9p.ko must not match 9pnet.ko's name */
	n = 0;
	assert_int_equal(sandbox_resolve_module("kernel/net/9p/9pnet.ko:\n", "9p", list, &n, 8), 1);
}

/* Reads back what cpio wrote, as the kernel's unpacker does. */
static void test_cpio_newc(void **state)
{
	struct error err = { 0 };
	struct cpio c;
	char buf[4096];
	(void)state;
	assert_int_equal(cpio_begin(&c, &err), 0);
	cpio_add_dir(&c, "dev", 0755);
	cpio_add_char_dev(&c, "dev/console", 0600, 5, 1);
	cpio_add_file(&c, "init", 0755, "hello", 5);
	int fd = cpio_end(&c, &err);
	assert_true(fd >= 0);
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	assert_int_equal(n % 4, 0);
	size_t off = 0;
	const char *names[] = { "dev", "dev/console", "init", "TRAILER!!!" };
	for (unsigned i = 0; i < 4; i++) {
		char field[9] = { 0 };
		unsigned long v[13];
		assert_memory_equal(buf + off, "070701", 6);
		for (int k = 0; k < 13; k++) {
			memcpy(field, buf + off + 6 + 8 * k, 8);
			v[k] = strtoul(field, NULL, 16);
		}
		assert_string_equal(buf + off + 110, names[i]);
		assert_int_equal(v[11], strlen(names[i]) + 1); /* namesize */
		if (i == 1) {
			assert_int_equal(v[1], S_IFCHR | 0600);
			assert_int_equal(v[9], 5);
			assert_int_equal(v[10], 1);
		}
		off += (110 + v[11] + 3) & ~3ul;
		if (i == 2) {
			assert_int_equal(v[1], S_IFREG | 0755);
			assert_int_equal(v[6], 5);
			assert_memory_equal(buf + off, "hello", 5);
		}
		off += (v[6] + 3) & ~3ul;
	}
	assert_int_equal(off, (size_t)n);
}

static void test_cli_sandbox_words(void **state)
{
	struct vm_config cfg;
	struct error err = { 0 };
	char *a[] = { "saevm", "sandbox", "-m", "512", "--share", "/srv=/data,ro", "--", "sh", "-c", "exit 3", NULL };
	char *b[] = { "saevm", "sandbox", "make", "-j2", NULL };
	char *c[] = { "saevm", "sandbox", NULL };
	char *d[] = { "saevm", "run", "-k", "Image", "--rootfs", "/r", NULL };
	char *e[] = { "saevm", "sandbox", "--share", "/srv,bogus", NULL };
	(void)state;
	assert_int_equal(cli_parse(10, a, &cfg, &err), 0);
	assert_int_equal(cfg.action, ACTION_SANDBOX);
	assert_int_equal(cfg.command_argc, 3);
	assert_string_equal(cfg.command[2], "exit 3");
	assert_int_equal(cfg.nshares, 1);
	assert_string_equal(cfg.shares[0].host, "/srv");
	assert_string_equal(cfg.shares[0].guest, "/data");
	assert_true(cfg.shares[0].read_only);
	assert_int_equal(cfg.mem_bytes, 512ull << 20);
	assert_int_equal(cli_parse(4, b, &cfg, &err), 0);
	assert_int_equal(cfg.command_argc, 2);
	assert_string_equal(cfg.command[0], "make");
	assert_int_equal(cli_parse(2, c, &cfg, &err), 0);
	assert_null(cfg.command); /* a shell */
	assert_int_equal(cli_parse(6, d, &cfg, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "--rootfs is an option of saevm sandbox");
	memset(&err, 0, sizeof(err));
	assert_int_equal(cli_parse(4, e, &cfg, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "unknown option 'bogus'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_release),
		cmocka_unit_test(test_modules_dependencies_first),
		cmocka_unit_test(test_cpio_newc),
		cmocka_unit_test(test_cli_sandbox_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
