# saevm - see README. `make` builds build/saevm for this machine;
# `make ARCH=arm64` a static build/arm64/saevm; `make ARCH=s390x` a static
# build/s390x/saevm against a private sysroot of Debian's s390x packages.
# `make check` runs every test, `make demo` boots a guest in the nested rig.

.DEFAULT_GOAL := all
ARCH ?= native
BUILD := build
DEPS := $(BUILD)/deps
CFLAGS_COMMON := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -D_GNU_SOURCE -Ivmm/uapi/arm64 -MMD -MP
SRCS := vmm/cli.c vmm/config_file.c vmm/control.c vmm/confine.c vmm/error.c vmm/log.c vmm/memory.c vmm/mmio_bus.c vmm/host.c vmm/kvm.c \
	vmm/irq.c vmm/term.c vmm/console.c vmm/console_exit.c vmm/vcpu.c vmm/vm.c vmm/machine.c vmm/sandbox.c vmm/exec.c boot/cpio.c \
	devices/uart_8250.c devices/virtqueue.c devices/virtio_mmio.c devices/virtio_blk.c devices/virtio_rng.c devices/virtio_console.c devices/exit_dev.c devices/pvpanic.c devices/rtc_pl031.c devices/share/share.c devices/share/p9_server.c devices/share/fuse_server.c devices/virtio_fs.c devices/virtio_9p.c devices/virtio_stdio.c devices/virtio_net.c devices/net_slirp.c devices/net_tap.c devices/vsock/packet.c devices/vsock/virtio_vsock.c vmm/iothread.c fdt/fdt.c boot/image.c boot/layout.c boot/loader.c
MAIN := vmm/main.c
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

ifeq ($(ARCH),native)
  OUT := $(BUILD)$(if $(BUILD_SAN),/$(BUILD_SAN))
  CC ?= gcc
  RUN :=
  CFLAGS_COMMON += $(shell pkg-config --cflags slirp 2>/dev/null)
  SLIRP_LIBS := $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp)
  LIBS := -lfdt $(SLIRP_LIBS) -lpthread
  TEST_LIBS := -lcmocka -lfdt $(SLIRP_LIBS) -lpthread
else ifeq ($(ARCH),arm64)
  TRIPLE := aarch64-linux-gnu
  QEMU_USER := qemu-aarch64-static
else ifeq ($(ARCH),s390x)
  TRIPLE := s390x-linux-gnu
  QEMU_USER := qemu-s390x-static
else
  $(error ARCH must be native, arm64 or s390x)
endif

ifneq ($(ARCH),native)
  OUT := $(BUILD)/$(ARCH)$(if $(BUILD_SAN),-$(BUILD_SAN))
  # gcc, never clang, for s390x: the kernel's struct kvm_regs layout is gcc's.
  CC := $(TRIPLE)-gcc
  SYSROOT := $(DEPS)/sysroot-$(ARCH)
  SYSLIB := $(SYSROOT)/usr/lib/$(TRIPLE)
  CFLAGS_COMMON += -isystem $(SYSROOT)/usr/include
  # The VMM runs in a bare initramfs (the rig) or a host without these
  # libraries: link it fully static.
  # libslirp.a is built from Debian's source package (tests/deps/slirp.sh):
  # Debian ships only the shared library.
  SLIRP := $(DEPS)/slirp-$(ARCH)
  CFLAGS_COMMON += -I$(SLIRP)/include/slirp
  LIBS := -static -L$(SYSLIB) -L$(SLIRP)/lib -l:libfdt.a -l:libslirp.a -l:libglib-2.0.a \
	-l:libpcre2-8.a -lm -lpthread
  ifeq ($(BUILD_SAN),asan)
    # ASan cannot be fully static: glibc dynamic, the rest (sanitizer
    # runtimes included) static, so the rig needs only ld.so and libc.
    LIBS := $(filter-out -static,$(LIBS)) -static-libasan -static-libubsan
  endif
  TEST_LIBS := -L$(SYSLIB) -L$(SLIRP)/lib -Wl,-rpath-link,$(SYSLIB) -lcmocka -l:libfdt.a -l:libslirp.a \
	-l:libglib-2.0.a -l:libpcre2-8.a -lm -lpthread
  RUN := QEMU_LD_PREFIX=/usr/$(TRIPLE) LD_LIBRARY_PATH=$(abspath $(SYSLIB)) $(QEMU_USER)
  SYSROOT_STAMP := $(SYSROOT)/.complete
endif

CFLAGS ?=
override CFLAGS += $(CFLAGS_COMMON)
# `make V=1` shows whole command lines.
Q := $(if $(V),,@)
OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(SRCS)) $(OUT)/obj/guest/init_blob.o

# Guest programs are arm64 whatever the host: the cross compiler, or the
# native one on an arm64 build machine.
GUEST_CC := $(if $(filter aarch64,$(shell uname -m)),gcc,aarch64-linux-gnu-gcc)
GUEST_STRIP := $(if $(filter aarch64,$(shell uname -m)),strip,aarch64-linux-gnu-strip)
# The sandbox guest's init (guest/sandbox_init.c): static arm64, linked
# into every saevm build as data (guest/init_blob.S).
SANDBOX_INIT := $(BUILD)/guest/sandbox-init
$(SANDBOX_INIT): guest/sandbox_init.c guest/stdio_proto.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(GUEST_CC) -std=gnu11 -Os -static -D_GNU_SOURCE -Wall -Wextra -Werror -o $@.full $<
	$(Q)$(GUEST_STRIP) -o $@ $@.full
$(OUT)/obj/guest/init_blob.o: guest/init_blob.S $(SANDBOX_INIT)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -DSAEVM_INIT_PATH='"$(abspath $(SANDBOX_INIT))"' -o $@ $<
$(BUILD)/fuzz/obj/guest/init_blob.o: guest/init_blob.S $(SANDBOX_INIT)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) -c -DSAEVM_INIT_PATH='"$(abspath $(SANDBOX_INIT))"' -o $@ $<

# The polling test guest (tests/guest): freestanding arm64, an Image of its own.
GUEST_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -nostartfiles -static \
	-mgeneral-regs-only -mstrict-align -fno-stack-protector -fno-pic -no-pie -fno-builtin \
	-fno-tree-loop-distribute-patterns -Wl,-T,tests/guest/probe.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments
$(BUILD)/guest/probe.img: tests/guest/probe.c tests/guest/start.S tests/guest/probe.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -o $(BUILD)/guest/probe.elf tests/guest/start.S tests/guest/probe.c
	$(Q)aarch64-linux-gnu-objcopy -O binary $(BUILD)/guest/probe.elf $@
# The same probe as a raw binary (no Image header), linked at RAM base +
# 0x80000 where saevm loads one: the boot-test case of a bare-metal test.
$(BUILD)/guest/probe-raw.bin: tests/guest/probe.c tests/guest/start.S tests/guest/probe.ld
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -DRAW_BINARY -Wl,--section-start=.text=0x80080000 -o $(BUILD)/guest/probe-raw.elf \
		tests/guest/start.S tests/guest/probe.c
	$(Q)aarch64-linux-gnu-objcopy -O binary $(BUILD)/guest/probe-raw.elf $@
# The rig's two ends of a vsock stream (in the L2 guest and in L1).
$(BUILD)/guest/vsock-peer: tests/guest/vsock_peer.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(GUEST_CC) -std=gnu11 -Os -static -D_GNU_SOURCE -Wall -Wextra -Werror -s -o $@ $<
guest: $(BUILD)/guest/probe.img $(BUILD)/guest/probe-raw.bin $(BUILD)/guest/vsock-peer

.PHONY: all check guest install bench fuzz fuzz-build check-asan check-tsan asan-arm64 unit unit-native unit-cross cli-tests boot-tests demo clean deps cross
all: $(OUT)/saevm

$(SYSROOT_STAMP):
	tests/deps/sysroot.sh $(ARCH) $(SYSROOT)

$(SLIRP)/lib/libslirp.a: $(SYSROOT_STAMP) tests/deps/slirp.sh
	tests/deps/slirp.sh $(ARCH) $(SYSROOT) $(SLIRP)

$(OUT)/obj/%.o: %.c $(SYSROOT_STAMP) $(if $(SLIRP),$(SLIRP)/lib/libslirp.a)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $(ARCH) $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/libsaevm.a: $(OBJS)
	$(Q)$(AR) rcs $@ $^

$(OUT)/saevm: $(OUT)/obj/vmm/main.o $(OUT)/libsaevm.a $(if $(SLIRP),$(SLIRP)/lib/libslirp.a)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o %saevm.a,$^) $(LIBS)

$(OUT)/tests/%: tests/unit/%.c tests/unit/harness.h $(OUT)/libsaevm.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-LD $@")
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(OUT)/libsaevm.a $(TEST_LIBS)

# Unit tests for this ARCH (natively, or under qemu-user).
# The shares' tests run again as an unprivileged user when we are root:
# its rules hold for both (setpriv, from util-linux).
unit: $(addprefix $(OUT)/tests/,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t ($(ARCH))"; $(RUN) ./$$t 2>&1; done
	@set -e; if [ "$$(id -u)" = 0 ] && command -v setpriv >/dev/null; then for t in test_p9 test_fuse; do \
	  echo "== $(OUT)/tests/$$t ($(ARCH), as uid 65534)"; \
	  setpriv --reuid 65534 --regid 65534 --clear-groups env $(RUN) ./$(OUT)/tests/$$t 2>&1; done; fi

# The whole suite: native, then big-endian s390x and arm64 under qemu-user,
# the CLI's error handling, then real boots in the nested rig.
check:
	tests/deps/install.sh native cross rig
	$(MAKE) all unit
	$(MAKE) ARCH=s390x unit
	$(MAKE) ARCH=arm64 unit
	$(MAKE) ARCH=s390x all
	tests/cli/run.sh $(BUILD)/saevm
	SAEVM_WRAP=qemu-s390x-static tests/cli/run.sh $(BUILD)/s390x/saevm
	tests/cli/install.sh
	tests/cli/one-door.sh
	$(MAKE) check-asan
	$(MAKE) check-tsan
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	$(MAKE) ARCH=arm64 all guest
	$(MAKE) asan-arm64
	tests/boot/run.sh

# ---- fuzzing (libFuzzer, clang 14) and sanitizers ----
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 15
FUZZERS := virtqueue devices image config 9p fuse vsock
FUZZ_CC := clang-14
FUZZ_FLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Ivmm/uapi/arm64 $(shell pkg-config --cflags slirp 2>/dev/null) \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(SRCS)) $(BUILD)/fuzz/obj/guest/init_blob.o
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ -lfdt $(shell pkg-config --libs slirp 2>/dev/null) -lpthread
.PRECIOUS: $(BUILD)/fuzz/obj/%.o
fuzz-build: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZERS))
# Runs every harness FUZZ_SECONDS; new inputs go to build/fuzz/corpus-*,
# seeds stay in tests/fuzz/corpus/*. A crash stops with its input saved.
fuzz: fuzz-build
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-$$f- $(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f \
	    > $(BUILD)/fuzz/fuzz_$$f.log 2>&1 || true; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done|crash' $(BUILD)/fuzz/fuzz_$$f.log || true; \
	  ! ls $(BUILD)/fuzz/crash-$$f-* >/dev/null 2>&1; \
	  grep -q '^Done ' $(BUILD)/fuzz/fuzz_$$f.log || \
	    { echo "fuzz_$$f ended without finishing its run (a signal?): $(BUILD)/fuzz/fuzz_$$f.log"; exit 1; }; \
	done

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1
# An ASan + UBSan saevm for arm64, booted in the rig by the fault tests.
asan-arm64:
	$(MAKE) ARCH=arm64 BUILD_SAN=asan CFLAGS="$(SAN_FLAGS)" all

# All unit tests under ThreadSanitizer, natively: test_stress races a
# transport's vCPU, I/O and backend threads; any race fails the run.
# (-Wno-tsan: TSan does not model the ring fences; they order guest memory,
# whose races with the fake guest tsan.supp lists.)
check-tsan:
	TSAN_OPTIONS="suppressions=$(abspath tests/unit/tsan.supp) halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
	  $(MAKE) unit BUILD_SAN=tsan CFLAGS="-fsanitize=thread -fno-omit-frame-pointer -O1 -Wno-tsan"

# All unit tests under ASan + UBSan (gcc), natively.
check-asan:
	$(MAKE) unit BUILD_SAN=asan CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1"

PREFIX ?= /usr/local
DESTDIR ?=
install: all
	install -D -m 755 $(OUT)/saevm $(DESTDIR)$(PREFIX)/bin/saevm
	install -D -m 755 tools/saevm-mkrootfs $(DESTDIR)$(PREFIX)/bin/saevm-mkrootfs
	install -D -m 644 saevm.1 $(DESTDIR)$(PREFIX)/share/man/man1/saevm.1
	install -D -m 644 vmm.conf.example $(DESTDIR)$(PREFIX)/share/doc/saevm/vmm.conf.example

bench:
	tests/deps/install.sh native cross rig
	$(MAKE) ARCH=arm64 all guest
	BENCH_CPU_FEATURES=$(BENCH_CPU_FEATURES) tests/bench/run.sh

demo:
	tests/deps/install.sh native cross rig
	$(MAKE) ARCH=arm64 all
	tests/boot/demo.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/saevm $(BUILD)/libsaevm.a $(BUILD)/arm64 $(BUILD)/s390x $(BUILD)/rig

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
