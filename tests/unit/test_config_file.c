#include "harness.h"

#include "../../vmm/cli.h"
#include "../../vmm/config_file.h"

static struct vm_config cfg;
static struct error err;

static int parse(const char *text)
{
	vm_config_free(&cfg);
	vm_config_defaults(&cfg);
	memset(&err, 0, sizeof(err));
	return config_file_parse(&cfg, text, "t.conf", &err);
}

static void expect_error(const char *text, const char *message)
{
	assert_int_equal(parse(text), -1);
	assert_int_equal(err.code, EXIT_CONFIG);
	if (!strstr(err.msg, message))
		fail_msg("error '%s' does not say '%s'", err.msg, message);
}

static void test_example_file_parses(void **state)
{
	(void)state;
	vm_config_free(&cfg);
	vm_config_defaults(&cfg);
	memset(&err, 0, sizeof(err));
	if (config_file_load(&cfg, "vmm.conf.example", &err) < 0)
		fail_msg("vmm.conf.example: %s", err.msg);
	assert_int_equal(cfg.mem_bytes, 256ULL << 20);
	assert_string_equal(cfg.name, "example");
	assert_string_equal(cfg.params, "quiet panic=-1");
	assert_int_equal(cfg.timeout_s, 600);
	assert_int_equal(cfg.ndisks, 1);
	assert_string_equal(cfg.disks[0].path, "root.img");
	assert_string_equal(cfg.disks[0].id, "root");
	assert_int_equal(cfg.nnics, 1);
	assert_int_equal(cfg.nics[0].nfwd, 1);
	assert_int_equal(cfg.nics[0].fwd[0].host_port, 2222);
	assert_int_equal(cfg.nics[0].fwd[0].guest_port, 22);
	assert_true(cfg.rng);
	assert_false(cfg.reboot);
}

static void test_values(void **state)
{
	(void)state;
	assert_int_equal(parse("[vm]\nmem = 1G\ncpus=2\nreboot = yes\nno-rng = on\n"
			       "[kernel]\nkernel = \"/path with spaces/Image\"\nparams = \n"
			       "[disk \"data\"]\npath = d.img\nro = true\n"
			       "[disk \"two\"]\npath = e.img\nid = serial-2\ndirect = 1\n"
			       "[net \"n\"]\nmode = user\nhostfwd = tcp::8080-:80\nhostfwd = udp::5353-:53\nmac = 02:00:00:00:00:09\n"
			       "[net \"t\"]\nmode = tap\nifname = tap3\n"), 0);
	assert_int_equal(cfg.mem_bytes, 1ULL << 30);
	assert_int_equal(cfg.cpus, 2);
	assert_true(cfg.reboot);
	assert_false(cfg.rng);
	assert_string_equal(cfg.kernel_path, "/path with spaces/Image");
	assert_int_equal(cfg.ndisks, 2);
	assert_true(cfg.disks[0].read_only);
	assert_string_equal(cfg.disks[0].id, "data");
	assert_string_equal(cfg.disks[1].id, "serial-2");
	assert_true(cfg.disks[1].direct);
	assert_int_equal(cfg.nnics, 2);
	assert_int_equal(cfg.nics[0].nfwd, 2);
	assert_true(cfg.nics[0].fwd[1].udp);
	assert_true(cfg.nics[0].mac_set);
	assert_int_equal(cfg.nics[1].kind, NIC_TAP);
	assert_string_equal(cfg.nics[1].ifname, "tap3");
	/* false clears a flag */
	assert_int_equal(parse("[vm]\nreboot = true\nreboot = false\n"), 0);
	assert_false(cfg.reboot);
}

static void test_every_error(void **state)
{
	(void)state;
	expect_error("[vm]\nmemory = 1G\n", "t.conf:2: unknown key 'memory' in this section (did you mean 'mem'?)");
	expect_error("[vm]\nmem = 12X\n", "t.conf:2: --mem '12X' is not a size");
	expect_error("[vm]\ncpus = 0\n", "t.conf:2:");
	expect_error("[vm]\nreboot = maybe\n", "t.conf:2: reboot: expected true or false, not 'maybe'");
	expect_error("[mv]\n", "t.conf:1: unknown section [mv] (did you mean 'vm'?)");
	expect_error("[disk]\n", "needs a name");
	expect_error("[dsk \"a\"]\n", "unknown section [dsk \"...\"] (did you mean 'disk'?)");
	expect_error("mem = 1G\n", "t.conf:1: 'mem' outside any section");
	expect_error("[vm]\njust words\n", "t.conf:2: expected key = value");
	expect_error("[vm\n", "t.conf:1: expected [section]");
	expect_error("[vm]\nmem =\n", "t.conf:2: mem: no value");
	expect_error("[disk \"a\"]\nro = true\n", "t.conf:1: [disk \"a\"] needs path = FILE");
	expect_error("[disk \"a\"]\npth = x\n", "did you mean 'path'?");
	expect_error("[net \"a\"]\nmode = bridge\n", "t.conf:2: mode: expected user or tap");
	expect_error("[net \"a\"]\nhostfwd = tcp::1\n", "t.conf:1: [net \"a\"]");
	expect_error("[net \"a\"]\nmode = tap\n", "a tap needs ifname=NAME");
	expect_error("[kernel]\nkernel = I\n[vm]\nkernel = J\n", "t.conf:4: unknown key 'kernel'");
	expect_error("[kernel]\ninitrd = a\nparms = quiet\n", "t.conf:3: unknown key 'parms' in this section (did you mean 'params'?)");
	expect_error("[console]\nconsole = tty\n", "t.conf:2: --console 'tty'");
	expect_error("[vm]\nhost-profile = s390\ntimeout = soon\n", "t.conf:3: --timeout 'soon'");
}

static void test_missing_file(void **state)
{
	(void)state;
	vm_config_free(&cfg);
	vm_config_defaults(&cfg);
	memset(&err, 0, sizeof(err));
	assert_int_equal(config_file_load(&cfg, "/nonexistent/vmm.conf", &err), -1);
	assert_int_equal(err.code, EXIT_NO_INPUT);
}

static void test_command_line_wins(void **state)
{
	char *argv[] = { "saevm", "run", "-m", "512", "--config", "vmm.conf.example", "-d", "other.img", "--name=cli" };
	(void)state;
	vm_config_free(&cfg);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cli_parse(9, argv, &cfg, &err), 0);
	assert_int_equal(cfg.mem_bytes, 512ULL << 20); /* before --config, still wins */
	assert_string_equal(cfg.name, "cli");
	assert_int_equal(cfg.ndisks, 1);              /* the file's disk replaced */
	assert_string_equal(cfg.disks[0].path, "other.img");
	assert_int_equal(cfg.nnics, 1);               /* the file's NIC kept */
	assert_string_equal(cfg.kernel_path, "/boot/vmlinuz-arm64");
	vm_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_file_parses),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_every_error),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_command_line_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
