#include "control.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

int control_check_name(const char *name, struct error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONTROL_NAME_MAX || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						      "0123456789._-") != n || name[0] == '.')
		return err_set(err, EXIT_USAGE, "--name '%s': use 1 to %d letters, digits, '.', '_' or '-'", name,
			       CONTROL_NAME_MAX);
	return 0;
}

int control_dir(char *buf, size_t size, struct error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg && *xdg)
		snprintf(buf, size, "%s/saevm", xdg);
	else if (geteuid() == 0)
		snprintf(buf, size, "/run/saevm");
	else
		snprintf(buf, size, "/tmp/saevm-%u", (unsigned)geteuid());
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot create %s", buf);
	return control_dir_check(buf, err);
}

int control_dir_check(const char *dir, struct error *err)
{
	struct stat st;
	uid_t me = geteuid();

	/* Whoever owns the directory decides which sockets are in it: another
	 * local user who made it first could answer `saevm stop` or remove a
	 * VM's socket. lstat: a symbolic link is refused too. */
	if (lstat(dir, &st) < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "cannot check the control directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, EXIT_NOT_OWNER, "the control directory %s is not a directory (remove it, or set XDG_RUNTIME_DIR)",
			       dir);
	if (st.st_uid != me)
		return err_set(err, EXIT_NOT_OWNER,
			       "the control directory %s belongs to uid %u, not to you (uid %u): remove it, or set XDG_RUNTIME_DIR",
			       dir, (unsigned)st.st_uid, (unsigned)me);
	if (st.st_mode & 077)
		return err_set(err, EXIT_NOT_OWNER, "the control directory %s is open to other users (mode %04o): chmod 700 it",
			       dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int socket_path(const char *name, struct sockaddr_un *sa, struct error *err)
{
	char dir[sizeof(sa->sun_path)];

	if (control_dir(dir, sizeof(dir), err) < 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", dir, name) >= sizeof(sa->sun_path))
		return err_set(err, EXIT_USAGE, "the control socket path for '%s' is too long", name);
	return 0;
}

static int connect_to(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int control_listen(const char *name, char *path, size_t path_size, struct error *err)
{
	struct sockaddr_un sa;
	mode_t old_mask;
	int fd, r;

	if (socket_path(name, &sa, err) < 0)
		return -1;
	fd = connect_to(&sa);
	if (fd >= 0) {
		close(fd);
		return err_set(err, EXIT_USAGE, "a VM named '%s' is already running (saevm stop %s)", name, name);
	}
	if (errno == ECONNREFUSED)
		unlink(sa.sun_path); /* left by a VM that died */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_errno(err, EXIT_HOST_ERROR, errno, "control socket");
	/* The socket is born 0600: no window in which another user may connect
	 * (a chmod after bind would leave one, and race with the path). The
	 * umask is the process's, but setup is single-threaded here. */
	old_mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r < 0 || listen(fd, 4) < 0) {
		err_errno(err, EXIT_HOST_ERROR, errno, "cannot listen on %s", sa.sun_path);
		close(fd);
		return -1;
	}
	snprintf(path, path_size, "%s", sa.sun_path);
	return fd;
}

int control_read_line(int fd, char *buf, size_t size, int limit_ms)
{
	double deadline = log_wall_since_start() + limit_ms / 1000.0;
	size_t n = 0;

	/* The whole line within limit_ms, however the peer dribbles it. */
	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - log_wall_since_start();
		ssize_t r;
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	return n ? 0 : -1;
}

int control_request(const char *name, const char *command, char *reply, size_t size, struct error *err)
{
	struct sockaddr_un sa;
	char line[64];
	int fd;

	if (control_check_name(name, err) < 0 || socket_path(name, &sa, err) < 0)
		return -1;
	fd = connect_to(&sa);
	if (fd < 0) {
		if (errno == ECONNREFUSED)
			unlink(sa.sun_path);
		return err_set(err, EXIT_NO_SUCH_VM, "no VM named '%s' is running", name);
	}
	snprintf(line, sizeof(line), "%s\n", command);
	if (write(fd, line, strlen(line)) < 0 || control_read_line(fd, reply, size, CONTROL_REPLY_MS) < 0) {
		close(fd);
		return err_set(err, EXIT_NO_SUCH_VM, "VM '%s' did not answer", name);
	}
	close(fd);
	return 0;
}

int control_cmd_send(const char *name, const char *command)
{
	struct error err = { 0 };
	char reply[256];

	if (control_request(name, command, reply, sizeof(reply), &err) < 0) {
		fprintf(stderr, "saevm: error: %s\n", err.msg);
		return err.code;
	}
	if (strncmp(reply, "ok", 2)) {
		fprintf(stderr, "saevm: error: %s: %s\n", name, reply);
		return EXIT_USAGE;
	}
	printf("%s: %s\n", name, reply + 3);
	return 0;
}

int control_cmd_list(void)
{
	struct error err = { 0 };
	char dir[108];
	struct dirent *e;
	DIR *d;

	if (control_dir(dir, sizeof(dir), &err) < 0 || !(d = opendir(dir))) {
		fprintf(stderr, "saevm: error: %s\n", err.code ? err.msg : "cannot read the control directory");
		return err.code ? err.code : EXIT_HOST_ERROR;
	}
	printf("%-24s %-8s %-8s %s\n", "NAME", "STATE", "PID", "KIND");
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char name[CONTROL_NAME_MAX + 1], reply[256], state[16] = "?", vm[80] = "", pid[16] = "?", kind[16] = "vm";
		struct error ignored = { 0 };

		if (n < 6 || strcmp(e->d_name + n - 5, ".sock") || n - 5 > CONTROL_NAME_MAX)
			continue;
		memcpy(name, e->d_name, n - 5);
		name[n - 5] = 0;
		if (control_request(name, "status", reply, sizeof(reply), &ignored) < 0)
			continue; /* stale sockets are removed on the way */
		sscanf(reply, "ok %15s %79s %15s %15s", state, vm, pid, kind);
		printf("%-24s %-8s %-8s %s\n", name, state, pid, kind);
	}
	closedir(d);
	return 0;
}
