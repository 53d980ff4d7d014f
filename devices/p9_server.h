/* p9_server.h - a 9P2000.L file server on one host directory, the protocol
 * that Linux's 9p and 9pnet_virtio speak (Documentation/filesystems/9p.rst).
 * virtio_9p.c hands it each request chain; the server parses the T-message
 * from the chain's device-readable buffers and writes the R-message into its
 * device-writable ones. Tread and Twrite move file data with preadv/pwritev
 * straight between the host file and the guest's buffers.
 *
 * Confinement (the guest is hostile):
 *  - every walk is one name beneath the parent's descriptor, resolved with
 *    openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
 *    the server never follows a symlink (the guest resolves its own links
 *    in its own view), so "..", absolute links and links that point out
 *    never lead outside the share; ".." is taken lexically and stops at
 *    the share's root (without openat2 - qemu-user before 9.0 - the same
 *    rule is kept by opening one component at a time with O_NOFOLLOW);
 *  - names in a request are single components: no '/', no NUL, never "."
 *    or "..", at most 255 bytes;
 *  - only regular files and directories are ever opened: device nodes,
 *    sockets and FIFOs answer EPERM (opened O_NONBLOCK and checked, so a
 *    file swapped under us cannot block the I/O thread); device nodes
 *    cannot be created;
 *  - a read-only share answers EROFS to every change.
 * Errors go back to the guest as Rlerror with a Linux errno: the arm64
 * guest and the hosts saevm runs on (arm64, s390x, x86_64) share the
 * generic errno numbers. Open flags arrive in the protocol's own P9_DOTL
 * encoding and are translated (arm64's O_DIRECTORY differs from s390x's).
 *
 * Not thread-safe: one server is driven by one I/O thread. */
#ifndef SAEVM_P9_SERVER_H
#define SAEVM_P9_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/error.h"
#include "virtqueue.h"

#define P9_MAX_MSIZE (1024u * 1024u) /* the largest msize we agree to */
#define P9_MIN_MSIZE 4096u

struct p9_server;

struct p9_stats {
	unsigned long long requests, errors, bytes_read, bytes_written, walks, getattrs, readdirs;
};

/* Serves `root` (a directory; opened now, so a missing one fails before
 * the VM starts). */
struct p9_server *p9_server_create(const char *root, bool read_only, struct error *err);
void p9_server_destroy(struct p9_server *s);

/* Handles one request: the T-message in the chain's readable side, the
 * reply into its writable side. Returns the reply's length (0 when the
 * chain cannot even hold an Rlerror: the caller fails the device). */
uint32_t p9_server_handle(struct p9_server *s, const struct vq_chain *chain);

/* Forgets every fid (the device was reset). */
void p9_server_reset(struct p9_server *s);
const struct p9_stats *p9_server_stats(const struct p9_server *s);
uint32_t p9_server_msize(const struct p9_server *s);
/* Tests: resolve without openat2 (the component walk that stands in for
 * it where the kernel or qemu-user lacks it), or with it again. */
void p9_server_use_openat2(bool on);

#endif
