/* p9_server.c - 9P2000.L on a host directory (see p9_server.h for the
 * confinement rules). Message layouts follow the protocol's own notes
 * (diod's protocol.md, Linux's include/net/9p/9p.h): little-endian
 * integers, strings as len[2] + bytes without NUL. */
#include "p9_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/le.h"

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif

enum {
	Tlerror = 6, Rlerror, Tstatfs = 8, Rstatfs, Tlopen = 12, Rlopen, Tlcreate = 14, Rlcreate,
	Tsymlink = 16, Rsymlink, Tmknod = 18, Rmknod, Trename = 20, Rrename, Treadlink = 22, Rreadlink,
	Tgetattr = 24, Rgetattr, Tsetattr = 26, Rsetattr, Txattrwalk = 30, Rxattrwalk,
	Txattrcreate = 32, Rxattrcreate, Treaddir = 40, Rreaddir, Tfsync = 50, Rfsync, Tlock = 52, Rlock,
	Tgetlock = 54, Rgetlock, Tlink = 70, Rlink, Tmkdir = 72, Rmkdir, Trenameat = 74, Rrenameat,
	Tunlinkat = 76, Runlinkat, Tversion = 100, Rversion, Tauth = 102, Rauth, Tattach = 104, Rattach,
	Tflush = 108, Rflush, Twalk = 110, Rwalk, Tread = 116, Rread, Twrite = 118, Rwrite,
	Tclunk = 120, Rclunk, Tremove = 122, Rremove,
};

#define HDR 7                 /* size[4] type[1] tag[2] */
#define TMSG_MAX (16u << 10)  /* every T-message but Twrite's data fits */
#define MAX_WALK 16           /* MAXWELEM */
#define NAME_MAX_9P 255
#define FID_BUCKETS 4096
#define NOFID 0xffffffffu
#define QT_DIR 0x80
#define QT_SYMLINK 0x02
#define GETATTR_BASIC 0x7ffULL /* mode..blocks, the three times */
#define AT_REMOVEDIR_9P 0x200

/* P9_DOTL open flags (the protocol's encoding, the x86/generic values). */
#define DOTL_WRONLY 01
#define DOTL_RDWR 02
#define DOTL_ACCMODE 03
#define DOTL_CREATE 0100
#define DOTL_EXCL 0200
#define DOTL_TRUNC 01000
#define DOTL_APPEND 02000
#define DOTL_DSYNC 010000
#define DOTL_DIRECTORY 0200000
#define DOTL_SYNC 04000000

/* Tsetattr's valid bits */
#define SET_MODE 1
#define SET_UID 2
#define SET_GID 4
#define SET_SIZE 8
#define SET_ATIME 16
#define SET_MTIME 32
#define SET_ATIME_SET 128
#define SET_MTIME_SET 256

struct fid {
	uint32_t id;
	int fd;        /* O_PATH (or a dup of open_fd): what the fid names */
	int open_fd;   /* after Tlopen/Tlcreate, else -1 */
	mode_t type;   /* S_IFMT bits when walked */
	dev_t dev;
	ino_t ino;
	uint32_t uid;  /* the attaching user, for files a root server creates */
	char *path;    /* beneath the root, "" for the root itself */
	struct fid *next;
};

struct p9_server {
	int root_fd;
	bool read_only, as_root;
	uint32_t msize;
	unsigned nfids, max_fids;
	struct fid *buckets[FID_BUCKETS];
	uint8_t tmsg[TMSG_MAX];
	char link_target[4097];
	uint8_t *reply;       /* msize bytes */
	uint8_t *dents;       /* getdents64 scratch */
	struct iovec iov[VQ_MAX_CHAIN];
	struct p9_stats stats;
};

/* ---- parsing and building messages ---- */

struct msg {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *take(struct msg *m, size_t n)
{
	if (m->bad || n > m->len - m->pos) {
		m->bad = true;
		return NULL;
	}
	m->pos += n;
	return m->p + m->pos - n;
}
static uint8_t get8(struct msg *m) { const uint8_t *p = take(m, 1); return p ? *p : 0; }
static uint16_t get16(struct msg *m) { const uint8_t *p = take(m, 2); return p ? le16_load(p) : 0; }
static uint32_t get32(struct msg *m) { const uint8_t *p = take(m, 4); return p ? le32_load(p) : 0; }
static uint64_t get64(struct msg *m) { const uint8_t *p = take(m, 8); return p ? le64_load(p) : 0; }

/* A string into out (NUL-terminated); bad when longer than max-1 or when it
 * holds a NUL. */
static void get_str(struct msg *m, char *out, size_t max)
{
	uint16_t n = get16(m);
	const uint8_t *p = take(m, n);

	out[0] = '\0';
	if (!p)
		return;
	if (n >= max || memchr(p, '\0', n)) {
		m->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

struct out {
	uint8_t *p;
	size_t cap, len;
	bool over;
};

static uint8_t *room(struct out *o, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return NULL;
	}
	o->len += n;
	return o->p + o->len - n;
}
static void put8(struct out *o, uint8_t v) { uint8_t *p = room(o, 1); if (p) *p = v; }
static void put16(struct out *o, uint16_t v) { uint8_t *p = room(o, 2); if (p) le16_store(p, v); }
static void put32(struct out *o, uint32_t v) { uint8_t *p = room(o, 4); if (p) le32_store(p, v); }
static void put64(struct out *o, uint64_t v) { uint8_t *p = room(o, 8); if (p) le64_store(p, v); }
static void put_bytes(struct out *o, const void *b, size_t n)
{
	uint8_t *p = room(o, n);
	if (p)
		memcpy(p, b, n);
}
static void put_str(struct out *o, const char *s)
{
	size_t n = strlen(s);
	put16(o, (uint16_t)n);
	put_bytes(o, s, n);
}

static uint8_t qid_type(mode_t mode)
{
	return S_ISDIR(mode) ? QT_DIR : S_ISLNK(mode) ? QT_SYMLINK : 0;
}

static uint64_t qid_path(dev_t dev, ino_t ino)
{
	return (uint64_t)ino ^ ((uint64_t)dev << 48);
}

static void put_qid(struct out *o, const struct stat *st)
{
	put8(o, qid_type(st->st_mode));
	put32(o, 0); /* version: 0, so the guest's cached inode stays the same one */
	put64(o, qid_path(st->st_dev, st->st_ino));
}

/* ---- host side ---- */

/* Where openat2 is missing (qemu-user before 9.0 runs the unit tests),
 * the same rule by hand: one component at a time, none of them a symlink
 * (O_NOFOLLOW refuses magic links too, which are symlinks), never "..". */
static bool have_openat2 = true;

static int open_by_components(int dirfd, const char *path, int flags)
{
	char part[NAME_MAX_9P + 1];
	int fd = dirfd;

	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (n > NAME_MAX_9P || (n == 2 && !strncmp(p, "..", 2)) || (n == 0 && slash)) {
			if (fd != dirfd)
				close(fd);
			errno = n > NAME_MAX_9P ? ENAMETOOLONG : EXDEV;
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
	return (int)r;
}

void p9_server_use_openat2(bool on)
{
	have_openat2 = on;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

/* One path component from the guest: not empty, ".", "..", nor with '/'. */
static bool plain_name(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, a);
	if (a)
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

static struct fid **slot(struct p9_server *s, uint32_t id)
{
	struct fid **pp = &s->buckets[(id ^ (id >> 12)) % FID_BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static struct fid *lookup(struct p9_server *s, uint32_t id)
{
	return *slot(s, id);
}

static void fid_free(struct fid *f)
{
	if (f->open_fd >= 0)
		close(f->open_fd);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static void clunk(struct p9_server *s, uint32_t id)
{
	struct fid **pp = slot(s, id), *f = *pp;

	if (f) {
		*pp = f->next;
		fid_free(f);
		s->nfids--;
	}
}

/* A new fid `id` naming fd (taken over) at path (taken over). */
static int fid_add(struct p9_server *s, uint32_t id, int fd, char *path, const struct stat *st, uint32_t uid)
{
	struct fid *f;

	if (s->nfids >= s->max_fids || !(f = calloc(1, sizeof(*f)))) {
		close(fd);
		free(path);
		return -ENFILE;
	}
	clunk(s, id); /* a walk onto itself replaces the fid */
	f->id = id;
	f->fd = fd;
	f->open_fd = -1;
	f->type = st->st_mode & S_IFMT;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->uid = uid;
	f->path = path;
	f->next = NULL;
	*slot(s, id) = f;
	s->nfids++;
	return 0;
}

/* The directory that holds f and f's name in it, for calls that take a
 * (dirfd, name) pair; *close_it when *dirfd must be closed. The entry must
 * still be f's file (a host rename may have moved it): else ESTALE. */
static int parent_of(struct p9_server *s, const struct fid *f, int *dirfd, const char **base, bool *close_it)
{
	const char *slash = strrchr(f->path, '/');
	struct stat st;

	*close_it = false;
	if (!f->path[0]) {
		*dirfd = s->root_fd;
		*base = ".";
		return 0;
	}
	if (!slash) {
		*dirfd = s->root_fd;
		*base = f->path;
	} else {
		char dir[4096];
		size_t n = (size_t)(slash - f->path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, f->path, n);
		dir[n] = '\0';
		if ((*dirfd = open_beneath(s->root_fd, dir, O_PATH | O_DIRECTORY)) < 0)
			return -errno;
		*close_it = true;
		*base = slash + 1;
	}
	int r = fstatat(*dirfd, *base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
		: st.st_ino != f->ino || st.st_dev != f->dev ? -ESTALE : 0;
	if (r < 0 && *close_it) {
		close(*dirfd);
		*close_it = false;
	}
	return r;
}

/* Renames move the paths of every fid at or below the old name. */
static void rename_paths(struct p9_server *s, const char *from, const char *to)
{
	size_t n = strlen(from);

	for (unsigned b = 0; b < FID_BUCKETS; b++)
		for (struct fid *f = s->buckets[b]; f; f = f->next) {
			if (strncmp(f->path, from, n) || (f->path[n] && f->path[n] != '/'))
				continue;
			char *p = malloc(strlen(to) + strlen(f->path + n) + 1);
			if (!p)
				continue;
			strcpy(p, to);
			strcat(p, f->path + n);
			free(f->path);
			f->path = p;
		}
}

/* Files a root server creates belong to the guest's user, as a user's
 * server's files belong to that user already. */
static void own(struct p9_server *s, int dirfd, const char *name, uint32_t uid, uint32_t gid)
{
	/* Best effort: the file exists either way. */
	if (s->as_root)
		(void)!fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static int host_flags(uint32_t dotl)
{
	int f = (dotl & DOTL_ACCMODE) == DOTL_RDWR ? O_RDWR : (dotl & DOTL_ACCMODE) == DOTL_WRONLY ? O_WRONLY : O_RDONLY;

	if (dotl & DOTL_TRUNC)
		f |= O_TRUNC;
	if (dotl & DOTL_APPEND)
		f |= O_APPEND;
	if (dotl & DOTL_DSYNC)
		f |= O_DSYNC;
	if (dotl & DOTL_SYNC)
		f |= O_SYNC;
	return f;
}

static bool writes(uint32_t dotl)
{
	return (dotl & DOTL_ACCMODE) != 0 || (dotl & (DOTL_TRUNC | DOTL_APPEND | DOTL_CREATE));
}

/* Opens an entry for I/O: only regular files and directories, never
 * blocking on a FIFO swapped in under us. */
static int open_checked(int dirfd, const char *name, int flags, mode_t mode, bool beneath, struct stat *st)
{
	int fd = beneath ? open_beneath(dirfd, name, flags | O_NONBLOCK)
			 : openat(dirfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	if (stat_fd(fd, st) < 0 || !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))) {
		close(fd);
		return -EPERM;
	}
	fcntl(fd, F_SETFL, flags & (O_APPEND | O_DSYNC | O_SYNC));
	return fd;
}

/* ---- the requests: each fills `o` after the header and returns 0, or
 * returns -errno for an Rlerror ---- */

static int do_version(struct p9_server *s, struct msg *m, struct out *o)
{
	uint32_t msize = get32(m);
	char version[32];

	get_str(m, version, sizeof(version));
	if (m->bad)
		return -EINVAL;
	p9_server_reset(s);
	if (msize > P9_MAX_MSIZE)
		msize = P9_MAX_MSIZE;
	if (msize < P9_MIN_MSIZE || strcmp(version, "9P2000.L")) {
		put32(o, msize < P9_MIN_MSIZE ? P9_MIN_MSIZE : msize);
		put_str(o, "unknown");
		return 0;
	}
	s->msize = msize;
	put32(o, msize);
	put_str(o, "9P2000.L");
	return 0;
}

static int do_attach(struct p9_server *s, struct msg *m, struct out *o)
{
	char uname[256], aname[256];
	uint32_t id = get32(m), afid = get32(m), uid;
	struct stat st;
	int fd;

	get_str(m, uname, sizeof(uname));
	get_str(m, aname, sizeof(aname));
	uid = get32(m);
	if (m->bad)
		return -EINVAL;
	if (afid != NOFID)
		return -EINVAL;
	if (lookup(s, id))
		return -EEXIST;
	if ((fd = open_beneath(s->root_fd, ".", O_PATH | O_DIRECTORY)) < 0 || stat_fd(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int r = fid_add(s, id, fd, strdup(""), &st, uid);
	if (r < 0)
		return r;
	put_qid(o, &st);
	return 0;
}

/* One step of a walk from (fd, path): ".." lexically, else one name
 * beneath fd. */
static int walk_one(struct p9_server *s, int fd, const char *path, const char *name, int *new_fd, char **new_path)
{
	if (!strcmp(name, "..")) {
		const char *slash = strrchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : 0;
		char *up = strndup(path, n);

		if (!up)
			return -ENOMEM;
		*new_fd = open_beneath(s->root_fd, n ? up : ".", O_PATH | O_DIRECTORY);
		if (*new_fd < 0) {
			free(up);
			return -errno;
		}
		*new_path = up;
		return 0;
	}
	if (!plain_name(name))
		return -ENOENT;
	if (!(*new_path = join(path, name)))
		return -ENOMEM;
	if ((*new_fd = open_beneath(fd, name, O_PATH)) < 0) {
		int e = errno;
		free(*new_path);
		return e == ELOOP ? -ENOTDIR : -e; /* a symlink in the middle of a walk */
	}
	return 0;
}

static int do_walk(struct p9_server *s, struct msg *m, struct out *o)
{
	uint32_t id = get32(m), newid = get32(m);
	uint16_t n = get16(m);
	char names[MAX_WALK][NAME_MAX_9P + 1];
	struct fid *f = lookup(s, id);
	int fd, r = 0;
	char *path;
	struct stat st;
	uint16_t done = 0;

	if (n > MAX_WALK)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		get_str(m, names[i], sizeof(names[i]));
	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (newid != id && lookup(s, newid))
		return -EEXIST;
	if (f->open_fd >= 0)
		return -EBADF; /* an open fid cannot be walked */
	s->stats.walks++;
	if ((fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	if (!(path = strdup(f->path))) {
		close(fd);
		return -ENOMEM;
	}
	if (stat_fd(fd, &st) < 0)
		r = -errno;
	put16(o, 0); /* nwqid, filled in below */
	for (; r == 0 && done < n; done++) {
		int nfd = -1;
		char *npath = NULL;

		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			break;
		}
		if ((r = walk_one(s, fd, path, names[done], &nfd, &npath)) < 0)
			break;
		close(fd);
		free(path);
		fd = nfd;
		path = npath;
		if (stat_fd(fd, &st) < 0) {
			r = -errno;
			break;
		}
		put_qid(o, &st);
	}
	if (done < n) { /* the first step failed: an error; a later one: the qids so far */
		close(fd);
		free(path);
		if (done == 0)
			return r;
		le16_store(o->p + HDR, done);
		return 0;
	}
	le16_store(o->p + HDR, done);
	return fid_add(s, newid, fd, path, &st, f->uid);
}

static int do_getattr(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	struct stat st;

	get64(m); /* request_mask: we answer the basic set whatever is asked */
	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (stat_fd(f->fd, &st) < 0)
		return -errno;
	s->stats.getattrs++;
	put64(o, GETATTR_BASIC);
	put_qid(o, &st);
	put32(o, st.st_mode);
	put32(o, st.st_uid);
	put32(o, st.st_gid);
	put64(o, st.st_nlink);
	put64(o, st.st_rdev);
	put64(o, (uint64_t)st.st_size);
	put64(o, (uint64_t)st.st_blksize);
	put64(o, (uint64_t)st.st_blocks);
	put64(o, (uint64_t)st.st_atim.tv_sec);
	put64(o, (uint64_t)st.st_atim.tv_nsec);
	put64(o, (uint64_t)st.st_mtim.tv_sec);
	put64(o, (uint64_t)st.st_mtim.tv_nsec);
	put64(o, (uint64_t)st.st_ctim.tv_sec);
	put64(o, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++) /* btime, gen, data_version: not given */
		put64(o, 0);
	return 0;
}

static int do_lopen(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	uint32_t flags = get32(m);
	struct stat st;
	int fd;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (f->open_fd >= 0)
		return -EBADF;
	if (s->read_only && writes(flags))
		return -EROFS;
	if (f->type != S_IFREG && f->type != S_IFDIR)
		return f->type == S_IFLNK ? -ELOOP : -EPERM;
	if (f->type == S_IFDIR && (flags & DOTL_ACCMODE))
		return -EISDIR;
	fd = open_checked(s->root_fd, f->path[0] ? f->path : ".", host_flags(flags) |
			  (f->type == S_IFDIR ? O_DIRECTORY : 0), 0, true, &st);
	if (fd < 0)
		return fd;
	if (st.st_ino != f->ino || st.st_dev != f->dev) {
		close(fd);
		return -ESTALE;
	}
	f->open_fd = fd;
	put_qid(o, &st);
	put32(o, 0); /* iounit: msize */
	return 0;
}

/* The directory fid `dirid` and a new plain name in it, for creating. */
static int creating(struct p9_server *s, uint32_t dirid, const char *name, struct fid **dir)
{
	*dir = lookup(s, dirid);
	if (!*dir)
		return -EBADF;
	if ((*dir)->type != S_IFDIR)
		return -ENOTDIR;
	if (!plain_name(name))
		return strcmp(name, ".") && strcmp(name, "..") && name[0] ? -EINVAL : -EEXIST;
	return s->read_only ? -EROFS : 0;
}

static int do_lcreate(struct p9_server *s, struct msg *m, struct out *o)
{
	uint32_t id = get32(m), flags, mode, gid;
	char name[NAME_MAX_9P + 1];
	struct fid *dir;
	struct stat st;
	char *path;
	int fd, r;

	get_str(m, name, sizeof(name));
	flags = get32(m);
	mode = get32(m);
	gid = get32(m);
	if (m->bad)
		return -EINVAL;
	if ((r = creating(s, id, name, &dir)) < 0)
		return r;
	if (dir->open_fd >= 0)
		return -EBADF;
	/* O_CREAT never opens a directory, so this is a regular file. */
	fd = open_checked(dir->fd, name, host_flags(flags) | O_CREAT | (flags & DOTL_EXCL ? O_EXCL : 0), mode & 07777,
			  false, &st);
	if (fd < 0)
		return fd;
	own(s, dir->fd, name, dir->uid, gid);
	if (!(path = join(dir->path, name))) {
		close(fd);
		return -ENOMEM;
	}
	/* The directory's fid becomes the new, open file. */
	int pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	uint32_t uid = dir->uid;
	if (pfd < 0 || (r = fid_add(s, id, pfd, path, &st, uid)) < 0) {
		if (pfd < 0)
			free(path);
		close(fd);
		return pfd < 0 ? -EMFILE : r;
	}
	lookup(s, id)->open_fd = fd;
	put_qid(o, &st);
	put32(o, 0);
	return 0;
}

static int reply_new_entry(struct fid *dir, const char *name, struct out *o)
{
	struct stat st;

	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	put_qid(o, &st);
	return 0;
}

/* Tmkdir, Tsymlink and Tmknod: a new entry in a directory fid, which a
 * root server gives to the guest's user. */
static int do_make(struct p9_server *s, struct msg *m, struct out *o, uint8_t type)
{
	uint32_t id = get32(m), mode = 0, gid;
	char name[NAME_MAX_9P + 1], *target = s->link_target;
	struct fid *dir;
	int r;

	get_str(m, name, sizeof(name));
	if (type == Tsymlink)
		get_str(m, target, sizeof(s->link_target));
	else
		mode = get32(m);
	if (type == Tmknod) {
		get32(m); /* major */
		get32(m); /* minor */
	}
	gid = get32(m);
	if (m->bad)
		return -EINVAL;
	if ((r = creating(s, id, name, &dir)) < 0)
		return r;
	if (type == Tmkdir)
		r = mkdirat(dir->fd, name, mode & 07777);
	else if (type == Tsymlink)
		r = symlinkat(target, dir->fd, name); /* stored as given; the server never follows it */
	else if (S_ISFIFO(mode) || S_ISSOCK(mode))
		r = mknodat(dir->fd, name, (mode & 07777) | (mode & S_IFMT), 0);
	else /* FIFOs and sockets may be made (the guest binds its own
	      * sockets); device nodes never: the share is no door to host
	      * devices. */
		return -EPERM;
	if (r < 0)
		return -errno;
	own(s, dir->fd, name, dir->uid, gid);
	return reply_new_entry(dir, name, o);
}

static int do_readlink(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	char target[4097];
	ssize_t n;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (f->type != S_IFLNK)
		return -EINVAL;
	n = readlinkat(f->fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	put_str(o, target);
	return 0;
}

/* Tread and Twrite: preadv/pwritev straight between the file and the
 * chain's buffers (Rread's data follows its 11-byte header in the
 * writable side; Twrite's follows its 23-byte header in the readable). */
static int do_io(struct p9_server *s, const struct vq_chain *c, struct msg *m, struct out *o, uint32_t size,
		 bool write)
{
	struct fid *f = lookup(s, get32(m));
	uint64_t offset = get64(m);
	uint32_t count = get32(m);
	struct iovec *iov = s->iov;
	unsigned n;
	ssize_t r;

	if (m->bad || (write && count > size - 23))
		return -EINVAL;
	if (!f || f->open_fd < 0)
		return -EBADF;
	if (f->type == S_IFDIR)
		return -EISDIR;
	if (write && s->read_only)
		return -EROFS;
	if (!write && count > s->msize - 11)
		count = s->msize - 11;
	if (!write && count > c->in_len - 11)
		count = (uint32_t)(c->in_len - 11);
	n = count ? vq_chain_slice(c, !write, write ? 23 : 11, count, iov, VQ_MAX_CHAIN) : 0;
	do
		r = !n ? 0 : write ? pwritev(f->open_fd, iov, (int)n, (off_t)offset)
				   : preadv(f->open_fd, iov, (int)n, (off_t)offset);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	*(write ? &s->stats.bytes_written : &s->stats.bytes_read) += (uint64_t)r;
	put32(o, (uint32_t)r);
	if (!write)
		o->len += (size_t)r; /* the data is in the chain already, after the header */
	return 0;
}

static int do_readdir(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	uint64_t offset = get64(m);
	uint32_t count = get32(m);
	size_t count_at;
	uint32_t used = 0;
	off_t resume = (off_t)offset;

	if (m->bad)
		return -EINVAL;
	if (!f || f->open_fd < 0)
		return -EBADF;
	if (f->type != S_IFDIR)
		return -ENOTDIR;
	if (count > s->msize - 11)
		count = s->msize - 11;
	if (count > o->cap - 11)
		count = (uint32_t)(o->cap - 11);
	s->stats.readdirs++;
	if (lseek(f->open_fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	count_at = o->len;
	put32(o, 0);
	for (;;) {
		long got = syscall(SYS_getdents64, f->open_fd, s->dents, 32768);
		bool full = false;

		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		for (long pos = 0; pos < got;) {
			const uint8_t *d = s->dents + pos;
			uint64_t ino, off;
			uint16_t reclen;
			const char *name = (const char *)d + 19;
			size_t len;

			memcpy(&ino, d, 8);
			memcpy(&off, d + 8, 8);
			memcpy(&reclen, d + 16, 2);
			len = strnlen(name, reclen > 19 ? reclen - 19u : 0);
			if (used + 24 + len > count) {
				full = true;
				break;
			}
			uint8_t dtype = d[18];
			put8(o, dtype == DT_DIR ? QT_DIR : dtype == DT_LNK ? QT_SYMLINK : 0);
			put32(o, 0);
			put64(o, ino);
			put64(o, off);
			put8(o, dtype);
			put16(o, (uint16_t)len);
			put_bytes(o, name, len);
			used += (uint32_t)(24 + len);
			resume = (off_t)off;
			pos += reclen;
		}
		if (full)
			break;
	}
	/* What did not fit is read again next time, from the last entry sent. */
	lseek(f->open_fd, resume, SEEK_SET);
	le32_store(o->p + count_at, used);
	return 0;
}

static int do_setattr(struct p9_server *s, struct msg *m)
{
	struct fid *f = lookup(s, get32(m));
	uint32_t valid = get32(m), mode = get32(m), uid = get32(m), gid = get32(m);
	uint64_t size = get64(m), as = get64(m), ans = get64(m), ms = get64(m), mns = get64(m);
	int dirfd, r = 0;
	const char *base;
	bool close_it;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (s->read_only)
		return -EROFS;
	if ((r = parent_of(s, f, &dirfd, &base, &close_it)) < 0)
		return r;
	if ((valid & SET_MODE) && f->type != S_IFLNK && fchmodat(dirfd, base, mode & 07777, 0) < 0)
		r = -errno;
	if (!r && (valid & (SET_UID | SET_GID)) &&
	    fchownat(dirfd, base, valid & SET_UID ? uid : (uid_t)-1, valid & SET_GID ? gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (!r && (valid & SET_SIZE)) {
		if (f->type != S_IFREG)
			r = -EINVAL;
		else if (f->open_fd >= 0 && (fcntl(f->open_fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
			r = ftruncate(f->open_fd, (off_t)size) < 0 ? -errno : 0;
		else {
			struct stat st;
			int fd = open_checked(dirfd, base, O_WRONLY, 0, false, &st);
			r = fd < 0 ? fd : ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
			if (fd >= 0)
				close(fd);
		}
	}
	if (!r && (valid & (SET_ATIME | SET_MTIME))) {
		struct timespec t[2] = {
			{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
		};
		if (valid & SET_ATIME)
			t[0] = valid & SET_ATIME_SET ? (struct timespec){ (time_t)as, (long)ans } : (struct timespec){ 0, UTIME_NOW };
		if (valid & SET_MTIME)
			t[1] = valid & SET_MTIME_SET ? (struct timespec){ (time_t)ms, (long)mns } : (struct timespec){ 0, UTIME_NOW };
		if (utimensat(dirfd, base, t, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	if (close_it)
		close(dirfd);
	return r;
}

static int do_statfs(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	struct statfs st;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (fstatfs(f->fd, &st) < 0)
		return -errno;
	put32(o, (uint32_t)st.f_type);
	put32(o, (uint32_t)st.f_bsize);
	put64(o, st.f_blocks);
	put64(o, st.f_bfree);
	put64(o, st.f_bavail);
	put64(o, st.f_files);
	put64(o, st.f_ffree);
	put64(o, 0); /* fsid */
	put32(o, (uint32_t)st.f_namelen);
	return 0;
}

static int do_fsync(struct p9_server *s, struct msg *m)
{
	struct fid *f = lookup(s, get32(m));
	uint32_t datasync = get32(m);

	if (m->bad)
		return -EINVAL;
	if (!f || f->open_fd < 0)
		return -EBADF;
	return (datasync ? fdatasync(f->open_fd) : fsync(f->open_fd)) < 0 ? -errno : 0;
}

/* Locks are the guest's business: its own kernel arbitrates between its
 * processes, and the share has one client. */
static int do_lock(struct msg *m, struct out *o, bool get)
{
	char client[256];
	uint8_t type;
	uint64_t start, length;
	uint32_t proc;

	get32(m);
	type = get8(m);
	if (!get)
		get32(m); /* flags */
	start = get64(m);
	length = get64(m);
	proc = get32(m);
	get_str(m, client, sizeof(client));
	if (m->bad)
		return -EINVAL;
	if (!get) {
		put8(o, 0); /* P9_LOCK_SUCCESS */
		return 0;
	}
	(void)type;
	put8(o, 2); /* P9_LOCK_TYPE_UNLCK: nothing conflicts */
	put64(o, start);
	put64(o, length);
	put32(o, proc);
	put_str(o, client);
	return 0;
}

static int do_link(struct p9_server *s, struct msg *m)
{
	struct fid *dir = lookup(s, get32(m)), *f = lookup(s, get32(m)), *d2;
	char name[NAME_MAX_9P + 1];
	int dirfd, r;
	const char *base;
	bool close_it;

	get_str(m, name, sizeof(name));
	if (m->bad)
		return -EINVAL;
	if (!dir || !f)
		return -EBADF;
	if ((r = creating(s, dir->id, name, &d2)) < 0)
		return r;
	if (f->type == S_IFDIR)
		return -EPERM;
	if ((r = parent_of(s, f, &dirfd, &base, &close_it)) < 0)
		return r;
	r = linkat(dirfd, base, dir->fd, name, 0) < 0 ? -errno : 0;
	if (close_it)
		close(dirfd);
	return r;
}

static int do_renameat(struct p9_server *s, struct fid *from, const char *oldname, struct fid *to,
		       const char *newname)
{
	char *a, *b;
	int r = 0;

	if (!from || !to)
		return -EBADF;
	if (!plain_name(oldname) || !plain_name(newname))
		return -EINVAL;
	if (from->type != S_IFDIR || to->type != S_IFDIR)
		return -ENOTDIR;
	if (s->read_only)
		return -EROFS;
	if (renameat(from->fd, oldname, to->fd, newname) < 0)
		return -errno;
	a = join(from->path, oldname);
	b = join(to->path, newname);
	if (a && b)
		rename_paths(s, a, b);
	else
		r = -ENOMEM;
	free(a);
	free(b);
	return r;
}

static int do_rename(struct p9_server *s, struct msg *m)
{
	struct fid *f = lookup(s, get32(m)), *to = lookup(s, get32(m)), *from;
	char name[NAME_MAX_9P + 1], old[NAME_MAX_9P + 1], dirpath[4096];
	const char *slash;
	int dirfd, r;

	get_str(m, name, sizeof(name));
	if (m->bad)
		return -EINVAL;
	if (!f || !to)
		return -EBADF;
	if (!f->path[0])
		return -EBUSY; /* the share's root stays */
	slash = strrchr(f->path, '/');
	snprintf(old, sizeof(old), "%s", slash ? slash + 1 : f->path);
	snprintf(dirpath, sizeof(dirpath), "%.*s", slash ? (int)(slash - f->path) : 0, f->path);
	/* Trename names the old directory by path: a temporary fid for it. */
	if ((dirfd = open_beneath(s->root_fd, dirpath[0] ? dirpath : ".", O_PATH | O_DIRECTORY)) < 0)
		return -errno;
	struct fid tmp = { .fd = dirfd, .open_fd = -1, .type = S_IFDIR, .path = dirpath };
	from = &tmp;
	r = do_renameat(s, from, old, to, name);
	close(dirfd);
	return r;
}

static int do_unlinkat(struct p9_server *s, struct fid *dir, const char *name, uint32_t flags)
{
	if (!dir)
		return -EBADF;
	if (dir->type != S_IFDIR)
		return -ENOTDIR;
	if (!plain_name(name))
		return -EINVAL;
	if (s->read_only)
		return -EROFS;
	return unlinkat(dir->fd, name, flags & AT_REMOVEDIR_9P ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

static int do_remove(struct p9_server *s, uint32_t id)
{
	struct fid *f = lookup(s, id);
	int dirfd, r;
	const char *base;
	bool close_it;

	if (!f)
		return -EBADF;
	if (s->read_only)
		r = -EROFS;
	else if (!f->path[0])
		r = -EBUSY;
	else if ((r = parent_of(s, f, &dirfd, &base, &close_it)) == 0) {
		r = unlinkat(dirfd, base, f->type == S_IFDIR ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
		if (close_it)
			close(dirfd);
	}
	clunk(s, id); /* Tremove clunks, whatever the outcome */
	return r;
}

static int dispatch(struct p9_server *s, const struct vq_chain *c, uint8_t type, uint32_t size, struct msg *m,
		    struct out *o)
{
	char a[NAME_MAX_9P + 1], b[NAME_MAX_9P + 1];
	uint32_t x, y;

	if (!s->msize && type != Tversion)
		return -EPROTO; /* Tversion first */
	switch (type) {
	case Tversion: return do_version(s, m, o);
	case Tauth: return -EOPNOTSUPP; /* no authentication: the share is the VM's */
	case Tattach: return do_attach(s, m, o);
	case Tflush: return 0;  /* requests are served in order, none is pending */
	case Twalk: return do_walk(s, m, o);
	case Tgetattr: return do_getattr(s, m, o);
	case Tsetattr: return do_setattr(s, m);
	case Tlopen: return do_lopen(s, m, o);
	case Tlcreate: return do_lcreate(s, m, o);
	case Tread: return do_io(s, c, m, o, size, false);
	case Twrite: return do_io(s, c, m, o, size, true);
	case Treaddir: return do_readdir(s, m, o);
	case Treadlink: return do_readlink(s, m, o);
	case Tmkdir: case Tsymlink: case Tmknod: return do_make(s, m, o, type);
	case Tstatfs: return do_statfs(s, m, o);
	case Tfsync: return do_fsync(s, m);
	case Tlock: return do_lock(m, o, false);
	case Tgetlock: return do_lock(m, o, true);
	case Tlink: return do_link(s, m);
	case Trename: return do_rename(s, m);
	case Txattrwalk: case Txattrcreate: return -EOPNOTSUPP;
	case Tclunk:
		x = get32(m);
		if (m->bad)
			return -EINVAL;
		if (!lookup(s, x))
			return -EBADF;
		clunk(s, x);
		return 0;
	case Tremove:
		x = get32(m);
		return m->bad ? -EINVAL : do_remove(s, x);
	case Trenameat:
		x = get32(m);
		get_str(m, a, sizeof(a));
		y = get32(m);
		get_str(m, b, sizeof(b));
		return m->bad ? -EINVAL : do_renameat(s, lookup(s, x), a, lookup(s, y), b);
	case Tunlinkat:
		x = get32(m);
		get_str(m, a, sizeof(a));
		y = get32(m);
		return m->bad ? -EINVAL : do_unlinkat(s, lookup(s, x), a, y);
	default:
		return -EOPNOTSUPP;
	}
}

uint32_t p9_server_handle(struct p9_server *s, const struct vq_chain *c)
{
	uint8_t hdr[HDR];
	uint32_t size, cap;
	uint8_t type;
	uint16_t tag;
	struct msg m;
	struct out o;
	int r;

	if (c->in_len < 11)
		return 0;
	s->stats.requests++;
	cap = s->msize ? s->msize : P9_MIN_MSIZE;
	if (c->in_len < cap)
		cap = (uint32_t)c->in_len;
	if (vq_chain_read(c, 0, hdr, HDR) < HDR) {
		size = 0;
		type = 0;
		tag = 0xffff;
	} else {
		size = le32_load(hdr);
		type = hdr[4];
		tag = le16_load(hdr + 5);
	}
	o = (struct out){ .p = s->reply, .cap = cap, .len = HDR };
	if (size < HDR || size > c->out_len || (s->msize && size > s->msize)) {
		r = -EMSGSIZE;
	} else {
		/* One copy of the message: the guest cannot change it under us.
		 * Twrite's data stays in the chain; it is read once, by pwritev. */
		uint32_t body = type == Twrite ? (size < 23 ? size : 23) : size;
		if (body > TMSG_MAX) {
			r = -EMSGSIZE;
		} else {
			vq_chain_read(c, 0, s->tmsg, body);
			m = (struct msg){ .p = s->tmsg, .len = body, .pos = HDR };
			r = dispatch(s, c, type, size, &m, &o);
			if (r == 0 && o.over)
				r = -EMSGSIZE;
		}
	}
	if (r < 0) {
		s->stats.errors++;
		o.len = HDR;
		o.over = false;
		put32(&o, (uint32_t)-r);
		type = Tlerror;
	}
	/* Rread's data went into the chain already: only its header is ours. */
	uint32_t mine = type == Tread ? 11 : (uint32_t)o.len;
	le32_store(s->reply, (uint32_t)o.len);
	s->reply[4] = (uint8_t)(type + 1);
	le16_store(s->reply + 5, tag);
	vq_chain_write(c, 0, s->reply, mine);
	return (uint32_t)o.len;
}

void p9_server_reset(struct p9_server *s)
{
	for (unsigned b = 0; b < FID_BUCKETS; b++)
		while (s->buckets[b]) {
			struct fid *f = s->buckets[b];
			s->buckets[b] = f->next;
			fid_free(f);
		}
	s->nfids = 0;
	s->msize = 0;
}

struct p9_server *p9_server_create(const char *root, bool read_only, struct error *err)
{
	struct p9_server *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s || !(s->reply = malloc(P9_MAX_MSIZE)) || !(s->dents = malloc(32768))) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for the 9p server");
		goto fail;
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
	/* openat2 (Linux 5.6) keeps every path beneath the root in one call;
	 * without it, the component walk does. */
	int probe = open_beneath(s->root_fd, ".", O_PATH | O_DIRECTORY);
	if (probe < 0 && errno == ENOSYS) {
		have_openat2 = false;
		probe = open_beneath(s->root_fd, ".", O_PATH | O_DIRECTORY);
	}
	if (probe < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "cannot share %s", root);
		goto fail;
	}
	close(probe);
	s->read_only = read_only;
	s->as_root = geteuid() == 0;
	/* Every fid holds a descriptor, and a guest with cache=loose keeps a
	 * fid per cached entry: a 10,000-file tree needs 10,000. Soft limit
	 * up to the hard one; a root saevm (CAP_SYS_RESOURCE, before it drops
	 * its capabilities) raises the hard limit to 1M too. Past the limit
	 * the guest gets EMFILE. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		struct rlimit want = rl;
		if (want.rlim_max < (1u << 20) && s->as_root)
			want.rlim_max = 1u << 20;
		want.rlim_cur = want.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	s->max_fids = 1u << 20;
	return s;
fail:
	if (s && s->root_fd > 0)
		close(s->root_fd);
	if (s) {
		free(s->reply);
		free(s->dents);
	}
	free(s);
	return NULL;
}

void p9_server_destroy(struct p9_server *s)
{
	if (!s)
		return;
	p9_server_reset(s);
	close(s->root_fd);
	free(s->reply);
	free(s->dents);
	free(s);
}

const struct p9_stats *p9_server_stats(const struct p9_server *s)
{
	return &s->stats;
}

uint32_t p9_server_msize(const struct p9_server *s)
{
	return s->msize;
}
