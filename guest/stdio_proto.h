/* stdio_proto.h - the sandbox's stdio channel: frames on one virtio-console
 * port (hvc0 in the sandbox guest) between saevm and the guest's init.
 * Shared by the host side (devices/virtio_stdio.c) and the guest's init
 * (guest/sandbox_init.c), so both speak the same bytes.
 *
 * A frame is a 4-byte header - type, 0, length (little-endian 16 bits) -
 * then `length` bytes. Binary safe: the port's tty is raw in the guest. */
#ifndef SAEVM_STDIO_PROTO_H
#define SAEVM_STDIO_PROTO_H

#define STDIO_HDR 4
#define STDIO_MAX_DATA 65535

/* guest -> host */
#define STDIO_READY 1   /* the init is up: input may flow */
#define STDIO_STDOUT 2  /* bytes for saevm's stdout */
#define STDIO_STDERR 3  /* bytes for saevm's stderr */
#define STDIO_EXIT 4    /* 1 byte: the command's status (0..255, 128+N for signal N) */
/* host -> guest */
#define STDIO_STDIN 16  /* bytes for the command's stdin */
#define STDIO_EOF 17    /* saevm's stdin ended */
#define STDIO_WINSIZE 18 /* rows, cols: two little-endian 16-bit values */

#endif
