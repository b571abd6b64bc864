// SPDX-License-Identifier: GPL-2.0
/*
 * Which arena pages the program wrote: the write barrier of a mark that
 * runs beside the program (collect.c, module parameter concurrent_mark).
 *
 * The MMU sets a page-table entry's dirty bit on the first write through
 * it.  The arena is a shared mapping of the heap's own address space
 * (arena.c), so clean_record_shared_mapping_range() (the helper vmwgfx
 * uses) can read and clear the dirty bits of exactly this heap's arena
 * entries, flushing the TLB for those it cleaned, while the program runs:
 * an entry dirtied during the walk stays dirty, is recorded, or both.
 * The program's writes cost nothing; a read costs one walk of the
 * arena's page tables.
 *
 * Writes that do not go through the owner's page tables set no dirty bit:
 * the kernel writing through get_user_pages() (process_vm_writev(),
 * ptrace, O_DIRECT reads, io_uring fixed buffers) reaches the page
 * through another mapping.  Those paths mark the page itself dirty
 * (set_page_dirty() when they pin or unpin it for writing), so a read
 * also tests and clears PG_dirty on every page of every span; and at the
 * final stop a page still held by someone (a reference beyond ours and
 * its mappings': a pin for a write that may still come) counts as written.
 *
 * Granularity: the entries are kernel pages, the mark's bitmap
 * (GCH_ROOT_DIRTY) heap pages of GCH_PAGE_SIZE; a heap page is dirty if
 * any of its kernel pages is.  Recorded pages accumulate in @dirty_map
 * until a mark has scanned them again (gch_dirty_consumed()).
 *
 * Locking: the heap lock (spans and their pages hold still); the helper
 * takes the inode's i_mmap lock and the page-table locks, which come after
 * the heap lock (design.rst, "Locks").
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "internal.h"

#define GCH_KPAGES_PER_PAGE	(GCH_PAGE_SIZE / PAGE_SIZE)

static unsigned long gch_dirty_kpages(const struct gch_heap *heap)
{
	return heap->arena_size >> PAGE_SHIFT;
}

/* Heap pages: the bits of @dirty_map. */
static unsigned long gch_dirty_hpages(const struct gch_heap *heap)
{
	return heap->arena_size >> GCH_PAGE_SHIFT;
}

static unsigned long gch_dirty_bytes(const struct gch_heap *heap)
{
	/* both bitmaps, in longs */
	return (BITS_TO_LONGS(gch_dirty_kpages(heap)) +
		BITS_TO_LONGS(gch_dirty_hpages(heap))) * sizeof(long);
}

/* Record heap page @p in @map (u64 words: the mark's GCH_ROOT_DIRTY). */
static void gch_dirty_set(u64 *map, u64 p)
{
	map[p / 64] |= 1ULL << (p % 64);
}

/**
 * gch_dirty_prepare() - make the heap's dirty bitmaps, once
 * @heap: the heap, locked, its arena mapped.
 *
 * Return: 0 or -ENOMEM (also when max_heap_metadata leaves no room).
 */
int gch_dirty_prepare(struct gch_heap *heap)
{
	unsigned long bytes = gch_dirty_bytes(heap);

	if (heap->dirty_kbits)
		return 0;
	if (gch_heap_meta_charge(heap, bytes))
		return -ENOMEM;
	heap->dirty_kbits = kvzalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!heap->dirty_kbits) {
		heap->kmeta_bytes -= bytes;
		return -ENOMEM;
	}
	heap->dirty_map = (u64 *)(heap->dirty_kbits +
				  BITS_TO_LONGS(gch_dirty_kpages(heap)));
	return 0;
}

/**
 * gch_dirty_destroy() - free the dirty bitmaps
 * @heap: the heap, being released.
 */
void gch_dirty_destroy(struct gch_heap *heap)
{
	if (!heap->dirty_kbits)
		return;
	heap->kmeta_bytes -= gch_dirty_bytes(heap);
	kvfree(heap->dirty_kbits);
	heap->dirty_kbits = NULL;
	heap->dirty_map = NULL;
}

/*
 * Read and clear the dirty bits of the arena's page-table entries; with
 * @map, record the heap pages they fall in.
 */
static void gch_dirty_ptes(struct gch_heap *heap, u64 *map)
{
	pgoff_t first = GCH_MMAP_ARENA >> PAGE_SHIFT, start = 0, end = 0, i;
	unsigned long *kbits = heap->dirty_kbits;

	clean_record_shared_mapping_range(heap->inode->i_mapping, first,
					  gch_dirty_kpages(heap), first, kbits,
					  &start, &end);
	if (start >= end)
		return;
	if (map) {
		i = start;
		for_each_set_bit_from(i, kbits, end)
			gch_dirty_set(map, i / GCH_KPAGES_PER_PAGE);
	}
	bitmap_clear(kbits, start, end - start);
}

/* The pages of the spans on @list that were written behind the PTEs. */
static void gch_dirty_spans(struct gch_heap *heap, struct list_head *list,
			    u64 *map, bool held)
{
	struct gch_span *s;
	unsigned int i;

	list_for_each_entry(s, list, link) {
		for (i = 0; i < s->npages * GCH_KPAGES_PER_PAGE; i++)
			/* tested (and cleared) with or without @map */
			if (gch_span_page_written(s, i, held) && map)
				gch_dirty_set(map,
					      s->start + i / GCH_KPAGES_PER_PAGE);
		cond_resched();
	}
}

/* Every in-use span's pages (spans are only on these lists during a mark). */
static void gch_dirty_pages(struct gch_heap *heap, u64 *map, bool held)
{
	struct gch_heap_core *h = &heap->core;
	unsigned int c;

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		gch_dirty_spans(heap, &h->central[c].partial, map, held);
		gch_dirty_spans(heap, &h->central[c].full, map, held);
	}
	gch_dirty_spans(heap, &h->large, map, held);
	gch_dirty_spans(heap, &h->parked, map, held);
}

/**
 * gch_dirty_clear() - forget every write so far
 * @heap: the heap, locked, with its dirty bitmaps.
 *
 * After the first stop of a mark beside the program, before any object
 * is scanned: from here on every write to the arena is recorded.
 */
void gch_dirty_clear(struct gch_heap *heap)
{
	gch_dirty_ptes(heap, NULL);
	gch_dirty_pages(heap, NULL, false);
	gch_dirty_consumed(heap);
}

/**
 * gch_dirty_read() - record the pages written since the last read
 * @heap:  the heap, locked, with its dirty bitmaps.
 * @final: the world is stopped for the mark's end: pages someone still
 *         holds count as written too.
 *
 * Adds them to @heap->dirty_map (heap pages), where they stay until
 * gch_dirty_consumed().
 *
 * Return: the heap pages now in @heap->dirty_map.
 */
u64 gch_dirty_read(struct gch_heap *heap, bool final)
{
	gch_dirty_ptes(heap, heap->dirty_map);
	gch_dirty_pages(heap, heap->dirty_map, final);
	return bitmap_weight((unsigned long *)heap->dirty_map,
			     gch_dirty_hpages(heap));
}

/**
 * gch_dirty_consumed() - a mark scanned the recorded pages again
 * @heap: the heap, locked.
 */
void gch_dirty_consumed(struct gch_heap *heap)
{
	bitmap_zero((unsigned long *)heap->dirty_map, gch_dirty_hpages(heap));
}

/**
 * gch_dirty_root() - the recorded pages as a root of the mark
 * @heap: the heap, with its dirty bitmaps.
 * @r:    filled in: a GCH_ROOT_DIRTY root over the whole arena.
 */
void gch_dirty_root(struct gch_heap *heap, struct gch_root *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = GCH_ROOT_DIRTY;
	r->words = heap->dirty_map;
	r->n = gch_dirty_hpages(heap);
}
