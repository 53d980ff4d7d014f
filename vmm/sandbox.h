/* sandbox.h - what `saevm sandbox` adds to a VM's life (vmm/main.c): it
 * finds the root filesystem and its kernel, writes an initramfs in memory
 * (saevm's own arm64 init, guest/sandbox_init.c, the modules the guest
 * needs from the rootfs's /lib/modules, and the command to run), and says
 * which directories the machine shares over virtio-9p. The machine
 * (vmm/machine.c) then adds the shares and the stdio channel; the
 * command's exit status comes back through sandbox_command_exited(). */
#ifndef SAEVM_SANDBOX_H
#define SAEVM_SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

#define SANDBOX_MAX_EXPORTS (VM_MAX_SHARES + 2) /* the root, the cwd, the --share's */
#define SANDBOX_ROOT_TAG "saevm-root"
#define SANDBOX_CWD_TAG "saevm-cwd"

struct sandbox_export {
	char host[4096];
	char guest[4096];        /* where the guest mounts it */
	char tag[33];
	bool read_only;
	bool fs;                 /* virtio-fs, else virtio-9p */
	enum share_cache cache;  /* virtio-fs */
};

struct sandbox {
	char rootfs[4096];
	char kernel[4096];
	char kernel_version[128];
	char cmdline[VM_MAX_PARAMS + 1];
	int initrd_fd;           /* the initramfs, a memfd */
	int rootfs_fd;           /* O_PATH: what saevm reads from the rootfs, it reads beneath this */
	int kernel_fd;           /* the rootfs's boot/vmlinuz-*, opened beneath it; -1 with -k */
	/* The kernel's modules directory in the rootfs and its index, read
	 * once: a rootfs the guest may write can change between two reads.
	 * NULL dep: no modules directory. Freed once the initramfs is made. */
	char modules_dir[300];
	char *modules_dep, *modules_builtin;
	struct sandbox_export exports[SANDBOX_MAX_EXPORTS];
	unsigned nexports;
	unsigned nmodules;
	bool tty;                /* stdin and stdout are terminals: the command gets a pseudo-terminal */
	bool overlay;            /* the rootfs is served read-only: the guest writes to a tmpfs above it */
	atomic_int command_status; /* -1 until the guest's init reports it */
	int serving_fd;          /* --detach: told once the init takes exec streams, then closed; else -1 */
};

/* Everything before the VM exists: bad input fails here, with exit codes
 * of saevm run (main maps them to 125). sandbox_release frees what it
 * made, whether it succeeded or not. */
int sandbox_prepare(const struct vm_config *cfg, struct sandbox *sb, struct error *err);
void sandbox_release(struct sandbox *sb);

/* The default root filesystem: $XDG_DATA_HOME/saevm/rootfs, else
 * ~/.local/share/saevm/rootfs. */
int sandbox_default_rootfs(char *buf, size_t size);

/* Whether a --share asked for `proto`. */
bool sandbox_any_share_proto(const struct vm_config *cfg, enum share_proto proto);

/* ---- sandboxes that stay up (--detach) and saevm exec ----
 *
 * The share map: for each share but the root, its host directory and its
 * guest path, each NUL-ended, in the control directory's NAME.shares (0600),
 * which saevm exec reads to find where the caller's directory is in the
 * guest. */
int sandbox_write_share_map(const struct sandbox *sb, const char *path, struct error *err);
/* The guest path of the host directory `dir` by a share map's text, into
 * out; false when `dir` is in no share. Pure, for tests. */
bool sandbox_map_dir(const char *map, size_t len, const char *dir, char *out, size_t size);
/* The configuration of one command, as an exec stream's REQUEST frames
 * carry it (the init's key=value entries): the caller's uid and gid, the
 * directory, the terminal, TERM and LANG, the arguments. malloc'd, NULL
 * when out of memory or too long. */
char *sandbox_command_request(const char *cwd, char *const *argv, int argc, bool tty, unsigned rows, unsigned cols,
			      size_t *len);

/* --detach: the guest's init takes exec streams; tells serving_fd. */
void sandbox_serving(struct sandbox *sb);

/* The guest's init reported the command's status. */
void sandbox_command_exited(struct sandbox *sb, int status);

/* The kernel release in an arm64 Image ("6.1.0-27-arm64"), from its
 * "Linux version " banner; false when there is none. Pure, for tests. */
bool sandbox_kernel_release(const void *image, size_t len, char *out, size_t size);

/* The .ko paths (relative to the modules directory) that load `name`,
 * dependencies first, from a modules.dep text; appends to list[*n] (at
 * most max). 0 found, 1 not there, -1 too many. Pure, for tests. */
int sandbox_resolve_module(const char *modules_dep, const char *name, char **list, unsigned *n, unsigned max);

#endif
