/* fuzz_vsock.c - virtio-vsock driven by a hostile guest, with host programs
 * on its Unix sockets: the input is guest RAM (rings and packets anywhere)
 * followed by 8-byte ops: register accesses, turns of the device's loop,
 * and host actions (connect with a CONNECT line, write, close, accept on a
 * listening port). Nothing may touch memory outside guest RAM (ASan),
 * crash, hang, or leak a descriptor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../devices/vsock/virtio_vsock.h"
#include "../../vmm/mmio_bus.h"

#define RAM_GPA 0x40000000ULL
#define RAM_SIZE 0x20000
#define BASE 0x0a000000ULL
#define HOST_FDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int unix_socket(const char *p, bool listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
	if (fd >= 0 && (listening ? bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0
				  : connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int listener = -1; /* the host's port 1 (PATH_1) */
	struct virtio_mmio_env env = { .vm_fd = -1 };
	struct error err = { 0 };
	struct guest_mem mem;
	struct mmio_bus bus;
	struct device *dev;
	int host[HOST_FDS];
	uint8_t *ram;
	size_t ram_len = size < RAM_SIZE ? size : RAM_SIZE;

	if (!path[0]) {
		char dir[] = "/tmp/saevm-fuzz-vsock-XXXXXX";
		/* A host program writing to a stream the device closed gets
		 * EPIPE, as saevm does (it ignores SIGPIPE), not a silent death. */
		signal(SIGPIPE, SIG_IGN);
		char port1[80];
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/vm.vsock", dir);
		snprintf(port1, sizeof(port1), "%s_1", path);
		listener = unix_socket(port1, true);
	}
	for (int i = 0; i < HOST_FDS; i++)
		host[i] = -1;
	ram = calloc(1, RAM_SIZE);
	memcpy(ram, data, ram_len);
	guest_mem_wrap(&mem, RAM_GPA, ram, RAM_SIZE);
	env.mem = &mem;
	mmio_bus_init(&bus);
	dev = virtio_vsock_create(BASE, 1, &env, 3, path, &err);
	if (!dev || mmio_bus_add(&bus, dev, &err) < 0)
		abort();

	/* After the RAM image: ops of 8 bytes each. */
	for (size_t at = ram_len; at + 8 <= size; at += 8) {
		const uint8_t *op = data + at;
		unsigned len = 1u << (op[1] & 3), k = op[2] % HOST_FDS;
		uint8_t bytes[8];
		char line[32];
		int n;

		memcpy(bytes, op + 4, 4);
		memset(bytes + 4, 0, 4);
		if (op[1] & 0x80) {
			virtio_mmio_process_all(virtio_mmio_of(dev));
			virtio_vsock_poll(dev, 0);
		} else if (op[1] & 0x40) {
			switch (op[1] & 3) {
			case 0: /* a host program connects to the guest's port op[3] */
				if (host[k] < 0 && (host[k] = unix_socket(path, false)) >= 0) {
					n = snprintf(line, sizeof(line), op[4] & 1 ? "CONNECT %u\n" : "BOGUS %u", op[3]);
					if (send(host[k], line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
						(void)0;
				}
				break;
			case 1: /* it writes */
				if (host[k] >= 0 && send(host[k], ram + op[3] * 64, (size_t)op[4] * 16, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
					(void)0;
				break;
			case 2: /* it closes, or shuts its write side */
				if (host[k] >= 0 && (op[4] & 1)) {
					shutdown(host[k], SHUT_WR);
				} else if (host[k] >= 0) {
					close(host[k]);
					host[k] = -1;
				}
				break;
			case 3: /* the listener on port 1 takes a connection the guest made */
				if (host[k] < 0 && listener >= 0)
					host[k] = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				break;
			}
		} else {
			mmio_bus_dispatch(&bus, BASE + (((unsigned)op[2] << 8 | op[3]) % 0x200), bytes, len, op[1] & 0x20);
		}
	}
	mmio_bus_destroy(&bus);
	for (int i = 0; i < HOST_FDS; i++)
		if (host[i] >= 0)
			close(host[i]);
	/* Connections the device made to port 1 and nobody took: drop them. */
	for (int fd; listener >= 0 && (fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
		close(fd);
	free(ram);
	return 0;
}
