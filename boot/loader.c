#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmm/kvm.h"
#include "../vmm/kvm_uapi.h"

static int open_regular(const char *path, const char *what, uint64_t *size, struct error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(err, EXIT_NO_INPUT, errno, "cannot open %s %s", what, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, EXIT_NO_INPUT, "%s %s is not a regular file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int read_fully(int fd, uint64_t offset, void *dst, uint64_t len)
{
	uint8_t *p = dst;

	while (len) {
		ssize_t r = pread(fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO; /* EIO: the file shrank under us */
		p += r;
		offset += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

int boot_files_open(struct boot_files *files, const char *kernel_path, const char *initrd_path,
		    struct error *err)
{
	uint8_t header[ARM64_IMAGE_HEADER_SIZE];
	uint64_t kernel_size;
	size_t got;
	int r;

	memset(files, 0, sizeof(*files));
	files->kernel_fd = files->initrd_fd = -1;
	files->kernel_path = kernel_path;
	files->initrd_path = initrd_path;
	files->kernel_fd = open_regular(kernel_path, "kernel", &kernel_size, err);
	if (files->kernel_fd < 0)
		return -1;
	got = kernel_size < sizeof(header) ? (size_t)kernel_size : sizeof(header);
	r = read_fully(files->kernel_fd, 0, header, got);
	if (r < 0)
		return err_errno(err, EXIT_NO_INPUT, -r, "cannot read kernel %s", kernel_path);
	if (kernel_image_parse(header, got, kernel_size, kernel_path, &files->kernel, err) < 0)
		return -1;
	if (initrd_path) {
		files->initrd_fd = open_regular(initrd_path, "initrd", &files->initrd_size, err);
		if (files->initrd_fd < 0)
			return -1;
		if (files->initrd_size == 0)
			return err_set(err, EXIT_NO_INPUT, "initrd %s is empty", initrd_path);
	}
	return 0;
}

void boot_files_close(struct boot_files *files)
{
	if (files->kernel_fd >= 0)
		close(files->kernel_fd);
	if (files->initrd_fd >= 0)
		close(files->initrd_fd);
	files->kernel_fd = files->initrd_fd = -1;
}

static int load_one(int fd, const char *what, const char *path, uint64_t gpa, uint64_t size,
		    const struct guest_mem *mem, struct error *err)
{
	void *dst = guest_mem_ptr(mem, gpa, size);
	int r;

	if (!dst)
		return err_set(err, EXIT_INTERNAL, "%s does not fit at 0x%llx", what, (unsigned long long)gpa);
	r = read_fully(fd, 0, dst, size);
	if (r < 0)
		return err_errno(err, EXIT_NO_INPUT, -r, "cannot read %s %s", what, path);
	return 0;
}

int boot_files_load(const struct boot_files *files, const struct boot_layout *layout,
		    const struct guest_mem *mem, struct error *err)
{
	if (load_one(files->kernel_fd, "kernel", files->kernel_path, layout->kernel_gpa,
		     files->kernel.file_size, mem, err) < 0)
		return -1;
	if (files->initrd_fd >= 0 &&
	    load_one(files->initrd_fd, "initrd", files->initrd_path, layout->initrd_gpa,
		     files->initrd_size, mem, err) < 0)
		return -1;
	return 0;
}

int boot_set_vcpu_regs(int vcpu_fd, uint64_t entry, uint64_t dtb, struct error *err)
{
	const struct { uint64_t id; uint64_t value; const char *name; } regs[] = {
		{ ARM64_CORE_REG_ID(regs.pstate), ARM64_PSTATE_EL1H_DAIF, "PSTATE" },
		{ ARM64_CORE_REG_ID(regs.regs[0]), dtb, "X0" },
		{ ARM64_CORE_REG_ID(regs.regs[1]), 0, "X1" },
		{ ARM64_CORE_REG_ID(regs.regs[2]), 0, "X2" },
		{ ARM64_CORE_REG_ID(regs.regs[3]), 0, "X3" },
		{ ARM64_CORE_REG_ID(regs.pc), entry, "PC" },
	};

	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (kvm_vcpu_set_reg(vcpu_fd, regs[i].id, regs[i].value) < 0)
			return err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
					 "cannot set %s of the boot vCPU (KVM_SET_ONE_REG)", regs[i].name);
	return 0;
}
