/* rtc_pl031.h - an ARM PL031 real-time clock reading the host's clock, so a
 * guest boots with the right date (Debian's arm64 kernel drives it with its
 * built-in rtc-pl031 and sets the system time from it at boot).
 *
 * DT: compatible = "arm,pl031", "arm,primecell", reg = <0x0 0x09003000
 * 0x0 0x1000>, interrupts = <GIC_SPI spi IRQ_TYPE_LEVEL_HIGH> (the machine
 * gives it RTC_SPI, 95), clocks = <&apb_pclk>. The counter is the host's UTC seconds plus whatever offset
 * the guest sets by writing the load register (hwclock --systohc); the
 * offset lasts as long as saevm runs. The match register is the alarm
 * (Linux's /sys/class/rtc/rtc0/wakealarm): its interrupt is level, held
 * until the guest clears it, and a reboot clears it. */
#ifndef SAEVM_RTC_PL031_H
#define SAEVM_RTC_PL031_H

#include "../vmm/device.h"
#include "../vmm/error.h"
#include "../vmm/irq.h"

#define RTC_PL031_BASE 0x09003000ULL
#define RTC_PL031_SIZE 0x1000

/* Its alarm raises `spi` (-1: none) on `irq` (NULL: the line is only seen
 * in MIS). now_fn gives the host's seconds since the epoch; NULL: time(),
 * and a timer on the device's thread fires the alarm. */
struct device *rtc_pl031_create(uint64_t base, int spi, struct irqchip *irq, long long (*now_fn)(void),
				struct error *err);

/* Tests: the interrupt line as last set, without evaluating the counter. */
bool rtc_pl031_line(struct device *dev);

#endif
