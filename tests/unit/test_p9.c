/* The 9P2000.L server on a real temporary directory, driven as Linux's
 * client drives it: version, attach, walk, getattr, open, read, create,
 * write, readdir, rename, unlink. The messages are split across several
 * buffers as a scatter-gather chain would be. Confinement: symlinks out of
 * the share, "..", names with '/', device nodes and FIFOs, a read-only
 * share. Every case runs twice: with openat2, and with the component walk
 * that stands in for it (qemu-user, which runs these tests for s390x and
 * arm64, has no openat2 before QEMU 9.0). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/share/p9_server.h"
#include "../../devices/share/share.h"
#include "../../vmm/le.h"

#define MSIZE (512u * 1024u)
#define Rlerror 7

static char root[256];
static struct p9_server *srv;
static uint8_t tbuf[MSIZE + 64], rbuf[MSIZE + 64];
static struct vq_chain chain;
static uint16_t next_tag;

/* ---- a tiny client ---- */
struct tmsg {
	uint8_t *p;
	size_t len;
};
static void t8(struct tmsg *m, uint8_t v) { m->p[m->len++] = v; }
static void t16(struct tmsg *m, uint16_t v) { le16_store(m->p + m->len, v); m->len += 2; }
static void t32(struct tmsg *m, uint32_t v) { le32_store(m->p + m->len, v); m->len += 4; }
static void t64(struct tmsg *m, uint64_t v) { le64_store(m->p + m->len, v); m->len += 8; }
static void tstr(struct tmsg *m, const char *s)
{
	t16(m, (uint16_t)strlen(s));
	memcpy(m->p + m->len, s, strlen(s));
	m->len += strlen(s);
}
static struct tmsg begin(uint8_t type)
{
	struct tmsg m = { tbuf, 0 };
	t32(&m, 0);
	t8(&m, type);
	t16(&m, next_tag++);
	return m;
}

/* Sends m (split into 3 readable pieces) with `room` bytes of reply space
 * (split into 2 writable pieces); returns the reply's type. */
static uint8_t send_room(struct tmsg *m, size_t room)
{
	size_t a = m->len / 3, b = m->len / 3;

	le32_store(tbuf, (uint32_t)m->len);
	memset(rbuf, 0xee, sizeof(rbuf));
	chain = (struct vq_chain){ .n_out = 3, .n_in = 2, .out_len = m->len, .in_len = room };
	chain.iov[0] = (struct iovec){ tbuf, a };
	chain.iov[1] = (struct iovec){ tbuf + a, b };
	chain.iov[2] = (struct iovec){ tbuf + a + b, m->len - a - b };
	chain.iov[3] = (struct iovec){ rbuf, 7 + 4 };
	chain.iov[4] = (struct iovec){ rbuf + 11, room - 11 };
	uint32_t n = p9_server_handle(srv, &chain);
	assert_true(n >= 7);
	assert_int_equal(le32_load(rbuf), n);
	assert_int_equal(le16_load(rbuf + 5), (uint16_t)(next_tag - 1));
	return rbuf[4];
}
static uint8_t send(struct tmsg *m) { return send_room(m, MSIZE); }
static uint32_t rerror(void) { return rbuf[4] == Rlerror ? le32_load(rbuf + 7) : 0; }

static void version_attach(uint32_t fid)
{
	struct tmsg m = begin(100);
	t32(&m, MSIZE);
	tstr(&m, "9P2000.L");
	assert_int_equal(send(&m), 101);
	assert_int_equal(le32_load(rbuf + 7), MSIZE);
	m = begin(104);
	t32(&m, fid);
	t32(&m, ~0u);
	tstr(&m, "user");
	tstr(&m, "");
	t32(&m, 1000);
	assert_int_equal(send(&m), 105);
	assert_int_equal(rbuf[7], 0x80); /* the root is a directory */
}

/* Twalk from fid to newfid through the '/'-separated names in `path`;
 * returns the error (0) and the number of qids. */
static uint32_t walk(uint32_t fid, uint32_t newfid, const char *path, unsigned *nqid)
{
	struct tmsg m = begin(110);
	char copy[256], *save = NULL;
	size_t at;
	uint16_t n = 0;

	t32(&m, fid);
	t32(&m, newfid);
	at = m.len;
	t16(&m, 0);
	snprintf(copy, sizeof(copy), "%s", path);
	for (char *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save), n++)
		tstr(&m, w);
	le16_store(tbuf + at, n);
	send(&m);
	if (nqid)
		*nqid = rbuf[4] == 111 ? le16_load(rbuf + 7) : 0;
	return rerror();
}

static uint32_t lopen(uint32_t fid, uint32_t flags)
{
	struct tmsg m = begin(12);
	t32(&m, fid);
	t32(&m, flags);
	send(&m);
	return rerror();
}

static uint32_t simple(uint8_t type, uint32_t fid)
{
	struct tmsg m = begin(type);
	t32(&m, fid);
	send(&m);
	return rerror();
}

static uint32_t lcreate(uint32_t dirfid, const char *name, uint32_t flags, uint32_t mode)
{
	struct tmsg m = begin(14);
	t32(&m, dirfid);
	tstr(&m, name);
	t32(&m, flags);
	t32(&m, mode);
	t32(&m, 1000);
	send(&m);
	return rerror();
}

static uint32_t pwrite9(uint32_t fid, uint64_t off, const void *data, uint32_t len)
{
	struct tmsg m = begin(118);
	t32(&m, fid);
	t64(&m, off);
	t32(&m, len);
	memcpy(tbuf + m.len, data, len);
	m.len += len;
	if (send(&m) != 119)
		return 0;
	return le32_load(rbuf + 7);
}

/* Tread into rbuf+11; returns the count. */
static uint32_t pread9(uint32_t fid, uint64_t off, uint32_t len)
{
	struct tmsg m = begin(116);
	t32(&m, fid);
	t64(&m, off);
	t32(&m, len);
	if (send(&m) != 117)
		return 0;
	return le32_load(rbuf + 7);
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

static char *host_read(const char *rel, char *buf, size_t size)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup_rw(bool ro)
{
	struct error err = { 0 };
	char p[512];

	snprintf(root, sizeof(root), "/tmp/saevm-p9-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(p, sizeof(p), "%s/dir", root);
	mkdir(p, 0755);
	host_write("dir/hello.txt", "hello from the host\n");
	snprintf(p, sizeof(p), "%s/outside-link", root);
	if (symlink("/etc", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/dir/up-link", root);
	if (symlink("../..", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo", root);
	if (mkfifo(p, 0644) < 0)
		return -1;
	srv = p9_server_create(root, ro, &err);
	next_tag = 1;
	return srv ? 0 : -1;
}
static int setup(void **state) { (void)state; share_use_openat2(true); return setup_rw(false); }
static int setup_walk(void **state) { (void)state; share_use_openat2(false); return setup_rw(false); }
static int setup_ro(void **state) { (void)state; share_use_openat2(true); return setup_rw(true); }

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	p9_server_destroy(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_reads_a_host_file(void **state)
{
	(void)state;
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir/hello.txt", NULL), 0);
	struct tmsg m = begin(24); /* Tgetattr */
	t32(&m, 1);
	t64(&m, 0x7ff);
	assert_int_equal(send(&m), 25);
	assert_int_equal(le64_load(rbuf + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8), 20); /* size */
	assert_true(S_ISREG(le32_load(rbuf + 7 + 8 + 13)));
	assert_int_equal(lopen(1, 0), 0);
	assert_int_equal(pread9(1, 0, 4096), 20);
	assert_memory_equal(rbuf + 11, "hello from the host\n", 20);
	assert_int_equal(pread9(1, 6, 4), 4);
	assert_memory_equal(rbuf + 11, "from", 4);
	assert_int_equal(simple(120, 1), 0);           /* Tclunk */
	assert_int_equal(simple(120, 1), EBADF);       /* gone */
}

/* A regular file's qid has a version, and it stays the same when the file
 * changes: Linux 6.6 and newer cache nothing of a file whose version is 0
 * (every read and write a 4 KiB round trip), and older kernels take a
 * changed version for another inode. */
static void test_file_qids_let_the_guest_cache(void **state)
{
	uint32_t version;
	(void)state;
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir/hello.txt", NULL), 0);
	version = le32_load(rbuf + 9 + 13 + 1);           /* Rwalk: the second qid's version */
	assert_int_not_equal(version, 0);
	assert_int_equal(lopen(1, 0), 0);
	assert_int_equal(le32_load(rbuf + 7 + 1), version); /* Rlopen's qid */
	assert_int_equal(walk(0, 2, "dir", NULL), 0);
	assert_int_equal(lcreate(2, "grows.txt", 02, 0644), 0);
	version = le32_load(rbuf + 7 + 1);                 /* Rlcreate's qid */
	assert_int_not_equal(version, 0);
	assert_int_equal(pwrite9(2, 0, "more bytes", 10), 10);
	struct tmsg m = begin(24); /* Tgetattr after the change */
	t32(&m, 2);
	t64(&m, 0x7ff);
	assert_int_equal(send(&m), 25);
	assert_int_equal(le32_load(rbuf + 7 + 8 + 1), version);
	assert_int_equal(le64_load(rbuf + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8), 10); /* size */
}

static void test_creates_and_writes_host_files(void **state)
{
	char buf[64];
	(void)state;
	version_attach(0);
	assert_int_equal(walk(0, 2, "dir", NULL), 0);
	assert_int_equal(lcreate(2, "new.txt", 02 /* RDWR */, 0640), 0);
	assert_int_equal(pwrite9(2, 0, "guest bytes", 11), 11);
	struct tmsg fs = begin(50); /* Tfsync */
	t32(&fs, 2);
	t32(&fs, 0);
	assert_int_equal(send(&fs), 51);
	assert_string_equal(host_read("dir/new.txt", buf, sizeof(buf)), "guest bytes");
	struct stat st;
	char p[512];
	snprintf(p, sizeof(p), "%s/dir/new.txt", root);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* mkdir, rename into it, unlink */
	assert_int_equal(walk(0, 3, "dir", NULL), 0);
	struct tmsg m = begin(72);
	t32(&m, 3);
	tstr(&m, "sub");
	t32(&m, 0755);
	t32(&m, 0);
	assert_int_equal(send(&m), 73);
	assert_int_equal(walk(3, 4, "sub", NULL), 0);
	m = begin(74); /* Trenameat dir/new.txt -> dir/sub/moved.txt */
	t32(&m, 3);
	tstr(&m, "new.txt");
	t32(&m, 4);
	tstr(&m, "moved.txt");
	assert_int_equal(send(&m), 75);
	assert_string_equal(host_read("dir/sub/moved.txt", buf, sizeof(buf)), "guest bytes");
	/* the open fid follows its file to the new name */
	assert_int_equal(pwrite9(2, 0, "GUEST", 5), 5);
	assert_string_equal(host_read("dir/sub/moved.txt", buf, sizeof(buf)), "GUEST bytes");
	m = begin(76);
	t32(&m, 4);
	tstr(&m, "moved.txt");
	t32(&m, 0);
	assert_int_equal(send(&m), 77);
	assert_null(host_read("dir/sub/moved.txt", buf, sizeof(buf)));
}

static void test_readdir_in_small_pieces(void **state)
{
	char name[32];
	unsigned seen = 0, rounds = 0;
	uint64_t off = 0;
	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "dir/f%02d", i);
		host_write(name, "x");
	}
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir", NULL), 0);
	assert_int_equal(lopen(1, 0200000 /* DIRECTORY */), 0);
	for (;;) {
		struct tmsg m = begin(40);
		t32(&m, 1);
		t64(&m, off);
		t32(&m, 200); /* a few entries at a time */
		assert_int_equal(send(&m), 41);
		uint32_t count = le32_load(rbuf + 7);
		assert_true(count <= 200);
		if (!count)
			break;
		for (uint32_t p = 0; p < count;) {
			const uint8_t *e = rbuf + 11 + p;
			uint16_t len = le16_load(e + 22);
			off = le64_load(e + 13);
			if (len == 3 && e[24] == 'f')
				seen++;
			p += 24u + len;
		}
		assert_true(++rounds < 100);
	}
	assert_int_equal(seen, 50);
	assert_true(rounds > 5);
}

static void test_stays_inside_the_share(void **state)
{
	unsigned n;
	(void)state;
	version_attach(0);
	/* a symlink to /etc, and one to ../.., are never followed */
	assert_int_equal(walk(0, 1, "outside-link/passwd", &n), 0);
	assert_int_equal(n, 1); /* the link itself, then no further */
	assert_int_equal(walk(0, 1, "dir/up-link/etc", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(walk(0, 1, "outside-link", NULL), 0);
	assert_int_equal(lopen(1, 0), ELOOP);
	struct tmsg m = begin(22); /* Treadlink: the guest resolves it in its own view */
	t32(&m, 1);
	assert_int_equal(send(&m), 23);
	assert_memory_equal(rbuf + 9, "/etc", 4);
	/* ".." at the root stays at the root */
	assert_int_equal(walk(0, 2, "../../..", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(walk(2, 3, "dir/hello.txt", NULL), 0);
	/* names with '/' or "." are refused */
	m = begin(110);
	t32(&m, 0);
	t32(&m, 5);
	t16(&m, 1);
	tstr(&m, "dir/hello.txt");
	send(&m);
	assert_int_equal(rerror(), ENOENT);
	assert_int_equal(walk(0, 4, "dir", NULL), 0);
	m = begin(74); /* Trenameat dir/hello.txt -> ../x */
	t32(&m, 4);
	tstr(&m, "hello.txt");
	t32(&m, 4);
	tstr(&m, "../x");
	send(&m);
	assert_int_equal(rerror(), EINVAL);
	assert_int_equal(lcreate(4, "../evil", 02, 0644), EINVAL);
	/* FIFOs are never opened, device nodes never made */
	assert_int_equal(walk(0, 6, "fifo", NULL), 0);
	assert_int_equal(lopen(6, 0), EPERM);
	m = begin(18);
	t32(&m, 0);
	tstr(&m, "null");
	t32(&m, S_IFCHR | 0666);
	t32(&m, 1);
	t32(&m, 3);
	t32(&m, 0);
	send(&m);
	assert_int_equal(rerror(), EPERM);
}

static void test_read_only_share_refuses_changes(void **state)
{
	char buf[64];
	(void)state;
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir", NULL), 0);
	assert_int_equal(lcreate(1, "x", 02, 0644), EROFS);
	assert_int_equal(walk(0, 2, "dir/hello.txt", NULL), 0);
	assert_int_equal(lopen(2, 01 /* WRONLY */), EROFS);
	assert_int_equal(lopen(2, 01000 /* TRUNC */), EROFS);
	assert_int_equal(lopen(2, 0), 0);
	assert_int_equal(pwrite9(2, 0, "no", 2), 0);
	assert_int_equal(rerror(), EROFS);
	struct tmsg m = begin(76);
	t32(&m, 1);
	tstr(&m, "hello.txt");
	t32(&m, 0);
	send(&m);
	assert_int_equal(rerror(), EROFS);
	assert_string_equal(host_read("dir/hello.txt", buf, sizeof(buf)), "hello from the host\n");
}

static void test_malformed_messages_get_errors(void **state)
{
	(void)state;
	/* before Tversion: nothing else */
	assert_int_equal(simple(24, 0), EPROTO);
	version_attach(0);
	/* a truncated Twalk */
	struct tmsg m = begin(110);
	t32(&m, 0);
	t32(&m, 1);
	t16(&m, 3);
	tstr(&m, "dir");
	send(&m);
	assert_int_equal(rerror(), EINVAL);
	/* a size field larger than the chain */
	m = begin(24);
	t32(&m, 0);
	t64(&m, 0);
	le32_store(tbuf, 9999);
	chain = (struct vq_chain){ .n_out = 1, .n_in = 1, .out_len = m.len, .in_len = 64 };
	chain.iov[0] = (struct iovec){ tbuf, m.len };
	chain.iov[1] = (struct iovec){ rbuf, 64 };
	p9_server_handle(srv, &chain);
	assert_int_equal(rbuf[4], Rlerror);
	assert_int_equal(le32_load(rbuf + 7), EMSGSIZE);
	/* a Twrite whose count is more than it carries */
	assert_int_equal(walk(0, 2, "dir", NULL), 0);
	assert_int_equal(lcreate(2, "w", 02, 0644), 0);
	m = begin(118);
	t32(&m, 2);
	t64(&m, 0);
	t32(&m, 100000);
	memcpy(tbuf + m.len, "abc", 3);
	m.len += 3;
	send(&m);
	assert_int_equal(rerror(), EINVAL);
	/* unknown types, and a reply that does not fit */
	m = begin(200);
	send(&m);
	assert_int_equal(rerror(), EOPNOTSUPP);
	m = begin(24);
	t32(&m, 0);
	t64(&m, 0x7ff);
	assert_int_equal(send_room(&m, 40), Rlerror);
	assert_int_equal(rerror(), EMSGSIZE);
}

/* ---- a hostile guest (the share-safety rules of devices/share/share.h) ---- */

static void host_path(char *p, size_t size, const char *rel)
{
	snprintf(p, size, "%s/%s", root, rel);
}

static mode_t host_mode(const char *rel)
{
	char p[512];
	struct stat st;
	host_path(p, sizeof(p), rel);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode;
}

static uint32_t setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size)
{
	struct tmsg m = begin(26);
	t32(&m, fid);
	t32(&m, valid);
	t32(&m, mode);
	t32(&m, uid);
	t32(&m, gid);
	t64(&m, size);
	for (int i = 0; i < 4; i++)
		t64(&m, 0);
	send(&m);
	return rerror();
}

static uint32_t make(uint8_t type, uint32_t dirfid, const char *name, uint32_t mode)
{
	struct tmsg m = begin(type);
	t32(&m, dirfid);
	tstr(&m, name);
	t32(&m, mode);
	if (type == 18) { /* Tmknod: major, minor */
		t32(&m, 1);
		t32(&m, 3);
	}
	t32(&m, 42); /* a gid of the guest's choosing */
	send(&m);
	return rerror();
}

/* Files the guest makes get exactly the mode it asks for (its own umask
 * is its kernel's business), less setuid and setgid; chmod never sets
 * them either. saevm's umask (022 here) plays no part. */
static void test_modes_exact_and_never_setuid(void **state)
{
	(void)state;
	mode_t old = umask(022);
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir", NULL), 0);
	assert_int_equal(lcreate(1, "g", 02, 0620), 0);
	assert_int_equal(host_mode("dir/g") & 07777, 0620);
	assert_int_equal(walk(0, 2, "dir", NULL), 0);
	assert_int_equal(lcreate(2, "suid", 02, 06755), 0);
	assert_int_equal(host_mode("dir/suid") & 07777, 0755);
	assert_int_equal(make(72, 0, "d", 0777), 0);        /* Tmkdir */
	assert_int_equal(host_mode("d") & 07777, 0777);
	assert_int_equal(make(72, 0, "sgid", 02775), 0);
	assert_int_equal(host_mode("sgid") & 07777, 0775);
	assert_int_equal(make(18, 0, "ff", S_IFIFO | 0666), 0); /* Tmknod */
	assert_true(S_ISFIFO(host_mode("ff")));
	assert_int_equal(host_mode("ff") & 07777, 0666);
	/* chmod 4755 and 2755: the bits are dropped, the rest is kept */
	assert_int_equal(walk(0, 3, "dir/hello.txt", NULL), 0);
	assert_int_equal(setattr(3, 1, 04755, 0, 0, 0), 0);
	assert_int_equal(host_mode("dir/hello.txt") & 07777, 0755);
	assert_int_equal(setattr(3, 1, 02711, 0, 0, 0), 0);
	assert_int_equal(host_mode("dir/hello.txt") & 07777, 0711);
	umask(old);
}

/* Times and sizes change on the fid's own object (by its descriptor). */
static void test_times_and_size_by_descriptor(void **state)
{
	char p[512];
	struct stat st;
	(void)state;
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir/hello.txt", NULL), 0);
	struct tmsg m = begin(26); /* Tsetattr: size 5, mtime 1234567890.5 */
	t32(&m, 1);
	t32(&m, 8 | 32 | 256);
	t32(&m, 0);
	t32(&m, 0);
	t32(&m, 0);
	t64(&m, 5);
	t64(&m, 0);
	t64(&m, 0);
	t64(&m, 1234567890);
	t64(&m, 500000000);
	assert_int_equal(send(&m), 27);
	host_path(p, sizeof(p), "dir/hello.txt");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mtim.tv_nsec, 500000000);
	/* a symlink's own times, not its target's */
	assert_int_equal(walk(0, 2, "outside-link", NULL), 0);
	m = begin(26);
	t32(&m, 2);
	t32(&m, 32 | 256);
	for (int i = 0; i < 3; i++)
		t32(&m, 0);
	for (int i = 0; i < 3; i++)
		t64(&m, 0);
	t64(&m, 1000000000);
	t64(&m, 0);
	assert_int_equal(send(&m), 27);
	host_path(p, sizeof(p), "outside-link");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(stat("/etc", &st), 0);
	assert_int_not_equal(st.st_mtim.tv_sec, 1000000000);
}

/* One owner: whatever uid the guest attached with and whatever gid it
 * puts in a create, the host file is saevm's user's; a chown to another
 * uid fails and changes nothing; a chown to what the file has already
 * (dpkg, tar, cp -p do that) succeeds. */
static void test_one_owner(void **state)
{
	char p[512];
	struct stat st;
	(void)state;
	version_attach(0); /* attaches as uid 1000 */
	assert_int_equal(walk(0, 1, "dir", NULL), 0);
	assert_int_equal(lcreate(1, "mine", 02, 0644), 0); /* gid 1000 asked */
	host_path(p, sizeof(p), "dir/mine");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(make(72, 0, "sub", 0755), 0); /* gid 42 asked */
	host_path(p, sizeof(p), "sub");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(walk(0, 2, "dir/mine", NULL), 0);
	uint32_t other = geteuid() == 0 ? 4242 : 0;
	assert_int_equal(setattr(2, 2 /* uid */, 0, other, 0, 0), EPERM);
	assert_int_equal(setattr(2, 4 /* gid */, 0, 0, 4343, 0), EPERM);
	assert_int_equal(setattr(2, 6, 0, geteuid(), getegid(), 0), 0);
	host_path(p, sizeof(p), "dir/mine");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
}

/* As root: a file already there that belongs to someone else is opened by
 * a Tlcreate without EXCL but never taken over; a setuid file written
 * through the share loses the bit; a device node in the share is never
 * opened, chmodded, chowned or linked. */
static void test_foreign_files_and_devices(void **state)
{
	char p[512], q[512];
	struct stat st;
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	host_write("dir/theirs", "theirs\n");
	host_path(p, sizeof(p), "dir/theirs");
	assert_int_equal(chown(p, 4242, 4242), 0);
	host_write("dir/suid-root", "#!/bin/sh\n");
	host_path(q, sizeof(q), "dir/suid-root");
	assert_int_equal(chmod(q, 06755), 0);
	host_path(q, sizeof(q), "dir/null");
	assert_int_equal(mknod(q, S_IFCHR | 0600, makedev(1, 3)), 0);
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir", NULL), 0);
	assert_int_equal(lcreate(1, "theirs", 02, 0600), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 4242); /* not re-owned */
	assert_int_equal(st.st_mode & 07777, 0644);
	/* the setuid file, opened for writing and truncated */
	assert_int_equal(walk(0, 2, "dir/suid-root", NULL), 0);
	assert_int_equal(lopen(2, 01 | 01000), 0);
	assert_int_equal(host_mode("dir/suid-root") & 07777, 0755);
	/* the device node: never opened, even by a Tlcreate without EXCL */
	assert_int_equal(walk(0, 3, "dir", NULL), 0);
	assert_int_equal(lcreate(3, "null", 02, 0666), EPERM);
	assert_int_equal(walk(0, 4, "dir/null", NULL), 0);
	assert_int_equal(lopen(4, 02), EPERM);
	assert_int_equal(setattr(4, 1, 0666, 0, 0, 0), EPERM);
	assert_int_equal(setattr(4, 2, 0, 0, 0, 0), EPERM); /* not even to its own owner */
	assert_int_equal(setattr(4, 6, 0, 4242, 4242, 0), EPERM);
	struct tmsg m = begin(70); /* Tlink dir/null -> dir/null2 */
	t32(&m, 3);
	t32(&m, 4);
	tstr(&m, "null2");
	send(&m);
	assert_int_equal(rerror(), EPERM);
	assert_int_equal(host_mode("dir/null") & 07777, 0600);
	assert_int_equal(lstat(q, &st), 0);
	assert_int_equal(st.st_uid, 0);
	host_path(q, sizeof(q), "dir/null2");
	assert_int_not_equal(lstat(q, &st), 0);
	/* chmod of a file that is not saevm's user's */
	assert_int_equal(walk(0, 5, "dir/theirs", NULL), 0);
	assert_int_equal(setattr(5, 1, 0666, 0, 0, 0), EPERM);
}

/* A local user who can write inside the share swaps a file for a symlink
 * to a file outside, again and again, while the guest chmods the file: the
 * chmod acts on the object the fid names, never on what the name leads
 * to now. */
static atomic_int racing;
static void *swapper(void *arg)
{
	char a[512], b[512];
	(void)arg;
	host_path(a, sizeof(a), "dir/victim");
	host_path(b, sizeof(b), "dir/swap");
	while (atomic_load(&racing))
		syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
	return NULL;
}

static void test_chmod_racing_a_symlink_swap(void **state)
{
	char outside[] = "/tmp/saevm-p9-outside-XXXXXX", p[512];
	struct stat st;
	pthread_t t;
	int fd = mkstemp(outside);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(outside, 0600), 0);
	host_write("dir/victim", "v");
	host_path(p, sizeof(p), "dir/swap");
	assert_int_equal(symlink(outside, p), 0);
	version_attach(0);
	atomic_store(&racing, 1);
	assert_int_equal(pthread_create(&t, NULL, swapper, NULL), 0);
	for (int i = 0; i < 3000; i++) {
		if (walk(0, 7, "dir/victim", NULL) == 0)
			setattr(7, 1, 04777, 0, 0, 0);
		simple(120, 7);
	}
	atomic_store(&racing, 0);
	pthread_join(t, NULL);
	assert_int_equal(stat(outside, &st), 0);
	unlink(outside);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* A clone-walk flood on a deep chain of long names: what the server holds
 * stays under its bound (fids cost no path), and past it the guest gets
 * ENFILE, not saevm's memory. */
static void test_fid_flood_is_bounded(void **state)
{
	char name[256];
	int fd;
	(void)state;
	memset(name, 'n', 255);
	name[255] = '\0';
	fd = open(root, O_PATH | O_DIRECTORY);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(mkdirat(fd, name, 0755), 0);
		int next = openat(fd, name, O_PATH | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	close(fd);
	version_attach(0);
	struct tmsg m = begin(110);
	t32(&m, 0);
	t32(&m, 1);
	t16(&m, 16);
	for (int i = 0; i < 16; i++)
		tstr(&m, name);
	assert_int_equal(send(&m), 111);
	assert_int_equal(le16_load(rbuf + 7), 16);
	unsigned refused = 0;
	for (uint32_t id = 2; id < P9_MAX_FIDS + 100; id++) {
		m = begin(110);
		t32(&m, 1);
		t32(&m, id);
		t16(&m, 0);
		send(&m);
		if (rerror() == ENFILE)
			refused++;
		else
			assert_int_equal(rbuf[4], 111);
	}
	const struct p9_stats *st = p9_server_stats(srv);
	assert_true(refused >= 100);
	assert_true(st->fids <= P9_MAX_FIDS);
	assert_true(st->state_bytes <= P9_MAX_STATE_BYTES);
	/* a path per fid would have been over 4 KiB each: 256 MiB */
	assert_true(st->state_bytes < 6u << 20);
	/* clunking gives it all back */
	for (uint32_t id = 1; id < P9_MAX_FIDS + 100; id++)
		simple(120, id);
	assert_int_equal(p9_server_stats(srv)->fids, 1);
}

/* A directory the host moved out of the share is no way out: walks,
 * creates, removals and renames through its fid answer ESTALE. */
static void test_directory_moved_out(void **state)
{
	char from[512], to[] = "/tmp/saevm-p9-moved-XXXXXX", p[600];
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(to));
	host_path(from, sizeof(from), "dir/away");
	assert_int_equal(mkdir(from, 0755), 0);
	host_write("dir/away/f", "f");
	version_attach(0);
	assert_int_equal(walk(0, 1, "dir/away", NULL), 0);
	assert_int_equal(walk(0, 2, "dir/away", NULL), 0);
	snprintf(p, sizeof(p), "%s/away", to);
	assert_int_equal(rename(from, p), 0);
	assert_int_equal(walk(1, 3, "f", NULL), ESTALE);
	assert_int_equal(lcreate(1, "planted", 02, 0644), ESTALE);
	assert_int_equal(make(72, 2, "planted-dir", 0755), ESTALE);
	struct tmsg m = begin(76); /* Tunlinkat away/f */
	t32(&m, 2);
	tstr(&m, "f");
	t32(&m, 0);
	send(&m);
	assert_int_equal(rerror(), ESTALE);
	snprintf(p, sizeof(p), "%s/away/planted", to);
	assert_int_not_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/away/f", to);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "rm -rf '%s'", to);
	assert_int_equal(system(p), 0);
}

/* Two writable shares one inside the other are refused, naming both; a
 * read-only share may lie inside a writable one (the default rootfs
 * beneath a home directory that is the working directory). */
static void test_overlapping_shares_refused(void **state)
{
	const char *a[] = { "/home/u", "/home/u/.local/share/saevm/rootfs" }, *w[] = { "the working directory", "the root filesystem" };
	const char *b[] = { "/home/u/src", "/home/u/srcs" }, *w2[] = { "--share", "--share" };
	const bool rw[] = { false, false }, ro_inside[] = { false, true };
	struct error err = { 0 }, ok = { 0 };
	(void)state;
	assert_int_equal(share_check_overlap(a, rw, w, 2, &err), -1);
	assert_int_equal(err.code, EXIT_USAGE);
	ASSERT_ERR_CONTAINS(&err, "the root filesystem /home/u/.local/share/saevm/rootfs lies inside the working directory /home/u");
	assert_int_equal(share_check_overlap(a, ro_inside, w, 2, &ok), 0);
	assert_int_equal(share_check_overlap(b, rw, w2, 2, &ok), 0);
}

#define BOTH(name) cmocka_unit_test_setup_teardown(name, setup, teardown), \
		   cmocka_unit_test_setup_teardown(name, setup_walk, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_reads_a_host_file),
		BOTH(test_file_qids_let_the_guest_cache),
		BOTH(test_creates_and_writes_host_files),
		BOTH(test_readdir_in_small_pieces),
		BOTH(test_stays_inside_the_share),
		BOTH(test_malformed_messages_get_errors),
		cmocka_unit_test_setup_teardown(test_read_only_share_refuses_changes, setup_ro, teardown),
		BOTH(test_modes_exact_and_never_setuid),
		BOTH(test_one_owner),
		BOTH(test_times_and_size_by_descriptor),
		BOTH(test_foreign_files_and_devices),
		BOTH(test_chmod_racing_a_symlink_swap),
		cmocka_unit_test_setup_teardown(test_fid_flood_is_bounded, setup, teardown),
		BOTH(test_directory_moved_out),
		cmocka_unit_test(test_overlapping_shares_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
