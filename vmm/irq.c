#include "irq.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_uapi.h"
#include "log.h"

int irqchip_choose(enum irqchip_request request, unsigned ncpus, const struct host_caps *caps,
		   enum irqchip_kind *out, struct error *err)
{
	bool v3 = caps->gicv3 && ncpus <= GIC_MAX_CPUS_V3;
	bool v2 = caps->gicv2 && ncpus <= GIC_MAX_CPUS_V2;

	switch (request) {
	case IRQCHIP_WANT_NONE:
		*out = IRQCHIP_NONE;
		return 0;
	case IRQCHIP_WANT_GICV3:
		if (!caps->gicv3)
			return err_set(err, EXIT_HOST_UNSUPPORTED, "--irqchip gicv3: this host cannot create an in-kernel GICv3");
		if (!v3)
			return err_set(err, EXIT_USAGE, "--irqchip gicv3 supports at most %llu vCPUs",
				       (unsigned long long)GIC_MAX_CPUS_V3);
		*out = IRQCHIP_GICV3;
		return 0;
	case IRQCHIP_WANT_GICV2:
		if (!caps->gicv2)
			return err_set(err, EXIT_HOST_UNSUPPORTED,
				       "--irqchip gicv2: this host cannot create an in-kernel GICv2 (a GICv3 host without GICv2 compatibility?)");
		if (!v2)
			return err_set(err, EXIT_USAGE, "--irqchip gicv2 supports at most %d vCPUs",
				       GIC_MAX_CPUS_V2);
		*out = IRQCHIP_GICV2;
		return 0;
	case IRQCHIP_AUTO:
		break;
	}
	if (v3 || v2) {
		*out = v3 ? IRQCHIP_GICV3 : IRQCHIP_GICV2;
		return 0;
	}
	if (caps->gicv3 || caps->gicv2)
		return err_set(err, EXIT_USAGE, "%u vCPUs are more than the host's GIC can hold", ncpus);
	*out = IRQCHIP_NONE;
	return 0;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *value)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)value };
	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

int irqchip_create(struct irqchip *chip, int vm_fd, enum irqchip_request request, unsigned ncpus,
		   const struct host_caps *caps, struct error *err)
{
	struct kvm_create_device cd = { 0 };
	uint32_t nr_irqs = GIC_NR_IRQS;
	uint64_t addr;

	memset(chip, 0, sizeof(*chip));
	chip->vm_fd = vm_fd;
	chip->dev_fd = -1;
	chip->ncpus = ncpus;
	if (irqchip_choose(request, ncpus, caps, &chip->kind, err) < 0)
		return -1;
	if (chip->kind == IRQCHIP_NONE)
		return 0;
	cd.type = chip->kind == IRQCHIP_GICV3 ? KVM_DEV_TYPE_ARM_VGIC_V3 : KVM_DEV_TYPE_ARM_VGIC_V2;
	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot create the in-kernel %s",
				 irqchip_name(chip->kind));
	chip->dev_fd = (int)cd.fd;
	addr = GIC_DIST_BASE;
	if (set_attr(chip->dev_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
		     chip->kind == IRQCHIP_GICV3 ? KVM_VGIC_V3_ADDR_TYPE_DIST : KVM_VGIC_V2_ADDR_TYPE_DIST,
		     &addr) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot place the GIC distributor");
	if (chip->kind == IRQCHIP_GICV3) {
		addr = GIC_REDIST_BASE_V3;
		chip->redist_size = GIC_REDIST_SIZE_PER_CPU * ncpus;
		if (set_attr(chip->dev_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &addr) < 0)
			return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot place the GICv3 redistributors");
	} else {
		addr = GIC_CPUIF_BASE_V2;
		if (set_attr(chip->dev_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &addr) < 0)
			return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot place the GICv2 CPU interface");
	}
	if (set_attr(chip->dev_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot size the GIC to %u interrupts", nr_irqs);
	return 0;
}

int irqchip_finalize(struct irqchip *chip, struct error *err)
{
	if (chip->kind == IRQCHIP_NONE)
		return 0;
	if (set_attr(chip->dev_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL) < 0)
		return err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot initialise the in-kernel %s",
				 irqchip_name(chip->kind));
	return 0;
}

void irqchip_set_spi(struct irqchip *chip, unsigned spi, bool level)
{
	struct kvm_irq_level irq;

	if (chip->kind == IRQCHIP_NONE || chip->vm_fd < 0 || spi >= GIC_NR_SPIS)
		return;
	irq.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + spi);
	irq.level = level;
	if (ioctl(chip->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("KVM_IRQ_LINE for SPI %u failed: %s", spi, strerror(errno));
}

void irqchip_destroy(struct irqchip *chip)
{
	if (chip->dev_fd >= 0)
		close(chip->dev_fd);
	chip->dev_fd = -1;
}
