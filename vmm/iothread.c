#include "iothread.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int iothread_init(struct iothread *io, const char *name, struct error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };

	memset(io, 0, sizeof(*io));
	snprintf(io->name, sizeof(io->name), "%s", name);
	io->stop_fd = -1;
	io->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epoll_fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "epoll for %s", name);
	io->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (io->stop_fd < 0 || epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, io->stop_fd, &ev) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "eventfd for %s", name);
	return 0;
}

int iothread_watch(struct iothread *io, int fd, io_handler_fn fn, void *opaque, struct error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = io->n_watches };

	if (io->n_watches == IOTHREAD_MAX_WATCHES)
		return err_set(err, EXIT_INTERNAL, "%s: too many watched fds", io->name);
	io->watches[io->n_watches].fn = fn;
	io->watches[io->n_watches].opaque = opaque;
	if (epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "%s: epoll_ctl", io->name);
	io->n_watches++;
	return 0;
}

static void *iothread_main(void *arg)
{
	struct iothread *io = arg;
	struct epoll_event events[IOTHREAD_MAX_WATCHES + 1];

	pthread_setname_np(pthread_self(), io->name);
	for (;;) {
		int n = epoll_wait(io->epoll_fd, events, IOTHREAD_MAX_WATCHES + 1, -1);

		if (n < 0 && errno != EINTR)
			return NULL;
		for (int i = 0; i < n; i++) {
			uint64_t id = events[i].data.u64;
			if (id == UINT64_MAX)
				return NULL;
			io->watches[id].fn(io->watches[id].opaque);
		}
	}
}

int iothread_start(struct iothread *io, struct error *err)
{
	int r = pthread_create(&io->thread, NULL, iothread_main, io);

	if (r)
		return err_errno(err, EXIT_HOST_ERROR, r, "cannot start I/O thread %s", io->name);
	io->started = true;
	return 0;
}

void iothread_stop(struct iothread *io)
{
	uint64_t one = 1;

	if (!io->started)
		return;
	if (write(io->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(io->thread, NULL);
	io->started = false;
}

void iothread_destroy(struct iothread *io)
{
	iothread_stop(io);
	if (io->epoll_fd >= 0)
		close(io->epoll_fd);
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	io->epoll_fd = io->stop_fd = -1;
}
