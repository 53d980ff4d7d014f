/* wire.h - reading a guest's request and writing the reply, for the share
 * protocols (9P2000.L, FUSE): both are little-endian whatever the host.
 * A reader over one copy of the request marks itself bad instead of
 * reading past its end; a writer marks itself over instead of writing past
 * its room. Callers check once, at the end. */
#ifndef SAEVM_SHARE_WIRE_H
#define SAEVM_SHARE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/le.h"

struct msg {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static inline const uint8_t *take(struct msg *m, size_t n)
{
	if (m->bad || n > m->len - m->pos) {
		m->bad = true;
		return NULL;
	}
	m->pos += n;
	return m->p + m->pos - n;
}
static inline uint8_t get8(struct msg *m) { const uint8_t *p = take(m, 1); return p ? *p : 0; }
static inline uint16_t get16(struct msg *m) { const uint8_t *p = take(m, 2); return p ? le16_load(p) : 0; }
static inline uint32_t get32(struct msg *m) { const uint8_t *p = take(m, 4); return p ? le32_load(p) : 0; }
static inline uint64_t get64(struct msg *m) { const uint8_t *p = take(m, 8); return p ? le64_load(p) : 0; }

struct out {
	uint8_t *p;
	size_t cap, len;
	bool over;
};

static inline uint8_t *room(struct out *o, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return NULL;
	}
	o->len += n;
	return o->p + o->len - n;
}
static inline void put8(struct out *o, uint8_t v) { uint8_t *p = room(o, 1); if (p) *p = v; }
static inline void put16(struct out *o, uint16_t v) { uint8_t *p = room(o, 2); if (p) le16_store(p, v); }
static inline void put32(struct out *o, uint32_t v) { uint8_t *p = room(o, 4); if (p) le32_store(p, v); }
static inline void put64(struct out *o, uint64_t v) { uint8_t *p = room(o, 8); if (p) le64_store(p, v); }
static inline void put_bytes(struct out *o, const void *b, size_t n)
{
	uint8_t *p = room(o, n);
	if (p)
		memcpy(p, b, n);
}
static inline void put_zero(struct out *o, size_t n)
{
	uint8_t *p = room(o, n);
	if (p)
		memset(p, 0, n);
}

#endif
