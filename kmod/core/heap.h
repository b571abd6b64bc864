/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The portable heap: page heap, spans, per-class central lists, bitmaps.
 *
 * This is the allocation half of the collector core, in the roles of the
 * Go runtime's mheap (runs of pages, coalesced when freed), mspan (a run
 * of pages holding objects of one span class) and mcentral (per span
 * class, the spans that still have free objects).  It deals only in arena
 * offsets (bytes from the start of the arena) and page indices; the
 * embedder (gcheap.ko, libgcheap never, the hosted tests) owns the memory
 * behind them through struct gch_heap_ops, and serialises every call with
 * its own lock.
 */
#ifndef _GCHEAP_CORE_HEAP_H
#define _GCHEAP_CORE_HEAP_H

#include "port.h"
#include "sizeclass.h"

/* Free runs shorter than this are kept on exact-length lists. */
#define GCH_PH_SMALL_RUNS	128

/*
 * Largest large object: its span size must fit struct gch_span.elemsize
 * (u32).  Larger requests are -EINVAL, like sizes whose rounding to
 * whole pages would overflow.
 */
#define GCH_MAX_LARGE_SIZE	(0xffffffffULL & ~(u64)(GCH_PAGE_SIZE - 1))

/*
 * Bit 0 of an object offset from gch_heap_alloc_objs(): the object holds
 * old data of this heap, the caller zeroes it (objects are 16-byte
 * aligned, so bit 0 is free; it is GCH_SLOT_UNZEROED of the uapi).
 */
#define GCH_OBJ_UNZEROED	1ULL

enum gch_span_state {
	GCH_SPAN_FREE = 0,	/* a free run of pages in the page heap */
	GCH_SPAN_SMALL,		/* objects of one small span class */
	GCH_SPAN_LARGE,		/* one large object */
};

/**
 * struct gch_span - a run of heap pages
 * @start:     first heap page (index of GCH_PAGE_SIZE pages in the arena).
 * @npages:    number of heap pages.
 * @state:     enum gch_span_state.
 * @spanclass: GCH_SPANCLASS(sizeclass, noscan); sizeclass 0 for large.
 * @needzero:  objects freed in this span may hold old data: zero before
 *             handing one out again.
 * @freerun:   owned by the page heap: set while the span is a free run on
 *             its free lists, clear while it is in use.  A span fresh from
 *             gch_pageheap_alloc() is in use but still has @state
 *             GCH_SPAN_FREE until its caller sets it, so only this field
 *             tells the two apart.
 * @nobjs:     objects the span holds (1 for a large span).
 * @nalloc:    objects allocated now (alloc bits set).
 * @freeindex: no free object below this index (a search hint).
 * @elemsize:  object size in bytes (npages * GCH_PAGE_SIZE for large).
 * @divmul:    ceil(2^32 / @elemsize) for a small span: an offset's object
 *             index is one multiplication (gch_span_index()), not a
 *             division; 0 for a large span (its one object is index 0).
 * @sweepgen:  sweep generation, against the heap's @sweepgen (h): h - 2,
 *             not swept since the last mark (on an unswept list; its
 *             alloc bits still hold the objects the mark found dead);
 *             h - 1, being swept; h, swept (or new since).
 * @link:      on a page-heap free list, a central list or the large list.
 * @allocbits: one bit per object, set while it is allocated.
 * @markbits:  one bit per object, for the collector.  Both bitmaps are
 *             one allocation (@markbits follows @allocbits), for large
 *             spans too (one bit each), so mark and sweep treat every
 *             span alike.
 * @backing:   the embedder's (kernel pages and their mapping).
 * @mapped:    where the core reads the span's objects: ops->map()'s
 *             answer, asked once when the span is populated (NULL if the
 *             heap has no ops->map), so that the mark reads objects
 *             without an indirect call per object.
 */
struct gch_span {
	u32 start;
	u32 npages;
	u8 state;
	u8 spanclass;
	u8 needzero;
	u8 freerun;
	u16 nobjs;
	u16 nalloc;
	u16 freeindex;
	u32 elemsize;
	u32 sweepgen;
	u32 divmul;
	struct list_head link;
	unsigned long *allocbits;
	unsigned long *markbits;
	void *backing;
	void *mapped;
};

/**
 * gch_span_divmul() - the multiplier of gch_span_index() for a size
 * @elemsize: a small object size, 16 to GCH_MAX_SMALL_SIZE.
 *
 * Return: U32_MAX / @elemsize + 1: ceil(2^32 / @elemsize), or one more
 * for a power of two.
 */
static inline u32 gch_span_divmul(u32 elemsize)
{
	return U32_MAX / elemsize + 1;
}

/**
 * gch_span_index() - the object of a span an offset into it falls in
 * @s:   an in-use span.
 * @rel: offset from the span's first byte, below its size.
 *
 * The mark does this for every candidate pointer, and a 32-bit division
 * costs tens of cycles on hardware and a helper call under emulation, so
 * a small span's index is (@rel * @divmul) >> 32, the Go runtime's
 * divMagic.  The multiplier exceeds 2^32 / @elemsize by at most 1, so the
 * result is exact (floor(@rel / @elemsize)) while @rel < 2^32 / @elemsize,
 * which every size class's span satisfies with room to spare; the heap
 * tests check every class at both ends of every object.  An offset past
 * the last object gives an index >= @nobjs, as a division would.
 *
 * Return: the object index (0 for a large span, whose @divmul is 0).
 */
static inline u32 gch_span_index(const struct gch_span *s, u32 rel)
{
	return (u32)(((u64)rel * s->divmul) >> 32);
}

struct gch_heap_core;

/**
 * struct gch_sweep_stats - what a sweep (or one worker of it) did
 * @spans_swept:    spans examined.
 * @objects_freed:  objects freed (small and large).
 * @bytes_freed:    their bytes (class size, or span size for large).
 * @large_freed:    large objects among @objects_freed.
 * @spans_released: spans given back to the page heap (emptied small
 *                  spans and freed large objects' spans).
 * @pages_released: their heap pages.
 */
struct gch_sweep_stats {
	u64 spans_swept;
	u64 objects_freed;
	u64 bytes_freed;
	u64 large_freed;
	u64 spans_released;
	u64 pages_released;
};

/**
 * struct gch_heap_ops - what the embedder does for the core
 * @populate: back the pages of a span being put to use with zeroed memory.
 *            Every field of the span is set when it is called but @state
 *            and @mapped, set after @map (so that a concurrent mark only
 *            sees the span once it is complete).  Return 0
 *            or -ENOMEM (the span then goes back to the free runs, without
 *            a call to @release: undo any partial work before failing).
 * @release:  drop the backing of a span going back to the free runs (or
 *            of every span, at destroy).  Never fails.
 * @zero:     zero @len bytes at arena offset @off (a recycled object).
 * @map:      the address, readable by the core, of the first byte of an
 *            in-use span's memory (the embedder's mapping of it; the
 *            span's bytes follow contiguously), the same for the span's
 *            whole life.  Called once, right after @populate succeeds;
 *            the answer is kept in the span's @mapped.  Optional for the
 *            heap; the collector (mark.c) needs it.
 *
 * The core may sleep (its allocations are GFP_KERNEL) and so may these.
 * During a parallel sweep (sweep.c) @release is called by several workers
 * at once, for different spans, and without any lock of the core held.
 */
struct gch_heap_ops {
	int (*populate)(struct gch_heap_core *h, struct gch_span *s);
	void (*release)(struct gch_heap_core *h, struct gch_span *s);
	void (*zero)(struct gch_heap_core *h, struct gch_span *s, u64 off,
		     u64 len);
	void *(*map)(struct gch_heap_core *h, struct gch_span *s);
};

/**
 * struct gch_pageheap - runs of heap pages: allocated, free, untouched
 * @npages:      arena size in heap pages.
 * @reserved:    pages [0, @reserved) are never handed out: in no span and
 *               no free run, and not counted in @free_pages.
 * @used:        the top: pages [@used, @npages) are in no span and no free
 *               run, and are cut off by bumping @used.  A free run that
 *               would end at @used lowers it instead, so the page below
 *               @used is always in use, or reserved: @used is never below
 *               @reserved.
 * @free_pages:  pages in free runs below @used.
 * @free_small:  free runs of exactly n pages, n < GCH_PH_SMALL_RUNS.
 * @free_large:  free runs of GCH_PH_SMALL_RUNS pages or more.
 * @map:         two-level span table: map[page / GCH_PH_MAP_CHUNK] is an
 *               array of GCH_PH_MAP_CHUNK span pointers, allocated on first
 *               use.  Every page of an in-use span points to it; a free run
 *               is recorded at its first and last page (for coalescing);
 *               all other entries are NULL.  Chunks are never freed before
 *               gch_pageheap_destroy(), so those covering [@reserved,
 *               @used) exist.
 * @map_chunks:  entries of @map.
 * @metadata_bytes: bytes allocated for the map, its chunks and the span
 *               structs the page heap holds (in use, free runs, and on
 *               @graveyard).
 * @defer_free:  a concurrent mark may be reading span structs through
 *               @map: a struct the page heap is done with goes on
 *               @graveyard instead of being freed (gch_pageheap_defer()).
 * @graveyard:   those structs, freed when deferral ends.
 */
struct gch_pageheap {
	u32 npages;
	u32 reserved;
	u32 used;
	u32 free_pages;
	struct list_head free_small[GCH_PH_SMALL_RUNS];
	struct list_head free_large;
	struct gch_span ***map;
	u32 map_chunks;
	u64 metadata_bytes;
	bool defer_free;
	struct list_head graveyard;
};

#define GCH_PH_MAP_CHUNK	512

/*
 * Heap pages at the arena's start that the heap never hands out.  Without
 * them the first object would start at the arena's address, and every
 * copy of that address (the program's statistics, a library's own data)
 * would be a pointer to it, keeping it alive for ever.  Only address
 * space: nothing backs a reserved page, and it is not in @mapped_pages.
 */
#define GCH_HEAP_RESERVED_PAGES	1U

/**
 * gch_pageheap_empty() - does the page heap hold no span and no free run?
 * @ph: the page heap (initialised, or not: then it is empty too).
 *
 * Return: true if the top is down at the reserved pages.
 */
static inline bool gch_pageheap_empty(const struct gch_pageheap *ph)
{
	return ph->used == ph->reserved;
}

/**
 * struct gch_central - the spans of one span class
 * @partial:         swept spans with at least one free object.
 * @full:            swept spans with none.
 * @unswept_partial: during a lazy sweep, spans not swept yet that had a
 *                   free object before it (they were on @partial).
 * @unswept_full:    likewise, spans that were on @full.
 * @nspans:          spans of this class (swept or not).
 * @nmalloc:         objects handed out since the heap began.
 * @nfree:           objects freed since the heap began (by the sweep: once
 *                   their span is swept).
 */
struct gch_central {
	struct list_head partial;
	struct list_head full;
	struct list_head unswept_partial;
	struct list_head unswept_full;
	u32 nspans;
	u64 nmalloc;
	u64 nfree;
};

/**
 * struct gch_heap_core - a heap's allocation state
 * @classes:        the size-class table (not owned).
 * @ops:            the embedder's callbacks.
 * @pages:          the page heap.
 * @central:        per span class.
 * @large:          in-use large spans, swept.
 * @large_unswept:  during a lazy sweep, large spans not swept yet.
 * @nlarge:         large objects allocated now.
 * @large_nmalloc:  large objects allocated since the heap began.
 * @large_nfree:    large objects freed since the heap began.
 * @inuse_bytes:    bytes in allocated objects (class size, or span size).
 * @objects:        allocated objects now.
 * @mapped_pages:   heap pages populated (in-use spans; never the reserved
 *                  pages).
 * @metadata_bytes: memory the core allocated for its own bookkeeping:
 *                  span structs, bitmaps, the span table.
 * @sweepgen:       sweep generation: advanced by 2 when a sweep starts
 *                  (see struct gch_span).
 * @unswept:        spans still to sweep (on the unswept lists); 0 outside
 *                  a lazy sweep.
 * @sweep_next:     where the lazy sweep goes on: a span class, or
 *                  GCH_NR_SPANCLASSES for the large spans.
 * @swept:          what the current (or last) lazy sweep did so far,
 *                  whoever swept: gch_heap_sweep_some(), or allocation
 *                  and free sweeping a span on demand.
 * @marking:        a concurrent mark is running (gch_heap_mark_phase()):
 *                  no span is released and no span struct freed.
 * @parked:         spans gch_heap_free() emptied while @marking (a large
 *                  object's, a small span's last object): off every other
 *                  list and out of every counter but @mapped_pages and
 *                  @metadata_bytes, released when the mark ends.
 *
 * Classes 0 and 1 of @central (large objects) stay empty: large spans are
 * on @large.
 *
 * Counters during a lazy sweep: an unswept span's dead objects still have
 * their alloc bits set, and are counted as allocated in @objects,
 * @inuse_bytes (like the Go runtime's heap_live), @nlarge and nmalloc -
 * nfree until their span is swept; the counters are exact for the alloc
 * bits at every return, and exact for the live heap once @unswept is 0.
 */
struct gch_heap_core {
	const struct gch_sizeclass_table *classes;
	const struct gch_heap_ops *ops;
	struct gch_pageheap pages;
	struct gch_central central[GCH_NR_SPANCLASSES];
	struct list_head large;
	struct list_head large_unswept;
	u64 nlarge;
	u64 large_nmalloc;
	u64 large_nfree;
	u64 inuse_bytes;
	u64 objects;
	u64 mapped_pages;
	u64 metadata_bytes;
	u32 sweepgen;
	u32 sweep_next;
	u64 unswept;
	struct gch_sweep_stats swept;
	bool marking;
	struct list_head parked;
};

/**
 * struct gch_objinfo - what gch_heap_lookup() finds
 * @base:      arena offset of the object's first byte.
 * @size:      its size (class size, or the large span's size).
 * @sizeclass: its size class, 0 for large.
 * @noscan:    allocated pointer-free.
 * @span:      the span holding it.
 * @index:     its index in the span.
 */
struct gch_objinfo {
	u64 base;
	u64 size;
	u32 sizeclass;
	bool noscan;
	struct gch_span *span;
	u32 index;
};

int gch_heap_init(struct gch_heap_core *h,
		  const struct gch_sizeclass_table *classes, u32 npages,
		  const struct gch_heap_ops *ops);
void gch_heap_destroy(struct gch_heap_core *h);
int gch_heap_alloc_objs(struct gch_heap_core *h, unsigned int spanclass,
			u64 *offs, unsigned int max, bool unzeroed);
int gch_heap_alloc_small(struct gch_heap_core *h, unsigned int spanclass,
			 u64 *offs, unsigned int max);
int gch_heap_alloc_large(struct gch_heap_core *h, u64 size, bool noscan,
			 u64 *off);
int gch_heap_free(struct gch_heap_core *h, u64 off);
int gch_heap_lookup(const struct gch_heap_core *h, u64 off,
		    struct gch_objinfo *info);
struct gch_span *gch_heap_span_of(const struct gch_heap_core *h, u64 off);
void gch_heap_drop_span(struct gch_heap_core *h, struct gch_span *s);
int gch_heap_check(const struct gch_heap_core *h, const char **why);
unsigned int gch_span_sweep_bits(struct gch_span *s);
bool gch_span_unswept(const struct gch_heap_core *h,
		      const struct gch_span *s);
void gch_heap_mark_phase(struct gch_heap_core *h, bool on);
int gch_heap_sweep_start(struct gch_heap_core *h);
bool gch_heap_sweep_some(struct gch_heap_core *h, u64 max_spans);

int gch_pageheap_init(struct gch_pageheap *ph, u32 npages, u32 reserved);
void gch_pageheap_destroy(struct gch_pageheap *ph);
struct gch_span *gch_pageheap_alloc(struct gch_pageheap *ph, u32 npages);
void gch_pageheap_free(struct gch_pageheap *ph, struct gch_span *s);
struct gch_span *gch_pageheap_lookup(const struct gch_pageheap *ph, u32 page);
void gch_pageheap_defer(struct gch_pageheap *ph, bool on);
int gch_pageheap_check(const struct gch_pageheap *ph, const char **why);

#endif /* _GCHEAP_CORE_HEAP_H */
