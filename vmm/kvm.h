/* kvm.h - the KVM device, the VM, memslots and vCPU file descriptors. */
#ifndef SAEVM_KVM_H
#define SAEVM_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "host.h"

struct kvm_run;

struct kvm_vm {
	int dev_fd;
	int vm_fd;
	int run_mmap_size;
	struct host_caps caps;
};

/* Opens `path`, or /dev/kvm-arm64 when it exists (the s390 module), else
 * /dev/kvm. Then creates a VM whose IPA space covers [0, gpa_end) and fills
 * kvm->caps by probing, narrowed by `profile`. */
int kvm_create(struct kvm_vm *kvm, const char *path, uint64_t gpa_end, enum host_profile profile,
	       struct error *err);
void kvm_destroy(struct kvm_vm *kvm);

/* Lets KVM buffer the guest's writes to [gpa, gpa + size) in the
 * coalesced MMIO ring instead of exiting (on), or stops it (off). */
int kvm_coalesce_mmio(struct kvm_vm *kvm, uint64_t gpa, uint32_t size, bool on);

int kvm_add_memslot(struct kvm_vm *kvm, unsigned slot, uint64_t gpa, uint64_t size, void *host,
		    struct error *err);

/* Creates vCPU `index`, maps its kvm_run and initialises it: PSCI 0.2 (and
 * powered-off for secondaries) where the host accepts them, falling back to
 * fewer feature bits on EINVAL. The boot vCPU (index 0) records what was
 * accepted in kvm->caps. */
int kvm_vcpu_create(struct kvm_vm *kvm, unsigned index, int *fd, struct kvm_run **run,
		    struct error *err);
/* (Re)initialises a vCPU: also how a reboot resets it to the arm64 reset state. */
int kvm_vcpu_init(struct kvm_vm *kvm, int fd, unsigned index, struct error *err);
/* The PMU of a vCPU that took KVM_ARM_VCPU_PMU_V3: its overflow interrupt is
 * PPI `intid`; after the in-kernel irqchip is initialised. */
int kvm_vcpu_init_pmu(int fd, unsigned index, unsigned intid, struct error *err);
/* Tells KVM where vCPU `index` keeps its stolen-time record (64 bytes at
 * guest address ipa, in a memslot); before its first KVM_RUN. */
int kvm_vcpu_init_pvtime(int fd, unsigned index, uint64_t ipa, struct error *err);
int kvm_vcpu_set_reg(int vcpu_fd, uint64_t id, uint64_t value);
int kvm_vcpu_get_reg(int vcpu_fd, uint64_t id, uint64_t *value);

/* The IPA size (bits) for a VM whose highest address is gpa_end - 1, as
 * KVM_CREATE_VM's type. Pure, for tests. -1 when the host cannot. */
int kvm_vm_type_for(uint64_t gpa_end, unsigned ipa_bits_max, unsigned *bits_out);

#endif
