/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gcheap - a garbage-collected heap for user processes, collected in the kernel.
 *
 * This is the whole ABI between gcheap.ko and userspace: the device name,
 * the ioctl numbers and their argument structs, and the constants of the
 * heap layout that the library and the module must agree on.
 *
 * Conventions (see Documentation/uapi.rst):
 *
 * - Every ioctl argument struct starts with struct gch_ioc_hdr.  @size is
 *   the size of the struct as the caller knows it (sizeof() in the caller's
 *   copy of this header); the kernel accepts any size from the struct's first
 *   published size (GCH_*_SIZE_VER0) up to 4096 bytes.  Bytes the kernel does
 *   not know must be zero (else -E2BIG); fields the caller does not know are
 *   taken as zero.  On return the kernel writes back at most @size bytes and
 *   sets @size to the number of bytes it filled in.
 * - @flags bits that the kernel does not know give -EINVAL.
 * - A bad pointer (the struct, or a buffer it points to) gives -EFAULT;
 *   any ioctl number other than the GCH_IOC_* below gives -ENOTTY.  The
 *   errors listed for each ioctl come on top of these.
 * - Ioctl numbers never change when a struct grows: the size encoded in the
 *   number is that of the first version, the real size travels in @size.
 * - Every heap belongs to the process (mm) that opened the device; ioctls
 *   from any other process get -EPERM.
 * - All fields are fixed-width; addresses are __u64.
 */
#ifndef _UAPI_LINUX_GCHEAP_H
#define _UAPI_LINUX_GCHEAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** GCH_DEVICE_PATH - the character device a process opens to get a heap. */
#define GCH_DEVICE_PATH		"/dev/gcheap"

/*
 * ABI version.  The major number changes only when an existing ioctl or
 * struct changes incompatibly; the minor number when one is added.
 */
#define GCH_ABI_MAJOR		0
#define GCH_ABI_MINOR		7

/* Feature bits reported by GCH_IOC_VERSION in gch_version.features. */
#define GCH_FEAT_VERSION	(1ULL << 0)	/* GCH_IOC_VERSION itself */
#define GCH_FEAT_HEAP		(1ULL << 1)	/* arena, caches, allocation */
#define GCH_FEAT_COLLECT	(1ULL << 2)	/* COLLECT, ROOTS, GC_STATS */
#define GCH_FEAT_SPECIALS	(1ULL << 3)	/* FINALIZER, WEAK, FIN_TAKE */
/* GCH_FINALIZER_* order flags, old_fn and old_data; GCH_WEAK_MOVE, _KIND */
#define GCH_FEAT_SPECIALS2	(1ULL << 4)
/* ABI 0.7: gch_heap_config.concurrent, struct gch_gc_phases */
#define GCH_FEAT_CONCURRENT	(1ULL << 5)

/*
 * Heap layout shared by the library and the module.
 *
 * The arena is managed in heap pages of GCH_PAGE_SIZE bytes (two 4 KiB
 * kernel pages on x86-64), the unit of spans.  Objects up to
 * GCH_MAX_SMALL_SIZE bytes are rounded up to a size class; larger ones get
 * a span of their own.  Every object is GCH_MIN_ALIGN-aligned.
 * GCH_SIZECLASS_VERSION names the algorithm that builds the class table
 * and the per-CPU cache layout computed from it: library and module must
 * report the same one.  Version 2: caches of about 32 KiB of objects.
 */
#define GCH_PAGE_SHIFT		13
#define GCH_PAGE_SIZE		(1U << GCH_PAGE_SHIFT)
#define GCH_MAX_SMALL_SIZE	32768U
#define GCH_MIN_ALIGN		16U
#define GCH_MAX_SIZE_CLASSES	96	/* capacity; class 0 means "large" */
#define GCH_SIZECLASS_VERSION	2

/**
 * struct gch_ioc_hdr - header of every gcheap ioctl argument struct
 * @size:  in: size of the whole struct as the caller knows it;
 *         out: number of bytes the kernel filled in.
 * @flags: per-ioctl flags; unknown bits give -EINVAL.
 */
struct gch_ioc_hdr {
	__u32 size;
	__u32 flags;
};

/**
 * struct gch_version - argument of GCH_IOC_VERSION
 * @hdr:               common header; no flags are defined (must be 0).
 * @abi_major:         out: GCH_ABI_MAJOR of the running module.
 * @abi_minor:         out: GCH_ABI_MINOR of the running module.
 * @features:          out: GCH_FEAT_* bits the module supports.
 * @page_shift:        out: log2 of the heap page size (GCH_PAGE_SHIFT).
 * @max_small_size:    out: largest size served from a size class.
 * @nr_size_classes:   out: number of size classes, class 0 included.
 * @sizeclass_version: out: GCH_SIZECLASS_VERSION of the module's table.
 *
 * Input fields other than @hdr are ignored and overwritten.
 */
struct gch_version {
	struct gch_ioc_hdr hdr;
	__u32 abi_major;
	__u32 abi_minor;
	__u64 features;
	__u32 page_shift;
	__u32 max_small_size;
	__u32 nr_size_classes;
	__u32 sizeclass_version;
};

#define GCH_VERSION_SIZE_VER0	40	/* sizeof first published struct */

/* 0xC6 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define GCH_IOC_MAGIC		0xC6

/**
 * GCH_IOC_VERSION - report the ABI version and features of the module.
 *
 * Argument: struct gch_version.  Errors: -EFAULT (bad pointer), -EINVAL
 * (@hdr.size below GCH_VERSION_SIZE_VER0, or unknown flags), -E2BIG
 * (@hdr.size above 4096, or non-zero bytes past the kernel's struct),
 * -EPERM (the heap belongs to another process).
 */
#define GCH_IOC_VERSION		_IOWR(GCH_IOC_MAGIC, 0x00, struct gch_version)


/*
 * The arena and the control area.
 *
 * After GCH_IOC_CONFIGURE (optional: defaults apply), a process maps
 *
 *   - the arena: mmap(NULL, arena_size, PROT_READ | PROT_WRITE,
 *     MAP_SHARED, fd, GCH_MMAP_ARENA) -- all objects live here, none in
 *     its first GCH_PAGE_SIZE bytes;
 *   - the control area: mmap(NULL, control_size, PROT_READ | PROT_WRITE,
 *     MAP_SHARED, fd, GCH_MMAP_CONTROL) -- the per-CPU caches.
 *
 * Each can be mapped once per heap, by the heap's owner, with exactly the
 * size GCH_IOC_CONFIGURE reports; it cannot be resized, split, moved or
 * inherited by fork (the child sees no heap there).  Errors: EPERM (not
 * the owner), ENOMEM (no memory, or max_heap_metadata); a mapping that
 * failed, or was unmapped before it held an object, may be made again.
 */
#define GCH_MMAP_ARENA		0ULL
#define GCH_MMAP_CONTROL	(1ULL << 44)

/*
 * Span classes: a size class and whether its objects may hold pointers.
 * spanclass = (sizeclass << 1) | noscan.  Class 0 (large) has no cache.
 */
#define GCH_SPANCLASS(sizeclass, noscan)	(((sizeclass) << 1) | ((noscan) ? 1 : 0))
#define GCH_NR_SPANCLASSES			(2 * GCH_MAX_SIZE_CLASSES)

/**
 * struct gch_cache - one CPU's cache of free objects of one span class
 * @count: valid entries in @slots; the allocation fast path pops
 *         slots[count - 1] and commits by storing count - 1.
 * @pad:   zero.
 * @slots: addresses of free, already allocated-to-the-cache objects.
 *
 * A CPU's caches lie back to back in one block of the control area:
 * the block of CPU n starts at n * control.cpu_stride; the cache of span
 * class sc at offset gch_cache_offset(sc) within it and holds
 * gch_cache_capacity(sc) slots (libgcheap computes both from the shared
 * size-class code; the kernel uses its own copy and never trusts values
 * read back from this memory).
 */
struct gch_cache {
	__u32 count;
	__u32 pad;
	__u64 slots[];
};

/* GC percent value that turns automatic collection off ("GOGC=off"). */
#define GCH_GC_OFF		0xffffffffU

/**
 * struct gch_heap_config - argument of GCH_IOC_CONFIGURE
 * @hdr:          common header; no flags defined.
 * @arena_size:   in: arena size in bytes, a multiple of GCH_PAGE_SIZE, or 0
 *                for the default (module parameter default_arena_size);
 *                capped by max_arena_size.  Only before the arena is mapped.
 *                out: the arena size.
 * @gc_percent:   in: GOGC-style growth percent before a collection, 0 for
 *                "keep", GCH_GC_OFF to disable.  out: the current value.
 * @workers:      in: collector worker threads for this heap, 0 for "keep".
 *                out: the current value.
 * @control_size: out: bytes to map at GCH_MMAP_CONTROL.
 * @cpu_stride:   out: bytes between two CPUs' blocks in the control area.
 * @nr_cpus:      out: number of CPU blocks (the kernel's nr_cpu_ids).
 * @arena_start:  out: user address of the arena, 0 while unmapped.  No
 *                object is ever there (the arena's first GCH_PAGE_SIZE
 *                bytes are never handed out), so a copy of it is no
 *                reference to any object.
 * @tls_below:    in: bytes below each thread's thread pointer (the x86-64
 *                FS base) that hold its static TLS, scanned as roots;
 *                0 keeps.  At most GCH_TLS_MAX.  out: the current value.
 * @tls_above:    in: bytes from the thread pointer up (the thread control
 *                block, e.g. glibc's pthread_setspecific slots); 0 keeps.
 *                out: the current value.
 * @concurrent:   in: GCH_CONCURRENT_ON (mark beside the program: stop it
 *                only for the roots and at the end), GCH_CONCURRENT_OFF
 *                (stop it for the whole mark), GCH_CONCURRENT_MODULE (as
 *                the module parameter concurrent_mark says: the default);
 *                0 keeps.  out: the heap's setting.  (ABI 0.7)
 * @pad:          zero.
 */
struct gch_heap_config {
	struct gch_ioc_hdr hdr;
	__u64 arena_size;
	__u32 gc_percent;
	__u32 workers;
	__u64 control_size;
	__u32 cpu_stride;
	__u32 nr_cpus;
	__u64 arena_start;
	__u32 tls_below;
	__u32 tls_above;
	__u32 concurrent;
	__u32 pad;
};

#define GCH_CONFIG_SIZE_VER0	48
#define GCH_CONFIG_SIZE_VER1	56	/* ABI 0.3: @tls_below, @tls_above */
#define GCH_CONFIG_SIZE_VER2	64	/* ABI 0.7: @concurrent */

/* gch_heap_config.concurrent */
#define GCH_CONCURRENT_ON	1
#define GCH_CONCURRENT_OFF	2
#define GCH_CONCURRENT_MODULE	3
#define GCH_TLS_MAX		(1U << 20)

/* gch_refill.hdr.flags */
#define GCH_REFILL_BUFFER	(1U << 0)	/* fill @buf, not the CPU cache */
#define GCH_REFILL_UNZEROED	(1U << 1)	/* tag objects to zero, see below */

/*
 * With GCH_REFILL_UNZEROED, an object that may still hold old data of
 * this heap (an object freed earlier, or a page the heap used before) is
 * not zeroed by the kernel: its address comes with GCH_SLOT_UNZEROED set,
 * and the caller clears the bit and zeroes the object before handing it
 * out.  Memory new to the heap always comes zeroed, so no data of another
 * process or of the kernel is ever visible.  Without the flag every object
 * comes zeroed.
 */
#define GCH_SLOT_UNZEROED	1ULL

/**
 * struct gch_refill - argument of GCH_IOC_REFILL
 * @hdr:       common header; flags GCH_REFILL_BUFFER.
 * @spanclass: in: the span class to refill (not 0 or 1: large objects).
 * @cpu:       out: the CPU whose cache was filled (without the flag).
 * @count:     out: objects added to the cache or written to @buf.
 * @max:       in: with GCH_REFILL_BUFFER, entries @buf holds (at most
 *             4096); objects are written to buf[0 .. count - 1].
 * @buf:       in: with GCH_REFILL_BUFFER, user address of a __u64 array.
 *
 * Without the flag the kernel fills the calling CPU's cache for
 * @spanclass up to its capacity, with preemption disabled, so a thread
 * preempted inside its rseq critical section on that CPU restarts it and
 * never sees a half-written cache.  Objects handed out are zeroed, or
 * tagged with GCH_REFILL_UNZEROED.
 * @gc_due:    out: 1 if the heap has grown past its goal (GOGC pacing):
 *             the caller should collect (GCH_IOC_COLLECT with
 *             GCH_COLLECT_IF_DUE) soon.  0 otherwise.
 * @pad:       zero.
 */
struct gch_refill {
	struct gch_ioc_hdr hdr;
	__u32 spanclass;
	__u32 cpu;
	__u32 count;
	__u32 max;
	__u64 buf;
	__u32 gc_due;
	__u32 pad;
};

#define GCH_REFILL_SIZE_VER0	32

/* gch_alloc.hdr.flags */
#define GCH_ALLOC_NOSCAN	(1U << 0)	/* never holds pointers */

/**
 * struct gch_alloc - argument of GCH_IOC_ALLOC_LARGE
 * @hdr:  common header; flags GCH_ALLOC_NOSCAN.
 * @size: in: object size in bytes, more than GCH_MAX_SMALL_SIZE.
 * @addr: out: the object's address (page aligned, zeroed).
 * @gc_due: out: as in struct gch_refill.
 * @pad:  zero.
 */
struct gch_alloc {
	struct gch_ioc_hdr hdr;
	__u64 size;
	__u64 addr;
	__u32 gc_due;
	__u32 pad;
};

#define GCH_ALLOC_SIZE_VER0	24

/**
 * struct gch_free - argument of GCH_IOC_FREE
 * @hdr:  common header; no flags defined.
 * @addr: in: the start of an allocated object.
 *
 * Errors: -EINVAL if @addr is not the start of an allocated object (a
 * double free included), -ENXIO if the arena is not mapped.
 */
struct gch_free {
	struct gch_ioc_hdr hdr;
	__u64 addr;
};

#define GCH_FREE_SIZE_VER0	16

/* gch_query.oflags */
#define GCH_OBJ_NOSCAN		(1U << 0)
#define GCH_OBJ_LARGE		(1U << 1)

/**
 * struct gch_query - argument of GCH_IOC_QUERY
 * @hdr:       common header; no flags defined.
 * @addr:      in: any address inside an allocated object.
 * @base:      out: the object's first byte.
 * @size:      out: the object's usable size (its class size).
 * @sizeclass: out: its size class (0 for a large object).
 * @oflags:    out: GCH_OBJ_* bits.
 *
 * Errors: -EINVAL if @addr is outside the arena, -ENOENT if it is inside
 * the arena but not inside an allocated object, -ENXIO if the arena is not
 * mapped.
 */
struct gch_query {
	struct gch_ioc_hdr hdr;
	__u64 addr;
	__u64 base;
	__u64 size;
	__u32 sizeclass;
	__u32 oflags;
};

#define GCH_QUERY_SIZE_VER0	40

/**
 * struct gch_class_stats - per size class counters
 * @nmalloc: objects handed out (to caches or callers) since the heap began.
 * @nfree:   objects freed since the heap began.
 * @spans:   spans of this class now.
 */
struct gch_class_stats {
	__u64 nmalloc;
	__u64 nfree;
	__u64 spans;
};

/**
 * struct gch_stats - argument of GCH_IOC_STATS
 * @hdr:           common header; no flags defined.
 * @arena_size:    bytes of address space reserved.
 * @mapped_bytes:  bytes backed by memory (spans and their pages).
 * @inuse_bytes:   bytes in allocated objects (rounded to their class).
 * @objects:       allocated objects, large ones included.
 * @cached_objects: objects sitting in per-CPU caches, not yet used.
 * @nmalloc:       objects allocated since the heap began.
 * @nfree:         objects freed since the heap began.
 * @spans_inuse:   spans holding objects.
 * @large_objects: large objects allocated now.
 * @metadata_bytes: kernel memory the heap uses for its bookkeeping.
 * @nr_classes:    entries of @classes that are valid.
 * @pad:           zero.
 * @classes:       per size class counters; class 0 is large objects.
 * @refills:       GCH_IOC_REFILL calls that handed out objects.
 * @unswept_spans: spans the current collection's sweep has not reached
 *                 yet (their dead objects still count as allocated).
 * @idle_bytes:    bytes of free heap pages still backed by memory (and
 *                 mapped), kept for reuse until the scavenger returns
 *                 them to the system.
 * @scavenged_bytes: bytes the scavenger returned since the heap began.
 * @finalizers:    objects with a finalizer registered (GCH_IOC_FINALIZER)
 *                 and not yet found unreachable.
 * @finalizers_ready: finalizers queued for the program and not yet taken
 *                 (GCH_IOC_FIN_TAKE).
 * @finalizers_queued: finalizers queued since the heap began.
 * @finalizers_waiting: at the last collection, objects with a finalizer
 *                 that were unreachable but not queued, because another
 *                 unreachable object with a finalizer (or a cycle
 *                 through themselves) reaches them: a chain's later
 *                 links wait for a later collection, a cycle for ever.
 * @weak_links:    weak links registered (GCH_IOC_WEAK).
 * @weak_cleared:  weak links set to 0 by collections since the heap began.
 * @weak_dropped:  weak links dropped without being written: their memory
 *                 was unmapped or not writable when they were to be
 *                 cleared, or the object holding them died.
 * @finalize_ns:   time collections spent in their finalizer and weak
 *                 phases, since the heap began.
 */
struct gch_stats {
	struct gch_ioc_hdr hdr;
	__u64 arena_size;
	__u64 mapped_bytes;
	__u64 inuse_bytes;
	__u64 objects;
	__u64 cached_objects;
	__u64 nmalloc;
	__u64 nfree;
	__u64 spans_inuse;
	__u64 large_objects;
	__u64 metadata_bytes;
	__u32 nr_classes;
	__u32 pad;
	struct gch_class_stats classes[GCH_MAX_SIZE_CLASSES];
	__u64 refills;
	__u64 unswept_spans;
	__u64 idle_bytes;
	__u64 scavenged_bytes;
	__u64 finalizers;
	__u64 finalizers_ready;
	__u64 finalizers_queued;
	__u64 finalizers_waiting;
	__u64 weak_links;
	__u64 weak_cleared;
	__u64 weak_dropped;
	__u64 finalize_ns;
};

#define GCH_STATS_SIZE_VER0	(96 + 24 * GCH_MAX_SIZE_CLASSES)
#define GCH_STATS_SIZE_VER1	(GCH_STATS_SIZE_VER0 + 32)
#define GCH_STATS_SIZE_VER2	(GCH_STATS_SIZE_VER1 + 64)

/**
 * GCH_IOC_CONFIGURE - set and read heap parameters and the mapping sizes.
 *
 * Errors: -EINVAL (bad arena size or values), -EBUSY (arena size change
 * after the arena is mapped), -ENOMEM (arena size above max_arena_size).
 */
#define GCH_IOC_CONFIGURE	_IOWR(GCH_IOC_MAGIC, 0x01, struct gch_heap_config)

/**
 * GCH_IOC_REFILL - refill the calling CPU's cache, or a buffer.
 *
 * Errors: -EINVAL (bad span class, size or flags), -ENXIO (arena or
 * control area not mapped), -ENOMEM (the arena, the memory cgroup or the
 * module's max_heap_metadata is exhausted), -EFAULT.
 */
#define GCH_IOC_REFILL		_IOWR(GCH_IOC_MAGIC, 0x02, struct gch_refill)

/**
 * GCH_IOC_ALLOC_LARGE - allocate an object larger than GCH_MAX_SMALL_SIZE.
 *
 * Errors: -EINVAL (size too small or too big), -ENXIO (arena not mapped),
 * -ENOMEM.
 */
#define GCH_IOC_ALLOC_LARGE	_IOWR(GCH_IOC_MAGIC, 0x03, struct gch_alloc)

/** GCH_IOC_FREE - free an object explicitly. */
#define GCH_IOC_FREE		_IOWR(GCH_IOC_MAGIC, 0x04, struct gch_free)

/** GCH_IOC_QUERY - find the object an address points into. */
#define GCH_IOC_QUERY		_IOWR(GCH_IOC_MAGIC, 0x05, struct gch_query)

/** GCH_IOC_STATS - heap statistics.  Errors: -ENOMEM. */
#define GCH_IOC_STATS		_IOWR(GCH_IOC_MAGIC, 0x06, struct gch_stats)

/*
 * Collection.
 *
 * GCH_IOC_COLLECT runs a whole collection in the calling thread's process:
 * it stops every other thread of the process on its way back to user mode,
 * scans their registers and stacks, the registered root ranges and the
 * per-CPU caches, marks in the module's worker threads, restarts the
 * world, and sweeps (lazily: the other threads allocate meanwhile) before
 * returning.  Interrupted system calls of the stopped threads restart.
 * Every object reachable from a root survives; every other object is freed
 * by the time the call returns.
 *
 * With GCH_COLLECT_ASYNC_SWEEP the call returns as soon as the world
 * restarts: a kernel worker sweeps in the background, and allocation
 * sweeps the spans it needs first.  Dead objects are then freed lazily:
 * GCH_IOC_QUERY and GCH_IOC_FREE already treat them as free, the
 * counters of GCH_IOC_STATS count them until their span is swept
 * (gch_stats.unswept_spans says how many spans are left), and the
 * collection's final numbers reach its history entry when the sweep ends.
 * The next collection waits for the sweep to finish.
 */

/* Why a collection ran (gch_gc_info.reason). */
#define GCH_GC_REASON_USER	1	/* GCH_IOC_COLLECT without flags */
#define GCH_GC_REASON_GOAL	2	/* the heap passed its goal */

/* gch_collect.hdr.flags */
#define GCH_COLLECT_IF_DUE	(1U << 0)	/* only if past the goal */
#define GCH_COLLECT_ASYNC_SWEEP	(1U << 1)	/* return at the restart */

/**
 * struct gch_gc_info - what one collection did
 * @gc_number:       1 for the heap's first collection, then 2, 3, ...
 * @reason:          GCH_GC_REASON_*.
 * @workers:         worker threads that marked.
 * @threads:         other threads of the process stopped (parked, or
 *                   found stopped by a signal or a tracer).
 * @pad:             zero.
 * @start_ns:        CLOCK_MONOTONIC time the collection started.
 * @stw_ns:          time to stop the world.
 * @roots_ns:        time to gather the roots (thread registers, stack and
 *                   root ranges) into work items; scanning them is part
 *                   of @mark_ns.
 * @mark_ns:         parallel mark, roots included.
 * @sweep_ns:        the part of the sweep in the pause (starting it); the
 *                   rest runs after the restart, in the calling thread
 *                   before the call returns (or in the background with
 *                   GCH_COLLECT_ASYNC_SWEEP), and is not in @pause_ns.
 * @pause_ns:        total time the other threads were held: from the
 *                   start of the stop to the restart.
 * @heap_before:     bytes in allocated objects before.
 * @heap_after:      bytes in allocated objects after (the sweep done).
 *                   With GCH_COLLECT_ASYNC_SWEEP the call returns, here
 *                   and in @objects_freed, what the mark found: the bytes
 *                   of the reachable objects, and the allocated objects
 *                   it did not reach; the history entry gets the final
 *                   numbers when the sweep ends (@bytes_freed,
 *                   @spans_released, @pages_released included).
 * @heap_goal:       the goal set after this collection (0 if GC off).
 * @objects_marked:  objects found reachable.
 * @objects_freed:   objects freed.
 * @bytes_freed:     their bytes.
 * @objects_scanned: objects (or 128 KiB pieces of large ones) scanned.
 * @bytes_scanned:   bytes of objects scanned.
 * @root_words:      words of roots examined.
 * @steals:          work buffers one worker took from another.
 * @spans_released:  spans given back to the page heap.
 * @pages_released:  heap pages (GCH_PAGE_SIZE) given back to the system.
 */
struct gch_gc_info {
	__u64 gc_number;
	__u32 reason;
	__u32 workers;
	__u32 threads;
	__u32 pad;
	__u64 start_ns;
	__u64 stw_ns;
	__u64 roots_ns;
	__u64 mark_ns;
	__u64 sweep_ns;
	__u64 pause_ns;
	__u64 heap_before;
	__u64 heap_after;
	__u64 heap_goal;
	__u64 objects_marked;
	__u64 objects_freed;
	__u64 bytes_freed;
	__u64 objects_scanned;
	__u64 bytes_scanned;
	__u64 root_words;
	__u64 steals;
	__u64 spans_released;
	__u64 pages_released;
};

/**
 * struct gch_gc_phases - the two stops of a collection that marked beside
 * the program (ABI 0.7); all zero for one that stopped it for the mark
 * @flags:          GCH_PHASES_* bits.
 * @precleans:      pre-cleaning rounds: marks again from the heap pages
 *                  the program wrote, while it ran.
 * @initial_ns:     the first pause: from the start of the stop
 *                  (gch_gc_info.start_ns) to the restart.
 * @concurrent_ns:  the marking while the program ran, pre-cleaning
 *                  included (not a pause).
 * @final_start_ns: CLOCK_MONOTONIC time the final stop began.
 * @final_ns:       the final pause: from @final_start_ns to the restart.
 *                  gch_gc_info.pause_ns is @initial_ns + @final_ns.
 * @dirty_pages:    heap pages scanned again at the final stop.
 */
struct gch_gc_phases {
	__u32 flags;
	__u32 precleans;
	__u64 initial_ns;
	__u64 concurrent_ns;
	__u64 final_start_ns;
	__u64 final_ns;
	__u64 dirty_pages;
};

/* gch_gc_phases.flags */
#define GCH_PHASES_CONCURRENT	(1U << 0)	/* marked beside the program */
#define GCH_PHASES_BACKGROUND	(1U << 1)	/* by a kernel worker */
/*
 * The last round write-protected the arena (module parameter cmark_wp):
 * the final stop read the pages written since from a bitmap, not from
 * every page-table entry.
 */
#define GCH_PHASES_WRITE_PROTECT (1U << 2)

/**
 * struct gch_collect - argument of GCH_IOC_COLLECT
 * @hdr:       common header; flags GCH_COLLECT_IF_DUE: collect only if
 *             the heap has passed its goal (what a refill's gc_due
 *             asks for; a collection by another thread meanwhile makes
 *             it unnecessary); GCH_COLLECT_ASYNC_SWEEP: return when the
 *             world restarts and sweep in the background.  With the
 *             module's concurrent_mark on, a call with both flags
 *             marks in the background too: it returns after the first
 *             stop with @collected 0, and once the mark is done a
 *             refill or allocation reports gc_due again; the next
 *             GCH_COLLECT_IF_DUE takes the final stop and returns the
 *             collection.  A call without GCH_COLLECT_IF_DUE finishes
 *             such a mark first, then collects.
 * @collected: out: 1 if a collection ended in this call, 0 if none was
 *             due (or one was started in the background).
 * @pad:       zero.
 * @info:      out: the collection, when @collected.
 * @phases:    out: its two stops, when @collected (ABI 0.7).
 */
struct gch_collect {
	struct gch_ioc_hdr hdr;
	__u32 collected;
	__u32 pad;
	struct gch_gc_info info;
	struct gch_gc_phases phases;
};

#define GCH_COLLECT_SIZE_VER0	(16 + 168)
#define GCH_COLLECT_SIZE_VER1	(GCH_COLLECT_SIZE_VER0 + 48)	/* ABI 0.7 */

/* gch_roots.op */
#define GCH_ROOTS_ADD		1	/* register [addr, addr + len) */
#define GCH_ROOTS_REMOVE	2	/* drop @tag's ranges inside it */
#define GCH_ROOTS_CLEAR		3	/* drop every range of @tag */

/* Most root ranges one heap holds. */
#define GCH_ROOTS_MAX		4096

/**
 * struct gch_roots - argument of GCH_IOC_ROOTS
 * @hdr:  common header; no flags defined.
 * @op:   GCH_ROOTS_*.
 * @tag:  a label chosen by the caller, so that one user of the heap can
 *        replace its ranges without touching another's (libgcheap: 1 for
 *        the data and bss of loaded objects, 2 for gch_add_roots()).
 * @addr: first byte of the range (ADD, REMOVE).
 * @len:  its length in bytes, not 0 (ADD, REMOVE).
 * Root ranges are user memory of the owning process that the collector
 * reads as possible pointers, 8 bytes at a time (the range is rounded
 * inward to 8-byte alignment).  Parts that are not mapped readable when a
 * collection runs, and the heap's own arena and control area, are skipped.
 * Errors: -EINVAL (bad op, empty or wrapping range, not a user address),
 * -ENOSPC (GCH_ROOTS_MAX ranges), -ENOMEM.
 */
struct gch_roots {
	struct gch_ioc_hdr hdr;
	__u32 op;
	__u32 tag;
	__u64 addr;
	__u64 len;
};

#define GCH_ROOTS_SIZE_VER0	32

/* Workers reported per collection in struct gch_gc_stats. */
#define GCH_STATS_MAX_WORKERS	32

/**
 * struct gch_gc_worker - what one worker did in the last collection
 * @objects_scanned: objects (or pieces) it scanned.
 * @bytes_scanned:   their bytes.
 * @root_words:      root words it examined.
 * @steals:          work buffers it took that another worker had shared.
 */
struct gch_gc_worker {
	__u64 objects_scanned;
	__u64 bytes_scanned;
	__u64 root_words;
	__u64 steals;
};

/**
 * struct gch_gc_stats - argument of GCH_IOC_GC_STATS
 * @hdr:            common header; no flags defined.
 * @num_gc:         out: collections so far.
 * @pause_total_ns: out: sum of their pause_ns.
 * @heap_goal:      out: collect when the heap passes this many bytes in
 *                  allocated objects (0 when automatic collection is off).
 * @heap_live:      out: bytes of the objects the last collection's mark
 *                  found reachable (the goal is computed from it).
 * @gc_percent:     out: the GOGC-style percent, or GCH_GC_OFF.
 * @nr_workers:     out: valid entries of @worker (workers of the last
 *                  collection, at most GCH_STATS_MAX_WORKERS).
 * @history:        in: user address of an array of struct gch_gc_info
 *                  to receive the most recent collections (the module
 *                  keeps the last 256), oldest first; 0 for none (then
 *                  @history_max must be 0: else -EINVAL).
 * @history_max:    in: entries the array holds.
 * @history_count:  out: entries written.
 * @last:           out: the last collection (zero before the first).
 * @worker:         out: per worker, the last collection.
 * @phase_history:  in: user address of an array of @history_max struct
 *                  gch_gc_phases, filled like @history, entry by entry
 *                  (ABI 0.7); 0 for none.  Only with @history (else
 *                  -EINVAL).
 * @last_phases:    out: the last collection's stops (ABI 0.7).
 */
struct gch_gc_stats {
	struct gch_ioc_hdr hdr;
	__u64 num_gc;
	__u64 pause_total_ns;
	__u64 heap_goal;
	__u64 heap_live;
	__u32 gc_percent;
	__u32 nr_workers;
	__u64 history;
	__u32 history_max;
	__u32 history_count;
	struct gch_gc_info last;
	struct gch_gc_worker worker[GCH_STATS_MAX_WORKERS];
	__u64 phase_history;
	struct gch_gc_phases last_phases;
};

#define GCH_GC_STATS_SIZE_VER0	(64 + 168 + 32 * GCH_STATS_MAX_WORKERS)
#define GCH_GC_STATS_SIZE_VER1	(GCH_GC_STATS_SIZE_VER0 + 56)	/* ABI 0.7 */

/* The module keeps this many collections for GCH_IOC_GC_STATS history. */
#define GCH_GC_HISTORY		256

/* gch_finalizer.hdr.flags: the order of finalization (at most one) */
#define GCH_FINALIZER_NO_ORDER		(1U << 0)	/* see below */
#define GCH_FINALIZER_IGNORE_SELF	(1U << 1)
#define GCH_FINALIZER_UNREACHABLE	(1U << 2)

/**
 * struct gch_finalizer - argument of GCH_IOC_FINALIZER
 * @hdr:      common header; flags: at most one of GCH_FINALIZER_NO_ORDER,
 *            GCH_FINALIZER_IGNORE_SELF, GCH_FINALIZER_UNREACHABLE (ABI
 *            0.6; ignored when @fn is 0).
 * @obj:      user address of an allocated object's first byte.
 * @fn:       an opaque value (the library's finalizer function), handed
 *            back by GCH_IOC_FIN_TAKE when @obj is found unreachable; 0
 *            removes the object's finalizer.  Registering again replaces
 *            it, and its flags.
 * @data:     handed back with @fn.  The collector reads it as a possible
 *            pointer: what it points to stays alive while the finalizer is
 *            registered or queued.
 * @old_fn:   out (ABI 0.6): the @fn registered before this call, 0 if
 *            none; ignored on input.
 * @old_data: out (ABI 0.6): its @data, 0 if none; ignored on input.
 *
 * When a collection finds @obj unreachable, @obj and everything reachable
 * from it are kept, the registration is removed and (@obj, @fn, @data) is
 * queued for GCH_IOC_FIN_TAKE.  If an unreachable object with a finalizer
 * reaches another, only the first is queued; the other waits for a later
 * collection (so a cycle, a self-pointer included, is never queued).  The
 * flags change that (bdwgc's registration variants):
 *
 * - GCH_FINALIZER_NO_ORDER: what @obj reaches is not taken into account:
 *   @obj makes no other object wait, itself included (through a cycle);
 *   an unreachable object with an ordered finalizer that reaches @obj
 *   still makes it wait.
 * - GCH_FINALIZER_IGNORE_SELF: as the default, but words of @obj that
 *   point into @obj itself are ignored: a self-pointer does not keep it.
 * - GCH_FINALIZER_UNREACHABLE: as the default, and moreover not queued
 *   while reachable from an unreachable object queued in the same
 *   collection (one with GCH_FINALIZER_NO_ORDER): it then waits.
 *
 * Freeing the object (GCH_IOC_FREE) drops its finalizer.  A caller whose
 * struct has @old_fn (@hdr.size above GCH_FINALIZER_SIZE_VER0) gets the
 * struct written back on success; earlier callers get nothing written.
 * Errors: -EINVAL (@obj not an allocated object's first byte, unknown
 * flags or more than one), -ENOENT (@fn 0 and no finalizer registered),
 * -ENXIO (arena not mapped), -ENOMEM (no memory, or the module's
 * max_heap_metadata reached).
 */
struct gch_finalizer {
	struct gch_ioc_hdr hdr;
	__u64 obj;
	__u64 fn;
	__u64 data;
	__u64 old_fn;
	__u64 old_data;
};

#define GCH_FINALIZER_SIZE_VER0	32
#define GCH_FINALIZER_SIZE_VER1	48	/* ABI 0.6: @old_fn, @old_data */

/* gch_weak.hdr.flags */
#define GCH_WEAK_LONG		(1U << 0)	/* clear once @obj is freed */
#define GCH_WEAK_REMOVE		(1U << 1)	/* unregister @link */
#define GCH_WEAK_MOVE		(1U << 2)	/* move @link to @obj (ABI 0.6) */
#define GCH_WEAK_KIND		(1U << 3)	/* only a link of LONG's kind */

/**
 * struct gch_weak - argument of GCH_IOC_WEAK
 * @hdr:  common header; flags GCH_WEAK_LONG: a long link, cleared when
 *        @obj is freed (after finalization); without it a short link,
 *        cleared as soon as @obj is unreachable, before finalizers are
 *        queued.  GCH_WEAK_REMOVE: unregister @link (@obj is ignored).
 *        GCH_WEAK_MOVE (ABI 0.6): move the registration of @link to the
 *        link address @obj, keeping its target and kind.  GCH_WEAK_KIND
 *        (ABI 0.6, with REMOVE or MOVE): act only on a link of the kind
 *        GCH_WEAK_LONG names (long with it, short without); a link of the
 *        other kind is -ENOENT and stays.  LONG with REMOVE or MOVE only
 *        together with KIND; REMOVE and MOVE not together.
 * @link: user address of the link: an 8-byte aligned word of the owning
 *        process's writable memory, in the arena (then inside an allocated
 *        object, and the registration dies with that object) or anywhere
 *        else.
 * @obj:  any address inside an allocated object: the link's target; with
 *        GCH_WEAK_MOVE, the new link address, valid as @link must be.
 *
 * The collector writes 0 to @link, with the other threads stopped, when
 * the target is found unreachable (short) or freed (long), and drops the
 * registration.  A link whose memory is unmapped or not writable by then
 * (or is device memory, or armed for userfaultfd) is dropped without being
 * written (counted in gch_stats.weak_dropped).
 * Errors: -EINVAL (@link 0, not aligned, not a user address, or in the
 * arena but not in an allocated object; @obj not in an allocated object;
 * with MOVE, @obj not a valid link address; a bad combination of flags),
 * -EEXIST (@link is registered already; MOVE: @obj is, and is not @link),
 * -ENOENT (REMOVE, MOVE: @link is not registered, or with KIND not as a
 * link of that kind), -ENXIO, -ENOMEM.
 */
struct gch_weak {
	struct gch_ioc_hdr hdr;
	__u64 link;
	__u64 obj;
};

#define GCH_WEAK_SIZE_VER0	24

/**
 * struct gch_fin_ready - one queued finalizer (GCH_IOC_FIN_TAKE)
 * @obj:  the object, kept alive until the finalizer has run.
 * @fn:   as registered.
 * @data: as registered.
 */
struct gch_fin_ready {
	__u64 obj;
	__u64 fn;
	__u64 data;
};

/* gch_fin_take.hdr.flags */
#define GCH_FIN_TAKE_WAIT	(1U << 0)	/* sleep until one is queued */

/* Most entries one GCH_IOC_FIN_TAKE returns. */
#define GCH_FIN_TAKE_MAX	256

/**
 * struct gch_fin_take - argument of GCH_IOC_FIN_TAKE
 * @hdr:     common header; flags GCH_FIN_TAKE_WAIT: if none is queued,
 *           sleep (interruptibly) until a collection queues one.
 * @buf:     user address of an array of @max struct gch_fin_ready.  The
 *           entries leave the module's queue once written there: the
 *           array must be memory the collector scans (a stack, or a
 *           scanned object), or the objects may be freed before their
 *           finalizers run.
 * @max:     entries @buf holds, 0 to GCH_FIN_TAKE_MAX.  0 takes none:
 *           with GCH_FIN_TAKE_WAIT, a wait until one is queued; without,
 *           a look at @pending.
 * @count:   out: entries written, oldest first.
 * @pending: out: entries still queued after these.
 * Errors: -EINVAL (@max above GCH_FIN_TAKE_MAX), -EINTR or a restart (a signal
 * while waiting), -ENXIO.
 */
struct gch_fin_take {
	struct gch_ioc_hdr hdr;
	__u64 buf;
	__u32 max;
	__u32 count;
	__u64 pending;
};

#define GCH_FIN_TAKE_SIZE_VER0	32

/**
 * GCH_IOC_COLLECT - run a collection now.
 * Errors: -EINTR (a fatal signal), -ETIMEDOUT (a thread did not stop
 * within the module's stw_timeout_ms, e.g. one in uninterruptible sleep),
 * -EAGAIN (threads kept being created, or a thread stopped by a signal or
 * tracer ran during the collection), -ENXIO (arena not mapped), -E2BIG
 * (more than the module's max_root_bytes of roots to read), -ENOMEM.  On
 * every error all threads run again and no object was freed.
 */
#define GCH_IOC_COLLECT		_IOWR(GCH_IOC_MAGIC, 0x07, struct gch_collect)

/** GCH_IOC_ROOTS - add or remove root ranges. */
#define GCH_IOC_ROOTS		_IOWR(GCH_IOC_MAGIC, 0x08, struct gch_roots)

/**
 * GCH_IOC_GC_STATS - collector statistics and recent collections.
 * Errors: -EINVAL (@history_max without @history), -ENOMEM.
 */
#define GCH_IOC_GC_STATS	_IOWR(GCH_IOC_MAGIC, 0x09, struct gch_gc_stats)

/**
 * GCH_IOC_FINALIZER - register or remove an object's finalizer; the
 * previous registration comes back.  The number encodes the struct's
 * first size (GCH_FINALIZER_SIZE_VER0), whatever its size now.
 */
#define GCH_IOC_FINALIZER	_IOC(_IOC_READ | _IOC_WRITE, GCH_IOC_MAGIC, \
				     0x0a, GCH_FINALIZER_SIZE_VER0)

/** GCH_IOC_WEAK - register, remove or move a weak link. */
#define GCH_IOC_WEAK		_IOWR(GCH_IOC_MAGIC, 0x0b, struct gch_weak)

/** GCH_IOC_FIN_TAKE - take queued finalizers. */
#define GCH_IOC_FIN_TAKE	_IOWR(GCH_IOC_MAGIC, 0x0c, struct gch_fin_take)

#endif /* _UAPI_LINUX_GCHEAP_H */
