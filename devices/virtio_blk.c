/* virtio-blk (virtio 1.2 §5.2). Requests are served on the transport's I/O
 * thread with preadv/pwritev straight between the image and the guest's
 * buffers: no copy, no lock held across I/O but the queue's. A request is
 * acknowledged only after the I/O returned; FLUSH is fdatasync, so after a
 * guest's sync every acknowledged write is in the host file. */
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmm/le.h"
#include "../vmm/log.h"

#define SECTOR 512u
#define SEG_MAX 254u
/* One request moves at most seg_max * size_max bytes: the guest learns both
 * from the config space and builds no larger one (Linux does not); a larger
 * one, from a hostile guest, gets IOERR without any I/O. That bounds the
 * time one request holds the queue (overlapping buffers could otherwise
 * name 1 GiB from 4 MiB of RAM). */
#define SIZE_MAX_SEG (64u << 10)
#define MAX_REQUEST_BYTES ((uint64_t)SEG_MAX * SIZE_MAX_SEG)
#define QUEUE_SIZE 256
#define CONFIG_LEN 60

struct disk {
	int fd;
	bool read_only, block_device;
	uint64_t sectors;
	char path[4096];
	char id[DISK_ID_MAX];
};

struct virtio_blk {
	struct disk *disk;
	uint8_t config[CONFIG_LEN];
	struct iovec iov[VQ_MAX_CHAIN];
	unsigned long reads, writes, flushes, discards, errors, too_large;
	unsigned long long bytes_read, bytes_written;
};

/* A stable serial when the user named none: the same image always gets
 * the same /dev/disk/by-id name in the guest. */
static void derive_id(const char *path, char id[DISK_ID_MAX])
{
	char real[4096];
	uint32_t h = 2166136261u; /* FNV-1a */

	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	for (const char *p = real; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	memset(id, 0, DISK_ID_MAX);
	snprintf(id, DISK_ID_MAX, "saevm-%08x", h);
}

struct disk *disk_open(const struct disk_config *cfg, struct error *err)
{
	struct flock lock = { .l_type = cfg->read_only ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct disk *d = calloc(1, sizeof(*d));
	struct stat st;
	uint64_t bytes;

	if (!d) {
		err_set(err, EXIT_HOST_ERROR, "out of memory");
		return NULL;
	}
	snprintf(d->path, sizeof(d->path), "%s", cfg->path);
	d->read_only = cfg->read_only;
	d->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (cfg->direct ? O_DIRECT : 0));
	if (d->fd < 0) {
		if (errno == EINVAL && cfg->direct)
			err_set(err, EXIT_NO_INPUT, "disk %s: its filesystem does not support direct I/O (drop ,direct)",
				cfg->path);
		else
			err_errno(err, EXIT_NO_INPUT, errno, "cannot open disk %s%s", cfg->path,
				  errno == EACCES || errno == EROFS ? " (add ,ro for a read-only disk)" : "");
		goto fail;
	}
	if (fstat(d->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		err_set(err, EXIT_NO_INPUT, "disk %s is neither a file nor a block device", cfg->path);
		goto fail;
	}
	d->block_device = S_ISBLK(st.st_mode);
	if (d->block_device ? ioctl(d->fd, BLKGETSIZE64, &bytes) < 0 : (bytes = (uint64_t)st.st_size, 0)) {
		err_errno(err, EXIT_NO_INPUT, errno, "cannot size disk %s", cfg->path);
		goto fail;
	}
	if (fcntl(d->fd, F_OFD_SETLK, &lock) < 0) {
		err_set(err, EXIT_DISK_IN_USE, "disk %s is in use by another VM or program (it holds a lock on it)",
			cfg->path);
		goto fail;
	}
	if (bytes % SECTOR)
		log_warn("disk %s: its last %llu bytes are not a whole sector and stay invisible to the guest",
			 cfg->path, (unsigned long long)(bytes % SECTOR));
	d->sectors = bytes / SECTOR;
	if (cfg->id[0]) {
		memset(d->id, 0, sizeof(d->id));
		memcpy(d->id, cfg->id, strnlen(cfg->id, DISK_ID_MAX));
	} else {
		derive_id(cfg->path, d->id);
	}
	return d;
fail:
	disk_close(d);
	return NULL;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

static unsigned slice(struct virtio_blk *b, const struct vq_chain *c, bool writable, uint64_t offset,
		      uint64_t len)
{
	return vq_chain_slice(c, writable, offset, len, b->iov, VQ_MAX_CHAIN);
}

/* preadv/pwritev until done; short transfers continue, 0 means the file
 * shrank under us. */
static int rw_all(struct virtio_blk *b, unsigned n, uint64_t pos, bool write)
{
	struct iovec *iov = b->iov;

	while (n) {
		ssize_t r = write ? pwritev(b->disk->fd, iov, (int)n, (off_t)pos)
				  : preadv(b->disk->fd, iov, (int)n, (off_t)pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		pos += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static bool in_range(const struct disk *d, uint64_t sector, uint64_t count)
{
	return sector <= d->sectors && count <= d->sectors - sector;
}

static int zero_range(struct disk *d, uint64_t pos, uint64_t len, bool unmap)
{
	uint64_t range[2] = { pos, len };

	if (d->block_device)
		return ioctl(d->fd, unmap ? BLKDISCARD : BLKZEROOUT, range);
	if (!unmap && fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)len) == 0)
		return 0;
	/* A punched hole reads back as zeros too. */
	return fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)len);
}

static uint8_t discard_or_zero(struct virtio_blk *b, const struct vq_chain *c, uint32_t type)
{
	uint64_t segs = (c->out_len - 16) / 16;
	uint8_t seg[16];

	if (segs == 0 || (c->out_len - 16) % 16 || segs > 1)
		return VIRTIO_BLK_S_IOERR; /* we announced max_*_seg = 1 */
	if (b->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	vq_chain_read(c, 16, seg, sizeof(seg));
	uint64_t sector = le64_load(seg);
	uint32_t count = le32_load(seg + 8), flags = le32_load(seg + 12);
	if (!in_range(b->disk, sector, count))
		return VIRTIO_BLK_S_IOERR;
	if (type == VIRTIO_BLK_T_DISCARD) {
		b->discards++;
		zero_range(b->disk, sector * SECTOR, (uint64_t)count * SECTOR, true); /* advisory */
		return VIRTIO_BLK_S_OK;
	}
	return zero_range(b->disk, sector * SECTOR, (uint64_t)count * SECTOR,
			  flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

static uint32_t blk_handle(void *model, struct virtio_mmio *t, struct vq_chain *c)
{
	struct virtio_blk *b = model;
	uint8_t hdr[16], status = VIRTIO_BLK_S_OK;
	uint64_t data_in, data_out, sector;
	uint32_t type, written = 0;
	unsigned n;

	if (c->out_len < 16 || c->in_len < 1) {
		virtio_mmio_fail(t, 0, "virtio-blk request without header or status byte");
		return 0;
	}
	vq_chain_read(c, 0, hdr, sizeof(hdr));
	type = le32_load(hdr);
	sector = le64_load(hdr + 8);
	data_out = c->out_len - 16; /* after the header */
	data_in = c->in_len - 1;    /* before the status byte */
	if (data_out > MAX_REQUEST_BYTES || data_in > MAX_REQUEST_BYTES) {
		b->too_large++; /* no I/O at all */
		status = VIRTIO_BLK_S_IOERR;
	} else switch (type) {
	case VIRTIO_BLK_T_IN:
		if (data_in % SECTOR || !in_range(b->disk, sector, data_in / SECTOR)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = slice(b, c, true, 0, data_in);
		if (rw_all(b, n, sector * SECTOR, false) < 0) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		b->reads++;
		b->bytes_read += data_in;
		written = (uint32_t)data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->disk->read_only || data_out % SECTOR || !in_range(b->disk, sector, data_out / SECTOR)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = slice(b, c, false, 16, data_out);
		if (rw_all(b, n, sector * SECTOR, true) < 0) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		b->writes++;
		b->bytes_written += data_out;
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->flushes++;
		if (!b->disk->read_only && fdatasync(b->disk->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = (uint32_t)vq_chain_write(c, 0, b->disk->id, data_in < DISK_ID_MAX ? data_in : DISK_ID_MAX);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = discard_or_zero(b, c, type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status == VIRTIO_BLK_S_IOERR)
		b->errors++;
	vq_chain_write(c, c->in_len - 1, &status, 1);
	return written + 1;
}

static void blk_process(void *model, struct virtio_mmio *t, unsigned q)
{
	(void)model;
	virtio_mmio_serve(t, q, blk_handle);
}

static void blk_shutdown(void *model)
{
	struct virtio_blk *b = model;

	/* Everything the guest wrote reaches the disk before saevm exits. */
	if (!b->disk->read_only && fdatasync(b->disk->fd) < 0)
		log_warn("disk %s: fdatasync at exit: %s", b->disk->path, strerror(errno));
}

static void blk_print_stats(void *model, FILE *out)
{
	struct virtio_blk *b = model;
	fprintf(out, "  %s: %lu reads (%llu bytes), %lu writes (%llu bytes), %lu flushes, %lu discards, %lu errors "
		     "(%lu over the %llu MiB request limit)\n",
		b->disk->path, b->reads, b->bytes_read, b->writes, b->bytes_written, b->flushes, b->discards,
		b->errors, b->too_large, (unsigned long long)(MAX_REQUEST_BYTES >> 20));
}

static void blk_destroy(void *model)
{
	struct virtio_blk *b = model;
	disk_close(b->disk);
	free(b);
}

static const struct virtio_model_ops blk_ops = {
	.kind = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .num_queues = 1, .queue_max = QUEUE_SIZE,
	.process = blk_process, .shutdown = blk_shutdown, .print_stats = blk_print_stats,
	.destroy = blk_destroy,
};

struct device *virtio_blk_create(uint64_t base, int spi, const struct virtio_mmio_env *env,
				 struct disk *disk, struct error *err)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	struct device *dev;
	uint64_t features;

	if (!b) {
		disk_close(disk);
		err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-blk");
		return NULL;
	}
	b->disk = disk;
	/* struct virtio_blk_config, little-endian (§5.2.4) */
	le64_store(b->config + 0, disk->sectors);    /* capacity */
	le32_store(b->config + 8, SIZE_MAX_SEG);     /* size_max */
	le32_store(b->config + 12, SEG_MAX);         /* seg_max */
	le32_store(b->config + 20, SECTOR);          /* blk_size */
	le32_store(b->config + 36, UINT32_MAX >> 9); /* max_discard_sectors */
	le32_store(b->config + 40, 1);               /* max_discard_seg */
	le32_store(b->config + 44, 8);               /* discard_sector_alignment: 4 KiB */
	le32_store(b->config + 48, UINT32_MAX >> 9); /* max_write_zeroes_sectors */
	le32_store(b->config + 52, 1);               /* max_write_zeroes_seg */
	b->config[56] = 1;                           /* write_zeroes_may_unmap */
	features = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		   (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
		   (disk->read_only ? 1ULL << VIRTIO_BLK_F_RO
				    : (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	dev = virtio_mmio_create(base, spi, env, &blk_ops, b, features, b->config, CONFIG_LEN, err);
	if (!dev)
		blk_destroy(b);
	return dev;
}
