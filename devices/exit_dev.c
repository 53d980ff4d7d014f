#include "exit_dev.h"

#include <libfdt.h>
#include <stdlib.h>

#include "../fdt/dt.h"

struct exit_dev {
	struct device dev;
	void (*on_exit)(void *opaque, int code);
	void (*on_marker)(void *opaque);
	void *opaque;
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
	else if (offset == 8 && len == 4 && value == EXIT_DEV_BOOT_MARKER && e->on_marker)
		e->on_marker(e->opaque);
}

static int exit_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	int r = dt_begin_mmio_node(dt, dev->node, "saevm,exit", dev->mmio_base, dev->mmio_len);
	return r < 0 ? r : fdt_end_node(dt->fdt);
}

static const struct device_ops exit_ops = {
	.kind = "exit",
	.mmio_read = exit_read,
	.mmio_write = exit_write,
	.fdt_node = exit_fdt_node,
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
