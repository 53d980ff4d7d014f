#include "harness.h"

#include "fake_driver.h"

static struct fake_driver drv;
static struct virtqueue vq;
static struct vq_chain chain;

static int setup(void **state)
{
	(void)state;
	fd_init(&drv, 8);
	return fd_setup(&drv, &vq, 1, 1) ? -1 : 0;
}

static void test_plain_chain(void **state)
{
	const struct fd_buf bufs[] = { { 16, 0, "0123456789abcdef" }, { 100, 1, NULL }, { 1, 1, NULL } };
	uint64_t gpas[3];
	const char *why = NULL;
	uint8_t hdr[16];

	(void)state;
	uint16_t head = fd_add_chain(&drv, bufs, 3, gpas);
	assert_int_equal(vq_pop(&vq, &chain, &why), VQ_GOT_CHAIN);
	assert_int_equal(chain.head, head);
	assert_int_equal(chain.n_out, 1);
	assert_int_equal(chain.n_in, 2);
	assert_int_equal(chain.out_len, 16);
	assert_int_equal(chain.in_len, 101);
	assert_ptr_equal(chain.iov[1].iov_base, fd_host(&drv, gpas[1]));
	assert_int_equal(vq_chain_read(&chain, 0, hdr, 16), 16);
	assert_memory_equal(hdr, "0123456789abcdef", 16);
	/* writes spill from one writable buffer into the next */
	uint8_t pattern[101];
	memset(pattern, 0x5a, sizeof(pattern));
	assert_int_equal(vq_chain_write(&chain, 0, pattern, 101), 101);
	assert_int_equal(fd_host(&drv, gpas[2])[0], 0x5a);
	vq_push(&vq, chain.head, 101);
	assert_int_equal(fd_used_idx(&drv), 1);
	assert_int_equal(fd_used_id(&drv, 0), head);
	assert_int_equal(fd_used_len(&drv, 0), 101);
	assert_int_equal(vq_pop(&vq, &chain, &why), VQ_EMPTY);
}

static void test_indirect_chain(void **state)
{
	const char *why = NULL;
	uint64_t table = fd_alloc(&drv, 48), a = fd_alloc(&drv, 8), b = fd_alloc(&drv, 8);
	uint8_t *t = fd_host(&drv, table);

	(void)state;
	/* three entries, linked out of order: 0 -> 2 -> 1 */
	le64_store(t + 0, a); le32_store(t + 8, 8); le16_store(t + 12, FD_NEXT); le16_store(t + 14, 2);
	le64_store(t + 16, b); le32_store(t + 24, 8); le16_store(t + 28, FD_WRITE); le16_store(t + 30, 0);
	le64_store(t + 32, a); le32_store(t + 40, 4); le16_store(t + 44, FD_NEXT); le16_store(t + 46, 1);
	fd_desc(&drv, 0, table, 48, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	assert_int_equal(vq_pop(&vq, &chain, &why), VQ_GOT_CHAIN);
	assert_int_equal(chain.n_out, 2);
	assert_int_equal(chain.n_in, 1);
	assert_int_equal(chain.out_len, 12);
}

static void expect_broken(const char *reason)
{
	const char *why = NULL;
	assert_int_equal(vq_pop(&vq, &chain, &why), VQ_BROKEN);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("broken for '%s', expected '%s'", why, reason);
}

static void test_loop(void **state)
{
	uint64_t buf = fd_alloc(&drv, 8);
	(void)state;
	fd_desc(&drv, 0, buf, 8, FD_NEXT, 1);
	fd_desc(&drv, 1, buf, 8, FD_NEXT, 0); /* back to 0 */
	fd_publish(&drv, 0);
	expect_broken("loops");
}

static void test_indirect_in_indirect(void **state)
{
	uint64_t table = fd_alloc(&drv, 16);
	(void)state;
	le64_store(fd_host(&drv, table), table);
	le32_store(fd_host(&drv, table) + 8, 16);
	le16_store(fd_host(&drv, table) + 12, FD_INDIRECT);
	fd_desc(&drv, 0, table, 16, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	expect_broken("indirect table inside");
}

static void test_indirect_bad_length(void **state)
{
	uint64_t table = fd_alloc(&drv, 32);
	(void)state;
	fd_desc(&drv, 0, table, 24, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	expect_broken("multiple of 16");
}

static void test_indirect_loop(void **state)
{
	uint64_t table = fd_alloc(&drv, 32), a = fd_alloc(&drv, 8);
	uint8_t *t = fd_host(&drv, table);
	(void)state;
	le64_store(t, a); le32_store(t + 8, 8); le16_store(t + 12, FD_NEXT); le16_store(t + 14, 1);
	le64_store(t + 16, a); le32_store(t + 24, 8); le16_store(t + 28, FD_NEXT); le16_store(t + 30, 0);
	fd_desc(&drv, 0, table, 32, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	expect_broken("loops");
}

static void test_zero_length(void **state)
{
	(void)state;
	fd_desc(&drv, 0, fd_alloc(&drv, 8), 0, 0, 0);
	fd_publish(&drv, 0);
	expect_broken("zero-length");
}

static void test_out_of_ram(void **state)
{
	(void)state;
	fd_desc(&drv, 0, FD_RAM_GPA + FD_RAM_SIZE - 4, 8, 0, 0); /* straddles the end */
	fd_publish(&drv, 0);
	expect_broken("outside guest RAM");
	setup(NULL);
	fd_desc(&drv, 0, 0xfffffffffffffff0ULL, 0x20, 0, 0); /* wraps around */
	fd_publish(&drv, 0);
	expect_broken("outside guest RAM");
}

static void test_readable_after_writable(void **state)
{
	const struct fd_buf bufs[] = { { 8, 1, NULL }, { 8, 0, NULL } };
	(void)state;
	fd_add_chain(&drv, bufs, 2, NULL);
	expect_broken("device-readable buffer after");
}

static void test_bad_head_and_next(void **state)
{
	(void)state;
	fd_publish(&drv, 8); /* queue has 8 entries: 0..7 */
	expect_broken("head out of the queue");
	setup(NULL);
	fd_desc(&drv, 0, fd_alloc(&drv, 8), 8, FD_NEXT, 200);
	fd_publish(&drv, 0);
	expect_broken("next index out");
}

static void test_avail_index_jump(void **state)
{
	(void)state;
	le16_store(fd_ring(&drv, FD_AVAIL + 2), 9); /* 9 new entries in an 8-entry queue */
	expect_broken("more than the queue size");
}

static void test_indirect_not_negotiated(void **state)
{
	uint64_t table = fd_alloc(&drv, 16);
	(void)state;
	assert_null(fd_setup(&drv, &vq, 1, 0));
	fd_desc(&drv, 0, table, 16, FD_INDIRECT, 0);
	fd_publish(&drv, 0);
	expect_broken("not negotiated");
}

static void test_setup_rejects_bad_rings(void **state)
{
	(void)state;
	assert_non_null(vq_setup(&vq, &drv.mem, 6, FD_RAM_GPA, FD_RAM_GPA + FD_AVAIL, FD_RAM_GPA + FD_USED, 0, 0));
	assert_non_null(vq_setup(&vq, &drv.mem, 8, FD_RAM_GPA + 8, FD_RAM_GPA + FD_AVAIL, FD_RAM_GPA + FD_USED, 0, 0));
	assert_non_null(vq_setup(&vq, &drv.mem, 8, FD_RAM_GPA, FD_RAM_GPA + FD_RAM_SIZE - 8, FD_RAM_GPA + FD_USED, 0, 0));
	assert_non_null(vq_setup(&vq, &drv.mem, 8, 0x1000, FD_RAM_GPA + FD_AVAIL, FD_RAM_GPA + FD_USED, 0, 0));
}

/* Event-idx interrupt suppression across the 16-bit wrap of the indexes. */
static void test_event_idx_wraparound(void **state)
{
	const struct fd_buf one[] = { { 4, 1, NULL } };
	const char *why = NULL;

	(void)state;
	/* Start both sides near 65535, as after a long uptime. */
	vq.last_avail_idx = vq.used_idx = vq.signalled_used = 65533;
	drv.avail_idx = 65533;
	le16_store(fd_ring(&drv, FD_AVAIL + 2), 65533);
	for (unsigned k = 0; k < 6; k++) { /* used idx 65533 -> 65539, i.e. 3 */
		uint16_t used_before = vq.used_idx;
		drv.data_top = FD_DATA;
		fd_add_chain(&drv, one, 1, NULL);
		assert_int_equal(vq_pop(&vq, &chain, &why), VQ_GOT_CHAIN);
		vq_push(&vq, chain.head, 4);
		/* The driver asks for an interrupt only when used idx passes
		 * used_event: set used_event to the entry just pushed on even
		 * rounds, to an old one on odd rounds. */
		le16_store(fd_ring(&drv, FD_AVAIL + 4 + 2 * drv.size), k % 2 ? (uint16_t)(used_before - 3) : used_before);
		vq.signalled_valid = true;
		vq.signalled_used = used_before;
		assert_int_equal(vq_should_interrupt(&vq), k % 2 == 0);
	}
	assert_int_equal(fd_used_idx(&drv), 3); /* wrapped */
	/* avail_event tells the driver where the device stands. */
	assert_false(vq_enable_notify(&vq));
	assert_int_equal(le16_load(fd_ring(&drv, FD_USED + 4 + 8 * drv.size)), 3);
	fd_add_chain(&drv, one, 1, NULL);
	assert_true(vq_enable_notify(&vq)); /* new work arrived: pop again */
}

static void test_no_interrupt_flag_without_event_idx(void **state)
{
	const struct fd_buf one[] = { { 4, 1, NULL } };
	const char *why = NULL;

	(void)state;
	assert_null(fd_setup(&drv, &vq, 0, 0));
	fd_add_chain(&drv, one, 1, NULL);
	assert_int_equal(vq_pop(&vq, &chain, &why), VQ_GOT_CHAIN);
	vq_push(&vq, chain.head, 4);
	assert_true(vq_should_interrupt(&vq));
	le16_store(fd_ring(&drv, FD_AVAIL), 1); /* VRING_AVAIL_F_NO_INTERRUPT */
	assert_false(vq_should_interrupt(&vq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_plain_chain, setup),
		cmocka_unit_test_setup(test_indirect_chain, setup),
		cmocka_unit_test_setup(test_loop, setup),
		cmocka_unit_test_setup(test_indirect_in_indirect, setup),
		cmocka_unit_test_setup(test_indirect_bad_length, setup),
		cmocka_unit_test_setup(test_indirect_loop, setup),
		cmocka_unit_test_setup(test_zero_length, setup),
		cmocka_unit_test_setup(test_out_of_ram, setup),
		cmocka_unit_test_setup(test_readable_after_writable, setup),
		cmocka_unit_test_setup(test_bad_head_and_next, setup),
		cmocka_unit_test_setup(test_avail_index_jump, setup),
		cmocka_unit_test_setup(test_indirect_not_negotiated, setup),
		cmocka_unit_test_setup(test_setup_rejects_bad_rings, setup),
		cmocka_unit_test_setup(test_event_idx_wraparound, setup),
		cmocka_unit_test_setup(test_no_interrupt_flag_without_event_idx, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
