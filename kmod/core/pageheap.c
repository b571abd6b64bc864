// SPDX-License-Identifier: GPL-2.0
/*
 * The page heap: runs of heap pages, in the role of the Go runtime's mheap.
 *
 * The arena's pages [0, npages) are in four kinds of places:
 *
 *  - reserved: the first @reserved pages, never handed out, in no span
 *    and no free run (their entries are NULL).  The heap reserves the
 *    arena's first page (GCH_HEAP_RESERVED_PAGES), so that no object
 *    starts at the arena's address: a copy of that address (the program's
 *    statistics, a library's bookkeeping) is not a pointer to any object;
 *  - in use: a span handed out by gch_pageheap_alloc(); every one of its
 *    pages' span-table entries points to it, so an interior pointer finds
 *    its span in two loads;
 *  - a free run below the top (@used): a struct gch_span with @freerun
 *    set, on the exact-length list free_small[npages] or on free_large,
 *    recorded in the table at its first and last page only, which is all
 *    that coalescing needs; its other entries are NULL;
 *  - above the top: never cut, or given back when a free run reached the
 *    top.  Entries there are NULL.
 *
 * Free runs are maximal: freeing a span merges it with the free runs on
 * both sides, and a run that then ends at the top lowers the top instead
 * of being kept.  So two free runs are never adjacent and the page below
 * the top is in use or reserved (the top never goes below @reserved);
 * gch_pageheap_check() verifies all of this.
 *
 * Allocation is best fit: the exact-length lists from the requested length
 * up, then the smallest sufficient run on free_large (lowest address on a
 * tie), and only then the top.  Keeping to the smallest run that fits
 * leaves long runs whole for large objects, and growing at the top last
 * keeps the heap compact.  A run longer than needed is split: the span is
 * cut at its low end and the rest stays a free run.
 *
 * Costs: alloc O(GCH_PH_SMALL_RUNS + runs on free_large + n) and free
 * O(n) for a span of n pages (each page's entry is written), lookup O(1).
 * The only allocations are a span struct when a run is split or the top
 * grows, and span-table chunks when the top grows into a new chunk; both
 * happen before anything changes, so a failed allocation leaves the page
 * heap as it was (but for chunks already made, which are kept).
 *
 * The caller serialises every call.
 */
#include "heap.h"

#ifndef __KERNEL__
int gch_hosted_fail_alloc_after;	/* see port.h */
#endif

#define GCH_PH_CHUNK_BYTES	(GCH_PH_MAP_CHUNK * sizeof(struct gch_span *))

static struct gch_span *ph_get(const struct gch_pageheap *ph, u32 page)
{
	struct gch_span **chunk = ph->map[page / GCH_PH_MAP_CHUNK];

	return chunk ? chunk[page % GCH_PH_MAP_CHUNK] : NULL;
}

/*
 * Only for pages whose chunk exists: from @reserved to @used, or made by
 * ph_grow_map.
 */
static void ph_set(struct gch_pageheap *ph, u32 page, struct gch_span *s)
{
	/* read without the lock by a concurrent mark (mark.c) */
	WRITE_ONCE(ph->map[page / GCH_PH_MAP_CHUNK][page % GCH_PH_MAP_CHUNK],
		   s);
}

static void ph_set_range(struct gch_pageheap *ph, u32 start, u32 n,
			 struct gch_span *s)
{
	u32 p;

	for (p = start; p < start + n; p++)
		ph_set(ph, p, s);
}

/* Make sure the chunks covering pages [start, start + n) exist. */
static int ph_grow_map(struct gch_pageheap *ph, u32 start, u32 n)
{
	u32 c, last = (start + n - 1) / GCH_PH_MAP_CHUNK;
	struct gch_span **chunk;

	for (c = start / GCH_PH_MAP_CHUNK; c <= last; c++) {
		if (ph->map[c])
			continue;
		chunk = gch_zalloc(GCH_PH_CHUNK_BYTES);
		if (!chunk)
			return -ENOMEM;
		/* zeroed before a concurrent mark can see it */
		smp_store_release(&ph->map[c], chunk);
		ph->metadata_bytes += GCH_PH_CHUNK_BYTES;
	}
	return 0;
}

static struct gch_span *ph_new_span(struct gch_pageheap *ph)
{
	struct gch_span *s = gch_zalloc(sizeof(*s));

	if (s) {
		INIT_LIST_HEAD(&s->link);
		ph->metadata_bytes += sizeof(*s);
	}
	return s;
}

static void ph_free_span(struct gch_pageheap *ph, struct gch_span *s)
{
	if (ph->defer_free) {
		/* a concurrent mark may hold a pointer to it: later */
		memset(s, 0, sizeof(*s));
		list_add(&s->link, &ph->graveyard);
		return;
	}
	ph->metadata_bytes -= sizeof(*s);
	gch_kvfree(s);
}

/**
 * gch_pageheap_defer() - keep span structs while a concurrent mark runs
 * @ph: the page heap.
 * @on: start deferring, or stop and free what was deferred.
 *
 * A mark that runs while the page heap changes reads span structs it
 * found in the table; one the page heap frees meanwhile (merged into a
 * neighbouring free run, or at the top) is kept, zeroed (so its @state
 * says GCH_SPAN_FREE), until deferral ends.
 */
void gch_pageheap_defer(struct gch_pageheap *ph, bool on)
{
	struct gch_span *s, *n;

	ph->defer_free = on;
	if (on)
		return;
	list_for_each_entry_safe(s, n, &ph->graveyard, link)
		ph_free_span(ph, s);
	INIT_LIST_HEAD(&ph->graveyard);
}

static struct list_head *ph_list(struct gch_pageheap *ph, u32 npages)
{
	return npages < GCH_PH_SMALL_RUNS ? &ph->free_small[npages] :
					    &ph->free_large;
}

/* Record @s, already sized and placed, as a free run. */
static void ph_insert_run(struct gch_pageheap *ph, struct gch_span *s)
{
	u32 start = s->start, npages = s->npages;

	/* nothing of the span's last life survives in a free run */
	memset(s, 0, sizeof(*s));
	s->start = start;
	s->npages = npages;
	s->freerun = 1;
	list_add(&s->link, ph_list(ph, npages));
	ph_set(ph, start, s);
	ph_set(ph, start + npages - 1, s);
}

/* Take free run @r off its list and out of the table (its end pages). */
static void ph_remove_run(struct gch_pageheap *ph, struct gch_span *r)
{
	list_del_init(&r->link);
	ph_set(ph, r->start, NULL);
	ph_set(ph, r->start + r->npages - 1, NULL);
	r->freerun = 0;
	ph->free_pages -= r->npages;
}

static struct gch_span *ph_best_fit(struct gch_pageheap *ph, u32 npages)
{
	struct gch_span *r, *best = NULL;
	u32 n;

	if (ph->free_pages < npages)
		return NULL;
	for (n = npages; n < GCH_PH_SMALL_RUNS; n++)
		if (!list_empty(&ph->free_small[n]))
			return list_first_entry(&ph->free_small[n],
						struct gch_span, link);
	list_for_each_entry(r, &ph->free_large, link) {
		if (r->npages < npages)
			continue;
		if (!best || r->npages < best->npages ||
		    (r->npages == best->npages && r->start < best->start))
			best = r;
	}
	return best;
}

/**
 * gch_pageheap_init() - set up an empty page heap
 * @ph:       the page heap; its previous contents are ignored.
 * @npages:   arena size in heap pages, more than @reserved.
 * @reserved: pages at the arena's start never to hand out: the top starts
 *            there, and they are in no span and no free run.
 *
 * Allocates the top level of the span table (one pointer per
 * GCH_PH_MAP_CHUNK pages); chunks come on first use.
 *
 * Return: 0, -EINVAL for an arena with no page to hand out, -ENOMEM.
 */
int gch_pageheap_init(struct gch_pageheap *ph, u32 npages, u32 reserved)
{
	u32 i;

	memset(ph, 0, sizeof(*ph));
	for (i = 0; i < GCH_PH_SMALL_RUNS; i++)
		INIT_LIST_HEAD(&ph->free_small[i]);
	INIT_LIST_HEAD(&ph->free_large);
	INIT_LIST_HEAD(&ph->graveyard);
	if (npages <= reserved)
		return -EINVAL;
	ph->map_chunks = DIV_ROUND_UP(npages, GCH_PH_MAP_CHUNK);
	ph->map = gch_zalloc(ph->map_chunks * sizeof(*ph->map));
	if (!ph->map) {
		ph->map_chunks = 0;
		return -ENOMEM;
	}
	ph->metadata_bytes = ph->map_chunks * sizeof(*ph->map);
	ph->npages = npages;
	ph->reserved = reserved;
	ph->used = reserved;
	return 0;
}

/**
 * gch_pageheap_destroy() - free the page heap and every span struct in it
 * @ph: the page heap, initialised (successfully or not).
 *
 * Spans still in use are freed too: their owner must be done with them
 * (gch_heap_destroy() releases their backing first).  @ph is left empty,
 * as after a failed gch_pageheap_init().
 */
void gch_pageheap_destroy(struct gch_pageheap *ph)
{
	struct gch_span *s;
	u32 p = ph->reserved, c;

	if (!ph->map)
		return;
	gch_pageheap_defer(ph, false);
	/* every span, in use or free, has its first page in the table */
	while (p < ph->used) {
		s = ph_get(ph, p);
		if (WARN_ON(!s || s->start != p || !s->npages)) {
			p++;		/* leak rather than crash */
			continue;
		}
		p += s->npages;
		ph_free_span(ph, s);
	}
	for (c = 0; c < ph->map_chunks; c++)
		gch_kvfree(ph->map[c]);
	gch_kvfree(ph->map);
	gch_pageheap_init(ph, 0, 0);
}

/**
 * gch_pageheap_alloc() - take a run of pages
 * @ph:     the page heap.
 * @npages: the run's length, at least 1.
 *
 * Best fit among the free runs, else cut from the top.  The span returned
 * is in use (its table entries point to it) but its fields other than
 * @start, @npages and @link (initialised, empty) are zero, @state
 * GCH_SPAN_FREE included: the caller fills them in.
 *
 * Return: a new span, or NULL when no run of @npages pages is left or
 * memory for the span struct or the span table runs out.  Then nothing
 * has changed but that span-table chunks made on the way are kept (and
 * counted in @metadata_bytes) for the next try.
 */
struct gch_span *gch_pageheap_alloc(struct gch_pageheap *ph, u32 npages)
{
	struct gch_span *r, *s;

	if (!npages || npages > ph->npages - ph->reserved)
		return NULL;
	r = ph_best_fit(ph, npages);
	if (r && r->npages == npages) {
		/* exact fit: the run's struct becomes the span */
		ph_remove_run(ph, r);
		ph_set_range(ph, r->start, npages, r);
		return r;
	}
	s = ph_new_span(ph);
	if (!s)
		return NULL;
	if (r) {
		/* cut the span from the low end; the rest stays free */
		list_del(&r->link);
		s->start = r->start;
		r->start += npages;
		r->npages -= npages;
		ph->free_pages -= npages;
		list_add(&r->link, ph_list(ph, r->npages));
		ph_set(ph, r->start, r);	/* its last page still says r */
	} else {
		if (npages > ph->npages - ph->used ||
		    ph_grow_map(ph, ph->used, npages)) {
			/* chunks already made stay: they are reused later */
			ph_free_span(ph, s);
			return NULL;
		}
		s->start = ph->used;
		WRITE_ONCE(ph->used, ph->used + npages);
	}
	s->npages = npages;
	ph_set_range(ph, s->start, npages, s);
	return s;
}

/**
 * gch_pageheap_free() - give a span's pages back
 * @ph: the page heap.
 * @s:  a span from gch_pageheap_alloc(), in use; the caller is done with
 *      it (its bitmaps and backing are gone).
 *
 * The pages are merged with the free runs on either side; a run that then
 * ends at the top lowers the top instead.  @s must not be used afterwards:
 * its struct is reused for the merged run or freed.
 */
void gch_pageheap_free(struct gch_pageheap *ph, struct gch_span *s)
{
	struct gch_span *n;
	u32 start = s->start, end = s->start + s->npages;

	if (WARN_ON(s->freerun || !s->npages || start < ph->reserved ||
		    end > ph->used ||
		    ph_get(ph, start) != s || ph_get(ph, end - 1) != s))
		return;
	ph_set_range(ph, start, s->npages, NULL);
	if (start > ph->reserved) {
		n = ph_get(ph, start - 1);
		if (n && n->freerun) {
			ph_remove_run(ph, n);
			start = n->start;
			ph_free_span(ph, n);
		}
	}
	if (end < ph->used) {
		n = ph_get(ph, end);
		if (n && n->freerun) {
			ph_remove_run(ph, n);
			end += n->npages;
			ph_free_span(ph, n);
		}
	}
	if (end == ph->used) {
		/* the run reaches the top: it becomes part of the top */
		WRITE_ONCE(ph->used, start);
		ph_free_span(ph, s);
		return;
	}
	s->start = start;
	s->npages = end - start;
	ph->free_pages += s->npages;
	ph_insert_run(ph, s);
}

/**
 * gch_pageheap_lookup() - the in-use span holding a page
 * @ph:   the page heap.
 * @page: any page index.
 *
 * Return: the span, or NULL if @page is reserved, in a free run, above the
 * top or outside the arena.  A span counts as in use from
 * gch_pageheap_alloc() on, whatever its @state.
 */
struct gch_span *gch_pageheap_lookup(const struct gch_pageheap *ph, u32 page)
{
	struct gch_span *s;

	if (page >= ph->used || page < ph->reserved)
		return NULL;
	s = ph_get(ph, page);
	return s && !s->freerun ? s : NULL;
}

static const char *ph_check_tiling(const struct gch_pageheap *ph,
				   u64 *runs, u64 *spans, u64 *free_pages)
{
	struct gch_span *s;
	bool prev_free = false;
	u32 p = ph->reserved, q;

	while (p < ph->used) {
		s = ph_get(ph, p);
		if (!s || s->start != p)
			return "page below the top not at a span's start";
		if (!s->npages || s->npages > ph->used - p)
			return "span runs past the top";
		++*spans;
		if (s->freerun) {
			if (prev_free)
				return "two adjacent free runs";
			if (ph_get(ph, p + s->npages - 1) != s)
				return "free run not recorded at its last page";
			for (q = p + 1; q + 1 < p + s->npages; q++)
				if (ph_get(ph, q))
					return "entry inside a free run";
			if (list_empty(&s->link))
				return "free run on no list";
			++*runs;
			*free_pages += s->npages;
		} else {
			for (q = p; q < p + s->npages; q++)
				if (ph_get(ph, q) != s)
					return "in-use page not pointing to its span";
		}
		prev_free = s->freerun;
		p += s->npages;
	}
	return prev_free ? "free run ending at the top" : NULL;
}

static const char *ph_check_lists(const struct gch_pageheap *ph, u64 *listed)
{
	const struct list_head *head;
	struct gch_span *r;
	u32 n;

	for (n = 0; n <= GCH_PH_SMALL_RUNS; n++) {
		head = n < GCH_PH_SMALL_RUNS ? &ph->free_small[n] :
					       &ph->free_large;
		list_for_each_entry(r, head, link) {
			if (!r->freerun || r->start >= ph->used ||
			    r->start < ph->reserved ||
			    ph_get(ph, r->start) != r)
				return "listed run not a free run in the table";
			if (n < GCH_PH_SMALL_RUNS ? r->npages != n :
			    r->npages < GCH_PH_SMALL_RUNS)
				return "free run on the wrong list";
			++*listed;
		}
	}
	return NULL;
}

static const char *ph_check(const struct gch_pageheap *ph)
{
	u64 runs = 0, listed = 0, spans = 0, free_pages = 0, meta;
	const struct gch_span *dead;
	const char *bad;
	u32 c, q, chunks = 0;

	if (!ph->map)
		return "not initialised";
	if (ph->used > ph->npages)
		return "top above the arena";
	if (ph->reserved >= ph->npages)
		return "every page reserved";
	if (ph->used < ph->reserved)
		return "top below the reserved pages";
	bad = ph_check_tiling(ph, &runs, &spans, &free_pages);
	if (bad)
		return bad;
	for (c = 0; c < ph->map_chunks; c++) {
		if (!ph->map[c])
			continue;
		chunks++;
		for (q = 0; q < GCH_PH_MAP_CHUNK; q++) {
			if (!ph->map[c][q])
				continue;
			if (c * GCH_PH_MAP_CHUNK + q >= ph->used)
				return "entry above the top";
			if (c * GCH_PH_MAP_CHUNK + q < ph->reserved)
				return "entry in a reserved page";
		}
	}
	bad = ph_check_lists(ph, &listed);
	if (bad)
		return bad;
	if (listed != runs)
		return "free lists and free runs differ";
	if (free_pages != ph->free_pages)
		return "free_pages wrong";
	list_for_each_entry(dead, &ph->graveyard, link) {
		if (!ph->defer_free)
			return "struct kept while not deferring";
		spans++;
	}
	meta = ph->map_chunks * sizeof(*ph->map) +
	       (u64)chunks * GCH_PH_CHUNK_BYTES +
	       spans * sizeof(struct gch_span);
	if (meta != ph->metadata_bytes)
		return "metadata_bytes wrong";
	return NULL;
}

/**
 * gch_pageheap_check() - verify the page heap's invariants
 * @ph:  the page heap.
 * @why: if not NULL, set to a description of the first violation found,
 *       or NULL.
 *
 * For tests and debugging: O(npages + runs).  Checks that the table
 * describes a tiling of [@reserved, @used) by in-use spans and free runs
 * (the top at or above @reserved, the reserved pages without entries), with
 * every page of an in-use span pointing to it, free runs recorded at both
 * ends only, no two free runs adjacent, the page below the top in use
 * (or reserved), nothing above the top, the free lists holding exactly the
 * free runs (each on the list for its length), @free_pages their total,
 * and @metadata_bytes what the map, its chunks and the span structs take.
 *
 * Return: 0 if all hold, else -EUCLEAN.
 */
int gch_pageheap_check(const struct gch_pageheap *ph, const char **why)
{
	const char *bad = ph_check(ph);

	if (why)
		*why = bad;
	return bad ? -EUCLEAN : 0;
}
