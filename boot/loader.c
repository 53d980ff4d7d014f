#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmm/kvm.h"
#include "../vmm/kvm_uapi.h"
#include "../vmm/log.h"

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

/* The kernel in files->kernel_fd (size bytes): its header checked. */
static int check_kernel(struct boot_files *files, uint64_t kernel_size, struct error *err)
{
	uint8_t header[ARM64_IMAGE_HEADER_SIZE];
	size_t got = kernel_size < sizeof(header) ? (size_t)kernel_size : sizeof(header);
	int r = read_fully(files->kernel_fd, 0, header, got);

	if (r < 0)
		return err_errno(err, EXIT_NO_INPUT, -r, "cannot read kernel %s", files->kernel_path);
	if (kernel_image_parse(header, got, kernel_size, files->kernel_path, &files->kernel, err) < 0)
		return -1;
	if (files->kernel.raw)
		log_info("kernel %s has no arm64 Image header: booting it as a raw binary at RAM base + 0x%x "
			 "(entered there, x0 = the device tree)", files->kernel_path, RAW_BINARY_OFFSET);
	return 0;
}

int boot_files_open(struct boot_files *files, const char *kernel_path, const char *initrd_path,
		    struct error *err)
{
	uint64_t kernel_size;

	memset(files, 0, sizeof(*files));
	files->kernel_fd = files->initrd_fd = -1;
	files->kernel_path = kernel_path;
	files->initrd_path = initrd_path;
	files->kernel_fd = open_regular(kernel_path, "kernel", &kernel_size, err);
	if (files->kernel_fd < 0 || check_kernel(files, kernel_size, err) < 0)
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

int boot_files_open_kernel_fd(struct boot_files *files, int kernel_fd, const char *kernel_name, struct error *err)
{
	struct stat st;

	memset(files, 0, sizeof(*files));
	files->initrd_fd = -1;
	files->kernel_path = kernel_name;
	if ((files->kernel_fd = fcntl(kernel_fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "dup");
	if (fstat(files->kernel_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(err, EXIT_NO_INPUT, "kernel %s is not a regular file", kernel_name);
	return check_kernel(files, (uint64_t)st.st_size, err);
}

int boot_files_use_initrd(struct boot_files *files, int fd, const char *what, struct error *err)
{
	struct stat st;

	if (files->initrd_fd >= 0)
		close(files->initrd_fd);
	files->initrd_path = what;
	files->initrd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (files->initrd_fd < 0 || fstat(files->initrd_fd, &st) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "%s", what);
	files->initrd_size = (uint64_t)st.st_size;
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

/* Reading a 30+ MB Image into guest RAM is most of saevm's own start-up
 * (a copy from the page cache, plus faulting in the RAM behind it). It
 * scales with CPUs, so the files are cut into slices that up to
 * LOAD_MAX_THREADS threads read side by side. A slice is 8 MiB: small
 * files stay on one thread, and each 2 MiB huge page is faulted in by one
 * thread only. */
#define LOAD_SLICE (8ULL << 20)
#define LOAD_MAX_THREADS 4

struct load_file {
	int fd;
	const char *what, *path;
	uint64_t gpa, size;
	uint8_t *dst;
};

struct load_job {
	struct load_file files[2];
	unsigned nfiles;
	uint64_t nslices;
	_Atomic uint64_t next; /* the next slice to take */
	pthread_mutex_t lock;  /* guards the first failure */
	int failed_errno;      /* 0: none yet */
	unsigned failed_file;
};

static uint64_t slices_of(uint64_t size) { return (size + LOAD_SLICE - 1) / LOAD_SLICE; }

static void *load_worker(void *arg)
{
	struct load_job *job = arg;
	uint64_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->nslices) {
		unsigned f = 0;
		while (i >= slices_of(job->files[f].size)) /* which file the slice is in */
			i -= slices_of(job->files[f++].size);
		const struct load_file *lf = &job->files[f];
		uint64_t offset = i * LOAD_SLICE;
		uint64_t len = lf->size - offset < LOAD_SLICE ? lf->size - offset : LOAD_SLICE;
		int r = read_fully(lf->fd, offset, lf->dst + offset, len);

		if (r < 0) {
			pthread_mutex_lock(&job->lock);
			if (!job->failed_errno) {
				job->failed_errno = -r;
				job->failed_file = f;
			}
			pthread_mutex_unlock(&job->lock);
		}
	}
	return NULL;
}

int boot_files_load(const struct boot_files *files, const struct boot_layout *layout,
		    const struct guest_mem *mem, unsigned max_threads, struct error *err)
{
	struct load_job job = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t helpers[LOAD_MAX_THREADS - 1];
	unsigned nhelpers = 0, wanted;

	job.files[job.nfiles++] = (struct load_file){ .fd = files->kernel_fd, .what = "kernel",
						      .path = files->kernel_path, .gpa = layout->kernel_gpa,
						      .size = files->kernel.file_size };
	if (files->initrd_fd >= 0)
		job.files[job.nfiles++] = (struct load_file){ .fd = files->initrd_fd, .what = "initrd",
							      .path = files->initrd_path, .gpa = layout->initrd_gpa,
							      .size = files->initrd_size };
	for (unsigned f = 0; f < job.nfiles; f++) {
		struct load_file *lf = &job.files[f];

		lf->dst = guest_mem_ptr(mem, lf->gpa, lf->size);
		if (!lf->dst)
			return err_set(err, EXIT_INTERNAL, "%s does not fit at 0x%llx", lf->what,
				       (unsigned long long)lf->gpa);
		job.nslices += slices_of(lf->size);
	}
	wanted = max_threads < job.nslices ? max_threads : (unsigned)job.nslices;
	if (wanted > LOAD_MAX_THREADS)
		wanted = LOAD_MAX_THREADS;
	/* A helper that cannot start is no error: this thread reads its share. */
	while (nhelpers + 1 < wanted && pthread_create(&helpers[nhelpers], NULL, load_worker, &job) == 0)
		nhelpers++;
	load_worker(&job);
	while (nhelpers)
		pthread_join(helpers[--nhelpers], NULL);
	if (job.failed_errno)
		return err_errno(err, EXIT_NO_INPUT, job.failed_errno, "cannot read %s %s",
				 job.files[job.failed_file].what, job.files[job.failed_file].path);
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
