/* The sandbox guest's init (guest/sandbox_init.c, a static arm64 program),
 * carried inside saevm whatever the host's architecture. */
	.section .rodata
	.balign 16
	.global saevm_init_blob
	.global saevm_init_blob_end
saevm_init_blob:
	.incbin SAEVM_INIT_PATH
saevm_init_blob_end:
	.section .note.GNU-stack,"",%progbits
