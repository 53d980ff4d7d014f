/* net_backend.h - where a virtio-net device's frames go: libslirp (user
 * networking, no privileges) or a tap device. All calls happen on the
 * device's own network thread, which polls the backend's descriptors next
 * to the device's notification eventfd. */
#ifndef SAEVM_NET_BACKEND_H
#define SAEVM_NET_BACKEND_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../vmm/config.h"
#include "../vmm/error.h"

#define VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 (VERSION_1 / MRG_RXBUF) */
/* The largest frame either way: a 64 KiB IP packet (GSO included) behind
 * an Ethernet header with a VLAN tag. */
#define NET_FRAME_MAX (65536 + 14 + 4)

struct net_backend;

/* The device side, as the backend sees it. */
struct net_rx_sink {
	/* Whether the guest has room for a frame now (tap stops reading when
	 * not: back-pressure instead of drops). */
	bool (*can_receive)(void *dev);
	/* A frame for the guest: `hdr` is a virtio_net_hdr (VNET_HDR_LEN bytes)
	 * from the backend, or NULL for "no offload information". */
	void (*receive)(void *dev, const uint8_t *hdr, const uint8_t *frame, size_t len);
	/* The end of a burst of receive() calls: the guest is told once about
	 * all of them (an interrupt per frame would cost it an exit pair per
	 * frame). A backend calls it at the end of each poll_handle. */
	void (*flush)(void *dev);
	void *dev;
};

struct net_backend_ops {
	const char *kind;
	/* virtio-net feature bits the backend can honour (offloads). */
	uint64_t (*features)(struct net_backend *be);
	/* The MTU to offer the guest (VIRTIO_NET_F_MTU), 0 for none. */
	unsigned (*mtu)(struct net_backend *be);
	/* The guest's final features: what the backend may hand it (tap sets
	 * TUNSETOFFLOAD from exactly these). */
	void (*activate)(struct net_backend *be, uint64_t negotiated);
	/* Adds descriptors to poll (at most max); may lower *timeout_ms.
	 * Returns how many it added. */
	int (*poll_fill)(struct net_backend *be, struct pollfd *fds, int max, int *timeout_ms);
	/* After poll(): handle readiness; frames go to the sink. */
	void (*poll_handle)(struct net_backend *be, struct pollfd *fds, int n);
	/* A frame from the guest: iov starts with the VNET_HDR_LEN header. */
	void (*send)(struct net_backend *be, const struct iovec *iov, unsigned iovcnt, size_t total);
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct net_rx_sink sink;
};

/* Both check their configuration and acquire what they need now (a
 * hostfwd port that cannot be bound, a tap that cannot be opened: clear
 * errors before the guest starts). */
struct net_backend *net_slirp_create(const struct nic_config *cfg, struct error *err);
struct net_backend *net_tap_create(const struct nic_config *cfg, struct error *err);
/* The same on an open /dev/net/tun descriptor (the backend owns it from
 * here), with every ioctl through ioctl_fn: unit tests pass a fake tap. */
typedef int (*tap_ioctl_fn)(int fd, unsigned long request, void *arg);
struct net_backend *net_tap_create_on(const struct nic_config *cfg, int fd, tap_ioctl_fn ioctl_fn,
				      struct error *err);

#endif
