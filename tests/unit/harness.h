/* harness.h - what every cmocka unit test includes. Unit tests follow
 * crosvm's rule: no privileges, no KVM, no devices, no threads of their
 * own; guest RAM is a plain buffer wrapped by guest_mem_wrap(). They run
 * natively and under qemu-user for s390x (big-endian) and arm64. */
#ifndef SAEVM_TEST_HARNESS_H
#define SAEVM_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ASSERT_ERR_CONTAINS(err, text)                                               \
	do {                                                                         \
		if (!strstr((err)->msg, (text)))                                     \
			fail_msg("error '%s' does not mention '%s'", (err)->msg, (text)); \
	} while (0)

#endif
