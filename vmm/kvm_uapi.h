/* kvm_uapi.h - the arm64 KVM uAPI, from the headers vendored under
 * vmm/uapi/arm64 (linux-libc-dev 6.1, GPL-2.0 WITH Linux-syscall-note).
 * s390 installs no arm64 uapi headers, and x86 build hosts only have their
 * own, so every build uses these: -Ivmm/uapi/arm64 puts our asm/kvm.h
 * ahead of the host's. Include this, never <linux/kvm.h> directly. */
#ifndef SAEVM_KVM_UAPI_H
#define SAEVM_KVM_UAPI_H

#include <stddef.h>
#include <linux/kvm.h>

#ifndef KVM_ARM_TARGET_GENERIC_V8
#error "arm64 asm/kvm.h not picked up: build with -Ivmm/uapi/arm64"
#endif

/* The core registers saevm touches (PC, X0-X3, PSTATE) come before the
 * __int128 FP registers, so their ONE_REG ids are the same on every host. */
_Static_assert(offsetof(struct kvm_regs, regs.regs[0]) == 0, "X0 offset");
_Static_assert(offsetof(struct kvm_regs, regs.regs[3]) == 24, "X3 offset");
_Static_assert(offsetof(struct kvm_regs, regs.sp) == 248, "SP offset");
_Static_assert(offsetof(struct kvm_regs, regs.pc) == 256, "PC offset");
_Static_assert(offsetof(struct kvm_regs, regs.pstate) == 264, "PSTATE offset");
/* Not so the FP/SIMD registers: gcc aligns __int128 to 8 bytes on s390x and
 * to 16 on arm64 (clang to 16 on both), so fp_regs sits at 328 on s390x and
 * 336 on arm64, and the ONE_REG ids of V0-V31, FPSR and FPCR differ by 2
 * (in 32-bit units) between the two. The kernel computes them with s390's
 * gcc layout; saevm never touches them. Build s390x with gcc. */
#if defined(__s390x__)
_Static_assert(offsetof(struct kvm_regs, fp_regs) == 328, "s390x gcc layout of kvm_regs");
#elif defined(__aarch64__) || defined(__x86_64__)
_Static_assert(offsetof(struct kvm_regs, fp_regs) == 336, "arm64 layout of kvm_regs");
#endif

#define ARM64_CORE_REG_ID(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

/* PSTATE at reset: EL1h with D, A, I and F masked (booting.rst). */
#define ARM64_PSTATE_EL1H_DAIF 0x3c5ULL

#endif
