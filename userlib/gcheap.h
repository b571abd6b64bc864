/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgcheap - a garbage-collected heap for C programs, collected in the
 * kernel by gcheap.ko.
 *
 * Functions return 0 on success and -1 with errno set on failure, unless
 * their comment says otherwise.  Allocation functions return NULL with
 * errno set: ENOMEM when the heap (its arena) or memory is exhausted,
 * ENODEV when the gcheap module is not loaded (a message on stderr says
 * how to load it), EPERM in a child forked after the parent used the heap
 * (a heap belongs to the process that created it and is not inherited).
 *
 * The heap is set up on first use, from the environment:
 *
 *   GCHEAP_MAX_HEAP  arena size in bytes, with an optional K, M or G
 *                    suffix (powers of 1024); default: the module's
 *                    default_arena_size parameter.
 *   GCHEAP_GOGC      percent the heap may grow before a collection, or
 *                    "off"; default 100.
 *   GCHEAP_NO_RSEQ   "1": use per-thread caches even where the per-CPU
 *                    (rseq) caches are available.
 *   GCHEAP_TRACE     "1": print one line per collection on stderr (the
 *                    collections this library runs: gch_collect() and
 *                    those the heap's growth triggers).
 *
 * Invalid values get a one-line warning on stderr and the default.
 * gch_init() sets the same parameters from the program.
 *
 * See Documentation/userlib.rst.
 */
#ifndef GCHEAP_H
#define GCHEAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gch_abi_info - the interface the loaded module speaks
 * @abi_major:         module ABI major version (must equal the library's).
 * @abi_minor:         module ABI minor version.
 * @features:          GCH_FEAT_* bits of <linux/gcheap.h>.
 * @page_size:         heap page size in bytes.
 * @max_small_size:    largest object served from a size class.
 * @nr_size_classes:   number of size classes, class 0 (large) included.
 * @sizeclass_version: version of the size-class construction.
 */
struct gch_abi_info {
	unsigned int abi_major;
	unsigned int abi_minor;
	uint64_t features;
	unsigned int page_size;
	unsigned int max_small_size;
	unsigned int nr_size_classes;
	unsigned int sizeclass_version;
};

/**
 * gch_abi_info() - ask the loaded module which interface it speaks
 * @info: filled in on success.
 *
 * Opens /dev/gcheap, queries it and checks that the module and this
 * library agree on the ABI major version and on the size-class table.
 * Does not set up the heap.
 *
 * Return: 0, or -1 with errno ENODEV (module not loaded: a message on
 * stderr says how to load it), EPROTO (module and library disagree; @info
 * is still filled in), or an error of open(2) or ioctl(2).
 */
int gch_abi_info(struct gch_abi_info *info);

/* gch_config.gc_percent value that turns automatic collection off. */
#define GCH_GC_PERCENT_OFF	0xffffffffU

/**
 * struct gch_config - heap parameters for gch_init()
 * @max_heap:   arena size in bytes: no more than this much is ever
 *              allocated (rounded up to the heap page size, at least 16
 *              heap pages).  0: GCHEAP_MAX_HEAP, else the module default.
 * @gc_percent: GOGC-style growth, in percent of the live heap, before a
 *              collection, 1 to 1000000; GCH_GC_PERCENT_OFF disables
 *              automatic collection.  0: GCHEAP_GOGC, else 100.
 * @workers:    collector threads for this heap, at most 1024.  0: the
 *              module's choice (one per online CPU).
 * @finalizers: where finalizers run: GCH_FINALIZERS_THREAD (a thread the
 *              library starts at the first registration) or
 *              GCH_FINALIZERS_MANUAL (only in gch_run_finalizers()).
 *              0: GCHEAP_FINALIZERS ("thread" or "manual"), else thread.
 *              (Since GCHEAP_0.3 of gch_init(); programs built with an
 *              older header get the environment's choice.)
 * @concurrent: how collections mark: GCH_CONCURRENT_ON (beside the
 *              program: it is stopped only to take the roots and at the
 *              end; a collection the allocation pacing asks for marks
 *              in the kernel's background while every thread runs) or
 *              GCH_CONCURRENT_OFF (the program stopped for the whole
 *              mark).  0: GCHEAP_CONCURRENT ("1" or "0"), else the
 *              module's choice (its parameter concurrent_mark).  (Since
 *              GCHEAP_0.5 of gch_init(); needs gcheap.ko ABI 0.7.)
 *
 * Fields left 0 take their value from the environment, as if gch_init()
 * had not been called; non-zero fields win over the environment.
 */
struct gch_config {
	size_t max_heap;
	unsigned int gc_percent;
	unsigned int workers;
	unsigned int finalizers;
	unsigned int concurrent;
};

/* gch_config.finalizers */
#define GCH_FINALIZERS_THREAD	1
#define GCH_FINALIZERS_MANUAL	2

/* gch_config.concurrent (the values of the module's ABI) */
#ifndef GCH_CONCURRENT_ON
#define GCH_CONCURRENT_ON	1
#define GCH_CONCURRENT_OFF	2
#endif

/**
 * gch_init() - set the heap up with explicit parameters
 * @cfg: the parameters, or NULL for the environment and defaults only.
 *
 * Optional: the first allocation sets the heap up by itself.  If called,
 * it must come before any other use of the heap (allocation, gch_stats()),
 * and only once.  Thread-safe.
 *
 * Return: 0, or -1 with errno EBUSY (the heap is already set up), EINVAL
 * (a value of @cfg is out of range), EOPNOTSUPP (@cfg->concurrent with a
 * module before ABI 0.7), ENODEV (module not loaded), ENOMEM
 * (@cfg->max_heap above the module's max_arena_size), EPROTO (module and
 * library disagree on the ABI), EPERM (in a forked child of a process
 * that used the heap).  After a failure other than EBUSY or EINVAL,
 * allocations fail with the same errno.
 */
int gch_init(const struct gch_config *cfg);

/**
 * gch_malloc() - allocate a garbage-collected object that may hold pointers
 * @size: bytes; 0 gives a unique minimum-size object.
 *
 * The object is zeroed and aligned to 16 bytes; it lives as long as a
 * pointer to it (or into it, or just past its last requested byte) is
 * reachable, and is scanned for pointers by the collector.  A @size that
 * is exactly a size class's (or a whole number of pages) gets one byte
 * more, so that a pointer to its end is not the next object's start.
 * Thread-safe; async-signal-safe once the heap is set up (see "Signal
 * handlers" in Documentation/userlib.rst).
 *
 * Return: the object, or NULL with errno ENOMEM (heap exhausted or @size
 * too large), ENODEV or EPERM (see the top of this header).
 */
void *gch_malloc(size_t size);

/**
 * gch_malloc_atomic() - allocate a pointer-free object
 * @size: bytes; 0 gives a unique minimum-size object.
 *
 * Like gch_malloc(), but the collector never scans the object: anything
 * it holds is not a reference (strings, numbers, pixel data).  The object
 * is zeroed as well.
 *
 * Return: the object, or NULL with errno as for gch_malloc().
 */
void *gch_malloc_atomic(size_t size);

/**
 * gch_calloc() - allocate a zeroed array that may hold pointers
 * @nmemb: number of elements.
 * @size:  bytes of each element.
 *
 * Return: the object (as from gch_malloc()), or NULL with errno ENOMEM
 * when @nmemb * @size overflows, or as for gch_malloc().
 */
void *gch_calloc(size_t nmemb, size_t size);

/**
 * gch_realloc() - change the size of an object
 * @ptr:  an object's start as returned by this library, or NULL.
 * @size: the new size in bytes.
 *
 * NULL @ptr: like gch_malloc(@size).  @size 0: frees @ptr (gch_free())
 * and returns NULL.  When @size fits the object's usable size
 * (gch_size(); for a scanned object: is below it, see gch_malloc()), the
 * object is kept (shrinking does not release memory) and, if scanned,
 * its bytes from @size on are zeroed so they keep nothing alive;
 * otherwise a new object of the same kind (scanned or
 * pointer-free) is allocated, the object's usable size is copied and @ptr
 * is freed: the bytes beyond are zero.
 *
 * Return: the object, or NULL with errno EINVAL (@ptr is not the start of
 * an object of this heap; nothing is changed) or as for gch_malloc() (@ptr
 * is left as it was).  NULL without an error for @size 0.
 */
void *gch_realloc(void *ptr, size_t size);

/**
 * gch_strdup() - copy a string into a pointer-free object
 * @s: a NUL-terminated string.
 *
 * Return: the copy, or NULL with errno as for gch_malloc().
 */
char *gch_strdup(const char *s);

/**
 * gch_free() - free an object now, without waiting for a collection
 * @ptr: an object's start as returned by this library, or NULL.
 *
 * Optional: unreachable objects are collected anyway.  The caller must
 * hold no other pointer to the object.  Freeing an object twice is
 * detected (EINVAL) as long as the heap has not handed the memory out
 * again in between.
 *
 * Return: 0 (also for NULL), or -1 with errno EINVAL (@ptr is not the
 * start of an allocated object of this heap: a stack or malloc() address,
 * a pointer into an object, an object already freed) or EPERM (a forked
 * child's inherited heap).  Never crashes on a bad pointer.
 */
int gch_free(void *ptr);

/**
 * gch_size() - usable size of the object a pointer points into
 * @ptr: any address; it may point into an object.
 *
 * Return: the bytes usable from the object's start (gch_base()): the
 * whole slot, at least the size asked for when it was allocated (and for
 * a scanned object possibly a size class more, see gch_malloc()); a
 * pointer to the object's start plus this is past it.  0 if @ptr is not inside
 * an allocated object of this heap (errno then says why: EINVAL outside
 * the arena, ENOENT inside it but not in an allocated object).
 */
size_t gch_size(const void *ptr);

/**
 * gch_base() - start of the object a pointer points into
 * @ptr: any address; it may point into an object.
 *
 * Return: the object's first byte, or NULL if @ptr is not inside an
 * allocated object of this heap (errno as for gch_size()).
 */
void *gch_base(const void *ptr);

/* struct gch_heap_stats has @refills and the fields after it. */
#define GCH_STATS_HAS_REFILLS	1

/**
 * struct gch_heap_stats - the heap's statistics, from the module and
 * from the library
 * @arena_size:      bytes of address space reserved for the heap.
 * @mapped_bytes:    bytes backed by memory (spans in use).
 * @inuse_bytes:     bytes in allocated objects, rounded to their size
 *                   class, objects held in caches included.
 * @objects:         objects allocated, as the module counts them: those
 *                   in per-CPU and per-thread caches included.
 * @cached_objects:  objects in the per-CPU caches, not yet handed out.
 * @nmalloc:         objects the module handed out (to caches or to large
 *                   allocations) since the heap was created.
 * @nfree:           objects freed since the heap was created.
 * @spans_inuse:     spans holding objects.
 * @large_objects:   large objects (with a span of their own) allocated
 *                   by the program (the library's own per-thread cache
 *                   blocks, large since caches hold 32 KiB, not counted).
 * @metadata_bytes:  kernel memory used for the heap's bookkeeping.
 * @thread_cached_objects: objects in per-thread caches, not yet handed
 *                   out (the fallback when per-CPU caches cannot be
 *                   used).
 * @live_objects:    objects the program holds: @objects minus the cached
 *                   ones and the library's own per-thread cache blocks.
 * @arena_start:     the arena's first byte.  No object is ever there (the
 *                   module never hands out the arena's first 8 KiB page),
 *                   so a copy kept in a root keeps nothing alive.
 * @nr_cpus:         CPUs with a per-CPU cache block.
 * @gc_percent:      GOGC-style growth percent, or GCH_GC_PERCENT_OFF.
 * @workers:         collector threads configured (0: the module decides).
 * @percpu:          1 if allocation uses the per-CPU caches (rseq), 0 if
 *                   only per-thread caches (no rseq registration, or
 *                   GCHEAP_NO_RSEQ).
 * @num_gc:          collections so far.
 * @pause_total_ns:  their pauses added up.
 * @heap_goal:       bytes in allocated objects at which the next
 *                   collection starts (0 with automatic collection off).
 * @refills:         refill system calls that handed out objects (one
 *                   serves about 32 KiB of allocation).
 * @unswept_spans:   spans the last collection's background sweep has not
 *                   reached yet (their dead objects still count in
 *                   @objects and @inuse_bytes).
 * @idle_bytes:      free heap memory kept mapped for reuse, until the
 *                   scavenger returns it to the system.
 * @scavenged_bytes: bytes the scavenger returned since the heap began.
 *
 * The fields from @refills on came with libgcheap 0.2 (symbol version
 * GCHEAP_0.2 of gch_stats(); GCH_STATS_HAS_REFILLS is defined).
 */
struct gch_heap_stats {
	size_t arena_size;
	size_t mapped_bytes;
	size_t inuse_bytes;
	uint64_t objects;
	uint64_t cached_objects;
	uint64_t nmalloc;
	uint64_t nfree;
	uint64_t spans_inuse;
	uint64_t large_objects;
	size_t metadata_bytes;
	uint64_t thread_cached_objects;
	uint64_t live_objects;
	void *arena_start;
	unsigned int nr_cpus;
	unsigned int gc_percent;
	unsigned int workers;
	int percpu;
	uint64_t num_gc;
	uint64_t pause_total_ns;
	uint64_t heap_goal;
	uint64_t refills;
	uint64_t unswept_spans;
	size_t idle_bytes;
	uint64_t scavenged_bytes;
};

/**
 * gch_stats() - read the heap's statistics
 * @stats: filled in on success.
 *
 * Sets the heap up if it was not yet.  The numbers are a snapshot: other
 * threads may allocate meanwhile.
 *
 * Return: 0, or -1 with errno ENODEV, EPERM or an error of ioctl(2).
 */
int gch_stats(struct gch_heap_stats *stats);

/**
 * struct gch_collection - what one collection did
 * @gc_number:       1 for the first collection of the heap, then 2, 3, ...
 * @reason:          GCH_GC_REASON_USER (gch_collect()) or
 *                   GCH_GC_REASON_GOAL (the heap passed its goal).
 * @workers:         kernel worker threads that marked.
 * @threads:         other threads of the process that were stopped.
 * @start_ns:        CLOCK_MONOTONIC time the collection started.
 * @stw_ns:          time to stop the other threads.
 * @roots_ns:        time to gather the roots (scanning them is in @mark_ns).
 * @mark_ns:         time to mark.
 * @sweep_ns:        the sweep's part of the pause (most of the sweep runs
 *                   after the other threads restart).
 * @pause_ns:        how long the other threads were stopped, in total.
 * @heap_before:     bytes in allocated objects before the collection.
 * @heap_after:      bytes in allocated objects after it.
 * @heap_goal:       the next collection starts when the heap passes this
 *                   (0 with automatic collection off).
 * @objects_marked:  objects found reachable.
 * @objects_freed:   objects freed.
 * @bytes_freed:     their bytes.
 * @objects_scanned: objects scanned for pointers.
 * @bytes_scanned:   bytes scanned for pointers.
 * @root_words:      words of roots examined.
 * @steals:          work buffers moved between workers.
 * @spans_released:  spans given back to the page heap.
 * @pages_released:  heap pages given back to the system.
 * @phases:          GCH_PHASES_CONCURRENT if the collection marked beside
 *                   the program, | GCH_PHASES_BACKGROUND if a kernel
 *                   worker marked (the collecting thread ran too),
 *                   | GCH_PHASES_WRITE_PROTECT if the last round
 *                   write-protected the arena (the final stop read the
 *                   pages written since from a bitmap); 0 if it
 *                   stopped the program for the mark.  The fields from
 *                   here on came with GCHEAP_0.5 of gch_last_collection()
 *                   and gch_collections() (GCH_COLLECTION_HAS_PHASES is
 *                   defined), and are 0 for a stop-the-world collection.
 * @precleans:       rounds that marked again from heap pages the program
 *                   wrote meanwhile.
 * @initial_ns:      the first pause, from @start_ns.
 * @concurrent_ns:   marking while the program ran (not a pause).
 * @final_start_ns:  CLOCK_MONOTONIC time the final stop began.
 * @final_ns:        the final pause (@initial_ns + @final_ns = @pause_ns).
 * @dirty_pages:     heap pages scanned again at the final stop.
 */
struct gch_collection {
	uint64_t gc_number;
	unsigned int reason;
	unsigned int workers;
	unsigned int threads;
	uint64_t start_ns;
	uint64_t stw_ns;
	uint64_t roots_ns;
	uint64_t mark_ns;
	uint64_t sweep_ns;
	uint64_t pause_ns;
	uint64_t heap_before;
	uint64_t heap_after;
	uint64_t heap_goal;
	uint64_t objects_marked;
	uint64_t objects_freed;
	uint64_t bytes_freed;
	uint64_t objects_scanned;
	uint64_t bytes_scanned;
	uint64_t root_words;
	uint64_t steals;
	uint64_t spans_released;
	uint64_t pages_released;
	unsigned int phases;
	unsigned int precleans;
	uint64_t initial_ns;
	uint64_t concurrent_ns;
	uint64_t final_start_ns;
	uint64_t final_ns;
	uint64_t dirty_pages;
};

#define GCH_COLLECTION_HAS_PHASES	1

/* struct gch_collection.phases (the values of the module's ABI) */
#ifndef GCH_PHASES_CONCURRENT
#define GCH_PHASES_CONCURRENT	(1U << 0)
#define GCH_PHASES_BACKGROUND	(1U << 1)
#endif
#ifndef GCH_PHASES_WRITE_PROTECT
#define GCH_PHASES_WRITE_PROTECT (1U << 2)
#endif

/* struct gch_collection.reason */
#ifndef GCH_GC_REASON_USER
#define GCH_GC_REASON_USER	1
#define GCH_GC_REASON_GOAL	2
#endif

/**
 * gch_collect() - collect garbage now
 *
 * Stops every other thread of the process (in the kernel, wherever they
 * are; a thread asleep in a system call stays asleep), finds every object no
 * longer reachable from a root and restarts them.  Roots are the
 * registers, stacks and static TLS of every thread, the data and bss of
 * the executable and of every loaded library (dlopen()ed ones included),
 * and the ranges of gch_add_roots().  It returns when the threads run
 * again: the unreachable objects are freed by a sweep in the kernel's
 * background, or earlier by allocations that need their memory; until
 * then they still count in gch_stats() (@unswept_spans says how much is
 * left), and gch_last_collection() reports what the mark found.  Memory
 * of freed objects is reused, and goes back to the system when whole heap
 * pages stay unused for a second or two.  Thread-safe: a second caller
 * meanwhile runs a collection of its own after the first.
 *
 * Return: 0, or -1 with errno ETIMEDOUT (a thread could not be stopped,
 * e.g. one in uninterruptible sleep), EINTR, EAGAIN (threads kept being
 * created, or a thread a debugger had stopped ran during the collection),
 * E2BIG (more roots than the module's max_root_bytes), ENOMEM, ENODEV,
 * EPERM; after an error nothing was freed and every thread runs.
 */
int gch_collect(void);

/**
 * gch_gc_hold() - keep collections from starting
 *
 * Until the matching gch_gc_release(), no collection starts: one the heap
 * is due for is put off to a later allocation, gch_collect() in another
 * thread waits, and in this thread a collection (gch_collect(), or one an
 * allocation that found the heap full would run) fails with EDEADLK.  For
 * code that must not be stopped by a collection between two steps, e.g.
 * reading a pointer kept hidden from the collector and making it a plain
 * one again (bdwgc's GC_call_with_alloc_lock()).  Nestable; a hold belongs
 * to the thread that took it.  Keep holds short: the heap grows past its
 * goal meanwhile.
 *
 * Return: 0, or -1 with errno EAGAIN (too many nested holds).
 */
int gch_gc_hold(void);

/**
 * gch_gc_release() - end a gch_gc_hold() of this thread
 *
 * Return: 0, or -1 with errno EPERM (this thread holds none).
 */
int gch_gc_release(void);

/**
 * gch_last_collection() - what the last collection did
 * @c: filled in on success.
 *
 * Return: 0, or -1 with errno ENOENT (no collection yet), ENODEV, EPERM.
 */
int gch_last_collection(struct gch_collection *c);

/**
 * gch_collections() - the most recent collections, oldest first
 * @buf: where to store them.
 * @max: entries of @buf (the module keeps the last 256).
 *
 * Return: the number stored, or -1 with errno ENODEV, EPERM.
 */
int gch_collections(struct gch_collection *buf, unsigned int max);

/**
 * gch_set_gc_percent() - set the GOGC-style pacing
 * @percent: the heap may grow by this percent of the live heap before the
 *           next collection; negative turns automatic collection off.
 *
 * Return: the previous value (-1 for off), or -2 with errno set
 * (EINVAL for a percent above 1000000, ENODEV, EPERM).
 */
int gch_set_gc_percent(int percent);

/**
 * gch_add_roots() - scan [@start, @end) for pointers in every collection
 * @start: first byte.
 * @end:   one past the last byte; @start < @end.
 *
 * For memory the collector cannot find by itself: malloc()ed or mmap()ed
 * memory that holds pointers to heap objects.  Parts not mapped readable
 * at collection time are skipped.
 *
 * Return: 0, or -1 with errno EINVAL (empty or wrapping range), ENOSPC
 * (too many ranges), ENODEV, EPERM.
 */
int gch_add_roots(void *start, void *end);

/**
 * gch_remove_roots() - stop scanning ranges added by gch_add_roots()
 * @start: first byte.
 * @end:   one past the last byte.
 *
 * Removes every range of gch_add_roots() that lies inside [@start, @end).
 *
 * Return: 0, or -1 with errno EINVAL, ENODEV, EPERM.
 */
int gch_remove_roots(void *start, void *end);

/**
 * gch_register_finalizer() - run a function when an object becomes
 * unreachable
 * @obj:  an object's first byte (as gch_malloc() returned it).
 * @fn:   called as fn(obj, data), once; NULL removes @obj's finalizer.
 * @data: passed to @fn.  It is a root while the finalizer is registered:
 *        what it points to stays alive (so it must not point to @obj, or
 *        @obj never becomes unreachable).
 *
 * When a collection finds @obj unreachable, @obj and everything reachable
 * from it are kept, and @fn is queued; @obj is freed by a later collection
 * if the finalizer did not make it reachable again (it is then never
 * finalized again unless registered again).  If an unreachable object
 * with a finalizer reaches another, the first one's finalizer runs first
 * and the other's only after a later collection; objects with finalizers
 * on a cycle are never finalized (counted in gch_final_stats()).
 * Registering again replaces the finalizer; gch_free() of @obj drops it.
 * gch_register_finalizer_ex() chooses another order and returns the
 * finalizer it replaced.
 *
 * Finalizers never run inside a collection: by default in a thread the
 * library starts at the first registration (named "gch-finalizer", all
 * signals blocked); with GCHEAP_FINALIZERS=manual or gch_config's
 * @finalizers only when the program calls gch_run_finalizers().
 *
 * Return: 0, or -1 with errno EINVAL (@obj not an object's first byte),
 * ENOENT (@fn NULL and no finalizer), ENOMEM, EAGAIN (the finalizer
 * thread could not be started; the registration stands), ENODEV, EPERM.
 */
int gch_register_finalizer(void *obj, void (*fn)(void *obj, void *data),
			   void *data);

/* A finalizer: called as fn(obj, data). */
typedef void (*gch_finalizer_fn)(void *obj, void *data);

/* flags of gch_register_finalizer_ex(): the order, at most one */
#define GCH_FIN_NO_ORDER	(1U << 0)
#define GCH_FIN_IGNORE_SELF	(1U << 1)
#define GCH_FIN_UNREACHABLE	(1U << 2)

/**
 * gch_register_finalizer_ex() - gch_register_finalizer() with an order,
 * returning the finalizer it replaces
 * @obj:      an object's first byte.
 * @fn:       called as fn(obj, data), once; NULL removes @obj's finalizer
 *            (@flags are then ignored).
 * @data:     passed to @fn; a root, as for gch_register_finalizer().
 * @flags:    0 (the order of gch_register_finalizer()) or one of:
 *            GCH_FIN_NO_ORDER: what @obj points to is not taken into
 *            account: @obj makes no other object wait for it, nor itself
 *            through a cycle (bdwgc's GC_register_finalizer_no_order();
 *            an unreachable object with an ordered finalizer that reaches
 *            @obj still runs first);
 *            GCH_FIN_IGNORE_SELF: as 0, but pointers from @obj into @obj
 *            itself do not keep it from being finalized (a cycle through
 *            another object still does; GC_register_finalizer_ignore_self());
 *            GCH_FIN_UNREACHABLE: as 0, and moreover @fn does not run while
 *            @obj is reachable from an unreachable object whose finalizer
 *            runs (one with GCH_FIN_NO_ORDER): @obj then waits for a later
 *            collection (GC_register_finalizer_unreachable()).
 * @old_fn:   if not NULL, set to the finalizer registered before the call
 *            (replaced or removed), NULL if none or on failure.
 * @old_data: if not NULL, set to its data, NULL if none or on failure.
 *
 * Registering again replaces the finalizer, its data and its flags.
 *
 * Return: as gch_register_finalizer(), and -1 with errno EINVAL (unknown
 * @flags, or more than one), ENOSYS (the loaded module predates the
 * flags and the returned registration: @flags or @old_fn or @old_data
 * given; nothing was registered).
 */
int gch_register_finalizer_ex(void *obj, gch_finalizer_fn fn, void *data,
			      unsigned int flags, gch_finalizer_fn *old_fn,
			      void **old_data);

/**
 * gch_register_weak() - a short weak link to an object
 * @link: a pointer-aligned word: in a gcheap object (the registration
 *        dies with that object) or anywhere in the process's writable
 *        memory.
 * @obj:  any address inside an object: the target.
 *
 * The collector sets *@link to NULL as soon as @obj is unreachable, before
 * finalizers are queued (so a link to an object with a finalizer is
 * cleared before the finalizer runs; bdwgc's
 * GC_general_register_disappearing_link()).  The registration is not a
 * reference, and the program sets *@link itself; but the collector is
 * conservative, so a link in scanned memory (stack, data, a gch_malloc()
 * object) holding @obj's plain address keeps @obj alive: keep links in
 * malloc() memory or gch_malloc_atomic() objects, or store the address
 * hidden (e.g. bit-inverted).  A link whose memory is unmapped or
 * read-only by then is dropped unwritten.
 *
 * Return: 0, or -1 with errno EINVAL (@link NULL, misaligned or in the heap
 * outside any object; @obj not in an object), EEXIST (@link is already
 * registered), ENOMEM, ENODEV, EPERM.
 */
int gch_register_weak(void **link, const void *obj);

/**
 * gch_register_weak_long() - a long weak link to an object
 * @link: as for gch_register_weak().
 * @obj:  as for gch_register_weak().
 *
 * Like gch_register_weak(), but *@link is cleared only when @obj is freed,
 * after finalization: a finalizer that makes @obj reachable again keeps
 * the link (bdwgc's GC_register_long_link()).
 *
 * Return: as gch_register_weak().
 */
int gch_register_weak_long(void **link, const void *obj);

/**
 * gch_unregister_weak() - forget a weak link
 * @link: as registered.
 *
 * Return: 0, or -1 with errno ENOENT (not registered), ENODEV, EPERM.
 */
int gch_unregister_weak(void **link);

/* kind of gch_unregister_weak_kind() and gch_move_weak() */
#define GCH_LINK_ANY	0	/* short or long */
#define GCH_LINK_SHORT	1	/* gch_register_weak() */
#define GCH_LINK_LONG	2	/* gch_register_weak_long() */

/**
 * gch_unregister_weak_kind() - forget a weak link of one kind
 * @link: as registered.
 * @kind: GCH_LINK_SHORT or GCH_LINK_LONG: only a link of that kind is
 *        forgotten (one of the other kind stays); GCH_LINK_ANY: as
 *        gch_unregister_weak().
 *
 * bdwgc's GC_unregister_disappearing_link() and GC_unregister_long_link().
 *
 * Return: 0, or -1 with errno ENOENT (no link of that kind at @link),
 * EINVAL (a bad @kind), ENOSYS (the loaded module cannot tell kinds apart
 * on removal: @kind not GCH_LINK_ANY), ENODEV, EPERM.
 */
int gch_unregister_weak_kind(void **link, unsigned int kind);

/**
 * gch_move_weak() - move a weak link to another word
 * @link:     as registered.
 * @new_link: the word that becomes the link, in place of @link, with the
 *            same target and kind; valid as for gch_register_weak().
 *            Neither word is written.
 * @kind:     GCH_LINK_SHORT or GCH_LINK_LONG: only a link of that kind
 *            moves; GCH_LINK_ANY: either.
 *
 * bdwgc's GC_move_disappearing_link() and GC_move_long_link().  @new_link
 * equal to @link only checks that @link is registered.
 *
 * Return: 0, or -1 with errno ENOENT (no link of that kind at @link),
 * EEXIST (@new_link is registered already), EINVAL (@new_link NULL,
 * misaligned or in the heap outside any object; a bad @kind), ENOMEM,
 * ENOSYS (the loaded module cannot move links), ENODEV, EPERM.
 */
int gch_move_weak(void **link, void **new_link, unsigned int kind);

/**
 * gch_run_finalizers() - run the queued finalizers in the calling thread
 *
 * What GCHEAP_FINALIZERS=manual programs call (e.g. after gch_collect());
 * in the default mode it runs those the finalizer thread has not taken
 * yet.  Finalizers may allocate, collect and register finalizers.
 *
 * Return: how many ran, or -1 with errno ENODEV, EPERM.
 */
int gch_run_finalizers(void);

/**
 * gch_finalizers_pending() - how many finalizers are queued, not yet run
 *
 * Return: the count, or -1 with errno ENODEV, EPERM.
 */
long gch_finalizers_pending(void);

/**
 * struct gch_final_stats - finalizers and weak links (gch_final_stats())
 * @registered:     objects with a finalizer, not yet found unreachable.
 * @pending:        finalizers queued and not yet run.
 * @queued:         finalizers queued since the heap began.
 * @run:            finalizers this library ran since it began.
 * @waiting:        at the last collection, unreachable objects with a
 *                  finalizer left unqueued because another unreachable
 *                  one reaches them (a chain: later) or they are on a
 *                  cycle (never).
 * @weak_links:     weak links registered.
 * @weak_cleared:   links set to NULL by collections.
 * @weak_dropped:   links dropped unwritten (unmapped or read-only memory,
 *                  or the object holding them died).
 * @finalize_ns:    time collections spent in the finalizer and weak
 *                  phases, in their pauses.
 */
struct gch_final_stats {
	uint64_t registered;
	uint64_t pending;
	uint64_t queued;
	uint64_t run;
	uint64_t waiting;
	uint64_t weak_links;
	uint64_t weak_cleared;
	uint64_t weak_dropped;
	uint64_t finalize_ns;
};

/**
 * gch_final_stats() - counters of finalizers and weak links
 * @st: filled in.
 *
 * Return: 0, or -1 with errno ENODEV, EPERM.
 */
int gch_final_stats(struct gch_final_stats *st);

/**
 * gch_pthread_create() - pthread_create(), keeping the thread's result
 * @thread: as for pthread_create().
 * @attr:   as for pthread_create().
 * @start:  as for pthread_create().
 * @arg:    as for pthread_create().
 *
 * The value a joinable thread returns, or passes to gch_pthread_exit(),
 * stays a root after the thread exited, until gch_pthread_join() or
 * gch_pthread_detach().  This header redirects pthread_create,
 * pthread_join, pthread_detach and pthread_exit to these functions unless
 * GCH_NO_PTHREAD_REDIRECTS is defined before including it.  Never sets
 * the heap up.
 *
 * Return: as pthread_create().
 */
int gch_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		       void *(*start)(void *), void *arg);

/**
 * gch_pthread_join() - pthread_join(), then forget the kept result
 * @thread: as for pthread_join().
 * @result: as for pthread_join().
 *
 * Return: as pthread_join().
 */
int gch_pthread_join(pthread_t thread, void **result);

/**
 * gch_pthread_detach() - pthread_detach(), then forget the kept result
 * @thread: as for pthread_detach().
 *
 * Return: as pthread_detach().
 */
int gch_pthread_detach(pthread_t thread);

/**
 * gch_pthread_exit() - pthread_exit(), keeping @result until joined
 * @result: as for pthread_exit().
 */
void gch_pthread_exit(void *result) __attribute__((__noreturn__));

/**
 * gch_pthread_setspecific() - pthread_setspecific(), keeping @value a root
 * @key:   as for pthread_setspecific().
 * @value: as for pthread_setspecific().
 *
 * glibc keeps the values of keys 32 and above in malloc() memory, which
 * is not scanned; this keeps a copy where the collector looks, for as long
 * as the calling thread lives (redirected from pthread_setspecific like
 * gch_pthread_create()).
 *
 * Return: as pthread_setspecific(), or ENOMEM.
 */
int gch_pthread_setspecific(pthread_key_t key, const void *value);

#ifndef GCH_NO_PTHREAD_REDIRECTS
#define pthread_create	gch_pthread_create
#define pthread_join	gch_pthread_join
#define pthread_detach	gch_pthread_detach
#define pthread_exit	gch_pthread_exit
#define pthread_setspecific	gch_pthread_setspecific
#endif

#ifdef __cplusplus
}
#endif

#endif /* GCHEAP_H */
