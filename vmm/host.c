#include "host.h"

#include "kvm_uapi.h"

void host_caps_apply_profile(struct host_caps *caps, enum host_profile profile)
{
	caps->profile = profile;
	if (profile != HOST_PROFILE_S390)
		return;
	caps->max_vcpus = 1;
	caps->gicv3 = caps->gicv2 = false;
	caps->irqfd = false;
	caps->vcpu_target = KVM_ARM_TARGET_GENERIC_V8;
	caps->vcpu_features_allowed = 0;
	caps->vcpu_features = 0;
	caps->pvtime = false;
	caps->psci = PSCI_SYSTEM_OFF_ONLY;
}

const char *irqchip_name(enum irqchip_kind kind)
{
	switch (kind) {
	case IRQCHIP_GICV3: return "gicv3";
	case IRQCHIP_GICV2: return "gicv2";
	default: return "none";
	}
}
