/* le.h - THE byte-order choke point. The guest is little-endian; the host
 * may be big-endian (s390x). Every multi-byte value that crosses between
 * guest-visible bytes (guest RAM, MMIO data, the Image header, virtio rings
 * and config space) and a host integer goes through these helpers, which
 * take unaligned byte pointers (memcpy, so no alignment traps). */
#ifndef SAEVM_LE_H
#define SAEVM_LE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t le16_load(const void *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t le32_load(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t le64_load(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void le16_store(void *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void le32_store(void *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void le64_store(void *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* Guest-shared memory (virtio rings and descriptors): the guest may rewrite
 * a field while we read it, so each field is loaded exactly once (volatile:
 * the compiler may not re-read it later) and naturally aligned fields in
 * one access, never torn (a ring index read half old, half new would look
 * like a broken ring). Unaligned fields (an indirect table may sit
 * anywhere) are read byte by byte, once. Copy into a local, then check and
 * use only the local. */
static inline uint16_t le16_load_shared(const void *p)
{
	if (!((uintptr_t)p & 1))
		return le16toh(*(const volatile uint16_t *)p);
	const volatile uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t le32_load_shared(const void *p)
{
	if (!((uintptr_t)p & 3))
		return le32toh(*(const volatile uint32_t *)p);
	return le16_load_shared(p) | (uint32_t)le16_load_shared((const uint8_t *)p + 2) << 16;
}

static inline uint64_t le64_load_shared(const void *p)
{
	if (!((uintptr_t)p & 7))
		return le64toh(*(const volatile uint64_t *)p);
	return le32_load_shared(p) | (uint64_t)le32_load_shared((const uint8_t *)p + 4) << 32;
}

/* Stores into aligned guest-shared ring fields, in one access. */
static inline void le16_store_shared(void *p, uint16_t v) { *(volatile uint16_t *)p = htole16(v); }
static inline void le32_store_shared(void *p, uint32_t v) { *(volatile uint32_t *)p = htole32(v); }

/* An access of 1, 2, 4 or 8 bytes (an MMIO exit's data[]): the guest's bytes,
 * least significant first, to a host value and back. */
static inline uint64_t le_bytes_to_u64(const uint8_t *bytes, unsigned len)
{
	uint64_t v = 0;
	unsigned i;

	for (i = len < 8 ? len : 8; i-- > 0;)
		v = (v << 8) | bytes[i];
	return v;
}

static inline void u64_to_le_bytes(uint8_t *bytes, unsigned len, uint64_t v)
{
	unsigned i;

	for (i = 0; i < len && i < 8; i++, v >>= 8)
		bytes[i] = (uint8_t)v;
}

#endif
