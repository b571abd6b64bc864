// SPDX-License-Identifier: GPL-2.0
/*
 * The heap: spans of objects on per-class central lists, and large
 * objects, on top of the page heap (pageheap.c).  The roles are the Go
 * runtime's mcentral and the allocating half of mheap; see heap.h.
 *
 * A small span lives on its class's @partial list while it has a free
 * object and on @full otherwise; it is released (its backing dropped, its
 * pages given back) the moment its last object is freed, so every span on
 * a central list holds at least one object.  Free objects are found in the
 * span's allocation bitmap from @freeindex up: objects are handed out in
 * address order, and a freed one lowers @freeindex so it is found again.
 *
 * Memory handed out is zero: a new span is populated with zeroed memory
 * (or memory that held only this heap's data: then ops->populate sets
 * @needzero), and once an object of a span has been freed (@needzero)
 * every object taken from that span is zeroed through ops->zero first, or
 * handed out tagged GCH_OBJ_UNZEROED for the caller to zero
 * (gch_heap_alloc_objs()).  That is coarser than a bit per object, but it
 * costs nothing until a span is reused, and a span that empties is
 * released rather than reused.
 *
 * The arena's first page is never handed out (GCH_HEAP_RESERVED_PAGES, a
 * reservation of the page heap), so no object starts at offset 0: the
 * arena's own address, of which programs and libraries keep copies, is
 * not a pointer to an object.
 *
 * Large objects each have a span of their own, on @large.  Their span,
 * like a small one, carries an allocation and a mark bitmap (of one bit)
 * so that mark and sweep need not tell them apart.
 *
 * Sweep generations (the Go runtime's scheme): a lazy sweep
 * (gch_heap_sweep_start(), from sweep.c's gch_sweep_start_lazy()) advances
 * the heap's @sweepgen by 2, which makes every in-use span unswept at
 * once, and moves the central and large lists to their unswept twins in
 * O(span classes).  A span is then swept exactly once, by whoever needs it
 * first: the embedder's batches (gch_heap_sweep_some()), allocation of its
 * class (which sweeps unswept spans of the class, those that had free
 * objects first, before taking new pages: a span is never allocated from
 * unswept), a large allocation (which sweeps unswept large spans first,
 * to give their pages back before taking more), or gch_heap_free() of one
 * of its objects.  Queries need not sweep: in an unswept span an object is
 * allocated if its alloc bit and its mark bit are set.  Every call is
 * serialised by the embedder, so claiming a span by its generation needs
 * no atomics here; the parallel eager sweep (sweep.c) claims spans through
 * its snapshot instead.
 *
 * Counters (struct gch_heap_core, struct gch_central) are exact for the
 * alloc bits at every return, so they count the dead objects of unswept
 * spans until those are swept; gch_heap_check() recomputes them from the
 * spans.  The caller serialises every call; the core may sleep.
 */
#include "bitmap.h"
#include "heap.h"

static u64 span_base(const struct gch_span *s)
{
	return (u64)s->start << GCH_PAGE_SHIFT;
}

static u64 arena_bytes(const struct gch_heap_core *h)
{
	return (u64)h->pages.npages << GCH_PAGE_SHIFT;
}

static size_t bitmaps_bytes(const struct gch_span *s)
{
	return 2 * gch_bitmap_bytes(s->nobjs);
}

/* Page-heap calls, keeping the heap's metadata count in step. */
static struct gch_span *heap_pages_alloc(struct gch_heap_core *h, u32 npages)
{
	u64 before = h->pages.metadata_bytes;
	struct gch_span *s = gch_pageheap_alloc(&h->pages, npages);

	h->metadata_bytes += h->pages.metadata_bytes - before;
	return s;
}

static void heap_pages_free(struct gch_heap_core *h, struct gch_span *s)
{
	u64 before = h->pages.metadata_bytes;

	gch_pageheap_free(&h->pages, s);
	h->metadata_bytes -= before - h->pages.metadata_bytes;
}

static int heap_alloc_bitmaps(struct gch_heap_core *h, struct gch_span *s)
{
	unsigned long *map = gch_zalloc(bitmaps_bytes(s));

	if (!map)
		return -ENOMEM;
	s->allocbits = map;
	s->markbits = map + BITS_TO_LONGS(s->nobjs);
	h->metadata_bytes += bitmaps_bytes(s);
	return 0;
}

static void heap_free_bitmaps(struct gch_heap_core *h, struct gch_span *s)
{
	gch_kvfree(s->allocbits);
	h->metadata_bytes -= bitmaps_bytes(s);
	s->allocbits = NULL;
	s->markbits = NULL;
}

/*
 * During a lazy sweep, before the page heap takes new pages for a span:
 * sweep spans of any class (large ones last) until that many pages were
 * released, or free runs hold them, or nothing is left unswept; so that
 * memory the last mark found dead is used before the heap grows (the Go
 * runtime's mheap reclaim).  Otherwise a program allocating another class
 * than its garbage held would grow the heap, or run out of memory, while
 * the background sweep had not reached that garbage yet.
 */
static void heap_reclaim(struct gch_heap_core *h, u32 npages)
{
	u64 target = h->swept.pages_released + npages;

	while (h->unswept && h->pages.free_pages < npages &&
	       h->swept.pages_released < target)
		gch_heap_sweep_some(h, 1);
}

/*
 * A span of @npages pages put to use: fields set, bitmaps allocated,
 * backing populated.  On failure everything is undone.
 */
static int heap_new_span(struct gch_heap_core *h, u32 npages, u8 state,
			 u8 spanclass, u16 nobjs, u32 elemsize,
			 struct gch_span **sp)
{
	struct gch_span *s;
	int err;

	heap_reclaim(h, npages);
	s = heap_pages_alloc(h, npages);
	if (!s)
		return -ENOMEM;
	s->spanclass = spanclass;
	s->nobjs = nobjs;
	s->elemsize = elemsize;
	s->divmul = state == GCH_SPAN_SMALL ? gch_span_divmul(elemsize) : 0;
	s->sweepgen = h->sweepgen;
	/* ops->populate sets it if the memory it gives holds old data */
	s->needzero = 0;
	err = heap_alloc_bitmaps(h, s);
	if (!err) {
		err = h->ops->populate(h, s);
		if (err) {
			err = err < 0 ? err : -ENOMEM;
			heap_free_bitmaps(h, s);
		}
	}
	/* stable while the span is in use (heap.h) */
	s->mapped = !err && h->ops->map ? h->ops->map(h, s) : NULL;
	if (err) {
		heap_pages_free(h, s);
		return err;
	}
	/*
	 * Published last: a concurrent mark that finds the span in the
	 * table takes it for one holding objects only once its bitmaps and
	 * mapping are there (mark.c reads @state with acquire).
	 */
	smp_store_release(&s->state, state);
	h->mapped_pages += npages;
	*sp = s;
	return 0;
}

/**
 * gch_heap_drop_span() - forget an in-use span whose backing is released
 * @h: the heap.
 * @s: an in-use span on which ops->release has been called.
 *
 * Takes it off its list, frees its bitmaps and gives its pages back to
 * the page heap, keeping @mapped_pages and @metadata_bytes exact; the
 * object counters and central @nspans are the caller's.  @s must not be
 * used afterwards.  For the sweeper, which calls ops->release outside its
 * lock and this under it.
 */
void gch_heap_drop_span(struct gch_heap_core *h, struct gch_span *s)
{
	list_del_init(&s->link);
	h->mapped_pages -= s->npages;
	heap_free_bitmaps(h, s);
	heap_pages_free(h, s);
}

/* Drop an in-use span entirely: lists, backing, bitmaps, pages. */
static void heap_release_span(struct gch_heap_core *h, struct gch_span *s)
{
	h->ops->release(h, s);
	gch_heap_drop_span(h, s);
}

/**
 * gch_heap_mark_phase() - begin or end a mark that runs beside the mutator
 * @h:  the heap.
 * @on: true before the mark's first gch_mark_begin(), false after its
 *      last gch_mark_end().
 *
 * While a mark reads the heap without the embedder's lock, allocation may
 * add spans (published in heap_new_span()) and change alloc bits, which
 * the mark tolerates, but nothing may take a span or a span struct away
 * from under it: spans gch_heap_free() empties are parked instead of
 * released, and the page heap keeps the structs it would free.  Ending
 * the phase releases them.  Mark bits are only set meanwhile (objects
 * allocated start unmarked; see mark.h).
 */
void gch_heap_mark_phase(struct gch_heap_core *h, bool on)
{
	struct gch_span *s, *n;
	u64 before;

	h->marking = on;
	if (on) {
		gch_pageheap_defer(&h->pages, true);
		return;
	}
	list_for_each_entry_safe(s, n, &h->parked, link)
		heap_release_span(h, s);
	before = h->pages.metadata_bytes;
	gch_pageheap_defer(&h->pages, false);
	h->metadata_bytes -= before - h->pages.metadata_bytes;
}

static bool heap_classes_ok(const struct gch_sizeclass_table *t)
{
	u32 c;

	if (t->nr_classes < 2 || t->nr_classes > GCH_MAX_SIZE_CLASSES)
		return false;
	for (c = 1; c < t->nr_classes; c++) {
		if (!t->npages[c] || !t->nobjs[c] ||
		    t->size[c] < GCH_MIN_ALIGN || t->size[c] % GCH_MIN_ALIGN ||
		    t->size[c] > GCH_MAX_SMALL_SIZE ||
		    (u64)t->nobjs[c] * t->size[c] >
		    (u64)t->npages[c] << GCH_PAGE_SHIFT)
			return false;
	}
	return true;
}

/**
 * gch_heap_init() - set up an empty heap
 * @h:       the heap; its previous contents are ignored.
 * @classes: the size-class table, which must outlive the heap.
 * @npages:  arena size in heap pages, more than GCH_HEAP_RESERVED_PAGES
 *           (the first, never handed out).
 * @ops:     the embedder's callbacks, all three set; must outlive the heap.
 *
 * On failure @h is left in a state gch_heap_destroy() accepts (and does
 * nothing with), so callers may destroy unconditionally.
 *
 * Return: 0, -EINVAL for a bad table, size or ops, -ENOMEM.
 */
int gch_heap_init(struct gch_heap_core *h,
		  const struct gch_sizeclass_table *classes, u32 npages,
		  const struct gch_heap_ops *ops)
{
	unsigned int i;
	int err;

	/* struct gch_span keeps these in u8 and u16 */
	BUILD_BUG_ON(GCH_NR_SPANCLASSES > 256);
	BUILD_BUG_ON(GCH_MAX_SMALL_SIZE / GCH_MIN_ALIGN > 0xffff);
	BUILD_BUG_ON(GCH_MAX_LARGE_SIZE > 0xffffffffULL);

	memset(h, 0, sizeof(*h));
	for (i = 0; i < GCH_NR_SPANCLASSES; i++) {
		INIT_LIST_HEAD(&h->central[i].partial);
		INIT_LIST_HEAD(&h->central[i].full);
		INIT_LIST_HEAD(&h->central[i].unswept_partial);
		INIT_LIST_HEAD(&h->central[i].unswept_full);
	}
	INIT_LIST_HEAD(&h->large);
	INIT_LIST_HEAD(&h->large_unswept);
	INIT_LIST_HEAD(&h->parked);
	if (!classes || !heap_classes_ok(classes) || !npages || !ops ||
	    !ops->populate || !ops->release || !ops->zero)
		return -EINVAL;
	h->classes = classes;
	h->ops = ops;
	err = gch_pageheap_init(&h->pages, npages, GCH_HEAP_RESERVED_PAGES);
	/* the page heap's top-level map is metadata too */
	h->metadata_bytes = h->pages.metadata_bytes;
	return err;
}

/**
 * gch_heap_destroy() - release every span and free all core memory
 * @h: the heap (after gch_heap_init(), successful or not).
 *
 * Calls ops->release for every in-use span.  The heap must be
 * initialised again before any other use.
 */
void gch_heap_destroy(struct gch_heap_core *h)
{
	struct gch_span *s, *n;
	unsigned int i;

	for (i = 0; i < GCH_NR_SPANCLASSES; i++) {
		list_for_each_entry_safe(s, n, &h->central[i].partial, link)
			heap_release_span(h, s);
		list_for_each_entry_safe(s, n, &h->central[i].full, link)
			heap_release_span(h, s);
		list_for_each_entry_safe(s, n, &h->central[i].unswept_partial,
					 link)
			heap_release_span(h, s);
		list_for_each_entry_safe(s, n, &h->central[i].unswept_full,
					 link)
			heap_release_span(h, s);
		h->central[i].nspans = 0;
	}
	list_for_each_entry_safe(s, n, &h->large, link)
		heap_release_span(h, s);
	list_for_each_entry_safe(s, n, &h->large_unswept, link)
		heap_release_span(h, s);
	list_for_each_entry_safe(s, n, &h->parked, link)
		heap_release_span(h, s);
	h->marking = false;
	h->unswept = 0;
	gch_pageheap_destroy(&h->pages);
	h->nlarge = 0;
	h->inuse_bytes = 0;
	h->objects = 0;
	h->metadata_bytes = 0;
}

/**
 * gch_span_sweep_bits() - the sweep of one span's bitmaps
 * @s: an in-use span, marked, claimed by the caller.
 *
 * Alloc bits become alloc AND mark, mark bits are cleared.  The span's
 * fields are the caller's to update.
 *
 * Return: the objects left allocated (live).
 */
unsigned int gch_span_sweep_bits(struct gch_span *s)
{
	unsigned int k, nwords = BITS_TO_LONGS(s->nobjs), live = 0;

	for (k = 0; k < nwords; k++) {
		s->allocbits[k] &= s->markbits[k];
		s->markbits[k] = 0;
		live += hweight_long(s->allocbits[k]);
	}
	return live;
}

/**
 * gch_span_unswept() - does a span still wait for this cycle's sweep?
 * @h: the heap.
 * @s: an in-use span.
 *
 * Return: true if @s has not been swept since the sweep generation last
 * advanced (its unmarked objects are dead but still have alloc bits).
 */
bool gch_span_unswept(const struct gch_heap_core *h, const struct gch_span *s)
{
	return s->sweepgen == h->sweepgen - 2;
}

/*
 * Sweep one unswept span, the heap serialised by the caller (lazy sweep):
 * free its unmarked objects, keeping every counter exact, and put it on
 * its swept list (@front: at the head of its class's partial list, where
 * allocation takes from next; else at the tail), or release it if nothing
 * in it is live.  Return: the span, or NULL if it was released.
 */
static struct gch_span *heap_sweep_span(struct gch_heap_core *h,
					struct gch_span *s, bool front)
{
	struct gch_sweep_stats *st = &h->swept;
	struct gch_central *c = &h->central[s->spanclass];
	unsigned int live, freed;

	if (WARN_ON(!gch_span_unswept(h, s) || !h->unswept))
		return s;
	s->sweepgen = h->sweepgen - 1;
	h->unswept--;
	st->spans_swept++;
	live = gch_span_sweep_bits(s);
	if (WARN_ON(live > s->nalloc))
		live = s->nalloc;	/* a mark bit without an alloc bit */
	freed = s->nalloc - live;
	st->objects_freed += freed;
	st->bytes_freed += (u64)freed * s->elemsize;
	h->objects -= freed;
	h->inuse_bytes -= (u64)freed * s->elemsize;
	s->nalloc = live;
	if (s->state == GCH_SPAN_LARGE) {
		h->nlarge -= freed;
		h->large_nfree += freed;
		st->large_freed += freed;
	} else {
		c->nfree += freed;
		if (!live)
			c->nspans--;
	}
	if (!live) {
		st->spans_released++;
		st->pages_released += s->npages;
		heap_release_span(h, s);
		return NULL;
	}
	if (freed) {
		s->needzero = 1;
		s->freeindex = gch_bitmap_find_next_zero(s->allocbits,
							 s->nobjs, 0);
	}
	s->sweepgen = h->sweepgen;
	if (s->state == GCH_SPAN_LARGE)
		list_move_tail(&s->link, &h->large);
	else if (live == s->nobjs)
		list_move_tail(&s->link, &c->full);
	else if (front)
		list_move(&s->link, &c->partial);
	else
		list_move_tail(&s->link, &c->partial);
	return s;
}

/*
 * Sweep unswept spans of @c until one has a free object, which is then
 * first on @c->partial: those that had free objects before the mark
 * first, then full ones.  Return: false if none was found.
 */
static bool heap_sweep_class(struct gch_heap_core *h, struct gch_central *c)
{
	struct list_head *from;
	struct gch_span *s;

	while (h->unswept) {
		if (!list_empty(&c->unswept_partial))
			from = &c->unswept_partial;
		else if (!list_empty(&c->unswept_full))
			from = &c->unswept_full;
		else
			return false;
		s = heap_sweep_span(h, list_first_entry(from, struct gch_span,
							 link), true);
		if (s && s->nalloc < s->nobjs)
			return true;
	}
	return false;
}

/**
 * gch_heap_sweep_start() - start a lazy sweep, after a mark
 * @h: the heap, marked (mark.c), no sweep under way.
 *
 * Advances the sweep generation, which makes every in-use span unswept,
 * and moves the spans to the unswept lists; O(span classes).  From here
 * on, gch_heap_sweep_some() sweeps them, and so do the heap's calls as
 * they need them.  For sweep.c's gch_sweep_start_lazy().
 *
 * Return: 0, or -EBUSY if spans of the previous sweep are left.
 */
int gch_heap_sweep_start(struct gch_heap_core *h)
{
	struct gch_central *c;
	unsigned int i;

	if (h->unswept)
		return -EBUSY;
	h->sweepgen += 2;
	memset(&h->swept, 0, sizeof(h->swept));
	h->sweep_next = 0;
	for (i = 0; i < GCH_NR_SPANCLASSES; i++) {
		c = &h->central[i];
		list_splice_init(&c->partial, &c->unswept_partial);
		list_splice_init(&c->full, &c->unswept_full);
		h->unswept += c->nspans;
	}
	list_splice_init(&h->large, &h->large_unswept);
	h->unswept += h->nlarge;
	return 0;
}

/**
 * gch_heap_sweep_some() - sweep a batch of a lazy sweep
 * @h:         the heap.
 * @max_spans: most spans to sweep.
 *
 * Sweeps unswept spans class by class, then the large ones.  For sweep.c's
 * gch_sweep_some().
 *
 * Return: true once no span is left unswept.
 */
bool gch_heap_sweep_some(struct gch_heap_core *h, u64 max_spans)
{
	struct gch_central *c;
	struct list_head *from;

	while (h->unswept && max_spans) {
		if (h->sweep_next < GCH_NR_SPANCLASSES) {
			c = &h->central[h->sweep_next];
			from = !list_empty(&c->unswept_partial) ?
			       &c->unswept_partial : &c->unswept_full;
		} else if (!WARN_ON(h->sweep_next > GCH_NR_SPANCLASSES)) {
			from = &h->large_unswept;
		} else {
			break;
		}
		if (list_empty(from)) {
			h->sweep_next++;
			continue;
		}
		heap_sweep_span(h, list_first_entry(from, struct gch_span,
						     link), false);
		max_spans--;
	}
	return !h->unswept;
}

/*
 * Hand out every object of a span with none allocated (fresh from the
 * page heap): the refill of a whole span, without a bitmap search or a
 * zeroing per object (the caller asked for GCH_OBJ_UNZEROED tags, or the
 * span holds no old data).  Moves it to @c's full list.  Return: its
 * object count.
 */
static unsigned int heap_take_span(struct gch_heap_core *h,
				   struct gch_central *c, struct gch_span *s,
				   u64 *offs)
{
	u64 off = span_base(s) | (s->needzero ? GCH_OBJ_UNZEROED : 0);
	u64 size = s->elemsize;
	unsigned int i, nobjs = s->nobjs;

	for (i = 0; i < nobjs; i++, off += size)
		offs[i] = off;
	gch_bitmap_fill(s->allocbits, nobjs);
	s->nalloc = nobjs;
	s->freeindex = nobjs;
	c->nmalloc += nobjs;
	h->objects += nobjs;
	h->inuse_bytes += (u64)nobjs * size;
	list_move(&s->link, &c->full);
	return nobjs;
}

/**
 * gch_heap_alloc_objs() - hand out free objects of one span class
 * @h:         the heap.
 * @spanclass: GCH_SPANCLASS(sizeclass, noscan), sizeclass from 1 up to
 *             the table's last class.
 * @offs:      where to write the objects' arena offsets.
 * @max:       entries @offs holds, at least 1.
 * @unzeroed:  objects that may hold old data of this heap are not zeroed
 *             but tagged: their offset has GCH_OBJ_UNZEROED set, and the
 *             caller zeroes them (the library, in userspace, right before
 *             use).  Without it every object handed out is zeroed.
 *
 * Takes objects from the class's swept partial spans, then from unswept
 * spans of the class, which it sweeps first (during a lazy sweep), then
 * from new spans, and marks them allocated.  Stops early, with what it
 * has, if a new span cannot be had.
 *
 * Return: the number of objects written (at least 1), -EINVAL for a bad
 * span class or @max 0, -ENOMEM if not even one object could be had (the
 * arena is full, or memory for its span is not available).
 */
int gch_heap_alloc_objs(struct gch_heap_core *h, unsigned int spanclass,
			u64 *offs, unsigned int max, bool unzeroed)
{
	unsigned int sc = spanclass >> 1, n = 0, i;
	const struct gch_sizeclass_table *t = h->classes;
	struct gch_central *c;
	struct gch_span *s;
	int err;
	u64 off;

	if (!sc || sc >= t->nr_classes || !offs || !max)
		return -EINVAL;
	max = min_t(unsigned int, max, INT_MAX);	/* the count is an int */
	c = &h->central[spanclass];
	while (n < max) {
		if (list_empty(&c->partial) && !heap_sweep_class(h, c)) {
			err = heap_new_span(h, t->npages[sc], GCH_SPAN_SMALL,
					    spanclass, t->nobjs[sc],
					    t->size[sc], &s);
			if (err)
				return n ? (int)n : err;
			c->nspans++;
			list_add(&s->link, &c->partial);
		}
		s = list_first_entry(&c->partial, struct gch_span, link);
		if (WARN_ON(s->sweepgen != h->sweepgen))
			return n ? (int)n : -EUCLEAN;
		if (!s->nalloc && (!s->needzero || unzeroed) &&
		    max - n >= s->nobjs) {
			n += heap_take_span(h, c, s, offs + n);
			continue;
		}
		while (n < max && s->nalloc < s->nobjs) {
			i = gch_bitmap_find_next_zero(s->allocbits, s->nobjs,
						      s->freeindex);
			/* nalloc says there is one: the span is corrupt */
			if (WARN_ON(i >= s->nobjs))
				return n ? (int)n : -EUCLEAN;
			gch_bitmap_set(s->allocbits, i);
			s->freeindex = i + 1;
			s->nalloc++;
			off = span_base(s) + (u64)i * s->elemsize;
			if (s->needzero && unzeroed)
				off |= GCH_OBJ_UNZEROED;
			else if (s->needzero)
				h->ops->zero(h, s, off, s->elemsize);
			offs[n++] = off;
			c->nmalloc++;
			h->objects++;
			h->inuse_bytes += s->elemsize;
		}
		if (s->nalloc == s->nobjs)
			list_move(&s->link, &c->full);
	}
	return n;
}

/**
 * gch_heap_alloc_small() - hand out free objects of one span class, zeroed
 * @h:         the heap.
 * @spanclass: as for gch_heap_alloc_objs().
 * @offs:      where to write the objects' arena offsets.
 * @max:       entries @offs holds, at least 1.
 *
 * gch_heap_alloc_objs() without tags: every object is zeroed.
 *
 * Return: as gch_heap_alloc_objs().
 */
int gch_heap_alloc_small(struct gch_heap_core *h, unsigned int spanclass,
			 u64 *offs, unsigned int max)
{
	return gch_heap_alloc_objs(h, spanclass, offs, max, false);
}

/* Sweep unswept large spans until @npages pages were released. */
static void heap_sweep_large(struct gch_heap_core *h, u32 npages)
{
	u64 released = 0;
	struct gch_span *s;
	u32 len;

	while (released < npages && !list_empty(&h->large_unswept)) {
		s = list_first_entry(&h->large_unswept, struct gch_span, link);
		len = s->npages;
		if (!heap_sweep_span(h, s, false))
			released += len;
	}
}

/**
 * gch_heap_alloc_large() - allocate an object with a span of its own
 * @h:      the heap.
 * @size:   bytes, more than GCH_MAX_SMALL_SIZE and at most
 *          GCH_MAX_LARGE_SIZE; rounded up to whole heap pages.
 * @noscan: the object never holds pointers.
 * @off:    where to write its arena offset (page aligned).
 *
 * The object is zeroed (its span is freshly populated).  During a lazy
 * sweep, unswept large spans are swept first until as many pages as the
 * object needs have been given back (or none is left), so that dead large
 * objects make room before the heap grows.
 *
 * Return: 0, -EINVAL for a size out of range, -ENOMEM if no run of pages
 * that long is free (the arena may be too small or too fragmented) or
 * memory runs out.
 */
int gch_heap_alloc_large(struct gch_heap_core *h, u64 size, bool noscan,
			 u64 *off)
{
	struct gch_span *s;
	u32 npages;
	int err;

	if (size <= GCH_MAX_SMALL_SIZE || size > GCH_MAX_LARGE_SIZE || !off)
		return -EINVAL;
	/* no overflow: size is below 4 GiB */
	npages = (size + GCH_PAGE_SIZE - 1) >> GCH_PAGE_SHIFT;
	heap_sweep_large(h, npages);
	/* GCH_SPANCLASS(0, noscan), spelt so that sparse does not see x|!y */
	err = heap_new_span(h, npages, GCH_SPAN_LARGE, noscan ? 1 : 0, 1,
			    npages << GCH_PAGE_SHIFT, &s);
	if (err)
		return err;
	/* its memory held old data of this heap (ops->populate reused it) */
	if (s->needzero) {
		h->ops->zero(h, s, span_base(s), s->elemsize);
		s->needzero = 0;
	}
	gch_bitmap_set(s->allocbits, 0);
	s->nalloc = 1;
	s->freeindex = 1;
	list_add_tail(&s->link, &h->large);
	h->nlarge++;
	h->large_nmalloc++;
	h->objects++;
	h->inuse_bytes += s->elemsize;
	*off = span_base(s);
	return 0;
}

/*
 * The index of the allocated object that starts exactly at @off, or -1.
 * @s holds @off and is in use.
 */
static int heap_object_at(const struct gch_span *s, u64 off)
{
	/* a span is below 4 GiB (GCH_MAX_LARGE_SIZE): 32-bit division */
	u32 rel = off - span_base(s), i;

	if (rel % s->elemsize)
		return -1;
	i = rel / s->elemsize;
	if (i >= s->nobjs || !gch_bitmap_test(s->allocbits, i))
		return -1;
	return i;
}

static bool span_holds_objects(const struct gch_span *s)
{
	return s && (s->state == GCH_SPAN_SMALL || s->state == GCH_SPAN_LARGE);
}

/* Release a span its last free emptied, or park it during a mark. */
static void heap_free_span(struct gch_heap_core *h, struct gch_span *s)
{
	if (h->marking)
		list_move(&s->link, &h->parked);
	else
		heap_release_span(h, s);
}

/**
 * gch_heap_free() - free one object
 * @h:   the heap.
 * @off: the arena offset of the object's first byte.
 *
 * A small span whose last object goes is released at once: its backing
 * dropped through ops->release, its pages back to the page heap.  So is a
 * large object's span, always.  An unswept span (lazy sweep) is swept
 * first, which may release it.
 *
 * Return: 0, or -EINVAL if @off is not the start of an allocated object
 * (outside the arena, in no span, inside an object, in a span's tail,
 * an object already free, or found dead by the last mark).
 */
int gch_heap_free(struct gch_heap_core *h, u64 off)
{
	struct gch_span *s = gch_heap_span_of(h, off);
	struct gch_central *c;
	int i;

	if (!span_holds_objects(s))
		return -EINVAL;
	if (gch_span_unswept(h, s)) {
		/* its unmarked objects are dead: sweep them first */
		s = heap_sweep_span(h, s, false);
		if (!s)
			return -EINVAL;
	}
	i = heap_object_at(s, off);
	if (i < 0)
		return -EINVAL;
	gch_bitmap_clear(s->allocbits, i);
	h->objects--;
	h->inuse_bytes -= s->elemsize;
	if (s->state == GCH_SPAN_LARGE) {
		h->nlarge--;
		h->large_nfree++;
		s->nalloc = 0;
		heap_free_span(h, s);
		return 0;
	}
	c = &h->central[s->spanclass];
	c->nfree++;
	s->needzero = 1;
	if (i < s->freeindex)
		s->freeindex = i;
	if (s->nalloc-- == s->nobjs)
		/* behind the spans being allocated from */
		list_move_tail(&s->link, &c->partial);
	if (!s->nalloc) {
		c->nspans--;
		heap_free_span(h, s);
	}
	return 0;
}

/**
 * gch_heap_lookup() - find the object an arena offset points into
 * @h:    the heap.
 * @off:  any arena offset.
 * @info: filled in when the object is found; may be NULL.
 *
 * Interior offsets are resolved: any byte of an allocated object finds it.
 * In a span not swept yet (lazy sweep), an object the mark found dead is
 * not allocated any more, though its alloc bit is still set.
 *
 * Return: 0, -EINVAL if @off is outside the arena, -ENOENT if it is inside
 * but not inside an allocated object (a free run, the untouched top, a
 * span's tail past its last object, a free slot, a dead object).
 */
int gch_heap_lookup(const struct gch_heap_core *h, u64 off,
		    struct gch_objinfo *info)
{
	const struct gch_span *s;
	u32 i;

	if (off >= arena_bytes(h))
		return -EINVAL;
	s = gch_pageheap_lookup(&h->pages, off >> GCH_PAGE_SHIFT);
	if (!span_holds_objects(s))
		return -ENOENT;
	i = gch_span_index(s, off - span_base(s));
	if (i >= s->nobjs || !gch_bitmap_test(s->allocbits, i) ||
	    (gch_span_unswept(h, s) && !gch_bitmap_test(s->markbits, i)))
		return -ENOENT;
	if (info) {
		info->base = span_base(s) + (u64)i * s->elemsize;
		info->size = s->elemsize;
		info->sizeclass = s->spanclass >> 1;
		info->noscan = s->spanclass & 1;
		info->span = (struct gch_span *)s;
		info->index = i;
	}
	return 0;
}

/**
 * gch_heap_span_of() - the in-use span holding an arena offset
 * @h:   the heap.
 * @off: any arena offset.
 *
 * Return: the span, or NULL (outside the arena, free, untouched).
 */
struct gch_span *gch_heap_span_of(const struct gch_heap_core *h, u64 off)
{
	if (off >= arena_bytes(h))
		return NULL;
	return gch_pageheap_lookup(&h->pages, off >> GCH_PAGE_SHIFT);
}

struct heap_totals {
	u64 objects, inuse_bytes, mapped_pages, metadata_bytes, spans;
	u64 unswept;
};

/* An in-use span on a list of unswept spans (@unswept) or of swept ones. */
static const char *heap_check_span(const struct gch_heap_core *h,
				   const struct gch_span *s, bool unswept,
				   struct heap_totals *sum)
{
	unsigned int k;
	u32 p;

	if (s->freerun || !s->nalloc || s->nalloc > s->nobjs)
		return "span on a heap list free, empty or overfull";
	if (!s->allocbits || s->markbits != s->allocbits +
	    BITS_TO_LONGS(s->nobjs))
		return "span bitmaps missing";
	if (gch_bitmap_weight(s->allocbits, s->nobjs) != s->nalloc)
		return "nalloc disagrees with the alloc bits";
	if (s->nobjs % BITS_PER_LONG &&
	    s->allocbits[s->nobjs / BITS_PER_LONG] >> (s->nobjs % BITS_PER_LONG))
		return "alloc bit set past the last object";
	if (s->freeindex > s->nobjs ||
	    gch_bitmap_find_next_zero(s->allocbits, s->nobjs, 0) < s->freeindex)
		return "free object below freeindex";
	if ((u64)s->nobjs * s->elemsize > (u64)s->npages << GCH_PAGE_SHIFT)
		return "objects overflow the span";
	for (p = s->start; p < s->start + s->npages; p++)
		if (gch_pageheap_lookup(&h->pages, p) != s)
			return "span table does not point to the span";
	if (s->sweepgen != (unswept ? h->sweepgen - 2 : h->sweepgen))
		return unswept ? "span on an unswept list is not unswept" :
				 "span on a swept list is not swept";
	for (k = 0; k < (unsigned int)BITS_TO_LONGS(s->nobjs); k++) {
		if (!unswept && s->markbits[k])
			return "mark bit set in a swept span";
		if (s->markbits[k] & ~s->allocbits[k])
			return "mark bit set on a free object";
	}
	sum->unswept += unswept;
	sum->objects += s->nalloc;
	sum->inuse_bytes += (u64)s->nalloc * s->elemsize;
	sum->mapped_pages += s->npages;
	sum->metadata_bytes += bitmaps_bytes(s);
	sum->spans++;
	return NULL;
}

static const char *heap_check_class(const struct gch_heap_core *h,
				    unsigned int spanclass,
				    struct heap_totals *sum)
{
	const struct gch_central *c = &h->central[spanclass];
	const struct gch_sizeclass_table *t = h->classes;
	unsigned int sc = spanclass >> 1;
	const struct list_head *lists[4] = {
		&c->partial, &c->full, &c->unswept_partial, &c->unswept_full
	};
	const struct gch_span *s;
	const char *bad;
	u64 before = sum->spans, objects = sum->objects;
	int l, full;

	for (l = 0; l < 4; l++) {
		full = l & 1;
		list_for_each_entry(s, lists[l], link) {
			if (!sc || sc >= t->nr_classes)
				return "span in the central list of no class";
			if (s->state != GCH_SPAN_SMALL ||
			    s->spanclass != spanclass ||
			    s->npages != t->npages[sc] ||
			    s->nobjs != t->nobjs[sc] ||
			    s->elemsize != t->size[sc])
				return "span does not match its class";
			/* unswept spans keep the alloc bits of the mark */
			if (full != (s->nalloc == s->nobjs))
				return "span on the wrong central list";
			bad = heap_check_span(h, s, l >= 2, sum);
			if (bad)
				return bad;
		}
	}
	if (c->nspans != sum->spans - before)
		return "central nspans wrong";
	if (c->nmalloc - c->nfree != sum->objects - objects)
		return "central nmalloc - nfree differs from objects";
	return NULL;
}

static const char *heap_check(const struct gch_heap_core *h)
{
	struct heap_totals sum = { 0 };
	const struct gch_span *s;
	const char *bad;
	unsigned int i;
	u64 nlarge = 0;
	int l;

	if (h->pages.reserved != GCH_HEAP_RESERVED_PAGES)
		return "arena's first pages not reserved";
	bad = gch_pageheap_check(&h->pages, NULL) ? "page heap" : NULL;
	for (i = 0; !bad && i < GCH_NR_SPANCLASSES; i++)
		bad = heap_check_class(h, i, &sum);
	if (bad)
		return bad;
	for (l = 0; l < 2; l++) {
		list_for_each_entry(s, l ? &h->large_unswept : &h->large,
				    link) {
			if (s->state != GCH_SPAN_LARGE || s->spanclass > 1 ||
			    s->nobjs != 1 ||
			    s->elemsize != s->npages << GCH_PAGE_SHIFT)
				return "bad large span";
			bad = heap_check_span(h, s, l, &sum);
			if (bad)
				return bad;
			nlarge++;
		}
	}
	list_for_each_entry(s, &h->parked, link) {
		if (!h->marking)
			return "span parked outside a mark";
		if (s->nalloc || gch_bitmap_weight(s->allocbits, s->nobjs))
			return "parked span not empty";
		sum.mapped_pages += s->npages;
		sum.metadata_bytes += bitmaps_bytes(s);
	}
	if (sum.unswept != h->unswept)
		return "unswept count wrong";
	if (h->sweepgen & 1)
		return "odd sweep generation";
	if (nlarge != h->nlarge ||
	    h->large_nmalloc - h->large_nfree != h->nlarge)
		return "large counters wrong";
	if (sum.objects != h->objects)
		return "objects wrong";
	if (sum.inuse_bytes != h->inuse_bytes)
		return "inuse_bytes wrong";
	if (sum.mapped_pages != h->mapped_pages ||
	    h->mapped_pages != h->pages.used - h->pages.reserved -
			       h->pages.free_pages)
		return "mapped_pages wrong";
	if (sum.metadata_bytes + h->pages.metadata_bytes != h->metadata_bytes)
		return "metadata_bytes wrong";
	return NULL;
}

/**
 * gch_heap_check() - verify the heap's invariants and counters
 * @h:   the heap.
 * @why: if not NULL, set to a description of the first violation found
 *       (those of the page heap are reported as "page heap"), or NULL.
 *
 * For tests and debugging, O(npages + spans * nobjs): runs
 * gch_pageheap_check(), checks each span on the central and large lists
 * against its class, its bitmaps and the span table, and recomputes every
 * counter of struct gch_heap_core and struct gch_central from the spans.
 * Every in-use span of the page heap must be on one of the heap's lists,
 * and the arena's first GCH_HEAP_RESERVED_PAGES pages are reserved.
 * During a lazy sweep it also checks the sweep generations: spans on the
 * unswept lists are unswept (and counted in @unswept), those on the other
 * lists swept, with their mark bits clear; no mark bit is set on a free
 * object.  Not from gch_mark_begin() to the start of the sweep (mark bits
 * are set in swept spans then), nor during an eager sweep (sweep.c), which
 * brings the counters up to date in gch_sweep_end().
 *
 * Return: 0 if all hold, else -EUCLEAN.
 */
int gch_heap_check(const struct gch_heap_core *h, const char **why)
{
	const char *bad = heap_check(h);

	if (why)
		*why = bad;
	return bad ? -EUCLEAN : 0;
}
