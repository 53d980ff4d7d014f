/* iothread.h - a thread that waits on file descriptors (epoll) and runs
 * their handlers: where device work happens (virtio queue processing,
 * later the network backends), so that vCPU threads only touch registers.
 * Each virtio device has its own, so a slow disk never stalls another
 * device. */
#ifndef SAEVM_IOTHREAD_H
#define SAEVM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "error.h"

#define IOTHREAD_MAX_WATCHES 8

typedef void (*io_handler_fn)(void *opaque);

struct iothread {
	char name[16];
	int epoll_fd;
	int stop_fd;
	pthread_t thread;
	bool started;
	unsigned n_watches;
	struct { io_handler_fn fn; void *opaque; } watches[IOTHREAD_MAX_WATCHES];
};

int iothread_init(struct iothread *io, const char *name, struct error *err);
/* Runs fn(opaque) on the thread whenever `fd` is readable. The handler
 * must consume what made it readable (e.g. read the eventfd). */
int iothread_watch(struct iothread *io, int fd, io_handler_fn fn, void *opaque, struct error *err);
int iothread_start(struct iothread *io, struct error *err);
/* Lets the running handler finish, then ends and joins the thread. */
void iothread_stop(struct iothread *io);
void iothread_destroy(struct iothread *io);

#endif
