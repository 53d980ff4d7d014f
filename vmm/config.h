/* config.h - everything a `saevm run` needs to know, filled by the CLI
 * (vmm/cli.c) and, later, the config file. Plain data. */
#ifndef SAEVM_CONFIG_H
#define SAEVM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "host.h"
#include "log.h"

#define VM_DEFAULT_MEM (256ULL << 20)
#define VM_MIN_MEM (8ULL << 20)
#define VM_MAX_MEM (1ULL << 40)
#define VM_MAX_CPUS 512
#define VM_MAX_PARAMS 2047 /* arm64 COMMAND_LINE_SIZE is 2048 with the NUL */

#define VM_MAX_DISKS 8
#define DISK_ID_MAX 20 /* VIRTIO_BLK_ID_BYTES */

struct disk_config {
	char path[4096];
	char id[DISK_ID_MAX + 1]; /* "" = derived from the path */
	bool read_only;
	bool direct;              /* O_DIRECT: bypass the host page cache */
};

enum console_kind { CONSOLE_SERIAL, CONSOLE_VIRTIO };
/* vCPU features saevm enables where the host has them (--cpu-features). */
enum cpu_feature { CPU_FEATURE_PAUTH = 1, CPU_FEATURE_SVE = 2, CPU_FEATURE_PMU = 4, CPU_FEATURE_PVTIME = 8 };

#define VM_MAX_NICS 4
#define NIC_MAX_HOSTFWD 16

enum nic_kind { NIC_USER, NIC_TAP };

/* hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU's. */
struct hostfwd {
	bool udp;
	uint32_t host_addr;  /* network byte order; 0 = any */
	uint16_t host_port;
	uint32_t guest_addr; /* network byte order; 0 = the first DHCP address */
	uint16_t guest_port;
	char text[80];       /* as the user wrote it, for messages */
};

struct nic_config {
	enum nic_kind kind;
	uint8_t mac[6];
	bool mac_set;            /* else derived from --name and the NIC's index */
	/* user */
	uint32_t net, mask;      /* network byte order; default 10.0.2.0/24 */
	unsigned nfwd;
	struct hostfwd fwd[NIC_MAX_HOSTFWD];
	/* tap */
	char ifname[16];
};

#define VM_MAX_SHARES 8

/* --share HOSTDIR[=GUESTDIR][,ro]: a host directory over virtio-9p. */
/* How a share reaches the guest: virtio-fs (FUSE) or virtio-9p. AUTO:
 * saevm run offers 9p (mount -t 9p), a sandbox virtio-fs when its kernel
 * has it. */
enum share_proto { SHARE_PROTO_AUTO, SHARE_PROTO_9P, SHARE_PROTO_FS };
/* virtio-fs: how long the guest trusts what it was told (devices/share/
 * fuse_server.h): auto 1 s, never 0, always a day. */
enum share_cache { SHARE_CACHE_AUTO, SHARE_CACHE_NEVER, SHARE_CACHE_ALWAYS };

struct share_config {
	char host[4096];
	char guest[4096];        /* sandbox: where it is mounted; "" = the host path */
	bool read_only;
	enum share_proto proto;
	enum share_cache cache;
};

enum vm_action { ACTION_RUN, ACTION_SANDBOX, ACTION_HELP, ACTION_VERSION, ACTION_HELP_EXIT_CODES, ACTION_HELP_SANDBOX, ACTION_LIST, ACTION_CONTROL, ACTION_EXEC };

struct vm_config {
	enum vm_action action;
	const char *kernel_path;
	const char *initrd_path;
	const char *params;      /* kernel command line as the user gave it */
	const char *name;        /* NULL: saevm-<pid> */
	const char *dump_dtb_path;
	const char *kvm_device;  /* NULL: /dev/kvm-arm64 if present, else /dev/kvm */
	uint64_t mem_bytes;
	unsigned cpus;
	enum irqchip_request irqchip;
	enum host_profile host_profile;
	unsigned cpu_features_off; /* CPU_FEATURE_* bits the user turned off */
	bool reboot;             /* a guest reset reboots instead of exiting */
	struct disk_config disks[VM_MAX_DISKS];
	unsigned ndisks;
	enum console_kind console;
	struct nic_config nics[VM_MAX_NICS];
	unsigned nnics;
	bool rng;                /* virtio-rng (default on) */
	bool nodefaults;         /* run: nothing added to -p, no device not asked for (no RNG) */
	const char *console_log; /* everything the guest printed, also to this file */
	const char *exit_on_console; /* --exit-on-console PATTERN (checked by the CLI), or NULL */
	unsigned timeout_s;      /* 0: none */
	unsigned vsock_cid;      /* --vsock: the guest's CID (3 and up), 0: no virtio-vsock */
	bool stats;              /* per-device counters on stderr at exit */
	bool no_seccomp;         /* run without the seccomp filter */
	const char *config_path; /* --config, for messages */
	const char *control_command; /* ACTION_CONTROL: stop, pause or resume (of `name`) */
	/* saevm sandbox */
	const char *rootfs;      /* NULL: the default (vmm/sandbox.h) */
	bool rootfs_writable;    /* sandbox: serve the rootfs read-write, no overlay */
	bool detach;             /* sandbox: stay up in the background for saevm exec */
	enum share_proto share_proto; /* sandbox: its shares' protocol, unless a --share says */
	struct share_config shares[VM_MAX_SHARES];
	unsigned nshares;
	char *const *command;    /* the command and its arguments; NULL: a shell */
	int command_argc;
	char *owned[48];         /* strings a config file gave (vm_config_free frees) */
	unsigned nowned;
	enum log_level log_level;
};

void vm_config_defaults(struct vm_config *cfg);
/* A copy of s that lives as long as cfg; NULL when out of room. */
char *vm_config_keep(struct vm_config *cfg, const char *s);
void vm_config_free(struct vm_config *cfg);

#endif
