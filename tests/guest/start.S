/* start.S - the probe's arm64 Image header and entry (booting.rst):
 * saevm loads it like a Linux kernel, enters at offset 0 with the DTB's
 * address in x0, the MMU off and all interrupts masked. Built with
 * -DRAW_BINARY it has no header: a raw binary, entered at its first
 * instruction. */
	.section .text.head, "ax"
	.global _head
_head:
#ifndef RAW_BINARY
	b	entry                  /* code0 */
	.long	0                      /* code1 */
	.quad	0                      /* text_offset */
	.quad	_image_end - _head     /* image_size: BSS and stack included */
	.quad	0xa                    /* flags: little-endian, 4K pages, anywhere */
	.quad	0, 0, 0                /* res2-res4 */
	.ascii	"ARM\x64"              /* magic */
	.long	0                      /* res5 */
#endif

entry:
	mov	x19, x0                /* the DTB */
	adrp	x1, _stack_top
	add	x1, x1, :lo12:_stack_top
	mov	sp, x1
	adrp	x1, _bss_start
	add	x1, x1, :lo12:_bss_start
	adrp	x2, _bss_end
	add	x2, x2, :lo12:_bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x0, x19
	bl	probe_main
	/* PSCI SYSTEM_OFF over hvc: the one hypercall the s390 module has. */
	.global psci_system_off
psci_system_off:
	movz	x0, #0x0008
	movk	x0, #0x8400, lsl #16
	hvc	#0
3:	wfi
	b	3b
