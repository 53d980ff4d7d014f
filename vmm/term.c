#include "term.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1;

void term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved); /* async-signal-safe */
}

static void restore_and_reraise(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

bool term_enter_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &saved) < 0)
		return false;
	saved_fd = fd;
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], restore_and_reraise);
	raw = saved;
	/* Like kvmtool: no line editing, echo or signal keys, and no CR->NL on
	 * input, so the guest gets every key. Output processing stays on, so
	 * saevm's own "\n"-ended messages still start at column 0. */
	raw.c_iflag &= ~(tcflag_t)(ICRNL | IXON | INLCR | IGNCR);
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	tcsetattr(fd, TCSANOW, &raw);
	return true;
}
