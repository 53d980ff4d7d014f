/* packet.c - see packet.h. */
#include "packet.h"

#include "../../vmm/le.h"

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = le64_load(raw);
	h->dst_cid = le64_load(raw + 8);
	h->src_port = le32_load(raw + 16);
	h->dst_port = le32_load(raw + 20);
	h->len = le32_load(raw + 24);
	h->type = le16_load(raw + 28);
	h->op = le16_load(raw + 30);
	h->flags = le32_load(raw + 32);
	h->buf_alloc = le32_load(raw + 36);
	h->fwd_cnt = le32_load(raw + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE])
{
	le64_store(raw, h->src_cid);
	le64_store(raw + 8, h->dst_cid);
	le32_store(raw + 16, h->src_port);
	le32_store(raw + 20, h->dst_port);
	le32_store(raw + 24, h->len);
	le16_store(raw + 28, h->type);
	le16_store(raw + 30, h->op);
	le32_store(raw + 32, h->flags);
	le32_store(raw + 36, h->buf_alloc);
	le32_store(raw + 40, h->fwd_cnt);
}

int vsock_cid_valid(uint64_t cid)
{
	return cid > VSOCK_HOST_CID && cid < 0xffffffffULL;
}

enum vsock_verdict vsock_packet_check(const struct vsock_hdr *h, uint64_t out_len, uint64_t guest_cid,
				      const char **why)
{
	if (out_len < VSOCK_HDR_SIZE) {
		*why = "a transmitted packet shorter than its header";
		return VSOCK_MALFORMED;
	}
	if (h->len > out_len - VSOCK_HDR_SIZE) {
		*why = "a packet's length runs past its buffers";
		return VSOCK_MALFORMED;
	}
	if (h->len > VSOCK_MAX_PAYLOAD) {
		*why = "a packet over 64 KiB";
		return VSOCK_MALFORMED;
	}
	/* Another source is a guest pretending to be someone else; another
	 * destination is no one saevm reaches (guests are not connected). */
	if (h->src_cid != guest_cid || h->dst_cid != VSOCK_HOST_CID) {
		*why = "a packet from another CID or to a CID other than the host's";
		return VSOCK_DROP;
	}
	if (h->op == VSOCK_OP_RST) {
		if (h->type != VSOCK_TYPE_STREAM) {
			*why = "a reset of a socket type saevm does not serve";
			return VSOCK_DROP; /* never answer a reset with one */
		}
		return VSOCK_ACCEPT;
	}
	if (h->type != VSOCK_TYPE_STREAM) {
		*why = "a socket type other than stream (seqpacket was not offered)";
		return VSOCK_REFUSE;
	}
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST) {
		*why = "an unknown operation";
		return VSOCK_REFUSE;
	}
	if (h->op != VSOCK_OP_RW && h->len) {
		*why = "a payload on a packet that carries none";
		return VSOCK_REFUSE;
	}
	if (h->op == VSOCK_OP_SHUTDOWN && (h->flags & ~(VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND))) {
		*why = "unknown shutdown flags";
		return VSOCK_REFUSE;
	}
	return VSOCK_ACCEPT;
}
