/* net_tap.c - a tap device with a virtio-net header: the guest's frames,
 * offload information included, go to the host kernel as they are. The
 * offloads the tap may hand back (TUNSETOFFLOAD) are exactly those the
 * guest negotiated, set when the driver says DRIVER_OK.
 *
 * The header's fields (csum_start, gso_size, ...) are the guest's, so
 * little-endian; the tap reads them in host order unless told otherwise,
 * which on a big-endian s390x host breaks every offloaded frame. So the
 * tap is told (TUNSETVNETLE) before any frame flows, on every host. */
#include "net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../vmm/log.h"

#define FRAME_MAX (NET_FRAME_MAX + VNET_HDR_LEN)

struct net_tap {
	struct net_backend be;
	int fd;
	tap_ioctl_fn ioctl_fn;
	char ifname[IFNAMSIZ];
	uint8_t buf[FRAME_MAX];
};

static uint64_t tap_features(struct net_backend *be)
{
	(void)be;
	return (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
	       (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
	       (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6);
}

static unsigned tap_mtu(struct net_backend *be) { (void)be; return 0; /* the tap's own */ }

static void tap_activate(struct net_backend *be, uint64_t g)
{
	struct net_tap *t = (struct net_tap *)be;
	unsigned off = 0;

	if (g & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (g & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (g & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
	}
	if (t->ioctl_fn(t->fd, TUNSETOFFLOAD, (void *)(uintptr_t)off) < 0)
		log_warn("tap %s: TUNSETOFFLOAD 0x%x: %s", t->ifname, off, strerror(errno));
}

static int tap_poll_fill(struct net_backend *be, struct pollfd *fds, int max, int *timeout_ms)
{
	struct net_tap *t = (struct net_tap *)be;

	(void)timeout_ms;
	if (max < 1 || !be->sink.can_receive(be->sink.dev))
		return 0; /* the guest has no room: leave frames in the tap */
	fds[0] = (struct pollfd){ .fd = t->fd, .events = POLLIN };
	return 1;
}

static void tap_poll_handle(struct net_backend *be, struct pollfd *fds, int n)
{
	struct net_tap *t = (struct net_tap *)be;

	if (n < 1 || !(fds[0].revents & POLLIN))
		return;
	for (int budget = 64; budget-- > 0 && be->sink.can_receive(be->sink.dev);) {
		ssize_t r = read(t->fd, t->buf, sizeof(t->buf));
		if (r <= VNET_HDR_LEN)
			break; /* EAGAIN, or nothing useful */
		be->sink.receive(be->sink.dev, t->buf, t->buf + VNET_HDR_LEN, (size_t)r - VNET_HDR_LEN);
	}
	be->sink.flush(be->sink.dev);
}

static void tap_send(struct net_backend *be, const struct iovec *iov, unsigned iovcnt, size_t total)
{
	struct net_tap *t = (struct net_tap *)be;
	ssize_t r;

	(void)total;
	do
		r = writev(t->fd, iov, (int)iovcnt);
	while (r < 0 && errno == EINTR);
	/* EAGAIN: the host side is full; like a real NIC, the frame is lost
	 * and TCP retransmits. */
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = (struct net_tap *)be;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.kind = "tap", .features = tap_features, .mtu = tap_mtu, .activate = tap_activate, .poll_fill = tap_poll_fill,
	.poll_handle = tap_poll_handle, .send = tap_send, .destroy = tap_destroy,
};

static int real_ioctl(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

struct net_backend *net_tap_create_on(const struct nic_config *cfg, int fd, tap_ioctl_fn ioctl_fn,
				      struct error *err)
{
	struct net_tap *t = calloc(1, sizeof(*t));
	struct ifreq ifr;
	int hdr_len = VNET_HDR_LEN, little_endian = 1;

	if (!t) {
		close(fd);
		err_set(err, EXIT_HOST_ERROR, "out of memory for a tap");
		return NULL;
	}
	t->be.ops = &tap_ops;
	t->fd = fd;
	t->ioctl_fn = ioctl_fn;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	/* Attaches to an existing tap, or creates it where we may. */
	if (ioctl_fn(fd, TUNSETIFF, &ifr) < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "tap %s: cannot attach (does it exist, and may you use it?)",
			  cfg->ifname);
		goto fail;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	if (ioctl_fn(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "tap %s: cannot set the virtio-net header size", t->ifname);
		goto fail;
	}
	if (ioctl_fn(fd, TUNSETVNETLE, &little_endian) < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno,
			  "tap %s: the host kernel refuses little-endian virtio-net headers (TUNSETVNETLE)", t->ifname);
		goto fail;
	}
	if (ioctl_fn(fd, TUNSETOFFLOAD, (void *)(uintptr_t)0) < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "tap %s: cannot clear the offloads", t->ifname);
		goto fail;
	}
	return &t->be;
fail:
	tap_destroy(&t->be);
	return NULL;
}

struct net_backend *net_tap_create(const struct nic_config *cfg, struct error *err)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		err_errno(err, EXIT_HOST_UNSUPPORTED, errno, "tap %s: cannot open /dev/net/tun", cfg->ifname);
		return NULL;
	}
	return net_tap_create_on(cfg, fd, real_ioctl, err);
}
