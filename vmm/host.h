/* host.h - what the host's KVM offers, as data.
 *
 * Native arm64 KVM and the s390 kvm-arm64 module share one uAPI but offer
 * different subsets of it. saevm never asks which architecture it was built
 * for: it probes the device (by trying, not by trusting capabilities - the
 * s390 module reports 0 for ONE_REG, PSCI and IRQCHIP although ONE_REG
 * works), records the answers here, and every decision reads this struct.
 * --host-profile s390 narrows a native host to the s390 contract so that
 * path runs for real in the test rig. */
#ifndef SAEVM_HOST_H
#define SAEVM_HOST_H

#include <stdbool.h>
#include <stdint.h>

enum irqchip_kind { IRQCHIP_NONE, IRQCHIP_GICV2, IRQCHIP_GICV3 };
enum irqchip_request { IRQCHIP_AUTO, IRQCHIP_WANT_GICV3, IRQCHIP_WANT_GICV2, IRQCHIP_WANT_NONE };
enum psci_kind {
	PSCI_SYSTEM_OFF_ONLY, /* the s390 stub: only SYSTEM_OFF over hvc, no CPU_ON */
	PSCI_0_2,             /* PSCI 0.2 or later in the kernel (CPU_ON, RESET...) */
};
enum host_profile { HOST_PROFILE_AUTO, HOST_PROFILE_S390 };

/* KVM_ARM_VCPU_PTRAUTH_ADDRESS and _GENERIC: KVM takes both or neither. */
#define VCPU_FEATURES_PAUTH ((1u << 5) | (1u << 6))

struct host_caps {
	const char *device_path;  /* the KVM device opened */
	unsigned max_vcpus;       /* KVM_CAP_MAX_VCPUS, else NR_VCPUS, else 1 */
	unsigned ipa_bits_max;    /* KVM_CAP_ARM_VM_IPA_SIZE; 0: only the 40-bit default */
	bool gicv3, gicv2;        /* in-kernel vGIC types that can be created */
	bool ioeventfd, irqfd;    /* usable for devices (irqfd needs an irqchip too) */
	unsigned coalesced_mmio_page; /* KVM_CAP_COALESCED_MMIO: its ring's page in kvm_run's mapping; 0: none */
	uint32_t vcpu_target;     /* KVM_ARM_PREFERRED_TARGET, else GENERIC_V8 */
	uint32_t vcpu_features_allowed; /* feature bits saevm may ask for at all */
	uint32_t vcpu_features;   /* what KVM_ARM_VCPU_INIT accepted (boot vCPU) */
	bool psci_0_2_cap;        /* KVM_CAP_ARM_PSCI_0_2 (0 on the s390 module) */
	bool pvtime;              /* KVM_CAP_STEAL_TIME: stolen-time records the guest finds by SMCCC */
	enum psci_kind psci;      /* PSCI_0_2 only if the cap says so AND vCPU init took the bit */
	enum host_profile profile;
};

/* Narrows probed capabilities to the s390 kvm-arm64 contract: one vCPU, no
 * in-kernel irqchip, zero vCPU feature bits, SYSTEM_OFF as the only PSCI
 * call, ioeventfd but no irqfd. Pure; used on real s390 hosts too. */
void host_caps_apply_profile(struct host_caps *caps, enum host_profile profile);

const char *irqchip_name(enum irqchip_kind kind);

#endif
