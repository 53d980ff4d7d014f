#include "cpio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int cpio_begin(struct cpio *c, struct error *err)
{
	memset(c, 0, sizeof(*c));
	c->ino = 1;
	c->fd = memfd_create("saevm-initramfs", MFD_CLOEXEC);
	if (c->fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "memfd_create for the initramfs");
	return 0;
}

static void put(struct cpio *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n && !c->failed) {
		ssize_t w = write(c->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->failed = w < 0 ? errno : EIO;
			return;
		}
		b += w;
		n -= (size_t)w;
		c->size += (uint64_t)w;
	}
}

static void pad4(struct cpio *c)
{
	static const uint8_t zeros[4];
	put(c, zeros, (4 - c->size % 4) % 4);
}

/* The 110-byte header (13 fields of 8 hex digits after "070701"), the
 * name with its NUL, padding to 4 bytes. */
static void header(struct cpio *c, const char *name, uint32_t mode, uint32_t filesize, unsigned major,
		   unsigned minor)
{
	char h[111];
	size_t namesize = strlen(name) + 1;

	snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", c->ino++, mode, 0u, 0u,
		 1u, 0u, filesize, 0u, 0u, major, minor, (unsigned)namesize, 0u);
	put(c, h, 110);
	put(c, name, namesize);
	pad4(c);
}

void cpio_add_dir(struct cpio *c, const char *path, mode_t perm)
{
	header(c, path, S_IFDIR | (perm & 07777), 0, 0, 0);
}

void cpio_add_file(struct cpio *c, const char *path, mode_t perm, const void *data, size_t len)
{
	header(c, path, S_IFREG | (perm & 07777), (uint32_t)len, 0, 0);
	put(c, data, len);
	pad4(c);
}

void cpio_add_file_from(struct cpio *c, const char *path, mode_t perm, int src_fd, size_t len)
{
	uint8_t buf[65536];
	size_t done = 0;

	header(c, path, S_IFREG | (perm & 07777), (uint32_t)len, 0, 0);
	while (done < len && !c->failed) {
		ssize_t r = pread(src_fd, buf, len - done < sizeof(buf) ? len - done : sizeof(buf), (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->failed = r < 0 ? errno : EIO; /* the file shrank */
			return;
		}
		put(c, buf, (size_t)r);
		done += (size_t)r;
	}
	pad4(c);
}

void cpio_add_char_dev(struct cpio *c, const char *path, mode_t perm, unsigned major, unsigned minor)
{
	header(c, path, S_IFCHR | (perm & 07777), 0, major, minor);
}

int cpio_end(struct cpio *c, struct error *err)
{
	header(c, "TRAILER!!!", 0, 0, 0, 0);
	if (c->failed) {
		close(c->fd);
		c->fd = -1;
		return err_errno(err, EXIT_HOST_ERROR, c->failed, "cannot write the initramfs");
	}
	return c->fd;
}
