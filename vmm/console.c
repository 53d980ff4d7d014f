#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "term.h"

int console_init(struct console *con, int in_fd, int out_fd, struct error *err)
{
	memset(con, 0, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->winch_fd = -1;
	/* Not cleared: a page of the ring becomes resident when output reaches it. */
	con->ring = malloc(CONSOLE_OUT_RING);
	if (!con->ring)
		return err_set(err, EXIT_HOST_ERROR, "out of memory for the console's output ring");
	con->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->wake_fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "eventfd for the console");
	pthread_mutex_init(&con->lock, NULL);
	pthread_mutex_init(&con->out_lock, NULL);
	con->in_eof = in_fd < 0;
	atomic_store(&con->out_asleep, true);
	con->log_fd = -1;
	con->winch_fd = -1;
	if (in_fd >= 0 && isatty(in_fd)) {
		/* SIGWINCH is blocked in every thread (main.c): a sink that wants
		 * the window's size hears of it on the console thread. Made now,
		 * before the seccomp filter. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		con->winch_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	return 0;
}

void console_attach(struct console *con, console_sink_fn sink, void *opaque)
{
	con->sink = sink;
	con->sink_opaque = opaque;
}

void console_attach_events(struct console *con, console_eof_fn on_eof, console_resize_fn on_resize)
{
	con->on_eof = on_eof;
	con->on_resize = on_resize;
}

bool console_window_size(const struct console *con, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	if (con->in_fd < 0 || ioctl(con->in_fd, TIOCGWINSZ, &ws) < 0 || !isatty(con->in_fd))
		return false;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return true;
}

void console_on_quit(struct console *con, console_quit_fn fn, void *opaque)
{
	con->on_quit = fn;
	con->quit_opaque = opaque;
}

void console_kick(struct console *con)
{
	uint64_t one = 1;
	ssize_t r = write(con->wake_fd, &one, sizeof(one));
	(void)r; /* EAGAIN: a wakeup is already pending, which is all we need */
}

void console_write(struct console *con, const uint8_t *bytes, size_t len)
{
	bool half_full, exited = false;
	size_t room, n, tail;
	int status = 0;

	pthread_mutex_lock(&con->lock);
	if (con->exit_watch)
		exited = console_exit_feed(con->exit_watch, bytes, len, &status);
	room = CONSOLE_OUT_RING - con->ring_len;
	n = len < room ? len : room;
	tail = (con->ring_head + con->ring_len) % CONSOLE_OUT_RING;
	for (size_t i = 0; i < n; i++)
		con->ring[(tail + i) % CONSOLE_OUT_RING] = bytes[i];
	con->ring_len += n;
	half_full = con->ring_len >= CONSOLE_OUT_RING / 2;
	pthread_mutex_unlock(&con->lock);
	if (n < len)
		atomic_fetch_add(&con->dropped_bytes, len - n);
	/* After the bytes are in: a thread going to sleep checks the ring
	 * after it says so (console_thread), so one of us sees the other. */
	if (n && (atomic_exchange(&con->out_asleep, false) || half_full))
		console_kick(con);
	if (exited)
		con->on_exit_status(con->exit_opaque, status);
}

void console_watch_exit(struct console *con, struct console_exit *watch, void (*fn)(void *opaque, int status),
			void *opaque)
{
	con->on_exit_status = fn;
	con->exit_opaque = opaque;
	con->exit_watch = watch;
}

void console_set_log(struct console *con, int fd)
{
	con->log_fd = fd;
}

/* Writes out the ring; on the I/O thread, or at the end from main.
 * Returns how many bytes it took from the ring. */
static size_t drain_output(struct console *con)
{
	uint8_t chunk[4096];
	size_t taken = 0;

	pthread_mutex_lock(&con->out_lock); /* chunks leave in the order taken */
	for (;;) {
		size_t n, first;

		pthread_mutex_lock(&con->lock);
		n = con->ring_len < sizeof(chunk) ? con->ring_len : sizeof(chunk);
		first = CONSOLE_OUT_RING - con->ring_head;
		if (first > n)
			first = n;
		memcpy(chunk, con->ring + con->ring_head, first);
		memcpy(chunk + first, con->ring, n - first);
		con->ring_head = (con->ring_head + n) % CONSOLE_OUT_RING;
		con->ring_len -= n;
		pthread_mutex_unlock(&con->lock);
		if (n == 0)
			break;
		taken += n;
		if (con->log_fd >= 0 && write(con->log_fd, chunk, n) != (ssize_t)n)
			log_debug("console log: %s", strerror(errno));
		for (size_t off = 0; con->out_fd >= 0 && off < n;) {
			ssize_t w = write(con->out_fd, chunk + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) { /* stdout gone (EPIPE...): count, keep the VM running */
				atomic_fetch_add(&con->dropped_bytes, n - off);
				break;
			}
			off += (size_t)w;
			atomic_fetch_add(&con->written_bytes, (unsigned long)w);
		}
	}
	pthread_mutex_unlock(&con->out_lock);
	return taken;
}

size_t console_filter_input(struct console *con, const uint8_t *in, size_t len, uint8_t *out,
			    bool *quit)
{
	size_t n = 0;

	*quit = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (!con->in_is_tty) {
			out[n++] = c;
			continue;
		}
		if (con->escape_armed) {
			con->escape_armed = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return n;
			}
			if (c != CONSOLE_ESCAPE_KEY) /* not a command: pass both on */
				out[n++] = CONSOLE_ESCAPE_KEY;
			out[n++] = c;
		} else if (c == CONSOLE_ESCAPE_KEY) {
			con->escape_armed = true;
		} else {
			out[n++] = c;
		}
	}
	return n;
}

/* Offers pending input to the device; true when all of it was taken. */
static bool push_pending(struct console *con)
{
	if (con->pending_len && con->sink) {
		size_t took = con->sink(con->sink_opaque, con->pending + con->pending_off, con->pending_len);
		con->pending_off += took;
		con->pending_len -= took;
	}
	return con->pending_len == 0;
}

static void read_input(struct console *con)
{
	uint8_t raw[sizeof(con->pending) / 2];
	bool quit;
	ssize_t r = read(con->in_fd, raw, sizeof(raw));

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) { /* EOF (a pipe ran dry) or error: the guest keeps running */
		con->in_eof = true;
		if (con->on_eof)
			con->on_eof(con->sink_opaque);
		return;
	}
	con->pending_off = 0;
	con->pending_len = console_filter_input(con, raw, (size_t)r, con->pending, &quit);
	if (quit && con->on_quit)
		con->on_quit(con->quit_opaque);
}

static void *console_thread(void *arg)
{
	struct console *con = arg;
	bool output_flowing = false;

	while (!atomic_load(&con->stopping)) {
		bool all_taken = push_pending(con);
		bool want_input = !con->in_eof && all_taken;
		struct pollfd fds[3] = {
			{ .fd = con->wake_fd, .events = POLLIN },
			{ .fd = want_input ? con->in_fd : -1, .events = POLLIN },
			{ .fd = con->winch_fd, .events = POLLIN },
		};
		uint64_t count;
		/* While input waits for the device, poll on a short timeout too:
		 * a kick may race with the device taking bytes. */
		int timeout = con->pending_len ? 10 : -1;

		if (output_flowing) {
			if (timeout < 0 || timeout > CONSOLE_BATCH_MS)
				timeout = CONSOLE_BATCH_MS;
		} else {
			/* Say so first, then look: a byte queued after the look
			 * finds out_asleep set and kicks. */
			atomic_store(&con->out_asleep, true);
			pthread_mutex_lock(&con->lock);
			if (con->ring_len)
				timeout = 0;
			pthread_mutex_unlock(&con->lock);
		}
		if (poll(fds, 3, timeout) < 0 && errno != EINTR)
			break;
		if (fds[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			unsigned rows, cols;
			if (read(con->winch_fd, &si, sizeof(si)) > 0 && con->on_resize &&
			    console_window_size(con, &rows, &cols))
				con->on_resize(con->sink_opaque, rows, cols);
		}
		if (fds[0].revents & POLLIN) {
			ssize_t r = read(con->wake_fd, &count, sizeof(count));
			(void)r;
		}
		output_flowing = drain_output(con) > 0;
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_input(con);
	}
	return NULL;
}

void console_flush(struct console *con)
{
	if (con->ring)
		drain_output(con);
}

void console_keep_cooked(struct console *con)
{
	con->keep_cooked = true;
}

int console_start(struct console *con, struct error *err)
{
	int r;

	con->in_is_tty = con->in_fd >= 0 && !con->keep_cooked && term_enter_raw(con->in_fd);

	r = pthread_create(&con->thread, NULL, console_thread, con);
	if (r)
		return err_errno(err, EXIT_HOST_ERROR, r, "cannot start the console thread");
	con->thread_started = true;
	return 0;
}

void console_stop(struct console *con)
{
	if (con->thread_started) {
		atomic_store(&con->stopping, true);
		console_kick(con);
		pthread_join(con->thread, NULL);
		con->thread_started = false;
	}
	drain_output(con);
	term_restore();
	if (atomic_load(&con->dropped_bytes))
		log_warn("console: %lu bytes of guest output were dropped (terminal too slow)",
			 atomic_load(&con->dropped_bytes));
}

void console_destroy(struct console *con)
{
	if (con->wake_fd >= 0)
		close(con->wake_fd);
	if (con->winch_fd >= 0)
		close(con->winch_fd);
	con->wake_fd = con->winch_fd = -1;
	free(con->ring);
	con->ring = NULL;
	pthread_mutex_destroy(&con->lock);
	pthread_mutex_destroy(&con->out_lock);
}
