/* vm.c - the steps of a VM's life that main.c calls in order. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../boot/layout.h"
#include "../boot/loader.h"
#include "../fdt/dt.h"
#include "control.h"
#include "kvm_uapi.h"
#include "log.h"
#include "confine.h"

int vm_create(struct vm *vm, const struct vm_config *cfg, struct sandbox *sandbox, struct error *err)
{
	uint64_t ram_end = RAM_BASE + cfg->mem_bytes;
	struct host_caps *caps = &vm->kvm.caps;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->sandbox = sandbox;
	vm->ncpus = cfg->cpus;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	vm->host_cpus = online > 0 ? (unsigned)online : 1;
	vm->kvm.dev_fd = vm->kvm.vm_fd = vm->irq.dev_fd = vm->console.wake_fd = -1;
	vm->control_fd = vm->console_log_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->mmio_ring_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	mmio_bus_init(&vm->bus);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "eventfd");
	if (kvm_create(&vm->kvm, cfg->kvm_device, ram_end, cfg->host_profile, err) < 0)
		return -1;
	if (cfg->cpu_features_off & CPU_FEATURE_PAUTH)
		caps->vcpu_features_allowed &= ~VCPU_FEATURES_PAUTH;
	if (cfg->cpu_features_off & CPU_FEATURE_SVE)
		caps->vcpu_features_allowed &= ~(1u << KVM_ARM_VCPU_SVE);
	if (cfg->cpu_features_off & CPU_FEATURE_PMU)
		caps->vcpu_features_allowed &= ~(1u << KVM_ARM_VCPU_PMU_V3);
	if (cfg->cpus > caps->max_vcpus)
		return err_set(err, EXIT_HOST_UNSUPPORTED, "-c %u: this host%s runs at most %u vCPU%s per VM",
			       cfg->cpus, caps->profile == HOST_PROFILE_S390 ? " (s390 profile)" : "",
			       caps->max_vcpus, caps->max_vcpus == 1 ? "" : "s");
	if (guest_mem_map(&vm->mem, RAM_BASE, cfg->mem_bytes, err) < 0 ||
	    kvm_add_memslot(&vm->kvm, 0, RAM_BASE, cfg->mem_bytes, vm->mem.host, err) < 0)
		return -1;
	if (caps->profile == HOST_PROFILE_S390 &&
	    (cfg->irqchip == IRQCHIP_WANT_GICV3 || cfg->irqchip == IRQCHIP_WANT_GICV2))
		return err_set(err, EXIT_USAGE, "--irqchip %s: the s390 kvm-arm64 contract has no interrupt controller",
			       cfg->irqchip == IRQCHIP_WANT_GICV3 ? "gicv3" : "gicv2");
	if (irqchip_create(&vm->irq, vm->kvm.vm_fd, cfg->irqchip, cfg->cpus, caps, err) < 0)
		return -1;
	if (vm->irq.kind == IRQCHIP_NONE) /* its overflow interrupt needs the in-kernel GIC */
		caps->vcpu_features_allowed &= ~(1u << KVM_ARM_VCPU_PMU_V3);
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_set(err, EXIT_HOST_ERROR, "out of memory for %u vCPUs", vm->ncpus);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->index = i;
		v->fd = -1;
		if (kvm_vcpu_create(&vm->kvm, i, &v->fd, &v->run, err) < 0)
			return -1;
		if (i == 0 && vm->ncpus > 1 && caps->psci != PSCI_0_2)
			return err_set(err, EXIT_HOST_UNSUPPORTED,
				       "-c %u: this host has no in-kernel PSCI to start secondary vCPUs; use -c 1",
				       vm->ncpus);
	}
	if (caps->coalesced_mmio_page) { /* one ring per VM, in every vCPU's mapping */
		vm->mmio_ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)vm->vcpus[0].run +
								    (size_t)caps->coalesced_mmio_page *
									    (size_t)sysconf(_SC_PAGESIZE));
		vm->mmio_ring_slots = (unsigned)(((size_t)sysconf(_SC_PAGESIZE) - sizeof(*vm->mmio_ring)) /
						 sizeof(struct kvm_coalesced_mmio));
	}
	if (irqchip_finalize(&vm->irq, err) < 0)
		return -1;
	for (unsigned i = 0; i < vm->ncpus && (caps->vcpu_features & (1u << KVM_ARM_VCPU_PMU_V3)); i++)
		if (kvm_vcpu_init_pmu(vm->vcpus[i].fd, i, PMU_PPI_INTID, err) < 0)
			return -1;
	if (caps->pvtime && !(cfg->cpu_features_off & CPU_FEATURE_PVTIME) && vm->ncpus * 64 <= PVTIME_SIZE) {
		vm->pvtime = mmap(NULL, PVTIME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (vm->pvtime == MAP_FAILED) {
			vm->pvtime = NULL;
			return err_errno(err, EXIT_HOST_ERROR, errno, "mmap of the stolen-time records");
		}
		if (kvm_add_memslot(&vm->kvm, PVTIME_SLOT, PVTIME_BASE, PVTIME_SIZE, vm->pvtime, err) < 0)
			return -1;
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (kvm_vcpu_init_pvtime(vm->vcpus[i].fd, i, PVTIME_BASE + 64ULL * i, err) < 0)
				return -1;
	}
	if (vm->irq.kind == IRQCHIP_NONE && cfg->irqchip == IRQCHIP_AUTO)
		log_warn("this host's KVM has no in-kernel interrupt controller: devices work only for guests "
			 "that poll them; a Linux guest needs interrupt support in the host kernel");
	log_info("%s: %u vCPU%s, %llu MiB, irqchip %s, PSCI %s, features:%s%s%s%s", caps->device_path, vm->ncpus,
		 vm->ncpus == 1 ? "" : "s", (unsigned long long)(cfg->mem_bytes >> 20),
		 irqchip_name(vm->irq.kind), caps->psci == PSCI_0_2 ? "0.2+" : "SYSTEM_OFF only",
		 (caps->vcpu_features & VCPU_FEATURES_PAUTH) == VCPU_FEATURES_PAUTH ? " pauth" : "",
		 caps->vcpu_features & (1u << KVM_ARM_VCPU_SVE) ? " sve" : "",
		 caps->vcpu_features & (1u << KVM_ARM_VCPU_PMU_V3) ? " pmu" : "", vm->pvtime ? " pvtime" : "");
	return 0;
}

/* --exit-on-console: the guest printed its verdict; it is saevm's status. */
static void guest_printed_status(void *opaque, int status)
{
	log_info("the guest printed exit status %d on its console (--exit-on-console)", status);
	vm_request_stop(opaque, status, NULL);
}

int vm_open_console_and_control(struct vm *vm, struct error *err)
{
	const struct vm_config *cfg = vm->cfg;

	/* A sandbox's stdout is the command's: the guest's console (its
	 * kernel's messages) goes only to --console-log. */
	if (console_init(&vm->console, STDIN_FILENO, vm->sandbox ? -1 : STDOUT_FILENO, err) < 0)
		return -1;
	if (cfg->console_log) {
		vm->console_log_fd = open(cfg->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->console_log_fd < 0)
			return err_errno(err, EXIT_NO_INPUT, errno, "cannot create the console log %s", cfg->console_log);
		console_set_log(&vm->console, vm->console_log_fd);
	}
	if (cfg->exit_on_console) {
		if (console_exit_init(&vm->exit_watch, cfg->exit_on_console, err) < 0)
			return -1;
		console_watch_exit(&vm->console, &vm->exit_watch, guest_printed_status, vm);
	}
	if (!cfg->dump_dtb_path) {
		vm->control_fd = control_listen(cfg->name, vm->control_path, sizeof(vm->control_path), err);
		if (vm->control_fd < 0)
			return -1;
	}
	return 0;
}

int vm_control_sibling(const struct vm *vm, const char *suffix, char *buf, size_t size)
{
	size_t len = strlen(vm->control_path);
	if (vm->control_fd < 0 || len < 5 || strcmp(vm->control_path + len - 5, ".sock"))
		return -1;
	int n = snprintf(buf, size, "%.*s%s", (int)(len - 5), vm->control_path, suffix);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int vm_add_device(struct vm *vm, struct device *dev, struct error *err)
{
	if (!dev)
		return -1;
	if (mmio_bus_add(&vm->bus, dev, err) < 0) {
		dev->ops->destroy(dev);
		return -1;
	}
	return 0;
}

uint8_t *vm_build_dtb(struct vm *vm, const struct boot_layout *layout, const char *cmdline,
		      struct error *err)
{
	struct dt_params p = {
		.ram_base = RAM_BASE,
		.ram_size = vm->cfg->mem_bytes,
		.ncpus = vm->ncpus,
		.irqchip = vm->irq.kind,
		.psci = vm->kvm.caps.psci,
		.pmu_ppi = vm->kvm.caps.vcpu_features & (1u << KVM_ARM_VCPU_PMU_V3) ? PMU_PPI_INTID - 16 : 0,
		.bootargs = cmdline,
		.initrd_start = layout->initrd_gpa,
		.initrd_end = layout->initrd_gpa + layout->initrd_size,
		.stdout_path = vm->stdout_path,
		.devices = &vm->bus,
	};

	/* Seeds for KASLR and the guest's RNG; without them an initramfs
	 * guest can wait long for entropy. */
	if (getrandom(&p.kaslr_seed, sizeof(p.kaslr_seed), 0) != sizeof(p.kaslr_seed) ||
	    getrandom(p.rng_seed, sizeof(p.rng_seed), 0) != sizeof(p.rng_seed)) {
		err_errno(err, EXIT_HOST_ERROR, errno, "getrandom for the DT seeds");
		return NULL;
	}
	/* Start small and grow: libfdt zeroes the whole buffer, and 2 MiB
	 * touched for nothing would be most of saevm's own memory. */
	for (size_t size = 16 * 1024; size <= DTB_MAX_SIZE; size *= 2) {
		struct error attempt = { 0 };
		uint8_t *buf = malloc(size);

		if (!buf)
			break;
		if (dt_build(&p, buf, size, &attempt) == 0)
			return buf;
		free(buf);
		if (attempt.code != EXIT_NO_FIT) {
			*err = attempt;
			return NULL;
		}
	}
	err_set(err, EXIT_NO_FIT, "the device tree does not fit in %llu MiB", DTB_MAX_SIZE >> 20);
	return NULL;
}

int vm_load(struct vm *vm, const struct boot_files *files, const struct boot_layout *layout,
	    const void *dtb, size_t dtb_size, struct error *err)
{
	if (boot_files_load(files, layout, &vm->mem, vm->host_cpus, err) < 0)
		return -1;
	if (guest_mem_write(&vm->mem, layout->dtb_gpa, dtb, dtb_size) < 0)
		return err_set(err, EXIT_INTERNAL, "the device tree does not fit at 0x%llx",
			       (unsigned long long)layout->dtb_gpa);
	vm->entry_gpa = layout->kernel_gpa;
	vm->dtb_gpa = layout->dtb_gpa;
	return boot_set_vcpu_regs(vm->vcpus[0].fd, vm->entry_gpa, vm->dtb_gpa, err);
}

int vm_reset_for_reboot(struct vm *vm, struct error *err)
{
	/* Every vCPU is joined. Devices first: their threads must be done with
	 * the old guest's rings before RAM gets the new kernel (vm_load). */
	mmio_bus_reset_devices(&vm->bus);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (kvm_vcpu_init(&vm->kvm, vm->vcpus[i].fd, i, err) < 0)
			return -1;
	atomic_store(&vm->stopping, false);
	vm->exit_code = 0;
	return 0;
}

static void serve_control_client(struct vm *vm)
{
	char cmd[64], reply[160];
	int fd = accept4(vm->control_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (control_read_line(fd, cmd, sizeof(cmd), CONTROL_CLIENT_MS) < 0) {
		close(fd);
		return;
	}
	if (!strcmp(cmd, "status")) {
		snprintf(reply, sizeof(reply), "ok %s %s %d %s\n", atomic_load(&vm->paused) ? "paused" : "running",
			 vm->cfg->name, (int)getpid(), !vm->sandbox ? "vm" : vm->cfg->detach ? "sandbox" : "sandbox-run");
	} else if (!strcmp(cmd, "pause")) {
		vcpus_pause(vm);
		snprintf(reply, sizeof(reply), "ok paused\n");
	} else if (!strcmp(cmd, "resume")) {
		vcpus_resume(vm);
		snprintf(reply, sizeof(reply), "ok running\n");
	} else if (!strcmp(cmd, "stop")) {
		snprintf(reply, sizeof(reply), "ok stopping\n");
		vm_request_stop(vm, EXIT_STOPPED, "stopped by saevm stop %s", vm->cfg->name);
	} else {
		snprintf(reply, sizeof(reply), "error unknown command\n");
	}
	if (write(fd, reply, strlen(reply)) < 0)
		log_debug("control: reply: %s", strerror(errno));
	close(fd);
}

/* Setup ran code that a running VM never runs again (option parsing, the
 * device tree, the kernel's decompression, seccomp's filter...), and the
 * kernel mapped it in 64 KiB around each page touched (fault-around): most
 * of saevm's resident memory, for the VM's whole life. The binary's
 * read-only segments are never written, so dropping their page-table
 * entries loses nothing: what runs from here on faults back in from the
 * page cache, which every saevm shares. Not under a debugger: its
 * breakpoints are private copies of those pages. */
static int drop_setup_code_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	long page = sysconf(_SC_PAGESIZE);

	(void)size;
	(void)data;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || page <= 0)
			continue;
		start &= ~(uintptr_t)(page - 1);
		end = (end + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
		if (madvise((void *)start, end - start, MADV_DONTNEED) < 0)
			log_debug("madvise of saevm's own code: %s", strerror(errno));
	}
	return 1; /* the executable is the first object: only it */
}

void vm_drop_setup_code(struct vm *vm)
{
	if (vm->drop_setup_code) {
		vm->drop_setup_code = false;
		dl_iterate_phdr(drop_setup_code_segment, NULL);
	}
}

static bool being_debugged(void)
{
	char line[128];
	bool traced = false;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TracerPid:", 10))
			traced = atoi(line + 10) != 0;
	if (f)
		fclose(f);
	return traced;
}

#define COALESCED_REPLAY_MS 50

/* Runs the vCPUs until the VM stops; returns the exit code. */
int vm_run(struct vm *vm, int signal_fd, struct error *err)
{
	struct pollfd fds[3] = { { .fd = vm->stop_fd, .events = POLLIN },
				 { .fd = signal_fd, .events = POLLIN },
				 { .fd = vm->control_fd, .events = POLLIN } };
	double deadline = vm->cfg->timeout_s ? log_wall_since_start() + vm->cfg->timeout_s : 0;
	uint64_t count;

	if (!vm->devices_started) {
		/* Setup is over: no privileges and few system calls from here on,
		 * for every thread (they all start below). */
		struct confine_needs *needs = &vm->confine;
		const char *denied = getenv("SAEVM_TEST_DENIED_CALL");
		bool traced = being_debugged(); /* before /proc is out of reach */
		char control_dir[sizeof(vm->control_path)];
		for (unsigned i = 0; i < vm->cfg->nnics; i++)
			needs->sockets |= vm->cfg->nics[i].kind == NIC_USER;
		needs->vsock = vm->cfg->vsock_cid != 0;
		needs->file_server = vm->sandbox || vm->cfg->nshares;
		if (vm->control_fd >= 0) {
			snprintf(control_dir, sizeof(control_dir), "%s", vm->control_path);
			char *slash = strrchr(control_dir, '/');
			if (slash && slash != control_dir) {
				*slash = '\0';
				needs->control_dir = control_dir;
			}
		}
		int entered = confine_enter(needs, !vm->cfg->no_seccomp, err);
		needs->control_dir = NULL; /* control_dir[] ends here */
		if (entered < 0)
			return -1;
		if (denied && *denied) /* the tests' way to check the filter: it must end saevm */
			return confine_try_denied(denied, err);
		if (mmio_bus_start_devices(&vm->bus, err) < 0)
			return -1;
		vm->devices_started = true;
		vm->drop_setup_code = !traced;
	}
	if (!vm->console.thread_started && console_start(&vm->console, err) < 0)
		return -1;
	if (vcpus_start(vm, err) < 0) {
		vm_request_stop(vm, EXIT_HOST_ERROR, NULL);
		vcpus_join(vm);
		return -1;
	}
	while (!atomic_load(&vm->stopping)) {
		int wait_ms = atomic_load(&vm->mmio_ring_used) ? COALESCED_REPLAY_MS : -1;
		vm_replay_coalesced(vm);
		if (deadline) {
			double left = deadline - log_wall_since_start();
			if (left <= 0) {
				vm_request_stop(vm, EXIT_TIMEOUT, "stopped after --timeout %u s", vm->cfg->timeout_s);
				break;
			}
			if (wait_ms < 0 || left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		if (poll(fds, 3, wait_ms) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(signal_fd, &si, sizeof(si)) == sizeof(si))
				vm_request_stop(vm, EXIT_SIGNAL, "stopped by signal %u (%s)", si.ssi_signo,
						strsignal((int)si.ssi_signo));
		}
		if (fds[2].revents & POLLIN)
			serve_control_client(vm);
	}
	if (read(vm->stop_fd, &count, sizeof(count)) < 0)
		count = 0;
	vcpus_resume(vm); /* a paused VM that is stopped must not stay parked */
	vcpus_join(vm);
	vm_replay_coalesced(vm); /* the last bytes before a power-off */
	log_debug("teardown: vCPUs joined at %.4f s", log_wall_since_start());
	return vm->exit_code;
}

void vm_print_stats(struct vm *vm, FILE *out)
{
	unsigned long exits = 0;

	for (unsigned i = 0; i < vm->ncpus; i++)
		exits += vm->vcpus[i].mmio_exits;
	fprintf(out, "saevm: stats: %lu MMIO exits on %u vCPUs, %lu unclaimed reads, %lu unclaimed writes\n", exits,
		vm->ncpus, (unsigned long)atomic_load(&vm->bus.unclaimed_reads),
		(unsigned long)atomic_load(&vm->bus.unclaimed_writes));
	fprintf(out, "saevm: stats: console: %lu bytes written, %lu dropped\n",
		(unsigned long)atomic_load(&vm->console.written_bytes),
		(unsigned long)atomic_load(&vm->console.dropped_bytes));
	for (unsigned i = 0; i < vm->bus.count; i++) {
		struct device *dev = vm->bus.devices[i];
		if (dev->ops->print_stats) {
			fprintf(out, "saevm: stats: ");
			dev->ops->print_stats(dev, out);
		}
	}
}

void vm_destroy(struct vm *vm)
{
	/* vCPUs are stopped: let in-flight device work finish, flush disks,
	 * then drain the console and restore the terminal. */
	if (vm->devices_started)
		mmio_bus_stop_devices(&vm->bus);
	vm->devices_started = false;
	console_stop(&vm->console);
	log_debug("teardown: devices and console stopped at %.4f s", log_wall_since_start());
	if (vm->cfg && vm->cfg->stats && vm->vcpus)
		vm_print_stats(vm, stderr);
	if (vm->control_fd >= 0) {
		char shares[sizeof(vm->control_path) + 8];
		if (vm->sandbox && vm->cfg->detach && vm_control_sibling(vm, ".shares", shares, sizeof(shares)) == 0)
			unlink(shares);
		close(vm->control_fd);
		unlink(vm->control_path);
	}
	if (vm->console_log_fd >= 0)
		close(vm->console_log_fd);
	mmio_bus_destroy(&vm->bus);
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, (size_t)vm->kvm.run_mmap_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	irqchip_destroy(&vm->irq);
	kvm_destroy(&vm->kvm);
	log_debug("teardown: the VM closed at %.4f s", log_wall_since_start());
	guest_mem_unmap(&vm->mem);
	log_debug("teardown: guest RAM unmapped at %.4f s", log_wall_since_start());
	if (vm->pvtime)
		munmap(vm->pvtime, PVTIME_SIZE);
	vm->pvtime = NULL;
	console_destroy(&vm->console);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->mmio_ring_lock);
	pthread_cond_destroy(&vm->pause_cond);
}
