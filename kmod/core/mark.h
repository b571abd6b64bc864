/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The collector core: parallel conservative mark (mark.c) and parallel
 * sweep (sweep.c) of a struct gch_heap_core.
 *
 * Both are driven the same way by an embedder with N worker threads:
 *
 *	m = gch_mark_create(h, N);		once per heap
 *	sw = gch_sweep_create(h, N);
 *	...					per collection, world stopped:
 *	gch_mark_begin(m, base, roots, nroots, n);	one thread
 *	gch_mark_work(m, i)			threads i = 0 .. n - 1, at once
 *	gch_mark_end(m, &mstats);		one thread
 *
 * then either an eager sweep, in the same pause:
 *
 *	gch_sweep_begin(sw, n);			one thread
 *	gch_sweep_work(sw, i)			threads i = 0 .. n - 1
 *	gch_sweep_end(sw, &sstats);		one thread
 *
 * or a lazy one, started in the pause and finished after the restart:
 *
 *	gch_sweep_start_lazy(sw);		in the pause (cheap)
 *	...					world restarted; heap locked
 *	gch_sweep_some(sw, 64)			per batch, until it returns true
 *	gch_sweep_finish(sw, &sstats);		sweeps what is left
 *
 * The heap must not change from gch_mark_begin() to the start of the sweep
 * (gch_sweep_begin() or gch_sweep_start_lazy()), nor, for an eager sweep,
 * until gch_sweep_end(): the embedder holds its heap lock (no allocation,
 * no free) and the mutator is stopped (the objects being read do not
 * change).  During a lazy sweep the heap is used as always (under the
 * embedder's lock): allocation sweeps spans of its class before using
 * them, and every heap call treats an object of an unswept span whose mark
 * bit is clear as free.  gch_mark_begin() refuses (-EBUSY) to start while
 * a lazy sweep has spans left: the embedder finishes it first, and so
 * decides where that work goes.  ops->map must be set.  Mark bits are
 * clear outside a collection: new spans start with them clear, and the
 * sweep clears those it used.
 */
#ifndef _GCHEAP_CORE_MARK_H
#define _GCHEAP_CORE_MARK_H

#include "heap.h"

/*
 * Up to this many workers (the termination count is an int, the per-worker
 * structs an array; more than a few dozen buys nothing).
 */
#define GCH_MARK_MAX_WORKERS	256

/* Bytes of one work buffer (gch_mark_limit_buffers() counts them). */
#define GCH_MARK_BUF_BYTES	4096

/* Root words per work item: longer root ranges are split. */
#define GCH_ROOT_CHUNK		4096

/* Large objects are scanned in pieces of this size, each a work item. */
#define GCH_MARK_OBLET		(128U << 10)

/* Heap pages per work item of a GCH_ROOT_DIRTY root (8 MiB). */
#define GCH_DIRTY_CHUNK		1024

enum gch_root_kind {
	GCH_ROOT_WORDS,		/* conservative words: user addresses */
	GCH_ROOT_OFFSETS,	/* arena offsets, e.g. cached objects */
	GCH_ROOT_FUNC,		/* a callback that finds its own words */
	GCH_ROOT_DIRTY,		/* heap pages written since their scan */
};

struct gch_mark_worker;

/**
 * struct gch_root - one source of roots, a unit of parallel root scanning
 * @kind:   enum gch_root_kind.
 * @words:  GCH_ROOT_WORDS: @n 64-bit words, each a possible user address
 *          (arena offset + base); GCH_ROOT_OFFSETS: @n arena offsets;
 *          GCH_ROOT_DIRTY: a bitmap of heap pages 0 to @n - 1 (bit p % 64
 *          of word p / 64), those written since the last scan of their
 *          marked objects: the parts of marked objects on those pages
 *          are scanned again (a mark beside the mutator, see above).
 *          Memory the core reads directly (the embedder copied a stack or
 *          a register set there), alive until gch_mark_work() returns.
 *          Ranges longer than GCH_ROOT_CHUNK are split into several items.
 * @n:      entries of @words.
 * @fn:     GCH_ROOT_FUNC: called once, by the worker that claims the
 *          item, which passes what it finds to gch_mark_words() or
 *          gch_mark_offsets() with the worker it was given (e.g. the
 *          kernel embedder copies a thread's stack from user memory in
 *          pieces).
 * @arg:    for @fn.
 *
 * Any value that is not inside an allocated object of an in-use span
 * (outside the arena, a free slot, a span's tail, a free page) is ignored;
 * a value anywhere inside an object (interior pointer) marks it.
 */
struct gch_root {
	u8 kind;
	const u64 *words;
	size_t n;
	void (*fn)(struct gch_mark_worker *w, void *arg);
	void *arg;
};

/**
 * struct gch_mark_stats - what one worker (or all) did in one mark
 * @objects_marked:  mark bits set (objects found live).
 * @bytes_marked:    their sizes (slot sizes of small objects).
 * @objects_scanned: objects (or pieces of large ones) scanned.
 * @bytes_scanned:   bytes of objects scanned.
 * @root_items:      root work items claimed.
 * @root_words:      root words and offsets examined.
 * @steals:          full work buffers taken from the shared stack that
 *                   another worker had put there.
 * @handoffs:        buffers split off and shared because workers were idle.
 * @overflows:       objects marked but not queued for lack of a work
 *                   buffer (found again by a rescan; see gch_mark_end()).
 * @idle_waits:      times this worker ran out of work and waited.
 * @rescans:         totals only: overflow rescans of the heap.
 * @dirty_pages:     pages of GCH_ROOT_DIRTY roots scanned again.
 */
struct gch_mark_stats {
	u64 objects_marked;
	u64 bytes_marked;
	u64 objects_scanned;
	u64 bytes_scanned;
	u64 root_items;
	u64 root_words;
	u64 steals;
	u64 handoffs;
	u64 overflows;
	u64 idle_waits;
	u64 rescans;
	u64 dirty_pages;
};

struct gch_mark;

struct gch_mark *gch_mark_create(struct gch_heap_core *h,
				 unsigned int max_workers);
void gch_mark_destroy(struct gch_mark *m);
void gch_mark_limit_buffers(struct gch_mark *m, unsigned int nbufs);
u64 gch_mark_buffer_bytes(const struct gch_mark *m);
int gch_mark_begin(struct gch_mark *m, u64 base, const struct gch_root *roots,
		   unsigned int nroots, unsigned int nworkers);
void gch_mark_work(struct gch_mark *m, unsigned int worker);
void gch_mark_end(struct gch_mark *m, struct gch_mark_stats *total);
void gch_mark_stats_add(struct gch_mark_stats *to,
			const struct gch_mark_stats *from);
void gch_mark_keep_all(struct gch_mark *m);
const struct gch_mark_stats *gch_mark_worker_stats(const struct gch_mark *m,
						   unsigned int worker);
void gch_mark_words(struct gch_mark_worker *w, const u64 *words, size_t n);
void gch_mark_offsets(struct gch_mark_worker *w, const u64 *offs, size_t n);
void gch_mark_unused(struct gch_mark_worker *w, const u64 *words, size_t n);
unsigned int gch_mark_worker_index(const struct gch_mark_worker *w);

struct gch_sweep;

struct gch_sweep *gch_sweep_create(struct gch_heap_core *h,
				   unsigned int max_workers);
void gch_sweep_destroy(struct gch_sweep *sw);
int gch_sweep_begin(struct gch_sweep *sw, unsigned int nworkers);
void gch_sweep_work(struct gch_sweep *sw, unsigned int worker);
void gch_sweep_end(struct gch_sweep *sw, struct gch_sweep_stats *total);
int gch_sweep_start_lazy(struct gch_sweep *sw);
bool gch_sweep_some(struct gch_sweep *sw, u64 max_spans);
void gch_sweep_finish(struct gch_sweep *sw, struct gch_sweep_stats *total);
const struct gch_sweep_stats *gch_sweep_worker_stats(const struct gch_sweep *sw,
						     unsigned int worker);

#endif /* _GCHEAP_CORE_MARK_H */
