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
 * The end of a mark can instead write-protect the arena (arena_wp, module
 * parameter cmark_wp): gch_dirty_protect() clears the write bit of every
 * entry while the program runs, so each first write to a page faults into
 * .page_mkwrite, which records the page (@dirty_wbits) before the core
 * makes the entry writable again.  The final stop then reads that bitmap,
 * O(pages written since), instead of walking every entry and every page:
 * that walk was most of the final stop at large heaps.  The cost is a
 * fault per page first written after the protection; the core maps the
 * entries of such an arena read-only from the start (write-notify), a
 * fault per page's first write, so only heaps that mark beside the
 * program get it.
 *
 * Locking: the walks of the page tables run without the heap lock, which
 * the program's refills and faults need: the helpers take the inode's
 * i_mmap lock and the page-table locks, and a page mapped or zapped
 * meanwhile is one no live object lives on yet or any more.  What reads
 * the spans (their pages' flags, the pages behind a record) takes the
 * heap lock.  The bitmaps belong to the heap's one mark at a time.
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
	/* the kernel pages' bitmap, then dirty_map, held and wbits */
	return (BITS_TO_LONGS(gch_dirty_kpages(heap)) +
		3 * BITS_TO_LONGS(gch_dirty_hpages(heap))) * sizeof(long);
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
	heap->dirty_held = (unsigned long *)heap->dirty_map +
			   BITS_TO_LONGS(gch_dirty_hpages(heap));
	/* .page_mkwrite reads it without the lock, with acquire */
	smp_store_release(&heap->dirty_wbits, heap->dirty_held +
			  BITS_TO_LONGS(gch_dirty_hpages(heap)));
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
	heap->dirty_held = NULL;
	heap->dirty_wbits = NULL;
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

/*
 * The pages of span @s that were written behind the PTEs, in @map; with
 * @held, those someone holds in @held.
 */
static void gch_dirty_span(struct gch_span *s, u64 *map, u64 *held)
{
	unsigned int i;
	bool h = false;

	for (i = 0; i < s->npages * GCH_KPAGES_PER_PAGE; i++) {
		u64 p = s->start + i / GCH_KPAGES_PER_PAGE;

		/* tested (and cleared) with or without @map */
		if (gch_span_page_written(s, i, held ? &h : NULL) && map)
			gch_dirty_set(map, p);
		if (h)
			gch_dirty_set(held, p);
	}
}

/* Spans per hold of the heap lock when gch_dirty_pages() lets others in. */
#define GCH_DIRTY_SPAN_BATCH	64

/*
 * Every in-use span's pages, in arena order, the heap locked.  With
 * @breaks the lock is dropped every GCH_DIRTY_SPAN_BATCH spans (a read of
 * every span page, 250 ms at 1 GiB under TCG, was that long a wait for
 * the program's refills and faults); a span made or freed in between may
 * then be passed over, its pages' PG_dirty left set: only for reads that
 * a later one completes (the clear, a pre-cleaning round; the
 * write-protecting round and the final stop read without breaks).
 */
static void gch_dirty_pages(struct gch_heap *heap, u64 *map, u64 *held,
			    bool breaks)
{
	unsigned int batch = 0;
	struct gch_span *s;
	u64 p = 0;

	while (p < heap->core.pages.used) {
		s = gch_heap_span_of(&heap->core, p << GCH_PAGE_SHIFT);
		if (!s || !s->backing) {
			p++;
			continue;
		}
		gch_dirty_span(s, map, held);
		p = s->start + s->npages;
		if (breaks && ++batch % GCH_DIRTY_SPAN_BATCH == 0) {
			mutex_unlock(&heap->lock);
			cond_resched();
			mutex_lock(&heap->lock);
		} else if (!breaks) {
			cond_resched();
		}
	}
}

/**
 * gch_dirty_clear() - forget every write so far
 * @heap: the heap, not locked, with its dirty bitmaps.
 *
 * After the first stop of a mark beside the program, before any object
 * is scanned: from here on every write to the arena is recorded.
 */
void gch_dirty_clear(struct gch_heap *heap)
{
	gch_dirty_ptes(heap, NULL);
	mutex_lock(&heap->lock);
	gch_dirty_pages(heap, NULL, NULL, true);
	gch_dirty_consumed(heap);
	bitmap_zero(heap->dirty_held, gch_dirty_hpages(heap));
	heap->dirty_protected = false;
	mutex_unlock(&heap->lock);
}

/**
 * gch_dirty_preclean() - record the pages written since the last read
 * @heap: the heap, not locked, with its dirty bitmaps, not protected.
 *
 * For a pre-cleaning round: adds them to @heap->dirty_map, where they
 * stay until gch_dirty_consumed().
 *
 * Return: the heap pages now in @heap->dirty_map.
 */
u64 gch_dirty_preclean(struct gch_heap *heap)
{
	u64 n;

	gch_dirty_ptes(heap, heap->dirty_map);
	mutex_lock(&heap->lock);
	gch_dirty_pages(heap, heap->dirty_map, NULL, true);
	n = bitmap_weight((unsigned long *)heap->dirty_map,
			  gch_dirty_hpages(heap));
	mutex_unlock(&heap->lock);
	return n;
}

/**
 * gch_dirty_final() - the pages written since the last read, for the end
 * @heap: the heap, locked, with its dirty bitmaps, the world stopped for
 *        the mark's end.
 *
 * Adds them to @heap->dirty_map, and with them every page someone still
 * holds (a pin for a write that may still come).
 *
 * Return: the heap pages now in @heap->dirty_map.
 */
u64 gch_dirty_final(struct gch_heap *heap)
{
	unsigned long *map = (unsigned long *)heap->dirty_map;
	unsigned long nh = gch_dirty_hpages(heap);

	if (heap->dirty_protected) {
		/*
		 * Since gch_dirty_protect(): every write to a mapped page
		 * faulted first (@dirty_wbits), a page pinned before may be
		 * written behind its entry at any time (@dirty_held), and a
		 * new pin faulted for writing.  No walk.
		 */
		bitmap_or(map, map, heap->dirty_wbits, nh);
		bitmap_or(map, map, heap->dirty_held, nh);
		return bitmap_weight(map, nh);
	}
	gch_dirty_ptes(heap, heap->dirty_map);
	gch_dirty_pages(heap, heap->dirty_map, heap->dirty_map, false);
	return bitmap_weight(map, nh);
}

/*
 * Forget heap page @p's record of a write through a write-protected
 * entry, but only once that fault is over: its .page_mkwrite recorded
 * the page and then held it locked until the core made the entry
 * writable.  Clearing the bit while such a fault were still on its way
 * would leave a writable entry no walk of gch_dirty_protect() saw, and
 * writes through it unrecorded.  Holding the page locks while clearing,
 * a fault is either over (its entry is in place, for the protection to
 * take again) or records after us.  Heap locked.
 */
static void gch_dirty_forget(struct gch_heap *heap, unsigned long p)
{
	struct page *pages[GCH_KPAGES_PER_PAGE];
	unsigned int i;

	for (i = 0; i < GCH_KPAGES_PER_PAGE; i++) {
		pages[i] = gch_arena_kpage(heap, p * GCH_KPAGES_PER_PAGE + i);
		if (pages[i])
			lock_page(pages[i]);	/* in order: none held more */
	}
	clear_bit(p, heap->dirty_wbits);
	for (i = 0; i < GCH_KPAGES_PER_PAGE; i++)
		if (pages[i])
			unlock_page(pages[i]);
}

/* Records forgotten per hold of the heap lock: refills get in between. */
#define GCH_FORGET_BATCH	256

/**
 * gch_dirty_protect() - record every write from here on as it happens
 * @heap: the heap, not locked, with its dirty bitmaps, its arena mapped
 *        for it (@heap->arena_wp).
 *
 * For a mark's last round beside the program: write-protects every entry
 * of the arena, so that the final stop's gch_dirty_final() is a read of
 * the pages written since.  Those written before are added to
 * @heap->dirty_map, as gch_dirty_preclean() does, for the round to scan
 * again; pages someone holds are kept for the final stop.
 *
 * Return: the heap pages now in @heap->dirty_map.
 */
u64 gch_dirty_protect(struct gch_heap *heap)
{
	pgoff_t first = GCH_MMAP_ARENA >> PAGE_SHIFT;
	unsigned long nh = gch_dirty_hpages(heap), p;
	unsigned int batch = 0;
	u64 n;

	/* the last mark's records: each once its fault is over */
	mutex_lock(&heap->lock);
	for_each_set_bit(p, heap->dirty_wbits, nh) {
		gch_dirty_forget(heap, p);
		if (++batch % GCH_FORGET_BATCH == 0) {
			mutex_unlock(&heap->lock);
			cond_resched();
			mutex_lock(&heap->lock);
		}
	}
	mutex_unlock(&heap->lock);
	/* from here every write to a mapped page faults and is recorded */
	wp_shared_mapping_range(heap->inode->i_mapping, first,
				gch_dirty_kpages(heap));
	/* what was written before: the entries keep their dirty bits */
	gch_dirty_ptes(heap, heap->dirty_map);
	mutex_lock(&heap->lock);
	gch_dirty_pages(heap, heap->dirty_map, (u64 *)heap->dirty_held, false);
	heap->dirty_protected = true;
	n = bitmap_weight((unsigned long *)heap->dirty_map, nh);
	mutex_unlock(&heap->lock);
	return n;
}

/**
 * gch_dirty_mkwrite() - a page is written through a protected entry
 * @heap:  the heap; not locked (a page fault).
 * @index: the kernel page, from the arena's first.
 */
void gch_dirty_mkwrite(struct gch_heap *heap, pgoff_t index)
{
	/* pairs with gch_dirty_prepare()'s release: the bitmap is zeroed */
	unsigned long *wbits = smp_load_acquire(&heap->dirty_wbits);

	/* none yet: no mark ever started, so none needs the record */
	if (wbits && index < gch_dirty_kpages(heap))
		set_bit(index / GCH_KPAGES_PER_PAGE, wbits);
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
