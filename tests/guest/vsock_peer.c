/* vsock_peer.c - the rig's two ends of a vsock stream (static arm64; runs
 * in the L2 guest and in L1, where saevm's Unix sockets are):
 *
 *   vsock_peer connect PORT          guest: connect to the host (CID 2)
 *   vsock_peer echo PORT             guest: accept one stream, echo it
 *   vsock_peer unix-connect PATH P   host: PATH + "CONNECT P\n", then the stream
 *   vsock_peer unix-echo PATH        host: listen on PATH, accept one, echo it
 *   vsock_peer unix-listen PATH      host: listen on PATH (replaced), accept one stream
 *
 * connect, unix-connect and unix-listen copy stdin to the stream (then shut its write
 * side) and the stream to stdout, until it ends. Exit 0, or 1 with a line
 * on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int fail(const char *what)
{
	fprintf(stderr, "vsock_peer: %s: %s\n", what, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* stdin -> s (then shutdown), s -> stdout, until both are done: s ended
 * and all of stdin went. Never blocks on s: an echo on the other end
 * needs us to read while we write. */
static int pump(int s)
{
	static char in[65536], out[65536];
	size_t in_len = 0, in_off = 0;
	bool in_open = true, s_open = true;

	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	while (s_open || in_open || in_len) {
		struct pollfd p[2] = { { .fd = in_open && !in_len ? 0 : -1, .events = POLLIN },
				       { .fd = s, .events = (s_open ? POLLIN : 0) | (in_len ? POLLOUT : 0) } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return fail("poll");
		if (p[0].revents) {
			ssize_t n = read(0, in, sizeof(in));
			if (n < 0)
				return fail("read stdin");
			in_len = (size_t)n;
			in_off = 0;
			if (n == 0) {
				in_open = false;
				shutdown(s, SHUT_WR);
			}
		}
		if (in_len && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(s, in + in_off, in_len);
			if (w < 0 && errno != EAGAIN)
				return fail("write stream");
			if (w > 0) {
				in_off += (size_t)w;
				in_len -= (size_t)w;
			}
		}
		if (s_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(s, out, sizeof(out));
			if (n < 0 && errno != EAGAIN)
				return fail("read stream");
			if (n == 0)
				s_open = false;
			if (n > 0 && write_all(1, out, (size_t)n) < 0)
				return fail("write stdout");
		}
	}
	return 0;
}

static int echo(int s)
{
	static char buf[65536];
	ssize_t n;

	while ((n = read(s, buf, sizeof(buf))) > 0)
		if (write_all(s, buf, (size_t)n) < 0)
			return fail("echo write");
	if (n < 0)
		return fail("echo read");
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "connect")) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
					 .svm_port = (unsigned)atoi(argv[2]) };
		int s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return fail("vsock connect");
		return pump(s);
	}
	if (argc == 3 && !strcmp(argv[1], "echo")) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					 .svm_port = (unsigned)atoi(argv[2]) };
		int l = socket(AF_VSOCK, SOCK_STREAM, 0), s;
		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4) < 0)
			return fail("vsock listen");
		printf("@@L2 vsock-listening\n");
		fflush(stdout);
		if ((s = accept(l, NULL, NULL)) < 0)
			return fail("vsock accept");
		return echo(s);
	}
	if (argc == 3 && !strcmp(argv[1], "unix-listen")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int l = socket(AF_UNIX, SOCK_STREAM, 0), c;
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		unlink(argv[2]);
		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4) < 0)
			return fail("unix listen");
		if ((c = accept(l, NULL, NULL)) < 0)
			return fail("unix accept");
		close(l);
		unlink(argv[2]);
		return pump(c);
	}
	if ((argc == 3 && !strcmp(argv[1], "unix-echo")) || (argc == 4 && !strcmp(argv[1], "unix-connect"))) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0), c;
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		if (argc == 3) {
			if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
				return fail("unix listen");
			if ((c = accept(s, NULL, NULL)) < 0)
				return fail("unix accept");
			return echo(c);
		}
		char line[64];
		size_t got = 0;
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return fail("unix connect");
		dprintf(s, "CONNECT %s\n", argv[3]);
		while (got < sizeof(line) - 1 && (got == 0 || line[got - 1] != '\n')) {
			ssize_t n = read(s, line + got, 1); /* the line only: the stream follows */
			if (n <= 0) {
				fprintf(stderr, "vsock_peer: no answer to CONNECT %s\n", argv[3]);
				return 1;
			}
			got += (size_t)n;
		}
		line[got] = '\0';
		if (strncmp(line, "OK ", 3)) {
			fprintf(stderr, "vsock_peer: CONNECT answered %s", line);
			return 1;
		}
		return pump(s);
	}
	fprintf(stderr, "usage: vsock_peer connect PORT | echo PORT | unix-connect PATH PORT | unix-echo PATH | unix-listen PATH\n");
	return 2;
}
