#include "exit_dev.h"

#include <stdatomic.h>

#include <libfdt.h>
#include <stdlib.h>

#include "../fdt/dt.h"

struct exit_dev {
	struct device dev;
	void (*on_exit)(void *opaque, int code);
	void (*on_marker)(void *opaque);
	void *opaque;
	atomic_bool marked; /* the marker is reported once per boot */
};

static uint64_t exit_read(struct device *dev, uint64_t offset, unsigned len)
{
	(void)dev;
	return offset == 0 && len == 4 ? EXIT_DEV_MAGIC : 0;
}

static void exit_write(struct device *dev, uint64_t offset, unsigned len, uint64_t value)
{
	struct exit_dev *e = (struct exit_dev *)dev;

	if (offset == 0 && len == 4)
		e->on_exit(e->opaque, (int)(value & 0xff));
	else if (offset == 8 && len == 4 && value == EXIT_DEV_BOOT_MARKER && e->on_marker &&
		 !atomic_exchange(&e->marked, true))
		e->on_marker(e->opaque); /* once: a looping guest cannot flood stderr */
}

static int exit_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	int r = dt_begin_mmio_node(dt, dev->node, "saevm,exit", dev->mmio_base, dev->mmio_len);
	return r < 0 ? r : fdt_end_node(dt->fdt);
}

static void exit_reset(struct device *dev)
{
	atomic_store(&((struct exit_dev *)dev)->marked, false);
}

static const struct device_ops exit_ops = {
	.kind = "exit",
	.mmio_read = exit_read,
	.mmio_write = exit_write,
	.fdt_node = exit_fdt_node,
	.reset = exit_reset,
	.destroy = (void (*)(struct device *))free,
};

struct device *exit_dev_create(uint64_t base, void (*on_exit)(void *opaque, int code),
			       void (*on_marker)(void *opaque), void *opaque, struct error *err)
{
	struct exit_dev *e = calloc(1, sizeof(*e));

	if (!e) {
		err_set(err, EXIT_HOST_ERROR, "out of memory");
		return NULL;
	}
	device_init(&e->dev, &exit_ops, "exit", base, EXIT_DEV_SIZE, -1);
	e->on_exit = on_exit;
	e->on_marker = on_marker;
	e->opaque = opaque;
	return &e->dev;
}
