/* bare-exit.c - the limit for saevm's MMIO exit cost: the least a VMM can
 * do per exit. A guest of 8 instructions reads an MMIO word N times (the
 * same address and loop as the probe guest's probe.exits=N), timing the
 * loop with the arch counter; this program's KVM_RUN loop answers each
 * read with 0 and nothing else. Prints "BARE exits N ticks T freq F".
 * Static arm64 binary for the rig: no libraries but libc. */
#include <fcntl.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define RAM 0x80000000ULL
#define MMIO 0x09001000ULL

static int die(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	/* mov x2, #0x09001000; mov x3, #n; t0 = cntvct; 1: ldr w1, [x2];
	 * subs x3, x3, #1; b.ne 1b; t1 = cntvct; store t1 - t0 and cntfrq to
	 * MMIO + 0x10 / + 0x18; PSCI SYSTEM_OFF. */
	const uint32_t code[] = {
		0xd2820002, 0xf2a12002,             /* movz x2, #0x1000; movk x2, #0x0900, lsl 16 */
		0xd2800003 | ((n & 0xffff) << 5),   /* movz x3, #n */
		0xd5033fdf, 0xd53be044,             /* isb; mrs x4, cntvct_el0 */
		0xb9400041, 0xf1000463, 0x54ffffc1, /* 1: ldr w1, [x2]; subs x3, x3, #1; b.ne 1b */
		0xd5033fdf, 0xd53be045,             /* isb; mrs x5, cntvct_el0 */
		0xcb0400a5, 0xd53be006,             /* sub x5, x5, x4; mrs x6, cntfrq_el0 */
		0xf9000845, 0xf9000c46,             /* str x5, [x2, #16]; str x6, [x2, #24] */
		0xd2800100, 0xf2b08000, 0xd4000002, /* x0 = 0x84000008; hvc #0 */
		0x14000000,
	};
	uint64_t ticks = 0, freq = 0;
	int kvm, vm, vcpu;

	if (n == 0 || n > 65535)
		n = 20000;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	void *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = { .guest_phys_addr = RAM, .memory_size = 0x10000,
						      .userspace_addr = (uintptr_t)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_vcpu_init init;
	ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2; /* SYSTEM_OFF is PSCI 0.2's */
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return die("KVM_ARM_VCPU_INIT");
	uint64_t pc = RAM;
	struct kvm_one_reg reg = { .id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
					 (offsetof(struct kvm_regs, regs.pc) / 4),
				   .addr = (uintptr_t)&pc };
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		return die("KVM_SET_ONE_REG");
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (run->mmio.is_write && run->mmio.phys_addr == MMIO + 16)
				memcpy(&ticks, run->mmio.data, 8);
			else if (run->mmio.is_write && run->mmio.phys_addr == MMIO + 24)
				memcpy(&freq, run->mmio.data, 8);
			else if (!run->mmio.is_write)
				memset(run->mmio.data, 0, 8);
		} else if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT) {
			break;
		} else {
			fprintf(stderr, "exit %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("BARE exits %u ticks %llu freq %llu\n", n, (unsigned long long)ticks, (unsigned long long)freq);
	return 0;
}
