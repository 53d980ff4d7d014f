/* share.c - the host side of a share (rules in share.h). */
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif

/* How far up ".." a directory may lie beneath its root (each step is a
 * name of at least one byte and a '/' in a PATH_MAX path). */
#define MAX_DEPTH 2048
#define SPECIAL_BITS (S_ISUID | S_ISGID)

struct share {
	int root_fd;
	dev_t root_dev;
	ino_t root_ino;
	bool read_only;
	uid_t owner_uid;
	gid_t owner_gid;
	gid_t groups[64];
	int ngroups;
	char root_path[4096]; /* where the root was last seen (share_beneath) */
};

/* ---- resolving names beneath a descriptor ---- */

/* Where openat2 is missing (qemu-user before 9.0 runs the unit tests),
 * the same rule by hand: one component at a time, none of them a symlink
 * (O_NOFOLLOW refuses magic links too, which are symlinks), never "..". */
static bool have_openat2 = true;

void share_use_openat2(bool on)
{
	have_openat2 = on;
}

static int open_by_components(int dirfd, const char *path, int flags)
{
	char part[SHARE_NAME_MAX + 1];
	int fd = dirfd;

	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (n > SHARE_NAME_MAX || (n == 2 && !strncmp(p, "..", 2)) || (n == 0 && slash)) {
			if (fd != dirfd)
				close(fd);
			errno = n > SHARE_NAME_MAX ? ENAMETOOLONG : EXDEV;
			return -1;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		if (!slash) {
			next = openat(fd, n ? part : ".", flags | O_CLOEXEC | O_NOFOLLOW, 0);
		} else {
			next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno == ELOOP)
				errno = ENOTDIR; /* a symlink in the middle */
		}
		if (fd != dirfd) {
			int e = errno;
			close(fd);
			errno = e;
		}
		if (next < 0 || !slash)
			return next;
		fd = next;
		p = slash + 1;
	}
}

/* `path` (relative, no "..", no symlinks) beneath dirfd. */
static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long r;

	if (!have_openat2)
		return open_by_components(dirfd, path, flags);
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (r < 0 && errno == EAGAIN);
	if (r < 0 && errno == ENOSYS) {
		have_openat2 = false;
		return open_by_components(dirfd, path, flags);
	}
	return (int)r;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

static bool is_device(mode_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode);
}

/* The magic link that names what descriptor fd holds, whatever name it
 * has now: the way to act on an O_PATH descriptor without a name. */
static void fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

bool share_plain_name(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/') &&
	       strlen(name) <= SHARE_NAME_MAX;
}

/* ---- the share ---- */

int share_root_fd(const struct share *s) { return s->root_fd; }
bool share_read_only(const struct share *s) { return s->read_only; }

struct share *share_open(const char *root, bool read_only, struct error *err)
{
	struct share *s = calloc(1, sizeof(*s));
	char proc[64];
	struct stat st;
	int probe;

	if (!s) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for a share");
		return NULL;
	}
	s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		err_errno(err, EXIT_NO_INPUT, errno, "cannot share %s", root);
		goto fail;
	}
	if (stat_fd(s->root_fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_set(err, EXIT_NO_INPUT, "cannot share %s: not a directory", root);
		goto fail;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	/* openat2 (Linux 5.6) keeps every path beneath the root in one call;
	 * without it, the component walk does. */
	probe = open_beneath(s->root_fd, ".", O_PATH | O_DIRECTORY);
	if (probe < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "cannot share %s", root);
		goto fail;
	}
	close(probe);
	/* Objects are reopened and changed through /proc/self/fd: it must be
	 * there before the guest relies on it. */
	fd_path(proc, sizeof(proc), s->root_fd);
	if ((probe = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "cannot share %s: /proc must be mounted (%s)", root, proc);
		goto fail;
	}
	close(probe);
	s->read_only = read_only;
	s->owner_uid = geteuid();
	s->owner_gid = getegid();
	s->ngroups = getgroups(64, s->groups);
	if (s->ngroups < 0)
		s->ngroups = 0;
	return s;
fail:
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s);
	return NULL;
}

int share_readdir(int dirfd, uint64_t offset, uint8_t *scratch, size_t size,
		  bool (*emit)(void *ctx, const struct share_dirent *d), void *ctx)
{
	if (lseek(dirfd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		long got = syscall(SYS_getdents64, dirfd, scratch, size);
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		for (long pos = 0; pos < got;) {
			const uint8_t *d = scratch + pos;
			struct share_dirent e;
			uint16_t reclen;

			memcpy(&e.ino, d, 8);
			memcpy(&e.off, d + 8, 8);
			memcpy(&reclen, d + 16, 2);
			e.type = d[18];
			e.name = (const char *)d + 19;
			e.len = strnlen(e.name, reclen > 19 ? reclen - 19u : 0);
			if (!emit(ctx, &e))
				return 0; /* the guest asks again from the last cookie it got */
			pos += reclen;
		}
	}
}

void share_raise_fd_limit(void)
{
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	want = rl;
	if (want.rlim_max < (1u << 20) && geteuid() == 0)
		want.rlim_max = 1u << 20;
	want.rlim_cur = want.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void share_close(struct share *s)
{
	if (!s)
		return;
	close(s->root_fd);
	free(s);
}

/* ---- walking ---- */

int share_walk(struct share *s, int dirfd, const char *name, struct stat *st)
{
	int fd;

	(void)s;
	if (!share_plain_name(name))
		return -ENOENT;
	if ((fd = open_beneath(dirfd, name, O_PATH)) < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (stat_fd(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Beneath the root by its ".." chain: up to the root, or to the file
 * system's top without meeting it. */
static int beneath_by_parents(struct share *s, int dirfd)
{
	struct stat st, up;
	int fd = dirfd, r = -ESTALE;

	if (stat_fd(fd, &st) < 0)
		return -errno;
	for (unsigned depth = 0; depth < MAX_DEPTH; depth++) {
		if (st.st_dev == s->root_dev && st.st_ino == s->root_ino) {
			r = 0;
			break;
		}
		int next = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 || stat_fd(next, &up) < 0) {
			r = next < 0 ? -ESTALE : -errno;
			if (next >= 0)
				close(next);
			break;
		}
		if (fd != dirfd)
			close(fd);
		fd = next;
		if (up.st_dev == st.st_dev && up.st_ino == st.st_ino)
			break; /* the file system's root: never met ours */
		st = up;
	}
	if (fd != dirfd)
		close(fd);
	return r;
}

/* The path the kernel has for descriptor fd now (d_path: a rename moves
 * it), into buf; its length, or -1. */
static ssize_t current_path(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	fd_path(proc, sizeof(proc), fd);
	n = readlink(proc, buf, size - 1);
	if (n < 0 || (size_t)n >= size - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

static bool path_within(const char *inner, const char *outer);

/* One readlink instead of a walk up the ".." chain (three calls a level):
 * the directory's current path lies beneath the root's. The root's path
 * is kept and read again when the host moved the root itself. */
int share_beneath(struct share *s, int dirfd)
{
	char path[4096];

	if (current_path(dirfd, path, sizeof(path)) < 0 || path[0] != '/')
		return beneath_by_parents(s, dirfd);
	if (s->root_path[0] && path_within(path, s->root_path))
		return 0;
	if (current_path(s->root_fd, s->root_path, sizeof(s->root_path)) < 0 || s->root_path[0] != '/') {
		s->root_path[0] = '\0';
		return beneath_by_parents(s, dirfd);
	}
	return path_within(path, s->root_path) ? 0 : -ESTALE;
}

/* ---- opening for I/O ---- */

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* An existing file opened for writing loses setuid and setgid (setgid
 * with group execute, as the kernel's should_remove_suid() has it): a
 * root saevm has CAP_FSETID, so the kernel would keep them. */
static int drop_special_bits(int fd, const struct stat *st)
{
	if ((st->st_mode & S_ISUID) || (st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		/* EPERM: another user's file, which a saevm without CAP_FOWNER
		 * cannot chmod; without CAP_FSETID the kernel clears the bits
		 * itself at the first write. */
		if (fchmod(fd, st->st_mode & 07777 & ~(mode_t)SPECIAL_BITS) < 0 && errno != EPERM)
			return -errno;
	return 0;
}

int share_reopen(struct share *s, int pathfd, const struct stat *st, int flags)
{
	char proc[64];
	struct stat now;
	int fd;

	if (s->read_only && writes(flags))
		return -EROFS;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return -EPERM; /* devices, FIFOs and sockets are never opened */
	if (S_ISDIR(st->st_mode) && (flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	fd_path(proc, sizeof(proc), pathfd);
	/* O_NONBLOCK and O_NOCTTY: belt and braces, the type was checked on
	 * this very inode, which a rename cannot change. */
	fd = open(proc, (flags & ~O_CREAT & ~O_EXCL) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (stat_fd(fd, &now) < 0 || now.st_ino != st->st_ino || now.st_dev != st->st_dev ||
	    !(S_ISREG(now.st_mode) || S_ISDIR(now.st_mode))) {
		close(fd);
		return -ESTALE;
	}
	if (writes(flags) && S_ISREG(now.st_mode)) {
		int r = drop_special_bits(fd, &now);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	fcntl(fd, F_SETFL, flags & (O_APPEND | O_DSYNC | O_SYNC));
	return fd;
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6, the same number on every architecture */
#endif

/* chmod of the object behind O_PATH descriptor fd itself: fchmodat2's
 * AT_EMPTY_PATH where the host has it, else the magic link (fchmod needs
 * an open file, and an O_PATH descriptor is not one). */
static int chmod_fd(int fd, mode_t mode)
{
	char proc[64];

	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	fd_path(proc, sizeof(proc), fd);
	return chmod(proc, mode) < 0 ? -errno : 0;
}

/* Gives a new entry exactly `mode` (less the special bits) whatever
 * saevm's umask, through its descriptor. */
static int set_mode(int fd, const struct stat *st, mode_t mode)
{
	mode &= 07777 & ~(mode_t)SPECIAL_BITS;
	if ((st->st_mode & 07777) == mode || S_ISLNK(st->st_mode))
		return 0;
	return chmod_fd(fd, mode);
}

static int check_dir(struct share *s, int dirfd, const char *name)
{
	if (s->read_only)
		return -EROFS;
	if (!share_plain_name(name))
		return name[0] && strcmp(name, ".") && strcmp(name, "..") ? -EINVAL : -EEXIST;
	return share_beneath(s, dirfd);
}

int share_create(struct share *s, int dirfd, const char *name, int flags, mode_t mode, bool excl, struct stat *st,
		 bool *created)
{
	int fd, r;

	*created = false;
	if ((r = check_dir(s, dirfd, name)) < 0)
		return r;
	mode &= 07777 & ~(mode_t)SPECIAL_BITS;
	/* O_EXCL never follows a symlink nor opens what exists. */
	fd = openat(dirfd, name, (flags & ~O_TRUNC) | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		    mode);
	if (fd >= 0) {
		*created = true;
		if (stat_fd(fd, st) < 0 || (r = set_mode(fd, st, mode)) < 0 || stat_fd(fd, st) < 0) {
			r = r < 0 ? r : -errno;
			close(fd);
			return r;
		}
		fcntl(fd, F_SETFL, flags & (O_APPEND | O_DSYNC | O_SYNC));
		return fd;
	}
	if (errno != EEXIST || excl)
		return -errno;
	/* Open what is there: by descriptor, and only a regular file. */
	int pathfd = share_walk(s, dirfd, name, st);
	if (pathfd < 0)
		return pathfd;
	if (!S_ISREG(st->st_mode)) {
		close(pathfd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -EPERM;
	}
	fd = share_reopen(s, pathfd, st, flags);
	close(pathfd);
	if (fd >= 0 && stat_fd(fd, st) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The entry just made: by descriptor, checked to be of the type made, its
 * mode set. */
static int made(struct share *s, int dirfd, const char *name, mode_t type, mode_t mode, struct stat *st)
{
	int fd = share_walk(s, dirfd, name, st), r = 0;

	if (fd < 0)
		return fd;
	if ((st->st_mode & S_IFMT) != type)
		r = -EEXIST; /* swapped under us: leave it */
	else if ((r = set_mode(fd, st, mode)) == 0 && stat_fd(fd, st) < 0)
		r = -errno;
	close(fd);
	return r;
}

int share_mkdir(struct share *s, int dirfd, const char *name, mode_t mode, struct stat *st)
{
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r;
	if (mkdirat(dirfd, name, mode & 07777 & ~(mode_t)SPECIAL_BITS) < 0)
		return -errno;
	return made(s, dirfd, name, S_IFDIR, mode, st);
}

int share_symlink(struct share *s, int dirfd, const char *name, const char *target, struct stat *st)
{
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r;
	/* Stored as given: the server never follows it. */
	if (symlinkat(target, dirfd, name) < 0)
		return -errno;
	return made(s, dirfd, name, S_IFLNK, 0, st);
}

int share_mknod(struct share *s, int dirfd, const char *name, mode_t mode, struct stat *st)
{
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r;
	/* FIFOs and sockets may be made (the guest binds its own sockets);
	 * device nodes never: the share is no door to host devices. */
	if (!S_ISFIFO(mode) && !S_ISSOCK(mode))
		return -EPERM;
	if (mknodat(dirfd, name, (mode & S_IFMT) | (mode & 07777 & ~(mode_t)SPECIAL_BITS), 0) < 0)
		return -errno;
	return made(s, dirfd, name, mode & S_IFMT, mode, st);
}

/* ---- changing an object ---- */

static bool owned(const struct share *s, const struct stat *st)
{
	return st->st_uid == s->owner_uid;
}

static bool owner_in_group(const struct share *s, gid_t gid)
{
	if (gid == s->owner_gid)
		return true;
	for (int i = 0; i < s->ngroups; i++)
		if (s->groups[i] == gid)
			return true;
	return false;
}

int share_chmod(struct share *s, int pathfd, const struct stat *st, mode_t mode)
{
	if (s->read_only)
		return -EROFS;
	if (is_device(st->st_mode) || !owned(s, st))
		return -EPERM;
	if (S_ISLNK(st->st_mode))
		return -EOPNOTSUPP; /* Linux has no modes on symlinks */
	return chmod_fd(pathfd, mode & 07777 & ~(mode_t)SPECIAL_BITS);
}

int share_chown(struct share *s, int pathfd, const struct stat *st, uid_t uid, gid_t gid)
{
	if (s->read_only)
		return -EROFS;
	if (is_device(st->st_mode))
		return -EPERM;
	if (uid != (uid_t)-1 && uid == st->st_uid)
		uid = (uid_t)-1;
	if (gid != (gid_t)-1 && gid == st->st_gid)
		gid = (gid_t)-1;
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0; /* what it is already: dpkg and tar do this all the time */
	/* A host owner never comes from the guest: no uid changes at all, and
	 * a group only among the owner's own, on the owner's own files. */
	if (uid != (uid_t)-1 || !owned(s, st) || !owner_in_group(s, gid))
		return -EPERM;
	return fchownat(pathfd, "", (uid_t)-1, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int share_truncate(struct share *s, int pathfd, const struct stat *st, int open_fd, uint64_t size)
{
	int fd = open_fd, r;

	if (s->read_only)
		return -EROFS;
	if (!S_ISREG(st->st_mode))
		return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (fd < 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
		fd = share_reopen(s, pathfd, st, O_WRONLY);
		if (fd < 0)
			return fd;
	} else if ((r = drop_special_bits(fd, st)) < 0) {
		return r;
	}
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (fd != open_fd)
		close(fd);
	return r;
}

int share_utimes(struct share *s, int pathfd, const struct stat *st, const struct timespec times[2])
{
	if (s->read_only)
		return -EROFS;
	if (is_device(st->st_mode))
		return -EPERM;
	if (utimensat(pathfd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != EINVAL || S_ISLNK(st->st_mode))
		return -errno;
	/* Before Linux 5.8's AT_EMPTY_PATH for utimensat: the magic link. */
	char proc[64];
	fd_path(proc, sizeof(proc), pathfd);
	return utimensat(AT_FDCWD, proc, times, 0) < 0 ? -errno : 0;
}

int share_link(struct share *s, int pathfd, const struct stat *st, int dirfd, const char *name)
{
	char proc[64];
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r;
	if (S_ISDIR(st->st_mode) || is_device(st->st_mode))
		return -EPERM;
	/* The object itself, not a name: linkat through the magic link
	 * (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH). */
	fd_path(proc, sizeof(proc), pathfd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

int share_unlink(struct share *s, int dirfd, const char *name, bool dir)
{
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r == -EEXIST ? -EINVAL : r;
	return unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

int share_unlink_checked(struct share *s, int dirfd, const char *name, dev_t dev, ino_t ino)
{
	struct stat st;
	int r = check_dir(s, dirfd, name);

	if (r < 0)
		return r == -EEXIST ? -EINVAL : r;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	return unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

int share_rename(struct share *s, int from_dir, const char *from, int to_dir, const char *to, unsigned flags)
{
	int r;

	if (s->read_only)
		return -EROFS;
	if (!share_plain_name(from) || !share_plain_name(to) || (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		return -EINVAL;
	if ((r = share_beneath(s, from_dir)) < 0 || (r = share_beneath(s, to_dir)) < 0)
		return r;
	if (!flags)
		return renameat(from_dir, from, to_dir, to) < 0 ? -errno : 0;
	return syscall(SYS_renameat2, from_dir, from, to_dir, to, flags) < 0 ? -errno : 0;
}

int share_access(struct share *s, int pathfd, const struct stat *st, int mask)
{
	char proc[64];

	if ((mask & W_OK) && s->read_only)
		return -EROFS;
	if (S_ISLNK(st->st_mode))
		return 0; /* links have no modes of their own */
	fd_path(proc, sizeof(proc), pathfd);
	return faccessat(AT_FDCWD, proc, mask, AT_EACCESS) < 0 ? -errno : 0;
}

/* ---- what saevm itself reads from a guest-writable tree ---- */

int share_open_untrusted(int rootfd, const char *root_name, const char *rel, uint64_t max, uint64_t *size,
			 struct error *err)
{
	char proc[64];
	struct stat st = { 0 };
	int pathfd = open_beneath(rootfd, rel, O_PATH), fd;

	if (pathfd < 0) {
		int e = errno;
		if (e == ELOOP || e == EXDEV || e == ENOTDIR)
			return err_set(err, EXIT_UNSAFE_ROOTFS,
				       "%s/%s is a symlink or leads outside the root filesystem: saevm reads it only as a "
				       "regular file inside it", root_name, rel);
		return err_errno(err, EXIT_NO_INPUT, e, "cannot read %s/%s", root_name, rel);
	}
	/* The type first, on the O_PATH descriptor: a FIFO or a device node
	 * is never opened, so it can neither block nor act. */
	if (stat_fd(pathfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(pathfd);
		return err_set(err, EXIT_UNSAFE_ROOTFS, "%s/%s is %s", root_name, rel,
			       S_ISLNK(st.st_mode) ? "a symlink: saevm follows no link in the root filesystem"
						   : "not a regular file");
	}
	if ((uint64_t)st.st_size > max) {
		close(pathfd);
		return err_set(err, EXIT_UNSAFE_ROOTFS, "%s/%s is too big (%llu bytes, at most %llu)", root_name, rel,
			       (unsigned long long)st.st_size, (unsigned long long)max);
	}
	fd_path(proc, sizeof(proc), pathfd);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	close(pathfd);
	if (fd < 0)
		return err_errno(err, EXIT_NO_INPUT, errno, "cannot read %s/%s", root_name, rel);
	*size = (uint64_t)st.st_size;
	return fd;
}

int share_open_untrusted_dir(int rootfd, const char *rel)
{
	return open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY);
}

/* Whether `inner` is `outer` or lies beneath it, as paths. */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1 && outer[0] == '/')
		return true;
	return !strncmp(inner, outer, n) && (inner[n] == '\0' || inner[n] == '/');
}

int share_check_overlap(const char *const *paths, const bool *read_only, const char *const *what, unsigned n,
			struct error *err)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			if (i != j && !read_only[i] && !read_only[j] && path_within(paths[i], paths[j]))
				return err_set(err, EXIT_USAGE,
					       "%s %s lies inside %s %s: two writable shares may not overlap (one file, "
					       "one set of rules); share directories apart, make one read-only, or run "
					       "from another directory", what[i], paths[i], what[j], paths[j]);
	return 0;
}
