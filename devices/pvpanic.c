#include "pvpanic.h"

#include <libfdt.h>
#include <stdlib.h>

#include "../fdt/dt.h"

struct pvpanic {
	struct device dev;
	void (*on_panic)(void *opaque, unsigned events);
	void *opaque;
};

static uint64_t pvpanic_read(struct device *dev, uint64_t offset, unsigned len)
{
	(void)dev;
	(void)len;
	return offset == 0 ? PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0; /* the events we understand */
}

static void pvpanic_write(struct device *dev, uint64_t offset, unsigned len, uint64_t value)
{
	struct pvpanic *p = (struct pvpanic *)dev;

	(void)len;
	if (offset == 0 && (value & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)))
		p->on_panic(p->opaque, (unsigned)value);
}

static int pvpanic_fdt_node(struct device *dev, struct dt_ctx *dt)
{
	int r = dt_begin_mmio_node(dt, dev->node, "qemu,pvpanic-mmio", dev->mmio_base, dev->mmio_len);
	return r < 0 ? r : fdt_end_node(dt->fdt);
}

static const struct device_ops pvpanic_ops = {
	.kind = "pvpanic",
	.mmio_read = pvpanic_read,
	.mmio_write = pvpanic_write,
	.fdt_node = pvpanic_fdt_node,
	.destroy = (void (*)(struct device *))free,
};

struct device *pvpanic_create(uint64_t base, void (*on_panic)(void *opaque, unsigned events), void *opaque,
			      struct error *err)
{
	struct pvpanic *p = calloc(1, sizeof(*p));

	if (!p) {
		err_set(err, EXIT_HOST_ERROR, "out of memory");
		return NULL;
	}
	device_init(&p->dev, &pvpanic_ops, "pvpanic", base, PVPANIC_SIZE, -1);
	p->on_panic = on_panic;
	p->opaque = opaque;
	return &p->dev;
}
