/* pty-run - runs a command on a new pseudo-terminal, types the bytes of
 * its first argument into it (one line every 0.5 s; "\\n" ends a line; the
 * line "@resize" makes the window 50 x 120 instead, "@expect TEXT" waits
 * until TEXT has been shown), and copies what the
 * terminal shows to stdout: the rig's stand-in for a person at a terminal
 * (busybox has no script(1)). Exits with the command's status.
 *   pty-run "uname -m\nexit 3\n" saevm sandbox ... */
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 30, .ws_col = 100 };
	int master, st;
	pid_t pid;
	char buf[4096];
	const char *in;
	size_t at = 0, len;
	struct timespec half = { 0, 500000000 };

	if (argc < 3)
		return 2;
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	static char text[4096];
	len = 0;
	for (const char *p = argv[1]; *p && len < sizeof(text) - 1; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			text[len++] = '\n';
			p++;
		} else {
			text[len++] = *p;
		}
	}
	in = text;
	nanosleep(&half, NULL);
	static char shown[65536];
	size_t nshown = 0;
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		if (poll(&p, 1, 500) == 0 && at < len) {
			const char *nl = memchr(in + at, '\n', len - at);
			size_t n = nl ? (size_t)(nl - (in + at)) + 1 : len - at;
			if (n > 9 && !memcmp(in + at, "@expect ", 8)) {
				char want[256];
				snprintf(want, sizeof(want), "%.*s", (int)(n - 9), in + at + 8);
				shown[nshown] = '\0';
				if (strstr(shown, want))
					at += n;
				continue;
			}
			if (n == 8 && !memcmp(in + at, "@resize\n", 8)) {
				struct winsize big = { .ws_row = 50, .ws_col = 120 };
				ioctl(master, TIOCSWINSZ, &big); /* SIGWINCH to saevm */
			} else if (write(master, in + at, n) < 0) {
				break;
			}
			at += n;
			continue;
		}
		ssize_t r = read(master, buf, sizeof(buf));
		if (r <= 0)
			break;
		fwrite(buf, 1, (size_t)r, stdout);
		for (ssize_t i = 0; i < r && nshown + 1 < sizeof(shown); i++)
			if (buf[i]) /* NUL-free, for strstr */
				shown[nshown++] = buf[i];
		fflush(stdout);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
