/* sandbox_init.c - PID 1 of a `saevm sandbox` guest: a static arm64
 * program that saevm carries inside itself and puts, with the kernel
 * modules the guest needs, into an initramfs it writes in memory.
 *
 *  1. mounts /proc, /sys, /dev; loads the modules in /saevm/modules.list, in order
 *     (virtio-mmio, virtio-console, 9p...);
 *  2. mounts the share tagged "saevm-root" (the --rootfs directory; virtio-fs
 *     or 9p, as saevm's configuration says) on
 *     /newroot and every other share at its place in it, then enters it;
 *  3. runs the command as the user's uid and gid in their directory,
 *     with pipes for stdin, stdout and stderr (or a pseudo-terminal when
 *     saevm's stdin is one), and relays them as frames over /dev/hvc0
 *     (guest/stdio_proto.h);
 *  4. sends the command's exit status, syncs, and powers off.
 * Whatever goes wrong here is told on the stderr frame as "saevm-init: ..."
 * and ends with status 125 (saevm's own failure), 126 or 127 (the command
 * cannot be run / was not found), as env(1) and chroot(1) do. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "stdio_proto.h"

#define MAX_ARGS 1024
#define MAX_SHARES 16
#define MAX_ENV 64

static int chan = -1; /* /dev/hvc0 */
static bool times; /* saevm.times on the kernel command line: say where the boot went */
static char times_line[256];

/* Notes the guest's uptime at a step, for the "times" line. */
static void mark(const char *step)
{
	struct timespec t;
	size_t n = strlen(times_line);

	if (!times)
		return;
	clock_gettime(CLOCK_BOOTTIME, &t);
	snprintf(times_line + n, sizeof(times_line) - n, " %s=%.3f", step, (double)t.tv_sec + t.tv_nsec / 1e9);
}

static void send_frame(int type, const void *data, size_t len)
{
	uint8_t hdr[STDIO_HDR] = { (uint8_t)type, 0, (uint8_t)len, (uint8_t)(len >> 8) };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)data, len } };
	size_t total = sizeof(hdr) + len, done = 0;

	if (chan < 0)
		return;
	while (done < total) {
		ssize_t w = writev(chan, iov, 2);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
		for (int i = 0; i < 2; i++) {
			size_t take = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			w -= (ssize_t)take;
		}
	}
}

static void send_data(int type, const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = len > STDIO_MAX_DATA ? STDIO_MAX_DATA : len;
		send_frame(type, p, n);
		p += n;
		len -= n;
	}
}

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "saevm-init: ");

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (chan >= 0)
		send_data(STDIO_STDERR, (uint8_t *)line, (size_t)n);
	else if (write(2, line, (size_t)n) < 0) /* the kernel console, before hvc0 */
		return;
}

static void finish(int status)
{
	uint8_t b = (uint8_t)status;

	/* Everything written reaches the host's files before saevm hears the
	 * status: it ends the VM when it does. */
	sync();
	send_frame(STDIO_EXIT, &b, 1);
	if (chan >= 0)
		tcdrain(chan);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* ---- the configuration saevm wrote: NUL-separated key=value entries ---- */
struct share {
	char *tag, *path;
	bool ro, fs; /* fs: virtio-fs, else 9p */
};
static struct {
	uid_t uid;
	gid_t gid;
	char *cwd, *term;
	bool tty, overlay, root_fs;
	bool serve; /* saevm sandbox --detach: stay up, run `saevm exec` streams */
	unsigned rows, cols;
	char *argv[MAX_ARGS + 1];
	unsigned argc;
	struct share shares[MAX_SHARES];
	unsigned nshares;
	char *env[MAX_ENV + 1];
	unsigned nenv;
	char msize[16];
	char cache[16];
} cfg = { .msize = "524288", .cache = "loose" };

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) { /* /proc files say size 0: read to the end */
		if (n == cap) {
			char *p = realloc(buf, (cap *= 2) + 1);
			if (!p)
				break;
			buf = p;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* key=value entries, each NUL-ended: the initramfs's saevm/config, or an
 * exec stream's REQUEST frames. */
static void parse_config(char *buf, size_t len)
{
	for (char *p = buf, *next; p < buf + len; p = next) {
		next = p + strlen(p) + 1; /* before the '=' is cut: a value may hold '=' too */
		char *eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *v = eq + 1;
		if (!strcmp(p, "uid"))
			cfg.uid = (uid_t)strtoul(v, NULL, 10);
		else if (!strcmp(p, "gid"))
			cfg.gid = (gid_t)strtoul(v, NULL, 10);
		else if (!strcmp(p, "cwd"))
			cfg.cwd = v;
		else if (!strcmp(p, "term"))
			cfg.term = v;
		else if (!strcmp(p, "root"))
			cfg.overlay = !strcmp(v, "overlay");
		else if (!strcmp(p, "tty"))
			cfg.tty = v[0] == '1';
		else if (!strcmp(p, "rows"))
			cfg.rows = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(p, "cols"))
			cfg.cols = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(p, "msize"))
			snprintf(cfg.msize, sizeof(cfg.msize), "%s", v);
		else if (!strcmp(p, "arg") && cfg.argc < MAX_ARGS)
			cfg.argv[cfg.argc++] = v;
		else if (!strcmp(p, "env") && cfg.nenv < MAX_ENV)
			cfg.env[cfg.nenv++] = v;
		else if (!strcmp(p, "rootproto"))
			cfg.root_fs = !strcmp(v, "fs");
		else if (!strcmp(p, "serve"))
			cfg.serve = v[0] == '1';
		else if (!strcmp(p, "share") && cfg.nshares < MAX_SHARES) {
			/* tag \t guest path \t rw|ro [\t fs|9p] */
			struct share *s = &cfg.shares[cfg.nshares];
			char *t1 = strchr(v, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
			if (!t2)
				continue;
			*t1 = *t2 = '\0';
			if (t3)
				*t3 = '\0';
			s->tag = v;
			s->path = t1 + 1;
			s->ro = !strcmp(t2 + 1, "ro");
			s->fs = t3 && !strcmp(t3 + 1, "fs");
			cfg.nshares++;
		}
	}
}

static void read_config(void)
{
	size_t len;
	char *buf = read_file("/saevm/config", &len);

	if (!buf) {
		say("no /saevm/config");
		finish(125);
	}
	parse_config(buf, len);
}

/* ---- bring-up ---- */
static void load_modules(void)
{
	size_t len;
	char *list = read_file("/saevm/modules.list", &len);

	for (char *p = list, *nl; p && *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n')))
			break;
		*nl = '\0';
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		bool compressed = strstr(p, ".ko.") != NULL;
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", compressed ? 4 /* MODULE_INIT_COMPRESSED_FILE */ : 0) < 0 &&
			       errno != EEXIST))
			say("cannot load module %s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static int open_channel(void)
{
	/* The port appears once virtio_console has probed the device. */
	for (int i = 0; i < 500; i++) {
		int fd = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			struct termios t;
			if (tcgetattr(fd, &t) == 0) {
				cfmakeraw(&t);
				tcsetattr(fd, TCSANOW, &t);
			}
			return fd;
		}
		usleep(10000);
	}
	return -1;
}

/* mkdir -p inside the new root (a mount point for a share). */
static int make_dirs(const char *path)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -1;
			*s = c;
			if (!c)
				return 0;
		}
	}
}

static void mount_9p(const char *tag, const char *where, bool ro)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "trans=virtio,version=9p2000.L,msize=%s,cache=%s,access=user", cfg.msize, cfg.cache);
	if (mount(tag, where, "9p", ro ? MS_RDONLY : 0, opts) < 0) {
		say("cannot mount the 9p share %s on %s: %s", tag, where, strerror(errno));
		finish(125);
	}
}

/* A share: virtio-fs (FUSE; the host's attribute timeouts say how long
 * the guest caches) or 9p. */
static void mount_share(const char *tag, const char *where, bool ro, bool fs)
{
	if (!fs) {
		mount_9p(tag, where, ro);
		return;
	}
	if (mount(tag, where, "virtiofs", ro ? MS_RDONLY : 0, NULL) < 0) {
		say("cannot mount the virtio-fs share %s on %s: %s", tag, where, strerror(errno));
		finish(125);
	}
}

static void enter_root(void)
{
	mkdir("/newroot", 0755);
	if (cfg.overlay) {
		/* The rootfs read-only below, the guest's changes in a tmpfs. */
		mkdir("/lower", 0755);
		mkdir("/up", 0755);
		mount_share("saevm-root", "/lower", true, cfg.root_fs);
		if (mount("tmpfs", "/up", "tmpfs", 0, "mode=0755") < 0 || mkdir("/up/upper", 0755) < 0 ||
		    mkdir("/up/work", 0755) < 0 ||
		    mount("overlay", "/newroot", "overlay", 0, "lowerdir=/lower,upperdir=/up/upper,workdir=/up/work") < 0) {
			say("cannot lay a writable overlay over the root filesystem: %s", strerror(errno));
			finish(125);
		}
	} else {
		mount_share("saevm-root", "/newroot", false, cfg.root_fs);
	}
	if (chdir("/newroot") < 0) {
		say("cannot enter the root filesystem: %s", strerror(errno));
		finish(125);
	}
	/* Scratch space first, so a share below /tmp gets its mount point
	 * on the tmpfs rather than in the root filesystem. */
	mount("tmpfs", "/newroot/run", "tmpfs", 0, "mode=0755");
	mount("tmpfs", "/newroot/tmp", "tmpfs", 0, "mode=1777");
	for (unsigned i = 0; i < cfg.nshares; i++) {
		char where[4200];
		snprintf(where, sizeof(where), "/newroot%s", cfg.shares[i].path);
		if (make_dirs(where) < 0) {
			say("cannot make the mount point %s in the root filesystem: %s", cfg.shares[i].path,
			    strerror(errno));
			finish(125);
		}
		mount_share(cfg.shares[i].tag, where, cfg.shares[i].ro, cfg.shares[i].fs);
	}
	static const char *const moves[] = { "/dev", "/proc", "/sys" };
	for (unsigned i = 0; i < 3; i++) {
		char where[64];
		snprintf(where, sizeof(where), "/newroot%s", moves[i]);
		mkdir(where, 0755);
		if (mount(moves[i], where, NULL, MS_MOVE, NULL) < 0)
			say("cannot move %s into the root filesystem: %s", moves[i], strerror(errno));
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		say("cannot switch to the root filesystem: %s", strerror(errno));
		finish(125);
	}
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=0620");
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
}

/* ---- running the command ---- */

/* SIGCHLD is blocked but while the loop waits (ppoll), so the status goes
 * as soon as the command ends rather than at the next 50 ms tick. */
static sigset_t run_mask; /* the mask while waiting, and the command's */
static void child(int in_fd, int out_fd, int err_fd, int tty_fd, int report)
{
	char *envp[MAX_ENV + 8];
	unsigned n = 0;
	static char home[4200], term[128], path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int e;

	sigprocmask(SIG_SETMASK, &run_mask, NULL); /* the command's own mask: SIGCHLD not blocked */
	if (tty_fd >= 0) {
		setsid();
		ioctl(tty_fd, TIOCSCTTY, 0);
		in_fd = out_fd = err_fd = tty_fd;
	}
	dup2(in_fd, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	envp[n++] = path;
	snprintf(home, sizeof(home), "HOME=%s", cfg.cwd ? cfg.cwd : "/");
	envp[n++] = home;
	if (cfg.term) {
		snprintf(term, sizeof(term), "TERM=%s", cfg.term);
		envp[n++] = term;
	}
	for (unsigned i = 0; i < cfg.nenv; i++)
		envp[n++] = cfg.env[i];
	envp[n] = NULL;
	if (setgroups(0, NULL) < 0 || setgid(cfg.gid) < 0 || setuid(cfg.uid) < 0) {
		e = errno;
		(void)!write(report, &e, sizeof(e));
		_exit(125);
	}
	if (cfg.cwd && chdir(cfg.cwd) < 0)
		fprintf(stderr, "saevm-init: cannot enter %s: %s (running in /)\n", cfg.cwd, strerror(errno));
	environ = envp;
	execvp(cfg.argv[0], cfg.argv);
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

static int wait_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 125;
}

/* Frames from saevm: stdin bytes, its end, the window size. The bytes
 * for the command's stdin wait here (never a blocking write: a command
 * whose stdout is full stops reading its stdin, and we must keep draining
 * its stdout meanwhile). */
#define STDIN_HIGH (256u << 10)
static struct {
	uint8_t buf[STDIO_HDR + STDIO_MAX_DATA];
	size_t have;
	uint8_t *pend;
	size_t pend_len, pend_cap;
	bool eof;
} in;

static pid_t command_pid; /* the command, once it runs */
static bool exec_times;    /* an exec stream with saevm.times: mark when the command started */

static void handle_frames(int tty_fd)
{
	while (in.have >= STDIO_HDR) {
		size_t len = in.buf[2] | (size_t)in.buf[3] << 8;
		if (in.have < STDIO_HDR + len)
			return;
		const uint8_t *d = in.buf + STDIO_HDR;
		switch (in.buf[0]) {
		case STDIO_STDIN:
			if (in.pend_len + len > in.pend_cap) {
				size_t cap = (in.pend_len + len) * 2;
				uint8_t *p = realloc(in.pend, cap);
				if (!p)
					break;
				in.pend = p;
				in.pend_cap = cap;
			}
			memcpy(in.pend + in.pend_len, d, len);
			in.pend_len += len;
			break;
		case STDIO_EOF:
			in.eof = true;
			break;
		case STDIO_SIGNAL:
			/* With a pseudo-terminal the command leads its own session:
			 * the signal goes to its whole process group, as a terminal's
			 * would; else to the command. */
			if (command_pid > 0 && len == 1 && d[0] > 0 && d[0] < 65)
				kill(cfg.tty ? -command_pid : command_pid, d[0]);
			break;
		case STDIO_WINSIZE:
			if (tty_fd >= 0 && len >= 4) {
				struct winsize ws = { .ws_row = (unsigned short)(d[0] | d[1] << 8),
						      .ws_col = (unsigned short)(d[2] | d[3] << 8) };
				ioctl(tty_fd, TIOCSWINSZ, &ws);
			}
			break;
		}
		memmove(in.buf, in.buf + STDIO_HDR + len, in.have - STDIO_HDR - len);
		in.have -= STDIO_HDR + len;
	}
}

/* Moves waiting stdin bytes into the command; closes its stdin after the
 * last of them once saevm's stdin ended (not a terminal's: there the end
 * of input is the user's ^D). */
static void feed_stdin(int *stdin_fd, bool tty)
{
	while (*stdin_fd >= 0 && in.pend_len) {
		ssize_t w = write(*stdin_fd, in.pend, in.pend_len);
		if (w < 0 && (errno == EINTR))
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) { /* the command closed its stdin: the rest is dropped */
			in.pend_len = 0;
			break;
		}
		memmove(in.pend, in.pend + w, in.pend_len - (size_t)w);
		in.pend_len -= (size_t)w;
	}
	if (*stdin_fd >= 0 && in.eof && !in.pend_len && !tty) {
		close(*stdin_fd);
		*stdin_fd = -1;
	}
}

static void child_ended(int sig) { (void)sig; }

static int run_command(void)
{
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, rep[2];
	int master = -1, slave = -1, status = -1;
	static uint8_t buf[STDIO_MAX_DATA];
	pid_t pid;
	int stdin_fd, fds_out[2];
	double deadline = 0;
	bool chan_gone = false;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return 125;
	struct sigaction sa = { .sa_handler = child_ended };
	sigset_t chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &run_mask);
	sigdelset(&run_mask, SIGCHLD);
	if (cfg.tty) {
		struct winsize ws = { .ws_row = (unsigned short)cfg.rows, .ws_col = (unsigned short)cfg.cols };
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			say("cannot open a pseudo-terminal: %s", strerror(errno));
			return 125;
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		say("cannot make pipes: %s", strerror(errno));
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		say("cannot fork: %s", strerror(errno));
		return 125;
	}
	if (pid == 0)
		child(in_p[0], out_p[1], err_p[1], slave, rep[1]);
	command_pid = pid;
	close(rep[1]);
	int e = 0;
	if (read(rep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		say("%s: %s", cfg.argv[0], strerror(e));
		return e == ENOENT || e == ENOTDIR ? 127 : e == EPERM && !cfg.argv[0] ? 125 : 126;
	}
	close(rep[0]);
	if (exec_times)
		mark("started"); /* the exec went through (its report pipe closed) */
	if (cfg.tty) {
		close(slave);
		stdin_fd = master;
		fds_out[0] = master;
		fds_out[1] = -1;
	} else {
		close(in_p[0]);
		close(out_p[1]);
		close(err_p[1]);
		stdin_fd = in_p[1];
		fds_out[0] = out_p[0];
		fds_out[1] = err_p[0];
	}
	signal(SIGPIPE, SIG_IGN);
	fcntl(stdin_fd, F_SETFL, fcntl(stdin_fd, F_GETFL) | O_NONBLOCK);
	handle_frames(master); /* what came with the request (an exec stream's) */
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = in.pend_len < STDIN_HIGH && !chan_gone ? chan : -1, .events = POLLIN },
			{ .fd = fds_out[0], .events = POLLIN },
			{ .fd = fds_out[1], .events = POLLIN },
			{ .fd = in.pend_len && !cfg.tty ? stdin_fd : -1, .events = POLLOUT },
		};
		int st;
		pid_t w;

		/* Reap: the command, and orphans that PID 1 inherits. */
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == pid) {
				status = wait_status(st);
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + 2.0;
			}
		if (fds_out[0] < 0 && fds_out[1] < 0 && status >= 0)
			break;
		if (status >= 0) { /* a background process may hold the pipes: not for long */
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((double)now.tv_sec + now.tv_nsec / 1e9 > deadline)
				break;
		}
		struct timespec wait = { 0, (in.pend_len && cfg.tty ? 5 : 50) * 1000000L };
		if (ppoll(p, 4, &wait, &run_mask) < 0 && errno != EINTR)
			break;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(chan, in.buf + in.have, sizeof(in.buf) - in.have);
			if (r > 0) {
				in.have += (size_t)r;
				handle_frames(master);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* saevm exec went away (hvc0 never ends): the command
				 * is hung up on, as a terminal's would be. */
				if (status < 0)
					kill(cfg.tty ? -pid : pid, SIGHUP);
				chan_gone = true; /* and the stream is read no more */
				in.eof = true;
			}
		}
		feed_stdin(&stdin_fd, cfg.tty);
		for (int i = 0; i < 2; i++) {
			if (fds_out[i] < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(fds_out[i], buf, sizeof(buf));
			if (r > 0) {
				send_data(i == 0 ? STDIO_STDOUT : STDIO_STDERR, buf, (size_t)r);
			} else if (r == 0 || errno != EINTR) { /* EOF (EIO: the pty's last user left) */
				if (!cfg.tty)
					close(fds_out[i]);
				fds_out[i] = -1;
			}
		}
	}
	return status >= 0 ? status : 125;
}

/* ---- a sandbox that stays up: one exec stream per connection ---- */

/* In a child of PID 1: the stream is this command's channel. */
static void exec_stream(int c)
{
	static char request[STDIO_MAX_REQUEST];
	size_t request_len = 0;
	bool started = false;

	chan = c;
	times_line[0] = '\0';
	exec_times = times;
	mark("accepted");
	cfg.argc = cfg.nenv = 0;
	cfg.cwd = cfg.term = NULL;
	cfg.tty = false;
	cfg.rows = cfg.cols = 0;
	cfg.uid = 65534;
	cfg.gid = 65534;
	while (!started) {
		ssize_t r = read(chan, in.buf + in.have, sizeof(in.buf) - in.have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0); /* saevm exec went away before it asked anything */
		in.have += (size_t)r;
		while (!started && in.have >= STDIO_HDR) {
			size_t len = in.buf[2] | (size_t)in.buf[3] << 8;
			if (in.have < STDIO_HDR + len)
				break;
			if (in.buf[0] == STDIO_REQUEST) {
				if (request_len + len > sizeof(request)) {
					say("the command's configuration is over %u bytes", STDIO_MAX_REQUEST);
					goto end;
				}
				memcpy(request + request_len, in.buf + STDIO_HDR, len);
				request_len += len;
			}
			started = in.buf[0] == STDIO_START;
			memmove(in.buf, in.buf + STDIO_HDR + len, in.have - STDIO_HDR - len);
			in.have -= STDIO_HDR + len;
		}
	}
	parse_config(request, request_len);
	if (cfg.argc == 0) {
		say("no command");
		goto end;
	}
	cfg.argv[cfg.argc] = NULL;
	uint8_t status = (uint8_t)run_command();
	mark("exited");
	sync(); /* what it wrote reaches the host's files before saevm exec returns */
	mark("synced");
	if (times)
		say("times (guest uptime, s):%s", times_line);
	send_frame(STDIO_EXIT, &status, 1);
	shutdown(chan, SHUT_WR);
	_exit(0);
end:;
	uint8_t failed = 125;
	send_frame(STDIO_EXIT, &failed, 1);
	shutdown(chan, SHUT_WR);
	_exit(0);
}

static void serve(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = STDIO_EXEC_PORT };
	int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 64) < 0) {
		say("cannot listen on vsock port %d for saevm exec: %s", STDIO_EXEC_PORT, strerror(errno));
		finish(125);
	}
	signal(SIGPIPE, SIG_IGN);
	send_frame(STDIO_SERVING, NULL, 0);
	for (;;) {
		struct pollfd p = { .fd = l, .events = POLLIN };
		struct sockaddr_vm peer;
		socklen_t plen = sizeof(peer);
		int c;

		poll(&p, 1, 1000);
		while (waitpid(-1, NULL, WNOHANG) > 0) /* streams that ended, orphans PID 1 inherits */
			;
		if (!(p.revents & POLLIN) || (c = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC)) < 0)
			continue;
		/* Only saevm exec, from the host: a process in the guest that
		 * connects to its own init gets nothing. */
		if (peer.svm_family != AF_VSOCK || peer.svm_cid != VMADDR_CID_HOST) {
			close(c);
			continue;
		}
		pid_t h = fork();
		if (h == 0) {
			close(l);
			exec_stream(c);
		}
		close(c);
	}
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	size_t cl;
	char *cmdline = read_file("/proc/cmdline", &cl);
	times = cmdline && strstr(cmdline, "saevm.times");
	/* saevm.cache=MODE: the 9p cache mode (loose by default; mmap writes
	 * straight through in msize pieces instead of page by page). */
	const char *cm = cmdline ? strstr(cmdline, "saevm.cache=") : NULL;
	if (cm)
		sscanf(cm + 12, "%15[a-z]", cfg.cache);
	mark("init");
	read_config();
	load_modules();
	mark("modules");
	chan = open_channel();
	if (chan < 0) {
		say("no /dev/hvc0: the stdio channel is missing");
		reboot(RB_POWER_OFF);
	}
	send_frame(STDIO_READY, NULL, 0);
	if (cfg.serve) {
		enter_root();
		mark("mounted");
		serve();
	}
	if (cfg.argc == 0) {
		say("no command");
		finish(125);
	}
	cfg.argv[cfg.argc] = NULL;
	enter_root();
	mark("mounted");
	int status = run_command();
	mark("command");
	if (times)
		say("times (guest uptime, s):%s", times_line);
	finish(status);
	return 0;
}
