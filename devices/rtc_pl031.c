/* The PL031's registers (ARM DDI 0224): data, match, load, control, the
 * interrupt mask/status/clear registers, and the PrimeCell IDs at the top
 * of the window that Linux's amba bus reads to bind the driver.
 *
 * The alarm: when the counter reaches the match register (set while it
 * was ahead of the counter), the raw interrupt status (RIS) is set; the
 * line to the GIC is RIS & IMSC (MIS), level-triggered, until the guest
 * clears RIS through ICR. The counter is evaluated on every register
 * access, and a timerfd on the device's own thread wakes it at the match
 * time, so an idle guest waiting for its wake alarm gets the interrupt. */
#include "rtc_pl031.h"

#include <errno.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../fdt/dt.h"
#include "../vmm/iothread.h"

enum { REG_DR = 0x00, REG_MR = 0x04, REG_LR = 0x08, REG_CR = 0x0c, REG_IMSC = 0x10, REG_RIS = 0x14,
       REG_MIS = 0x18, REG_ICR = 0x1c, REG_ID = 0xfe0 };
/* PeriphID0-3 then PCellID0-3, one byte per word (ARM's PL031 r1p0). */
static const uint8_t ids[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct rtc {
	struct device dev;
	pthread_mutex_t lock; /* guards everything below */
	long long (*now)(void);
	struct irqchip *irq;  /* NULL: no line (unit tests watch MIS) */
	long long offset;     /* guest seconds minus host seconds */
	uint32_t match, imsc, ris;
	bool armed;           /* the match lies ahead of the counter */
	bool line;            /* what the GIC was last told */
	int timer_fd;         /* CLOCK_REALTIME, absolute: the match time; -1 in tests */
	struct iothread io;
	bool io_started;
};

static long long host_seconds(void) { return (long long)time(NULL); }

static uint32_t counter(const struct rtc *r) { return (uint32_t)(r->now() + r->offset); }
/* Whether the match lies ahead of the counter (it fires when reached). */
static bool match_ahead(const struct rtc *r) { return (int32_t)(r->match - counter(r)) > 0; }

/* The alarm fired if the counter reached the match; the line follows MIS.
 * Under the lock. */
static void update(struct rtc *r)
{
	if (r->armed && (int32_t)(counter(r) - r->match) >= 0) {
		r->ris = 1;
		r->armed = false;
	}
	bool level = r->ris & r->imsc;
	if (level != r->line) {
		r->line = level;
		if (r->irq && r->dev.spi >= 0)
			irqchip_set_spi(r->irq, (unsigned)r->dev.spi, level);
	}
}

/* Sets the timer to the host time at which the counter reaches the match,
 * or disarms it. Under the lock. */
static void arm_timer(struct rtc *r)
{
	struct itimerspec t = { 0 };

	if (r->timer_fd < 0)
		return;
	if (r->armed)
		t.it_value.tv_sec = (time_t)(r->now() + (int32_t)(r->match - counter(r)));
	/* Fails only with a bad fd; the next register access still sees the match. */
	(void)timerfd_settime(r->timer_fd, r->armed ? TFD_TIMER_ABSTIME : 0, &t, NULL);
}

static void on_timer(void *opaque)
{
	struct rtc *r = opaque;
	uint64_t expirations;

	if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->lock);
	update(r);
	if (r->armed) /* the host clock stepped back: wait again */
		arm_timer(r);
	pthread_mutex_unlock(&r->lock);
}

static uint64_t rtc_read(struct device *dev, uint64_t off, unsigned len)
{
	struct rtc *r = (struct rtc *)dev;
	uint64_t v = 0;

	if (len != 4 || off % 4)
		return 0;
	if (off >= REG_ID && off < REG_ID + 0x20)
		return ids[(off - REG_ID) / 4];
	pthread_mutex_lock(&r->lock);
	update(r);
	switch (off) {
	case REG_DR: v = counter(r); break;
	case REG_MR: v = r->match; break;
	case REG_LR: v = counter(r); break;
	case REG_CR: v = 1; break; /* always counting */
	case REG_IMSC: v = r->imsc; break;
	case REG_RIS: v = r->ris; break;
	case REG_MIS: v = r->ris & r->imsc; break;
	default: break;
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
	update(r);
	switch (off) {
	case REG_MR:
		r->match = (uint32_t)value;
		r->armed = match_ahead(r);
		arm_timer(r);
		break;
	case REG_LR:
		r->offset = (long long)(uint32_t)value - r->now();
		r->armed = r->armed && match_ahead(r);
		arm_timer(r);
		break;
	case REG_IMSC: r->imsc = (uint32_t)value & 1; break;
	case REG_ICR: r->ris &= ~((uint32_t)value & 1); break;
	default: break;
	}
	update(r);
	pthread_mutex_unlock(&r->lock);
}

static int rtc_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	static const char compatible[] = "arm,pl031\0arm,primecell";
	int clk = dt_apb_pclk(dt), r;

	if (clk < 0)
		return clk;
	r = dt_begin_mmio_node_compat(dt, dev->node, compatible, sizeof(compatible), dev->mmio_base, dev->mmio_len);
	if (r >= 0) /* the binding (arm,pl031.yaml) names no interrupt-names */
		r = dt_prop_spi(dt, dev->spi, false);
	if (r >= 0)
		r = fdt_property_u32(dt->fdt, "clocks", (uint32_t)clk);
	if (r >= 0)
		r = fdt_property_string(dt->fdt, "clock-names", "apb_pclk");
	if (r >= 0)
		r = fdt_end_node(dt->fdt);
	return r;
}

static int rtc_start(struct device *dev, struct error *err)
{
	struct rtc *r = (struct rtc *)dev;

	if (r->timer_fd < 0)
		return 0;
	if (iothread_init(&r->io, "rtc", err) < 0 || iothread_watch(&r->io, r->timer_fd, on_timer, r, err) < 0 ||
	    iothread_start(&r->io, err) < 0)
		return -1;
	r->io_started = true;
	return 0;
}

static void rtc_stop(struct device *dev)
{
	struct rtc *r = (struct rtc *)dev;

	if (r->io_started)
		iothread_stop(&r->io);
}

/* A machine reset clears the alarm and its interrupt, and keeps the time:
 * like a real RTC, it runs on its battery. */
static void rtc_reset(struct device *dev)
{
	struct rtc *r = (struct rtc *)dev;

	pthread_mutex_lock(&r->lock);
	r->match = r->imsc = r->ris = 0;
	r->armed = false;
	arm_timer(r);
	update(r);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_destroy(struct device *dev)
{
	struct rtc *r = (struct rtc *)dev;

	if (r->io_started)
		iothread_destroy(&r->io);
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct device_ops rtc_ops = {
	.kind = "rtc-pl031",
	.mmio_read = rtc_read,
	.mmio_write = rtc_write,
	.fdt_node = rtc_fdt_node,
	.start = rtc_start,
	.stop = rtc_stop,
	.reset = rtc_reset,
	.destroy = rtc_destroy,
};

bool rtc_pl031_line(struct device *dev)
{
	struct rtc *r = (struct rtc *)dev;
	bool line;

	pthread_mutex_lock(&r->lock);
	line = r->line;
	pthread_mutex_unlock(&r->lock);
	return line;
}

struct device *rtc_pl031_create(uint64_t base, int spi, struct irqchip *irq, long long (*now_fn)(void),
				struct error *err)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set(err, EXIT_HOST_ERROR, "out of memory");
		return NULL;
	}
	device_init(&r->dev, &rtc_ops, "pl031", base, RTC_PL031_SIZE, spi);
	pthread_mutex_init(&r->lock, NULL);
	r->now = now_fn ? now_fn : host_seconds;
	r->irq = irq;
	r->timer_fd = -1;
	/* The host's clock drives the alarm; a test's clock is driven by the
	 * test, through register accesses. */
	if (!now_fn && (r->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "timerfd for the PL031's alarm");
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return &r->dev;
}
