/* net_slirp.c - user-mode networking through libslirp, like QEMU's
 * -netdev user: DHCP, DNS forwarding to the host's resolver, the gateway
 * (10.0.2.2 by default) reaching the host's own loopback services, and
 * hostfwd port forwarding. libslirp is single-threaded: everything here
 * runs on the device's network thread. */
#include "net_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_net.h>

#include "../vmm/log.h"

#define MAX_TIMERS 16
/* Between the guest and libslirp there is no wire, so the MTU offered
 * through VIRTIO_NET_F_MTU can be large: fewer frames, exits and interrupts
 * per byte. But not libslirp's largest (65520). libslirp's TCP has no
 * window scaling, so a guest's window is at most 64 KiB, and Linux starts a
 * connection with about that much room (a 128 KiB receive buffer, half of
 * it usable). With 64 KiB segments, the window then often cannot hold one
 * whole segment; libslirp's sender waits rather than send a small one
 * (silly-window avoidance) and the guest sees no reason to re-announce its
 * window, so the transfer sleeps until libslirp's persist timer, 5 s at
 * least, twice or more: in the rig, 1 transfer in 40 took 10-16 s instead
 * of 0.7 s, in every run of 40. 32 KiB segments fit the guest's window
 * twice over: no such stall in 120 transfers each way. The price: the
 * median 16 MiB into the guest takes about 1.4x as long as with 64 KiB
 * when that does not stall (0.92 s against 0.65 s; about the same on
 * average once its stalls count), out of it about 1.2x (0.88 against
 * 0.75 s); 1500 bytes would be 1.1x and 4.5x slower still. */
#define USER_MTU 32768

struct slirp_timer {
	bool used, armed;
	int64_t expire_ms;
	SlirpTimerCb cb;
	void *cb_opaque;
};

struct net_slirp {
	struct net_backend be;
	Slirp *slirp;
	struct slirp_timer timers[MAX_TIMERS];
	struct pollfd *fds; /* during poll_fill/poll_handle */
	int nfds, maxfds;
	uint8_t frame[NET_FRAME_MAX];
	unsigned long long tx_frames, rx_frames;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;

	s->rx_frames++;
	s->be.sink.receive(s->be.sink.dev, NULL, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_warn("slirp: guest error: %s", msg);
}

static int64_t cb_clock_ns(void *opaque)
{
	struct timespec ts;
	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;

	for (unsigned i = 0; i < MAX_TIMERS; i++)
		if (!s->timers[i].used) {
			s->timers[i] = (struct slirp_timer){ .used = true, .cb = cb, .cb_opaque = cb_opaque };
			return &s->timers[i];
		}
	log_error("slirp: out of timers");
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer) {
		((struct slirp_timer *)timer)->expire_ms = expire_ms;
		((struct slirp_timer *)timer)->armed = true;
	}
}

static void cb_register_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void cb_notify(void *opaque) { (void)opaque; }

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
};

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	short ev = 0;

	if (s->nfds == s->maxfds)
		return -1;
	if (events & SLIRP_POLL_IN) ev |= POLLIN;
	if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
	s->fds[s->nfds] = (struct pollfd){ .fd = fd, .events = ev };
	return s->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short re;
	int out = 0;

	if (idx < 0 || idx >= s->nfds)
		return 0;
	re = s->fds[idx].revents;
	if (re & POLLIN) out |= SLIRP_POLL_IN;
	if (re & POLLOUT) out |= SLIRP_POLL_OUT;
	if (re & POLLPRI) out |= SLIRP_POLL_PRI;
	if (re & POLLERR) out |= SLIRP_POLL_ERR;
	if (re & POLLHUP) out |= SLIRP_POLL_HUP;
	return out;
}

static int slirp_poll_fill(struct net_backend *be, struct pollfd *fds, int max, int *timeout_ms)
{
	struct net_slirp *s = (struct net_slirp *)be;
	uint32_t timeout = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now = now_ms();

	s->fds = fds;
	s->nfds = 0;
	s->maxfds = max;
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	for (unsigned i = 0; i < MAX_TIMERS; i++)
		if (s->timers[i].used && s->timers[i].armed) {
			int64_t left = s->timers[i].expire_ms - now;
			if (left < 0)
				left = 0;
			if ((uint64_t)left < timeout)
				timeout = (uint32_t)left;
		}
	*timeout_ms = timeout == UINT32_MAX ? -1 : (int)timeout;
	return s->nfds;
}

static void slirp_poll_handle(struct net_backend *be, struct pollfd *fds, int n)
{
	struct net_slirp *s = (struct net_slirp *)be;
	int64_t now = now_ms();

	s->fds = fds;
	s->nfds = n;
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	for (unsigned i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];
		if (t->used && t->armed && t->expire_ms <= now) {
			t->armed = false;
			t->cb(t->cb_opaque);
		}
	}
	be->sink.flush(be->sink.dev);
}

static void slirp_send(struct net_backend *be, const struct iovec *iov, unsigned iovcnt, size_t total)
{
	struct net_slirp *s = (struct net_slirp *)be;
	size_t skip = VNET_HDR_LEN, n = 0;

	if (total <= VNET_HDR_LEN || total - VNET_HDR_LEN > NET_FRAME_MAX)
		return;
	for (unsigned k = 0; k < iovcnt; k++) { /* slirp wants one buffer */
		const uint8_t *p = iov[k].iov_base;
		size_t len = iov[k].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		memcpy(s->frame + n, p + skip, len - skip);
		n += len - skip;
		skip = 0;
	}
	s->tx_frames++;
	slirp_input(s->slirp, s->frame, (int)n);
}

static uint64_t slirp_features(struct net_backend *be)
{
	(void)be;
	/* libslirp makes every checksum whole, so frames to the guest can be
	 * marked DATA_VALID and the guest need not verify them. Frames from
	 * the guest stay fully checksummed (slirp verifies them): no CSUM. */
	return 1ULL << VIRTIO_NET_F_GUEST_CSUM;
}

static void slirp_activate(struct net_backend *be, uint64_t negotiated) { (void)be; (void)negotiated; }
static unsigned slirp_mtu(struct net_backend *be) { (void)be; return USER_MTU; }

static void slirp_destroy(struct net_backend *be)
{
	struct net_slirp *s = (struct net_slirp *)be;
	if (s->slirp)
		slirp_cleanup(s->slirp);
	free(s);
}

static const struct net_backend_ops slirp_ops = {
	.kind = "user", .features = slirp_features, .mtu = slirp_mtu, .activate = slirp_activate,
	.poll_fill = slirp_poll_fill, .poll_handle = slirp_poll_handle, .send = slirp_send,
	.destroy = slirp_destroy,
};

struct net_backend *net_slirp_create(const struct nic_config *cfg, struct error *err)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	SlirpConfig sc;
	uint32_t net = ntohl(cfg->net), mask = ntohl(cfg->mask);
	char addr[INET_ADDRSTRLEN];

	if (!s) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for user networking");
		return NULL;
	}
	s->be.ops = &slirp_ops;
	memset(&sc, 0, sizeof(sc));
	/* 4 is the newest config layout libslirp 4.7 (Debian 12) knows; newer
	 * libraries accept older versions. */
	sc.version = 4;
	sc.in_enabled = true;
	sc.vnetwork.s_addr = htonl(net);
	sc.vnetmask.s_addr = htonl(mask);
	sc.vhost.s_addr = htonl(net | 2);
	sc.vdhcp_start.s_addr = htonl(net | 15);
	sc.vnameserver.s_addr = htonl(net | 3);
	sc.if_mtu = USER_MTU;
	sc.if_mru = USER_MTU;
	s->slirp = slirp_new(&sc, &slirp_callbacks, s);
	if (!s->slirp) {
		err_set(err, EXIT_HOST_ERROR, "libslirp refused the user network configuration");
		slirp_destroy(&s->be);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->nfwd; i++) {
		const struct hostfwd *f = &cfg->fwd[i];
		struct in_addr host = { .s_addr = f->host_addr };
		struct in_addr guest = { .s_addr = f->guest_addr ? f->guest_addr : htonl(net | 15) };

		errno = 0;
		if (slirp_add_hostfwd(s->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0) {
			inet_ntop(AF_INET, &host, addr, sizeof(addr));
			err_set(err, EXIT_HOST_UNSUPPORTED, "hostfwd=%s: cannot listen on %s:%u%s%s", f->text, addr,
				f->host_port, errno ? ": " : " (port in use?)", errno ? strerror(errno) : "");
			slirp_destroy(&s->be);
			return NULL;
		}
	}
	return &s->be;
}
