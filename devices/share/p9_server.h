/* p9_server.h - a 9P2000.L file server on one host directory, the protocol
 * that Linux's 9p and 9pnet_virtio speak (Documentation/filesystems/9p.rst).
 * virtio_9p.c hands it each request chain; the server parses the T-message
 * from the chain's device-readable buffers and writes the R-message into its
 * device-writable ones. Tread and Twrite move file data with preadv/pwritev
 * straight between the host file and the guest's buffers.
 *
 * Every host system call goes through the share layer (share.h), which
 * keeps the rules: one owner (the uid in Tattach and the gids in create
 * messages pick nothing on the host), no setuid/setgid bits, no device
 * nodes, the guest's modes exactly, every object acted on by its own
 * descriptor, confinement beneath the root, EROFS on a read-only share.
 * Names in a request are single components: no '/', no NUL, never "." or
 * ".." (a walk's ".." is lexical and stops at the root), at most 255 bytes.
 * What a guest makes the server hold is bounded: at most P9_MAX_FIDS fids
 * and P9_MAX_STATE_BYTES bytes of fids and nodes per share (ENFILE past
 * them); a fid costs a few dozen bytes and one name, never a path.
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

#include "../../vmm/error.h"
#include "../virtqueue.h"

#define P9_MAX_MSIZE (1024u * 1024u) /* the largest msize we agree to */
#define P9_MIN_MSIZE 4096u
#define P9_MAX_FIDS 65536u
#define P9_MAX_STATE_BYTES (8u << 20)

struct p9_server;

struct p9_stats {
	unsigned long long requests, errors, bytes_read, bytes_written, reads, writes, walks, getattrs, readdirs;
	unsigned long long fids, state_bytes; /* held now */
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
/* The share's root (an O_PATH descriptor, for Landlock). */
int p9_server_root_fd(const struct p9_server *s);

#endif
