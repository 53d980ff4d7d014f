/* fuzz_fuse.c - the FUSE (virtio-fs) server driven by a hostile guest: the
 * input is a series of records, len[2] then that many bytes of request,
 * each handed over as one chain (split in two readable pieces, with a
 * reply space whose size the record's first byte picks, none at all for
 * some, as FORGET has) against a server on a scratch directory. Nothing
 * may crash, leak, read outside the chain's buffers, or reach outside the
 * directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/share/fuse_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];
static struct fuse_server *rw, *ro;

static void scratch(void)
{
	char p[128];
	FILE *f;

	snprintf(root, sizeof(root), "/tmp/saevm-fuzzfuse-XXXXXX");
	if (!mkdtemp(root))
		abort();
	snprintf(p, sizeof(p), "%s/dir", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir/file", root);
	if ((f = fopen(p, "w"))) {
		fputs("some bytes in a file\n", f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/link", root);
	if (symlink("/etc", p) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t reply[(1 << 20) + 64];
	struct error err = { 0 };
	struct vq_chain *c = calloc(1, sizeof(*c));
	struct fuse_server *s;

	if (!rw) {
		scratch();
		rw = fuse_server_create(root, false, FUSE_CACHE_AUTO, &err);
		ro = fuse_server_create(root, true, FUSE_CACHE_NEVER, &err);
		if (!rw || !ro)
			abort();
	}
	s = size && (data[0] & 1) ? ro : rw;
	fuse_server_reset(s);
	for (size_t off = size ? 1 : 0; off + 2 <= size;) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > size - off)
			len = size - off;
		/* a copy of just the request, so ASan sees any read past it */
		uint8_t *msg = malloc(len + 1);
		memcpy(msg, data + off, len);
		size_t room = len ? (size_t)(msg[0] % 8) * 8192u : 64u;
		if (len && msg[0] % 8 == 7)
			room = 16; /* a header's worth */
		*c = (struct vq_chain){ .n_out = 2, .n_in = room ? 2 : 0, .out_len = len, .in_len = room };
		c->iov[0] = (struct iovec){ msg, len / 2 };
		c->iov[1] = (struct iovec){ msg + len / 2, len - len / 2 };
		if (room) {
			c->iov[2] = (struct iovec){ reply, room < 16 ? room : 16 };
			c->iov[3] = (struct iovec){ reply + c->iov[2].iov_len, room - c->iov[2].iov_len };
		}
		if (len / 2 == 0) { /* no zero-length buffers in a real chain */
			c->iov[0] = c->iov[1];
			c->n_out = 1;
			c->iov[1] = c->iov[2];
			c->iov[2] = c->iov[3];
		}
		if (room && c->iov[c->n_out + 1].iov_len == 0)
			c->n_in = 1;
		fuse_server_handle(s, c);
		free(msg);
		off += len;
	}
	free(c);
	return 0;
}
