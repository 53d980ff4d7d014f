/* machine.c - the machine `saevm run` builds: which devices, at which
 * addresses, with which interrupts, in what order (machine.h has the map).
 * The one file that names concrete devices; the platform (vm.c) knows them
 * only as entries on the MMIO bus. */
#include "machine.h"

#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../devices/exit_dev.h"
#include "../devices/share/fuse_server.h"
#include "../devices/share/p9_server.h"
#include "../devices/virtio_fs.h"
#include "../devices/share/share.h"
#include "../devices/pvpanic.h"
#include "../devices/rtc_pl031.h"
#include "../devices/uart_8250.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_console.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_9p.h"
#include "../devices/virtio_rng.h"
#include "../devices/vsock/virtio_vsock.h"
#include "../devices/virtio_stdio.h"
#include "log.h"

static void console_quit(void *opaque)
{
	vm_request_stop(opaque, EXIT_CONSOLE_QUIT, NULL);
}

static void guest_exit(void *opaque, int code)
{
	vm_request_stop(opaque, code, "the guest set exit code %d", code);
}

static void guest_panic(void *opaque, unsigned events)
{
	if (events & PVPANIC_PANICKED)
		vm_request_stop(opaque, EXIT_GUEST_PANIC, "the guest kernel panicked (pvpanic)");
	else
		log_info("the guest loaded a crash kernel (pvpanic)");
}

static void boot_marker(void *opaque)
{
	(void)opaque;
	/* The guest asked for this line: print it whatever the log level. */
	fprintf(stderr, "saevm: boot-time marker: %.3f s wall, %.3f s CPU since saevm started\n",
		log_wall_since_start(), log_cpu_since_start());
}

void machine_nic_mac(const struct vm_config *cfg, unsigned index, uint8_t mac[6])
{
	char name[64];
	uint32_t h = 2166136261u; /* FNV-1a of the VM's name and the NIC's index */

	if (cfg->nics[index].mac_set) {
		memcpy(mac, cfg->nics[index].mac, 6);
		return;
	}
	snprintf(name, sizeof(name), "%s#%u", cfg->name ? cfg->name : "", index);
	if (!cfg->name)
		snprintf(name, sizeof(name), "pid%d#%u", (int)getpid(), index);
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x5a;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static void command_exited(void *opaque, int status)
{
	struct vm *vm = opaque;

	if (status == STDIO_EXIT_PROTOCOL_ERROR) {
		vm_request_stop(vm, EXIT_GUEST_PROTOCOL, "the sandbox's guest sent an exit status before it was ready, "
			       "or a malformed one: stopped");
		return;
	}
	sandbox_command_exited(vm->sandbox, status);
	vm_request_stop(vm, status, NULL);
}

static void sandbox_takes_exec(void *opaque)
{
	struct vm *vm = opaque;
	sandbox_serving(vm->sandbox);
}

/* virtio-mmio slot n: its window and its interrupt. */
static uint64_t slot_base(unsigned n) { return VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_STRIDE; }
static int slot_spi(unsigned n) { return (int)(VIRTIO_FIRST_SPI + n); }

/* A share in slot n: its server (the root opened now) and its device,
 * virtio-fs or virtio-9p. */
static int add_share(struct vm *vm, const struct virtio_mmio_env *env, unsigned n, const char *host,
		     const char *tag, bool read_only, bool fs, enum share_cache cache, struct error *err)
{
	static const enum fuse_cache caches[] = {
		[SHARE_CACHE_AUTO] = FUSE_CACHE_AUTO, [SHARE_CACHE_NEVER] = FUSE_CACHE_NEVER,
		[SHARE_CACHE_ALWAYS] = FUSE_CACHE_ALWAYS,
	};
	struct confine_needs *c = &vm->confine;
	struct fuse_server *fsrv = NULL;
	struct p9_server *psrv = NULL;
	int root_fd;

	if (fs && !(fsrv = fuse_server_create(host, read_only, caches[cache], err)))
		return -1;
	if (!fs && !(psrv = p9_server_create(host, read_only, err)))
		return -1;
	root_fd = fs ? fuse_server_root_fd(fsrv) : p9_server_root_fd(psrv);
	if (c->nshares < CONFINE_MAX_SHARES) {
		c->share_fds[c->nshares] = root_fd;
		c->share_read_only[c->nshares++] = read_only;
	}
	return vm_add_device(vm, fs ? virtio_fs_create(slot_base(n), slot_spi(n), env, fsrv, tag, err)
				    : virtio_9p_create(slot_base(n), slot_spi(n), env, psrv, tag, err), err);
}

/* The UART's transmit register, held back by KVM (coalesced MMIO): the
 * ring is replayed before every exit (vm_replay_coalesced). */
static int coalesce_uart_writes(void *opaque, uint64_t gpa, unsigned len, bool on)
{
	struct vm *vm = opaque;

	if (kvm_coalesce_mmio(&vm->kvm, gpa, len, on) < 0) {
		log_debug("coalesced MMIO for the UART: %s", strerror(errno));
		return -1;
	}
	if (on)
		atomic_store(&vm->mmio_ring_used, true);
	return 0;
}

int machine_add_devices(struct vm *vm, struct disk **disks, struct error *err)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_mmio_env env = {
		.mem = &vm->mem,
		.irq = &vm->irq,
		.vm_fd = vm->kvm.vm_fd,
		.use_ioeventfd = vm->kvm.caps.ioeventfd,
		.use_irqfd = vm->kvm.caps.irqfd && vm->irq.kind != IRQCHIP_NONE,
	};
	unsigned slot = 0;
	int r;

	console_on_quit(&vm->console, console_quit, vm);
	vm->stdout_path = "/uart@9000000";
	struct device *uart = uart_8250_create(UART_BASE, UART_SPI, &vm->irq, &vm->console, err);
	r = vm_add_device(vm, uart, err);
	if (r == 0 && vm->mmio_ring)
		uart_8250_batch_transmit(uart, coalesce_uart_writes, vm);
	if (r == 0)
		r = vm_add_device(vm, exit_dev_create(EXIT_DEV_BASE, guest_exit, boot_marker, vm, err), err);
	if (r == 0)
		r = vm_add_device(vm, pvpanic_create(PVPANIC_BASE, guest_panic, vm, err), err);
	if (r == 0)
		r = vm_add_device(vm, rtc_pl031_create(RTC_PL031_BASE, RTC_SPI, &vm->irq, NULL, err), err);
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		struct disk *d = disks[i];
		disks[i] = NULL; /* ours now, even on failure */
		if (r == 0)
			r = vm_add_device(vm, virtio_blk_create(slot_base(slot), slot_spi(slot), &env, d, err), err);
		else
			disk_close(d);
		slot++;
	}
	for (unsigned i = 0; r == 0 && i < cfg->nnics; i++) {
		const struct nic_config *nic = &cfg->nics[i];
		struct net_backend *be = nic->kind == NIC_USER ? net_slirp_create(nic, err) : net_tap_create(nic, err);
		uint8_t mac[6];

		if (!be)
			return -1;
		machine_nic_mac(cfg, i, mac);
		r = vm_add_device(vm, virtio_net_create(slot_base(slot), slot_spi(slot), &env, be, mac, err), err);
		slot++;
	}
	/* Shared directories: a sandbox's root, working directory and
	 * --share's; a plain VM's --share's, tagged saevm-share0... */
	if (vm->sandbox) {
		for (unsigned i = 0; r == 0 && i < vm->sandbox->nexports; i++) {
			const struct sandbox_export *x = &vm->sandbox->exports[i];
			r = add_share(vm, &env, slot++, x->host, x->tag, x->read_only, x->fs, x->cache, err);
		}
	} else {
		/* One object, one set of rules: no file writable through two shares. */
		char real[VM_MAX_SHARES][PATH_MAX];
		const char *paths[VM_MAX_SHARES], *what[VM_MAX_SHARES];
		bool ro[VM_MAX_SHARES];
		for (unsigned i = 0; r == 0 && i < cfg->nshares; i++) {
			if (!realpath(cfg->shares[i].host, real[i]))
				r = err_errno(err, EXIT_NO_INPUT, errno, "cannot share %s", cfg->shares[i].host);
			paths[i] = real[i];
			ro[i] = cfg->shares[i].read_only;
			what[i] = "--share";
		}
		if (r == 0)
			r = share_check_overlap(paths, ro, what, cfg->nshares, err);
		for (unsigned i = 0; r == 0 && i < cfg->nshares; i++) {
			char tag[VIRTIO_9P_TAG_MAX + 1];
			snprintf(tag, sizeof(tag), "saevm-share%u", i);
			r = add_share(vm, &env, slot++, cfg->shares[i].host, tag, cfg->shares[i].read_only,
				      cfg->shares[i].proto == SHARE_PROTO_FS, cfg->shares[i].cache, err);
		}
	}
	/* Created after the UART, the virtio console (or the sandbox's stdio
	 * channel) takes the keyboard. */
	if (r == 0 && vm->sandbox) {
		if (!vm->sandbox->tty)
			console_keep_cooked(&vm->console);
		struct device *stdio = virtio_stdio_create(slot_base(slot), slot_spi(slot), &env, &vm->console,
							   STDOUT_FILENO, STDERR_FILENO, command_exited, vm, err);
		if (stdio && cfg->detach)
			virtio_stdio_on_serving(stdio, sandbox_takes_exec, vm);
		r = vm_add_device(vm, stdio, err);
		slot++;
	} else if (r == 0 && cfg->console == CONSOLE_VIRTIO) {
		r = vm_add_device(vm, virtio_console_create(slot_base(slot), slot_spi(slot), &env, &vm->console, err), err);
		slot++;
	}
	if (r == 0 && cfg->rng && !cfg->nodefaults) {
		r = vm_add_device(vm, virtio_rng_create(slot_base(slot), slot_spi(slot), &env, err), err);
		slot++;
	}
	if (r == 0 && cfg->vsock_cid) {
		/* Beside the control socket, NAME.sock: NAME.vsock, NAME.vsock_PORT. */
		char path[sizeof(vm->control_path) + 8];
		if (vm_control_sibling(vm, ".vsock", path, sizeof(path)) < 0)
			return err_set(err, EXIT_USAGE, "--vsock needs the VM's control socket");
		r = vm_add_device(vm, virtio_vsock_create(slot_base(slot), slot_spi(slot), &env, cfg->vsock_cid, path, err),
				  err);
		slot++;
	}
	/* A sandbox that stays up: where saevm exec finds a directory in it. */
	if (r == 0 && vm->sandbox && cfg->detach) {
		char path[sizeof(vm->control_path) + 8];
		if (vm_control_sibling(vm, ".shares", path, sizeof(path)) < 0)
			return err_set(err, EXIT_USAGE, "--detach needs the VM's control socket");
		r = sandbox_write_share_map(vm->sandbox, path, err);
	}
	return r;
}
