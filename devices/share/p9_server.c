/* p9_server.c - 9P2000.L on a host directory (see p9_server.h for the
 * confinement rules). Message layouts follow the protocol's own notes
 * (diod's protocol.md, Linux's include/net/9p/9p.h): little-endian
 * integers, strings as len[2] + bytes without NUL. */
#include "p9_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../vmm/le.h"
#include "share.h"
#include "wire.h"


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

/* What a fid names: an object's O_PATH descriptor, shared by every fid
 * that names it (a clone walk costs one small fid, no copy), with its
 * directory and name at the time it was walked (for Tremove, Trename and
 * "..", which name an object by its place). No paths are kept: a rename
 * costs nothing, and a node is bounded by its one name. */
struct node {
	unsigned refs;
	int fd;
	dev_t dev;
	ino_t ino;
	mode_t type;          /* S_IFMT bits */
	struct node *parent;  /* NULL: the share's root */
	char *name;
};

struct fid {
	uint32_t id;
	struct node *node;
	int open_fd;   /* after Tlopen/Tlcreate, else -1 */
	struct fid *next;
};

struct p9_server {
	struct share *share;
	uint32_t msize;
	unsigned nfids;
	size_t state_bytes;   /* fids and nodes: what the guest makes us hold */
	struct fid *buckets[FID_BUCKETS];
	uint8_t tmsg[TMSG_MAX];
	char link_target[4097];
	uint8_t *reply;       /* msize bytes */
	uint8_t *dents;       /* getdents64 scratch */
	struct iovec iov[VQ_MAX_CHAIN];
	struct p9_stats stats;
};

/* ---- parsing and building messages ---- */

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

/* The qid's version: 1 for a regular file, always the same. Linux 6.6 and
 * newer read version 0 as "this server cannot tell a changed file", and
 * then cache nothing of that file whatever the mount says: every read and
 * write went to saevm in 4 KiB requests (Debian 13's 6.12 moved 32 MiB in
 * 8,192 Twrites and 16,386 Treads, at ~2 MiB/s). A version that followed
 * mtime and size (QEMU's) would make older kernels, which compare it when
 * they look an inode up, take a changed file for a new inode beside the
 * one still open; a constant keeps one inode per file for both, and the
 * mount's cache mode says how long the guest may trust what it cached. */
static uint32_t qid_version(mode_t mode)
{
	return S_ISREG(mode) ? 1 : 0;
}

static void put_qid(struct out *o, const struct stat *st)
{
	put8(o, qid_type(st->st_mode));
	put32(o, qid_version(st->st_mode));
	put64(o, qid_path(st->st_dev, st->st_ino));
}

/* ---- fids and nodes ---- */

static size_t node_bytes(const struct node *n)
{
	return sizeof(*n) + strlen(n->name) + 1;
}

static void node_put(struct p9_server *s, struct node *n)
{
	while (n && --n->refs == 0) {
		struct node *parent = n->parent;
		s->state_bytes -= node_bytes(n);
		close(n->fd);
		free(n->name);
		free(n);
		n = parent;
	}
}

static struct node *node_get(struct node *n)
{
	n->refs++;
	return n;
}

/* A node for descriptor fd (taken over) named `name` in parent (a new
 * reference); NULL when the share's bound is reached (fd closed). */
static struct node *node_new(struct p9_server *s, int fd, const struct stat *st, struct node *parent,
			     const char *name)
{
	struct node *n = NULL;
	size_t need = sizeof(*n) + strlen(name) + 1;

	if (s->state_bytes + need > P9_MAX_STATE_BYTES || !(n = calloc(1, sizeof(*n))) ||
	    !(n->name = strdup(name))) {
		free(n);
		close(fd);
		return NULL;
	}
	n->refs = 1;
	n->fd = fd;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	n->parent = parent ? node_get(parent) : NULL;
	s->state_bytes += need;
	return n;
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

static void clunk(struct p9_server *s, uint32_t id)
{
	struct fid **pp = slot(s, id), *f = *pp;

	if (f) {
		*pp = f->next;
		if (f->open_fd >= 0)
			close(f->open_fd);
		node_put(s, f->node);
		free(f);
		s->nfids--;
		s->state_bytes -= sizeof(*f);
	}
}

/* A new fid `id` naming node (whose reference it takes over). */
static int fid_add(struct p9_server *s, uint32_t id, struct node *node)
{
	struct fid *f;

	clunk(s, id); /* a walk onto itself replaces the fid */
	if (s->nfids >= P9_MAX_FIDS || s->state_bytes + sizeof(*f) > P9_MAX_STATE_BYTES ||
	    !(f = calloc(1, sizeof(*f)))) {
		node_put(s, node);
		return -ENFILE;
	}
	f->id = id;
	f->node = node;
	f->open_fd = -1;
	*slot(s, id) = f;
	s->nfids++;
	s->state_bytes += sizeof(*f);
	return 0;
}

static int stat_node(const struct node *n, struct stat *st)
{
	return fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
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

/* Tattach: the uid and names in it pick nothing on the host (the share
 * has one owner, share.h). */
static int do_attach(struct p9_server *s, struct msg *m, struct out *o)
{
	char uname[256], aname[256];
	uint32_t id = get32(m), afid = get32(m);
	struct node *root;
	struct stat st;
	int fd;

	get_str(m, uname, sizeof(uname));
	get_str(m, aname, sizeof(aname));
	get32(m); /* n_uname */
	if (m->bad)
		return -EINVAL;
	if (afid != NOFID)
		return -EINVAL;
	if (lookup(s, id))
		return -EEXIST;
	if ((fd = fcntl(share_root_fd(s->share), F_DUPFD_CLOEXEC, 0)) < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!(root = node_new(s, fd, &st, NULL, "")))
		return -ENFILE;
	int r = fid_add(s, id, root);
	if (r < 0)
		return r;
	put_qid(o, &st);
	return 0;
}

/* One step of a walk from node *at: ".." is lexical (the node it was
 * walked from; the root stays the root), anything else one plain name
 * beneath it. *at becomes the new node. */
static int walk_one(struct p9_server *s, struct node **at, const char *name, struct stat *st)
{
	struct node *next;
	int fd;

	if (!strcmp(name, "..")) {
		next = node_get((*at)->parent ? (*at)->parent : *at);
		int r = stat_node(next, st);
		if (r < 0) {
			node_put(s, next);
			return r;
		}
	} else {
		if ((fd = share_walk(s->share, (*at)->fd, name, st)) < 0)
			return fd;
		if (!(next = node_new(s, fd, st, *at, name)))
			return -ENFILE;
	}
	node_put(s, *at);
	*at = next;
	return 0;
}

static int do_walk(struct p9_server *s, struct msg *m, struct out *o)
{
	uint32_t id = get32(m), newid = get32(m);
	uint16_t n = get16(m);
	char names[MAX_WALK][NAME_MAX_9P + 1];
	struct fid *f = lookup(s, id);
	struct node *at;
	struct stat st;
	uint16_t done = 0;
	int r = 0;

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
	at = node_get(f->node);
	/* A directory the host moved out of the share is walked no more. */
	if (n && at->type == S_IFDIR && at->parent)
		r = share_beneath(s->share, at->fd);
	put16(o, 0); /* nwqid, filled in below */
	for (; r == 0 && done < n; done++) {
		if (at->type != S_IFDIR) {
			r = -ENOTDIR;
			break;
		}
		if ((r = walk_one(s, &at, names[done], &st)) < 0)
			break;
		put_qid(o, &st);
	}
	if (done < n) { /* the first step failed: an error; a later one: the qids so far */
		node_put(s, at);
		if (done == 0)
			return r;
		le16_store(o->p + HDR, done);
		return 0;
	}
	le16_store(o->p + HDR, done);
	return fid_add(s, newid, at);
}

static int do_getattr(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	struct stat st;
	int r;

	get64(m); /* request_mask: we answer the basic set whatever is asked */
	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if ((r = stat_node(f->node, &st)) < 0)
		return r;
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
	if ((fd = stat_node(f->node, &st)) < 0)
		return fd;
	fd = share_reopen(s->share, f->node->fd, &st, host_flags(flags) | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return fd;
	f->open_fd = fd;
	put_qid(o, &st);
	put32(o, 0); /* iounit: msize */
	return 0;
}

/* The directory fid `dirid`, for making an entry in it. */
static int dir_fid(struct p9_server *s, uint32_t dirid, struct fid **dir)
{
	*dir = lookup(s, dirid);
	if (!*dir)
		return -EBADF;
	if ((*dir)->node->type != S_IFDIR)
		return -ENOTDIR;
	return share_read_only(s->share) ? -EROFS : 0;
}

static int do_lcreate(struct p9_server *s, struct msg *m, struct out *o)
{
	uint32_t id = get32(m), flags, mode;
	char name[NAME_MAX_9P + 1];
	struct fid *dir;
	struct node *node;
	struct stat st;
	bool created;
	int fd, pfd, r;

	get_str(m, name, sizeof(name));
	flags = get32(m);
	mode = get32(m);
	get32(m); /* gid: the share's owner's, whatever the guest says */
	if (m->bad)
		return -EINVAL;
	if ((r = dir_fid(s, id, &dir)) < 0)
		return r;
	if (dir->open_fd >= 0)
		return -EBADF;
	fd = share_create(s->share, dir->node->fd, name, host_flags(flags), mode, flags & DOTL_EXCL, &st, &created);
	if (fd < 0)
		return fd;
	/* The directory's fid becomes the new, open file. */
	if ((pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		close(fd);
		return -EMFILE;
	}
	if (!(node = node_new(s, pfd, &st, dir->node, name)) || (r = fid_add(s, id, node)) < 0) {
		close(fd);
		return node ? r : -ENFILE;
	}
	lookup(s, id)->open_fd = fd;
	put_qid(o, &st);
	put32(o, 0);
	return 0;
}

/* Tmkdir, Tsymlink and Tmknod: a new entry in a directory fid. */
static int do_make(struct p9_server *s, struct msg *m, struct out *o, uint8_t type)
{
	uint32_t id = get32(m), mode = 0;
	char name[NAME_MAX_9P + 1], *target = s->link_target;
	struct fid *dir;
	struct stat st;
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
	get32(m); /* gid: the share's owner's */
	if (m->bad)
		return -EINVAL;
	if ((r = dir_fid(s, id, &dir)) < 0)
		return r;
	if (type == Tmkdir)
		r = share_mkdir(s->share, dir->node->fd, name, mode, &st);
	else if (type == Tsymlink)
		r = share_symlink(s->share, dir->node->fd, name, target, &st);
	else
		r = share_mknod(s->share, dir->node->fd, name, mode, &st);
	if (r < 0)
		return r;
	put_qid(o, &st);
	return 0;
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
	if (f->node->type != S_IFLNK)
		return -EINVAL;
	n = readlinkat(f->node->fd, "", target, sizeof(target) - 1);
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
	if (f->node->type == S_IFDIR)
		return -EISDIR;
	if (write && share_read_only(s->share))
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
	++*(write ? &s->stats.writes : &s->stats.reads);
	put32(o, (uint32_t)r);
	if (!write)
		o->len += (size_t)r; /* the data is in the chain already, after the header */
	return 0;
}

struct dir_reply {
	struct out *o;
	uint32_t used, count;
};

/* One Rreaddir entry: qid, offset, type, name. */
static bool put_dirent(void *ctx, const struct share_dirent *d)
{
	struct dir_reply *r = ctx;

	if (r->used + 24 + d->len > r->count)
		return false;
	put8(r->o, d->type == DT_DIR ? QT_DIR : d->type == DT_LNK ? QT_SYMLINK : 0);
	put32(r->o, 0);
	put64(r->o, d->ino);
	put64(r->o, d->off);
	put8(r->o, d->type);
	put16(r->o, (uint16_t)d->len);
	put_bytes(r->o, d->name, d->len);
	r->used += (uint32_t)(24 + d->len);
	return true;
}

static int do_readdir(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	uint64_t offset = get64(m);
	struct dir_reply r = { .o = o, .count = get32(m) };
	size_t count_at;
	int e;

	if (m->bad)
		return -EINVAL;
	if (!f || f->open_fd < 0)
		return -EBADF;
	if (f->node->type != S_IFDIR)
		return -ENOTDIR;
	if (r.count > s->msize - 11)
		r.count = s->msize - 11;
	if (r.count > o->cap - 11)
		r.count = (uint32_t)(o->cap - 11);
	s->stats.readdirs++;
	count_at = o->len;
	put32(o, 0);
	if ((e = share_readdir(f->open_fd, offset, s->dents, 32768, put_dirent, &r)) < 0)
		return e;
	le32_store(o->p + count_at, r.used);
	return 0;
}

static int do_setattr(struct p9_server *s, struct msg *m)
{
	struct fid *f = lookup(s, get32(m));
	uint32_t valid = get32(m), mode = get32(m), uid = get32(m), gid = get32(m);
	uint64_t size = get64(m), as = get64(m), ans = get64(m), ms = get64(m), mns = get64(m);
	struct stat st;
	int r;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (share_read_only(s->share))
		return -EROFS;
	/* Everything acts on the fid's own descriptor (share.h). */
	if ((r = stat_node(f->node, &st)) < 0)
		return r;
	if ((valid & SET_MODE) && (r = share_chmod(s->share, f->node->fd, &st, mode)) < 0)
		return r;
	if ((valid & (SET_UID | SET_GID)) &&
	    (r = share_chown(s->share, f->node->fd, &st, valid & SET_UID ? uid : (uid_t)-1,
			     valid & SET_GID ? gid : (gid_t)-1)) < 0)
		return r;
	if ((valid & SET_SIZE) && (r = share_truncate(s->share, f->node->fd, &st, f->open_fd, size)) < 0)
		return r;
	if (valid & (SET_ATIME | SET_MTIME)) {
		struct timespec t[2] = {
			{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
		};
		if ((valid & SET_ATIME_SET) && ans >= 1000000000u)
			return -EINVAL;
		if ((valid & SET_MTIME_SET) && mns >= 1000000000u)
			return -EINVAL;
		if (valid & SET_ATIME)
			t[0] = valid & SET_ATIME_SET ? (struct timespec){ (time_t)as, (long)ans } : (struct timespec){ 0, UTIME_NOW };
		if (valid & SET_MTIME)
			t[1] = valid & SET_MTIME_SET ? (struct timespec){ (time_t)ms, (long)mns } : (struct timespec){ 0, UTIME_NOW };
		if ((r = share_utimes(s->share, f->node->fd, &st, t)) < 0)
			return r;
	}
	return 0;
}

static int do_statfs(struct p9_server *s, struct msg *m, struct out *o)
{
	struct fid *f = lookup(s, get32(m));
	struct statfs st;

	if (m->bad)
		return -EINVAL;
	if (!f)
		return -EBADF;
	if (fstatfs(f->node->fd, &st) < 0)
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
	uint64_t start, length;
	uint32_t proc;

	get32(m);
	get8(m); /* type */
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
	put8(o, 2); /* P9_LOCK_TYPE_UNLCK: nothing conflicts */
	put64(o, start);
	put64(o, length);
	put32(o, proc);
	put_str(o, client);
	return 0;
}

static int do_link(struct p9_server *s, struct msg *m)
{
	uint32_t dirid = get32(m);
	struct fid *f = lookup(s, get32(m)), *dir;
	char name[NAME_MAX_9P + 1];
	struct stat st;
	int r;

	get_str(m, name, sizeof(name));
	if (m->bad)
		return -EINVAL;
	if ((r = dir_fid(s, dirid, &dir)) < 0)
		return r;
	if (!f)
		return -EBADF;
	if ((r = stat_node(f->node, &st)) < 0)
		return r;
	return share_link(s->share, f->node->fd, &st, dir->node->fd, name);
}

static int do_renameat(struct p9_server *s, struct fid *from, const char *oldname, struct fid *to,
		       const char *newname)
{
	if (!from || !to)
		return -EBADF;
	if (from->node->type != S_IFDIR || to->node->type != S_IFDIR)
		return -ENOTDIR;
	return share_rename(s->share, from->node->fd, oldname, to->node->fd, newname, 0);
}

/* Trename names the object by its fid: it moves from the directory it was
 * walked in, if it is still there under the same name. */
static int do_rename(struct p9_server *s, struct msg *m)
{
	struct fid *f = lookup(s, get32(m)), *to = lookup(s, get32(m));
	char name[NAME_MAX_9P + 1], *copy;
	struct node *n;
	struct stat st;
	int r;

	get_str(m, name, sizeof(name));
	if (m->bad)
		return -EINVAL;
	if (!f || !to)
		return -EBADF;
	n = f->node;
	if (!n->parent)
		return -EBUSY; /* the share's root stays */
	if (to->node->type != S_IFDIR)
		return -ENOTDIR;
	if (fstatat(n->parent->fd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (st.st_dev != n->dev || st.st_ino != n->ino)
		return -ESTALE;
	if ((r = share_rename(s->share, n->parent->fd, n->name, to->node->fd, name, 0)) < 0)
		return r;
	/* This node's place follows it (others naming it find out by ESTALE). */
	if ((copy = strdup(name))) {
		s->state_bytes -= strlen(n->name);
		s->state_bytes += strlen(copy);
		free(n->name);
		n->name = copy;
		struct node *old = n->parent;
		n->parent = node_get(to->node);
		node_put(s, old);
	}
	return 0;
}

static int do_unlinkat(struct p9_server *s, struct fid *dir, const char *name, uint32_t flags)
{
	if (!dir)
		return -EBADF;
	if (dir->node->type != S_IFDIR)
		return -ENOTDIR;
	return share_unlink(s->share, dir->node->fd, name, flags & AT_REMOVEDIR_9P);
}

static int do_remove(struct p9_server *s, uint32_t id)
{
	struct fid *f = lookup(s, id);
	int r;

	if (!f)
		return -EBADF;
	if (share_read_only(s->share))
		r = -EROFS;
	else if (!f->node->parent)
		r = -EBUSY;
	else
		r = share_unlink_checked(s->share, f->node->parent->fd, f->node->name, f->node->dev, f->node->ino);
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
	s->stats.fids = s->nfids;
	s->stats.state_bytes = s->state_bytes;
	return (uint32_t)o.len;
}

void p9_server_reset(struct p9_server *s)
{
	for (unsigned b = 0; b < FID_BUCKETS; b++)
		while (s->buckets[b])
			clunk(s, s->buckets[b]->id);
	s->msize = 0;
	s->stats.fids = 0;
	s->stats.state_bytes = s->state_bytes;
}

struct p9_server *p9_server_create(const char *root, bool read_only, struct error *err)
{
	struct p9_server *s = calloc(1, sizeof(*s));

	if (!s || !(s->reply = malloc(P9_MAX_MSIZE)) || !(s->dents = malloc(32768))) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for the 9p server");
		goto fail;
	}
	if (!(s->share = share_open(root, read_only, err)))
		goto fail;
	/* Every fid's node holds a descriptor, and a guest with cache=loose
	 * keeps a fid per cached entry: a 10,000-file tree needs 10,000. */
	share_raise_fd_limit();
	return s;
fail:
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
	share_close(s->share);
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

int p9_server_root_fd(const struct p9_server *s)
{
	return share_root_fd(s->share);
}
