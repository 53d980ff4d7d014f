/* packet.h - virtio-vsock's packet header (virtio 1.2 §5.10.6), the one
 * door through which the guest's packets come in: every field is read once
 * from guest memory, decoded from little-endian here, and checked here
 * (vsock_packet_check) before the device acts on any of it. */
#ifndef SAEVM_VSOCK_PACKET_H
#define SAEVM_VSOCK_PACKET_H

#include <stdint.h>

#define VSOCK_HDR_SIZE 44
#define VSOCK_HOST_CID 2
#define VSOCK_TYPE_STREAM 1
#define VSOCK_MAX_PAYLOAD (64u * 1024) /* Linux's largest packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE) */

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_SHUTDOWN_RCV 1u  /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2u /* the sender will send no more */

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE]);

/* What the device does with a packet from the guest. */
enum vsock_verdict {
	VSOCK_ACCEPT,    /* act on it */
	VSOCK_DROP,      /* not for us or from someone else: drop it, counted */
	VSOCK_REFUSE,    /* a well-formed request we do not serve (type, op): answer RST */
	VSOCK_MALFORMED, /* the chain contradicts its header: the device needs a reset */
};

/* Checks a transmitted packet whose chain carries `out_len` readable bytes
 * (header included) from a guest with CID guest_cid; *why says what is
 * wrong for every verdict but VSOCK_ACCEPT. */
enum vsock_verdict vsock_packet_check(const struct vsock_hdr *h, uint64_t out_len, uint64_t guest_cid,
				      const char **why);

/* Whether `cid` may be a guest's: 3 to 0xfffffffe (0, 1 and 2 are the
 * hypervisor's, the local and the host's; -1U is "any"). */
int vsock_cid_valid(uint64_t cid);

#endif
