/* The 8250/16550A register file, as Linux's 8250 driver and earlycon use it.
 * Transmission is instant (a byte written to THR goes straight to the
 * console's buffer), so THR is always empty and the FIFO only matters for
 * receive. The interrupt is a level: asserted while "data ready and RDI
 * enabled" or "THR empty pending and THRI enabled".
 *
 * Linux's console writes with interrupts off (IER 0): per byte it reads
 * LSR, then writes THR, two exits. While THRI is off nobody waits for a
 * THR write's effect, so the machine may let KVM hold those writes back
 * (coalesced MMIO, uart_8250_batch_transmit) and replay them, in order,
 * before the next exit: a byte then costs one exit. With THRI on, a THR
 * write must raise THRE at once, so it exits again. */
#include "uart_8250.h"

#include <libfdt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../fdt/dt.h"
#include "../vmm/console.h"
#include "../vmm/irq.h"

enum { REG_RBR_THR_DLL = 0, REG_IER_DLM = 1, REG_IIR_FCR = 2, REG_LCR = 3, REG_MCR = 4,
       REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80
#define RX_FIFO 1024 /* deeper than a real 16550: fewer stalls for pasted input */
#define TEST_TX_BUF 4096

struct uart {
	struct device dev;
	pthread_mutex_t lock;
	struct irqchip *irq;
	struct console *con;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_int_pending;
	bool irq_level;
	uart_batch_fn batch; /* or NULL */
	void *batch_opaque;
	bool batching;       /* THR writes are being held back now */
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_len;
	uint8_t test_tx[TEST_TX_BUF]; /* only without a console */
	size_t test_tx_len;
	unsigned long tx_bytes, rx_bytes;
};

static struct uart *to_uart(struct device *dev) { return (struct uart *)dev; }

/* Called with the lock held. */
static void update_irq(struct uart *u)
{
	bool level = ((u->ier & IER_RDI) && u->rx_len) || ((u->ier & IER_THRI) && u->thr_int_pending);

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq)
			irqchip_set_spi(u->irq, (unsigned)u->dev.spi, level);
	}
}

/* THR writes may be held back exactly while THRI is off. Lock held. */
static void update_batching(struct uart *u)
{
	bool want = !(u->ier & IER_THRI);

	if (!u->batch || want == u->batching)
		return;
	if (u->batch(u->batch_opaque, u->dev.mmio_base + REG_RBR_THR_DLL, 1, want) == 0)
		u->batching = want;
	else
		u->batch = NULL; /* the host refused: not asked again */
}

static void transmit(struct uart *u, uint8_t byte)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP) { /* loopback: what is sent comes back in */
		if (u->rx_len < RX_FIFO)
			u->rx[(u->rx_head + u->rx_len++) % RX_FIFO] = byte;
	} else if (u->con) {
		console_write(u->con, &byte, 1);
	} else if (u->test_tx_len < TEST_TX_BUF) {
		u->test_tx[u->test_tx_len++] = byte;
	}
	u->thr_int_pending = true;
}

static uint8_t read_reg(struct uart *u, unsigned reg, bool *room_made)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR_DLL:
		if (dlab)
			return u->dll;
		if (!u->rx_len)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % RX_FIFO;
		*room_made = --u->rx_len == RX_FIFO / 2 || u->rx_len == 0;
		return v;
	case REG_IER_DLM:
		return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		v = (u->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0;
		if ((u->ier & IER_RDI) && u->rx_len)
			return v | IIR_RDI;
		if ((u->ier & IER_THRI) && u->thr_int_pending) {
			u->thr_int_pending = false; /* reading IIR acknowledges THRE */
			return v | IIR_THRI;
		}
		return v | IIR_NO_INT;
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
	case REG_MSR:
		if (u->mcr & MCR_LOOP) /* DTR->DSR, RTS->CTS, OUT2->DCD */
			return (uint8_t)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
					 ((u->mcr & 0x08) << 4));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case REG_SCR:
		return u->scr;
	}
	return 0;
}

/* Whether the guest is listening. Linux's 8250 driver clears the receive
 * FIFO while it opens the port and only then enables receive interrupts,
 * so bytes offered earlier (piped stdin, typed ahead) would be lost.
 * Until then the console holds them. A guest without interrupts (no GIC)
 * polls, and takes input whenever it comes. */
static bool accepting_input(const struct uart *u)
{
	return (u->ier & IER_RDI) || !u->irq || u->irq->kind == IRQCHIP_NONE;
}

static bool write_reg(struct uart *u, unsigned reg, uint8_t v)
{
	bool was_accepting = accepting_input(u);

	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR_DLL:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER_DLM:
		if (dlab) {
			u->dlm = v;
		} else {
			/* Enabling THRI with THR empty raises THRE at once. */
			if (!(u->ier & IER_THRI) && (v & IER_THRI))
				u->thr_int_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			u->rx_len = 0;
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & 0x1f;
		break;
	case REG_SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	return !was_accepting && accepting_input(u);
}

static uint64_t uart_mmio_read(struct device *dev, uint64_t offset, unsigned len)
{
	struct uart *u = to_uart(dev);
	bool room_made = false;
	uint8_t v;

	(void)len; /* registers are bytes (reg-io-width 1); wider reads see the byte */
	if (offset > REG_SCR)
		return 0;
	pthread_mutex_lock(&u->lock);
	v = read_reg(u, (unsigned)offset, &room_made);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (room_made && u->con)
		console_kick(u->con); /* the console may hold input for us */
	return v;
}

static void uart_mmio_write(struct device *dev, uint64_t offset, unsigned len, uint64_t value)
{
	struct uart *u = to_uart(dev);
	bool now_listening;

	(void)len;
	if (offset > REG_SCR)
		return;
	pthread_mutex_lock(&u->lock);
	now_listening = write_reg(u, (unsigned)offset, (uint8_t)value);
	update_irq(u);
	update_batching(u);
	pthread_mutex_unlock(&u->lock);
	if (now_listening && u->con)
		console_kick(u->con); /* input may be waiting for us */
}

size_t uart_8250_receive(void *opaque, const uint8_t *bytes, size_t len)
{
	struct uart *u = opaque;
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_len < RX_FIFO && accepting_input(u)) {
		u->rx[(u->rx_head + u->rx_len++) % RX_FIFO] = bytes[n++];
	}
	u->rx_bytes += n;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart_8250_take_output(struct device *dev, uint8_t *buf, size_t len)
{
	struct uart *u = to_uart(dev);
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->test_tx_len < len ? u->test_tx_len : len;
	memcpy(buf, u->test_tx, n);
	memmove(u->test_tx, u->test_tx + n, u->test_tx_len - n);
	u->test_tx_len -= n;
	pthread_mutex_unlock(&u->lock);
	return n;
}

static int uart_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	int r = dt_begin_mmio_node(dt, dev->node, "ns16550a", dev->mmio_base, dev->mmio_len);

	if (r >= 0)
		r = fdt_property_u32(dt->fdt, "clock-frequency", 1843200);
	if (r >= 0)
		r = dt_prop_spi(dt, dev->spi, false);
	if (r >= 0)
		r = fdt_end_node(dt->fdt);
	return r;
}

static void uart_print_stats(struct device *dev, FILE *out)
{
	struct uart *u = to_uart(dev);
	fprintf(out, "%s: tx %lu bytes, rx %lu bytes\n", dev->node, u->tx_bytes, u->rx_bytes);
}

/* A machine reset: the registers as at power-on, the receive FIFO empty,
 * the interrupt line low. The counters and the console stay. */
static void uart_reset(struct device *dev)
{
	struct uart *u = to_uart(dev);

	pthread_mutex_lock(&u->lock);
	u->ier = u->lcr = u->mcr = u->scr = u->fcr = u->dll = u->dlm = 0;
	u->thr_int_pending = false;
	u->rx_head = u->rx_len = 0;
	update_irq(u);
	update_batching(u);
	pthread_mutex_unlock(&u->lock);
}

void uart_8250_batch_transmit(struct device *dev, uart_batch_fn fn, void *opaque)
{
	struct uart *u = to_uart(dev);

	pthread_mutex_lock(&u->lock);
	u->batch = fn;
	u->batch_opaque = opaque;
	update_batching(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_destroy(struct device *dev)
{
	struct uart *u = to_uart(dev);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static const struct device_ops uart_ops = {
	.kind = "uart-8250",
	.mmio_read = uart_mmio_read,
	.mmio_write = uart_mmio_write,
	.fdt_node = uart_fdt_node,
	.reset = uart_reset,
	.print_stats = uart_print_stats,
	.destroy = uart_destroy,
};

struct device *uart_8250_create(uint64_t base, int spi, struct irqchip *irq, struct console *con,
				struct error *err)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u) {
		err_set(err, EXIT_HOST_ERROR, "out of memory for the UART");
		return NULL;
	}
	device_init(&u->dev, &uart_ops, "uart", base, UART_MMIO_SIZE, spi);
	u->irq = irq;
	u->con = con;
	pthread_mutex_init(&u->lock, NULL);
	if (con)
		console_attach(con, uart_8250_receive, u);
	return &u->dev;
}
