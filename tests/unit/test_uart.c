/* The 16550 driven the way a guest drives it: through the MMIO bus, with
 * the data as the little-endian bytes KVM puts in kvm_run.mmio.data. */
#include "harness.h"

#include "../../devices/uart_8250.h"
#include "../../vmm/irq.h"
#include "../../vmm/kvm_uapi.h"
#include "../../vmm/mmio_bus.h"

#define BASE 0x09000000ULL
static struct mmio_bus bus;
static struct device *uart;

static int setup(void **state)
{
	struct error err = { 0 };
	(void)state;
	mmio_bus_init(&bus);
	uart = uart_8250_create(BASE, 0, NULL, NULL, &err);
	return uart ? mmio_bus_add(&bus, uart, &err) : -1;
}

static int teardown(void **state)
{
	(void)state;
	mmio_bus_destroy(&bus);
	return 0;
}

static uint8_t rd(unsigned reg)
{
	uint8_t data[8] = { 0xee, 0xee, 0xee, 0xee };
	assert_true(mmio_bus_dispatch(&bus, BASE + reg, data, 1, false));
	return data[0];
}

static void wr(unsigned reg, uint8_t v)
{
	uint8_t data[8] = { v };
	assert_true(mmio_bus_dispatch(&bus, BASE + reg, data, 1, true));
}

static void test_transmit(void **state)
{
	const char *msg = "Booting Linux\r\n";
	uint8_t out[64];

	(void)state;
	assert_int_equal(rd(5) & 0x60, 0x60); /* THRE | TEMT: ready to send */
	for (const char *p = msg; *p; p++)
		wr(0, (uint8_t)*p);
	assert_int_equal(uart_8250_take_output(uart, out, sizeof(out)), strlen(msg));
	assert_memory_equal(out, msg, strlen(msg));
}

static void test_receive_and_iir(void **state)
{
	(void)state;
	assert_int_equal(rd(5) & 1, 0);          /* no data */
	assert_int_equal(rd(2) & 0x0f, 0x01);    /* no interrupt pending */
	assert_int_equal(uart_8250_receive(uart, (const uint8_t *)"ls\r", 3), 3);
	assert_int_equal(rd(5) & 1, 1);          /* data ready */
	wr(1, 0x01);                             /* IER: receive interrupts */
	assert_int_equal(rd(2) & 0x0f, 0x04);    /* received data available */
	assert_int_equal(rd(0), 'l');
	assert_int_equal(rd(0), 's');
	assert_int_equal(rd(0), '\r');
	assert_int_equal(rd(5) & 1, 0);
	assert_int_equal(rd(2) & 0x0f, 0x01);
}

static void test_thre_interrupt_acknowledged_by_iir(void **state)
{
	(void)state;
	wr(1, 0x02);                          /* enable THRI: THR is empty */
	assert_int_equal(rd(2) & 0x0f, 0x02); /* THRE pending ... */
	assert_int_equal(rd(2) & 0x0f, 0x01); /* ... until IIR was read */
	wr(0, 'x');                           /* a transmit re-arms it */
	assert_int_equal(rd(2) & 0x0f, 0x02);
}

static void test_divisor_latch_and_scratch(void **state)
{
	(void)state;
	wr(3, 0x83);           /* DLAB on, 8N1 */
	wr(0, 0x01);
	wr(1, 0x00);
	assert_int_equal(rd(0), 0x01);
	assert_int_equal(rd(3), 0x83);
	wr(3, 0x03);           /* DLAB off: offset 0 is THR/RBR again */
	assert_int_equal(rd(1), 0x00);
	wr(7, 0x5a);
	assert_int_equal(rd(7), 0x5a);
}

static void test_loopback(void **state)
{
	uint8_t out[8];
	(void)state;
	wr(4, 0x10);           /* MCR loop */
	wr(0, 0x42);
	assert_int_equal(uart_8250_take_output(uart, out, sizeof(out)), 0);
	assert_int_equal(rd(0), 0x42);
	wr(4, 0x10 | 0x03);    /* DTR, RTS looped to DSR, CTS */
	assert_int_equal(rd(6) & 0x30, 0x30);
	wr(4, 0);
}

static void test_receive_backpressure(void **state)
{
	uint8_t big[3000];
	(void)state;
	memset(big, 'a', sizeof(big));
	size_t took = uart_8250_receive(uart, big, sizeof(big));
	assert_true(took > 0 && took < sizeof(big)); /* the FIFO is bounded ... */
	assert_int_equal(uart_8250_receive(uart, big, 1), 0);
	rd(0);
	assert_int_equal(uart_8250_receive(uart, big, 5), 1); /* ... and nothing lost */
	wr(2, 0x02);           /* FCR: clear the receive FIFO */
	assert_int_equal(rd(5) & 1, 0);
}

static void test_input_waits_until_guest_listens(void **state)
{
	/* With a GIC, Linux clears the FIFO while opening the port: input
	 * offered before receive interrupts are on must wait, not vanish. */
	struct irqchip gic = { .kind = IRQCHIP_GICV3, .vm_fd = -1, .dev_fd = -1 };
	struct mmio_bus b2;
	struct error err = { 0 };
	struct device *u2 = uart_8250_create(0x1000, 0, &gic, NULL, &err);
	uint8_t data[8] = { 0x01 };

	(void)state;
	mmio_bus_init(&b2);
	assert_int_equal(mmio_bus_add(&b2, u2, &err), 0);
	assert_int_equal(uart_8250_receive(u2, (const uint8_t *)"hi", 2), 0);
	assert_true(mmio_bus_dispatch(&b2, 0x1001, data, 1, true)); /* IER = RDI */
	assert_int_equal(uart_8250_receive(u2, (const uint8_t *)"hi", 2), 2);
	mmio_bus_destroy(&b2);
}

static void test_wide_and_unclaimed_access(void **state)
{
	uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	(void)state;
	/* A read no device claims answers zeros and is counted. */
	assert_false(mmio_bus_dispatch(&bus, 0x10000000, data, 4, false));
	assert_memory_equal(data, "\0\0\0\0", 4);
	assert_int_equal(bus.unclaimed_reads, 1);
	/* Past the 8 registers, inside the window: reads 0. */
	memset(data, 0xff, 8);
	assert_true(mmio_bus_dispatch(&bus, BASE + 0x100, data, 4, false));
	assert_memory_equal(data, "\0\0\0\0", 4);
}

/* THR writes are held back (coalesced MMIO) exactly while THRI is off:
 * Linux's console writes with IER 0, and a THR write with THRI on must
 * raise THRE at once. A host that refuses is not asked again. */
static int batch_calls, batch_refuse;
static bool batch_on;
static uint64_t batch_gpa;
static int record_batch(void *opaque, uint64_t gpa, unsigned len, bool on)
{
	(void)opaque;
	assert_int_equal(len, 1);
	batch_calls++;
	batch_gpa = gpa;
	if (batch_refuse)
		return -1;
	batch_on = on;
	return 0;
}

static void test_transmit_held_back_only_without_thri(void **state)
{
	(void)state;
	batch_calls = batch_refuse = 0;
	uart_8250_batch_transmit(uart, record_batch, NULL);
	assert_int_equal(batch_calls, 1);
	assert_true(batch_on); /* IER 0 at power-on */
	assert_int_equal(batch_gpa, BASE);
	wr(1, 0x01); /* RDI only: still polled transmit */
	assert_int_equal(batch_calls, 1);
	wr(1, 0x03); /* THRI: every THR write exits again */
	assert_int_equal(batch_calls, 2);
	assert_false(batch_on);
	wr(1, 0x00); /* the console's write clears IER */
	assert_int_equal(batch_calls, 3);
	assert_true(batch_on);
	wr(1, 0x02);
	assert_false(batch_on);
	mmio_bus_reset_devices(&bus); /* a reboot: IER 0 */
	assert_true(batch_on);
	assert_int_equal(batch_calls, 5);

	wr(1, 0x02);
	assert_int_equal(batch_calls, 6);
	batch_refuse = 1; /* a host that refuses is not asked again */
	wr(1, 0x00);
	wr(1, 0x02);
	wr(1, 0x00);
	assert_int_equal(batch_calls, 7);
	assert_false(batch_on);
}

/* What KVM held back comes out of the ring in order, wrapping at its end,
 * and the ring is left empty. */
static void test_replay_of_the_coalesced_ring(void **state)
{
	enum { SLOTS = 4 };
	union { struct kvm_coalesced_mmio_ring r; uint8_t b[8 + SLOTS * 24]; } ring;
	const char *msg = "ok!";
	uint8_t out[8];

	(void)state;
	_Static_assert(sizeof(struct kvm_coalesced_mmio) == 24, "entry layout");
	memset(&ring, 0, sizeof(ring));
	ring.r.first = 2; /* entries 2, 3, 0 */
	ring.r.last = 1;
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_coalesced_mmio *e = &ring.r.coalesced_mmio[(2 + i) % SLOTS];
		e->phys_addr = BASE;
		e->len = 1;
		e->data[0] = (uint8_t)msg[i];
	}
	assert_int_equal(mmio_bus_replay_ring(&bus, &ring.r, SLOTS), 3);
	assert_int_equal(ring.r.first, 1);
	assert_int_equal(uart_8250_take_output(uart, out, sizeof(out)), 3);
	assert_memory_equal(out, msg, 3);
	assert_int_equal(mmio_bus_replay_ring(&bus, &ring.r, SLOTS), 0); /* empty */
	ring.r.last = 9; /* not a ring KVM wrote: nothing is replayed */
	assert_int_equal(mmio_bus_replay_ring(&bus, &ring.r, SLOTS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_and_iir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_acknowledged_by_iir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch_and_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_and_unclaimed_access, setup, teardown),
		cmocka_unit_test(test_input_waits_until_guest_listens),
		cmocka_unit_test_setup_teardown(test_transmit_held_back_only_without_thri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_of_the_coalesced_ring, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
