/* virtio_vsock.c - see virtio_vsock.h. Queues: receive (0, host to
 * guest), transmit (1, guest to host), event (2, unused: saevm never
 * migrates, so it never sends TRANSPORT_RESET).
 *
 * A connection's life: guest REQUEST -> connect PATH_P -> RESPONSE, or
 * host connect PATH + "CONNECT P\n" -> REQUEST -> guest RESPONSE -> "OK L\n";
 * then RW both ways under credit; SHUTDOWN half-closes one way (the host
 * socket's shutdown(SHUT_WR) or its end of file); either side's RST, or the
 * guest shutting down both ways, ends it. */
#include "virtio_vsock.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/le.h"
#include "../../vmm/log.h"
#include "packet.h"

#define RX 0
#define TX 1
#define EVQ 2
#define LINE_MAX_LEN 32         /* "CONNECT 4294967295\n" and then some */
#define ORPHAN_RSTS 32          /* resets owed for packets of no connection */
#define READS_PER_EVENT 16      /* packets from one host socket per turn */
#define FIRST_LOCAL_PORT (1u << 30) /* host ports of host-initiated streams */

enum conn_state {
	CONN_LINE,       /* host connected to PATH, its CONNECT line is coming */
	CONN_CONNECTING, /* REQUEST sent (or owed) to the guest */
	CONN_OPEN,
	CONN_DRAINING,   /* the guest is gone: writing out what it sent, then close */
};

/* What a connection owes the guest, sent as receive buffers allow. */
#define OWE_REQUEST 1u
#define OWE_RESPONSE 2u
#define OWE_CREDIT 4u
#define OWE_SHUTDOWN 8u
#define OWE_RST 16u

struct conn {
	enum conn_state state;
	int fd;              /* the host's Unix socket */
	uint32_t local_port; /* the host side's port (CID 2) */
	uint32_t peer_port;  /* the guest's */
	unsigned owe;
	bool registered;     /* in the epoll set */
	uint32_t events;     /* what it is registered for */
	/* guest -> host */
	uint32_t rx_cnt;        /* payload bytes the guest sent */
	uint32_t fwd_cnt;       /* of those, written to the host socket */
	uint32_t fwd_cnt_told;  /* fwd_cnt as the guest last heard it */
	uint8_t *buf;           /* what the host socket did not take yet */
	uint32_t buf_start, buf_len;
	bool guest_no_send;     /* SHUTDOWN SEND: shut the host socket's write side once buf is out */
	bool guest_no_recv;     /* SHUTDOWN RCV: read nothing more from the host */
	bool host_write_shut;
	/* host -> guest */
	uint32_t tx_cnt;        /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	bool host_eof;          /* the host socket ended: SHUTDOWN SEND owed or sent */
	char line[LINE_MAX_LEN];
	unsigned line_len;
};

struct vsock {
	struct virtio_mmio *t;
	uint64_t guest_cid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, epoll_fd, notify_fd, stop_fd;
	pthread_t thread;
	bool thread_started;
	atomic_uint generation; /* bumped by a reset (vCPU, every queue locked) */
	unsigned seen_generation;
	bool rx_starved;        /* no receive buffer: host sockets wait */
	uint32_t next_local_port;
	struct conn *conns[VSOCK_MAX_CONNS];
	struct { uint32_t local_port, peer_port; } orphan[ORPHAN_RSTS];
	unsigned n_orphans;
	struct vq_chain rx_chain;   /* receive lock */
	struct iovec iov[VQ_MAX_CHAIN];
	uint8_t config[8];
	/* counters (the device's thread; read at exit) */
	unsigned long long guest_conns, host_conns, refused, resets_in, resets_out, bytes_in, bytes_out,
		dropped, credit_violations, table_full;
};

/* Tags for epoll's data: the listening socket, the eventfds, else a conn. */
static char TAG_LISTEN, TAG_NOTIFY, TAG_STOP;

/* ---- the connection table ---- */

static struct conn *find_conn(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = v->conns[i];
		if (c && c->state != CONN_DRAINING && c->state != CONN_LINE && c->local_port == local_port &&
		    c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

static struct conn *new_conn(struct vsock *v, int fd, enum conn_state state)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (v->conns[i])
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->fd = fd;
		c->state = state;
		v->conns[i] = c;
		return c;
	}
	v->table_full++;
	return NULL;
}

static void free_conn(struct vsock *v, struct conn *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i] == c)
			v->conns[i] = NULL;
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	free(c->buf);
	free(c);
}

static void drop_all(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i])
			free_conn(v, v->conns[i]);
	v->n_orphans = 0;
	v->rx_starved = false;
}

/* The guest reset the device since we last looked: its streams are gone. */
static void catch_up_with_reset(struct vsock *v)
{
	unsigned g = atomic_load(&v->generation);
	if (g != v->seen_generation) {
		drop_all(v);
		v->seen_generation = g;
	}
}

static void owe_orphan_rst(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	if (v->n_orphans == ORPHAN_RSTS) {
		v->dropped++; /* a guest flooding us with strays: it waits for its own timeout */
		return;
	}
	v->orphan[v->n_orphans].local_port = local_port;
	v->orphan[v->n_orphans].peer_port = peer_port;
	v->n_orphans++;
}

/* The stream is broken: what the host has not taken of the guest's bytes
 * is dropped, and it ends now, or (tell_guest) once the guest has its
 * reset. A close by the guest, which keeps those bytes, is tx_handle's. */
static void end_conn(struct vsock *v, struct conn *c, bool tell_guest)
{
	if (tell_guest) {
		c->owe = OWE_RST; /* the reset goes, then the conn */
		c->state = CONN_DRAINING;
		c->buf_len = 0;
		return;
	}
	free_conn(v, c);
}

/* Still in the table: an event of this turn may have freed it. */
static bool conn_alive(const struct vsock *v, const struct conn *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i] == c)
			return true;
	return false;
}

/* Tell the guest of the room it has again before it has to ask. */
static void owe_credit_if_due(struct conn *c)
{
	if (c->state == CONN_OPEN && c->fwd_cnt - c->fwd_cnt_told >= VSOCK_BUF_ALLOC / 4)
		c->owe |= OWE_CREDIT;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- host -> guest: packets into receive buffers (receive lock held) ---- */

/* Takes a receive buffer for a packet with room for a header, or says the
 * guest has none (the host sockets then wait for it). */
static bool rx_take(struct vsock *v)
{
	if (v->rx_starved || !virtio_mmio_queue_live(v->t, RX))
		return false;
	for (;;) {
		enum vq_pop_result r = virtio_mmio_pop(v->t, RX, &v->rx_chain);
		/* Room for a header and at least a byte: any packet fits. */
		if (r == VQ_GOT_CHAIN && v->rx_chain.in_len > VSOCK_HDR_SIZE)
			return true;
		if (r == VQ_GOT_CHAIN) { /* too small: the guest's loss */
			virtio_mmio_push(v->t, RX, v->rx_chain.head, 0);
			continue;
		}
		if (r == VQ_EMPTY && virtio_mmio_want_buffers(v->t, RX))
			continue; /* some came while we asked */
		v->rx_starved = true;
		return false;
	}
}

static void fill_hdr(struct vsock *v, struct vsock_hdr *h, uint32_t local_port, uint32_t peer_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->guest_cid;
	h->src_port = local_port;
	h->dst_port = peer_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_BUF_ALLOC;
}

/* Completes the taken buffer with header h and len payload bytes already
 * in place after it. */
static void rx_push(struct vsock *v, struct vsock_hdr *h, struct conn *c, uint32_t len)
{
	uint8_t raw[VSOCK_HDR_SIZE];

	h->len = len;
	if (c) {
		h->fwd_cnt = c->fwd_cnt;
		c->fwd_cnt_told = c->fwd_cnt; /* every header carries the credit */
	}
	vsock_hdr_encode(h, raw);
	vq_chain_write(&v->rx_chain, 0, raw, sizeof(raw));
	virtio_mmio_push(v->t, RX, v->rx_chain.head, VSOCK_HDR_SIZE + len);
}

static bool rx_control(struct vsock *v, struct conn *c, uint16_t op, uint32_t flags)
{
	struct vsock_hdr h;

	if (!rx_take(v))
		return false;
	fill_hdr(v, &h, c->local_port, c->peer_port, op);
	h.flags = flags;
	rx_push(v, &h, c, 0);
	return true;
}

/* What connections owe the guest, in a fixed order per stream: request,
 * response, credit, shutdown, reset. Returns whether anything went. */
static bool rx_send_owed(struct vsock *v)
{
	bool sent = false;

	while (v->n_orphans) {
		struct vsock_hdr h;
		if (!rx_take(v))
			return sent;
		v->n_orphans--;
		fill_hdr(v, &h, v->orphan[v->n_orphans].local_port, v->orphan[v->n_orphans].peer_port, VSOCK_OP_RST);
		rx_push(v, &h, NULL, 0);
		v->resets_out++;
		sent = true;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = v->conns[i];
		if (!c || !c->owe)
			continue;
		if (c->owe & OWE_RST) {
			if (!rx_control(v, c, VSOCK_OP_RST, 0))
				return sent;
			v->resets_out++;
			c->owe = 0;
			sent = true;
			if (!c->buf_len)
				free_conn(v, c);
			continue;
		}
		static const struct { unsigned bit; uint16_t op; } order[] = {
			{ OWE_REQUEST, VSOCK_OP_REQUEST }, { OWE_RESPONSE, VSOCK_OP_RESPONSE },
			{ OWE_CREDIT, VSOCK_OP_CREDIT_UPDATE }, { OWE_SHUTDOWN, VSOCK_OP_SHUTDOWN },
		};
		for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			if (!(c->owe & order[k].bit))
				continue;
			if (!rx_control(v, c, order[k].op, order[k].op == VSOCK_OP_SHUTDOWN ? VSOCK_SHUTDOWN_SEND : 0))
				return sent;
			c->owe &= ~order[k].bit;
			sent = true;
		}
	}
	return sent;
}

/* Host bytes into the guest's buffers, as far as its credit and buffers
 * go. Returns whether a packet went. */
static bool rx_data(struct vsock *v, struct conn *c)
{
	bool sent = false;

	for (unsigned n = 0; n < READS_PER_EVENT; n++) {
		uint32_t room = peer_credit(c);
		struct vsock_hdr h;
		ssize_t r;

		if (c->state != CONN_OPEN || c->host_eof || c->guest_no_recv || c->owe || !room || !rx_take(v))
			break;
		if (room > v->rx_chain.in_len - VSOCK_HDR_SIZE)
			room = (uint32_t)(v->rx_chain.in_len - VSOCK_HDR_SIZE);
		if (room > VSOCK_MAX_PAYLOAD)
			room = VSOCK_MAX_PAYLOAD;
		unsigned niov = vq_chain_slice(&v->rx_chain, true, VSOCK_HDR_SIZE, room, v->iov, VQ_MAX_CHAIN);
		r = readv(c->fd, v->iov, (int)niov);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			virtio_mmio_unpop(v->t, RX, 1);
			break;
		}
		fill_hdr(v, &h, c->local_port, c->peer_port, VSOCK_OP_RW);
		if (r > 0) {
			c->tx_cnt += (uint32_t)r;
			v->bytes_out += (size_t)r;
			rx_push(v, &h, c, (uint32_t)r);
		} else if (r == 0) { /* the host will send no more */
			h.op = VSOCK_OP_SHUTDOWN;
			h.flags = VSOCK_SHUTDOWN_SEND;
			c->host_eof = true;
			rx_push(v, &h, c, 0);
		} else { /* the host socket broke */
			h.op = VSOCK_OP_RST;
			v->resets_out++;
			rx_push(v, &h, c, 0);
			free_conn(v, c);
			return true;
		}
		sent = true;
		if (r <= 0)
			break;
	}
	return sent;
}

/* ---- guest -> host ---- */

/* Writes out what the host socket did not take yet; then, if the guest is
 * done sending, closes the host socket's write side. False if the host
 * socket is gone. */
static bool flush_to_host(struct conn *c)
{
	while (c->buf_len) {
		ssize_t w = send(c->fd, c->buf + c->buf_start, c->buf_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return true;
		if (w <= 0)
			return false;
		c->buf_start += (uint32_t)w;
		c->buf_len -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	c->buf_start = 0;
	if (c->guest_no_send && !c->host_write_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_write_shut = true;
	}
	owe_credit_if_due(c);
	return true;
}

/* A RW packet's payload: straight from the guest's buffers into the host
 * socket, what it does not take into the stream's buffer. */
static void guest_data(struct vsock *v, struct conn *c, const struct vq_chain *chain, uint32_t len)
{
	uint32_t done = 0;

	if (c->state != CONN_OPEN || c->guest_no_send) {
		end_conn(v, c, true); /* data after its own shutdown, or before the stream is up */
		return;
	}
	c->rx_cnt += len;
	v->bytes_in += len;
	if (!c->buf_len) {
		unsigned niov = vq_chain_slice(chain, false, VSOCK_HDR_SIZE, len, v->iov, VQ_MAX_CHAIN);
		struct msghdr m = { .msg_iov = v->iov, .msg_iovlen = niov };
		ssize_t w;
		do
			w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN) {
			end_conn(v, c, true); /* the host program went away */
			return;
		}
		if (w > 0) {
			done = (uint32_t)w;
			c->fwd_cnt += done;
		}
	}
	if (done < len) {
		uint32_t rest = len - done;
		/* The guest may have in flight what we gave it credit for, no more. */
		if (c->buf_len + rest > VSOCK_BUF_ALLOC) {
			v->credit_violations++;
			end_conn(v, c, true);
			return;
		}
		if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC))) {
			end_conn(v, c, true);
			return;
		}
		if (c->buf_start + c->buf_len + rest > VSOCK_BUF_ALLOC) {
			memmove(c->buf, c->buf + c->buf_start, c->buf_len);
			c->buf_start = 0;
		}
		vq_chain_read(chain, VSOCK_HDR_SIZE + done, c->buf + c->buf_start + c->buf_len, rest);
		c->buf_len += rest;
	}
	owe_credit_if_due(c);
}

/* The guest connects to host port P: the Unix socket PATH_P. Returns the
 * new stream, NULL when refused (a reset is owed). */
static struct conn *guest_connect(struct vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct conn *c = find_conn(v, h->dst_port, h->src_port);
	int fd;

	if (c) /* the guest reused a stream's ports: it forgot that one */
		free_conn(v, c);
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s_%" PRIu32, v->path, h->dst_port) >= (int)sizeof(a.sun_path))
		a.sun_path[0] = '\0'; /* cannot be: create checked the length */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    !(c = new_conn(v, fd, CONN_OPEN))) {
		if (fd >= 0)
			close(fd);
		v->refused++;
		owe_orphan_rst(v, h->dst_port, h->src_port);
		return NULL;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->owe = OWE_RESPONSE;
	v->guest_conns++;
	return c;
}

static uint32_t tx_handle(void *model, struct virtio_mmio *t, struct vq_chain *chain)
{
	struct vsock *v = model;
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	const char *why = NULL;
	struct conn *c;

	catch_up_with_reset(v);
	memset(raw, 0, sizeof(raw));
	vq_chain_read(chain, 0, raw, sizeof(raw)); /* read once: h is ours from here on */
	vsock_hdr_decode(raw, &h);
	switch (vsock_packet_check(&h, chain->out_len, v->guest_cid, &why)) {
	case VSOCK_MALFORMED:
		virtio_mmio_fail(t, TX, why);
		return 0;
	case VSOCK_DROP:
		v->dropped++;
		return 0;
	case VSOCK_REFUSE:
		owe_orphan_rst(v, h.dst_port, h.src_port);
		return 0;
	case VSOCK_ACCEPT:
		break;
	}
	if (h.op == VSOCK_OP_REQUEST) {
		c = guest_connect(v, &h);
	} else {
		c = find_conn(v, h.dst_port, h.src_port);
		if (!c) {
			if (h.op != VSOCK_OP_RST) /* a stream we do not know: reset it */
				owe_orphan_rst(v, h.dst_port, h.src_port);
			return 0;
		}
	}
	if (!c)
		return 0;
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		break;
	case VSOCK_OP_RESPONSE: {
		char ok[24];
		int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->local_port);
		if (c->state != CONN_CONNECTING || (c->owe & OWE_REQUEST) ||
		    send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			end_conn(v, c, true);
		else
			c->state = CONN_OPEN;
		break;
	}
	case VSOCK_OP_RST:
		v->resets_in++;
		free_conn(v, c); /* what the guest sent before is written out already, or lost with it */
		break;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_no_recv = true;
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		if (c->state != CONN_OPEN) {
			end_conn(v, c, true);
		} else if (c->guest_no_recv && c->guest_no_send) {
			/* The guest closed: answer with the reset it waits for, and
			 * write out what it sent before. */
			c->owe = OWE_RST;
			c->state = CONN_DRAINING;
			flush_to_host(c);
		} else {
			flush_to_host(c);
		}
		break;
	case VSOCK_OP_RW:
		guest_data(v, c, chain, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* taken above */
	case VSOCK_OP_CREDIT_REQUEST:
		c->owe |= OWE_CREDIT;
		break;
	}
	return 0;
}

static void vsock_process(void *model, struct virtio_mmio *t, unsigned q)
{
	struct vsock *v = model;

	if (q == TX) {
		virtio_mmio_serve(t, TX, tx_handle);
	} else if (q == RX) {
		/* New receive buffers: what is owed goes in the loop's turn. */
		catch_up_with_reset(v);
		v->rx_starved = false;
	}
}

/* ---- host sockets ---- */

static void accept_host(struct vsock *v)
{
	for (unsigned n = 0; n < 16; n++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!new_conn(v, fd, CONN_LINE))
			close(fd); /* the table is full: the host program sees the end */
	}
}

static uint32_t pick_local_port(struct vsock *v)
{
	for (;;) {
		uint32_t p = v->next_local_port++;
		bool used = false;
		if (v->next_local_port == 0)
			v->next_local_port = FIRST_LOCAL_PORT;
		for (unsigned i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = v->conns[i] && v->conns[i]->state != CONN_LINE && v->conns[i]->local_port == p;
		if (!used)
			return p;
	}
}

/* "CONNECT P\n" from a host program: read up to the newline only (what
 * follows is the stream's), then ask the guest. */
static void read_line(struct vsock *v, struct conn *c)
{
	char peek[LINE_MAX_LEN];
	ssize_t n = recv(c->fd, peek, sizeof(peek) - c->line_len, MSG_PEEK | MSG_DONTWAIT);
	char *nl, *end;
	unsigned long port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		free_conn(v, c);
		return;
	}
	nl = memchr(peek, '\n', (size_t)n);
	n = nl ? nl - peek + 1 : n;
	if (recv(c->fd, c->line + c->line_len, (size_t)n, MSG_DONTWAIT) != n) {
		free_conn(v, c);
		return;
	}
	c->line_len += (unsigned)n;
	if (!nl) {
		if (c->line_len >= sizeof(c->line) - 1)
			free_conn(v, c); /* no line: not a client of ours */
		return;
	}
	c->line[c->line_len - 1] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) || c->line[8] < '0' || c->line[8] > '9' ||
	    (errno = 0, port = strtoul(c->line + 8, &end, 10), *end && strcmp(end, "\r")) || errno ||
	    port > UINT32_MAX) {
		static const char bad[] = "ERROR expected CONNECT PORT\n";
		if (send(c->fd, bad, sizeof(bad) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			(void)0;
		free_conn(v, c);
		return;
	}
	c->peer_port = (uint32_t)port;
	c->local_port = pick_local_port(v);
	c->state = CONN_CONNECTING;
	c->owe = OWE_REQUEST;
	v->host_conns++;
}

static void host_event(struct vsock *v, struct conn *c, uint32_t events)
{
	switch (c->state) {
	case CONN_LINE:
		read_line(v, c);
		return;
	case CONN_CONNECTING:
		if (events & (EPOLLHUP | EPOLLERR)) /* the host program gave up */
			end_conn(v, c, !(c->owe & OWE_REQUEST));
		return;
	case CONN_DRAINING:
		if (!flush_to_host(c) || (!c->buf_len && !c->owe))
			free_conn(v, c);
		return;
	case CONN_OPEN:
		if ((events & EPOLLOUT) && !flush_to_host(c)) {
			end_conn(v, c, true);
			return;
		}
		if ((events & EPOLLERR) && !(events & EPOLLIN))
			end_conn(v, c, true);
		/* EPOLLIN (and the end of file) is read in the receive pass */
		return;
	}
}

/* What a connection waits for on its host socket. */
static uint32_t wanted_events(const struct vsock *v, const struct conn *c)
{
	switch (c->state) {
	case CONN_LINE:
		return EPOLLIN;
	case CONN_CONNECTING:
		return 0; /* only hang-ups, which epoll always reports */
	case CONN_DRAINING:
		return c->buf_len ? EPOLLOUT : 0;
	case CONN_OPEN:
		return (c->buf_len ? EPOLLOUT : 0) |
		       (!c->host_eof && !c->guest_no_recv && !c->owe && !v->rx_starved && peer_credit(c) ? EPOLLIN : 0);
	}
	return 0;
}

static void update_interest(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = v->conns[i];
		if (!c)
			continue;
		uint32_t want = wanted_events(v, c);
		/* A socket whose peer hung up reports it always: one that waits
		 * for nothing is left out of the set, or it would spin. */
		bool in_set = want || c->state == CONN_CONNECTING;
		struct epoll_event ev = { .events = want, .data.ptr = c };
		if (in_set && !c->registered) {
			if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) == 0)
				c->registered = true;
		} else if (in_set && want != c->events) {
			epoll_ctl(v->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
		} else if (!in_set && c->registered) {
			epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
			c->registered = false;
		}
		c->events = want;
	}
}

/* The receive pass: what is owed, then host bytes for every open stream
 * that has some (a socket with nothing to read answers EAGAIN at once). */
static void receive_pass(struct vsock *v, struct conn **readable, unsigned n_readable)
{
	bool sent;

	virtio_mmio_lock_queue(v->t, RX);
	catch_up_with_reset(v);
	sent = rx_send_owed(v);
	for (unsigned i = 0; i < n_readable; i++) {
		if (conn_alive(v, readable[i]))
			sent |= rx_data(v, readable[i]);
	}
	sent |= rx_send_owed(v); /* credit updates the reads made owed */
	if (sent)
		virtio_mmio_interrupt_if_wanted(v->t, RX);
	virtio_mmio_unlock_queue(v->t, RX);
}

static void turn(struct vsock *v, int timeout_ms)
{
	struct virtio_mmio *t = v->t;
	struct epoll_event ev[32];
	struct conn *readable[32];
	unsigned n_readable = 0;
	int n;

	catch_up_with_reset(v);
	update_interest(v);
	n = epoll_wait(v->epoll_fd, ev, 32, timeout_ms);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;
		if (p == &TAG_NOTIFY) {
			virtio_mmio_handle_notify(t);
		} else if (p == &TAG_LISTEN) {
			accept_host(v);
		} else if (p != &TAG_STOP) {
			struct conn *c = p;
			if (!conn_alive(v, c))
				continue;
			if ((ev[i].events & (EPOLLIN | EPOLLHUP)) && c->state == CONN_OPEN)
				readable[n_readable++] = c;
			host_event(v, c, ev[i].events);
		}
	}
	receive_pass(v, readable, n_readable);
}

void virtio_vsock_poll(struct device *dev, int timeout_ms)
{
	turn(virtio_mmio_model(virtio_mmio_of(dev)), timeout_ms);
}

/* ---- the device ---- */

static void *vsock_thread(void *opaque)
{
	struct vsock *v = opaque;
	uint64_t count;

	while (read(v->stop_fd, &count, sizeof(count)) < 0)
		turn(v, -1);
	return NULL;
}

static int vsock_start_loop(void *model, struct virtio_mmio *t, int notify_fd, struct error *err)
{
	struct vsock *v = model;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &TAG_NOTIFY };
	int r;

	v->notify_fd = notify_fd;
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, notify_fd, &ev) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "epoll for virtio-vsock");
	(void)t;
	r = pthread_create(&v->thread, NULL, vsock_thread, v);
	if (r)
		return err_errno(err, EXIT_HOST_ERROR, r, "cannot start the vsock thread");
	v->thread_started = true;
	return 0;
}

static void vsock_stop_loop(void *model)
{
	struct vsock *v = model;
	uint64_t one = 1;

	if (v->thread_started && write(v->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(v->thread, NULL);
	v->thread_started = false;
}

static void vsock_reset(void *model)
{
	struct vsock *v = model;
	atomic_fetch_add(&v->generation, 1);
}

static void vsock_print_stats(void *model, FILE *out)
{
	struct vsock *v = model;
	fprintf(out,
		"  streams: %llu from the guest (%llu refused), %llu from the host; %llu bytes guest to host, "
		"%llu host to guest; resets %llu in, %llu out; %llu packets dropped, %llu over credit, "
		"%llu refused for a full table\n",
		v->guest_conns, v->refused, v->host_conns, v->bytes_in, v->bytes_out, v->resets_in, v->resets_out,
		v->dropped, v->credit_violations, v->table_full);
}

static void vsock_destroy(void *model)
{
	struct vsock *v = model;

	vsock_stop_loop(v);
	drop_all(v);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	if (v->epoll_fd >= 0)
		close(v->epoll_fd);
	if (v->stop_fd >= 0)
		close(v->stop_fd);
	free(v);
}

static const struct virtio_model_ops vsock_ops = {
	.kind = "virtio-vsock", .device_id = VIRTIO_ID_VSOCK, .num_queues = 3, .queue_max = 256,
	.process = vsock_process, .reset = vsock_reset, .start_loop = vsock_start_loop,
	.stop_loop = vsock_stop_loop, .print_stats = vsock_print_stats, .destroy = vsock_destroy,
};

static int listen_on(struct vsock *v, struct error *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &TAG_LISTEN };
	mode_t old;
	int r;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", v->path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "vsock: socket");
	/* The control directory is the user's alone, and was checked so, and
	 * the VM's name is ours (control_listen): what is left is stale. The
	 * socket is born 0600 (setup is single-threaded, as control.c's). */
	unlink(v->path);
	old = umask(0177);
	r = bind(v->listen_fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(v->listen_fd, 64) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "vsock: cannot listen on %s", v->path);
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->listen_fd, &ev) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "epoll for virtio-vsock");
	ev.data.ptr = &TAG_STOP;
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->stop_fd, &ev) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "epoll for virtio-vsock");
	return 0;
}

struct device *virtio_vsock_create(uint64_t base, int spi, const struct virtio_mmio_env *env, uint64_t guest_cid,
				   const char *path, struct error *err)
{
	struct vsock *v;
	struct device *dev;

	if (!vsock_cid_valid(guest_cid)) {
		err_set(err, EXIT_USAGE, "vsock: CID %" PRIu64 " is not a guest's (3 to 4294967294)", guest_cid);
		return NULL;
	}
	/* PATH_4294967295 must fit in a socket address too. */
	if (strlen(path) + 11 >= sizeof(v->path)) {
		err_set(err, EXIT_USAGE, "vsock: the socket path %s is too long for a Unix socket", path);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for virtio-vsock");
		return NULL;
	}
	v->guest_cid = guest_cid;
	v->listen_fd = v->notify_fd = -1;
	v->next_local_port = FIRST_LOCAL_PORT;
	snprintf(v->path, sizeof(v->path), "%s", path);
	le64_store(v->config, guest_cid);
	v->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	v->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->epoll_fd < 0 || v->stop_fd < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "virtio-vsock");
		vsock_destroy(v);
		return NULL;
	}
	if (listen_on(v, err) < 0) {
		vsock_destroy(v);
		return NULL;
	}
	dev = virtio_mmio_create(base, spi, env, &vsock_ops, v, 0, v->config, sizeof(v->config), err);
	if (!dev) {
		vsock_destroy(v);
		return NULL;
	}
	v->t = virtio_mmio_of(dev);
	log_info("vsock: guest CID %" PRIu64 ", host programs connect to %s, the guest's connections go to %s_PORT",
		 guest_cid, v->path, v->path);
	return dev;
}
