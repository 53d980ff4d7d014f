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

/* saevm exec: where the caller's directory is in the guest. */
static void test_map_dir(void **state)
{
	static const char map[] = "/home/u/proj\0/home/u/proj\0/srv/data\0/data\0/home/u/proj/sub\0/deep\0/work\0/\0";
	char out[256];
	(void)state;
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/home/u/proj", out, sizeof(out)));
	assert_string_equal(out, "/home/u/proj");
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/home/u/proj/a/b", out, sizeof(out)));
	assert_string_equal(out, "/home/u/proj/a/b");
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/srv/data/x", out, sizeof(out)));
	assert_string_equal(out, "/data/x");
	/* the deepest share wins */
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/home/u/proj/sub/y", out, sizeof(out)));
	assert_string_equal(out, "/deep/y");
	/* a share mounted at the guest's / */
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/work/z", out, sizeof(out)));
	assert_string_equal(out, "/z");
	assert_true(sandbox_map_dir(map, sizeof(map) - 1, "/work", out, sizeof(out)));
	assert_string_equal(out, "/");
	/* a name that only starts like a share, and places in no share */
	assert_false(sandbox_map_dir(map, sizeof(map) - 1, "/home/u/project", out, sizeof(out)));
	assert_false(sandbox_map_dir(map, sizeof(map) - 1, "/", out, sizeof(out)));
	assert_false(sandbox_map_dir(map, sizeof(map) - 1, "/srv", out, sizeof(out)));
	/* a truncated map is read no further than it goes */
	assert_false(sandbox_map_dir(map, 20, "/srv/data", out, sizeof(out)));
	assert_false(sandbox_map_dir("", 0, "/x", out, sizeof(out)));
}

static bool has_entry(const char *buf, size_t len, const char *want)
{
	for (const char *p = buf; p < buf + len; p += strlen(p) + 1)
		if (!strcmp(p, want))
			return true;
	return false;
}

static void test_command_request(void **state)
{
	char *argv[] = { "sh", "-c", "a=1\nb", NULL };
	char uid[32];
	size_t len = 0;
	(void)state;
	char *req = sandbox_command_request("/work/x", argv, 3, true, 30, 100, &len);
	assert_non_null(req);
	snprintf(uid, sizeof(uid), "uid=%u", (unsigned)getuid());
	assert_true(has_entry(req, len, uid));
	assert_true(has_entry(req, len, "cwd=/work/x"));
	assert_true(has_entry(req, len, "tty=1"));
	assert_true(has_entry(req, len, "rows=30"));
	assert_true(has_entry(req, len, "cols=100"));
	assert_true(has_entry(req, len, "arg=a=1\nb"));
	free(req);
	req = sandbox_command_request("/", argv, 1, false, 0, 0, &len);
	assert_false(has_entry(req, len, "tty=1"));
	assert_true(has_entry(req, len, "arg=sh"));
	assert_false(has_entry(req, len, "arg=-c"));
	free(req);
}

static void test_cli_exec_words(void **state)
{
	struct vm_config cfg;
	struct error err = { 0 };
	char *a[] = { "saevm", "exec", "dev", "--", "ls", "-l", NULL };
	char *b[] = { "saevm", "exec", "dev", "-x", NULL };
	char *c[] = { "saevm", "exec", "dev", NULL };
	char *d[] = { "saevm", "sandbox", "--name", "dev", "--detach", "--", "make", NULL };
	(void)state;
	assert_int_equal(cli_parse(6, a, &cfg, &err), 0);
	assert_int_equal(cfg.action, ACTION_EXEC);
	assert_string_equal(cfg.name, "dev");
	assert_int_equal(cfg.command_argc, 2);
	assert_string_equal(cfg.command[1], "-l");
	assert_int_equal(cli_parse(4, b, &cfg, &err), 0); /* exec has no options: -x is the command */
	assert_string_equal(cfg.command[0], "-x");
	assert_int_equal(cli_parse(3, c, &cfg, &err), -1);
	ASSERT_ERR_CONTAINS(&err, "no command");
	assert_int_equal(cli_parse(7, d, &cfg, &err), 0);
	assert_true(cfg.detach);
	assert_int_equal(cfg.command_argc, 1);
}

/* ---- a rootfs the guest may have written: nothing in it is trusted ---- */

static char rfs[64];

static void rfs_write(const char *rel, const char *text)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/%s", rfs, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rfs_run(const char *fmt)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), fmt, rfs, rfs, rfs, rfs);
	assert_int_equal(system(cmd), 0);
}

/* A rootfs as Debian's, /lib a symlink to usr/lib, with one module and
 * the rest built in; `kernel` as the user's -k (NULL: boot/vmlinuz-*). */
static const char *extra_option;

static int prepare(const char *kernel, struct sandbox *sb, struct error *err)
{
	struct vm_config cfg;
	struct error perr = { 0 };
	char *args[8] = { "saevm", "sandbox", "--rootfs", rfs }, kpath[300];
	int n = 4;

	if (extra_option)
		args[n++] = (char *)extra_option;
	if (kernel) {
		snprintf(kpath, sizeof(kpath), "%s/%s", rfs, kernel);
		args[n++] = "-k";
		args[n++] = kpath;
	}
	args[n++] = "true";
	assert_int_equal(cli_parse(n, args, &cfg, &perr), 0);
	alarm(20); /* a FIFO must not hang saevm's start */
	int r = sandbox_prepare(&cfg, sb, err);
	alarm(0);
	sandbox_release(sb);
	vm_config_free(&cfg);
	return r;
}

static int rootfs_setup(void **state)
{
	(void)state;
	snprintf(rfs, sizeof(rfs), "/tmp/saevm-rootfs-XXXXXX");
	if (!mkdtemp(rfs))
		return -1;
	rfs_run("mkdir -p %s/usr/lib/modules/6.1.0-9-arm64/kernel %s/boot && ln -s usr/lib %s/lib");
	rfs_write("boot/vmlinuz-6.1.0-9-arm64", "not really a kernel");
	rfs_write("usr/lib/modules/6.1.0-9-arm64/modules.dep", "kernel/virtio_mmio.ko:\n");
	rfs_write("usr/lib/modules/6.1.0-9-arm64/modules.builtin",
		  "kernel/virtio_console.ko\nkernel/9pnet_virtio.ko\nkernel/9p.ko\nkernel/overlay.ko\nkernel/virtio_rng.ko\n");
	rfs_write("usr/lib/modules/6.1.0-9-arm64/kernel/virtio_mmio.ko", "module bytes");
	return 0;
}

static int rootfs_teardown(void **state)
{
	(void)state;
	rfs_run("rm -rf %s");
	return 0;
}

static void test_rootfs_well_formed(void **state)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	struct error err = { 0 };
	(void)state;
	assert_int_equal(prepare(NULL, sb, &err), 0);
	assert_int_equal(sb->nmodules, 1);
	assert_true(sb->overlay); /* read-only, with an overlay, by default */
	assert_true(sb->exports[0].read_only);
	assert_int_equal(sb->exports[0].cache, SHARE_CACHE_ALWAYS); /* and so cached for good */
	assert_int_equal(sb->exports[1].cache, SHARE_CACHE_AUTO);   /* the working directory: 1 s */
	assert_non_null(strstr(sb->kernel, "boot/vmlinuz-6.1.0-9-arm64"));
	free(sb);
}

/* --rootfs-writable: served read-write, no overlay (the guest changes it
 * for good), and then a working directory that is the rootfs is refused
 * (two writable shares of one file); read-only by default, it is not. */
static void test_rootfs_writable_and_overlap(void **state)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	struct error err = { 0 };
	char cwd[4096];
	(void)state;
	extra_option = "--rootfs-writable";
	assert_int_equal(prepare(NULL, sb, &err), 0);
	extra_option = NULL;
	assert_false(sb->overlay);
	assert_false(sb->exports[0].read_only);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(rfs), 0);
	memset(&err, 0, sizeof(err));
	extra_option = "--rootfs-writable";
	assert_int_equal(prepare(NULL, sb, &err), -1);
	extra_option = NULL;
	assert_int_equal(err.code, EXIT_USAGE);
	ASSERT_ERR_CONTAINS(&err, "lies inside");
	memset(&err, 0, sizeof(err));
	assert_int_equal(prepare(NULL, sb, &err), 0);
	assert_int_equal(chdir(cwd), 0);
	free(sb);
}

static void expect_unsafe(const char *kernel, const char *mention)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	struct error err = { 0 };
	assert_int_equal(prepare(kernel, sb, &err), -1);
	assert_int_equal(err.code, EXIT_UNSAFE_ROOTFS);
	ASSERT_ERR_CONTAINS(&err, mention);
	free(sb);
}

static void test_rootfs_modules_dep_leads_out(void **state)
{
	(void)state;
	rfs_write("usr/lib/modules/6.1.0-9-arm64/modules.dep",
		  "kernel/virtio_mmio.ko: ../../../../../../../../../etc/passwd\n");
	expect_unsafe(NULL, "etc/passwd is a symlink or leads outside the root filesystem");
}

static void test_rootfs_symlinked_module(void **state)
{
	(void)state;
	rfs_run("rm %s/usr/lib/modules/6.1.0-9-arm64/kernel/virtio_mmio.ko && "
		"ln -s /etc/passwd %s/usr/lib/modules/6.1.0-9-arm64/kernel/virtio_mmio.ko");
	expect_unsafe(NULL, "kernel/virtio_mmio.ko is a symlink");
}

static void test_rootfs_fifo_modules_dep(void **state)
{
	(void)state;
	rfs_run("rm %s/usr/lib/modules/6.1.0-9-arm64/modules.dep && mkfifo %s/usr/lib/modules/6.1.0-9-arm64/modules.dep");
	expect_unsafe(NULL, "modules.dep is not a regular file");
}

static void test_rootfs_symlinked_kernel(void **state)
{
	(void)state;
	rfs_run("rm %s/boot/vmlinuz-6.1.0-9-arm64 && ln -s /etc/passwd %s/boot/vmlinuz-6.1.0-9-arm64");
	expect_unsafe(NULL, "boot/vmlinuz-6.1.0-9-arm64 is a symlink");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_release),
		cmocka_unit_test(test_map_dir),
		cmocka_unit_test(test_command_request),
		cmocka_unit_test(test_cli_exec_words),
		cmocka_unit_test(test_modules_dependencies_first),
		cmocka_unit_test(test_cpio_newc),
		cmocka_unit_test(test_cli_sandbox_words),
		cmocka_unit_test_setup_teardown(test_rootfs_well_formed, rootfs_setup, rootfs_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_writable_and_overlap, rootfs_setup, rootfs_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_modules_dep_leads_out, rootfs_setup, rootfs_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_symlinked_module, rootfs_setup, rootfs_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_fifo_modules_dep, rootfs_setup, rootfs_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_symlinked_kernel, rootfs_setup, rootfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
