/* exec.c - see exec.h. Runs in its own process, never in a VM's: plain
 * blocking set-up, then one poll loop over the stream, stdin and signals. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../guest/stdio_proto.h"
#include "control.h"
#include "error.h"
#include "log.h"
#include "sandbox.h"
#include "term.h"

#define MAP_MAX (1u << 20)          /* NAME.shares */
#define PENDING_HIGH (256u << 10)   /* stdin waiting for the guest: stop reading more */
#define CONNECT_MS 10000

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("saevm: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SANDBOX_EXIT_FAILED;
}

/* NAME.shares, written by the sandbox in the user's own control directory. */
static char *read_share_map(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.shares", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size > MAP_MAX || !(buf = malloc((size_t)st.st_size + 1)) ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)st.st_size;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* The stream to the guest's init: NAME.vsock, CONNECT, its OK. */
static int connect_init(const char *dir, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[64];
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s.vsock", dir, name) >= (int)sizeof(a.sun_path) || fd < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	dprintf(fd, "CONNECT %d\n", STDIO_EXEC_PORT);
	while (got < sizeof(line) - 1 && (got == 0 || line[got - 1] != '\n')) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, CONNECT_MS) <= 0 || read(fd, line + got, 1) != 1) /* the line only: frames follow */
			break;
		got++;
	}
	line[got] = '\0';
	if (strncmp(line, "OK ", 3)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Frames waiting for the stream (nonblocking: the guest may not read
 * while we must go on reading its output). */
struct outq {
	uint8_t *buf;
	size_t len, cap;
};

static bool queue_frame(struct outq *q, uint8_t type, const void *data, size_t len)
{
	if (q->len + STDIO_HDR + len > q->cap) {
		size_t cap = (q->len + STDIO_HDR + len) * 2;
		uint8_t *p = realloc(q->buf, cap);
		if (!p)
			return false;
		q->buf = p;
		q->cap = cap;
	}
	uint8_t *h = q->buf + q->len;
	h[0] = type;
	h[1] = 0;
	h[2] = (uint8_t)len;
	h[3] = (uint8_t)(len >> 8);
	if (len)
		memcpy(h + STDIO_HDR, data, len);
	q->len += STDIO_HDR + len;
	return true;
}

static bool window_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return false;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return true;
}

/* The loop: stdin to the stream, the stream to stdout and stderr, signals
 * to the command; returns its status, or -1 when the stream ended first. */
static int relay(int s, bool tty, int sig_fd)
{
	static uint8_t in[STDIO_HDR + STDIO_MAX_DATA], chunk[STDIO_MAX_DATA];
	struct outq q = { 0 };
	size_t have = 0;
	bool stdin_open = true, out_ok = true, err_ok = true;
	int status = -1;

	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	while (status < 0) {
		struct pollfd p[3] = {
			{ .fd = s, .events = POLLIN | (q.len ? POLLOUT : 0) },
			{ .fd = stdin_open && q.len < PENDING_HIGH ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				unsigned rows, cols;
				if (si.ssi_signo == SIGWINCH && tty && window_size(&rows, &cols)) {
					uint8_t ws[4] = { (uint8_t)rows, (uint8_t)(rows >> 8), (uint8_t)cols, (uint8_t)(cols >> 8) };
					queue_frame(&q, STDIO_WINSIZE, ws, sizeof(ws));
				} else if (si.ssi_signo != SIGWINCH) {
					uint8_t sig = (uint8_t)si.ssi_signo;
					queue_frame(&q, STDIO_SIGNAL, &sig, 1);
				}
			}
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
			if (n > 0) {
				queue_frame(&q, STDIO_STDIN, chunk, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				queue_frame(&q, STDIO_EOF, NULL, 0);
				stdin_open = false;
			}
		}
		if (q.len && (p[0].revents & POLLOUT)) {
			ssize_t w = send(s, q.buf, q.len, MSG_NOSIGNAL);
			if (w > 0) {
				memmove(q.buf, q.buf + w, q.len - (size_t)w);
				q.len -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				q.len = 0; /* the stream broke: what it says last tells */
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(s, in + have, sizeof(in) - have);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				break; /* the stream ended without the status */
			have += (size_t)n;
			while (have >= STDIO_HDR && status < 0) {
				size_t len = in[2] | (size_t)in[3] << 8;
				if (have < STDIO_HDR + len)
					break;
				const uint8_t *d = in + STDIO_HDR;
				/* A reader that went away (EPIPE) loses the rest, as
				 * saevm sandbox's does; the command goes on. */
				if (in[0] == STDIO_STDOUT && out_ok)
					out_ok = write_all(STDOUT_FILENO, d, len) == 0;
				else if (in[0] == STDIO_STDERR && err_ok)
					err_ok = write_all(STDERR_FILENO, d, len) == 0;
				else if (in[0] == STDIO_EXIT && len == 1)
					status = d[0];
				memmove(in, in + STDIO_HDR + len, have - STDIO_HDR - len);
				have -= STDIO_HDR + len;
			}
		}
	}
	free(q.buf);
	return status;
}

int exec_command(const char *name, char *const *argv, int argc)
{
	struct error err = { 0 };
	char dir[108], reply[256], cwd[PATH_MAX], guest_cwd[PATH_MAX];
	size_t map_len = 0, req_len = 0;
	char *map, *req;
	unsigned rows = 0, cols = 0;
	bool tty;
	sigset_t set;
	int s, sig_fd, status;

	signal(SIGPIPE, SIG_IGN);
	if (control_dir(dir, sizeof(dir), &err) < 0)
		return fail("%s", err.msg);
	if (control_request(name, "status", reply, sizeof(reply), &err) < 0)
		return fail("no sandbox named %s is running (saevm list shows what runs)", name);
	if (!(map = read_share_map(dir, name, &map_len)))
		return fail("%s is not a sandbox that stays up: start one with saevm sandbox --name %s --detach", name,
			    name);
	if (!getcwd(cwd, sizeof(cwd))) {
		free(map);
		return fail("cannot tell the current directory: %s", strerror(errno));
	}
	if (!sandbox_map_dir(map, map_len, cwd, guest_cwd, sizeof(guest_cwd))) {
		char shares[1024] = "";
		for (const char *p = map; p < map + map_len && strlen(shares) < 900; p += strlen(p) + 1) {
			snprintf(shares + strlen(shares), sizeof(shares) - strlen(shares), "%s%s", shares[0] ? ", " : "", p);
			p += strlen(p) + 1; /* its guest path */
		}
		free(map);
		return fail("%s is not in a share of sandbox %s (%s): cd into one", cwd, name,
			    shares[0] ? shares : "it shares no directory");
	}
	free(map);
	tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (tty)
		window_size(&rows, &cols);
	if (!(req = sandbox_command_request(guest_cwd, argv, argc, tty, rows, cols, &req_len)))
		return fail("the command line is too long");
	if ((s = connect_init(dir, name)) < 0) {
		free(req);
		return fail("sandbox %s does not take commands (is its init up? saevm list)", name);
	}
	for (size_t off = 0; off < req_len;) {
		size_t n = req_len - off > STDIO_MAX_DATA ? STDIO_MAX_DATA : req_len - off;
		uint8_t h[STDIO_HDR] = { STDIO_REQUEST, 0, (uint8_t)n, (uint8_t)(n >> 8) };
		if (write_all(s, h, sizeof(h)) < 0 || write_all(s, req + off, n) < 0)
			break;
		off += n;
	}
	free(req);
	uint8_t start[STDIO_HDR] = { STDIO_START, 0, 0, 0 };
	if (write_all(s, start, sizeof(start)) < 0) {
		close(s);
		return fail("sandbox %s closed the stream", name);
	}
	double stream_up = log_wall_since_start();
	/* The signals saevm exec gets are the command's. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (tty)
		term_enter_raw(STDIN_FILENO);
	status = relay(s, tty, sig_fd);
	term_restore();
	/* make bench's split of an exec's cost: the stream, then the command */
	if (getenv("SAEVM_EXEC_TIMES"))
		fprintf(stderr, "saevm: exec times: stream up %.4f s, status %.4f s after saevm started\n", stream_up,
			log_wall_since_start());
	close(s);
	if (sig_fd >= 0)
		close(sig_fd);
	if (status < 0)
		return fail("sandbox %s stopped before the command ended", name);
	return status;
}
