/* The PL031's registers (ARM DDI 0224): data, match, load, control, the
 * interrupt mask/status/clear registers, and the PrimeCell IDs at the top
 * of the window that Linux's amba bus reads to bind the driver. */
#include "rtc_pl031.h"

#include <libfdt.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../fdt/dt.h"

enum { REG_DR = 0x00, REG_MR = 0x04, REG_LR = 0x08, REG_CR = 0x0c, REG_IMSC = 0x10, REG_RIS = 0x14,
       REG_MIS = 0x18, REG_ICR = 0x1c, REG_ID = 0xfe0 };
/* PeriphID0-3 then PCellID0-3, one byte per word (ARM's PL031 r1p0). */
static const uint8_t ids[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct rtc {
	struct device dev;
	pthread_mutex_t lock;
	long long (*now)(void);
	long long offset; /* guest seconds minus host seconds */
	uint32_t match, imsc;
};

static long long host_seconds(void) { return (long long)time(NULL); }

static uint64_t rtc_read(struct device *dev, uint64_t off, unsigned len)
{
	struct rtc *r = (struct rtc *)dev;
	uint64_t v = 0;

	if (len != 4 || off % 4)
		return 0;
	if (off >= REG_ID && off < REG_ID + 0x20)
		return ids[(off - REG_ID) / 4];
	pthread_mutex_lock(&r->lock);
	switch (off) {
	case REG_DR: v = (uint32_t)(r->now() + r->offset); break;
	case REG_MR: v = r->match; break;
	case REG_LR: v = (uint32_t)(r->now() + r->offset); break;
	case REG_CR: v = 1; break; /* always counting */
	case REG_IMSC: v = r->imsc; break;
	default: break;            /* RIS, MIS: no alarm ever fires */
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(struct device *dev, uint64_t off, unsigned len, uint64_t value)
{
	struct rtc *r = (struct rtc *)dev;

	if (len != 4 || off % 4)
		return;
	pthread_mutex_lock(&r->lock);
	switch (off) {
	case REG_MR: r->match = (uint32_t)value; break;
	case REG_LR: r->offset = (long long)(uint32_t)value - r->now(); break;
	case REG_IMSC: r->imsc = (uint32_t)value & 1; break;
	default: break;
	}
	pthread_mutex_unlock(&r->lock);
}

static int rtc_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	static const char compatible[] = "arm,pl031\0arm,primecell";
	int clk = dt_apb_pclk(dt), r;

	if (clk < 0)
		return clk;
	r = dt_begin_mmio_node_compat(dt, dev->node, compatible, sizeof(compatible), dev->mmio_base, dev->mmio_len);
	if (r >= 0)
		r = fdt_property_u32(dt->fdt, "clocks", (uint32_t)clk);
	if (r >= 0)
		r = fdt_property_string(dt->fdt, "clock-names", "apb_pclk");
	if (r >= 0)
		r = fdt_end_node(dt->fdt);
	return r;
}

/* A machine reset keeps the time: like a real RTC, it runs on its battery. */

static void rtc_destroy(struct device *dev)
{
	struct rtc *r = (struct rtc *)dev;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct device_ops rtc_ops = {
	.kind = "rtc-pl031",
	.mmio_read = rtc_read,
	.mmio_write = rtc_write,
	.fdt_node = rtc_fdt_node,
	.destroy = rtc_destroy,
};

struct device *rtc_pl031_create(uint64_t base, long long (*now_fn)(void), struct error *err)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set(err, EXIT_HOST_ERROR, "out of memory");
		return NULL;
	}
	device_init(&r->dev, &rtc_ops, "pl031", base, RTC_PL031_SIZE, -1);
	pthread_mutex_init(&r->lock, NULL);
	r->now = now_fn ? now_fn : host_seconds;
	return &r->dev;
}
