/* rtc_pl031.h - an ARM PL031 real-time clock reading the host's clock, so a
 * guest boots with the right date (Debian's arm64 kernel drives it with its
 * built-in rtc-pl031 and sets the system time from it at boot).
 *
 * DT: compatible = "arm,pl031", "arm,primecell", reg = <0x0 0x09003000
 * 0x0 0x1000>, clocks = <&apb_pclk>. The counter is the host's UTC seconds
 * plus whatever offset the guest sets by writing the load register
 * (hwclock --systohc); the offset lasts as long as saevm runs. No alarm:
 * the node has no interrupt, so Linux offers none. */
#ifndef SAEVM_RTC_PL031_H
#define SAEVM_RTC_PL031_H

#include "../vmm/device.h"
#include "../vmm/error.h"

#define RTC_PL031_BASE 0x09003000ULL
#define RTC_PL031_SIZE 0x1000

/* now_fn gives the host's seconds since the epoch; NULL: time(). */
struct device *rtc_pl031_create(uint64_t base, long long (*now_fn)(void), struct error *err);

#endif
