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
	@echo 'make bench          benchmarks: gcheap, bdwgc, glibc malloc side by side in one VM'
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

tools: $(TOOLS)

# each tool is tools/<name>/<name>.c (gcbench also takes its allocator
# from bench/lib/contender.c: the gcheap one here, the others below)
CONTENDER := bench/lib/contender.c bench/lib/contender.h
$(TOOLS): $(BUILD)/tools/%: tools/%/ $(LIBS) $(CONTENDER)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ tools/$*/$*.c \
		$(if $(filter gcbench,$*),-Ibench/lib bench/lib/contender.c) \
		-L$(BUILD)/lib -lgcheap -lpthread

# --- benchmarks (make bench; never part of make check) ----------------------

# Each workload bench/W/W.c is built once per contender, W-gcheap,
# W-bdwgc, W-malloc, with bench/lib/contender.c (GCBench: gcbench-bdwgc
# and gcbench-malloc here, $(BUILD)/tools/gcbench is the gcheap one).
# markbench is the hosted core's mark and sweep, natively.
BENCH_WORKLOADS := alloc garbage bigheap
BENCH_CONTENDERS := gcheap bdwgc malloc
BENCHES := $(foreach w,$(BENCH_WORKLOADS),$(foreach c,$(BENCH_CONTENDERS),$(BUILD)/bench/$(w)-$(c))) \
	$(BUILD)/bench/gcbench-bdwgc $(BUILD)/bench/gcbench-malloc
BENCH_LIBS_gcheap = -L$(BUILD)/lib -lgcheap -lpthread
BENCH_LIBS_bdwgc = $(shell pkg-config --libs bdw-gc) -lpthread
BENCH_LIBS_malloc = -lpthread

# bench_rule WORKLOAD CONTENDER SOURCE MACRO
define bench_rule
$(BUILD)/bench/$(1)-$(2): $(3) $(CONTENDER) $(LIBS)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -Ibench/lib -DBENCH_$(4) -o $$@ $(3) \
		bench/lib/contender.c $$(BENCH_LIBS_$(2))
endef
$(foreach w,$(BENCH_WORKLOADS),\
	$(eval $(call bench_rule,$(w),gcheap,bench/$(w)/$(w).c,GCHEAP)) \
	$(eval $(call bench_rule,$(w),bdwgc,bench/$(w)/$(w).c,BDWGC)) \
	$(eval $(call bench_rule,$(w),malloc,bench/$(w)/$(w).c,MALLOC)))
$(eval $(call bench_rule,gcbench,bdwgc,tools/gcbench/gcbench.c,BDWGC))
$(eval $(call bench_rule,gcbench,malloc,tools/gcbench/gcbench.c,MALLOC))

MARKBENCH := $(BUILD)/bench/markbench
$(MARKBENCH): bench/core/markbench.c $(wildcard kmod/core/*.c kmod/core/*.h)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -g $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $< \
		$(wildcard kmod/core/*.c) -lpthread

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
	cp $(SELFTESTS) $(SELFTEST_SOS) $(TOOLS) $(BENCHES) $$dir/bin/; \
	cp selftests/run-in-vm.sh $$dir/; cp bench/run-in-vm.sh $$dir/bench.sh; \
	echo "stage: $$dir ($$(modinfo -F vermagic $$ko | cut -d' ' -f1))"

# --- style ------------------------------------------------------------------

lint:
	@tools/testing/lint

# --- the README's commands --------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	tools/vm/run --kernel 6.1 --stage $(BUILD)/stage/6.1 --timeout 300 -- \
		'insmod gcheap.ko && dmesg | grep "gcheap:" && ls -l /dev/gcheap && gcheap-info && gcheap-demo && \
		 echo && GCHEAP_TRACE=1 gcbench -d 14'

check: deps
	@tools/testing/check

# The benchmark suite (bench/README.md): the hosted core's mark on the
# host, then every workload on gcheap, bdwgc and glibc malloc in one VM
# boot; the table, JSON and plots in build/bench/results/.  BENCH_REPS
# rounds (default 3); BENCH_QUICK=1 for a tiny run of everything.
BENCH_REPS ?= 3
BENCH_QUICK ?= 0
bench: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	@$(MAKE) --no-print-directory $(MARKBENCH)
	@bench/run --reps $(BENCH_REPS) $(if $(filter 1,$(BENCH_QUICK)),--quick)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
