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

# also in dkms.conf and debian/changelog (make check compares them)
VERSION := 0.4
SONAME := libgcheap.so.0

# Where `make install` puts things (DESTDIR is prepended to every path).
# udev and modprobe read only /etc and /lib, never /usr/local: their files
# go to /etc unless PREFIX is /usr.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/gcheap
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/udev/rules.d,/etc/udev/rules.d)
MODPROBEDIR ?= /etc/modprobe.d
DKMS_SRCDIR ?= /usr/src
DESTDIR ?=

.PHONY: all help deps module lib selftests tools hosted-test stage lint gc-compat \
	run check bench clean hosted-tsan man install uninstall dkms-source gcpause \
	dkms-install dkms-uninstall deb fuzz soak

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
	@echo 'make bench          benchmarks: gcheap, bdwgc, glibc malloc side by side in one VM;'
	@echo '                    BASE=rev: also the module and library of commit rev (A/B)'
	@echo 'make soak           gcsoak in a VM (SOAK_SECONDS=600 SOAK_KERNEL=debug SOAK_THREADS=8);'
	@echo '                    fails on corruption or a kernel splat; SOAK_ANYWHERE=1: interrupt-anywhere'
	@echo '                    mode with SSE/AVX-copying mutators (SOAK_ARGS=-x)'
	@echo 'make fuzz           a long ioctl and control-area fuzz run in a VM (FUZZ_KERNEL=debug,'
	@echo '                    FUZZ_CALLS=1000000, FUZZ_SEED=random, printed); fails on any splat'
	@echo 'make deps           install the Debian packages (root or sudo)'
	@echo 'make gc-compat      the drop-in libgc.so.1 (build/lib/gc/) and gcheap-run'
	@echo 'make install        library, headers, gcheap.pc, man pages, udev and modprobe files,'
	@echo '                    the drop-in libgc.so.1 (LIBDIR/gcheap/) and gcheap-run'
	@echo '                    (PREFIX=/usr/local, DESTDIR=); make uninstall removes them'
	@echo 'make dkms-install   the module for the running kernel (DKMS_KERNEL=release) and'
	@echo '                    every later one, through DKMS; make dkms-uninstall'
	@echo 'make man            the man pages in build/man/, from Documentation/'
	@echo 'make deb            Debian packages gcheap-dkms, libgcheap0, libgcheap-dev, gcheap-tools,'
	@echo '                    gcheap-libgc in build/deb/'
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

LIB_SRCS := userlib/alloc.c userlib/collect.c userlib/device.c userlib/finalize.c \
	userlib/init.c userlib/percpu.c \
	userlib/query.c userlib/sizeclass.c userlib/tcache.c userlib/version.c \
	kmod/core/cache.c kmod/core/sizeclass.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/lib/obj/%.o)
LIB_SO := $(BUILD)/lib/$(SONAME).$(VERSION:0.%=%)
LIBS := $(BUILD)/lib/libgcheap.a $(BUILD)/lib/libgcheap.so $(BUILD)/lib/gcheap.pc

lib: $(LIBS)

$(BUILD)/lib/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/lib/libgcheap.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) userlib/libgcheap.map
	$(CC) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=userlib/libgcheap.map -Wl,-z,defs $(LDFLAGS) \
		-o $@ $(LIB_OBJS) -lpthread

$(BUILD)/lib/libgcheap.so: $(LIB_SO)
	ln -sf $(notdir $<) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $@

# --- the bdwgc drop-in: libgc.so.1 on libgcheap ------------------------------

# Compiled against Debian's bdwgc headers (libgc-dev), so every definition
# is checked against the prototypes programs were built with; deprecated
# variables are part of what it must define.  Installed in a directory of
# its own (GC_LIBDIR), never over libgc1: gcheap-run points the loader at it.
GC_SRCS := $(wildcard userlib/gc/*.c)
GC_OBJS := $(GC_SRCS:%.c=$(BUILD)/lib/obj/%.o)
GC_SO := $(BUILD)/lib/gc/libgc.so.1
GC_LIBDIR ?= $(LIBDIR)/gcheap

$(BUILD)/lib/obj/userlib/gc/%.o: userlib/gc/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-deprecated-declarations $(CPPFLAGS) -fPIC \
		-fvisibility=hidden -c $< -o $@

$(GC_SO): $(GC_OBJS) userlib/gc/libgc.map $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libgc.so.1 -Wl,--version-script=userlib/gc/libgc.map \
		-Wl,-z,defs $(LDFLAGS) -o $@ $(GC_OBJS) $(LIB_SO) -lpthread -ldl

gc-compat: $(GC_SO) $(BUILD)/tools/gcheap-run

# gcheap-run knows where the drop-in is installed (and looks next to
# itself in a build or a VM stage)
GCHEAP_RUN_SED = sed -e 's|@GC_LIBDIR@|$(GC_LIBDIR)|' -e 's|@VERSION@|$(VERSION)|'

$(BUILD)/tools/gcheap-run: tools/gcheap-run/gcheap-run.sh
	@mkdir -p $(@D)
	$(GCHEAP_RUN_SED) $< > $@
	chmod 755 $@

# gcheap.pc for PREFIX, LIBDIR and INCLUDEDIR (see "make install" below);
# directories under the prefix are written relative to ${prefix}
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' \
	-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	-e 's|@VERSION@|$(VERSION)|' userlib/gcheap.pc.in

$(BUILD)/lib/gcheap.pc: userlib/gcheap.pc.in
	$(PC_SED) > $@

# --- selftests and tools ----------------------------------------------------

# kselftest_harness.h comes from Debian's linux-source-6.1, cached.
KSFT_DIR = $(shell tools/kernel/linux-tools)

# the harness macros trip these warnings by design
KSFT_CFLAGS := -Wno-sign-compare -Wno-misleading-indentation -Wno-unused-parameter

SELFTESTS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(wildcard selftests/*_test.c))

# shared objects the selftests dlopen() from their own directory
SELFTEST_SOS := $(BUILD)/selftests/libgcheap_gc_dlobj.so $(BUILD)/selftests/libgcheap_lib_dlctor.so

selftests: $(SELFTESTS) $(SELFTEST_SOS)

$(SELFTEST_SOS): $(BUILD)/selftests/lib%.so: selftests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

# The size-class code the tests share, an object of its own: a compiler
# run with one source writes that source's dependencies (-MMD), so a
# change to a header a test includes rebuilds the test.
SELFTEST_SIZECLASS := $(BUILD)/selftests/obj/sizeclass.o

$(SELFTEST_SIZECLASS): kmod/core/sizeclass.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/selftests/%: selftests/%.c $(LIBS) $(SELFTEST_SIZECLASS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -I$(KSFT_DIR)/tools/testing/selftests \
		-o $@ $< $(SELFTEST_SIZECLASS) -L$(BUILD)/lib -lgcheap -lpthread

# The drop-in's tests: bdwgc programs, built against Debian's gc.h and
# linked with -lgc like any libgc1 client, so the same binary runs on
# libgc1 and, through gcheap-run, on the drop-in (selftests/run-in-vm.sh
# runs both: a test that fails on libgc1 is a wrong test).
GC_COMPAT_TESTS := $(patsubst selftests/gc_compat/%.c,$(BUILD)/selftests/gc_compat/%,$(wildcard selftests/gc_compat/*_test.c))

$(BUILD)/selftests/gc_compat/%: selftests/gc_compat/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -Wno-deprecated-declarations $(CFLAGS) -D_GNU_SOURCE -MMD -MP \
		$(KSFT_CFLAGS) -I$(KSFT_DIR)/tools/testing/selftests -Iselftests \
		-o $@ $< -lgc -lpthread

selftests: $(GC_COMPAT_TESTS)

# gcheap_compat_test, the 32-bit caller:
# An i386 program without libc (system calls through int $0x80), so that
# only the compiler's -m32 is needed, not gcc-multilib/libc6-dev-i386.
# -malign-double gives __u64 the 8-byte alignment of the 64-bit ABI.  If
# -m32 does not work, a stub that reports a skip takes its place.
COMPAT_CFLAGS := -std=gnu11 -m32 -malign-double -static -nostdlib -ffreestanding \
	-fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-builtin -O2 -Wall -Wextra -Werror -I$(CURDIR)/uapi \
	-I/usr/include/$(shell $(CC) -print-multiarch)

$(BUILD)/selftests/gcheap_compat_test: selftests/gcheap_compat_test.c uapi/linux/gcheap.h
	@mkdir -p $(@D)
	@if $(CC) $(COMPAT_CFLAGS) -o $@ $< 2> $@.log; then \
		rm -f $@.log; echo "  CC -m32 $@"; \
	else \
		echo "gcheap_compat_test: '$(CC) -m32' does not work here ($@.log): a stub that skips is staged"; \
		printf '#!/bin/sh\necho "TAP version 13"\necho "1..1"\necho "ok 1 compat_32bit_caller # SKIP built without working $(CC) -m32"\nexit 4\n' > $@; \
		chmod +x $@; \
	fi

TOOLS := $(BUILD)/tools/gcheap-info $(BUILD)/tools/gcheap-demo $(BUILD)/tools/gcbench \
	$(BUILD)/tools/gcsoak

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

gcpause: $(GCPAUSE)

tools: $(TOOLS_ALL)

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
# multi runs N processes of one at once.  markbench is the hosted core's
# mark and sweep, natively.
BENCH_WORKLOADS := alloc garbage bigheap pause
BENCH_CONTENDERS := gcheap bdwgc malloc
BENCHES := $(foreach w,$(BENCH_WORKLOADS),$(foreach c,$(BENCH_CONTENDERS),$(BUILD)/bench/$(w)-$(c))) \
	$(BUILD)/bench/gcbench-bdwgc $(BUILD)/bench/gcbench-malloc $(BUILD)/bench/multi \
	$(BUILD)/bench/finalize-gcheap $(BUILD)/bench/finalize-bdwgc
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
# finalizers and weak links: the two collectors only
$(eval $(call bench_rule,finalize,gcheap,bench/finalize/finalize.c,GCHEAP))
$(eval $(call bench_rule,finalize,bdwgc,bench/finalize/finalize.c,BDWGC))
$(eval $(call bench_rule,gcbench,bdwgc,tools/gcbench/gcbench.c,BDWGC))
$(eval $(call bench_rule,gcbench,malloc,tools/gcbench/gcbench.c,MALLOC))
# multi (N processes of a workload at once) allocates nothing itself: it
# takes contender.c's clocks, the malloc one
$(BUILD)/bench/multi: bench/multi/multi.c $(CONTENDER)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ibench/lib -DBENCH_MALLOC -o $@ $< bench/lib/contender.c

MARKBENCH := $(BUILD)/bench/markbench
$(MARKBENCH): bench/core/markbench.c $(wildcard kmod/core/*.c kmod/core/*.h)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -g $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $< \
		$(wildcard kmod/core/*.c) -lpthread

# --- hosted core tests ------------------------------------------------------

HOSTED_SRCS := tools/testing/hosted/kunit.c $(wildcard kmod/core/*.c) \
	$(wildcard kmod/core/tests/*_test.c)
# the headers they include, the tests' shared fixtures among them
HOSTED_HDRS := $(wildcard kmod/core/*.h kmod/core/tests/*.h \
	tools/testing/hosted/include/kunit/*.h)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

$(BUILD)/hosted/core_test: $(HOSTED_SRCS) $(HOSTED_HDRS)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g $(SANITIZE) $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $(HOSTED_SRCS)

hosted-test: $(BUILD)/hosted/core_test
	$<

# The same tests under ThreadSanitizer: the parallel mark and sweep.
$(BUILD)/hosted/core_tsan: $(HOSTED_SRCS) $(HOSTED_HDRS)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g -fsanitize=thread $(CPPFLAGS_GCH) \
		-I$(CURDIR)/tools/testing/hosted/include -o $@ $(HOSTED_SRCS) -lpthread

hosted-tsan: $(BUILD)/hosted/core_tsan
	$<

# --- VM payload -------------------------------------------------------------

# Everything a test VM needs for kernel $(KERNEL): the module built for it,
# the library, selftests, tools and the in-VM test script.
stage: lib gc-compat selftests tools $(BENCHES)
	@set -e; ko=$$(tools/build-module --kernel $(KERNEL) | tail -n 1); \
	dir=$(BUILD)/stage/$(KERNEL); rm -rf $$dir; mkdir -p $$dir/bin $$dir/lib; \
	cp $$ko $$dir/; cp -P $(BUILD)/lib/libgcheap.so* $$dir/lib/; \
	cp $(SELFTESTS) $(SELFTEST_SOS) $(TOOLS_ALL) $(BENCHES) $$dir/bin/; \
	cp selftests/run-in-vm.sh $$dir/; cp bench/run-in-vm.sh $$dir/bench.sh; \
	mkdir -p $$dir/lib/gcheap-gc $$dir/bin/gc_compat; cp $(GC_SO) $$dir/lib/gcheap-gc/; \
	cp $(BUILD)/tools/gcheap-run $$dir/bin/; \
	$(if $(GC_COMPAT_TESTS),cp $(GC_COMPAT_TESTS) $$dir/bin/gc_compat/;) \
	cp tools/vm/demo.sh $$dir/; \
	echo "stage: $$dir ($$(modinfo -F vermagic $$ko | cut -d' ' -f1))"

# --- man pages --------------------------------------------------------------

# Made from Documentation/ by tools/mkman (docutils), never written by hand:
# libgcheap(3) is userlib.rst, gcheap(4) uapi.rst with the module
# parameters and the installation's files.  Every function libgcheap.so
# exports (userlib/libgcheap.map) gets a man3 link to libgcheap(3).
MAN := $(BUILD)/man
# Debian's python3, which python3-docutils is installed for (a python3
# earlier in PATH, e.g. pyenv's, may lack docutils)
PYTHON3 ?= $(firstword $(wildcard /usr/bin/python3) python3)
MAN_FUNCS := $(sort $(shell sed -n 's/^[[:space:]]*\(gch_[a-z_]*\);/\1/p' userlib/libgcheap.map))
MAN_PAGES := $(MAN)/man3/libgcheap.3 $(MAN)/man4/gcheap.4 $(MAN)/man8/gcpause.8 \
	$(MAN)/man1/gcheap-run.1
MAN_LINKS := $(MAN_FUNCS:%=$(MAN)/man3/%.3)
MKMAN = $(PYTHON3) tools/mkman --version $(VERSION) --ref userlib='libgcheap(3)' --ref uapi='gcheap(4)' \
	--ref gcpause='gcpause(8)' --ref gc-compat='gcheap-run(1)'

man: $(MAN_PAGES) $(MAN_LINKS)

$(MAN)/man3/libgcheap.3: Documentation/userlib.rst examples/list.c tools/mkman
	@mkdir -p $(@D)
	$(MKMAN) --name libgcheap --section 3 --see-also 'gcheap(4)' \
		--summary 'a garbage-collected heap for C programs, collected in the kernel' \
		-o $@ $<

$(MAN)/man4/gcheap.4: Documentation/uapi.rst Documentation/design.rst Documentation/install.rst tools/mkman
	@mkdir -p $(@D)
	$(MKMAN) --name gcheap --section 4 --see-also 'libgcheap(3)' \
		--see-also 'modprobe.d(5)' --see-also 'udev(7)' --see-also 'dkms(8)' \
		--summary 'the garbage-collected heap device, /dev/gcheap' -o $@ $< \
		'Documentation/design.rst#Module parameters' \
		'Documentation/install.rst#Loading the module' \
		'Documentation/install.rst#Who may use /dev/gcheap' \
		'Documentation/install.rst#Files'

$(MAN)/man8/gcpause.8: Documentation/gcpause.rst tools/mkman
	@mkdir -p $(@D)
	$(MKMAN) --name gcpause --section 8 --see-also 'gcheap(4)' \
		--see-also 'libgcheap(3)' --see-also 'bpftrace(8)' \
		--summary 'summarize gcheap garbage-collection pauses as histograms' \
		-o $@ $<

# gcheap-run(1) is gc-compat.rst without its table of every symbol (too
# wide for a terminal: the page names where it is)
$(MAN)/man1/gcheap-run.1: Documentation/gc-compat.rst tools/mkman
	@mkdir -p $(@D)
	$(MKMAN) --name gcheap-run --section 1 --see-also 'libgcheap(3)' \
		--see-also 'gcheap(4)' --omit 'Every exported symbol' \
		--summary 'run programs built for the Boehm collector (libgc1) on gcheap' \
		-o $@ $<

$(MAN_LINKS): userlib/libgcheap.map
	@mkdir -p $(@D)
	echo '.so man3/libgcheap.3' > $@

# --- install ----------------------------------------------------------------

INSTALL ?= install
EXAMPLES := examples/Makefile examples/list.c

install: lib gc-compat man $(GCPAUSE)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(MODPROBEDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(GC_LIBDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(LIB_SO) $(BUILD)/lib/libgcheap.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(GC_SO) $(DESTDIR)$(GC_LIBDIR)/
	$(GCHEAP_RUN_SED) tools/gcheap-run/gcheap-run.sh > $(DESTDIR)$(BINDIR)/gcheap-run
	chmod 755 $(DESTDIR)$(BINDIR)/gcheap-run
	$(INSTALL) -m 644 $(MAN)/man1/gcheap-run.1 $(DESTDIR)$(MANDIR)/man1/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libgcheap.so
	$(PC_SED) > $(DESTDIR)$(PKGCONFIGDIR)/gcheap.pc
	$(INSTALL) -m 644 userlib/gcheap.h $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 uapi/linux/gcheap.h $(DESTDIR)$(INCLUDEDIR)/linux/
	$(INSTALL) -m 644 $(MAN)/man3/libgcheap.3 $(MAN_LINKS) $(DESTDIR)$(MANDIR)/man3/
	$(INSTALL) -m 644 $(MAN)/man4/gcheap.4 $(DESTDIR)$(MANDIR)/man4/
	$(INSTALL) -m 644 dist/60-gcheap.rules $(DESTDIR)$(UDEVRULESDIR)/
	$(INSTALL) -m 644 dist/gcheap.conf $(DESTDIR)$(MODPROBEDIR)/
	$(INSTALL) -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -m 755 $(GCPAUSE) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 644 $(MAN)/man8/gcpause.8 $(DESTDIR)$(MANDIR)/man8/
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(notdir $(LIB_SO)) $(SONAME) libgcheap.so libgcheap.a) \
		$(DESTDIR)$(PKGCONFIGDIR)/gcheap.pc $(DESTDIR)$(INCLUDEDIR)/gcheap.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/gcheap.h $(DESTDIR)$(MANDIR)/man4/gcheap.4 \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,libgcheap.3 $(MAN_FUNCS:=.3)) \
		$(DESTDIR)$(UDEVRULESDIR)/60-gcheap.rules $(DESTDIR)$(MODPROBEDIR)/gcheap.conf \
		$(DESTDIR)$(SBINDIR)/gcpause $(DESTDIR)$(MANDIR)/man8/gcpause.8 \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(EXAMPLES)) \
		$(DESTDIR)$(GC_LIBDIR)/libgc.so.1 $(DESTDIR)$(BINDIR)/gcheap-run \
		$(DESTDIR)$(MANDIR)/man1/gcheap-run.1
	-rmdir $(DESTDIR)$(GC_LIBDIR) 2>/dev/null
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

# --- DKMS ---------------------------------------------------------------------

# The module's sources as DKMS wants them: $(DKMS_SRCDIR)/gcheap-$(VERSION)/
# with dkms.conf, and tools/dkms-btf, which encodes the module's BTF when
# DKMS builds for the running kernel (dkms.conf).  dkms-install adds,
# builds and installs them for the running kernel (or DKMS_KERNEL), and
# DKMS rebuilds them for every kernel installed later.  DKMS="dkms
# --dkmstree ..." points it elsewhere.
DKMS ?= dkms
DKMS_SOURCE := $(DESTDIR)$(DKMS_SRCDIR)/gcheap-$(VERSION)
DKMS_K := $(if $(DKMS_KERNEL),-k $(DKMS_KERNEL))

dkms-source:
	rm -rf $(DKMS_SOURCE)
	$(INSTALL) -d $(DKMS_SOURCE)
	cp -R dkms.conf Kbuild kmod uapi $(DKMS_SOURCE)/
	$(INSTALL) -D -m 755 tools/dkms-btf $(DKMS_SOURCE)/tools/dkms-btf
	@grep -q '^PACKAGE_VERSION="$(VERSION)"$$' $(DKMS_SOURCE)/dkms.conf || \
		{ echo 'dkms.conf: PACKAGE_VERSION is not $(VERSION), the Makefile VERSION' >&2; exit 1; }

dkms-install: dkms-source
	@command -v $(firstword $(DKMS)) >/dev/null || \
		{ echo 'dkms not found: apt-get install dkms' >&2; exit 1; }
	if $(DKMS) status gcheap/$(VERSION) | grep -q .; then \
		$(DKMS) remove gcheap/$(VERSION) --all; fi
	$(DKMS) add gcheap/$(VERSION)
	$(DKMS) build gcheap/$(VERSION) $(DKMS_K)
	$(DKMS) install gcheap/$(VERSION) $(DKMS_K)

dkms-uninstall:
	if $(DKMS) status gcheap/$(VERSION) | grep -q .; then \
		$(DKMS) remove gcheap/$(VERSION) --all; fi
	rm -rf $(DKMS_SOURCE)

# --- Debian packages ----------------------------------------------------------

# dpkg-buildpackage in a copy of the tree (the files git knows, as they are
# now), so that it writes nothing into the work tree; the .debs land in
# build/deb/.  Lintian checks them when it is installed.
deb:
	@tools/mkdeb

# --- style ------------------------------------------------------------------

lint:
	@tools/testing/lint

# --- the README's commands --------------------------------------------------

# The VM's boot log stays in a file (printed in full when the run fails);
# the workload's own output and any kernel warning are shown.  V=1 shows
# the whole console.
VM_QUIET = $(if $(filter 1,$(V)),,--quiet)

run: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	tools/vm/run --kernel 6.1 --stage $(BUILD)/stage/6.1 --timeout 300 \
		$(VM_QUIET) --log $(BUILD)/run-console.log -- ./demo.sh

check: deps
	@tools/testing/check

# The benchmark suite (bench/README.md): the hosted core's mark on the
# host, then every workload on gcheap, bdwgc and glibc malloc in one VM
# boot; the table, JSON and plots in build/bench/results/.  BENCH_REPS
# rounds (default 3); BENCH_QUICK=1 for a tiny run of everything.
# BASE=rev (default none): an A/B run, every gcheap workload also under
# the module and library of commit rev (bench/stage-base), as the
# contender gcheap-base, in the same boot.
BENCH_REPS ?= 3
BENCH_QUICK ?= 0
BASE ?=
# only from the command line: an environment variable of that common name
# must not turn an ordinary run into an A/B one
ifeq ($(origin BASE),environment)
BASE :=
endif
bench: deps
	@$(MAKE) --no-print-directory stage KERNEL=6.1
	@tools/realprogs/fetch --stage $(BUILD)/stage/6.1 --only w3m || \
		echo 'bench: tools/realprogs/fetch failed: the w3m workload will be skipped'
	@$(MAKE) --no-print-directory $(MARKBENCH)
	$(if $(BASE),@bench/stage-base '$(BASE)')
	@bench/run --reps $(BENCH_REPS) $(if $(filter 1,$(BENCH_QUICK)),--quick) $(if $(BASE),--base)

# A long correctness soak (tools/gcsoak): mutators verifying checksummed
# object graphs while collections run, in one VM; fails on corruption, a
# failed collection or a kernel splat (the runner's exit status 126).
# SOAK_ANYWHERE=1 runs it in interrupt-anywhere mode (tools/vm/run
# --anywhere: a thread can be stopped between any two instructions), where
# SOAK_ARGS defaults to -x: mutators also swap slots through SSE/AVX
# registers.  SOAK_ARGS: more gcsoak options.  SOAK_CONCURRENT=1 loads the
# module with concurrent_mark=1 (marks beside the mutators, issue 18).
SOAK_SECONDS ?= 600
SOAK_KERNEL ?= debug
SOAK_THREADS ?= 8
SOAK_ANYWHERE ?=
SOAK_ARGS ?= $(if $(filter 1,$(SOAK_ANYWHERE)),-x)
soak: deps
	@$(MAKE) --no-print-directory stage KERNEL=$(SOAK_KERNEL)
	tools/vm/run --kernel $(SOAK_KERNEL) --stage $(BUILD)/stage/$(SOAK_KERNEL) \
		$(if $(filter 1,$(SOAK_ANYWHERE)),--anywhere) \
		$(VM_QUIET) --log $(BUILD)/soak-console.log \
		--timeout $$(( $(SOAK_SECONDS) + 600 )) -- \
		'insmod gcheap.ko $(if $(filter 1,$(SOAK_CONCURRENT)),concurrent_mark=1) && bin/gcsoak -t $(SOAK_THREADS) -d $(SOAK_SECONDS) -p 10 $(SOAK_ARGS)'

# --- fuzzing ----------------------------------------------------------------

# selftests/gcheap_fuzz_test for longer than make check runs it, with a
# new seed each time unless FUZZ_SEED is given (the seed is printed: a
# failure is replayed with FUZZ_SEED=<it>).  tools/vm/run fails (126) on
# any oops, KASAN, lockdep or kmemleak report.
FUZZ_KERNEL ?= debug
FUZZ_CALLS ?= 1000000
FUZZ_SEED ?= random
FUZZ_TIMEOUT ?= 21600

fuzz: deps
	@$(MAKE) --no-print-directory stage KERNEL=$(FUZZ_KERNEL)
	@seed='$(FUZZ_SEED)'; \
	[ "$$seed" != random ] || seed=0x$$(od -An -N8 -tx8 /dev/urandom | tr -d ' '); \
	echo "fuzz: seed $$seed, $(FUZZ_CALLS) calls, kernel $(FUZZ_KERNEL) (replay: make fuzz FUZZ_SEED=$$seed)"; \
	tools/vm/run --kernel $(FUZZ_KERNEL) --stage $(BUILD)/stage/$(FUZZ_KERNEL) \
		$(VM_QUIET) --log $(BUILD)/fuzz-console.log \
		--timeout $(FUZZ_TIMEOUT) -- "insmod gcheap.ko && \
		GCH_FUZZ_SEED=$$seed GCH_FUZZ_CALLS=$(FUZZ_CALLS) bin/gcheap_fuzz_test"; \
	rc=$$?; echo "fuzz: seed $$seed: exit $$rc"; exit $$rc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
