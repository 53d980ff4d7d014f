/* fuse_server.h - FUSE (the protocol of /usr/include/linux/fuse.h, 7.31
 * and newer) on one host directory, as Linux's virtiofs client speaks it
 * over virtio-fs (virtio 1.2 §5.11; devices/virtio_fs.c hands it each
 * chain). A request is the chain's device-readable part (fuse_in_header,
 * the opcode's arguments, a write's data); the reply goes into its
 * device-writable part (fuse_out_header, then the opcode's reply; a read's
 * data straight from the host file by preadv). FORGET, BATCH_FORGET and
 * INTERRUPT get no reply.
 *
 * Every host system call goes through the share layer (share.h), with its
 * rules: one owner (the uid and gid in a request's header pick nothing on
 * the host), no setuid/setgid bits, no device nodes, the guest's modes
 * exactly, every object by its own descriptor, confinement beneath the
 * root, EROFS on a read-only share. Every field is the guest's: little-
 * endian, read once from one copy of the request.
 *
 * Inodes are O_PATH descriptors with the guest's lookup count (FORGET
 * takes it back); an inode is one per (dev, ino), its nodeid a counter.
 * Bounded: at most FUSE_MAX_INODES inodes and FUSE_MAX_HANDLES open
 * handles per share (then ENFILE), a few dozen bytes each.
 *
 * Not thread-safe: one server is driven by one I/O thread. */
#ifndef SAEVM_FUSE_SERVER_H
#define SAEVM_FUSE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../../vmm/error.h"
#include "../virtqueue.h"

#define FUSE_MAX_INODES 65536u
#define FUSE_MAX_HANDLES 65536u
#define FUSE_MAX_WRITE (1u << 20) /* max_write, and the largest read */

/* How long the guest may trust what it was told (virtiofsd's cache
 * modes): never (0 s, every access asks), auto (1 s: a host-side change
 * shows within a second; the default), always (a day: the guest's cache
 * is the truth, for shares only the guest changes). */
enum fuse_cache { FUSE_CACHE_AUTO, FUSE_CACHE_NEVER, FUSE_CACHE_ALWAYS };

struct fuse_server;

#define FUSE_STATS_OPCODES 64

struct fuse_stats {
	unsigned long long requests, errors, lookups, forgets, getattrs, readdirs, bytes_read, bytes_written;
	unsigned long long inodes, handles; /* held now */
	unsigned long long by_opcode[FUSE_STATS_OPCODES]; /* requests of each opcode below the bound */
};
/* The name of a FUSE opcode ("LOOKUP"), or NULL for one saevm does not know. */
const char *fuse_opcode_name(uint32_t opcode);

struct fuse_server *fuse_server_create(const char *root, bool read_only, enum fuse_cache cache, struct error *err);
void fuse_server_destroy(struct fuse_server *s);

/* Handles one request; returns the reply's length (0: no reply, as for
 * FORGET, or a chain too broken to hold even a reply header). */
uint32_t fuse_server_handle(struct fuse_server *s, const struct vq_chain *chain);

/* Forgets every inode and handle (the device was reset, or DESTROY). */
void fuse_server_reset(struct fuse_server *s);
const struct fuse_stats *fuse_server_stats(const struct fuse_server *s);
int fuse_server_root_fd(const struct fuse_server *s);
/* Tests: smaller bounds than FUSE_MAX_INODES and FUSE_MAX_HANDLES. */
void fuse_server_set_limits(struct fuse_server *s, unsigned max_inodes, unsigned max_handles);

#endif
