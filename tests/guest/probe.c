/* probe.c - saevm's polling test guest. It needs no interrupts, so it runs
 * where the s390 kvm-arm64 module offers none: it finds its devices in the
 * device tree (x0), prints to the 16550 UART, and drives virtio-mmio
 * devices by polling their used rings:
 *   blk      writes sectors, flushes, reads them back and compares
 *   net      sends a DHCP DISCOVER and waits for the user network's OFFER
 *   console  writes a line to hvc0
 * One "PROBE <step> PASS|FAIL|SKIP" line per step, then "PROBE VERDICT",
 * and the verdict becomes saevm's exit code through the saevm,exit device
 * (0 = all passed, 1 = a step failed), else PSCI SYSTEM_OFF.
 *
 * Freestanding: no libc. The MMU is off, so every access is to Device
 * memory and must be aligned (built with -mstrict-align). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void psci_system_off(void);
void probe_main(const void *dtb);

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n)
{
	volatile uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}
void *memcpy(void *d, const void *s, size_t n)
{
	volatile uint8_t *p = d;
	const volatile uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

#define mb() __asm__ volatile("dmb sy" ::: "memory")

static inline void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint8_t r8(uint64_t a) { return *(volatile uint8_t *)a; }

/* ---- console ---- */

static uint64_t uart;

static void putc_(char c)
{
	if (!uart)
		return;
	while (!(r8(uart + 5) & 0x20)) /* LSR.THRE */
		;
	w8(uart, (uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_('\r');
		putc_(*s++);
	}
}

static void putdec(uint32_t v)
{
	char b[12];
	int i = 0;
	do
		b[i++] = (char)('0' + v % 10);
	while (v /= 10);
	while (i--)
		putc_(b[i]);
}

static unsigned failures;

static void report(const char *step, int result, const char *detail)
{
	static const char *const words[] = { "FAIL", "PASS", "SKIP" };
	puts_("PROBE ");
	puts_(step);
	puts_(" ");
	puts_(words[result]);
	if (detail) {
		puts_(" ");
		puts_(detail);
	}
	puts_("\n");
	if (result == 0)
		failures++;
}
enum { FAIL, PASS, SKIP };

/* ---- device tree: just enough to find nodes by compatible ---- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

#define MAX_VIRTIO 8
static uint64_t virtio_base[MAX_VIRTIO];
static unsigned n_virtio;
static uint64_t exit_dev, pvpanic;
static bool pl031_seen, pl031_irq; /* the PL031's node, and whether it has interrupts */
static const char *bootargs = "";

static bool parse_dtb(const uint8_t *dtb)
{
	const uint8_t *st, *p;
	const char *strings;
	const char *compat = 0;
	uint64_t reg = 0;
	bool in_chosen = false, has_irq = false;

	if (be32(dtb) != 0xd00dfeed)
		return false;
	st = dtb + be32(dtb + 8);
	strings = (const char *)dtb + be32(dtb + 12);
	for (p = st;;) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == 1) { /* BEGIN_NODE: name, NUL, padded to 4 */
			in_chosen = streq((const char *)p, "chosen");
			while (*p)
				p++;
			p = (const uint8_t *)(((uintptr_t)p + 4) & ~(uintptr_t)3);
			compat = 0;
			reg = 0;
			has_irq = false;
		} else if (tok == 3) { /* PROP: len, nameoff, value */
			uint32_t len = be32(p), nameoff = be32(p + 4);
			const char *name = strings + nameoff;
			if (streq(name, "compatible"))
				compat = (const char *)p + 8;
			else if (streq(name, "reg") && len >= 8)
				reg = be64(p + 8);
			else if (streq(name, "interrupts") && len >= 12)
				has_irq = true;
			else if (in_chosen && streq(name, "bootargs"))
				bootargs = (const char *)p + 8;
			p += 8 + ((len + 3) & ~3u);
		} else if (tok == 2) { /* END_NODE */
			if (compat && streq(compat, "ns16550a"))
				uart = reg;
			else if (compat && streq(compat, "virtio,mmio") && n_virtio < MAX_VIRTIO)
				virtio_base[n_virtio++] = reg;
			else if (compat && streq(compat, "saevm,exit"))
				exit_dev = reg;
			else if (compat && streq(compat, "qemu,pvpanic-mmio"))
				pvpanic = reg;
			else if (compat && streq(compat, "arm,pl031")) {
				pl031_seen = true;
				pl031_irq = has_irq;
			}
			compat = 0;
		} else if (tok == 9) {
			return true;
		} else if (tok != 4) {
			return false;
		}
	}
}

/* ---- a polling virtio-mmio driver ---- */

#define QSIZE 16
struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq {
	uint64_t base;
	unsigned index;
	volatile struct desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[QSIZE] */
	volatile uint8_t *used;   /* flags, idx, ring[QSIZE] of {id, len} */
	uint16_t next_avail, last_used;
};

static uint8_t rings[6][3][1024] __attribute__((aligned(4096)));
static unsigned rings_used;

static bool virtio_init(uint64_t base, struct vq *qs, unsigned nq)
{
	w32(base + 0x070, 0);
	w32(base + 0x070, 1 | 2);
	w32(base + 0x014, 1);
	if (!(r32(base + 0x010) & 1)) /* VERSION_1 */
		return false;
	w32(base + 0x024, 0);
	w32(base + 0x020, 0);
	w32(base + 0x024, 1);
	w32(base + 0x020, 1);
	w32(base + 0x070, 1 | 2 | 8);
	if (!(r32(base + 0x070) & 8))
		return false;
	for (unsigned q = 0; q < nq; q++) {
		struct vq *v = &qs[q];
		uint8_t (*r)[1024] = rings[rings_used++];
		v->base = base;
		v->index = q;
		v->desc = (volatile struct desc *)r[0];
		v->avail = (volatile uint16_t *)r[1];
		v->used = r[2];
		v->next_avail = v->last_used = 0;
		w32(base + 0x030, q);
		if (r32(base + 0x034) < QSIZE)
			return false;
		w32(base + 0x038, QSIZE);
		w32(base + 0x080, (uint32_t)(uintptr_t)r[0]);
		w32(base + 0x084, (uint32_t)((uintptr_t)r[0] >> 32));
		w32(base + 0x090, (uint32_t)(uintptr_t)r[1]);
		w32(base + 0x094, (uint32_t)((uintptr_t)r[1] >> 32));
		w32(base + 0x0a0, (uint32_t)(uintptr_t)r[2]);
		w32(base + 0x0a4, (uint32_t)((uintptr_t)r[2] >> 32));
		w32(base + 0x044, 1);
	}
	w32(base + 0x070, 1 | 2 | 8 | 4);
	return true;
}

struct buf { void *p; uint32_t len; bool writable; };

/* Queues a chain; notify says whether to kick the device. */
static void vq_add(struct vq *v, const struct buf *b, unsigned n, bool notify)
{
	/* Slot k owns descriptors 3k..3k+2: chains here have at most 3, and
	 * at most 5 are outstanding at once. */
	uint16_t head = (uint16_t)((v->next_avail * 3) % QSIZE);
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QSIZE);
		v->desc[d].addr = (uintptr_t)b[i].p;
		v->desc[d].len = b[i].len;
		v->desc[d].flags = (uint16_t)((b[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0));
		v->desc[d].next = (uint16_t)((d + 1) % QSIZE);
	}
	v->avail[2 + v->next_avail % QSIZE] = head;
	mb();
	v->next_avail++;
	v->avail[1] = v->next_avail;
	mb();
	if (notify)
		w32(v->base + 0x050, v->index);
}

static uint16_t used_idx(const struct vq *v) { mb(); return *(volatile uint16_t *)(v->used + 2); }

/* Waits for the next used entry; returns its length, or -1 on timeout. */
static int64_t vq_wait(struct vq *v, unsigned long spins)
{
	while (used_idx(v) == v->last_used)
		if (!spins--)
			return -1;
	uint32_t len = *(volatile uint32_t *)(v->used + 4 + 8 * (v->last_used % QSIZE) + 4);
	v->last_used++;
	return len;
}

static uint64_t find_virtio(uint32_t device_id)
{
	for (unsigned i = 0; i < n_virtio; i++)
		if (r32(virtio_base[i]) == 0x74726976 && r32(virtio_base[i] + 0x008) == device_id)
			return virtio_base[i];
	return 0;
}

#define SPINS 200000000ul

/* ---- the steps ---- */

static uint8_t sector_out[1024], sector_in[1024];

static int blk_request(struct vq *v, uint32_t type, uint64_t sector, void *data, uint32_t len, bool in)
{
	static struct { uint32_t type, reserved; uint64_t sector; } hdr;
	static uint8_t status;
	struct buf b[3] = { { &hdr, 16, false }, { data, len, in }, { &status, 1, true } };

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	if (len)
		vq_add(v, b, 3, true);
	else
		vq_add(v, (struct buf[]){ b[0], b[2] }, 2, true);
	if (vq_wait(v, SPINS) < 0)
		return -1;
	return status;
}

static void step_blk(void)
{
	uint64_t base = find_virtio(2);
	struct vq q;

	if (!base)
		return report("blk", SKIP, "(no disk)");
	if (!virtio_init(base, &q, 1))
		return report("blk", FAIL, "(setup)");
	for (unsigned i = 0; i < sizeof(sector_out); i++)
		sector_out[i] = (uint8_t)(i * 7 + 3);
	if (blk_request(&q, 1, 1, sector_out, sizeof(sector_out), false) != 0)
		return report("blk", FAIL, "(write)");
	if (blk_request(&q, 4, 0, 0, 0, false) != 0)
		return report("blk", FAIL, "(flush)");
	if (blk_request(&q, 0, 1, sector_in, sizeof(sector_in), true) != 0)
		return report("blk", FAIL, "(read)");
	for (unsigned i = 0; i < sizeof(sector_in); i++)
		if (sector_in[i] != sector_out[i])
			return report("blk", FAIL, "(read back other bytes)");
	report("blk", PASS, "(2 sectors written, flushed, read back)");
}

static uint8_t rx_buf[4][2048], tx_frame[12 + 342];

static uint16_t ip_checksum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;
	for (unsigned i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void step_net(void)
{
	uint64_t base = find_virtio(1);
	struct vq q[2];
	uint8_t mac[6], *f = tx_frame + 12, *ip, *udp, *dhcp;

	if (!base)
		return report("net", SKIP, "(no NIC)");
	if (!virtio_init(base, q, 2))
		return report("net", FAIL, "(setup)");
	for (unsigned i = 0; i < 6; i++)
		mac[i] = r8(base + 0x100 + i);
	for (unsigned i = 0; i < 4; i++)
		vq_add(&q[0], &(struct buf){ rx_buf[i], sizeof(rx_buf[i]), true }, 1, i == 3);
	/* Ethernet, IPv4, UDP 68 -> 67, BOOTP/DHCP DISCOVER (RFC 2131). */
	memset(tx_frame, 0, sizeof(tx_frame));
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	ip = f + 14;
	udp = ip + 20;
	dhcp = udp + 8;
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + 300);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + 300);
	dhcp[0] = 1; /* BOOTREQUEST */
	dhcp[1] = 1;
	dhcp[2] = 6;
	dhcp[4] = 0x5a; /* xid */
	dhcp[10] = 0x80; /* broadcast */
	memcpy(dhcp + 28, mac, 6);
	dhcp[236] = 99, dhcp[237] = 130, dhcp[238] = 83, dhcp[239] = 99; /* magic cookie */
	dhcp[240] = 53, dhcp[241] = 1, dhcp[242] = 1; /* DHCPDISCOVER */
	dhcp[243] = 255;
	vq_add(&q[1], &(struct buf){ tx_frame, sizeof(tx_frame), false }, 1, true);
	if (vq_wait(&q[1], SPINS) < 0)
		return report("net", FAIL, "(transmit not completed)");
	for (unsigned tries = 0; tries < 4; tries++) {
		int64_t len = vq_wait(&q[0], SPINS);
		uint8_t *r;
		if (len < 0)
			break;
		r = rx_buf[(q[0].last_used - 1) % 4] + 12;
		if (len >= 12 + 14 + 20 + 8 + 244 && r[12] == 8 && r[13] == 0 && r[14 + 9] == 17 &&
		    r[34] == 0 && r[35] == 67 && r[14 + 28 + 240] == 53 && r[14 + 28 + 242] == 2) {
			static char addr[16];
			char *a = addr;
			for (unsigned i = 0; i < 4; i++) { /* yiaddr */
				uint8_t o = r[14 + 28 + 16 + i];
				if (o >= 100) *a++ = (char)('0' + o / 100);
				if (o >= 10) *a++ = (char)('0' + o / 10 % 10);
				*a++ = (char)('0' + o % 10);
				*a++ = i < 3 ? '.' : 0;
			}
			puts_("PROBE net offer of ");
			puts_(addr);
			puts_("\n");
			return report("net", PASS, "(DHCP DISCOVER answered by an OFFER)");
		}
	}
	report("net", FAIL, "(no DHCP OFFER)");
}

static char hvc_line[] = "PROBE hello from hvc0\n";

static void step_console(void)
{
	uint64_t base = find_virtio(3);
	struct vq q[2];

	if (!base)
		return report("console", SKIP, "(no virtio console)");
	if (!virtio_init(base, q, 2))
		return report("console", FAIL, "(setup)");
	vq_add(&q[1], &(struct buf){ hvc_line, sizeof(hvc_line) - 1, false }, 1, true);
	if (vq_wait(&q[1], SPINS) < 0)
		return report("console", FAIL, "(transmit not completed)");
	report("console", PASS, "(a line written to hvc0)");
}

static bool has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b)
			a++, b++;
		if (!*b && (!*a || *a == ' '))
			return true;
	}
	return false;
}

static uint64_t word_value(const char *s, const char *key)
{
	for (; *s; s++) {
		const char *a = s, *b = key;
		while (*b && *a == *b)
			a++, b++;
		if (!*b) {
			uint64_t v = 0;
			while (*a >= '0' && *a <= '9')
				v = v * 10 + (uint64_t)(*a++ - '0');
			return v;
		}
	}
	return 0;
}

static inline uint64_t counter(void)
{
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

/* probe.exits=N: N MMIO reads of the exit device, each a round trip
 * through saevm's dispatch, timed with the arch counter. */
static void bench_exits(uint64_t n)
{
	uint64_t freq, t0, t1;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	t0 = counter();
	for (uint64_t i = 0; i < n; i++)
		(void)r32(exit_dev);
	t1 = counter();
	puts_("PROBE exits ");
	putdec((uint32_t)n);
	puts_(" ticks ");
	putdec((uint32_t)(t1 - t0));
	puts_(" freq ");
	putdec((uint32_t)freq);
	puts_("\n");
}

/* The verdict mode, built as a raw binary (no Image header, loaded at RAM
 * base + 0x80000): a bare-metal test as kvm-unit-tests' are, which knows
 * nothing of saevm's exit device. Booted with --nodefaults and -p
 * VERDICT_CMDLINE, it checks its command line is exactly that and the
 * PL031 has its interrupt, then prints its verdict as kvm-unit-tests does
 * (EXIT: STATUS=(failures << 1) | 1) and powers off; saevm's
 * --exit-on-console kvm-unit-tests turns that into its exit status. */
#define VERDICT_CMDLINE "verdict one two=2 three"

static void verdict_main(bool dt_ok)
{
	puts_("\nPROBE raw binary, verdict mode\n");
	report("dtb", dt_ok && uart ? PASS : FAIL, 0);
	report("cmdline-exact", streq(bootargs, VERDICT_CMDLINE) ? PASS : FAIL, bootargs);
	report("pl031-interrupt", pl031_seen && pl031_irq ? PASS : FAIL, 0);
	puts_("\nEXIT: STATUS=");
	putdec((failures << 1) | 1);
	puts_("\n");
	psci_system_off();
}

void probe_main(const void *dtb)
{
	bool dt_ok = parse_dtb(dtb);

	if (has_word(bootargs, "verdict"))
		verdict_main(dt_ok);

	if (exit_dev)
		w32(exit_dev + 8, 123); /* the boot-time marker: saevm logs its time */
	if (word_value(bootargs, "probe.exits=") && exit_dev) {
		bench_exits(word_value(bootargs, "probe.exits="));
		w32(exit_dev, 0);
	}
	if (has_word(bootargs, "probe.panic") && pvpanic) {
		/* A guest kernel panic, as Linux's pvpanic driver reports it. */
		puts_("PROBE panicking through pvpanic\n");
		if (r8(pvpanic) & 1)
			w8(pvpanic, 1);
	}
	puts_("\nPROBE saevm polling test guest\n");
	report("dtb", dt_ok && uart ? PASS : FAIL, 0);
	report("uart", uart ? PASS : FAIL, "(you are reading it)");
	puts_("PROBE virtio devices: ");
	putdec(n_virtio);
	puts_("\n");
	step_blk();
	step_net();
	step_console();
	puts_(failures ? "PROBE VERDICT FAIL\n" : "PROBE VERDICT PASS\n");
	if (exit_dev && r32(exit_dev) == 0x5341455f)
		w32(exit_dev, failures ? 1 : 0);
	psci_system_off();
}
