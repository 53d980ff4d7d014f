/* uart_8250.h - a 16550A UART ("ns16550a"), tied to the console. */
#ifndef SAEVM_UART_8250_H
#define SAEVM_UART_8250_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/device.h"
#include "../vmm/error.h"

struct console;
struct irqchip;

#define UART_MMIO_SIZE 0x1000

/* `irq` may have no GIC behind it (then the guest must poll LSR); `con`
 * may be NULL (output discarded, for tests use uart_8250_tx_fn below). */
struct device *uart_8250_create(uint64_t base, int spi, struct irqchip *irq, struct console *con,
				struct error *err);

/* Bytes the guest has sent but nobody consumed (only without a console;
 * unit tests read the transmit side through this). */
size_t uart_8250_take_output(struct device *dev, uint8_t *buf, size_t len);
/* Turns holding back the guest's writes to [gpa, gpa + len) on or off;
 * 0 when done (KVM_(UN)REGISTER_COALESCED_MMIO). */
typedef int (*uart_batch_fn)(void *opaque, uint64_t gpa, unsigned len, bool on);
/* For a host with coalesced MMIO: THR writes are held back while THRI is
 * off, and whoever holds them replays them before the next exit. */
void uart_8250_batch_transmit(struct device *dev, uart_batch_fn fn, void *opaque);
/* Input as the console delivers it; returns bytes accepted. */
size_t uart_8250_receive(void *uart, const uint8_t *bytes, size_t len);

#endif
