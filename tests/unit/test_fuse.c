/* The FUSE server (virtio-fs) on a real temporary directory, driven as
 * Linux's virtiofs client drives it: INIT, LOOKUP, GETATTR, OPEN, READ,
 * CREATE, WRITE, READDIR(PLUS), SETATTR, MKDIR, SYMLINK, LINK, RENAME2,
 * UNLINK, RMDIR, FORGET, BATCH_FORGET; the share rules (one owner, no
 * setuid, exact modes, read-only); malformed, truncated and unknown
 * requests, and a reply space that is too small. Requests are split
 * across several buffers, as a scatter-gather chain would be; every field
 * is little-endian (the guest's), which the s390x run checks. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/share/fuse_server.h"
#include "../../vmm/le.h"

static char root[256];
static struct fuse_server *srv;
static uint8_t tbuf[1 << 20], rbuf[(1 << 20) + 64];
static struct vq_chain chain;
static uint64_t unique;

/* ---- a tiny client ---- */
struct req {
	uint8_t *p;
	size_t len;
};
static void t32(struct req *m, uint32_t v) { le32_store(m->p + m->len, v); m->len += 4; }
static void t64(struct req *m, uint64_t v) { le64_store(m->p + m->len, v); m->len += 8; }
static void tname(struct req *m, const char *s)
{
	memcpy(m->p + m->len, s, strlen(s) + 1);
	m->len += strlen(s) + 1;
}
static struct req begin(uint32_t opcode, uint64_t nodeid)
{
	struct req m = { tbuf, 0 };
	t32(&m, 0);
	t32(&m, opcode);
	t64(&m, ++unique);
	t64(&m, nodeid);
	t32(&m, 4242); /* uid: the guest's, which picks nothing on the host */
	t32(&m, 4242);
	t32(&m, 1);
	t32(&m, 0);
	return m;
}

/* Sends m (3 readable pieces) with `room` bytes of reply space (2 pieces);
 * returns the reply's error (0, or a negative errno); the reply's body is
 * at rbuf + 16. */
static int32_t send_room(struct req *m, size_t room)
{
	size_t a = m->len / 3, b = m->len / 3;

	le32_store(tbuf, (uint32_t)m->len);
	memset(rbuf, 0xee, 256);
	chain = (struct vq_chain){ .n_out = 3, .n_in = room ? 2 : 0, .out_len = m->len, .in_len = room };
	chain.iov[0] = (struct iovec){ tbuf, a };
	chain.iov[1] = (struct iovec){ tbuf + a, b };
	chain.iov[2] = (struct iovec){ tbuf + a + b, m->len - a - b };
	if (room) {
		chain.iov[3] = (struct iovec){ rbuf, 10 };
		chain.iov[4] = (struct iovec){ rbuf + 10, room - 10 };
	}
	uint32_t n = fuse_server_handle(srv, &chain);
	if (!room)
		return (int32_t)n;
	assert_true(n >= 16);
	assert_int_equal(le32_load(rbuf), n);
	assert_int_equal(le64_load(rbuf + 8), unique);
	return (int32_t)le32_load(rbuf + 4);
}
static int32_t send(struct req *m) { return send_room(m, sizeof(rbuf)); }

static void init(void)
{
	struct req m = begin(FUSE_INIT, 0);
	t32(&m, 7);
	t32(&m, 38);
	t32(&m, 1 << 20);
	t32(&m, FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_POSIX_LOCKS | FUSE_WRITEBACK_CACHE);
	t32(&m, 0);
	for (int i = 0; i < 11; i++)
		t32(&m, 0);
	assert_int_equal(send(&m), 0);
	assert_int_equal(le32_load(rbuf), 16 + 64);
	assert_int_equal(le32_load(rbuf + 16), 7);
	assert_int_equal(le32_load(rbuf + 20), 38);
	uint32_t flags = le32_load(rbuf + 28);
	assert_true(flags & FUSE_DO_READDIRPLUS);
	assert_false(flags & FUSE_POSIX_LOCKS); /* locks stay in the guest */
	assert_int_equal(le32_load(rbuf + 36), FUSE_MAX_WRITE);
}

/* LOOKUP name in parent: its nodeid (0 on error, *err set). */
static uint64_t lookup(uint64_t parent, const char *name, int32_t *err)
{
	struct req m = begin(FUSE_LOOKUP, parent);
	tname(&m, name);
	*err = send(&m);
	return *err ? 0 : le64_load(rbuf + 16);
}

/* The mode and uid in an entry reply (at rbuf+16) or attr reply. */
static uint32_t entry_mode(void) { return le32_load(rbuf + 16 + 40 + 60); }
static uint64_t entry_size(void) { return le64_load(rbuf + 16 + 40 + 8); }

static uint64_t open_(uint64_t node, uint32_t flags, int32_t *err)
{
	struct req m = begin(FUSE_OPEN, node);
	t32(&m, flags);
	t32(&m, 0);
	*err = send(&m);
	return *err ? 0 : le64_load(rbuf + 16);
}

static int32_t io(uint64_t node, uint64_t fh, uint64_t off, const char *data, uint32_t size, bool write)
{
	struct req m = begin(write ? FUSE_WRITE : FUSE_READ, node);
	t64(&m, fh);
	t64(&m, off);
	t32(&m, size);
	t32(&m, 0);
	t64(&m, 0);
	t32(&m, 0);
	t32(&m, 0);
	if (write) {
		memcpy(tbuf + m.len, data, size);
		m.len += size;
	}
	return send(&m);
}

static void host_write(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct stat host_stat(const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(lstat(p, &st), 0);
	return st;
}

static bool host_exists(const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static int setup_as(bool ro)
{
	struct error err = { 0 };
	char p[512];

	snprintf(root, sizeof(root), "/tmp/saevm-fuse-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(p, sizeof(p), "%s/dir", root);
	mkdir(p, 0755);
	host_write("dir/hello.txt", "hello from the host\n");
	snprintf(p, sizeof(p), "%s/outside-link", root);
	if (symlink("/etc", p) < 0)
		return -1;
	srv = fuse_server_create(root, ro, FUSE_CACHE_AUTO, &err);
	return srv ? 0 : -1;
}
static int setup(void **state) { (void)state; return setup_as(false); }
static int setup_ro(void **state) { (void)state; return setup_as(true); }

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	fuse_server_destroy(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_init_first_and_versions(void **state)
{
	(void)state;
	struct req m = begin(FUSE_GETATTR, FUSE_ROOT_ID);
	t64(&m, 0);
	t64(&m, 0);
	assert_int_equal(send(&m), -EIO); /* nothing before INIT */
	m = begin(FUSE_INIT, 0);
	t32(&m, 7);
	t32(&m, 26); /* too old: Linux 4.x */
	t32(&m, 0);
	t32(&m, 0);
	assert_int_equal(send(&m), -EPROTO);
	init();
}

static void test_reads_a_host_file(void **state)
{
	int32_t e;
	(void)state;
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	assert_int_equal(e, 0);
	assert_true(S_ISDIR(entry_mode()));
	uint64_t f = lookup(dir, "hello.txt", &e);
	assert_int_equal(e, 0);
	assert_int_equal(entry_size(), 20);
	/* the same inode, the same nodeid */
	assert_int_equal(lookup(dir, "hello.txt", &e), f);
	uint64_t fh = open_(f, O_RDONLY, &e);
	assert_int_equal(e, 0);
	assert_int_equal(io(f, fh, 6, NULL, 4, false), 0);
	assert_int_equal(le32_load(rbuf), 16 + 4);
	assert_memory_equal(rbuf + 16, "from", 4);
	assert_int_equal(io(f, fh, 0, NULL, 4096, false), 0);
	assert_int_equal(le32_load(rbuf), 16 + 20);
	assert_memory_equal(rbuf + 16, "hello from the host\n", 20);
	/* a symlink is the link itself; readlink gives its text */
	uint64_t l = lookup(FUSE_ROOT_ID, "outside-link", &e);
	assert_true(S_ISLNK(entry_mode()));
	struct req m = begin(FUSE_READLINK, l);
	assert_int_equal(send(&m), 0);
	assert_memory_equal(rbuf + 16, "/etc", 4);
	open_(l, O_RDONLY, &e);
	assert_int_not_equal(e, 0);
	/* names are single components */
	lookup(FUSE_ROOT_ID, "..", &e);
	assert_int_equal(e, -ENOENT);
	lookup(FUSE_ROOT_ID, "dir/hello.txt", &e);
	assert_int_equal(e, -ENOENT);
	lookup(FUSE_ROOT_ID, "outside-link/passwd", &e);
	assert_int_equal(e, -ENOENT);
	lookup(l, "passwd", &e);
	assert_int_equal(e, -ENOTDIR);
}

/* INIT offering `offered`: the flags saevm accepts. */
static uint32_t init_offering(uint32_t offered)
{
	struct req m = begin(FUSE_INIT, 0);
	t32(&m, 7);
	t32(&m, 38);
	t32(&m, 1 << 20);
	t32(&m, offered);
	for (int i = 0; i < 12; i++)
		t32(&m, 0);
	assert_int_equal(send(&m), 0);
	return le32_load(rbuf + 28);
}

/* The cache policy as the replies carry it. auto: entries and attributes
 * for 1 s, the page cache kept across opens and dropped when refreshed
 * attributes show a change (AUTO_INVAL_DATA); never: 0 s, no page cache
 * kept. No file needs a FLUSH on close (FOPEN_NOFLUSH): writes are in
 * the host file already. */
static void test_cache_policy_in_replies(void **state)
{
	struct error err = { 0 };
	int32_t e;
	(void)state;
	assert_true(init_offering(FUSE_ASYNC_READ | FUSE_AUTO_INVAL_DATA) & FUSE_AUTO_INVAL_DATA);
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	uint64_t f = lookup(dir, "hello.txt", &e);
	assert_int_equal(le64_load(rbuf + 16 + 16), 1); /* entry_valid */
	assert_int_equal(le64_load(rbuf + 16 + 24), 1); /* attr_valid */
	open_(f, O_RDONLY, &e);
	assert_int_equal(e, 0);
	assert_int_equal(le32_load(rbuf + 16 + 8), FOPEN_KEEP_CACHE | FOPEN_NOFLUSH);
	struct req m = begin(FUSE_OPENDIR, dir);
	t32(&m, O_RDONLY);
	t32(&m, 0);
	assert_int_equal(send(&m), 0);
	assert_int_equal(le32_load(rbuf + 16 + 8), 0);

	struct fuse_server *auto_srv = srv;
	srv = fuse_server_create(root, false, FUSE_CACHE_NEVER, &err);
	assert_non_null(srv);
	assert_false(init_offering(FUSE_ASYNC_READ | FUSE_AUTO_INVAL_DATA) & FUSE_AUTO_INVAL_DATA);
	dir = lookup(FUSE_ROOT_ID, "dir", &e);
	f = lookup(dir, "hello.txt", &e);
	assert_int_equal(le64_load(rbuf + 16 + 16), 0);
	open_(f, O_RDONLY, &e);
	assert_int_equal(e, 0);
	assert_int_equal(le32_load(rbuf + 16 + 8), FOPEN_NOFLUSH);
	fuse_server_destroy(srv);
	srv = auto_srv;
}

static void test_creates_writes_and_renames(void **state)
{
	int32_t e;
	(void)state;
	mode_t old = umask(022);
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	struct req m = begin(FUSE_CREATE, dir);
	t32(&m, O_RDWR | O_EXCL);
	t32(&m, S_IFREG | 06620); /* setuid and setgid asked: dropped */
	t32(&m, 0);
	t32(&m, 0);
	tname(&m, "new.txt");
	assert_int_equal(send(&m), 0);
	uint64_t f = le64_load(rbuf + 16), fh = le64_load(rbuf + 16 + 128);
	assert_int_equal(io(f, fh, 0, "guest bytes", 11, true), 0);
	assert_int_equal(le32_load(rbuf + 16), 11);
	m = begin(FUSE_FSYNC, f);
	t64(&m, fh);
	t32(&m, 0);
	t32(&m, 0);
	assert_int_equal(send(&m), 0);
	struct stat st = host_stat("dir/new.txt");
	assert_int_equal(st.st_size, 11);
	assert_int_equal(st.st_mode & 07777, 0620); /* exactly, saevm's umask aside */
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
	m = begin(FUSE_RELEASE, f);
	t64(&m, fh);
	t32(&m, 0);
	t32(&m, 0);
	t64(&m, 0);
	assert_int_equal(send(&m), 0);
	/* mkdir 0777, a symlink, a hard link, rename2 with NOREPLACE, unlink, rmdir */
	m = begin(FUSE_MKDIR, dir);
	t32(&m, 0777);
	t32(&m, 022);
	tname(&m, "sub");
	assert_int_equal(send(&m), 0);
	uint64_t sub = le64_load(rbuf + 16);
	assert_int_equal(host_stat("dir/sub").st_mode & 07777, 0777);
	m = begin(FUSE_SYMLINK, dir);
	tname(&m, "ln");
	tname(&m, "../../../etc/passwd");
	assert_int_equal(send(&m), 0);
	assert_true(S_ISLNK(host_stat("dir/ln").st_mode));
	m = begin(FUSE_LINK, sub);
	t64(&m, f);
	tname(&m, "hard");
	assert_int_equal(send(&m), 0);
	assert_int_equal(host_stat("dir/sub/hard").st_ino, host_stat("dir/new.txt").st_ino);
	m = begin(FUSE_RENAME2, dir);
	t64(&m, sub);
	t32(&m, 1); /* RENAME_NOREPLACE */
	t32(&m, 0);
	tname(&m, "new.txt");
	tname(&m, "hard");
	assert_int_equal(send(&m), -EEXIST);
	m = begin(FUSE_RENAME, dir);
	t64(&m, sub);
	tname(&m, "new.txt");
	tname(&m, "moved.txt");
	assert_int_equal(send(&m), 0);
	assert_true(host_exists("dir/sub/moved.txt"));
	m = begin(FUSE_RENAME, dir);
	t64(&m, sub);
	tname(&m, "ln");
	tname(&m, "../x");
	assert_int_equal(send(&m), -EINVAL);
	m = begin(FUSE_UNLINK, sub);
	tname(&m, "moved.txt");
	assert_int_equal(send(&m), 0);
	m = begin(FUSE_UNLINK, sub);
	tname(&m, "hard");
	assert_int_equal(send(&m), 0);
	m = begin(FUSE_RMDIR, dir);
	tname(&m, "sub");
	assert_int_equal(send(&m), 0);
	assert_false(host_exists("dir/sub"));
	/* device nodes are never made; FIFOs are */
	m = begin(FUSE_MKNOD, dir);
	t32(&m, S_IFCHR | 0666);
	t32(&m, 0x0103);
	t32(&m, 0);
	t32(&m, 0);
	tname(&m, "null");
	assert_int_equal(send(&m), -EPERM);
	m = begin(FUSE_MKNOD, dir);
	t32(&m, S_IFIFO | 0640);
	t32(&m, 0);
	t32(&m, 0);
	t32(&m, 0);
	tname(&m, "fifo");
	assert_int_equal(send(&m), 0);
	uint64_t fifo = le64_load(rbuf + 16);
	assert_int_equal(host_stat("dir/fifo").st_mode & 07777, 0640);
	open_(fifo, O_RDONLY, &e);
	assert_int_equal(e, -EPERM); /* never opened */
	umask(old);
}

static int32_t setattr(uint64_t node, uint32_t valid, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size)
{
	struct req m = begin(FUSE_SETATTR, node);
	t32(&m, valid);
	t32(&m, 0);
	t64(&m, 0);    /* fh */
	t64(&m, size);
	t64(&m, 0);    /* lock_owner */
	t64(&m, 0);
	t64(&m, 1234567890); /* mtime */
	t64(&m, 0);
	t32(&m, 0);
	t32(&m, 5);    /* mtimensec */
	t32(&m, 0);
	t32(&m, mode);
	t32(&m, 0);
	t32(&m, uid);
	t32(&m, gid);
	t32(&m, 0);
	return send(&m);
}

static void test_setattr_keeps_the_rules(void **state)
{
	int32_t e;
	(void)state;
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	uint64_t f = lookup(dir, "hello.txt", &e);
	assert_int_equal(setattr(f, FATTR_MODE, 04755, 0, 0, 0), 0);
	assert_int_equal(host_stat("dir/hello.txt").st_mode & 07777, 0755);
	assert_int_equal(le32_load(rbuf + 16 + 16 + 60) & 07777, 0755); /* the reply's attr */
	uint32_t other = geteuid() == 0 ? 4242 : 0;
	assert_int_equal(setattr(f, FATTR_UID, 0, other, 0, 0), -EPERM);
	assert_int_equal(host_stat("dir/hello.txt").st_uid, geteuid());
	assert_int_equal(setattr(f, FATTR_UID | FATTR_GID, 0, geteuid(), getegid(), 0), 0);
	assert_int_equal(setattr(f, FATTR_SIZE | FATTR_MTIME, 0, 0, 0, 5), 0);
	struct stat st = host_stat("dir/hello.txt");
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
}

static void test_readdir_and_readdirplus(void **state)
{
	int32_t e;
	char name[32];
	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "dir/f%02d", i);
		host_write(name, "x");
	}
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	for (int plus = 0; plus < 2; plus++) {
		struct req m = begin(FUSE_OPENDIR, dir);
		t32(&m, 0);
		t32(&m, 0);
		assert_int_equal(send(&m), 0);
		uint64_t fh = le64_load(rbuf + 16), off = 0;
		unsigned seen = 0, rounds = 0, with_node = 0;
		for (;;) {
			m = begin(plus ? FUSE_READDIRPLUS : FUSE_READDIR, dir);
			t64(&m, fh);
			t64(&m, off);
			t32(&m, 512); /* a few entries at a time */
			t32(&m, 0);
			t64(&m, 0);
			t32(&m, 0);
			t32(&m, 0);
			assert_int_equal(send(&m), 0);
			uint32_t len = le32_load(rbuf) - 16;
			assert_true(len <= 512);
			if (!len)
				break;
			for (uint32_t p = 0; p < len;) {
				const uint8_t *d = rbuf + 16 + p;
				if (plus) {
					with_node += le64_load(d) != 0;
					d += 128;
					p += 128;
				}
				uint32_t nl = le32_load(d + 16);
				off = le64_load(d + 8);
				if (nl == 3 && d[24] == 'f')
					seen++;
				p += (24 + nl + 7) & ~7u;
			}
			assert_true(++rounds < 100);
		}
		assert_int_equal(seen, 40);
		assert_true(rounds >= 3);
		if (plus) /* each entry but . and .. comes with its inode */
			assert_int_equal(with_node, 41);
		m = begin(FUSE_RELEASEDIR, dir);
		t64(&m, fh);
		t32(&m, 0);
		t32(&m, 0);
		t64(&m, 0);
		assert_int_equal(send(&m), 0);
	}
	assert_int_equal(fuse_server_stats(srv)->handles, 0);
}

/* Lookups counted, forgets taken back (single and batch, with unknown and
 * oversized counts); the root is never forgotten; nothing leaks. */
static void test_forget_storm(void **state)
{
	int32_t e;
	(void)state;
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	uint64_t f = 0;
	for (int i = 0; i < 1000; i++)
		f = lookup(dir, "hello.txt", &e);
	assert_int_equal(fuse_server_stats(srv)->inodes, 3);
	struct req m = begin(FUSE_FORGET, f);
	t64(&m, 999);
	assert_int_equal(send_room(&m, 0), 0); /* no reply */
	assert_int_equal(fuse_server_stats(srv)->inodes, 3);
	m = begin(FUSE_BATCH_FORGET, 0);
	t32(&m, 4000); /* more than it carries: the rest is ignored */
	t32(&m, 0);
	t64(&m, f);
	t64(&m, 1);
	t64(&m, 987654321); /* unknown */
	t64(&m, 5);
	t64(&m, FUSE_ROOT_ID);
	t64(&m, 1000);
	t64(&m, dir);
	t64(&m, ~0ull);
	assert_int_equal(send_room(&m, 0), 0);
	assert_int_equal(fuse_server_stats(srv)->inodes, 1);
	/* the forgotten nodeid is stale now; the root still answers */
	m = begin(FUSE_GETATTR, f);
	t64(&m, 0);
	t64(&m, 0);
	assert_int_equal(send(&m), -ESTALE);
	m = begin(FUSE_GETATTR, FUSE_ROOT_ID);
	t64(&m, 0);
	t64(&m, 0);
	assert_int_equal(send(&m), 0);
	assert_true(S_ISDIR(le32_load(rbuf + 16 + 16 + 60)));
}

/* What a guest makes the server hold has a bound: past it, ENFILE, and
 * forgetting or releasing gives room back. */
static void test_bounded_inodes_and_handles(void **state)
{
	char name[32];
	int32_t e;
	uint64_t ids[16];
	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "dir/b%02d", i);
		host_write(name, "x");
	}
	fuse_server_set_limits(srv, 8, 3);
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	unsigned got = 0, refused = 0;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "b%02d", i);
		uint64_t id = lookup(dir, name, &e);
		if (e == -ENFILE)
			refused++;
		else
			ids[got++] = id;
	}
	assert_int_equal(got, 6); /* the root, dir and 6 files: 8 */
	assert_int_equal(refused, 6);
	assert_int_equal(fuse_server_stats(srv)->inodes, 8);
	struct req m = begin(FUSE_FORGET, ids[0]);
	t64(&m, 1);
	send_room(&m, 0);
	lookup(dir, "b11", &e);
	assert_int_equal(e, 0);
	/* three handles at most */
	uint64_t fh[4];
	for (int i = 0; i < 3; i++) {
		fh[i] = open_(ids[1], O_RDONLY, &e);
		assert_int_equal(e, 0);
	}
	open_(ids[1], O_RDONLY, &e);
	assert_int_equal(e, -ENFILE);
	m = begin(FUSE_RELEASE, ids[1]);
	t64(&m, fh[0]);
	t32(&m, 0);
	t32(&m, 0);
	t64(&m, 0);
	assert_int_equal(send(&m), 0);
	open_(ids[1], O_RDONLY, &e);
	assert_int_equal(e, 0);
}

static void test_malformed_requests(void **state)
{
	int32_t e;
	(void)state;
	init();
	/* a name without its NUL */
	struct req m = begin(FUSE_LOOKUP, FUSE_ROOT_ID);
	memcpy(tbuf + m.len, "dir", 3);
	m.len += 3;
	assert_int_equal(send(&m), -EINVAL);
	/* a length field larger than the chain */
	m = begin(FUSE_GETATTR, FUSE_ROOT_ID);
	t64(&m, 0);
	t64(&m, 0);
	le32_store(tbuf, 9999);
	chain = (struct vq_chain){ .n_out = 1, .n_in = 1, .out_len = m.len, .in_len = 256 };
	chain.iov[0] = (struct iovec){ tbuf, m.len };
	chain.iov[1] = (struct iovec){ rbuf, 256 };
	fuse_server_handle(srv, &chain);
	assert_int_equal((int32_t)le32_load(rbuf + 4), -EINVAL);
	/* a write whose size is more than it carries */
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	uint64_t f = lookup(dir, "hello.txt", &e);
	uint64_t fh = open_(f, O_RDWR, &e);
	m = begin(FUSE_WRITE, f);
	t64(&m, fh);
	t64(&m, 0);
	t32(&m, 100000);
	t32(&m, 0);
	t64(&m, 0);
	t32(&m, 0);
	t32(&m, 0);
	memcpy(tbuf + m.len, "abc", 3);
	m.len += 3;
	assert_int_equal(send(&m), -EINVAL);
	/* unknown opcodes and xattrs: ENOSYS; unknown nodeids and handles */
	m = begin(9999, FUSE_ROOT_ID);
	assert_int_equal(send(&m), -ENOSYS);
	m = begin(FUSE_GETXATTR, FUSE_ROOT_ID);
	assert_int_equal(send(&m), -ENOSYS);
	lookup(123456, "x", &e);
	assert_int_equal(e, -ESTALE);
	assert_int_equal(io(f, 777, 0, NULL, 10, false), -EBADF);
	/* a truncated header: no reply at all */
	chain = (struct vq_chain){ .n_out = 1, .n_in = 1, .out_len = 20, .in_len = 256 };
	chain.iov[0] = (struct iovec){ tbuf, 20 };
	chain.iov[1] = (struct iovec){ rbuf, 256 };
	assert_int_equal(fuse_server_handle(srv, &chain), 0);
	/* a reply that does not fit: an error that does */
	m = begin(FUSE_GETATTR, FUSE_ROOT_ID);
	t64(&m, 0);
	t64(&m, 0);
	assert_int_equal(send_room(&m, 40), -EOVERFLOW);
	assert_int_equal(le32_load(rbuf), 16);
}

static void test_read_only_share(void **state)
{
	int32_t e;
	(void)state;
	init();
	uint64_t dir = lookup(FUSE_ROOT_ID, "dir", &e);
	uint64_t f = lookup(dir, "hello.txt", &e);
	open_(f, O_WRONLY, &e);
	assert_int_equal(e, -EROFS);
	open_(f, O_RDONLY | O_TRUNC, &e);
	assert_int_equal(e, -EROFS);
	struct req m = begin(FUSE_CREATE, dir);
	t32(&m, O_RDWR);
	t32(&m, 0644);
	t32(&m, 0);
	t32(&m, 0);
	tname(&m, "x");
	assert_int_equal(send(&m), -EROFS);
	m = begin(FUSE_UNLINK, dir);
	tname(&m, "hello.txt");
	assert_int_equal(send(&m), -EROFS);
	assert_int_equal(setattr(f, FATTR_MODE, 0600, 0, 0, 0), -EROFS);
	assert_true(host_exists("dir/hello.txt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_first_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_a_host_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_policy_in_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_writes_and_renames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setattr_keeps_the_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_and_readdirplus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_inodes_and_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_share, setup_ro, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
