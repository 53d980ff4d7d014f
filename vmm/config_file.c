#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum section { SEC_NONE, SEC_VM, SEC_KERNEL, SEC_CONSOLE, SEC_DISK, SEC_NET };

static const char *const vm_keys[] = { "mem", "cpus", "name", "irqchip", "kvm-dev", "host-profile", "cpu-features", "reboot",
				       "log-level", "timeout", "vsock", "stats", "no-rng", "nodefaults", "no-seccomp", "share", "rootfs", "rootfs-writable", "share-proto", NULL };
static const char *const kernel_keys[] = { "kernel", "initrd", "params", NULL };
static const char *const console_keys[] = { "console", "console-log", "exit-on-console", NULL };
static const char *const disk_keys[] = { "path", "ro", "direct", "id", NULL };
static const char *const net_keys[] = { "mode", "hostfwd", "net", "mac", "ifname", NULL };
static const char *const section_names[] = { "vm", "kernel", "console", "disk", "net", NULL };

/* A block being collected for [disk "x"] / [net "x"]. */
struct block {
	enum section kind;
	char name[64];
	int line;
	char path[4096], id[64], mode[8], net[32], mac[24], ifname[32];
	bool ro, direct;
	char hostfwd[NIC_MAX_HOSTFWD][80];
	unsigned nfwd;
};

static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned prev = row[0], cur;
		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			cur = row[j];
			unsigned best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best) best = row[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* " (did you mean 'x'?)" for the closest candidate, or "". */
static const char *suggest(const char *word, const char *const *candidates, char *buf, size_t size)
{
	const char *best = NULL;
	unsigned best_d = 3; /* only close matches help */

	for (; *candidates; candidates++) {
		unsigned d = edit_distance(word, *candidates);
		size_t lw = strlen(word), lc = strlen(*candidates), shorter = lw < lc ? lw : lc;
		/* "memory" for "mem", "disks" for "disk": a prefix is close too */
		bool prefix = shorter >= 3 && !strncmp(word, *candidates, shorter);
		if (d < best_d || (prefix && !best)) {
			best_d = d < best_d ? d : best_d;
			best = *candidates;
		}
	}
	if (!best)
		return "";
	snprintf(buf, size, " (did you mean '%s'?)", best);
	return buf;
}

static bool in_list(const char *word, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(word, *list))
			return true;
	return false;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	if (in_list(v, yes))
		return *out = true, 0;
	if (in_list(v, no))
		return *out = false, 0;
	return -1;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

#define FAIL(...) (err_set(err, EXIT_CONFIG, __VA_ARGS__), -1)

/* A key of [vm], [kernel] or [console]: the command-line option. */
static int set_plain(struct vm_config *cfg, const char *key, const char *value, const char *file, int line,
		     struct error *err)
{
	struct error inner = { 0 };
	bool on;
	int r;

	if (cli_option_is_flag(key)) {
		if (parse_bool(value, &on) < 0)
			return FAIL("%s:%d: %s: expected true or false, not '%s'", file, line, key, value);
		r = cli_set_flag(cfg, key, on, &inner);
	} else {
		const char *kept = vm_config_keep(cfg, value);
		if (!kept)
			return FAIL("%s:%d: too many settings", file, line);
		r = cli_set_option(cfg, key, kept, &inner);
	}
	if (r < 0)
		return FAIL("%s:%d: %s", file, line, inner.msg);
	return 0;
}

/* Turns a finished [disk]/[net] block into the -d/-n it stands for. */
static int flush_block(struct vm_config *cfg, struct block *b, const char *file, struct error *err)
{
	struct error inner = { 0 };
	char spec[4800];
	int n = 0;

	if (b->kind == SEC_DISK) {
		if (!b->path[0])
			return FAIL("%s:%d: [disk \"%s\"] needs path = FILE", file, b->line, b->name);
		n = snprintf(spec, sizeof(spec), "%s%s%s,id=%s", b->path, b->ro ? ",ro" : "", b->direct ? ",direct" : "",
			     b->id[0] ? b->id : b->name);
		if (n < 0 || (size_t)n >= sizeof(spec) || cli_set_option(cfg, "disk", spec, &inner) < 0)
			return FAIL("%s:%d: [disk \"%s\"]: %s", file, b->line, b->name, inner.msg[0] ? inner.msg : "too long");
	} else if (b->kind == SEC_NET) {
		if (!b->mode[0])
			return FAIL("%s:%d: [net \"%s\"] needs mode = user or tap", file, b->line, b->name);
		n = snprintf(spec, sizeof(spec), "%s", b->mode);
		for (unsigned i = 0; i < b->nfwd; i++)
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",hostfwd=%s", b->hostfwd[i]);
		if (b->net[0])
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",net=%s", b->net);
		if (b->mac[0])
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",mac=%s", b->mac);
		if (b->ifname[0])
			snprintf(spec + n, sizeof(spec) - (size_t)n, ",ifname=%s", b->ifname);
		if (cli_set_option(cfg, "net", spec, &inner) < 0)
			return FAIL("%s:%d: [net \"%s\"]: %s", file, b->line, b->name, inner.msg);
	}
	b->kind = SEC_NONE;
	return 0;
}

static int copy_value(char *dst, size_t size, const char *value, const char *key, const char *file, int line,
		      struct error *err)
{
	if (strlen(value) >= size)
		return FAIL("%s:%d: %s: value longer than %zu characters", file, line, key, size - 1);
	strcpy(dst, value);
	return 0;
}

static int set_block_key(struct block *b, const char *key, const char *value, const char *file, int line,
			 struct error *err)
{
	if (!strcmp(key, "path"))
		return copy_value(b->path, sizeof(b->path), value, key, file, line, err);
	if (!strcmp(key, "id"))
		return copy_value(b->id, sizeof(b->id), value, key, file, line, err);
	if (!strcmp(key, "ro") || !strcmp(key, "direct")) {
		if (parse_bool(value, !strcmp(key, "ro") ? &b->ro : &b->direct) < 0)
			return FAIL("%s:%d: %s: expected true or false, not '%s'", file, line, key, value);
		return 0;
	}
	if (!strcmp(key, "mode")) {
		if (strcmp(value, "user") && strcmp(value, "tap"))
			return FAIL("%s:%d: mode: expected user or tap, not '%s'", file, line, value);
		return copy_value(b->mode, sizeof(b->mode), value, key, file, line, err);
	}
	if (!strcmp(key, "hostfwd")) {
		if (b->nfwd == NIC_MAX_HOSTFWD)
			return FAIL("%s:%d: at most %d hostfwd rules", file, line, NIC_MAX_HOSTFWD);
		return copy_value(b->hostfwd[b->nfwd++], sizeof(b->hostfwd[0]), value, key, file, line, err);
	}
	if (!strcmp(key, "net"))
		return copy_value(b->net, sizeof(b->net), value, key, file, line, err);
	if (!strcmp(key, "mac"))
		return copy_value(b->mac, sizeof(b->mac), value, key, file, line, err);
	return copy_value(b->ifname, sizeof(b->ifname), value, key, file, line, err);
}

int config_file_parse(struct vm_config *cfg, const char *text, const char *file, struct error *err)
{
	static struct block b; /* big; one file at a time */
	enum section sec = SEC_NONE;
	char line_buf[8192], hint[64];
	const char *p = text;
	int line = 0;

	memset(&b, 0, sizeof(b));
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *s, *eq, *key, *value;

		line++;
		if (len >= sizeof(line_buf))
			return FAIL("%s:%d: line longer than %zu characters", file, line, sizeof(line_buf) - 1);
		memcpy(line_buf, p, len);
		line_buf[len] = 0;
		p = eol ? eol + 1 : p + len;
		s = trim(line_buf);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']'), *name, *quote;
			if (!close || close[1])
				return FAIL("%s:%d: expected [section] or [disk \"name\"]", file, line);
			*close = 0;
			name = trim(s + 1);
			if (flush_block(cfg, &b, file, err) < 0)
				return -1;
			quote = strchr(name, '"');
			if (quote) {
				char *end = strrchr(name, '"');
				if (end == quote || end[1])
					return FAIL("%s:%d: expected [%.*s \"name\"]", file, line, (int)(quote - name), name);
				*end = 0;
				*quote = 0;
				char *kind = trim(name);
				if (strcmp(kind, "disk") && strcmp(kind, "net"))
					return FAIL("%s:%d: unknown section [%s \"...\"]%s", file, line, kind,
						    suggest(kind, section_names, hint, sizeof(hint)));
				sec = !strcmp(kind, "disk") ? SEC_DISK : SEC_NET;
				memset(&b, 0, sizeof(b));
				b.kind = sec;
				b.line = line;
				snprintf(b.name, sizeof(b.name), "%s", quote + 1);
				if (!b.name[0])
					return FAIL("%s:%d: [%s \"\"] needs a name", file, line, kind);
			} else if (!strcmp(name, "vm")) {
				sec = SEC_VM;
			} else if (!strcmp(name, "kernel")) {
				sec = SEC_KERNEL;
			} else if (!strcmp(name, "console")) {
				sec = SEC_CONSOLE;
			} else {
				return FAIL("%s:%d: unknown section [%s]%s%s", file, line, name,
					    suggest(name, section_names, hint, sizeof(hint)),
					    !strcmp(name, "disk") || !strcmp(name, "net") ? " (it needs a name: [disk \"vda\"])" : "");
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return FAIL("%s:%d: expected key = value", file, line);
		*eq = 0;
		key = trim(s);
		value = trim(eq + 1);
		if (strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"') {
			value[strlen(value) - 1] = 0;
			value++;
		}
		const char *const *keys = sec == SEC_VM ? vm_keys : sec == SEC_KERNEL ? kernel_keys :
					  sec == SEC_CONSOLE ? console_keys : sec == SEC_DISK ? disk_keys :
					  sec == SEC_NET ? net_keys : NULL;
		if (!keys)
			return FAIL("%s:%d: '%s' outside any section (start with [vm])", file, line, key);
		if (!in_list(key, keys))
			return FAIL("%s:%d: unknown key '%s' in this section%s", file, line, key,
				    suggest(key, keys, hint, sizeof(hint)));
		if (!*value && strcmp(key, "params"))
			return FAIL("%s:%d: %s: no value", file, line, key);
		if (sec == SEC_DISK || sec == SEC_NET) {
			if (set_block_key(&b, key, value, file, line, err) < 0)
				return -1;
		} else if (set_plain(cfg, key, value, file, line, err) < 0) {
			return -1;
		}
	}
	return flush_block(cfg, &b, file, err);
}

int config_file_load(struct vm_config *cfg, const char *path, struct error *err)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	int r;

	if (!f)
		return err_errno(err, EXIT_NO_INPUT, errno, "cannot open config file %s", path);
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || size > (1 << 20) || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return err_set(err, EXIT_CONFIG, "config file %s is not a readable text file under 1 MiB", path);
	}
	text = malloc((size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(text);
		return err_set(err, EXIT_NO_INPUT, "cannot read config file %s", path);
	}
	fclose(f);
	text[size] = 0;
	r = config_file_parse(cfg, text, path, err);
	free(text);
	return r;
}
