#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm_uapi.h"
#include "log.h"

#define KVM_DEFAULT_IPA_BITS 40
#define KVM_MIN_IPA_BITS 32

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int kvm_vm_type_for(uint64_t gpa_end, unsigned ipa_bits_max, unsigned *bits_out)
{
	unsigned bits = KVM_MIN_IPA_BITS;

	while (bits < 64 && (1ULL << bits) < gpa_end)
		bits++;
	*bits_out = bits;
	/* type 0 means the 40-bit default. Older native kernels only know 0,
	 * and the s390 module refuses 0 when its limit is under 40 bits. */
	if (bits <= KVM_DEFAULT_IPA_BITS && (ipa_bits_max == 0 || ipa_bits_max >= KVM_DEFAULT_IPA_BITS)) {
		*bits_out = KVM_DEFAULT_IPA_BITS;
		return 0;
	}
	if (ipa_bits_max == 0 || bits > ipa_bits_max)
		return -1;
	return (int)KVM_VM_TYPE_ARM_IPA_SIZE(bits);
}

/* What to tell a user whose KVM device would not open. On IBM Z the arm64
 * guests need the SAE facility (hwcap bit 23, "sae" in /proc/cpuinfo) and
 * the kvm-arm64 module; elsewhere, arm64 KVM. */
static const char *missing_device_hint(void)
{
	struct utsname u;

	if (uname(&u) == 0 && !strcmp(u.machine, "s390x"))
		return getauxval(AT_HWCAP) & (1UL << 23)
			       ? "IBM Z: load the kvm-arm64 module, and check you may open /dev/kvm-arm64"
			       : "IBM Z: this machine lacks the SAE facility that runs arm64 guests";
	return "is this an arm64 KVM host, and may you use it?";
}

static bool can_create_device(int vm_fd, uint32_t type)
{
	struct kvm_create_device cd = { .type = type, .flags = KVM_CREATE_DEVICE_TEST };
	return ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) == 0;
}

int kvm_create(struct kvm_vm *kvm, const char *path, uint64_t gpa_end, enum host_profile profile,
	       struct error *err)
{
	struct kvm_vcpu_init preferred;
	struct host_caps *caps = &kvm->caps;
	unsigned bits;
	int type, version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->dev_fd = kvm->vm_fd = -1;
	if (!path)
		path = access("/dev/kvm-arm64", F_OK) == 0 ? "/dev/kvm-arm64" : "/dev/kvm";
	caps->device_path = path;
	kvm->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->dev_fd < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot open KVM device %s (%s)", path,
				 missing_device_hint());
	version = ioctl(kvm->dev_fd, KVM_GET_API_VERSION, 0);
	if (version < 0)
		return err_set(err, EXIT_HOST_UNSUPPORTED, "%s is not a KVM device", path);
	if (version != KVM_API_VERSION)
		return err_set(err, EXIT_HOST_UNSUPPORTED, "%s speaks KVM API %d, saevm needs %d",
			       path, version, KVM_API_VERSION);

	caps->ipa_bits_max = (unsigned)check_ext(kvm->dev_fd, KVM_CAP_ARM_VM_IPA_SIZE);
	type = kvm_vm_type_for(gpa_end, caps->ipa_bits_max, &bits);
	if (type < 0)
		return err_set(err, EXIT_HOST_UNSUPPORTED,
			       "guest memory ends at 0x%llx, beyond the host's %u-bit guest address space: lower -m",
			       (unsigned long long)gpa_end,
			       caps->ipa_bits_max ? caps->ipa_bits_max : KVM_DEFAULT_IPA_BITS);
	kvm->vm_fd = ioctl(kvm->dev_fd, KVM_CREATE_VM, type);
	if (kvm->vm_fd < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
				 "KVM_CREATE_VM with a %u-bit IPA space failed on %s", bits, path);
	kvm->run_mmap_size = ioctl(kvm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_mmap_size < (int)sizeof(struct kvm_run))
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "KVM_GET_VCPU_MMAP_SIZE failed");

	/* Capabilities that gate nothing essential are read from the VM fd;
	 * ONE_REG, PSCI and IRQCHIP are deliberately not consulted (the s390
	 * module reports 0 though ONE_REG works): those are probed by use. */
	caps->max_vcpus = (unsigned)check_ext(kvm->vm_fd, KVM_CAP_MAX_VCPUS);
	if (!caps->max_vcpus)
		caps->max_vcpus = (unsigned)check_ext(kvm->vm_fd, KVM_CAP_NR_VCPUS);
	if (!caps->max_vcpus)
		caps->max_vcpus = 1;
	caps->ioeventfd = check_ext(kvm->vm_fd, KVM_CAP_IOEVENTFD) > 0;
	caps->irqfd = check_ext(kvm->vm_fd, KVM_CAP_IRQFD) > 0;
	{ /* the ring must lie inside the vCPU mapping */
		int page = check_ext(kvm->vm_fd, KVM_CAP_COALESCED_MMIO);
		long size = sysconf(_SC_PAGESIZE);
		if (page > 0 && size > 0 && (long)(page + 1) * size <= kvm->run_mmap_size)
			caps->coalesced_mmio_page = (unsigned)page;
	}
	/* Every arm64 KVM has this VM ioctl, the s390 module included; an
	 * x86 or s390-native /dev/kvm does not (ENOTTY). */
	memset(&preferred, 0, sizeof(preferred));
	if (ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &preferred) == 0)
		caps->vcpu_target = preferred.target;
	else if (errno == ENOTTY)
		return err_set(err, EXIT_HOST_UNSUPPORTED,
			       "%s is not an arm64 KVM (it runs this host's own kind of guests)", path);
	else
		caps->vcpu_target = KVM_ARM_TARGET_GENERIC_V8;
	caps->gicv3 = can_create_device(kvm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3);
	caps->gicv2 = can_create_device(kvm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2);
	caps->vcpu_features_allowed = (1u << KVM_ARM_VCPU_PSCI_0_2) | (1u << KVM_ARM_VCPU_POWER_OFF);
	/* What the peers' `-cpu host` gives: pointer authentication (both
	 * kinds, KVM takes them only together), SVE, the PMU. */
	if (check_ext(kvm->vm_fd, KVM_CAP_ARM_PTRAUTH_ADDRESS) > 0 && check_ext(kvm->vm_fd, KVM_CAP_ARM_PTRAUTH_GENERIC) > 0)
		caps->vcpu_features_allowed |= VCPU_FEATURES_PAUTH;
	if (check_ext(kvm->vm_fd, KVM_CAP_ARM_SVE) > 0)
		caps->vcpu_features_allowed |= 1u << KVM_ARM_VCPU_SVE;
	if (check_ext(kvm->vm_fd, KVM_CAP_ARM_PMU_V3) > 0)
		caps->vcpu_features_allowed |= 1u << KVM_ARM_VCPU_PMU_V3;
	caps->psci_0_2_cap = check_ext(kvm->vm_fd, KVM_CAP_ARM_PSCI_0_2) > 0;
	caps->pvtime = check_ext(kvm->vm_fd, KVM_CAP_STEAL_TIME) > 0;
	caps->psci = PSCI_SYSTEM_OFF_ONLY; /* until the boot vCPU's init says more */
	host_caps_apply_profile(caps, profile);
	log_debug("host: %s, max %u vCPUs, IPA %u bits (max %u), gicv3 %d gicv2 %d, ioeventfd %d irqfd %d, "
		  "coalesced MMIO %d",
		  path, caps->max_vcpus, bits, caps->ipa_bits_max, caps->gicv3, caps->gicv2,
		  caps->ioeventfd, caps->irqfd, caps->coalesced_mmio_page > 0);
	return 0;
}

void kvm_destroy(struct kvm_vm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->dev_fd >= 0)
		close(kvm->dev_fd);
	kvm->vm_fd = kvm->dev_fd = -1;
}

int kvm_coalesce_mmio(struct kvm_vm *kvm, uint64_t gpa, uint32_t size, bool on)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = gpa, .size = size };

	return ioctl(kvm->vm_fd, on ? KVM_REGISTER_COALESCED_MMIO : KVM_UNREGISTER_COALESCED_MMIO, &zone);
}

int kvm_add_memslot(struct kvm_vm *kvm, unsigned slot, uint64_t gpa, uint64_t size, void *host,
		    struct error *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
				 "cannot register %llu MiB of guest RAM at 0x%llx with KVM",
				 (unsigned long long)(size >> 20), (unsigned long long)gpa);
	return 0;
}

/* The s390 module v4 accepts every feature bit and ignores it, later ones
 * refuse PSCI_0_2; neither reports the capability. Native arm64 does both.
 * Requiring both is right on all of them, and on future s390 modules. */
static enum psci_kind psci_from(const struct host_caps *caps, uint32_t features)
{
	return caps->psci_0_2_cap && (features & (1u << KVM_ARM_VCPU_PSCI_0_2))
		       ? PSCI_0_2 : PSCI_SYSTEM_OFF_ONLY;
}

int kvm_vcpu_create(struct kvm_vm *kvm, unsigned index, int *fd_out, struct kvm_run **run_out,
		    struct error *err)
{
	struct kvm_run *run;
	int fd;

	fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (fd < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot create vCPU %u", index);
	*fd_out = fd;
	run = mmap(NULL, (size_t)kvm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot map kvm_run of vCPU %u", index);
	*run_out = run;
	return kvm_vcpu_init(kvm, fd, index, err);
}

int kvm_vcpu_init(struct kvm_vm *kvm, int fd, unsigned index, struct error *err)
{
	struct host_caps *caps = &kvm->caps;
	uint32_t want = caps->vcpu_features_allowed;
	struct kvm_vcpu_init init;

	if (index == 0)
		want &= ~(1u << KVM_ARM_VCPU_POWER_OFF); /* the boot vCPU runs */
	else
		want &= caps->vcpu_features | (1u << KVM_ARM_VCPU_POWER_OFF);
	/* Ask for what we want, then shed bits the host refuses, the optional
	 * features first: the s390 module (post-v4) rejects PSCI_0_2 and
	 * POWER_OFF with EINVAL. The result is the same every time, so this
	 * also serves as vCPU reset. */
	for (unsigned shed = 0;;) {
		static const uint32_t shed_order[] = { 1u << KVM_ARM_VCPU_PMU_V3, 1u << KVM_ARM_VCPU_SVE,
						       VCPU_FEATURES_PAUTH, 1u << KVM_ARM_VCPU_POWER_OFF, ~0u };
		memset(&init, 0, sizeof(init));
		init.target = caps->vcpu_target;
		init.features[0] = want;
		if (ioctl(fd, KVM_ARM_VCPU_INIT, &init) == 0)
			break;
		if (errno != EINVAL || want == 0)
			return err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
					 "KVM_ARM_VCPU_INIT of vCPU %u (target %u, features 0x%x) failed",
					 index, init.target, want);
		log_debug("vCPU %u: host refused features 0x%x, retrying with fewer", index, want);
		while (shed < sizeof(shed_order) / sizeof(shed_order[0]) - 1 && !(want & shed_order[shed]))
			shed++;
		want &= ~shed_order[shed++];
	}
	/* SVE's vector lengths are final once the vCPU is finalized, which it
	 * must be before it runs; a reset vCPU stays finalized (EPERM). */
	if (want & (1u << KVM_ARM_VCPU_SVE)) {
		int what = KVM_ARM_VCPU_SVE;
		if (ioctl(fd, KVM_ARM_VCPU_FINALIZE, &what) < 0 && errno != EPERM)
			return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "KVM_ARM_VCPU_FINALIZE (SVE) of vCPU %u", index);
	}
	if (index == 0) {
		struct kvm_reg_list probe = { .n = 0 };
		/* Informational: the s390 module (v4) answers a positive count
		 * where arm64 answers -1/E2BIG for n = 0; both mean "works". */
		int r = ioctl(fd, KVM_GET_REG_LIST, &probe);
		log_debug("vCPU 0: KVM_GET_REG_LIST reports %llu registers (%s)", (unsigned long long)probe.n,
			  r >= 0 || errno == E2BIG ? "supported" : strerror(errno));
		caps->vcpu_features = want;
		if (caps->profile != HOST_PROFILE_S390)
			caps->psci = psci_from(caps, want);
	} else if (!(want & (1u << KVM_ARM_VCPU_POWER_OFF))) {
		return err_set(err, EXIT_HOST_UNSUPPORTED,
			       "the host cannot hold secondary vCPUs powered off until the guest starts them: use -c 1");
	}
	return 0;
}

int kvm_vcpu_init_pmu(int fd, unsigned index, unsigned intid, struct error *err)
{
	int irq = (int)intid;
	struct kvm_device_attr set_irq = { .group = KVM_ARM_VCPU_PMU_V3_CTRL, .attr = KVM_ARM_VCPU_PMU_V3_IRQ,
					   .addr = (uintptr_t)&irq };
	struct kvm_device_attr init = { .group = KVM_ARM_VCPU_PMU_V3_CTRL, .attr = KVM_ARM_VCPU_PMU_V3_INIT };

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &set_irq) < 0 || ioctl(fd, KVM_SET_DEVICE_ATTR, &init) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "the PMU of vCPU %u (--cpu-features nopmu runs without)",
				 index);
	return 0;
}

int kvm_vcpu_init_pvtime(int fd, unsigned index, uint64_t ipa, struct error *err)
{
	struct kvm_device_attr attr = { .group = KVM_ARM_VCPU_PVTIME_CTRL, .attr = KVM_ARM_VCPU_PVTIME_IPA,
					.addr = (uintptr_t)&ipa };

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &attr) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
				 "the stolen-time record of vCPU %u (--cpu-features nopvtime runs without)", index);
	return 0;
}

int kvm_vcpu_set_reg(int vcpu_fd, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&value };
	return ioctl(vcpu_fd, KVM_SET_ONE_REG, &reg);
}

int kvm_vcpu_get_reg(int vcpu_fd, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)value };
	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &reg);
}
