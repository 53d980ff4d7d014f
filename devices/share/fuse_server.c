/* fuse_server.c - FUSE on a host directory (see fuse_server.h). Layouts
 * are those of /usr/include/linux/fuse.h; every field is read and written
 * little-endian one by one (never a host struct over guest bytes: s390x
 * is big-endian). */
#include "fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../vmm/le.h"
#include "share.h"
#include "wire.h"

#define IN_HDR 40
#define OUT_HDR 16
#define REQ_MAX (IN_HDR + 8192u)   /* every request but a write's data fits */
#define REPLY_MAX (64u << 10)      /* every reply but a read's data fits */
#define ATTR_SIZE 88
#define ENTRY_SIZE (40 + ATTR_SIZE)
#define DIRENT_SIZE 24
#define MIN_MINOR 31
/* The newest protocol this server speaks (Linux 6.2's), whatever the build
 * machine's linux/fuse.h says: the layouts it uses are the same in all. */
#define MAX_MINOR 38
#define BUCKETS 4096

/* Open flags as the arm64 guest has them; those saevm acts on are the
 * same in Linux's generic encoding (O_DIRECTORY and O_DIRECT differ, and
 * are not taken from the guest). */
#define G_ACCMODE 03
#define G_TRUNC 01000
#define G_APPEND 02000
#define G_DSYNC 010000
#define G_SYNC 04000000
#define G_EXCL 0200

struct inode {
	uint64_t nodeid;
	uint64_t nlookup;
	int fd;          /* O_PATH */
	dev_t dev;
	ino_t ino;
	mode_t type;
	struct inode *by_id, *by_key;
};

struct handle {
	uint64_t fh;
	int fd;
	bool dir;
	struct handle *next;
};

struct fuse_server {
	struct share *share;
	enum fuse_cache cache;
	bool initialized;
	uint32_t minor;
	uint64_t next_nodeid, next_fh;
	unsigned ninodes, nhandles, max_inodes, max_handles;
	struct inode *root;
	struct inode *ids[BUCKETS], *keys[BUCKETS];
	struct handle *handles[BUCKETS];
	uint8_t req[REQ_MAX];
	uint8_t reply[REPLY_MAX];
	uint8_t dents[32768];
	struct iovec iov[VQ_MAX_CHAIN];
	struct fuse_stats stats;
};

/* ---- reading the request, writing the reply ---- */

/* A NUL-terminated name in the request: a plain name (share.h), else bad. */
static const char *get_name(struct msg *m, size_t max)
{
	const char *p = (const char *)m->p + m->pos;
	size_t left = m->bad ? 0 : m->len - m->pos;
	const char *nul = memchr(p, '\0', left < max + 1 ? left : max + 1);

	if (!nul) {
		m->bad = true;
		return "";
	}
	m->pos += (size_t)(nul - p) + 1;
	return p;
}

/* ---- inodes and handles ---- */

static unsigned id_bucket(uint64_t id) { return (unsigned)((id ^ (id >> 12)) % BUCKETS); }
static unsigned key_bucket(dev_t dev, ino_t ino) { return (unsigned)(((uint64_t)ino ^ ((uint64_t)dev << 20)) % BUCKETS); }

static struct inode *inode_by_id(struct fuse_server *s, uint64_t id)
{
	struct inode *i = s->ids[id_bucket(id)];

	while (i && i->nodeid != id)
		i = i->by_id;
	return i;
}

static void unlink_from(struct inode **head, struct inode *i, bool key)
{
	for (struct inode **pp = head; *pp; pp = key ? &(*pp)->by_key : &(*pp)->by_id)
		if (*pp == i) {
			*pp = key ? i->by_key : i->by_id;
			return;
		}
}

static void inode_free(struct fuse_server *s, struct inode *i)
{
	unlink_from(&s->ids[id_bucket(i->nodeid)], i, false);
	unlink_from(&s->keys[key_bucket(i->dev, i->ino)], i, true);
	close(i->fd);
	free(i);
	s->ninodes--;
}

/* The inode for O_PATH descriptor fd (taken over; *st its stat), with one
 * more lookup; NULL when the bound is reached. */
static struct inode *inode_lookup_ref(struct fuse_server *s, int fd, const struct stat *st)
{
	struct inode *i = s->keys[key_bucket(st->st_dev, st->st_ino)];

	while (i && !(i->dev == st->st_dev && i->ino == st->st_ino))
		i = i->by_key;
	if (i) {
		close(fd);
		i->nlookup++;
		return i;
	}
	if (s->ninodes >= s->max_inodes || !(i = calloc(1, sizeof(*i)))) {
		close(fd);
		return NULL;
	}
	i->nodeid = s->next_nodeid++;
	i->nlookup = 1;
	i->fd = fd;
	i->dev = st->st_dev;
	i->ino = st->st_ino;
	i->type = st->st_mode & S_IFMT;
	i->by_id = s->ids[id_bucket(i->nodeid)];
	s->ids[id_bucket(i->nodeid)] = i;
	i->by_key = s->keys[key_bucket(i->dev, i->ino)];
	s->keys[key_bucket(i->dev, i->ino)] = i;
	s->ninodes++;
	return i;
}

static void forget(struct fuse_server *s, uint64_t nodeid, uint64_t n)
{
	struct inode *i = nodeid == FUSE_ROOT_ID ? NULL : inode_by_id(s, nodeid);

	s->stats.forgets++;
	if (!i)
		return;
	i->nlookup = n >= i->nlookup ? 0 : i->nlookup - n;
	if (i->nlookup == 0)
		inode_free(s, i);
}

static struct handle *handle_get(struct fuse_server *s, uint64_t fh)
{
	struct handle *h = s->handles[id_bucket(fh)];

	while (h && h->fh != fh)
		h = h->next;
	return h;
}

static int handle_add(struct fuse_server *s, int fd, bool dir, uint64_t *fh)
{
	struct handle *h;

	if (s->nhandles >= s->max_handles || !(h = calloc(1, sizeof(*h)))) {
		close(fd);
		return -ENFILE;
	}
	h->fh = s->next_fh++;
	h->fd = fd;
	h->dir = dir;
	h->next = s->handles[id_bucket(h->fh)];
	s->handles[id_bucket(h->fh)] = h;
	s->nhandles++;
	*fh = h->fh;
	return 0;
}

static void handle_close(struct fuse_server *s, uint64_t fh)
{
	for (struct handle **pp = &s->handles[id_bucket(fh)]; *pp; pp = &(*pp)->next)
		if ((*pp)->fh == fh) {
			struct handle *h = *pp;
			*pp = h->next;
			close(h->fd);
			free(h);
			s->nhandles--;
			return;
		}
}

/* ---- replies ---- */

static uint64_t valid_seconds(const struct fuse_server *s)
{
	return s->cache == FUSE_CACHE_NEVER ? 0 : s->cache == FUSE_CACHE_ALWAYS ? 86400 : 1;
}

static void put_attr(struct out *o, const struct stat *st)
{
	put64(o, (uint64_t)st->st_ino);
	put64(o, (uint64_t)st->st_size);
	put64(o, (uint64_t)st->st_blocks);
	put64(o, (uint64_t)st->st_atim.tv_sec);
	put64(o, (uint64_t)st->st_mtim.tv_sec);
	put64(o, (uint64_t)st->st_ctim.tv_sec);
	put32(o, (uint32_t)st->st_atim.tv_nsec);
	put32(o, (uint32_t)st->st_mtim.tv_nsec);
	put32(o, (uint32_t)st->st_ctim.tv_nsec);
	put32(o, st->st_mode);
	put32(o, (uint32_t)st->st_nlink);
	put32(o, st->st_uid);
	put32(o, st->st_gid);
	put32(o, 0); /* rdev: device nodes are never served */
	put32(o, (uint32_t)st->st_blksize);
	put32(o, 0); /* flags */
}

static void put_entry(struct fuse_server *s, struct out *o, uint64_t nodeid, const struct stat *st)
{
	put64(o, nodeid);
	put64(o, 0); /* generation: nodeids are never reused while the guest runs */
	put64(o, nodeid ? valid_seconds(s) : 0); /* entry_valid */
	put64(o, nodeid ? valid_seconds(s) : 0); /* attr_valid */
	put32(o, 0);
	put32(o, 0);
	put_attr(o, st);
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* The new (or found) entry `name` in `dir` as a FUSE entry, one lookup
 * taken: LOOKUP, and every call that makes an entry. */
static int reply_entry(struct fuse_server *s, struct inode *dir, const char *name, struct out *o)
{
	struct stat st;
	struct inode *i;
	int fd = share_walk(s->share, dir->fd, name, &st);

	if (fd < 0)
		return fd;
	if (!(i = inode_lookup_ref(s, fd, &st)))
		return -ENFILE;
	put_entry(s, o, i->nodeid, &st);
	return 0;
}

/* ---- the requests: each fills `o` after the out header and returns 0,
 * or returns -errno ---- */

struct req {
	uint32_t opcode;
	uint64_t nodeid;
	struct inode *node; /* NULL when the nodeid is unknown */
	uint32_t len;       /* the whole request, from its header */
};

static int dir_node(struct fuse_server *s, const struct req *r, struct inode **dir)
{
	(void)s;
	*dir = r->node;
	if (!*dir)
		return -ESTALE;
	return (*dir)->type == S_IFDIR ? 0 : -ENOTDIR;
}

static int do_init(struct fuse_server *s, struct msg *m, struct out *o)
{
	uint32_t major = get32(m), minor = get32(m), readahead = get32(m), flags = get32(m);
	uint32_t want;

	if (m->bad)
		return -EINVAL;
	/* 7.31 (Linux 5.4) and newer: what Debian 12's and 13's kernels speak. */
	if (major != FUSE_KERNEL_VERSION || minor < MIN_MINOR)
		return -EPROTO;
	fuse_server_reset(s);
	s->initialized = true;
	s->minor = minor < MAX_MINOR ? minor : MAX_MINOR;
	want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
	       FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS;
	if (s->cache != FUSE_CACHE_NEVER)
		want |= FUSE_AUTO_INVAL_DATA; /* see open_flags() */
	put32(o, FUSE_KERNEL_VERSION);
	put32(o, s->minor);
	put32(o, readahead);
	put32(o, flags & want);
	put32(o, 16 | (12u << 16)); /* max_background, congestion_threshold */
	put32(o, FUSE_MAX_WRITE);
	put32(o, 1); /* time_gran: nanoseconds */
	put32(o, FUSE_MAX_WRITE / 4096); /* max_pages, then map_alignment 0 */
	put32(o, 0);  /* flags2 */
	put_zero(o, 28);
	return 0;
}

static int do_lookup(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	const char *name = get_name(m, SHARE_NAME_MAX);
	struct inode *dir;
	int e;

	if (m->bad)
		return -EINVAL;
	if ((e = dir_node(s, r, &dir)) < 0)
		return e;
	if ((e = share_beneath(s->share, dir->fd)) < 0)
		return e;
	s->stats.lookups++;
	return reply_entry(s, dir, name, o);
}

static int do_getattr(struct fuse_server *s, const struct req *r, struct out *o)
{
	struct stat st;
	int e;

	if (!r->node)
		return -ESTALE;
	if ((e = stat_fd(r->node->fd, &st)) < 0)
		return e;
	s->stats.getattrs++;
	put64(o, valid_seconds(s));
	put32(o, 0);
	put32(o, 0);
	put_attr(o, &st);
	return 0;
}

static int do_setattr(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	uint32_t valid = get32(m);
	struct stat st;
	struct handle *h;
	int e, fd = -1;

	get32(m);
	uint64_t fh = get64(m), size = get64(m);
	get64(m); /* lock_owner */
	uint64_t atime = get64(m), mtime = get64(m);
	get64(m); /* ctime */
	uint32_t atimensec = get32(m), mtimensec = get32(m);
	get32(m);
	uint32_t mode = get32(m);
	get32(m);
	uint32_t uid = get32(m), gid = get32(m);
	if (m->bad)
		return -EINVAL;
	if (!r->node)
		return -ESTALE;
	if ((e = stat_fd(r->node->fd, &st)) < 0)
		return e;
	if ((valid & FATTR_FH) && (h = handle_get(s, fh)) && !h->dir)
		fd = h->fd;
	if ((valid & FATTR_MODE) && (e = share_chmod(s->share, r->node->fd, &st, mode)) < 0)
		return e;
	if ((valid & (FATTR_UID | FATTR_GID)) &&
	    (e = share_chown(s->share, r->node->fd, &st, valid & FATTR_UID ? uid : (uid_t)-1,
			     valid & FATTR_GID ? gid : (gid_t)-1)) < 0)
		return e;
	if ((valid & FATTR_SIZE) && (e = share_truncate(s->share, r->node->fd, &st, fd, size)) < 0)
		return e;
	if (valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
		if (((valid & FATTR_ATIME) && !(valid & FATTR_ATIME_NOW) && atimensec >= 1000000000u) ||
		    ((valid & FATTR_MTIME) && !(valid & FATTR_MTIME_NOW) && mtimensec >= 1000000000u))
			return -EINVAL;
		if (valid & FATTR_ATIME)
			t[0] = valid & FATTR_ATIME_NOW ? (struct timespec){ 0, UTIME_NOW }
						       : (struct timespec){ (time_t)atime, (long)atimensec };
		if (valid & FATTR_MTIME)
			t[1] = valid & FATTR_MTIME_NOW ? (struct timespec){ 0, UTIME_NOW }
						       : (struct timespec){ (time_t)mtime, (long)mtimensec };
		if ((e = share_utimes(s->share, r->node->fd, &st, t)) < 0)
			return e;
	}
	return do_getattr(s, r, o);
}

static int do_readlink(const struct req *r, struct out *o)
{
	char target[4097];
	ssize_t n;

	if (!r->node)
		return -ESTALE;
	if (r->node->type != S_IFLNK)
		return -EINVAL;
	if ((n = readlinkat(r->node->fd, "", target, sizeof(target) - 1)) < 0)
		return -errno;
	uint8_t *p = room(o, (size_t)n);
	if (p)
		memcpy(p, target, (size_t)n);
	return 0;
}

/* MKDIR, MKNOD, SYMLINK, LINK: a new entry, then its FUSE entry. */
static int do_make(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	struct inode *dir, *target = NULL;
	const char *name = "", *link = NULL;
	uint32_t mode = 0;
	struct stat st;
	int e;

	if (r->opcode == FUSE_MKDIR) {
		mode = get32(m);
		get32(m); /* umask: the guest applied it already */
	} else if (r->opcode == FUSE_MKNOD) {
		mode = get32(m);
		get32(m); /* rdev */
		get32(m); /* umask */
		get32(m);
	} else if (r->opcode == FUSE_LINK) {
		target = inode_by_id(s, get64(m));
	}
	name = get_name(m, SHARE_NAME_MAX);
	if (r->opcode == FUSE_SYMLINK)
		link = get_name(m, 4095);
	if (m->bad)
		return -EINVAL;
	if ((e = dir_node(s, r, &dir)) < 0)
		return e;
	switch (r->opcode) {
	case FUSE_MKDIR: e = share_mkdir(s->share, dir->fd, name, S_IFDIR | mode, &st); break;
	case FUSE_MKNOD: e = share_mknod(s->share, dir->fd, name, mode, &st); break;
	case FUSE_SYMLINK: e = share_symlink(s->share, dir->fd, name, link, &st); break;
	default:
		if (!target)
			return -ESTALE;
		if ((e = stat_fd(target->fd, &st)) < 0)
			return e;
		e = share_link(s->share, target->fd, &st, dir->fd, name);
	}
	return e < 0 ? e : reply_entry(s, dir, name, o);
}

static int do_unlink(struct fuse_server *s, const struct req *r, struct msg *m)
{
	const char *name = get_name(m, SHARE_NAME_MAX);
	struct inode *dir;
	int e;

	if (m->bad)
		return -EINVAL;
	if ((e = dir_node(s, r, &dir)) < 0)
		return e;
	return share_unlink(s->share, dir->fd, name, r->opcode == FUSE_RMDIR);
}

static int do_rename(struct fuse_server *s, const struct req *r, struct msg *m)
{
	struct inode *to = inode_by_id(s, get64(m)), *from;
	uint32_t flags = 0;
	int e;

	if (r->opcode == FUSE_RENAME2) {
		flags = get32(m);
		get32(m);
	}
	const char *a = get_name(m, SHARE_NAME_MAX), *b = get_name(m, SHARE_NAME_MAX);
	if (m->bad)
		return -EINVAL;
	if ((e = dir_node(s, r, &from)) < 0)
		return e;
	if (!to)
		return -ESTALE;
	if (to->type != S_IFDIR)
		return -ENOTDIR;
	return share_rename(s->share, from->fd, a, to->fd, b, flags);
}

static int host_open_flags(uint32_t g)
{
	int f = (g & G_ACCMODE) == 2 ? O_RDWR : (g & G_ACCMODE) == 1 ? O_WRONLY : O_RDONLY;

	if (g & G_TRUNC)
		f |= O_TRUNC;
	if (g & G_APPEND)
		f |= O_APPEND;
	if (g & G_DSYNC)
		f |= O_DSYNC;
	if (g & G_SYNC)
		f |= O_SYNC;
	return f;
}

/* The open reply's flags. A file's page cache is kept across opens unless
 * the share caches nothing: under `auto` the guest drops it when the
 * attributes it refreshes (after 1 s) show another mtime or size
 * (FUSE_AUTO_INVAL_DATA), so a host change shows within the same bound as
 * names and attributes, and a file read again soon after (a build's
 * objects, what tar just wrote) is not fetched again. FOPEN_NOFLUSH: every
 * write is in the host file already, so a close needs no FLUSH round trip
 * (kernels before 5.16 ignore the flag and send it; it is a no-op). */
static uint32_t open_flags(const struct fuse_server *s, bool dir)
{
	if (dir)
		return 0;
	return FOPEN_NOFLUSH | (s->cache != FUSE_CACHE_NEVER ? FOPEN_KEEP_CACHE : 0);
}

static void put_open(struct out *o, uint64_t fh, uint32_t flags)
{
	put64(o, fh);
	put32(o, flags);
	put32(o, 0);
}

static int do_open(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	uint32_t flags = get32(m);
	struct stat st;
	uint64_t fh;
	int fd, e;
	bool dir = r->opcode == FUSE_OPENDIR;

	if (m->bad)
		return -EINVAL;
	if (!r->node)
		return -ESTALE;
	if ((e = stat_fd(r->node->fd, &st)) < 0)
		return e;
	if (dir != S_ISDIR(st.st_mode))
		return dir ? -ENOTDIR : -EISDIR;
	fd = share_reopen(s->share, r->node->fd, &st, dir ? O_RDONLY | O_DIRECTORY : host_open_flags(flags));
	if (fd < 0)
		return fd;
	if ((e = handle_add(s, fd, dir, &fh)) < 0)
		return e;
	put_open(o, fh, open_flags(s, dir));
	return 0;
}

static int do_create(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	uint32_t flags = get32(m), mode = get32(m);
	struct inode *dir, *i;
	struct stat st;
	bool created;
	uint64_t fh;
	int fd, pfd, e;

	get32(m); /* umask */
	get32(m); /* open_flags */
	const char *name = get_name(m, SHARE_NAME_MAX);
	if (m->bad)
		return -EINVAL;
	if ((e = dir_node(s, r, &dir)) < 0)
		return e;
	fd = share_create(s->share, dir->fd, name, host_open_flags(flags), mode, flags & G_EXCL, &st, &created);
	if (fd < 0)
		return fd;
	if ((pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		close(fd);
		return -EMFILE;
	}
	if (!(i = inode_lookup_ref(s, pfd, &st))) {
		close(fd);
		return -ENFILE;
	}
	if ((e = handle_add(s, fd, false, &fh)) < 0) {
		forget(s, i->nodeid, 1);
		return e;
	}
	put_entry(s, o, i->nodeid, &st);
	put_open(o, fh, open_flags(s, false));
	return 0;
}

static int do_io(struct fuse_server *s, const struct vq_chain *c, struct msg *m, struct out *o, bool write)
{
	uint64_t fh = get64(m), offset = get64(m);
	uint32_t size = get32(m);
	struct handle *h;
	unsigned n;
	ssize_t got;

	if (m->bad)
		return -EINVAL;
	if (!(h = handle_get(s, fh)) || h->dir)
		return -EBADF;
	if (size > FUSE_MAX_WRITE)
		return -EINVAL;
	if (write) {
		/* the data follows the 80 bytes of header and fuse_write_in */
		if (size > c->out_len - IN_HDR - 40)
			return -EINVAL;
		n = size ? vq_chain_slice(c, false, IN_HDR + 40, size, s->iov, VQ_MAX_CHAIN) : 0;
	} else {
		if (size > c->in_len - OUT_HDR)
			size = (uint32_t)(c->in_len - OUT_HDR);
		n = size ? vq_chain_slice(c, true, OUT_HDR, size, s->iov, VQ_MAX_CHAIN) : 0;
	}
	do
		got = !n ? 0 : write ? pwritev(h->fd, s->iov, (int)n, (off_t)offset) : preadv(h->fd, s->iov, (int)n, (off_t)offset);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	*(write ? &s->stats.bytes_written : &s->stats.bytes_read) += (uint64_t)got;
	if (write) {
		put32(o, (uint32_t)got);
		put32(o, 0);
	} else {
		o->len += (size_t)got; /* the data is in the chain already, after the header */
	}
	return 0;
}

static int do_statfs(const struct req *r, struct out *o)
{
	struct statfs st;

	if (!r->node)
		return -ESTALE;
	if (fstatfs(r->node->fd, &st) < 0)
		return -errno;
	put64(o, st.f_blocks);
	put64(o, st.f_bfree);
	put64(o, st.f_bavail);
	put64(o, st.f_files);
	put64(o, st.f_ffree);
	put32(o, (uint32_t)st.f_bsize);
	put32(o, (uint32_t)st.f_namelen);
	put32(o, (uint32_t)st.f_frsize);
	put_zero(o, 28);
	return 0;
}

static int do_fsync(struct fuse_server *s, struct msg *m)
{
	uint64_t fh = get64(m);
	uint32_t flags = get32(m);
	struct handle *h;

	if (m->bad)
		return -EINVAL;
	if (!(h = handle_get(s, fh)))
		return -EBADF;
	return ((flags & 1) ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

struct dir_reply {
	struct fuse_server *s;
	struct out *o;
	int dirfd;
	bool plus;
};

/* One fuse_dirent, after its FUSE entry (one lookup taken) for
 * READDIRPLUS; "." and ".." get no entry, as Linux expects. */
static bool put_dirent(void *ctx, const struct share_dirent *d)
{
	struct dir_reply *r = ctx;
	size_t padded = (d->len + 7) & ~(size_t)7;

	if ((r->plus ? ENTRY_SIZE : 0) + DIRENT_SIZE + padded > r->o->cap - r->o->len)
		return false;
	if (r->plus) {
		struct stat st;
		struct inode *i = NULL;
		bool dots = (d->len == 1 && d->name[0] == '.') || (d->len == 2 && !memcmp(d->name, "..", 2));
		char name[SHARE_NAME_MAX + 1];
		int fd;
		snprintf(name, sizeof(name), "%.*s", (int)d->len, d->name);
		if (!dots && (fd = share_walk(r->s->share, r->dirfd, name, &st)) >= 0)
			i = inode_lookup_ref(r->s, fd, &st);
		if (!i) { /* the dots, or gone meanwhile: no entry */
			memset(&st, 0, sizeof(st));
			st.st_ino = (ino_t)d->ino;
			st.st_mode = (mode_t)d->type << 12;
		}
		put_entry(r->s, r->o, i ? i->nodeid : 0, &st);
	}
	put64(r->o, d->ino);
	put64(r->o, d->off);
	put32(r->o, (uint32_t)d->len);
	put32(r->o, d->type);
	uint8_t *p = room(r->o, padded);
	if (p) {
		memset(p, 0, padded);
		memcpy(p, d->name, d->len);
	}
	return true;
}

/* READDIR and READDIRPLUS: from the handle's offset until `size`. */
static int do_readdir(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	uint64_t fh = get64(m), offset = get64(m);
	uint32_t size = get32(m);
	struct handle *h;

	if (m->bad)
		return -EINVAL;
	if (!(h = handle_get(s, fh)) || !h->dir)
		return -EBADF;
	if (size < o->cap - o->len)
		o->cap = o->len + size;
	s->stats.readdirs++;
	struct dir_reply dr = { .s = s, .o = o, .dirfd = h->fd, .plus = r->opcode == FUSE_READDIRPLUS };
	return share_readdir(h->fd, offset, s->dents, sizeof(s->dents), put_dirent, &dr);
}

static int do_access(struct fuse_server *s, const struct req *r, struct msg *m)
{
	uint32_t mask = get32(m);
	struct stat st;
	int e;

	if (m->bad)
		return -EINVAL;
	if (!r->node)
		return -ESTALE;
	if ((e = stat_fd(r->node->fd, &st)) < 0)
		return e;
	return share_access(s->share, r->node->fd, &st, (int)(mask & 7));
}

static int do_fallocate(struct fuse_server *s, struct msg *m)
{
	uint64_t fh = get64(m), offset = get64(m), length = get64(m);
	uint32_t mode = get32(m);
	struct handle *h;

	if (m->bad)
		return -EINVAL;
	if (!(h = handle_get(s, fh)) || h->dir)
		return -EBADF;
	/* KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE: what a file system's users make */
	if (mode & ~(uint32_t)(0x01 | 0x02 | 0x10))
		return -EOPNOTSUPP;
	if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX)
		return -EINVAL;
	return fallocate(h->fd, (int)mode, (off_t)offset, (off_t)length) < 0 ? -errno : 0;
}

static int do_lseek(struct fuse_server *s, struct msg *m, struct out *o)
{
	uint64_t fh = get64(m), offset = get64(m);
	uint32_t whence = get32(m);
	struct handle *h;
	off_t at;

	if (m->bad)
		return -EINVAL;
	if (!(h = handle_get(s, fh)))
		return -EBADF;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END && whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if ((at = lseek(h->fd, (off_t)offset, (int)whence)) < 0)
		return -errno;
	put64(o, (uint64_t)at);
	return 0;
}

static int do_copy_file_range(struct fuse_server *s, struct msg *m, struct out *o)
{
	uint64_t fh_in = get64(m), off_in = get64(m);
	get64(m); /* nodeid_out */
	uint64_t fh_out = get64(m), off_out = get64(m), len = get64(m), flags = get64(m);
	struct handle *in, *out;
	ssize_t n;

	if (m->bad || flags)
		return -EINVAL;
	if (!(in = handle_get(s, fh_in)) || !(out = handle_get(s, fh_out)) || in->dir || out->dir)
		return -EBADF;
	if (len > FUSE_MAX_WRITE * 64ull)
		len = FUSE_MAX_WRITE * 64ull; /* bounded I/O-thread time; the guest asks again */
	loff_t a = (loff_t)off_in, b = (loff_t)off_out;
	if ((n = copy_file_range(in->fd, &a, out->fd, &b, (size_t)len, 0)) < 0)
		return -errno;
	put32(o, (uint32_t)n);
	put32(o, 0);
	return 0;
}

/* POSIX locks stay in the guest: saevm offers no FUSE_POSIX_LOCKS, so its
 * kernel arbitrates between its own processes (the share has one client). */
static int do_lock(struct fuse_server *s, const struct req *r, struct msg *m, struct out *o)
{
	get64(m); /* fh */
	get64(m); /* owner */
	uint64_t start = get64(m), end = get64(m);
	get32(m); /* type */
	uint32_t pid = get32(m);
	(void)s;
	if (m->bad)
		return -EINVAL;
	if (r->opcode != FUSE_GETLK)
		return 0;
	put64(o, start);
	put64(o, end);
	put32(o, F_UNLCK);
	put32(o, pid);
	return 0;
}

static int dispatch(struct fuse_server *s, const struct vq_chain *c, struct req *r, struct msg *m, struct out *o)
{
	if (!s->initialized && r->opcode != FUSE_INIT)
		return -EIO;
	switch (r->opcode) {
	case FUSE_INIT: return do_init(s, m, o);
	case FUSE_DESTROY: fuse_server_reset(s); return 0;
	case FUSE_LOOKUP: return do_lookup(s, r, m, o);
	case FUSE_GETATTR: return do_getattr(s, r, o);
	case FUSE_SETATTR: return do_setattr(s, r, m, o);
	case FUSE_READLINK: return do_readlink(r, o);
	case FUSE_MKDIR: case FUSE_MKNOD: case FUSE_SYMLINK: case FUSE_LINK: return do_make(s, r, m, o);
	case FUSE_UNLINK: case FUSE_RMDIR: return do_unlink(s, r, m);
	case FUSE_RENAME: case FUSE_RENAME2: return do_rename(s, r, m);
	case FUSE_OPEN: case FUSE_OPENDIR: return do_open(s, r, m, o);
	case FUSE_CREATE: return do_create(s, r, m, o);
	case FUSE_READ: return do_io(s, c, m, o, false);
	case FUSE_WRITE: return do_io(s, c, m, o, true);
	case FUSE_STATFS: return do_statfs(r, o);
	case FUSE_RELEASE: case FUSE_RELEASEDIR: {
		uint64_t fh = get64(m);
		if (m->bad)
			return -EINVAL;
		handle_close(s, fh);
		return 0;
	}
	case FUSE_FLUSH: return 0; /* nothing buffered here: writes went to the host file */
	case FUSE_FSYNC: case FUSE_FSYNCDIR: return do_fsync(s, m);
	case FUSE_READDIR: case FUSE_READDIRPLUS: return do_readdir(s, r, m, o);
	case FUSE_ACCESS: return do_access(s, r, m);
	case FUSE_FALLOCATE: return do_fallocate(s, m);
	case FUSE_LSEEK: return do_lseek(s, m, o);
	case FUSE_COPY_FILE_RANGE: return do_copy_file_range(s, m, o);
	case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW: return do_lock(s, r, m, o);
	default:
		/* xattrs, ioctl, poll, bmap, DAX mappings, syncfs, tmpfile...:
		 * ENOSYS, which Linux remembers and stops asking. */
		return -ENOSYS;
	}
}

const char *fuse_opcode_name(uint32_t opcode)
{
	static const char *const names[FUSE_STATS_OPCODES] = {
		[FUSE_LOOKUP] = "LOOKUP", [FUSE_FORGET] = "FORGET", [FUSE_GETATTR] = "GETATTR",
		[FUSE_SETATTR] = "SETATTR", [FUSE_READLINK] = "READLINK", [FUSE_SYMLINK] = "SYMLINK",
		[FUSE_MKNOD] = "MKNOD", [FUSE_MKDIR] = "MKDIR", [FUSE_UNLINK] = "UNLINK", [FUSE_RMDIR] = "RMDIR",
		[FUSE_RENAME] = "RENAME", [FUSE_LINK] = "LINK", [FUSE_OPEN] = "OPEN", [FUSE_READ] = "READ",
		[FUSE_WRITE] = "WRITE", [FUSE_STATFS] = "STATFS", [FUSE_RELEASE] = "RELEASE", [FUSE_FSYNC] = "FSYNC",
		[FUSE_SETXATTR] = "SETXATTR", [FUSE_GETXATTR] = "GETXATTR", [FUSE_LISTXATTR] = "LISTXATTR",
		[FUSE_REMOVEXATTR] = "REMOVEXATTR", [FUSE_FLUSH] = "FLUSH", [FUSE_INIT] = "INIT",
		[FUSE_OPENDIR] = "OPENDIR", [FUSE_READDIR] = "READDIR", [FUSE_RELEASEDIR] = "RELEASEDIR",
		[FUSE_FSYNCDIR] = "FSYNCDIR", [FUSE_GETLK] = "GETLK", [FUSE_SETLK] = "SETLK", [FUSE_SETLKW] = "SETLKW",
		[FUSE_ACCESS] = "ACCESS", [FUSE_CREATE] = "CREATE", [FUSE_INTERRUPT] = "INTERRUPT", [FUSE_BMAP] = "BMAP",
		[FUSE_DESTROY] = "DESTROY", [FUSE_IOCTL] = "IOCTL", [FUSE_POLL] = "POLL",
		[FUSE_BATCH_FORGET] = "BATCH_FORGET", [FUSE_FALLOCATE] = "FALLOCATE", [FUSE_READDIRPLUS] = "READDIRPLUS",
		[FUSE_RENAME2] = "RENAME2", [FUSE_LSEEK] = "LSEEK", [FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
		[FUSE_SETUPMAPPING] = "SETUPMAPPING", [FUSE_REMOVEMAPPING] = "REMOVEMAPPING",
	};
	return opcode < FUSE_STATS_OPCODES ? names[opcode] : NULL;
}

uint32_t fuse_server_handle(struct fuse_server *s, const struct vq_chain *c)
{
	uint8_t hdr[IN_HDR];
	struct req r = { 0 };
	struct msg m;
	struct out o;
	uint64_t unique;
	int e;

	s->stats.requests++;
	if (vq_chain_read(c, 0, hdr, IN_HDR) < IN_HDR)
		return 0;
	r.len = le32_load(hdr);
	r.opcode = le32_load(hdr + 4);
	if (r.opcode < FUSE_STATS_OPCODES)
		s->stats.by_opcode[r.opcode]++;
	unique = le64_load(hdr + 8);
	r.nodeid = le64_load(hdr + 16);
	/* No reply for these: the chain has no room for one. */
	if (r.opcode == FUSE_FORGET || r.opcode == FUSE_BATCH_FORGET || r.opcode == FUSE_INTERRUPT) {
		uint8_t body[8];
		size_t n = c->out_len - IN_HDR < sizeof(body) ? (size_t)(c->out_len - IN_HDR) : sizeof(body);
		vq_chain_read(c, IN_HDR, body, n);
		m = (struct msg){ .p = body, .len = n };
		if (r.opcode == FUSE_FORGET) {
			uint64_t k = get64(&m);
			if (!m.bad)
				forget(s, r.nodeid, k);
		} else if (r.opcode == FUSE_BATCH_FORGET) {
			/* count pairs of nodeid and nlookup, as many as the chain
			 * carries (each read once, 16 bytes at a time) */
			uint32_t count = get32(&m);
			uint64_t at = IN_HDR + 8;
			uint8_t one[16];
			for (uint32_t i = 0; i < count && at + 16 <= c->out_len; i++, at += 16) {
				vq_chain_read(c, at, one, 16);
				forget(s, le64_load(one), le64_load(one + 8));
			}
		}
		s->stats.inodes = s->ninodes;
		return 0;
	}
	if (c->in_len < OUT_HDR)
		return 0;
	o = (struct out){ .p = s->reply, .cap = c->in_len < REPLY_MAX ? (size_t)c->in_len : REPLY_MAX, .len = OUT_HDR };
	if (r.len < IN_HDR || r.len > c->out_len) {
		e = -EINVAL;
	} else {
		/* One copy of the request: the guest cannot change it under us.
		 * A write's data stays in the chain; pwritev reads it once. */
		size_t body = r.opcode == FUSE_WRITE ? IN_HDR + 40 : r.len;
		if (body > r.len || body > REQ_MAX) {
			e = r.opcode == FUSE_WRITE ? -EINVAL : -E2BIG;
		} else {
			vq_chain_read(c, 0, s->req, body);
			m = (struct msg){ .p = s->req, .len = body, .pos = IN_HDR };
			if (r.nodeid == FUSE_ROOT_ID)
				r.node = s->root;
			else
				r.node = inode_by_id(s, r.nodeid);
			e = dispatch(s, c, &r, &m, &o);
			if (e == 0 && o.over)
				e = -EOVERFLOW;
		}
	}
	if (e < 0) {
		s->stats.errors++;
		o.len = OUT_HDR;
	}
	/* A read's data went into the chain already: only its header is ours. */
	size_t mine = e == 0 && r.opcode == FUSE_READ ? OUT_HDR : o.len;
	le32_store(s->reply, (uint32_t)o.len);
	le32_store(s->reply + 4, (uint32_t)e);
	le64_store(s->reply + 8, unique);
	vq_chain_write(c, 0, s->reply, mine);
	s->stats.inodes = s->ninodes;
	s->stats.handles = s->nhandles;
	return (uint32_t)o.len;
}

void fuse_server_reset(struct fuse_server *s)
{
	for (unsigned b = 0; b < BUCKETS; b++) {
		while (s->ids[b]) {
			struct inode *i = s->ids[b];
			if (i == s->root) { /* the root stays; it is unlinked below */
				s->ids[b] = i->by_id;
				continue;
			}
			inode_free(s, i);
		}
		while (s->handles[b])
			handle_close(s, s->handles[b]->fh);
	}
	/* The root back in the table, alone. */
	memset(s->keys, 0, sizeof(s->keys));
	if (s->root) {
		s->root->by_id = s->root->by_key = NULL;
		s->ids[id_bucket(FUSE_ROOT_ID)] = s->root;
		s->keys[key_bucket(s->root->dev, s->root->ino)] = s->root;
		s->root->nlookup = 1;
	}
	s->initialized = false;
	s->next_fh = 1;
	s->stats.inodes = s->ninodes;
	s->stats.handles = s->nhandles;
}

struct fuse_server *fuse_server_create(const char *root, bool read_only, enum fuse_cache cache, struct error *err)
{
	struct fuse_server *s = calloc(1, sizeof(*s));
	struct stat st;
	int fd;

	if (!s) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for the virtio-fs server");
		return NULL;
	}
	if (!(s->share = share_open(root, read_only, err)))
		goto fail;
	if ((fd = fcntl(share_root_fd(s->share), F_DUPFD_CLOEXEC, 0)) < 0 || fstat(fd, &st) < 0 ||
	    !(s->root = calloc(1, sizeof(*s->root)))) {
		err_errno(err, EXIT_HOST_ERROR, errno, "cannot share %s", root);
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	s->root->nodeid = FUSE_ROOT_ID;
	s->root->fd = fd;
	s->root->dev = st.st_dev;
	s->root->ino = st.st_ino;
	s->root->type = S_IFDIR;
	s->ninodes = 1;
	s->next_nodeid = FUSE_ROOT_ID + 1;
	s->cache = cache;
	s->max_inodes = FUSE_MAX_INODES;
	s->max_handles = FUSE_MAX_HANDLES;
	fuse_server_reset(s);
	/* Inodes and handles hold descriptors. */
	share_raise_fd_limit();
	return s;
fail:
	share_close(s->share);
	free(s);
	return NULL;
}

void fuse_server_destroy(struct fuse_server *s)
{
	if (!s)
		return;
	fuse_server_reset(s);
	if (s->root) {
		close(s->root->fd);
		free(s->root);
	}
	share_close(s->share);
	free(s);
}

const struct fuse_stats *fuse_server_stats(const struct fuse_server *s)
{
	return &s->stats;
}

void fuse_server_set_limits(struct fuse_server *s, unsigned max_inodes, unsigned max_handles)
{
	s->max_inodes = max_inodes;
	s->max_handles = max_handles;
}

int fuse_server_root_fd(const struct fuse_server *s)
{
	return share_root_fd(s->share);
}
