#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_uapi.h"
#include "log.h"
#include "vm.h"

void vm_request_stop(struct vm *vm, int exit_code, const char *why, ...)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->stop_lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->exit_code = exit_code;
		vm->stopped_at = log_wall_since_start();
		atomic_store(&vm->stopping, true);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (!first)
		return;
	pthread_mutex_lock(&vm->stop_lock);
	pthread_cond_broadcast(&vm->pause_cond); /* parked vCPUs leave too */
	pthread_mutex_unlock(&vm->stop_lock);
	if (why) {
		char msg[256];
		va_list ap;
		va_start(ap, why);
		vsnprintf(msg, sizeof(msg), why, ap);
		va_end(ap);
		console_flush(&vm->console); /* the guest's last lines first */
		log_msg(exit_code == EXIT_GUEST_POWEROFF || exit_code < 64 ? LOG_INFO : LOG_ERROR, "%s", msg);
	}
	/* immediate_exit first, then the signal: a vCPU between its stopping
	 * check and KVM_RUN returns at once instead of entering the guest. */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			v->run->immediate_exit = 1;
		if (v->thread_started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, SIG_VCPU_KICK);
	}
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_debug("stop eventfd: %s", strerror(errno));
}

static uint64_t vcpu_pc(struct vcpu *vcpu)
{
	uint64_t pc = 0;
	kvm_vcpu_get_reg(vcpu->fd, ARM64_CORE_REG_ID(regs.pc), &pc);
	return pc;
}

static bool handle_system_event(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vm, EXIT_GUEST_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vm, EXIT_GUEST_RESET,
				vm->cfg->reboot ? NULL : "guest asked for a reset (use --reboot to reboot it)");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vm_request_stop(vm, EXIT_GUEST_CRASH, "KVM reports that the guest crashed (vCPU %u)",
				vcpu->index);
		break;
	default:
		vm_request_stop(vm, EXIT_VCPU_FAULT, "vCPU %u: unknown system event %u", vcpu->index,
				vcpu->run->system_event.type);
		break;
	}
	return false;
}

void vm_replay_coalesced(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *ring = vm->mmio_ring;

	/* first == last: nothing held back (KVM moves last, we move first) */
	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) == __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->mmio_ring_lock);
	mmio_bus_replay_ring(&vm->bus, ring, vm->mmio_ring_slots);
	pthread_mutex_unlock(&vm->mmio_ring_lock);
}

bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	/* What this vCPU (or another) wrote before this exit comes first. */
	vm_replay_coalesced(vcpu->vm);
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		vcpu->mmio_exits++;
		mmio_bus_dispatch(&vcpu->vm->bus, run->mmio.phys_addr, run->mmio.data,
				  run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(vcpu);
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vcpu->vm, EXIT_VCPU_FAULT,
				"vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)", vcpu->index,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_request_stop(vcpu->vm, EXIT_VCPU_FAULT, "vCPU %u: KVM internal error %u at PC 0x%llx",
				vcpu->index, run->internal.suberror, (unsigned long long)vcpu_pc(vcpu));
		return false;
	default:
		vm_request_stop(vcpu->vm, EXIT_VCPU_FAULT, "vCPU %u: unexpected exit reason %u at PC 0x%llx",
				vcpu->index, run->exit_reason, (unsigned long long)vcpu_pc(vcpu));
		return false;
	}
}

static const char *kvm_run_error_hint(int errnum)
{
	switch (errnum) {
	case ENOEXEC: return " (the guest touched memory that does not exist, or the vCPU was not initialised)";
	case ENOSYS: return " (an MMIO access KVM cannot decode, e.g. a load/store pair to a device)";
	case EFAULT: return " (host fault while running the guest)";
	default: return "";
	}
}

/* Called when `paused` was seen: wait outside the guest until resumed. */
static void park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->stop_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->paused) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->stop_lock);
	vm->parked--;
	if (!atomic_load(&vm->stopping))
		vcpu->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->stop_lock);
}

void vcpus_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	atomic_store(&vm->paused, true);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		vm->vcpus[i].run->immediate_exit = 1;
		if (vm->vcpus[i].thread_started)
			pthread_kill(vm->vcpus[i].thread, SIG_VCPU_KICK);
	}
	while (vm->parked < vm->ncpus && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
}

void vcpus_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (vcpu->index == 0) {
		log_info("vCPU 0 enters the guest %.4f s after saevm started (%.4f s CPU)", log_wall_since_start(),
			 log_cpu_since_start());
		vm_drop_setup_code(vm); /* setup is over */
	}
	while (!atomic_load(&vm->stopping)) {
		if (atomic_load_explicit(&vm->paused, memory_order_relaxed)) {
			park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int e = errno;
			if (e == EINTR || e == EAGAIN)
				continue;
			vm_request_stop(vm, EXIT_VCPU_FAULT, "vCPU %u stopped at PC 0x%llx: KVM_RUN: %s%s",
					vcpu->index, (unsigned long long)vcpu_pc(vcpu), strerror(e),
					kvm_run_error_hint(e));
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

static void kick_handler(int sig) { (void)sig; }

int vcpus_start(struct vm *vm, struct error *err)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int r;

		v->run->immediate_exit = 0;
		r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r)
			return err_errno(err, EXIT_HOST_ERROR, r, "cannot start vCPU thread %u", i);
		v->thread_started = true;
	}
	return 0;
}

void vcpus_join(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->thread_started)
			continue;
		if (v->run)
			v->run->immediate_exit = 1;
		pthread_kill(v->thread, SIG_VCPU_KICK);
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}
