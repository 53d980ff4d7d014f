#include "harness.h"

#include "../../vmm/cli.h"

static int parse(struct vm_config *cfg, struct error *err, int argc, ...)
{
	char *argv[32];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	memset(err, 0, sizeof(*err));
	return cli_parse(argc, argv, cfg, err);
}

static void test_issue_example(void **state)
{
	struct vm_config cfg;
	struct error err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, 12, "saevm", "run", "-k", "Image", "-i", "initrd.cpio", "-p",
			       "console=ttyS0 quiet", "-m", "256", "-c", "2"), 0);
	assert_int_equal(cfg.action, ACTION_RUN);
	assert_string_equal(cfg.kernel_path, "Image");
	assert_string_equal(cfg.initrd_path, "initrd.cpio");
	assert_string_equal(cfg.params, "console=ttyS0 quiet");
	assert_int_equal(cfg.mem_bytes, 256ULL << 20);
	assert_int_equal(cfg.cpus, 2);
}

static void test_long_forms_and_defaults(void **state)
{
	struct vm_config cfg;
	struct error err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, 9, "saevm", "run", "--kernel=Image", "--mem", "1G", "--cpus=4",
			       "--irqchip", "gicv2", "--reboot"), 0);
	assert_int_equal(cfg.mem_bytes, 1ULL << 30);
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.irqchip, IRQCHIP_WANT_GICV2);
	assert_true(cfg.reboot);
	assert_int_equal(parse(&cfg, &err, 3, "saevm", "run", "Image"), 0); /* positional kernel */
	assert_string_equal(cfg.kernel_path, "Image");
	assert_int_equal(cfg.mem_bytes, VM_DEFAULT_MEM);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.irqchip, IRQCHIP_AUTO);
	assert_int_equal(parse(&cfg, &err, 4, "saevm", "-kImage", "-m512", "--dump-dtb=x.dtb"), 0);
	assert_string_equal(cfg.kernel_path, "Image");
	assert_string_equal(cfg.dump_dtb_path, "x.dtb");
	assert_int_equal(cfg.mem_bytes, 512ULL << 20);
}

static void test_errors(void **state)
{
	struct vm_config cfg;
	struct error err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-k", "I", "--frobnicate"), -1);
	assert_int_equal(err.code, EXIT_USAGE);
	ASSERT_ERR_CONTAINS(&err, "unknown option '--frobnicate'");
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-k", "I", "-c"), -1);
	ASSERT_ERR_CONTAINS(&err, "needs a value");
	assert_int_equal(parse(&cfg, &err, 6, "saevm", "run", "-k", "I", "-c", "0"), -1);
	ASSERT_ERR_CONTAINS(&err, "--cpus '0'");
	assert_int_equal(parse(&cfg, &err, 6, "saevm", "run", "-k", "I", "-m", "12Q"), -1);
	ASSERT_ERR_CONTAINS(&err, "not a size");
	assert_int_equal(parse(&cfg, &err, 6, "saevm", "run", "-k", "I", "-m", "1000K"), -1);
	ASSERT_ERR_CONTAINS(&err, "whole number of MiB");
	assert_int_equal(parse(&cfg, &err, 6, "saevm", "run", "-k", "I", "-m", "99999999999999999999"), -1);
	assert_int_equal(parse(&cfg, &err, 6, "saevm", "run", "-k", "I", "--irqchip", "gicv4"), -1);
	ASSERT_ERR_CONTAINS(&err, "gicv4");
	assert_int_equal(parse(&cfg, &err, 2, "saevm", "run"), -1);
	ASSERT_ERR_CONTAINS(&err, "no kernel");
	assert_int_equal(parse(&cfg, &err, 2, "saevm", "launch"), -1);
	ASSERT_ERR_CONTAINS(&err, "unknown command 'launch'");
	assert_int_equal(parse(&cfg, &err, 4, "saevm", "run", "--reboot=yes", "I"), -1);
	ASSERT_ERR_CONTAINS(&err, "takes no value");
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "A", "B", "-m1"), -1);
	ASSERT_ERR_CONTAINS(&err, "unexpected argument 'B'");
	assert_int_equal(parse(&cfg, &err, 4, "saevm", "run", "-m4", "I"), -1); /* below the minimum */
	ASSERT_ERR_CONTAINS(&err, "out of range");
}

static void test_help_and_version(void **state)
{
	struct vm_config cfg;
	struct error err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, 1, "saevm"), 0);
	assert_int_equal(cfg.action, ACTION_HELP);
	assert_int_equal(parse(&cfg, &err, 3, "saevm", "help", "exit-codes"), 0);
	assert_int_equal(cfg.action, ACTION_HELP_EXIT_CODES);
	assert_int_equal(parse(&cfg, &err, 2, "saevm", "version"), 0);
	assert_int_equal(cfg.action, ACTION_VERSION);
	assert_int_equal(parse(&cfg, &err, 3, "saevm", "run", "--help"), 0);
	assert_int_equal(cfg.action, ACTION_HELP);
	assert_int_equal(parse(&cfg, &err, 3, "saevm", "help", "nonsense"), -1);
}

static void test_sizes(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(cli_parse_size("256", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(cli_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(cli_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(cli_parse_size("512m", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(cli_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(cli_parse_size("", &v), -1);
	assert_int_equal(cli_parse_size("-5", &v), -1);
	assert_int_equal(cli_parse_size("5GG", &v), -1);
	assert_int_equal(cli_parse_size("20000000000000T", &v), -1); /* overflow */
}

static void test_cmdline_console_rule(void **state)
{
	static const struct { enum console_kind console; const char *params, *want; } cases[] = {
		{ CONSOLE_SERIAL, "quiet", "console=ttyS0 quiet" },
		{ CONSOLE_SERIAL, "console=hvc0 quiet", "console=hvc0 quiet" },
		{ CONSOLE_SERIAL, "quiet netconsole=1", "console=ttyS0 quiet netconsole=1" },
		{ CONSOLE_SERIAL, NULL, "console=ttyS0" },
		/* The virtio console: ttyS0 is /dev/console until hvc0 exists (an
		 * initrd without virtio_console), then hvc0, named last. */
		{ CONSOLE_VIRTIO, "quiet", "console=ttyS0 console=hvc0 quiet" },
		{ CONSOLE_VIRTIO, "console=hvc0 root=/dev/vda rw", "console=ttyS0 console=hvc0 root=/dev/vda rw" },
		{ CONSOLE_VIRTIO, "console=ttyS0,115200 console=hvc0", "console=ttyS0,115200 console=hvc0" },
	};
	struct vm_config cfg;
	char buf[64];

	(void)state;
	vm_config_defaults(&cfg);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg.console = cases[i].console;
		cfg.params = cases[i].params;
		assert_int_equal(cli_kernel_cmdline(&cfg, buf, sizeof(buf)), (int)strlen(cases[i].want));
		assert_string_equal(buf, cases[i].want);
	}
	cfg.params = "this is far too long for a buffer of sixty-four bytes, really it is";
	assert_int_equal(cli_kernel_cmdline(&cfg, buf, sizeof(buf)), -1);
	/* --nodefaults: -p exactly, even empty; and no RNG */
	const char *argv[] = { "saevm", "run", "-k", "t.flat", "--nodefaults", "-p", "exit 3", NULL };
	struct error err = { 0 };
	assert_int_equal(cli_parse(7, (char **)argv, &cfg, &err), 0);
	assert_true(cfg.nodefaults);
	assert_int_equal(cli_kernel_cmdline(&cfg, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "exit 3");
	cfg.params = NULL;
	assert_int_equal(cli_kernel_cmdline(&cfg, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	vm_config_free(&cfg);
}

static void test_set_option_shared_with_config(void **state)
{
	struct vm_config cfg;
	struct error err = { 0 };
	(void)state;
	vm_config_defaults(&cfg);
	assert_int_equal(cli_set_option(&cfg, "mem", "2G", &err), 0);
	assert_int_equal(cfg.mem_bytes, 2ULL << 30);
	assert_int_equal(cli_set_option(&cfg, "memory", "2G", &err), -1);
	ASSERT_ERR_CONTAINS(&err, "unknown option 'memory'");
}

static void test_cpu_features(void **state)
{
	struct vm_config cfg;
	struct error err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-kImage", "--cpu-features", "none"), 0);
	assert_int_equal(cfg.cpu_features_off,
			 CPU_FEATURE_PAUTH | CPU_FEATURE_SVE | CPU_FEATURE_PMU | CPU_FEATURE_PVTIME);
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-kImage", "--cpu-features", "none,pvtime"), 0);
	assert_int_equal(cfg.cpu_features_off, CPU_FEATURE_PAUTH | CPU_FEATURE_SVE | CPU_FEATURE_PMU);
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-kImage", "--cpu-features", "nopvtime"), 0);
	assert_int_equal(cfg.cpu_features_off, CPU_FEATURE_PVTIME);
	assert_int_equal(parse(&cfg, &err, 5, "saevm", "run", "-kImage", "--cpu-features", "pvtime,avx"), -1);
	ASSERT_ERR_CONTAINS(&err, "pmu, pvtime");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_long_forms_and_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_cmdline_console_rule),
		cmocka_unit_test(test_set_option_shared_with_config),
		cmocka_unit_test(test_cpu_features),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
