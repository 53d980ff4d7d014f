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
#define STDIO_SERVING 5 /* a sandbox that stays up: the init takes exec streams now */
/* host -> guest */
#define STDIO_STDIN 16  /* bytes for the command's stdin */
#define STDIO_EOF 17    /* saevm's stdin ended */
#define STDIO_WINSIZE 18 /* rows, cols: two little-endian 16-bit values */
/* host -> guest, on an exec stream only */
#define STDIO_REQUEST 19 /* part of the command's configuration (key=value entries, NUL-ended) */
#define STDIO_START 20   /* the configuration is complete: run it */
#define STDIO_SIGNAL 21  /* 1 byte: a signal for the command (saevm exec got it) */

/* A sandbox that stays up (saevm sandbox --detach): its init listens on
 * this vsock port for `saevm exec` streams from the host (CID 2) and runs
 * one command per stream, with the frames above in both directions: the
 * host sends REQUEST frames (the configuration, as in the initramfs's
 * saevm/config) and START, then STDIN, EOF, WINSIZE and SIGNAL; the guest
 * sends STDOUT, STDERR and, last, EXIT. */
#define STDIO_EXEC_PORT 7100
#define STDIO_MAX_REQUEST (256u << 10) /* a command's whole configuration */

#endif
