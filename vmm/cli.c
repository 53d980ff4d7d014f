#include "cli.h"

#include "config_file.h"
#include "console_exit.h"
#include "control.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

void vm_config_defaults(struct vm_config *cfg)
{
	/* The disk, NIC and share tables (about 140 KiB of paths) are not
	 * cleared: an entry is cleared when it is added, nothing reads past
	 * ndisks, nnics or nshares, and pages never written stay out of the
	 * VMM's resident memory. */
	memset(cfg, 0, offsetof(struct vm_config, disks));
	cfg->ndisks = 0;
	memset(&cfg->console, 0, offsetof(struct vm_config, nics) - offsetof(struct vm_config, console));
	cfg->nnics = 0;
	memset(&cfg->rng, 0, offsetof(struct vm_config, shares) - offsetof(struct vm_config, rng));
	memset(&cfg->nshares, 0, sizeof(*cfg) - offsetof(struct vm_config, nshares));
	cfg->action = ACTION_RUN;
	cfg->mem_bytes = VM_DEFAULT_MEM;
	cfg->cpus = 1;
	cfg->irqchip = IRQCHIP_AUTO;
	cfg->host_profile = HOST_PROFILE_AUTO;
	cfg->log_level = LOG_WARN;
	cfg->console = CONSOLE_SERIAL;
	cfg->rng = true;
}

char *vm_config_keep(struct vm_config *cfg, const char *s)
{
	char *copy;

	if (cfg->nowned == sizeof(cfg->owned) / sizeof(cfg->owned[0]) || !(copy = strdup(s)))
		return NULL;
	cfg->owned[cfg->nowned++] = copy;
	return copy;
}

void vm_config_free(struct vm_config *cfg)
{
	while (cfg->nowned)
		free(cfg->owned[--cfg->nowned]);
}

int cli_parse_size(const char *text, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long n;
	const char *u;
	char *end;
	unsigned shift = 20; /* no unit: MiB, as kvmtool */

	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (strcmp(end, "") && strcasecmp(end, "iB") && strcasecmp(end, "B"))
			return -1;
	}
	if (n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

static int parse_uint(const char *text, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* ---- the option table: one row per option, shared with the config file ---- */

typedef int (*option_setter)(struct vm_config *cfg, const char *value, struct error *err);

static int set_kernel(struct vm_config *c, const char *v, struct error *e) { (void)e; c->kernel_path = v; return 0; }
static int set_initrd(struct vm_config *c, const char *v, struct error *e) { (void)e; c->initrd_path = v; return 0; }
static int set_name(struct vm_config *c, const char *v, struct error *e)
{
	if (control_check_name(v, e) < 0)
		return -1;
	c->name = v;
	return 0;
}
static int set_dump_dtb(struct vm_config *c, const char *v, struct error *e) { (void)e; c->dump_dtb_path = v; return 0; }
static int set_kvm_dev(struct vm_config *c, const char *v, struct error *e) { (void)e; c->kvm_device = v; return 0; }
static int set_reboot(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->reboot = true; return 0; }
static int set_help(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->action = ACTION_HELP; return 0; }

static int set_params(struct vm_config *c, const char *v, struct error *e)
{
	if (strlen(v) > VM_MAX_PARAMS)
		return err_set(e, EXIT_USAGE, "--params is %zu characters; the arm64 kernel takes at most %d",
			       strlen(v), VM_MAX_PARAMS);
	c->params = v;
	return 0;
}

static int set_mem(struct vm_config *c, const char *v, struct error *e)
{
	uint64_t bytes;

	if (cli_parse_size(v, &bytes) < 0)
		return err_set(e, EXIT_USAGE, "--mem '%s' is not a size (examples: 256, 512M, 2G)", v);
	if (bytes % (1ULL << 20))
		return err_set(e, EXIT_USAGE, "--mem '%s' is not a whole number of MiB", v);
	if (bytes < VM_MIN_MEM || bytes > VM_MAX_MEM)
		return err_set(e, EXIT_USAGE, "--mem '%s' is out of range (%llu MiB to %llu GiB)", v,
			       VM_MIN_MEM >> 20, VM_MAX_MEM >> 30);
	c->mem_bytes = bytes;
	return 0;
}

static int set_cpus(struct vm_config *c, const char *v, struct error *e)
{
	unsigned n;

	if (parse_uint(v, VM_MAX_CPUS, &n) < 0 || n == 0)
		return err_set(e, EXIT_USAGE, "--cpus '%s' must be a number from 1 to %d", v, VM_MAX_CPUS);
	c->cpus = n;
	return 0;
}

/* Which of `names` (NULL-terminated) `v` is, or -1 after an error
 * "--OPTION 'v': expected a, b or c". */
static int choose(const char *option, const char *v, const char *const *names, struct error *e)
{
	char expected[96] = "";
	unsigned n = 0;

	for (; names[n]; n++)
		if (!strcmp(v, names[n]))
			return (int)n;
	for (unsigned i = 0; i < n; i++)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
			 i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	return err_set(e, EXIT_USAGE, "--%s '%s': expected %s", option, v, expected);
}

static int set_irqchip(struct vm_config *c, const char *v, struct error *e)
{
	/* in the order of enum irqchip_request */
	static const char *const names[] = { "auto", "gicv3", "gicv2", "none", NULL };
	int i = choose("irqchip", v, names, e);

	if (i >= 0)
		c->irqchip = (enum irqchip_request)i;
	return i < 0 ? -1 : 0;
}

static int set_host_profile(struct vm_config *c, const char *v, struct error *e)
{
	static const char *const names[] = { "auto", "s390", NULL }; /* enum host_profile */
	int i = choose("host-profile", v, names, e);

	if (i >= 0)
		c->host_profile = (enum host_profile)i;
	return i < 0 ? -1 : 0;
}

/* --cpu-features all|none|[no]pauth,[no]sve,[no]pmu,[no]pvtime: later words win. */
static int set_cpu_features(struct vm_config *c, const char *v, struct error *e)
{
	static const struct { const char *name; unsigned bits; } words[] = {
		{ "all", CPU_FEATURE_PAUTH | CPU_FEATURE_SVE | CPU_FEATURE_PMU | CPU_FEATURE_PVTIME },
		{ "pauth", CPU_FEATURE_PAUTH }, { "sve", CPU_FEATURE_SVE }, { "pmu", CPU_FEATURE_PMU },
		{ "pvtime", CPU_FEATURE_PVTIME },
	};
	const char *p = v;

	while (*p) {
		size_t whole = strcspn(p, ","), len = whole;
		const char *w = p;
		bool off = false, found = false;

		if (len > 2 && !strncmp(w, "no", 2) && strncmp(w, "none", 4)) {
			off = true;
			w += 2;
			len -= 2;
		}
		if (len == 4 && !strncmp(w, "none", 4)) {
			c->cpu_features_off = words[0].bits;
			found = true;
		}
		for (unsigned i = 0; !found && i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == len && !strncmp(w, words[i].name, len)) {
				c->cpu_features_off = off ? c->cpu_features_off | words[i].bits
							  : c->cpu_features_off & ~words[i].bits;
				found = true;
			}
		if (!found || len == 0)
			return err_set(e, EXIT_USAGE, "--cpu-features '%s': expected all, none, or a list of pauth, sve, pmu, pvtime "
				       "(each may start with no)", v);
		p += whole;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int set_log_level(struct vm_config *c, const char *v, struct error *e)
{
	static const char *const names[] = { "error", "warn", "info", "debug", NULL }; /* enum log_level */
	int i = choose("log-level", v, names, e);

	if (i >= 0)
		c->log_level = (enum log_level)i;
	return i < 0 ? -1 : 0;
}

/* -d PATH[,ro][,direct][,id=NAME] */
static int set_disk(struct vm_config *c, const char *v, struct error *e)
{
	struct disk_config *d;
	const char *comma = strchr(v, ',');
	size_t path_len = comma ? (size_t)(comma - v) : strlen(v);

	if (c->ndisks == VM_MAX_DISKS)
		return err_set(e, EXIT_USAGE, "--disk: at most %d disks", VM_MAX_DISKS);
	if (path_len == 0 || path_len >= sizeof(d->path))
		return err_set(e, EXIT_USAGE, "--disk '%s': expected PATH[,ro][,direct][,id=NAME]", v);
	d = &c->disks[c->ndisks];
	memset(d, 0, sizeof(*d));
	memcpy(d->path, v, path_len);
	while (comma) {
		const char *opt = comma + 1;
		size_t len;
		comma = strchr(opt, ',');
		len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (len == 2 && !strncmp(opt, "ro", 2)) {
			d->read_only = true;
		} else if (len == 6 && !strncmp(opt, "direct", 6)) {
			d->direct = true;
		} else if (len > 3 && !strncmp(opt, "id=", 3)) {
			if (len - 3 > DISK_ID_MAX)
				return err_set(e, EXIT_USAGE, "--disk '%s': id is longer than %d characters", v,
					       DISK_ID_MAX);
			memcpy(d->id, opt + 3, len - 3);
		} else {
			return err_set(e, EXIT_USAGE, "--disk '%s': unknown option '%.*s' (ro, direct, id=NAME)", v,
				       (int)len, opt);
		}
	}
	c->ndisks++;
	return 0;
}

/* HOSTDIR[=GUESTDIR][,ro][,proto=fs|9p][,cache=auto|always|never]: the
 * options are the trailing comma-separated words. */
static int set_share(struct vm_config *c, const char *v, struct error *e)
{
	static const char *const protos[] = { "auto", "9p", "fs", NULL };  /* enum share_proto */
	static const char *const caches[] = { "auto", "never", "always", NULL }; /* enum share_cache */
	struct share_config *sh;
	size_t len = strlen(v);
	const char *eq;

	if (c->nshares == VM_MAX_SHARES)
		return err_set(e, EXIT_USAGE, "--share: at most %d shares", VM_MAX_SHARES);
	sh = &c->shares[c->nshares];
	memset(sh, 0, sizeof(*sh));
	for (;;) {
		const char *comma = memrchr(v, ',', len), *w;
		size_t wl;
		int i;
		if (!comma)
			break;
		w = comma + 1;
		wl = len - (size_t)(w - v);
		if (wl == 2 && !strncmp(w, "ro", 2))
			sh->read_only = true;
		else if (wl == 0 || (wl == 2 && !strncmp(w, "rw", 2)))
			;
		else if (wl > 6 && !strncmp(w, "proto=", 6)) {
			char word[16];
			snprintf(word, sizeof(word), "%.*s", (int)(wl - 6), w + 6);
			if ((i = choose("--share proto", !strcmp(word, "virtiofs") ? "fs" : word, protos, e)) < 0)
				return -1;
			sh->proto = (enum share_proto)i;
		} else if (wl > 6 && !strncmp(w, "cache=", 6)) {
			char word[16];
			snprintf(word, sizeof(word), "%.*s", (int)(wl - 6), w + 6);
			if ((i = choose("--share cache", word, caches, e)) < 0)
				return -1;
			sh->cache = (enum share_cache)i;
		} else if (!memchr(w, '/', wl) && !memchr(w, '=', wl)) {
			return err_set(e, EXIT_USAGE, "--share '%s': unknown option '%.*s' (ro, proto=fs|9p, cache=auto|always|never)",
				       v, (int)wl, w);
		} else {
			break; /* a comma in the path */
		}
		len = (size_t)(comma - v);
	}
	eq = memchr(v, '=', len);
	size_t host_len = eq ? (size_t)(eq - v) : len, guest_len = eq ? len - host_len - 1 : 0;
	if (host_len == 0 || host_len >= sizeof(sh->host) || guest_len >= sizeof(sh->guest))
		return err_set(e, EXIT_USAGE, "--share '%s': expected HOSTDIR[=GUESTDIR][,ro][,proto=fs|9p][,cache=MODE]", v);
	memcpy(sh->host, v, host_len);
	if (eq) {
		memcpy(sh->guest, eq + 1, guest_len);
		if (sh->guest[0] != '/')
			return err_set(e, EXIT_USAGE, "--share '%s': the guest directory must be an absolute path", v);
	}
	c->nshares++;
	return 0;
}

static int set_rootfs(struct vm_config *c, const char *v, struct error *e) { (void)e; c->rootfs = v; return 0; }

static int set_console(struct vm_config *c, const char *v, struct error *e)
{
	static const char *const names[] = { "serial", "virtio", NULL }; /* enum console_kind */
	int i = choose("console", v, names, e);

	if (i >= 0)
		c->console = (enum console_kind)i;
	return i < 0 ? -1 : 0;
}

static int parse_port(const char *text, size_t len, uint16_t *out)
{
	char buf[8];
	unsigned v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	if (parse_uint(buf, 65535, &v) < 0 || v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_ipv4(const char *text, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0) {
		*out = 0;
		return 0;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (or udp:), as QEMU's hostfwd */
static int parse_hostfwd(const char *spec, size_t len, struct hostfwd *f)
{
	char s[80];
	char *hostaddr, *hostport, *dash, *guestaddr, *guestport;

	if (len >= sizeof(s))
		return -1;
	memcpy(s, spec, len);
	s[len] = 0;
	snprintf(f->text, sizeof(f->text), "%s", s);
	if (!strncmp(s, "tcp:", 4))
		f->udp = false;
	else if (!strncmp(s, "udp:", 4))
		f->udp = true;
	else
		return -1;
	hostaddr = s + 4;
	dash = strchr(hostaddr, '-');
	if (!dash)
		return -1;
	*dash = 0;
	guestaddr = dash + 1;
	hostport = strrchr(hostaddr, ':');
	guestport = strrchr(guestaddr, ':');
	if (!hostport || !guestport)
		return -1;
	*hostport++ = 0;
	*guestport++ = 0;
	return parse_ipv4(hostaddr, strlen(hostaddr), &f->host_addr) < 0 ||
	       parse_port(hostport, strlen(hostport), &f->host_port) < 0 ||
	       parse_ipv4(guestaddr, strlen(guestaddr), &f->guest_addr) < 0 ||
	       parse_port(guestport, strlen(guestport), &f->guest_port) < 0 ? -1 : 0;
}

static int parse_mac(const char *text, size_t len, uint8_t mac[6])
{
	unsigned b[6];
	char buf[18], tail;

	if (len != 17)
		return -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	if (b[0] & 1) /* a multicast address cannot be a NIC's */
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* -n user[,hostfwd=...][,net=A.B.C.D/N][,mac=..] | tap,ifname=NAME[,mac=..] | none */
static int set_net(struct vm_config *c, const char *v, struct error *e)
{
	struct nic_config *nic;
	const char *p = v, *comma;
	size_t len;

	if (!strcmp(v, "none")) {
		c->nnics = 0;
		return 0;
	}
	if (c->nnics == VM_MAX_NICS)
		return err_set(e, EXIT_USAGE, "--net: at most %d NICs", VM_MAX_NICS);
	nic = &c->nics[c->nnics];
	memset(nic, 0, sizeof(*nic));
	comma = strchr(p, ',');
	len = comma ? (size_t)(comma - p) : strlen(p);
	if (len == 4 && !strncmp(p, "user", 4)) {
		nic->kind = NIC_USER;
		nic->net = htonl(0x0a000200);   /* 10.0.2.0 */
		nic->mask = htonl(0xffffff00);  /* /24 */
	} else if (len == 3 && !strncmp(p, "tap", 3)) {
		nic->kind = NIC_TAP;
	} else {
		return err_set(e, EXIT_USAGE, "--net '%s': expected user, tap or none", v);
	}
	while (comma) {
		p = comma + 1;
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len > 8 && !strncmp(p, "hostfwd=", 8) && nic->kind == NIC_USER) {
			if (nic->nfwd == NIC_MAX_HOSTFWD)
				return err_set(e, EXIT_USAGE, "--net: at most %d hostfwd rules", NIC_MAX_HOSTFWD);
			if (parse_hostfwd(p + 8, len - 8, &nic->fwd[nic->nfwd]) < 0)
				return err_set(e, EXIT_USAGE,
					       "--net '%.*s': expected hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
					       (int)len, p);
			nic->nfwd++;
		} else if (len > 4 && !strncmp(p, "net=", 4) && nic->kind == NIC_USER) {
			const char *slash = memchr(p + 4, '/', len - 4);
			unsigned bits = 24;
			uint32_t net;
			char nb[4] = { 0 };
			if (slash && (size_t)(p + len - slash - 1) < sizeof(nb))
				memcpy(nb, slash + 1, (size_t)(p + len - slash - 1));
			if (parse_ipv4(p + 4, slash ? (size_t)(slash - (p + 4)) : len - 4, &net) < 0 || !net ||
			    (slash && (parse_uint(nb, 30, &bits) < 0 || bits < 8)))
				return err_set(e, EXIT_USAGE, "--net '%.*s': expected net=A.B.C.D/N (N from 8 to 30)",
					       (int)len, p);
			nic->mask = htonl(bits ? 0xffffffffu << (32 - bits) : 0);
			nic->net = net & nic->mask;
		} else if (len > 4 && !strncmp(p, "mac=", 4)) {
			if (parse_mac(p + 4, len - 4, nic->mac) < 0)
				return err_set(e, EXIT_USAGE, "--net '%.*s': expected mac=XX:XX:XX:XX:XX:XX (unicast)",
					       (int)len, p);
			nic->mac_set = true;
		} else if (len > 7 && !strncmp(p, "ifname=", 7) && nic->kind == NIC_TAP) {
			if (len - 7 >= sizeof(nic->ifname))
				return err_set(e, EXIT_USAGE, "--net: ifname is longer than %zu characters",
					       sizeof(nic->ifname) - 1);
			memcpy(nic->ifname, p + 7, len - 7);
		} else {
			return err_set(e, EXIT_USAGE, "--net '%s': unknown option '%.*s'", v, (int)len, p);
		}
	}
	if (nic->kind == NIC_TAP && !nic->ifname[0])
		return err_set(e, EXIT_USAGE, "--net '%s': a tap needs ifname=NAME", v);
	c->nnics++;
	return 0;
}

static int set_no_rng(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->rng = false; return 0; }
static int set_nodefaults(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->nodefaults = true; return 0; }
static int unset_nodefaults(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->nodefaults = false; return 0; }
static int unset_no_rng(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->rng = true; return 0; }
static int unset_reboot(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->reboot = false; return 0; }
static int set_stats(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->stats = true; return 0; }
static int unset_stats(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->stats = false; return 0; }
static int set_no_seccomp(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->no_seccomp = true; return 0; }
static int unset_no_seccomp(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->no_seccomp = false; return 0; }
static int set_share_proto(struct vm_config *c, const char *v, struct error *e)
{
	static const char *const names[] = { "auto", "9p", "fs", NULL }; /* enum share_proto */
	int i = choose("share-proto", !strcmp(v, "virtiofs") ? "fs" : v, names, e);

	if (i >= 0)
		c->share_proto = (enum share_proto)i;
	return i < 0 ? -1 : 0;
}
static int set_rootfs_writable(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->rootfs_writable = true; return 0; }
static int unset_rootfs_writable(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->rootfs_writable = false; return 0; }
static int set_console_log(struct vm_config *c, const char *v, struct error *e) { (void)e; c->console_log = v; return 0; }
static int set_exit_on_console(struct vm_config *c, const char *v, struct error *e)
{
	struct console_exit check;

	if (console_exit_init(&check, v, e) < 0)
		return -1;
	c->exit_on_console = v;
	return 0;
}
static int set_config(struct vm_config *c, const char *v, struct error *e) { (void)e; c->config_path = v; return 0; }

static int set_timeout(struct vm_config *c, const char *v, struct error *e)
{
	if (parse_uint(v, 7 * 24 * 3600, &c->timeout_s) < 0 || c->timeout_s == 0)
		return err_set(e, EXIT_USAGE, "--timeout '%s': expected whole seconds from 1 to 604800", v);
	return 0;
}

static int set_detach(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->detach = true; return 0; }
static int unset_detach(struct vm_config *c, const char *v, struct error *e) { (void)v; (void)e; c->detach = false; return 0; }

static int set_vsock(struct vm_config *c, const char *v, struct error *e)
{
	if (parse_uint(v, 0xfffffffeu, &c->vsock_cid) < 0 || c->vsock_cid < 3)
		return err_set(e, EXIT_USAGE, "--vsock '%s': expected the guest's CID, from 3 to 4294967294", v);
	return 0;
}

struct option_def {
	const char *long_name;
	char short_name;   /* 0: none */
	bool takes_value;
	option_setter set;
	option_setter unset; /* flags: "= false" in a config file */
	const char *value_name;
	const char *help;
};

static const struct option_def options[] = {
	{ "kernel", 'k', true, set_kernel, NULL, "IMAGE", "arm64 kernel Image to boot (raw, uncompressed)" },
	{ "initrd", 'i', true, set_initrd, NULL, "FILE", "initial ramdisk (cpio, compressed or not)" },
	{ "params", 'p', true, set_params, NULL, "CMDLINE", "kernel command line; console=ttyS0 (console=hvc0 with --console virtio) is added only when\n"
	  "                               it names no console=; with --console virtio, console=ttyS0 also goes first" },
	{ "mem", 'm', true, set_mem, NULL, "SIZE", "guest RAM: MiB, or with K/M/G/T (default 256M)" },
	{ "cpus", 'c', true, set_cpus, NULL, "N", "number of vCPUs (default 1)" },
	{ "disk", 'd', true, set_disk, NULL, "PATH[,ro][,direct][,id=NAME]", "virtio-blk disk: a raw image or block device (up to 8)" },
	{ "net", 'n', true, set_net, NULL, "SPEC",
	  "a virtio-net NIC, up to 4: user[,hostfwd=tcp:[ADDR]:PORT-[ADDR]:PORT][,net=10.0.2.0/24][,mac=M],\n"
	  "                               tap,ifname=NAME[,mac=M], or none. Default: no NIC" },
	{ "share", 0, true, set_share, NULL, "HOSTDIR[=GUESTDIR][,ro][,proto=fs|9p][,cache=auto|always|never]",
	  "a host directory (up to 8; tag saevm-share0...) over virtio-9p, or virtio-fs with proto=fs\n"
	  "                               (run: 9p unless proto=fs; sandbox: virtio-fs when the guest kernel has it);\n"
	  "                               sandbox: mounted at GUESTDIR, else at the same path" },
	{ "rootfs", 0, true, set_rootfs, NULL, "DIR", "sandbox: the arm64 root filesystem (default ~/.local/share/saevm/rootfs)" },
	{ "share-proto", 0, true, set_share_proto, NULL, "PROTO",
	  "sandbox: auto (virtio-fs when the guest kernel has it, else 9p; the default), fs or 9p for\n"
	  "                               the rootfs, the working directory and every --share without proto=" },
	{ "rootfs-writable", 0, false, set_rootfs_writable, unset_rootfs_writable, NULL,
	  "sandbox: the guest writes the rootfs itself (default: it is served read-only, the guest's\n"
	  "                               changes go to an overlay in its RAM and end with it)" },
	{ "detach", 0, false, set_detach, unset_detach, NULL,
	  "sandbox: stay up in the background (after CMD, if given) until saevm stop NAME or --timeout;\n"
	  "                               run commands in it with saevm exec NAME -- CMD" },
	{ "console", 0, true, set_console, NULL, "KIND", "serial (ttyS0, default) or virtio (hvc0; the UART stays for earlycon)" },
	{ "no-rng", 0, false, set_no_rng, unset_no_rng, NULL, "no virtio-rng entropy device (default: one, fed by getrandom)" },
	{ "nodefaults", 0, false, set_nodefaults, unset_nodefaults, NULL,
	  "run: add nothing to -p (no console=) and no device not asked for (no virtio-rng), as\n"
	  "                               kvmtool's option: for bare-metal tests that read every word of their command line" },
	{ "name", 0, true, set_name, NULL, "NAME", "a name for this VM (default saevm-PID; its control socket's name)" },
	{ "config", 0, true, set_config, NULL, "FILE", "read options from FILE (see vmm.conf.example); the command line wins" },
	{ "console-log", 0, true, set_console_log, NULL, "FILE", "also write everything the guest prints to FILE" },
	{ "exit-on-console", 0, true, set_exit_on_console, NULL, "PATTERN",
	  "exit when the guest prints PATTERN and a number, with that number (mod 256) as the status;\n"
	  "                               kvm-unit-tests: its 'EXIT: STATUS=N', decoded as its runner does (N >> 1)" },
	{ "vsock", 0, true, set_vsock, NULL, "CID",
	  "a virtio-vsock device, the guest's CID (3 is usual): guest connections to the host's port P\n"
	  "                               go to the Unix socket NAME.vsock_P in the control directory; host programs\n"
	  "                               connect to NAME.vsock and write 'CONNECT P\\n' to reach the guest's port P" },
	{ "timeout", 0, true, set_timeout, NULL, "SECONDS", "stop the VM after SECONDS (exit code 85)" },
	{ "stats", 0, false, set_stats, unset_stats, NULL, "print per-device counters on stderr at exit" },
	{ "no-seccomp", 0, false, set_no_seccomp, unset_no_seccomp, NULL, "run without the seccomp system-call filter" },
	{ "irqchip", 0, true, set_irqchip, NULL, "KIND", "auto (GICv3, else GICv2, else none), gicv3, gicv2, none" },
	{ "dump-dtb", 0, true, set_dump_dtb, NULL, "FILE", "write the device tree blob to FILE and exit" },
	{ "reboot", 0, false, set_reboot, unset_reboot, NULL, "reboot the guest when it resets (default: exit with code 80)" },
	{ "kvm-dev", 0, true, set_kvm_dev, NULL, "PATH", "KVM device (default /dev/kvm-arm64 if present, else /dev/kvm)" },
	{ "host-profile", 0, true, set_host_profile, NULL, "PROFILE", "auto, or s390: limit saevm to the s390 kvm-arm64 contract" },
	{ "cpu-features", 0, true, set_cpu_features, NULL, "LIST",
	  "all (default: what the host offers), none, or pauth,sve,pmu,pvtime each with an optional no prefix" },
	{ "log-level", 0, true, set_log_level, NULL, "LEVEL", "error, warn (default), info or debug, on stderr" },
	{ "help", 'h', false, set_help, NULL, NULL, "show this help" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option_def *find_long(const char *name, size_t len)
{
	for (unsigned i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].long_name) == len && !strncmp(options[i].long_name, name, len))
			return &options[i];
	return NULL;
}

int cli_set_option(struct vm_config *cfg, const char *name, const char *value, struct error *err)
{
	const struct option_def *opt = find_long(name, strlen(name));

	if (!opt)
		return err_set(err, EXIT_USAGE, "unknown option '%s'", name);
	return opt->set(cfg, value, err);
}

bool cli_option_is_flag(const char *name)
{
	const struct option_def *opt = find_long(name, strlen(name));
	return opt && !opt->takes_value;
}

int cli_set_flag(struct vm_config *cfg, const char *name, bool on, struct error *err)
{
	const struct option_def *opt = find_long(name, strlen(name));

	if (!opt || opt->takes_value)
		return err_set(err, EXIT_USAGE, "'%s' is not a flag", name);
	if (on)
		return opt->set(cfg, NULL, err);
	return opt->unset ? opt->unset(cfg, NULL, err) : 0;
}

/* --config FILE is read first, whatever its place: the rest of the command
 * line then overrides it (a -d or -n on the command line replaces the
 * file's disks or NICs). */
static int load_config_first(int argc, char *const argv[], int first, struct vm_config *cfg, struct error *err)
{
	for (int i = first; i < argc; i++) {
		const char *path = NULL;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
		if (path)
			return config_file_load(cfg, path, err);
	}
	return 0;
}

static int parse_run_args(int argc, char *const argv[], int first, struct vm_config *cfg,
			  struct error *err)
{
	bool cli_disks = false, cli_nets = false;

	if (load_config_first(argc, argv, first, cfg, err) < 0)
		return -1;
	for (int i = first; i < argc; i++) {
		const char *arg = argv[i];
		const struct option_def *opt = NULL;
		const char *value = NULL;
		char shown[64];

		if (cfg->action == ACTION_SANDBOX && (!strcmp(arg, "--") || arg[0] != '-')) {
			/* The command: after --, or from the first bare word on (as
			 * env and chroot take it). */
			int at = !strcmp(arg, "--") ? i + 1 : i;
			if (at < argc) {
				cfg->command = argv + at;
				cfg->command_argc = argc - at;
			}
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			/* A bare word is the kernel, as with lkvm run. */
			if (cfg->kernel_path)
				return err_set(err, EXIT_USAGE, "unexpected argument '%s' (the kernel is already %s)",
					       arg, cfg->kernel_path);
			cfg->kernel_path = arg;
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
			opt = find_long(arg + 2, len);
			snprintf(shown, sizeof(shown), "--%.*s", (int)len, arg + 2);
			if (!opt)
				return err_set(err, EXIT_USAGE, "unknown option '%s' (see saevm run --help)", shown);
			if (eq) {
				if (!opt->takes_value)
					return err_set(err, EXIT_USAGE, "option '%s' takes no value", shown);
				value = eq + 1;
			}
		} else {
			for (unsigned k = 0; k < N_OPTIONS; k++)
				if (options[k].short_name == arg[1])
					opt = &options[k];
			snprintf(shown, sizeof(shown), "-%c", arg[1]);
			if (!opt)
				return err_set(err, EXIT_USAGE, "unknown option '%s' (see saevm run --help)", shown);
			if (arg[2]) {
				if (!opt->takes_value)
					return err_set(err, EXIT_USAGE, "option '%s' takes no value", shown);
				value = arg + 2;
			}
		}
		if (opt->takes_value && !value) {
			if (i + 1 >= argc)
				return err_set(err, EXIT_USAGE, "option '%s' needs a value (%s)", shown, opt->value_name);
			value = argv[++i];
		}
		if (opt->set == set_disk && !cli_disks) {
			cli_disks = true;
			cfg->ndisks = 0;
		}
		if (opt->set == set_net && !cli_nets) {
			cli_nets = true;
			cfg->nnics = 0;
		}
		if (opt->set(cfg, value, err) < 0)
			return -1;
	}
	if (cfg->action == ACTION_RUN && !cfg->kernel_path)
		return err_set(err, EXIT_USAGE, "no kernel given: saevm run -k IMAGE (see saevm run --help)");
	if (cfg->action == ACTION_RUN && cfg->rootfs)
		return err_set(err, EXIT_USAGE, "--rootfs is an option of saevm sandbox");
	if (cfg->action == ACTION_RUN && cfg->share_proto != SHARE_PROTO_AUTO)
		return err_set(err, EXIT_USAGE, "--share-proto is an option of saevm sandbox (saevm run: --share DIR,proto=fs)");
	if (cfg->action == ACTION_RUN && cfg->detach)
		return err_set(err, EXIT_USAGE, "--detach is an option of saevm sandbox");
	if (cfg->action == ACTION_RUN && cfg->rootfs_writable)
		return err_set(err, EXIT_USAGE, "--rootfs-writable is an option of saevm sandbox");
	if (cfg->action == ACTION_SANDBOX && cfg->initrd_path)
		return err_set(err, EXIT_USAGE, "saevm sandbox writes its own initramfs: no --initrd");
	if (cfg->action == ACTION_SANDBOX && cfg->console == CONSOLE_VIRTIO)
		return err_set(err, EXIT_USAGE, "saevm sandbox: the command's streams are its console (no --console)");
	if (cfg->host_profile == HOST_PROFILE_S390 && cfg->cpus > 1)
		return err_set(err, EXIT_USAGE,
			       "-c %u: the s390 kvm-arm64 module runs one vCPU per VM (--host-profile s390)", cfg->cpus);
	return 0;
}

int cli_parse(int argc, char *const argv[], struct vm_config *cfg, struct error *err)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	vm_config_defaults(cfg);
	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		cfg->action = ACTION_HELP;
		if (cmd && !strcmp(cmd, "help") && argc > 2) {
			if (!strcmp(argv[2], "exit-codes"))
				cfg->action = ACTION_HELP_EXIT_CODES;
			else if (!strcmp(argv[2], "sandbox"))
				cfg->action = ACTION_HELP_SANDBOX;
			else if (strcmp(argv[2], "run"))
				return err_set(err, EXIT_USAGE, "no help topic '%s' (topics: run, sandbox, exit-codes)", argv[2]);
		}
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		cfg->action = ACTION_VERSION;
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return parse_run_args(argc, argv, 2, cfg, err);
	if (!strcmp(cmd, "sandbox")) {
		cfg->action = ACTION_SANDBOX;
		return parse_run_args(argc, argv, 2, cfg, err);
	}
	if (!strcmp(cmd, "list")) {
		cfg->action = ACTION_LIST;
		return argc == 2 ? 0 : err_set(err, EXIT_USAGE, "saevm list takes no arguments");
	}
	if (!strcmp(cmd, "stop") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		cfg->action = ACTION_CONTROL;
		cfg->control_command = cmd;
		if (argc != 3)
			return err_set(err, EXIT_USAGE, "usage: saevm %s NAME (saevm list shows the names)", cmd);
		return set_name(cfg, argv[2], err);
	}
	if (!strcmp(cmd, "exec")) {
		/* saevm exec NAME [--] CMD [ARG...]: no options of its own, so a
		 * command that starts with '-' needs no -- */
		cfg->action = ACTION_EXEC;
		int at = 3;
		if (argc < 3 || argv[2][0] == '-')
			return err_set(err, EXIT_USAGE, "usage: saevm exec NAME [--] CMD [ARG...] (saevm list shows the names)");
		if (set_name(cfg, argv[2], err) < 0)
			return -1;
		if (at < argc && !strcmp(argv[at], "--"))
			at++;
		if (at >= argc)
			return err_set(err, EXIT_USAGE, "saevm exec %s: no command (saevm exec NAME -- CMD [ARG...])", argv[2]);
		cfg->command = argv + at;
		cfg->command_argc = argc - at;
		return 0;
	}
	if (cmd[0] == '-') /* `saevm -k Image ...` is taken as `saevm run -k Image ...` */
		return parse_run_args(argc, argv, 1, cfg, err);
	return err_set(err, EXIT_USAGE, "unknown command '%s' (commands: run, sandbox, exec, list, stop, pause, resume, version, help)",
		       cmd);
}

/* Whether params has a console= parameter whose value starts with `dev`
 * ("" for any console). */
static bool names_console(const char *params, const char *dev)
{
	for (const char *p = params; p && (p = strstr(p, "console=")); p++)
		if ((p == params || p[-1] == ' ') && !strncmp(p + 8, dev, strlen(dev)))
			return true;
	return false;
}

int cli_kernel_cmdline(const struct vm_config *cfg, char *buf, size_t size)
{
	const char *user = cfg->params ? cfg->params : "";
	if (cfg->nodefaults) {
		int n = snprintf(buf, size, "%s", user);
		return n < 0 || (size_t)n >= size ? -1 : n;
	}
	/* With the virtio console, the UART is named first: hvc0 exists only
	 * once virtio_console is loaded, and a distribution's initrd often has
	 * no such module, so without a console its init has no /dev/console
	 * and dies. Named first, ttyS0 is /dev/console until hvc0 registers;
	 * hvc0, named last, is the console from then on. */
	bool serial_first = cfg->console == CONSOLE_VIRTIO && !names_console(user, "ttyS");
	bool add_default = !names_console(user, "");
	int n;

	n = snprintf(buf, size, "%s%s%s%s", serial_first ? "console=ttyS0 " : "",
		     add_default ? (cfg->console == CONSOLE_VIRTIO ? "console=hvc0" : "console=ttyS0") : "",
		     add_default && *user ? " " : "", user);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

void cli_print_help(FILE *out)
{
	fprintf(out,
		"usage: saevm run [-k] IMAGE [options]     boot an arm64 Linux guest\n"
		"       saevm sandbox [options] [--] [CMD [ARG...]]\n"
		"                                          run CMD (else a shell) in an arm64 guest on --rootfs,\n"
		"                                          in this directory; its exit status is saevm's\n"
		"       saevm exec NAME [--] CMD [ARG...]   run CMD in the sandbox NAME that stays up (--detach),\n"
		"                                          as saevm sandbox runs one; its exit status is saevm's\n"
		"       saevm list                         the VMs and sandboxes running (their control sockets)\n"
		"       saevm stop|pause|resume NAME       control a running VM\n"
		"       saevm version | help [run|sandbox|exit-codes]\n\n"
		"options of run and sandbox:\n");
	for (unsigned i = 0; i < N_OPTIONS; i++) {
		char lhs[64];
		if (options[i].short_name)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", options[i].short_name, options[i].long_name,
				 options[i].value_name ? " " : "", options[i].value_name ? options[i].value_name : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", options[i].long_name,
				 options[i].value_name ? " " : "", options[i].value_name ? options[i].value_name : "");
		if (strlen(lhs) > 28)
			fprintf(out, "  %s\n  %-28s %s\n", lhs, "", options[i].help);
		else
			fprintf(out, "  %-28s %s\n", lhs, options[i].help);
	}
	fprintf(out,
		"\nThe kernel command line is exactly what -p gives, except that console=ttyS0\n"
		"(console=hvc0 with --console virtio) is put in front when it names no\n"
		"console=. Nothing else is added; with --nodefaults, not even that.\n"
		"Console: the guest's ttyS0 is this terminal. Ctrl-A x quits, Ctrl-A Ctrl-A\n"
		"sends Ctrl-A; Ctrl-C goes to the guest. Exit codes: saevm help exit-codes.\n");
}

void cli_print_exit_codes(FILE *out)
{
	fprintf(out, "exit codes of saevm run:\n");
	for (unsigned i = 0; i < exit_code_table_len; i++)
		fprintf(out, "  %3d  %s\n", exit_code_table[i].code, exit_code_table[i].meaning);
	fprintf(out, "\nexit codes of saevm sandbox (as env, chroot and timeout use them):\n"
		     "  0-255  the command's own exit status; killed by signal N: 128+N\n"
		     "  %3d    saevm itself failed, or the guest ended before the command did (the message says\n"
		     "         why and which saevm run code it would be)\n"
		     "  %3d    the command was found but cannot be run (not executable, wrong format)\n"
		     "  %3d    the command was not found\n",
		SANDBOX_EXIT_FAILED, SANDBOX_EXIT_CANNOT_RUN, SANDBOX_EXIT_NOT_FOUND);
}

void cli_print_sandbox_help(FILE *out)
{
	fprintf(out,
		"usage: saevm sandbox [--rootfs DIR] [--share HOSTDIR[=GUESTDIR][,ro]]... [run options] [--] [CMD [ARG...]]\n\n"
		"Boots an arm64 Linux guest whose root filesystem is DIR (over virtio-9p), shares\n"
		"this directory read-write at the same path, and runs CMD there as your uid and gid;\n"
		"with no CMD, a shell on this terminal. saevm exits with CMD's status (saevm help\n"
		"exit-codes). CMD's stdout and stderr are saevm's, byte for byte; saevm's stdin is\n"
		"CMD's. The guest kernel's messages go to --console-log, or nowhere.\n\n"
		"DIR defaults to $XDG_DATA_HOME/saevm/rootfs (~/.local/share/saevm/rootfs). Make one\n"
		"from Debian's arm64 packages (as root; qemu-user-static on a non-arm64 host):\n"
		"  saevm-mkrootfs [DIR]\n"
		"The kernel is -k, else the newest DIR/boot/vmlinuz-*; its modules come from\n"
		"DIR/usr/lib/modules (or DIR/lib/modules) and are loaded by saevm's own initramfs.\n"
		"saevm reads those files only as regular files inside DIR (no symlinks, no ../).\n\n"
		"DIR is served read-only: what the guest changes there lives in an overlay in its\n"
		"RAM and ends with it. --rootfs-writable serves DIR read-write (to install packages\n"
		"into it for good). Files the guest makes in any share are saevm's user's (root's\n"
		"when saevm runs as root or under sudo), never setuid or setgid, never devices; a\n"
		"chown to another user fails. Two writable shares may not lie inside one another.\n\n"
		"Sandboxes that stay up:\n"
		"  saevm sandbox --name NAME --detach [options] [-- CMD]\n"
		"boots it and leaves it in the background until saevm stop NAME (or --timeout);\n"
		"saevm returns once it takes commands (with CMD: CMD's status after running it).\n"
		"  saevm exec NAME [--] CMD [ARG...]\n"
		"runs CMD in it as saevm sandbox runs one: your uid and gid, the same streams, a\n"
		"pseudo-terminal when both ends are terminals, CMD's status, 125/126/127; in this\n"
		"directory, which must lie in one of its shares (else 125). SIGINT, SIGTERM and\n"
		"SIGHUP go to CMD; many may run at once; saevm stop ends them with 125. It travels\n"
		"over virtio-vsock to the sandbox's own init: nothing to install in DIR.\n");
}
