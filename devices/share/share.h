/* share.h - a host directory in a guest's hands: the one layer that every
 * share protocol server (9P2000.L in p9_server.c; FUSE next) calls for
 * every system call that touches the host. It owns the share's root, its
 * identity and its confinement, and keeps the rules written once
 * (../shared/notes/sharing.md has the attacks they answer):
 *
 *  - One owner. What the guest creates belongs to saevm's own user (root
 *    when saevm runs as root, also under sudo): the server never chowns a
 *    new file, and a chown to any other uid, or to a group the owner is
 *    not in, is refused (EPERM). chmod and chown act only on the owner's
 *    own files.
 *  - No special bits. S_ISUID and S_ISGID are stripped from every create
 *    and chmod (a nosuid mount's effect, made permanent); opening an
 *    existing file for writing or truncating it clears them, as the
 *    kernel does for unprivileged writers.
 *  - No devices. Character and block devices are never opened, made,
 *    chmodded, chowned or linked; FIFOs and sockets may be made, never
 *    opened. Only regular files and directories are opened.
 *  - The guest's mode, exactly. A new entry gets the mode asked for (the
 *    guest applied its own umask already), never saevm's umask.
 *  - By descriptor. Every object is an O_PATH descriptor from a walk of one
 *    name beneath its directory's descriptor (openat2 with RESOLVE_BENEATH
 *    | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or one component at a
 *    time with O_NOFOLLOW where openat2 is missing); it is reopened,
 *    chmodded, chowned, timed, truncated and linked through that very
 *    descriptor (/proc/self/fd/N, AT_EMPTY_PATH), never by a name the host
 *    or another share could swap.
 *  - Confinement. A directory is checked to be still beneath the root
 *    (walking its ".." up to the root) before it is walked from or
 *    changed: one the host moved out of the share answers ESTALE.
 *  - A read-only share answers EROFS to every change.
 *
 * Errors are negative Linux errnos (the guest's and every host's generic
 * numbers). Not thread-safe: one share is served by one I/O thread. */
#ifndef SAEVM_SHARE_H
#define SAEVM_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../../vmm/error.h"

#define SHARE_NAME_MAX 255

struct share;

/* Opens `root` (a directory) now, so a missing one fails before the VM
 * starts. */
struct share *share_open(const char *root, bool read_only, struct error *err);
void share_close(struct share *s);

int share_root_fd(const struct share *s);
bool share_read_only(const struct share *s);

/* One name beneath `dirfd` as an O_PATH descriptor (a symlink is the link
 * itself); *st is what it is. -errno on failure (ELOOP becomes ENOTDIR
 * when a symlink stands in the middle). `name` must be a plain name. */
int share_walk(struct share *s, int dirfd, const char *name, struct stat *st);
/* A plain name: not empty, ".", "..", nor holding '/'. */
bool share_plain_name(const char *name);
/* 0 when directory `dirfd` still lies beneath the root, else -ESTALE. */
int share_beneath(struct share *s, int dirfd);

/* Opens the object behind O_PATH `pathfd` (*st its stat) for I/O with
 * `flags` (O_ACCMODE, O_TRUNC, O_APPEND, O_DSYNC, O_SYNC, O_DIRECTORY):
 * regular files and directories only; opening for writing clears
 * setuid/setgid. */
int share_reopen(struct share *s, int pathfd, const struct stat *st, int flags);
/* Creates regular file `name` in `dirfd` (or, without `excl`, opens the
 * regular file already there) for I/O with `flags`; mode as asked, less
 * the special bits. *created says which; *st is the file's stat. */
int share_create(struct share *s, int dirfd, const char *name, int flags, mode_t mode, bool excl, struct stat *st,
		 bool *created);
/* mkdir, symlink, and mknod of a FIFO or socket (S_IFMT in mode); *st the
 * new entry's stat. */
int share_mkdir(struct share *s, int dirfd, const char *name, mode_t mode, struct stat *st);
int share_symlink(struct share *s, int dirfd, const char *name, const char *target, struct stat *st);
int share_mknod(struct share *s, int dirfd, const char *name, mode_t mode, struct stat *st);

/* Changes to the object behind O_PATH `pathfd` (*st its stat). */
int share_chmod(struct share *s, int pathfd, const struct stat *st, mode_t mode);
/* uid/gid -1: unchanged. */
int share_chown(struct share *s, int pathfd, const struct stat *st, uid_t uid, gid_t gid);
int share_truncate(struct share *s, int pathfd, const struct stat *st, int open_fd, uint64_t size);
int share_utimes(struct share *s, int pathfd, const struct stat *st, const struct timespec times[2]);
int share_link(struct share *s, int pathfd, const struct stat *st, int dirfd, const char *name);
int share_unlink(struct share *s, int dirfd, const char *name, bool dir);
/* Removes `name` in `dirfd` only if it is still the object (dev, ino). */
int share_unlink_checked(struct share *s, int dirfd, const char *name, dev_t dev, ino_t ino);
/* flags: renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE (others EINVAL). */
int share_rename(struct share *s, int from_dir, const char *from, int to_dir, const char *to, unsigned flags);
/* access(2)'s check of `mask` on the object, as saevm's user. */
int share_access(struct share *s, int pathfd, const struct stat *st, int mask);

/* One directory entry, as getdents64 gives it. */
struct share_dirent {
	uint64_t ino, off; /* off: where the next entry starts, for the guest */
	uint8_t type;      /* DT_* */
	const char *name;
	size_t len;
};
/* Reads directory `dirfd` (open) from cookie `offset`, calling emit for
 * each entry until it returns false (no room) or the directory ends;
 * `scratch` (size bytes) holds what getdents64 returned. 0 or -errno. */
int share_readdir(int dirfd, uint64_t offset, uint8_t *scratch, size_t size,
		  bool (*emit)(void *ctx, const struct share_dirent *d), void *ctx);

/* Every object a guest names holds a descriptor: the soft RLIMIT_NOFILE
 * up to the hard one (a root saevm, before it drops its capabilities,
 * raises the hard one to 1M too). Past it the guest gets EMFILE. */
void share_raise_fd_limit(void);

/* Tests: resolve without openat2 (the component walk that stands in for
 * it where the kernel or qemu-user lacks it), or with it again. */
void share_use_openat2(bool on);

/* Refuses two writable shares one of which lies inside the other (paths
 * as realpath gives them; what[i] names each in the message): no file is
 * writable through two shares. A read-only share may lie inside a
 * writable one or hold it (the default rootfs beneath a home directory
 * that is the working directory): the same host rules hold for both.
 * EXIT_USAGE. */
int share_check_overlap(const char *const *paths, const bool *read_only, const char *const *what, unsigned n,
			struct error *err);

/* A file that saevm itself reads from a tree the guest could have written
 * (the sandbox's rootfs: its kernel, modules.dep, modules): `rel` opened
 * beneath `rootfd` without following any symlink or "..", a regular file
 * of at most `max` bytes. Returns the descriptor (*size its size), or -1
 * with err naming the entry (EXIT_UNSAFE_ROOTFS). */
int share_open_untrusted(int rootfd, const char *root_name, const char *rel, uint64_t max, uint64_t *size,
			 struct error *err);
/* The same for a directory (O_DIRECTORY, readable for listing). */
int share_open_untrusted_dir(int rootfd, const char *rel);

#endif
