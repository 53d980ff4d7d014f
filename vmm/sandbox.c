/* sandbox.c - see sandbox.h. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/cpio.h"
#include "../devices/share/share.h"
#include "log.h"

/* guest/sandbox_init.c, built for arm64 and linked in (guest/init_blob.S). */
extern const unsigned char saevm_init_blob[], saevm_init_blob_end[];

#define MAX_MODULES 64
#define MSIZE "524288"

int sandbox_default_rootfs(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/saevm/rootfs", xdg);
	else
		n = snprintf(buf, size, "%s/.local/share/saevm/rootfs", home && *home ? home : "/root");
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool sandbox_kernel_release(const void *image, size_t len, char *out, size_t size)
{
	static const char banner[] = "Linux version ";
	const char *p = memmem(image, len, banner, sizeof(banner) - 1);
	size_t n = 0;

	if (!p)
		return false;
	p += sizeof(banner) - 1;
	while (p + n < (const char *)image + len && p[n] > ' ' && p[n] < 0x7f && n + 1 < size)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	return n > 0;
}

/* Whether the path's file name is module `name` ("_" and "-" alike). */
static bool module_is(const char *path, size_t len, const char *name)
{
	const char *base = path;
	size_t k = 0;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	len -= (size_t)(base - path);
	for (; k < len && name[k]; k++) {
		char a = base[k] == '-' ? '_' : base[k], b = name[k] == '-' ? '_' : name[k];
		if (a != b)
			return false;
	}
	return !name[k] && k + 3 <= len && !strncmp(base + k, ".ko", 3);
}

static int resolve_path(const char *dep, const char *path, size_t plen, char **list, unsigned *n, unsigned max,
			int depth)
{
	for (unsigned i = 0; i < *n; i++)
		if (strlen(list[i]) == plen && !strncmp(list[i], path, plen))
			return 0; /* already on the list */
	if (depth > 16)
		return -1;
	for (const char *line = dep; line && *line;) {
		const char *colon = strchr(line, ':'), *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (colon && colon < end && (size_t)(colon - line) == plen && !strncmp(line, path, plen)) {
			/* its dependencies first */
			for (const char *d = colon + 1; d < end;) {
				while (d < end && *d == ' ')
					d++;
				const char *e = d;
				while (e < end && *e != ' ')
					e++;
				if (e > d && resolve_path(dep, d, (size_t)(e - d), list, n, max, depth + 1) < 0)
					return -1;
				d = e;
			}
			break;
		}
		line = *end ? end + 1 : NULL;
	}
	if (*n >= max || !(list[*n] = strndup(path, plen)))
		return -1;
	(*n)++;
	return 0;
}

int sandbox_resolve_module(const char *dep, const char *name, char **list, unsigned *n, unsigned max)
{
	for (const char *line = dep; line && *line;) {
		const char *colon = strchr(line, ':'), *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (colon && colon < end && module_is(line, (size_t)(colon - line), name))
			return resolve_path(dep, line, (size_t)(colon - line), list, n, max, 0);
		line = *end ? end + 1 : NULL;
	}
	return 1;
}

/* modules.builtin: one path a line. */
static bool builtin_has(const char *text, const char *name)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (module_is(line, len, name))
			return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* Caps on what saevm reads from the rootfs, which a guest may have
 * written (a writable rootfs, or a share that holds it). */
#define MAX_KERNEL_BYTES (512ull << 20)
#define MAX_MODULE_BYTES (64ull << 20)
#define MAX_INDEX_BYTES (16ull << 20) /* modules.dep, modules.builtin */

/* A text file beneath the rootfs (share_open_untrusted's rules), whole,
 * NUL-terminated; NULL with err set. */
static char *read_text(const struct sandbox *sb, const char *rel, struct error *err)
{
	uint64_t size;
	int fd = share_open_untrusted(sb->rootfs_fd, sb->rootfs, rel, MAX_INDEX_BYTES, &size, err);
	char *buf;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	if (!(buf = malloc(size + 1))) {
		close(fd);
		err_set(err, EXIT_HOST_ERROR, "out of memory for %s/%s", sb->rootfs, rel);
		return NULL;
	}
	while (len < size) {
		ssize_t r = read(fd, buf + len, size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shorter than it said: what there is */
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The newest boot/vmlinuz-* (by version order) beneath the rootfs, opened
 * by share_open_untrusted's rules. */
static int find_kernel(struct sandbox *sb, struct error *err)
{
	char best[256] = "", rel[300];
	struct dirent *e;
	uint64_t size;
	int fd = share_open_untrusted_dir(sb->rootfs_fd, "boot");
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0)
		close(fd);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "vmlinuz-", 8) && strlen(e->d_name) < sizeof(best) &&
		    (!best[0] || strverscmp(e->d_name, best) > 0))
			snprintf(best, sizeof(best), "%s", e->d_name);
	if (d)
		closedir(d);
	if (!best[0])
		return err_set(err, EXIT_NO_INPUT,
			       "no kernel: %s has no boot/vmlinuz-* (install linux-image-arm64 in it, or give -k IMAGE)",
			       sb->rootfs);
	snprintf(rel, sizeof(rel), "boot/%s", best);
	snprintf(sb->kernel, sizeof(sb->kernel), "%.3700s/%.300s", sb->rootfs, rel);
	sb->kernel_fd = share_open_untrusted(sb->rootfs_fd, sb->rootfs, rel, MAX_KERNEL_BYTES, &size, err);
	return sb->kernel_fd < 0 ? -1 : 0;
}

/* Where the rootfs keeps its modules: usr/lib/modules (a merged-/usr
 * Debian, whose lib is a symlink that saevm does not follow), else
 * lib/modules. */
static const char *modules_root(const struct sandbox *sb)
{
	int fd = share_open_untrusted_dir(sb->rootfs_fd, "usr/lib/modules");

	if (fd >= 0) {
		close(fd);
		return "usr/lib/modules";
	}
	return "lib/modules";
}

/* The rootfs's one modules/RELEASE, if it has exactly one. */
static bool only_modules_dir(struct sandbox *sb)
{
	struct dirent *e;
	int fd = share_open_untrusted_dir(sb->rootfs_fd, modules_root(sb)), n = 0;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && n++ == 0)
			snprintf(sb->kernel_version, sizeof(sb->kernel_version), "%.127s", e->d_name);
	closedir(d);
	if (n != 1)
		sb->kernel_version[0] = '\0';
	return n == 1;
}

/* Which modules go with the kernel: the rootfs's only set when it has
 * one (the common case, and no 30 MB scan), else the release in the
 * kernel's banner. */
static int kernel_release(struct sandbox *sb, struct error *err)
{
	struct stat st;
	void *map;
	int fd;

	if (only_modules_dir(sb))
		return 0; /* a missing kernel is the loader's error, next */
	fd = sb->kernel_fd >= 0 ? dup(sb->kernel_fd) : open(sb->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(err, EXIT_NO_INPUT, errno, "cannot open kernel %s", sb->kernel);
	if (fstat(fd, &st) < 0 || st.st_size == 0 ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return err_set(err, EXIT_NO_INPUT, "cannot read kernel %s", sb->kernel);
	}
	if (!sandbox_kernel_release(map, (size_t)st.st_size, sb->kernel_version, sizeof(sb->kernel_version)))
		sb->kernel_version[0] = '\0';
	munmap(map, (size_t)st.st_size);
	close(fd);
	return 0;
}

/* The modules the guest needs before it can mount its root, into the
 * initramfs. A module the kernel has built in is skipped. */
static int add_modules(const struct vm_config *cfg, struct sandbox *sb, struct cpio *c, struct error *err)
{
	const char *wanted[12] = { "virtio_mmio", "virtio_console" };
	unsigned nwanted = 2, n = 0;
	bool any_fs = false, any_9p = false;
	char rel[4600], *list[MAX_MODULES];
	char listing[MAX_MODULES * 96] = "";
	int r = 0, fd;

	if (cfg->ndisks)
		wanted[nwanted++] = "virtio_blk";
	if (cfg->nnics)
		wanted[nwanted++] = "virtio_net";
	if (cfg->rng)
		wanted[nwanted++] = "virtio_rng";
	if (cfg->detach) /* saevm exec's streams */
		wanted[nwanted++] = "vmw_vsock_virtio_transport";
	if (sb->overlay)
		wanted[nwanted++] = "overlay";
	for (unsigned i = 0; i < sb->nexports; i++) {
		any_fs |= sb->exports[i].fs;
		any_9p |= !sb->exports[i].fs;
	}
	if (any_fs)
		wanted[nwanted++] = "virtiofs";
	if (any_9p) {
		wanted[nwanted++] = "9pnet_virtio";
		wanted[nwanted++] = "9p";
	}
	const char *dir = sb->modules_dir, *dep = sb->modules_dep, *builtin = sb->modules_builtin;
	if (!dep) {
		log_warn("sandbox: %s has no %s/%s for kernel %s: loading no modules (the kernel must have "
			 "virtio-mmio, virtio-console and 9p built in)", sb->rootfs, modules_root(sb), sb->kernel_version,
			 sb->kernel);
		return 0;
	}
	for (unsigned i = 0; i < nwanted && r == 0; i++) {
		int found = sandbox_resolve_module(dep, wanted[i], list, &n, MAX_MODULES);
		if (found < 0)
			r = err_set(err, EXIT_NO_INPUT, "%s/%s/modules.dep: too many modules to load", sb->rootfs, dir);
		else if (found == 1 && !(builtin && builtin_has(builtin, wanted[i])))
			r = err_set(err, EXIT_NO_INPUT, "kernel %s has no module %s (in %s/%s)", sb->kernel_version, wanted[i],
				    sb->rootfs, dir);
	}
	cpio_add_dir(c, "saevm/modules", 0755);
	for (unsigned i = 0; i < n; i++) {
		char dest[128];
		const char *base = strrchr(list[i], '/');
		uint64_t size;

		base = base ? base + 1 : list[i];
		snprintf(rel, sizeof(rel), "%s/%s", dir, list[i]);
		snprintf(dest, sizeof(dest), "saevm/modules/%02u-%.100s", i, base);
		/* Each listed module beneath the modules directory: a "../" or a
		 * symlinked module is refused, never followed. */
		if (r == 0 && (fd = share_open_untrusted(sb->rootfs_fd, sb->rootfs, rel, MAX_MODULE_BYTES, &size, err)) < 0)
			r = -1;
		else if (r == 0) {
			cpio_add_file_from(c, dest, 0644, fd, (size_t)size);
			size_t at = strlen(listing);
			snprintf(listing + at, sizeof(listing) - at, "/%s\n", dest);
			close(fd);
		}
		free(list[i]);
	}
	sb->nmodules = n;
	cpio_add_file(c, "saevm/modules.list", 0644, listing, strlen(listing));
	return r;
}

/* The init's configuration: NUL-separated key=value entries. */
struct entries {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void entry(struct entries *e, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void entry(struct entries *e, const char *key, const char *fmt, ...)
{
	char value[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	size_t need = strlen(key) + 1 + (size_t)n + 1;
	if (n < 0 || (size_t)n >= sizeof(value)) {
		e->failed = true;
		return;
	}
	if (e->len + need > e->cap) {
		char *p = realloc(e->buf, e->cap = (e->len + need) * 2);
		if (!p) {
			e->failed = true;
			return;
		}
		e->buf = p;
	}
	e->len += (size_t)sprintf(e->buf + e->len, "%s=%s", key, value) + 1;
}

/* The kernel's module index (modules.dep, and modules.builtin if there is
 * one), read once into sb. No modules directory: none, and no error. */
static int read_module_index(struct sandbox *sb, struct error *err)
{
	char rel[600];
	struct error ignored = { 0 };
	int fd;

	if (!sb->kernel_version[0] || strchr(sb->kernel_version, '/'))
		return 0;
	snprintf(sb->modules_dir, sizeof(sb->modules_dir), "%s/%s", modules_root(sb), sb->kernel_version);
	if ((fd = share_open_untrusted_dir(sb->rootfs_fd, sb->modules_dir)) < 0)
		return 0;
	close(fd);
	snprintf(rel, sizeof(rel), "%s/modules.dep", sb->modules_dir);
	if (!(sb->modules_dep = read_text(sb, rel, err)))
		return -1;
	snprintf(rel, sizeof(rel), "%s/modules.builtin", sb->modules_dir);
	sb->modules_builtin = read_text(sb, rel, &ignored); /* optional; its rules hold all the same */
	if (!sb->modules_builtin && ignored.code == EXIT_UNSAFE_ROOTFS)
		return err_set(err, ignored.code, "%s", ignored.msg);
	return 0;
}

static void free_module_index(struct sandbox *sb)
{
	free(sb->modules_dep);
	free(sb->modules_builtin);
	sb->modules_dep = sb->modules_builtin = NULL;
}

/* Whether the rootfs's kernel has virtio-fs: a module in its modules.dep,
 * or built in (modules.builtin). Unknown (no modules): no. */
static bool kernel_has_virtiofs(const struct sandbox *sb)
{
	char *list[MAX_MODULES];
	unsigned n = 0;
	bool has = false;

	if (sb->modules_dep) {
		has = sandbox_resolve_module(sb->modules_dep, "virtiofs", list, &n, MAX_MODULES) == 0;
		for (unsigned i = 0; i < n; i++)
			free(list[i]);
	}
	return has || (sb->modules_builtin && builtin_has(sb->modules_builtin, "virtiofs"));
}

/* guest: where it is mounted; NULL: at the host's path. */
static int add_export(struct sandbox *sb, const char *host, const char *guest, const char *tag, bool ro, bool fs,
		      enum share_cache cache, struct error *err)
{
	struct sandbox_export *x = &sb->exports[sb->nexports];
	char real[PATH_MAX];

	if (!realpath(host, real) || !is_dir(real))
		return err_errno(err, EXIT_NO_INPUT, errno ? errno : ENOTDIR, "cannot share %s", host);
	snprintf(x->host, sizeof(x->host), "%s", real);
	snprintf(x->guest, sizeof(x->guest), "%s", guest ? guest : real);
	snprintf(x->tag, sizeof(x->tag), "%s", tag);
	x->read_only = ro;
	x->fs = fs;
	x->cache = cache;
	sb->nexports++;
	return 0;
}

/* What one command gets, but its directory and ids: the terminal, TERM
 * and LANG, the arguments (none: an interactive shell). */
static void command_entries(struct entries *e, bool tty, unsigned rows, unsigned cols, char *const *argv, int argc)
{
	if (tty) {
		entry(e, "tty", "1");
		entry(e, "rows", "%u", rows);
		entry(e, "cols", "%u", cols);
	}
	if (getenv("TERM"))
		entry(e, "term", "%s", getenv("TERM"));
	if (getenv("LANG"))
		entry(e, "env", "LANG=%s", getenv("LANG"));
	if (argc > 0)
		for (int i = 0; i < argc; i++)
			entry(e, "arg", "%s", argv[i]);
	else { /* no command: the user's shell of choice, as a login shell would be */
		entry(e, "arg", "/bin/sh");
		entry(e, "arg", "-i");
	}
}

char *sandbox_command_request(const char *cwd, char *const *argv, int argc, bool tty, unsigned rows, unsigned cols,
			      size_t *len)
{
	struct entries e = { 0 };

	entry(&e, "uid", "%u", (unsigned)getuid());
	entry(&e, "gid", "%u", (unsigned)getgid());
	entry(&e, "cwd", "%s", cwd);
	command_entries(&e, tty, rows, cols, argv, argc);
	if (e.failed) {
		free(e.buf);
		return NULL;
	}
	*len = e.len;
	return e.buf;
}

int sandbox_write_share_map(const struct sandbox *sb, const char *path, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	for (unsigned i = 0; ok && i < sb->nexports; i++) {
		const struct sandbox_export *x = &sb->exports[i];
		if (!strcmp(x->tag, SANDBOX_ROOT_TAG))
			continue;
		ok = write(fd, x->host, strlen(x->host) + 1) == (ssize_t)strlen(x->host) + 1 &&
		     write(fd, x->guest, strlen(x->guest) + 1) == (ssize_t)strlen(x->guest) + 1;
	}
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	return ok ? 0 : err_errno(err, EXIT_HOST_ERROR, errno, "cannot write %s", path);
}

bool sandbox_map_dir(const char *map, size_t len, const char *dir, char *out, size_t size)
{
	size_t best = 0;
	bool found = false;

	for (const char *p = map, *end = map + len; p < end;) {
		const char *host = p, *hz = memchr(p, '\0', (size_t)(end - p));
		const char *guest = hz ? hz + 1 : end, *gz = guest < end ? memchr(guest, '\0', (size_t)(end - guest)) : NULL;
		if (!gz)
			break;
		p = gz + 1;
		/* dir is the share's directory or beneath it; the deepest share wins */
		size_t hl = strcmp(host, "/") ? (size_t)(hz - host) : 0;
		if (strncmp(dir, host, hl) || (dir[hl] && dir[hl] != '/') || (found && hl <= best))
			continue;
		const char *rest = dir + hl; /* "" or "/..." */
		int n = snprintf(out, size, "%s%s", *rest && !strcmp(guest, "/") ? "" : guest, rest);
		if (n > 0 && (size_t)n < size) {
			best = hl;
			found = true;
		}
	}
	return found;
}

int sandbox_prepare(const struct vm_config *cfg, struct sandbox *sb, struct error *err)
{
	struct entries conf = { 0 };
	char cwd[PATH_MAX];
	struct cpio c;
	unsigned rows = 0, cols = 0;
	int r;

	memset(sb, 0, sizeof(*sb));
	sb->initrd_fd = sb->rootfs_fd = sb->kernel_fd = sb->serving_fd = -1;
	atomic_store(&sb->command_status, -1);
	if (cfg->rootfs)
		snprintf(sb->rootfs, sizeof(sb->rootfs), "%s", cfg->rootfs);
	else if (sandbox_default_rootfs(sb->rootfs, sizeof(sb->rootfs)) < 0)
		return err_set(err, EXIT_USAGE, "the default root filesystem's path is too long (give --rootfs)");
	if (!is_dir(sb->rootfs) || (sb->rootfs_fd = open(sb->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(err, EXIT_NO_INPUT,
			       "no root filesystem at %s: make one with `saevm-mkrootfs %s`, or give --rootfs DIR "
			       "(saevm help sandbox)", sb->rootfs, sb->rootfs);
	if (cfg->kernel_path)
		snprintf(sb->kernel, sizeof(sb->kernel), "%s", cfg->kernel_path);
	else if (find_kernel(sb, err) < 0)
		return -1;
	if (kernel_release(sb, err) < 0)
		return -1;
	/* The rootfs is the guest's to read, not to change: it is served
	 * read-only and is the lower layer of an overlay whose upper layer is
	 * the guest's tmpfs, so the sandbox can write anywhere and its changes
	 * last as long as it does. --rootfs-writable serves it read-write. */
	sb->overlay = !cfg->rootfs_writable;
	if (cfg->rootfs_writable && access(sb->rootfs, W_OK) != 0)
		return err_errno(err, EXIT_NO_INPUT, errno, "--rootfs-writable: cannot write %s", sb->rootfs);
	if (!getcwd(cwd, sizeof(cwd)))
		return err_errno(err, EXIT_HOST_ERROR, errno, "getcwd");
	/* The shares: the root, the working directory at its own path, then
	 * each --share; over virtio-fs when the kernel has it (it caches
	 * attributes and entries, writes in 1 MiB requests), else 9p. */
	if (read_module_index(sb, err) < 0)
		return -1;
	bool has_fs = kernel_has_virtiofs(sb);
	bool fs = cfg->share_proto == SHARE_PROTO_FS || (cfg->share_proto == SHARE_PROTO_AUTO && has_fs);
	if ((cfg->share_proto == SHARE_PROTO_FS || sandbox_any_share_proto(cfg, SHARE_PROTO_FS)) && !has_fs)
		log_warn("sandbox: virtio-fs asked for, but %s has no virtiofs module for kernel %s: the guest must have it "
			 "built in", sb->rootfs, sb->kernel_version[0] ? sb->kernel_version : "(unknown)");
	/* A read-only rootfs is cached for good (virtio-fs `always`: names,
	 * attributes and the page cache kept across opens): every command
	 * execs its programs and libraries from it, and re-reading libc at
	 * each exec made small-file work over virtio-fs slower than 9p's
	 * cache=loose. The working directory and the --share's, which the
	 * host changes under the guest, stay `auto` (1 s). */
	if ((r = add_export(sb, sb->rootfs, "/", SANDBOX_ROOT_TAG, sb->overlay, fs,
			    sb->overlay ? SHARE_CACHE_ALWAYS : SHARE_CACHE_AUTO, err)) < 0)
		return r;
	if (strcmp(cwd, "/") && (r = add_export(sb, cwd, cwd, SANDBOX_CWD_TAG, false, fs, SHARE_CACHE_AUTO, err)) < 0)
		return r;
	entry(&conf, "rootproto", "%s", fs ? "fs" : "9p");
	entry(&conf, "uid", "%u", (unsigned)getuid());
	entry(&conf, "gid", "%u", (unsigned)getgid());
	entry(&conf, "cwd", "%s", cwd);
	entry(&conf, "msize", "%s", MSIZE);
	if (sb->overlay)
		entry(&conf, "root", "overlay");
	if (strcmp(cwd, "/"))
		entry(&conf, "share", "%s\t%s\trw\t%s", SANDBOX_CWD_TAG, cwd, fs ? "fs" : "9p");
	for (unsigned i = 0; i < cfg->nshares; i++) {
		const struct share_config *sh = &cfg->shares[i];
		bool sh_fs = sh->proto == SHARE_PROTO_AUTO ? fs : sh->proto == SHARE_PROTO_FS;
		char tag[33];
		snprintf(tag, sizeof(tag), "saevm-share%u", i);
		if ((r = add_export(sb, sh->host, sh->guest[0] ? sh->guest : NULL, tag, sh->read_only, sh_fs, sh->cache,
				    err)) < 0)
			return r;
		entry(&conf, "share", "%s\t%s\t%s\t%s", tag,
		      sh->guest[0] ? sh->guest : sb->exports[sb->nexports - 1].host, sh->read_only ? "ro" : "rw",
		      sh_fs ? "fs" : "9p");
	}
	/* One object, one set of rules: no file writable through two shares. */
	{
		const char *paths[SANDBOX_MAX_EXPORTS], *what[SANDBOX_MAX_EXPORTS];
		bool ro[SANDBOX_MAX_EXPORTS];
		for (unsigned i = 0; i < sb->nexports; i++) {
			paths[i] = sb->exports[i].host;
			ro[i] = sb->exports[i].read_only;
			if (!strcmp(sb->exports[i].tag, SANDBOX_ROOT_TAG))
				what[i] = "the root filesystem";
			else if (!strcmp(sb->exports[i].tag, SANDBOX_CWD_TAG))
				what[i] = "the working directory";
			else
				what[i] = "--share";
		}
		if (share_check_overlap(paths, ro, what, sb->nexports, err) < 0) {
			free(conf.buf);
			return -1;
		}
	}
	/* A pseudo-terminal only when both ends are terminals: output sent to
	 * a file or pipe stays the command's exact bytes, stderr apart. */
	sb->tty = !cfg->detach && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (sb->tty) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			rows = ws.ws_row;
			cols = ws.ws_col;
		}
	}
	if (cfg->detach) /* no command of its own: saevm exec's, over vsock */
		entry(&conf, "serve", "1");
	else
		command_entries(&conf, sb->tty, rows, cols, cfg->command, cfg->command_argc);
	if (conf.failed) {
		free(conf.buf);
		return err_set(err, EXIT_USAGE, "the command line or a path is too long for the sandbox");
	}
	/* The initramfs. */
	if (cpio_begin(&c, err) < 0) {
		free(conf.buf);
		return -1;
	}
	cpio_add_dir(&c, "dev", 0755);
	cpio_add_char_dev(&c, "dev/console", 0600, 5, 1);
	cpio_add_dir(&c, "proc", 0755);
	cpio_add_dir(&c, "sys", 0755);
	cpio_add_dir(&c, "newroot", 0755);
	cpio_add_dir(&c, "saevm", 0755);
	cpio_add_file(&c, "init", 0755, saevm_init_blob, (size_t)(saevm_init_blob_end - saevm_init_blob));
	cpio_add_file(&c, "saevm/config", 0644, conf.buf, conf.len);
	free(conf.buf);
	r = add_modules(cfg, sb, &c, err);
	free_module_index(sb);
	if (r < 0) {
		close(c.fd);
		return -1;
	}
	if ((sb->initrd_fd = cpio_end(&c, err)) < 0)
		return -1;
	/* The kernel's own console is the UART, which the sandbox writes to
	 * --console-log or nowhere: quiet when nobody reads it, so the boot
	 * does not spend time on it. A panic resets (panic=-1), which ends
	 * saevm. */
	int n = snprintf(sb->cmdline, sizeof(sb->cmdline), "console=ttyS0%s panic=-1%s%s",
			 cfg->console_log ? "" : " quiet", cfg->params ? " " : "", cfg->params ? cfg->params : "");
	if (n < 0 || (size_t)n >= sizeof(sb->cmdline))
		return err_set(err, EXIT_USAGE, "the kernel command line is too long");
	log_info("sandbox: root %s, kernel %s (%s), %u modules, %u shares over %s", sb->rootfs, sb->kernel,
		 sb->kernel_version[0] ? sb->kernel_version : "unknown release", sb->nmodules, sb->nexports,
		 fs ? "virtio-fs" : "virtio-9p");
	return 0;
}

bool sandbox_any_share_proto(const struct vm_config *cfg, enum share_proto proto)
{
	for (unsigned i = 0; i < cfg->nshares; i++)
		if (cfg->shares[i].proto == proto)
			return true;
	return false;
}

void sandbox_release(struct sandbox *sb)
{
	free_module_index(sb);
	if (sb->rootfs_fd >= 0)
		close(sb->rootfs_fd);
	if (sb->kernel_fd >= 0)
		close(sb->kernel_fd);
	sb->rootfs_fd = sb->kernel_fd = -1;
	if (sb->initrd_fd >= 0)
		close(sb->initrd_fd);
	sb->initrd_fd = -1;
	if (sb->serving_fd >= 0)
		close(sb->serving_fd);
	sb->serving_fd = -1;
}

void sandbox_serving(struct sandbox *sb)
{
	char up = 1;

	if (sb->serving_fd < 0)
		return;
	if (write(sb->serving_fd, &up, 1) < 0)
		log_debug("sandbox: cannot say it is up: %s", strerror(errno));
	close(sb->serving_fd);
	sb->serving_fd = -1;
}

void sandbox_command_exited(struct sandbox *sb, int status)
{
	int none = -1;
	atomic_compare_exchange_strong(&sb->command_status, &none, status);
}
