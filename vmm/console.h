/* console.h - the host side of the guest's console: this process's stdin
 * and stdout, an output buffer, the Ctrl-A escape keys, and one I/O thread.
 *
 * Output: a device calls console_write() on a vCPU thread. It only copies
 * into a ring buffer - never blocks on the terminal - and the I/O thread
 * writes it out. When the ring is full the bytes are dropped and counted.
 * A guest prints a byte per exit: the vCPU wakes the I/O thread only when
 * it sleeps; while output flows the thread comes back every
 * CONSOLE_BATCH_MS on its own and writes what gathered in one write(2).
 * So the first byte after a pause goes out at once (a shell's echo), and
 * a kernel's boot log costs the vCPU no system call per byte.
 * Input: the I/O thread reads stdin and hands bytes to the attached device
 * (its `sink`), which may take fewer than offered; the rest waits (nothing
 * is dropped) until the device calls console_kick() when it has room.
 * Escape keys apply only when stdin is a terminal. */
#ifndef SAEVM_CONSOLE_H
#define SAEVM_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console_exit.h"
#include "error.h"

#define CONSOLE_OUT_RING (64 * 1024)
/* Not shorter: each wakeup of the console thread can take the vCPU's host
 * CPU from it (a verbose boot's guest time was 1.11x QEMU's at 4 ms,
 * 0.93-0.98x at 20 ms, in the rig); a shell's first byte goes at once. */
#define CONSOLE_BATCH_MS 20
#define CONSOLE_ESCAPE_KEY 0x01 /* Ctrl-A */

/* Returns how many of `len` bytes the guest side accepted. */
typedef size_t (*console_sink_fn)(void *opaque, const uint8_t *bytes, size_t len);
typedef void (*console_quit_fn)(void *opaque);
/* stdin ended (a pipe ran dry); the window is now rows x cols. */
typedef void (*console_eof_fn)(void *opaque);
typedef void (*console_resize_fn)(void *opaque, unsigned rows, unsigned cols);

struct console {
	int in_fd, out_fd;
	bool in_is_tty;
	bool keep_cooked;     /* leave a terminal stdin as it is (no raw mode, no escape keys) */
	bool in_eof;
	int wake_fd; /* eventfd: output queued, room for input, or stop */
	atomic_bool out_asleep; /* the I/O thread waits for a kick to write output */

	pthread_mutex_t lock; /* guards the ring */
	pthread_mutex_t out_lock; /* one writer of the ring's bytes at a time, in order */
	uint8_t *ring; /* CONSOLE_OUT_RING bytes, malloc'd: resident only as far as the guest wrote */
	size_t ring_head, ring_len;
	atomic_ulong dropped_bytes;
	atomic_ulong written_bytes;

	int log_fd;           /* --console-log: a copy of all output, or -1 */
	struct console_exit *exit_watch; /* --exit-on-console, or NULL; fed under the lock */
	void (*on_exit_status)(void *opaque, int status);
	void *exit_opaque;
	console_sink_fn sink;
	void *sink_opaque;
	console_quit_fn on_quit;
	void *quit_opaque;
	console_eof_fn on_eof;        /* optional, with the sink's opaque */
	console_resize_fn on_resize;  /* optional: SIGWINCH on a terminal */
	int winch_fd;                 /* signalfd for SIGWINCH, or -1 */
	uint8_t pending[256]; /* input read but not yet accepted by the sink */
	size_t pending_off, pending_len;
	bool escape_armed;

	pthread_t thread;
	bool thread_started;
	atomic_bool stopping;
};

/* out_fd -1: guest output goes only to the log (set_log), if any. */
int console_init(struct console *con, int in_fd, int out_fd, struct error *err);
void console_attach(struct console *con, console_sink_fn sink, void *opaque);
/* The sink also hears of stdin's end and of the terminal's new size. */
void console_attach_events(struct console *con, console_eof_fn on_eof, console_resize_fn on_resize);
/* The terminal's size now; false when stdin is no terminal. */
bool console_window_size(const struct console *con, unsigned *rows, unsigned *cols);
void console_on_quit(struct console *con, console_quit_fn fn, void *opaque);
/* A sandbox whose command has pipes, not a terminal: the user's terminal
 * keeps its line editing, and its ^D is the end of input. */
void console_keep_cooked(struct console *con);
int console_start(struct console *con, struct error *err);
/* Writes out what the guest printed so far, now: before saevm's own last
 * words (a stop message) go to the same terminal. Any thread but one
 * inside console_write. */
void console_flush(struct console *con);
/* Stops the thread and writes out everything still buffered. */
void console_stop(struct console *con);
void console_destroy(struct console *con);

void console_write(struct console *con, const uint8_t *bytes, size_t len);
void console_kick(struct console *con);
/* Also writes all guest output to fd (--console-log). */
void console_set_log(struct console *con, int fd);
/* --exit-on-console: `watch` sees all output; fn(opaque, status) is called
 * once, on the writing thread, outside the console's lock. */
void console_watch_exit(struct console *con, struct console_exit *watch, void (*fn)(void *opaque, int status),
			void *opaque);

/* The escape-key filter, pure for tests: turns `in` into the bytes for the
 * guest in `out` (at most 2 per input byte) and returns their count;
 * sets *quit when Ctrl-A x was seen (bytes after it are not processed). */
size_t console_filter_input(struct console *con, const uint8_t *in, size_t len, uint8_t *out,
			    bool *quit);

#endif
