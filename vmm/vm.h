/* vm.h - one running VM: the pieces main.c wires together.
 *
 * The guest's memory map is the machine's (vmm/machine.h); the platform
 * fixes only RAM_BASE and the GIC's windows (vmm/irq.h).
 *
 * Thread model - the one place it is written down:
 *
 *   main thread     parses, builds the VM, starts the other threads, then
 *                   sleeps in poll() on a signalfd (SIGINT, SIGTERM, SIGHUP),
 *                   vm->stop_fd, the control socket (vmm/control.h) and
 *                   the --timeout deadline until somebody asks the VM to
 *                   stop; pause/resume are served here too. Then it joins
 *                   everyone and tears down.
 *   vCPU threads    one per vCPU: KVM_RUN, then handle the exit inline
 *                   (MMIO register accesses go through the bus to the
 *                   device on this thread; they are cheap and must not
 *                   queue). Only these threads take SIG_VCPU_KICK, which
 *                   with kvm_run.immediate_exit pulls them out of KVM_RUN.
 *   console thread  stdin -> the console device's receive side (UART FIFO,
 *                   hvc0's receive queue, or the sandbox's stdio frames),
 *                   the output ring -> stdout (vmm/console.h), SIGWINCH ->
 *                   the sandbox's window-size frame. Never holds a device
 *                   lock while it blocks. A vCPU wakes it for output only
 *                   when it sleeps; while output flows it comes back
 *                   every 20 ms by itself (CONSOLE_BATCH_MS).
 *   I/O threads     one per virtio device (vmm/iothread.h): woken by the
 *                   QueueNotify eventfd (KVM ioeventfd, or the vCPU thread
 *                   signals it), they walk the queue, do the I/O (disk
 *                   preadv/pwritev straight into guest buffers), push the
 *                   used ring and raise the interrupt (irqfd, or
 *                   KVM_IRQ_LINE). Register accesses stay on vCPU threads.
 *                   A NIC's thread also runs its backend (libslirp's poll
 *                   loop, or the tap); what libslirp answers while the
 *                   thread transmits, holding the transmit lock, goes to
 *                   the guest only if the receive lock is free, else
 *                   waits for its next holder (devices/virtio_net.c). A 9p share's thread serves its
 *                   requests against the host directory through the share
 *                   layer (devices/share/share.h: by descriptor, beneath
 *                   the root; preadv and pwritev into guest buffers); a
 *                   share's state is that thread's alone. The sandbox's stdio
 *                   channel's thread writes the command's output to
 *                   stdout and stderr, waiting (100 ms polls, ended by
 *                   reset or stop) while they are full. The vsock
 *                   device's thread (devices/vsock/virtio_vsock.h) owns
 *                   every stream and its host Unix socket: one epoll over
 *                   the notifications, the listening socket and the
 *                   streams; it fills the receive queue under its lock and
 *                   empties the transmit queue under that one, never both;
 *                   a vCPU's reset only bumps a generation that the thread
 *                   acts on before it next touches a queue. Each holds a queue's lock only for a
 *                   bounded pass (64 chains or 32 MiB) and ends it early
 *                   when a vCPU resetting the device, or stop, waits for
 *                   the lock (devices/virtio_mmio.c says what each lock
 *                   guards).
 *   rtc thread      the PL031's (devices/rtc_pl031.c): sleeps on a
 *                   timerfd set to the guest's alarm (the match register)
 *                   and raises its level interrupt when it fires; every
 *                   register access also evaluates the alarm, under the
 *                   device's lock.
 *   loader threads  up to 4 while the kernel and initrd are read into RAM
 *                   (boot/loader.c), joined before the vCPUs run.
 *
 * Whoever ends the VM (a vCPU seeing SYSTEM_OFF, the console seeing Ctrl-A
 * x, main seeing a signal) calls vm_request_stop(): the first caller's exit
 * code wins, every vCPU is kicked, main wakes up. */
#ifndef SAEVM_VM_H
#define SAEVM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "confine.h"
#include "console.h"
#include "irq.h"
#include "kvm.h"
#include "memory.h"
#include "mmio_bus.h"

#define RAM_BASE 0x80000000ULL
#define PMU_PPI_INTID 23 /* PPI 7, as QEMU's virt machine and kvmtool use */
/* Stolen-time records (pvtime), 64 bytes per vCPU, in their own 64 KiB
 * memslot below the virtio-mmio window: not RAM in the DT, so the guest
 * maps it apart (it finds it with the SMCCC PV_TIME_ST call, which KVM
 * answers). */
#define PVTIME_BASE 0x09ff0000ULL
#define PVTIME_SIZE 0x10000ULL
#define PVTIME_SLOT 1
#define SIG_VCPU_KICK SIGUSR1

struct vm;
struct sandbox;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	unsigned long mmio_exits;
};

struct vm {
	const struct vm_config *cfg;
	struct sandbox *sandbox; /* saevm sandbox (vmm/sandbox.h), else NULL */
	struct kvm_vm kvm;
	struct guest_mem mem;
	void *pvtime;        /* PVTIME_SIZE bytes mapped at PVTIME_BASE, or NULL */
	struct irqchip irq;
	struct mmio_bus bus;
	struct console console;
	struct console_exit exit_watch; /* --exit-on-console */
	struct vcpu *vcpus;
	unsigned ncpus;
	unsigned host_cpus; /* online when saevm started: the seccomp filter hides /sys later */
	uint64_t entry_gpa;
	uint64_t dtb_gpa;

	bool devices_started;
	/* KVM's coalesced MMIO ring (the UART's transmit register, vmm/vcpu.c),
	 * or NULL; replayed under its lock before every exit is handled. */
	struct kvm_coalesced_mmio_ring *mmio_ring;
	unsigned mmio_ring_slots;
	pthread_mutex_t mmio_ring_lock;
	atomic_bool mmio_ring_used; /* a zone is registered: main replays it too */
	bool drop_setup_code; /* set by vm_run unless debugged; vCPU 0's, once it runs */

	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int exit_code;
	double stopped_at; /* seconds since saevm started, for the exit timing */
	int stop_fd; /* eventfd main sleeps on */

	/* pause: vCPUs park outside KVM_RUN while `paused` (stop_lock) */
	atomic_bool paused;
	unsigned parked;
	pthread_cond_t pause_cond;

	const char *stdout_path; /* the DT's /chosen stdout-path, set by the machine */
	int control_fd; /* -1: none */
	char control_path[108];
	int console_log_fd;
	/* The shares' roots (their servers' O_PATH descriptors): all of the
	 * host's file system that saevm keeps in reach after setup. */
	struct confine_needs confine;
};

/* Ends the VM with `exit_code` (the first request wins) and says why on
 * stderr when `why` is not NULL. Any thread may call it. */
void vm_request_stop(struct vm *vm, int exit_code, const char *why, ...)
	__attribute__((format(printf, 3, 4)));

/* Starts one thread per vCPU; vCPU 0 begins at vm->entry_gpa. */
int vcpus_start(struct vm *vm, struct error *err);
/* Parks every vCPU outside the guest / lets them run again. */
void vcpus_pause(struct vm *vm);
void vcpus_resume(struct vm *vm);
/* Kicks (if stopping) and joins every vCPU thread. */
void vcpus_join(struct vm *vm);
/* One KVM_RUN exit, handled; false when the vCPU must stop. Exposed for
 * tests of the dispatch with a fake kvm_run. */
bool vcpu_handle_exit(struct vcpu *vcpu);

/* The steps of a VM's life, in the order vmm/main.c calls them. */
struct boot_files;
struct boot_layout;
int vm_create(struct vm *vm, const struct vm_config *cfg, struct sandbox *sandbox, struct error *err);
/* The console on the terminal (and --console-log) and the control socket. */
int vm_open_console_and_control(struct vm *vm, struct error *err);
/* Puts a device on the bus (the VM owns it from here, also on failure;
 * NULL: its creation failed and `err` says why). */
struct device;
int vm_add_device(struct vm *vm, struct device *dev, struct error *err);
/* The path beside the control socket NAME.sock with `suffix` for .sock
 * (".vsock": NAME.vsock); -1 without a control socket. */
int vm_control_sibling(const struct vm *vm, const char *suffix, char *buf, size_t size);
/* Replays the writes KVM held back in the coalesced MMIO ring. Any thread;
 * a vCPU thread calls it before handling each exit, main every 50 ms (a
 * guest that writes and then only sleeps) and once the vCPUs are joined. */
void vm_replay_coalesced(struct vm *vm);

/* On vCPU 0's thread as it first enters the guest (the devices' and the
 * console's threads are up): unmaps the binary's read-only pages, once,
 * when vm_run said so. */
void vm_drop_setup_code(struct vm *vm);
/* Returns a malloc'd blob (fdt_totalsize() bytes long), NULL on error. */
uint8_t *vm_build_dtb(struct vm *vm, const struct boot_layout *layout, const char *cmdline,
		      struct error *err);
int vm_load(struct vm *vm, const struct boot_files *files, const struct boot_layout *layout,
	    const void *dtb, size_t dtb_size, struct error *err);
int vm_run(struct vm *vm, int signal_fd, struct error *err);
/* A guest reset with --reboot: every device back to power-on (their I/O
 * threads stop touching the old guest's rings), the vCPUs re-initialised;
 * vm_load comes next. */
int vm_reset_for_reboot(struct vm *vm, struct error *err);
void vm_print_stats(struct vm *vm, FILE *out);
void vm_destroy(struct vm *vm);

#endif
