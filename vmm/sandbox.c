#include "sandbox.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

#define OPT(nr) nr,
static const long always_allowed[] = {
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_pwrite64, __NR_preadv,
	__NR_pwritev, __NR_ioctl, __NR_ppoll, __NR_epoll_pwait, __NR_epoll_ctl, __NR_futex, __NR_mmap,
	__NR_munmap, __NR_mprotect, __NR_madvise, __NR_mremap, __NR_brk, __NR_clone, __NR_set_robust_list,
	__NR_sigaltstack, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_rt_sigaction, __NR_tgkill,
	__NR_getpid, __NR_gettid, __NR_exit, __NR_exit_group, __NR_close, __NR_fdatasync, __NR_fsync,
	__NR_fallocate, __NR_clock_gettime, __NR_clock_nanosleep, __NR_nanosleep, __NR_sched_yield,
	__NR_getrandom, __NR_accept4, __NR_fcntl, __NR_prctl, __NR_lseek, __NR_unlinkat, __NR_fstat,
	__NR_newfstatat, __NR_eventfd2, __NR_epoll_create1, __NR_restart_syscall, __NR_sched_getaffinity, __NR_getuid,
	__NR_geteuid,
#ifdef __NR_poll
	OPT(__NR_poll)
#endif
#ifdef __NR_epoll_wait
	OPT(__NR_epoll_wait)
#endif
#ifdef __NR_clone3
	OPT(__NR_clone3)
#endif
#ifdef __NR_rseq
	OPT(__NR_rseq)
#endif
#ifdef __NR_unlink
	OPT(__NR_unlink)
#endif
#ifdef __NR_mmap2
	OPT(__NR_mmap2)
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

static void refused(int sig, siginfo_t *info, void *ctx)
{
	char line[160];
	int n;

	(void)sig;
	(void)ctx;
	term_restore();
	n = snprintf(line, sizeof(line),
		     "saevm: error: the seccomp filter refused system call %d: a bug in saevm (run with --no-seccomp and report it)\n",
		     info->si_syscall);
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		_exit(EXIT_SECCOMP);
	_exit(EXIT_SECCOMP);
}

static int drop_capabilities(struct error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(__NR_capset, &hdr, data) < 0 && errno != EPERM)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot drop capabilities");
	return 0;
}

int sandbox_enter(const struct sandbox_needs *needs, bool seccomp, struct error *err)
{
	struct sock_filter filter[256];
	struct sock_fprog prog;
	struct sigaction sa;
	unsigned n = 0, total;

	if (drop_capabilities(err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "PR_SET_NO_NEW_PRIVS");
	if (!seccomp)
		return 0;
	total = sizeof(always_allowed) / sizeof(long) + (needs->sockets ? sizeof(socket_calls) / sizeof(long) : 0);
	/* Right architecture, else kill; load the number; one jump per
	 * allowed call; the default traps into refused(). */
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAEVM_AUDIT_ARCH, 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < total; i++) {
		long nr = i < sizeof(always_allowed) / sizeof(long) ? always_allowed[i]
								      : socket_calls[i - sizeof(always_allowed) / sizeof(long)];
		/* if equal, skip to the ALLOW at the end: (total - i - 1) jumps + the TRAP */
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr,
							   (unsigned char)(total - i), 0);
	}
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = refused;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	prog.len = (unsigned short)n;
	prog.filter = filter;
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot install the seccomp filter (--no-seccomp to run without)");
	return 0;
}
