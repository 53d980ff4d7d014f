#include "confine.h"

#include <endian.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_uapi.h"
#include "log.h"
#include "term.h"

/* The seccomp filter checks the ABI of this very binary: the one place
 * where the build architecture is the question, not the host's KVM. */
#if defined(__aarch64__)
#define SAEVM_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__x86_64__)
#define SAEVM_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__s390x__)
#define SAEVM_AUDIT_ARCH AUDIT_ARCH_S390X
#else
#error "unknown architecture for the seccomp filter"
#endif

/* Where the low 32 bits of system-call argument i sit in seccomp_data (the
 * kernel stores each argument as a u64 in this binary's byte order). */
#if __BYTE_ORDER == __BIG_ENDIAN
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#endif
/* clone's flags: first argument, but second on s390x (CLONE_BACKWARDS2).
 * s390x's mmap takes one pointer to its six arguments (old_mmap), so its
 * prot cannot be checked there; mprotect's can, on every ABI. */
#if defined(__s390x__)
#define CLONE_FLAGS_ARG 1
#define MMAP_PROT_ARG -1
#else
#define CLONE_FLAGS_ARG 0
#define MMAP_PROT_ARG 2
#endif
#define THREAD_CLONE_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

/* Why a call was refused: the filter's SECCOMP_RET_DATA, which the kernel
 * hands the SIGSYS handler as si_errno. */
enum refusal { REFUSED_CALL, REFUSED_IOCTL, REFUSED_EXEC_MAP, REFUSED_CLONE, REFUSED_PRCTL };

/* The ioctl requests of a running VM, after setup. */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IOEVENTFD, KVM_IRQFD,          /* vCPUs, devices */
	KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO, /* the UART (uart_8250.h) */
	KVM_ARM_VCPU_INIT, KVM_ARM_VCPU_FINALIZE, KVM_GET_REG_LIST, KVM_SET_ONE_REG, KVM_GET_ONE_REG, /* reboot */
	TCGETS, TCSETS, TIOCGWINSZ,                                /* the terminal */
	TUNSETOFFLOAD,                                             /* tap, at DRIVER_OK */
	BLKDISCARD, BLKZEROOUT,                                    /* disks */
	FIONREAD, FIONBIO,                                         /* libslirp's sockets */
};

#define OPT(nr) nr,
static const long always_allowed[] = {
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_pwrite64, __NR_preadv,
	__NR_pwritev, __NR_ppoll, __NR_epoll_pwait, __NR_epoll_ctl, __NR_futex,
	__NR_munmap, __NR_madvise, __NR_mremap, __NR_brk, __NR_set_robust_list,
	__NR_sigaltstack, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_rt_sigaction, __NR_tgkill,
	__NR_getpid, __NR_gettid, __NR_exit, __NR_exit_group, __NR_close, __NR_fdatasync, __NR_fsync,
	__NR_fallocate, __NR_clock_gettime, __NR_clock_nanosleep, __NR_nanosleep, __NR_sched_yield,
	__NR_getrandom, __NR_accept4, __NR_fcntl, __NR_lseek, __NR_unlinkat, __NR_fstat,
	__NR_newfstatat, __NR_eventfd2, __NR_timerfd_settime, __NR_epoll_create1, __NR_restart_syscall, __NR_sched_getaffinity, __NR_getuid,
	__NR_geteuid,
#ifdef __NR_poll
	OPT(__NR_poll)
#endif
#ifdef __NR_epoll_wait
	OPT(__NR_epoll_wait)
#endif
#ifdef __NR_rseq
	OPT(__NR_rseq)
#endif
#ifdef __NR_unlink
	OPT(__NR_unlink)
#endif
};

/* The share layer's file calls (devices/share/share.c). */
static const long file_calls[] = {
	__NR_openat, __NR_getdents64, __NR_fchmodat, __NR_fchmod, __NR_fchownat, __NR_utimensat, __NR_mkdirat,
	__NR_symlinkat, __NR_mknodat, __NR_linkat, __NR_renameat2, __NR_readlinkat, __NR_fstatfs,
	__NR_ftruncate,
#ifdef __NR_chmod
	OPT(__NR_chmod)
#endif
	452, /* fchmodat2 */
	__NR_faccessat, 439, /* faccessat2: FUSE_ACCESS */
	__NR_copy_file_range,
#ifdef __NR_openat2
	OPT(__NR_openat2)
#else
	437,
#endif
#ifdef __NR_renameat
	OPT(__NR_renameat)
#endif
};

static const long socket_calls[] = {
	__NR_openat, __NR_dup, __NR_uname, __NR_pipe2,
	/* which socket calls exist as system calls differs between ABIs */
#ifdef __NR_socket
	OPT(__NR_socket) OPT(__NR_connect) OPT(__NR_bind) OPT(__NR_listen) OPT(__NR_setsockopt)
	OPT(__NR_getsockopt) OPT(__NR_getsockname) OPT(__NR_getpeername) OPT(__NR_sendto)
	OPT(__NR_recvfrom) OPT(__NR_sendmsg) OPT(__NR_recvmsg) OPT(__NR_shutdown) OPT(__NR_socketpair)
#endif
#ifdef __NR_accept
	OPT(__NR_accept)
#endif
#ifdef __NR_socketcall
	OPT(__NR_socketcall)
#endif
#ifdef __NR_open
	OPT(__NR_open)
#endif
#ifdef __NR_stat
	OPT(__NR_stat)
#endif
};

static const char *call_name(int nr)
{
	static const struct { long nr; const char *name; } names[] = {
		{ __NR_ioctl, "ioctl" }, { __NR_mmap, "mmap" }, { __NR_mprotect, "mprotect" },
		{ __NR_clone, "clone" }, { __NR_prctl, "prctl" }, { __NR_execve, "execve" },
		{ __NR_openat, "openat" }, { __NR_ptrace, "ptrace" }, { __NR_kill, "kill" },
#ifdef __NR_clone3
		{ __NR_clone3, "clone3" },
#endif
#ifdef __NR_fork
		{ __NR_fork, "fork" },
#endif
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return "?";
}

static void refused(int sig, siginfo_t *info, void *ctx)
{
	static const char *const why[] = {
		[REFUSED_CALL] = "not needed after setup",
		[REFUSED_IOCTL] = "an ioctl request saevm never makes (terminal injection, ...)",
		[REFUSED_EXEC_MAP] = "executable memory after setup",
		[REFUSED_CLONE] = "a new process, not a thread",
		[REFUSED_PRCTL] = "a prctl other than naming a thread",
	};
	unsigned reason = (unsigned)info->si_errno < sizeof(why) / sizeof(why[0]) ? (unsigned)info->si_errno : 0;
	char line[256];
	int n;

	(void)sig;
	(void)ctx;
	term_restore();
	n = snprintf(line, sizeof(line),
		     "saevm: error: the seccomp filter refused system call %d (%s): %s; a bug in saevm or a "
		     "compromised saevm (run with --no-seccomp and report it)\n",
		     info->si_syscall, call_name(info->si_syscall), why[reason]);
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		_exit(EXIT_SECCOMP);
	_exit(EXIT_SECCOMP);
}

/* A root saevm serving a share keeps only reading and writing files
 * whatever their mode (DAC_OVERRIDE), as root does in its own directories;
 * never CHOWN, FOWNER or FSETID: the share has one owner and no setuid
 * bits (devices/share/share.h), and without FSETID the kernel itself
 * clears them on a write. */
#define FILE_SERVER_CAPS (1u << CAP_DAC_OVERRIDE)

static int drop_capabilities(bool file_server, struct error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (file_server && geteuid() == 0)
		data[0].effective = data[0].permitted = FILE_SERVER_CAPS;
	if (syscall(__NR_capset, &hdr, data) < 0 && errno != EPERM)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot drop capabilities");
	return 0;
}

#define MAX_FILTER 256
struct filter {
	struct sock_filter insn[MAX_FILTER];
	unsigned n;
};

static void emit(struct filter *f, struct sock_filter insn)
{
	if (f->n < MAX_FILTER)
		f->insn[f->n] = insn;
	f->n++;
}

static struct sock_filter trap(enum refusal why)
{
	return (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | (unsigned)why);
}

static struct sock_filter allow(void) { return (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW); }
static struct sock_filter load(uint32_t off) { return (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off); }
static struct sock_filter load_nr(void) { return load(offsetof(struct seccomp_data, nr)); }
/* if A == k: go on, else skip the next `skip` instructions */
static struct sock_filter if_eq(uint32_t k, uint8_t skip)
{
	return (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, skip);
}

/* System call nr: allowed when argument arg has none of the bits in
 * `forbidden` (or, with `required`, all of them), else trapped with why. */
static void arg_rule(struct filter *f, long nr, int arg, uint32_t bits, bool required, enum refusal why)
{
	emit(f, if_eq((uint32_t)nr, 5));
	emit(f, load(ARG_LO(arg)));
	emit(f, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, bits));
	emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, required ? bits : 0, 0, 1));
	emit(f, allow());
	emit(f, trap(why));
}

/* ---- Landlock ---- */

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444 /* the same numbers on every architecture */
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
			LANDLOCK_ACCESS_FS_TRUNCATE)

static int add_rule(int ruleset, int fd, uint64_t rights)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = rights, .parent_fd = fd };

	return (int)syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
}

static int add_path_rule(int ruleset, const char *path, uint64_t rights, uint64_t handled)
{
	int fd = open(path, O_PATH | O_CLOEXEC), r;
	struct stat st;

	if (fd < 0)
		return 0; /* nothing there to allow */
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= LL_FILE_RIGHTS;
	r = add_rule(ruleset, fd, rights & handled);
	close(fd);
	return r;
}

/* Limits this process's reach into the host's file system to what
 * `needs` names (confine.h). Returns 0, also where the kernel has no
 * usable Landlock (said at info level). */
static int enter_landlock(const struct confine_needs *needs, struct error *err)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	uint64_t handled = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
	int ruleset, r = 0;

	if (abi < 2) {
		/* ABI 1 refuses every rename across directories: the guest's mv. */
		log_info("landlock: %s: the file system is confined by seccomp and the share's rules only",
			 abi < 0 ? "not available in this kernel" : "ABI 1 (Linux 5.13-5.18) cannot allow renames");
		return 0;
	}
	handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr attr = { .handled_access_fs = handled };
	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "landlock_create_ruleset");
	/* Read-write shares: all but making device nodes (share.h). */
	uint64_t rw = handled & ~(uint64_t)(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
					    LANDLOCK_ACCESS_FS_EXECUTE);
	for (unsigned i = 0; r == 0 && i < needs->nshares; i++)
		r = add_rule(ruleset, needs->share_fds[i], needs->share_read_only[i] ? LL_READ : rw);
	if (r == 0 && needs->control_dir)
		r = add_path_rule(ruleset, needs->control_dir, LANDLOCK_ACCESS_FS_REMOVE_FILE, handled);
	if (r == 0 && needs->sockets) /* libslirp reads it for the guest's DNS */
		r = add_path_rule(ruleset, "/etc/resolv.conf", LANDLOCK_ACCESS_FS_READ_FILE, handled);
	if (r == 0 && syscall(__NR_landlock_restrict_self, ruleset, 0) < 0)
		r = -1;
	if (r < 0)
		err_errno(err, EXIT_HOST_ERROR, errno, "cannot confine saevm with Landlock");
	close(ruleset);
	if (r == 0)
		log_info("landlock: ABI %ld: the host's file system is out of reach but for %u share%s", abi,
			 needs->nshares, needs->nshares == 1 ? "" : "s");
	return r;
}

int confine_enter(const struct confine_needs *needs, bool seccomp, struct error *err)
{
	static struct filter f;
	size_t n_always = sizeof(always_allowed) / sizeof(long), n_sock = sizeof(socket_calls) / sizeof(long);
	size_t n_file = sizeof(file_calls) / sizeof(long);
	size_t n_ioctl = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]);
	struct sock_fprog prog;
	struct sigaction sa;

	if (drop_capabilities(needs->file_server, err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "PR_SET_NO_NEW_PRIVS");
	if (enter_landlock(needs, err) < 0)
		return -1;
	if (!seccomp)
		return 0;
	f.n = 0;
	/* Right architecture, else kill. */
	emit(&f, load(offsetof(struct seccomp_data, arch)));
	emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAEVM_AUDIT_ARCH, 1, 0));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	/* Calls allowed with any argument. */
	emit(&f, load_nr());
	for (size_t i = 0; i < n_always + (needs->sockets || needs->vsock ? n_sock : 0); i++) {
		long nr = i < n_always ? always_allowed[i] : socket_calls[i - n_always];
		emit(&f, if_eq((uint32_t)nr, 1));
		emit(&f, allow());
	}
	for (size_t i = 0; needs->file_server && i < n_file; i++) {
		emit(&f, if_eq((uint32_t)file_calls[i], 1));
		emit(&f, allow());
	}
	/* ioctl: only the requests on the list (the kernel takes the low 32
	 * bits of the request). */
	emit(&f, if_eq(__NR_ioctl, (uint8_t)(2 * n_ioctl + 2)));
	emit(&f, load(ARG_LO(1)));
	for (size_t i = 0; i < n_ioctl; i++) {
		emit(&f, if_eq((uint32_t)allowed_ioctls[i], 1));
		emit(&f, allow());
	}
	emit(&f, trap(REFUSED_IOCTL));
	/* Memory: never executable; threads, never processes; prctl only to
	 * name a thread. */
	arg_rule(&f, __NR_mprotect, 2, PROT_EXEC, false, REFUSED_EXEC_MAP);
	emit(&f, load_nr());
	if (MMAP_PROT_ARG >= 0) {
		arg_rule(&f, __NR_mmap, MMAP_PROT_ARG, PROT_EXEC, false, REFUSED_EXEC_MAP);
		emit(&f, load_nr());
	} else {
		emit(&f, if_eq(__NR_mmap, 1));
		emit(&f, allow());
	}
	arg_rule(&f, __NR_clone, CLONE_FLAGS_ARG, THREAD_CLONE_FLAGS, true, REFUSED_CLONE);
	emit(&f, load_nr());
#ifdef __NR_clone3
	/* clone3's flags sit behind a pointer the filter cannot read: ENOSYS
	 * makes glibc fall back to clone, whose flags it can. */
	emit(&f, if_eq(__NR_clone3, 1));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
#endif
	emit(&f, if_eq(__NR_prctl, 4));
	emit(&f, load(ARG_LO(0)));
	emit(&f, if_eq(PR_SET_NAME, 1));
	emit(&f, allow());
	emit(&f, trap(REFUSED_PRCTL));
	emit(&f, trap(REFUSED_CALL));
	if (f.n > MAX_FILTER)
		return err_set(err, EXIT_INTERNAL, "the seccomp filter needs %u instructions, more than %d", f.n, MAX_FILTER);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = refused;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	prog.len = (unsigned short)f.n;
	prog.filter = f.insn;
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot install the seccomp filter (--no-seccomp to run without)");
	return 0;
}

int confine_try_denied(const char *which, struct error *err)
{
	long r = -1;

	if (!strcmp(which, "tiocsti")) {
		char c = '#';
		r = ioctl(STDIN_FILENO, TIOCSTI, &c);
	} else if (!strcmp(which, "tioclinux")) {
		char sub = 6; /* TIOCL_GETSHIFTSTATE */
		r = ioctl(STDIN_FILENO, TIOCLINUX, &sub);
	} else if (!strcmp(which, "ioctl")) {
		r = ioctl(STDIN_FILENO, 0x5a5a0001, NULL);
	} else if (!strcmp(which, "mmap-exec")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		r = p == MAP_FAILED ? -1 : 0;
	} else if (!strcmp(which, "mprotect-exec")) {
		static uint8_t page[8192] __attribute__((aligned(4096)));
		r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
	} else if (!strcmp(which, "fork")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		r = pid;
	} else if (!strcmp(which, "prctl")) {
		r = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	} else if (!strcmp(which, "execve")) {
		char *argv[] = { "true", NULL };
		r = execve("/bin/true", argv, NULL);
	} else {
		return err_set(err, EXIT_USAGE, "SAEVM_TEST_DENIED_CALL=%s: unknown call", which);
	}
	return err_set(err, EXIT_INTERNAL, "the seccomp filter let '%s' through (it returned %ld, errno %d)", which, r,
		       errno);
}
