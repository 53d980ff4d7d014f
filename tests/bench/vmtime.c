/* vmtime.c - times a VMM from outside, the same way for saevm and QEMU, so
 * `make bench` compares them by one method. Static arm64 binary for L1.
 *
 *   vmtime [--kvm-trace] -- VMM [ARG...]
 *
 * Runs VMM with stdin /dev/null and stdout+stderr on a pipe, copies every
 * line it prints to stdout and adds, all times in seconds since just
 * before the fork (CLOCK_MONOTONIC):
 *
 *   @@V pid=PID                first: the VMM's PID (for /proc/PID)
 *   @@V mark LABEL t=T cpu=C guest=G  for each line holding "@@M LABEL"
 *                              (the guest prints those on its console):
 *                              when it arrived, the VMM's own CPU time so
 *                              far (utime + stime - guest time,
 *                              /proc/PID/stat) and its vCPUs' time in the
 *                              guest
 *   @@V exit t=T status=S      when the VMM was reaped, and its status
 *   @@V first_entry t=T        --kvm-trace: the kernel's first kvm_entry
 *                              (the VMM's first KVM_RUN reaching the guest)
 *   @@V system_off t=T         --kvm-trace: the kernel's return to the VMM
 *                              with KVM_EXIT_SYSTEM_EVENT (the guest's PSCI
 *                              SYSTEM_OFF)
 *
 * --kvm-trace uses two tracefs instances with the mono clock (the same as
 * CLOCK_MONOTONIC): one records kvm_entry once and then turns itself off
 * (a trigger with a condition, so it runs after the event is recorded),
 * the other records only kvm_userspace_exit with reason 24. Neither costs
 * the VMM anything but the kernel's tracepoint. Only one VM may run at a
 * time. Exit: the VMM's status, or 2 on a setup error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"
#define ENTRY TRACEFS "/instances/vmtime_entry"
#define SYSOFF TRACEFS "/instances/vmtime_sysoff"

static double t0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int setup_instance(const char *dir, const char *event, const char *filter, const char *trigger)
{
	char p[256];
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	snprintf(p, sizeof(p), "%s/tracing_on", dir);
	if (put(p, "0"))
		return -1;
	snprintf(p, sizeof(p), "%s/trace_clock", dir);
	if (put(p, "mono"))
		return -1;
	snprintf(p, sizeof(p), "%s/buffer_size_kb", dir);
	put(p, "64");
	snprintf(p, sizeof(p), "%s/events/kvm/%s/enable", dir, event);
	if (put(p, "1"))
		return -1;
	if (filter) {
		snprintf(p, sizeof(p), "%s/events/kvm/%s/filter", dir, event);
		if (put(p, filter))
			return -1;
	}
	if (trigger) {
		snprintf(p, sizeof(p), "%s/events/kvm/%s/trigger", dir, event);
		put(p, "!traceoff"); /* the last run's, if any */
		if (put(p, trigger))
			return -1;
	}
	snprintf(p, sizeof(p), "%s/trace", dir);
	if (put(p, ""))
		return -1;
	snprintf(p, sizeof(p), "%s/tracing_on", dir);
	return put(p, "1");
}

/* The timestamp of the first line of DIR/trace naming EVENT, or -1. */
static double first_event(const char *dir, const char *event)
{
	char p[256], line[512], key[64];
	snprintf(p, sizeof(p), "%s/trace", dir);
	snprintf(key, sizeof(key), ": %s:", event);
	FILE *f = fopen(p, "r");
	double t = -1;
	if (!f)
		return -1;
	while (t < 0 && fgets(line, sizeof(line), f)) {
		char *k = strstr(line, key);
		if (!k || line[0] == '#')
			continue;
		*k = '\0';
		char *s = strrchr(line, ' ');
		if (s)
			t = strtod(s + 1, NULL);
	}
	fclose(f);
	snprintf(p, sizeof(p), "%s/tracing_on", dir);
	put(p, "0");
	return t;
}

/* The VMM's own CPU seconds: every thread's user and system time less the
 * time its vCPUs spent in the guest (which the kernel counts as user), and
 * that guest time; -1 for both when /proc cannot be read. */
static void cpu_times(pid_t pid, double *vmm, double *guest)
{
	*vmm = *guest = -1;
	char p[64], buf[2048];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *s = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!s)
		return;
	/* field 3 (state) follows ") "; utime 14, stime 15, guest_time 43 */
	unsigned long long v[44] = { 0 };
	int field = 3;
	for (char *tok = strtok(s + 2, " "); tok && field < 44; tok = strtok(NULL, " "), field++)
		v[field] = strtoull(tok, NULL, 10);
	double hz = (double)sysconf(_SC_CLK_TCK);
	*vmm = ((double)v[14] + (double)v[15] - (double)v[43]) / hz;
	*guest = (double)v[43] / hz;
}

static void on_line(char *line, pid_t pid)
{
	fputs(line, stdout);
	char *m = strstr(line, "@@M ");
	if (m) {
		char label[64];
		double vmm, guest;
		if (sscanf(m + 4, "%63s", label) == 1) {
			cpu_times(pid, &vmm, &guest);
			printf("@@V mark %s t=%.6f cpu=%.3f guest=%.3f\n", label, now() - t0, vmm, guest);
		}
	}
}

int main(int argc, char **argv)
{
	int trace = 0, i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--kvm-trace"))
			trace = 1;
		else
			return fprintf(stderr, "vmtime: unknown option %s\n", argv[i]), 2;
	}
	if (i + 1 >= argc)
		return fprintf(stderr, "usage: vmtime [--kvm-trace] -- VMM [ARG...]\n"), 2;
	char **cmd = argv + i + 1;
	if (trace && (setup_instance(ENTRY, "kvm_entry", NULL, "traceoff:1 if vcpu_pc != 1") ||
		      setup_instance(SYSOFF, "kvm_userspace_exit", "reason == 24", NULL)))
		return fprintf(stderr, "vmtime: cannot set up tracefs at %s: %s\n", TRACEFS, strerror(errno)), 2;
	int pipefd[2];
	if (pipe(pipefd))
		return perror("vmtime: pipe"), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		return perror("vmtime: fork"), 2;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "vmtime: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	printf("@@V pid=%d\n", (int)pid);
	FILE *out = fdopen(pipefd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, out) > 0)
		on_line(line, pid);
	int status;
	waitpid(pid, &status, 0);
	double t_exit = now() - t0;
	printf("@@V exit t=%.6f status=%d\n", t_exit, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (trace) {
		double e = first_event(ENTRY, "kvm_entry"), off = first_event(SYSOFF, "kvm_userspace_exit");
		if (e > 0)
			printf("@@V first_entry t=%.6f\n", e - t0);
		if (off > 0)
			printf("@@V system_off t=%.6f\n", off - t0);
	}
	free(line);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
