# SPDX-License-Identifier: GPL-2.0
#
# gcheap: build, run and test.  `make help` lists the targets.
#
# The README's two commands:
#   make run     install what is needed, build, boot the stock 6.1 kernel
#                in a VM, load gcheap.ko and show it working
#   make check   install what is needed, build, and run every test layer;
#                ends with "N passed, M failed, K skipped"
#
# Kernel builds, downloads and initramfs images are cached outside the
# work tree, in $(GCHEAP_CACHE).

SHELL := /bin/bash
BUILD := $(CURDIR)/build

# Which test kernel to build for: 6.1 and 6.12 are Debian's stock kernels,
# debug is ours (tools/kernel/debug.config).  KDIR, if set, overrides it
# with any kernel build tree.
KERNEL ?= 6.1
KDIR ?=

CC ?= cc
WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CPPFLAGS_GCH := -D_GNU_SOURCE -I$(CURDIR)/uapi -I$(CURDIR)/kmod -I$(CURDIR)/userlib
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(CPPFLAGS_GCH) -MMD -MP

VERSION := 0.1
SONAME := libgcheap.so.0

.PHONY: all help deps module lib selftests tools hosted-test stage lint \
	run check bench clean hosted-tsan

all: module lib selftests tools

help:
	@echo 'make run            boot a VM with the stock 6.1 kernel and show gcheap working'
	@echo 'make check          every test: hosted, lint, KUnit, selftests on 6.1, 6.12, debug'
	@echo 'make                module (KERNEL=6.1|6.12|debug or KDIR=...), library, tests, tools'
	@echo 'make module KDIR=D  build gcheap.ko against the kernel build tree D'
	@echo 'make hosted-test    core tests in userspace under ASan + UBSan'
	@echo 'make hosted-tsan    the same under ThreadSanitizer'
	@echo 'make lint           checkpatch and sparse on kmod/'
	@echo 'make stage KERNEL=K the VM payload for kernel K in build/stage/K'
	@echo 'make bench          allocation rate: gcheap, bdwgc, glibc malloc in one VM'
	@echo 'make deps           install the Debian packages (root or sudo)'
	@echo 'make clean          remove build/ (cached kernels stay)'

deps:
	@tools/install-deps

# --- the module ---------------------------------------------------------

# Built in build/kmod/<kernel>/, a symlink tree of the sources, so
# that builds for different kernels never share objects.
module:
	@tools/build-module $(if $(KDIR),--kdir '$(KDIR)',--kernel $(KERNEL)) \
		$(if $(C),--sparse)

# --- the library ----------------------------------------------------------

LIB_SRCS := userlib/alloc.c userlib/collect.c userlib/device.c userlib/init.c userlib/percpu.c \
	userlib/query.c userlib/sizeclass.c userlib/tcache.c userlib/version.c \
	kmod/core/cache.c kmod/core/sizeclass.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/lib/obj/%.o)
LIB_SO := $(BUILD)/lib/$(SONAME).$(VERSION:0.%=%)
LIBS := $(BUILD)/lib/libgcheap.a $(BUILD)/lib/libgcheap.so $(BUILD)/lib/gcheap.pc

lib: $(LIBS)

$(BUILD)/lib/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/lib/libgcheap.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) userlib/libgcheap.map
	$(CC) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=userlib/libgcheap.map -Wl,-z,defs \
		-o $@ $(LIB_OBJS) -lpthread

$(BUILD)/lib/libgcheap.so: $(LIB_SO)
	ln -sf $(notdir $<) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/lib/gcheap.pc: userlib/gcheap.pc.in
	sed -e 's|@PREFIX@|/usr/local|' -e 's|@LIBDIR@|$${prefix}/lib|' \
		-e 's|@INCLUDEDIR@|$${prefix}/include|' -e 's|@VERSION@|$(VERSION)|' \
		$< > $@

# --- selftests and tools ----------------------------------------------------

# kselftest_harness.h comes from Debian's linux-source-6.1, cached.
KSFT_DIR = $(shell tools/kernel/linux-tools)

# the harness macros trip these warnings by design
KSFT_CFLAGS := -Wno-sign-compare -Wno-misleading-indentation -Wno-unused-parameter

SELFTESTS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(wildcard selftests/*_test.c))

# shared objects the selftests dlopen() from their own directory
SELFTEST_SOS := $(BUILD)/selftests/libgcheap_gc_dlobj.so

selftests: $(SELFTESTS) $(SELFTEST_SOS)

$(SELFTEST_SOS): $(BUILD)/selftests/lib%.so: selftests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/selftests/%: selftests/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -I$(KSFT_DIR)/tools/testing/selftests \
		-o $@ $< kmod/core/sizeclass.c -L$(BUILD)/lib -lgcheap -lpthread

TOOLS := $(BUILD)/tools/gcheap-info $(BUILD)/tools/gcheap-demo $(BUILD)/tools/gcbench

# --- benchmarks (make bench; never part of make check) ----------------------

BENCHES := $(BUILD)/bench/alloc $(BUILD)/bench/gcbench-bdwgc $(BUILD)/bench/gcbench-malloc

$(BUILD)/bench/alloc: bench/alloc/alloc.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(BUILD)/lib -lgcheap $$(pkg-config --libs bdw-gc) -lpthread

# GCBench on the other allocators ($(BUILD)/tools/gcbench is the gcheap one)
$(BUILD)/bench/gcbench-bdwgc: tools/gcbench/gcbench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DGCB_BACKEND_BDWGC -o $@ $< $$(pkg-config --libs bdw-gc) -lpthread

$(BUILD)/bench/gcbench-malloc: tools/gcbench/gcbench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DGCB_BACKEND_MALLOC -o $@ $< -lpthread

# gcpause: BPF C compiled with clang, a libbpf skeleton from bpftool, and
# the tool around it.  Generated files stay in build/gen/gcpause/.
GCPAUSE := $(BUILD)/tools/gcpause
GCPAUSE_GEN := $(BUILD)/gen/gcpause
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I$(CURDIR)/uapi -I/usr/include/$(shell $(CC) -print-multiarch)

$(GCPAUSE_GEN)/gcpause.bpf.o: tools/gcpause/gcpause.bpf.c tools/gcpause/gcpause.h uapi/linux/gcheap.h
	@mkdir -p $(@D)
	clang $(BPF_CFLAGS) -c $< -o $@
	llvm-strip -g $@

$(GCPAUSE_GEN)/gcpause.skel.h: $(GCPAUSE_GEN)/gcpause.bpf.o
	bpftool gen skeleton $< name gcpause_bpf > $@.tmp && mv $@.tmp $@

$(GCPAUSE): tools/gcpause/gcpause.c tools/gcpause/gcpause.h $(GCPAUSE_GEN)/gcpause.skel.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(GCPAUSE_GEN) -Itools/gcpause -o $@ $< \
		$$(pkg-config --libs libbpf)

TOOLS_ALL := $(TOOLS) $(GCPAUSE)

tools: $(TOOLS_ALL)

# each tool is tools/<name>/<name>.c
$(TOOLS): $(BUILD)/tools/%: tools/%/ $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ tools/$*/$*.c -L$(BUILD)/lib -lgcheap -lpthread

# --- hosted core tests ------------------------------------------------------

HOSTED_SRCS := tools/testing/hosted/kunit.c $(wildcard kmod/core/*.c) \
	$(wildcard kmod/core/tests/*_test.c)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

$(BUILD)/hosted/core_test: $(HOSTED_SRCS) $(wildcard kmod/core/*.h tools/testing/hosted/include/kunit/*.h)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g $(SANITIZE) $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $(HOSTED_SRCS)

hosted-test: $(BUILD)/hosted/core_test
	$<

# The same tests under ThreadSanitizer: the parallel mark and sweep.
$(BUILD)/hosted/core_tsan: $(HOSTED_SRCS) $(wildcard kmod/core/*.h tools/testing/hosted/include/kunit/*.h)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g -fsanitize=thread $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $(HOSTED_SRCS) -lpthread

hosted-tsan: $(BUILD)/hosted/core_tsan
	$<

# --- VM payload -------------------------------------------------------------

# Everything a test VM needs for kernel $(KERNEL): the module built for it,
# the library, selftests, tools and the in-VM test script.
stage: lib selftests tools $(BENCHES)
	@set -e; ko=$$(tools/build-module --kernel $(KERNEL) | tail -n 1); \
	dir=$(BUILD)/stage/$(KERNEL); rm -rf $$dir; mkdir -p $$dir/bin $$dir/lib; \
	cp $$ko $$dir/; cp -P $(BUILD)/lib/libgcheap.so* $$dir/lib/; \
	cp $(SELFTESTS) $(SELFTEST_SOS) $(TOOLS_ALL) $(BENCHES) $$dir/bin/; \
	cp selftests/run-in-vm.sh $$dir/; cp bench/alloc/run-in-vm.sh $$dir/bench-alloc.sh; \
	cp tools/vm/demo.sh $$dir/; \
	echo "stage: $$dir ($$(modinfo -F vermagic $$ko | cut -d' ' -f1))"

# --- style ------------------------------------------------------------------

lint:
	@tools/testing/lint

# --- the README's commands --------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	tools/vm/run --kernel 6.1 --stage $(BUILD)/stage/6.1 --timeout 300 -- ./demo.sh

check: deps
	@tools/testing/check

# Allocation rate, gcheap vs bdwgc vs glibc malloc, in one VM boot.
# BENCH_REPS runs of each configuration (default 3), BENCH_MIB allocated
# per thread and run (default 32).
BENCH_REPS ?= 3
BENCH_MIB ?= 32
bench: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	tools/vm/run --kernel 6.1 --stage $(BUILD)/stage/6.1 --mem 3072 --timeout 1800 \
		--log $(BUILD)/bench-alloc.log -- ./bench-alloc.sh $(BENCH_REPS) $(BENCH_MIB)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
