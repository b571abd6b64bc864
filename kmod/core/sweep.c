// SPDX-License-Identifier: GPL-2.0
/*
 * Sweep, after a mark (mark.c; see mark.h for the calling order): eager
 * and parallel, in the pause, or lazy, finished after the restart.
 *
 * Both advance the heap's sweep generation when they start (struct
 * gch_span: a span is unswept while its @sweepgen is the heap's - 2),
 * which the embedder does in the pause right after gch_mark_end(); the
 * Go runtime advances it at the end of the mark, the same moment here
 * since the heap cannot change in between.
 *
 * Eager: gch_sweep_begin() takes a snapshot of the in-use spans (an array, from
 * the central and large lists); the workers claim its entries with one
 * atomic increment each, so a span is swept by exactly one worker and its
 * bitmaps and fields need no atomics.  Per small span: alloc bits <- alloc
 * bits & mark bits, mark bits cleared, @nalloc recounted, @freeindex moved
 * to the first free object, @needzero set if anything was freed.  A span
 * left empty is released like gch_heap_free() releases one: its backing
 * through ops->release (outside any lock, as it may sleep and is the slow
 * part: freeing the pages), then, under the sweep's mutex, off its list
 * and back to the page heap (gch_heap_drop_span()).  A full span that got
 * free objects moves to its class's partial list, under the same mutex.
 * An unmarked large object's span is released the same way.
 *
 * Counters: the workers count what they free (per span class, and large)
 * in their own structs, and gch_sweep_end() adds it to the heap's
 * counters, so the hot path takes no lock for spans that stay where they
 * are.  Only from gch_sweep_end() on do the counters and gch_heap_check()
 * agree again.
 *
 * If the snapshot cannot be allocated, gch_sweep_end() sweeps every span
 * alone, walking the lists; the result is the same.
 *
 * Lazy: gch_sweep_start_lazy() only advances the generation and moves the
 * span lists to the heap's unswept lists (gch_heap_sweep_start(), O(span
 * classes)), so it costs the pause nothing that grows with the heap.  The
 * world then restarts, and the spans are swept one at a time under the
 * embedder's heap lock, by gch_sweep_some() in batches (allocation and
 * frees interleave between them) and by the heap's own calls that need a
 * span swept (heap.c); gch_sweep_finish() sweeps the rest and reports the
 * whole sweep.  One thread at a time, so the per-span step is heap.c's,
 * which updates the counters and lists directly, and no mutex is needed.
 * Its cost moves out of the pause; the price is that it runs in one
 * thread, not N, and that until a span is swept its dead objects count in
 * the heap's counters (heap.h).
 */
#include "bitmap.h"
#include "mark.h"

#define GCH_CACHELINE		64

struct gch_sweep_worker {
	struct gch_sweep_stats stats;
	u64 nfree[GCH_NR_SPANCLASSES];	/* small objects freed, per class */
	u8 pad[GCH_CACHELINE];
};

struct gch_sweep {
	struct gch_heap_core *h;
	unsigned int max_workers;
	unsigned int nworkers;
	bool eager;			/* begun: the generation advanced */
	bool refused;			/* begin refused: a lazy sweep ran */
	struct gch_span **spans;	/* the snapshot, or NULL */
	u64 nspans;
	struct gch_sweep_worker **workers;
	struct mutex lock;		/* central lists, page heap */
	u8 pad0[GCH_CACHELINE];
	atomic64_t next;
	u8 pad1[GCH_CACHELINE];
};

/* Give an emptied or dead span back: backing, then lists and pages. */
static void sweep_release(struct gch_sweep *sw, struct gch_sweep_worker *w,
			  struct gch_span *s)
{
	struct gch_heap_core *h = sw->h;

	w->stats.spans_released++;
	w->stats.pages_released += s->npages;
	h->ops->release(h, s);
	mutex_lock(&sw->lock);
	if (s->state == GCH_SPAN_SMALL)
		h->central[s->spanclass].nspans--;
	gch_heap_drop_span(h, s);
	mutex_unlock(&sw->lock);
}

static void sweep_large(struct gch_sweep *sw, struct gch_sweep_worker *w,
			struct gch_span *s)
{
	if (gch_bitmap_test(s->markbits, 0)) {
		gch_bitmap_clear(s->markbits, 0);
		s->sweepgen = sw->h->sweepgen;
		return;
	}
	w->stats.objects_freed++;
	w->stats.bytes_freed += s->elemsize;
	w->stats.large_freed++;
	gch_bitmap_clear(s->allocbits, 0);
	sweep_release(sw, w, s);
}

static void sweep_small(struct gch_sweep *sw, struct gch_sweep_worker *w,
			struct gch_span *s)
{
	struct gch_central *c = &sw->h->central[s->spanclass];
	bool was_full = s->nalloc == s->nobjs;
	unsigned int live, freed;

	live = gch_span_sweep_bits(s);
	if (WARN_ON(live > s->nalloc))
		live = s->nalloc;	/* a mark bit without an alloc bit */
	freed = s->nalloc - live;
	if (!freed) {
		s->sweepgen = sw->h->sweepgen;
		return;
	}
	w->nfree[s->spanclass] += freed;
	w->stats.objects_freed += freed;
	w->stats.bytes_freed += (u64)freed * s->elemsize;
	s->nalloc = live;
	if (!live) {
		sweep_release(sw, w, s);
		return;
	}
	s->needzero = 1;
	s->freeindex = gch_bitmap_find_next_zero(s->allocbits, s->nobjs, 0);
	s->sweepgen = sw->h->sweepgen;
	if (was_full) {
		/* behind the spans being allocated from, as gch_heap_free() */
		mutex_lock(&sw->lock);
		list_move_tail(&s->link, &c->partial);
		mutex_unlock(&sw->lock);
	}
}

static void sweep_span(struct gch_sweep *sw, struct gch_sweep_worker *w,
		       struct gch_span *s)
{
	/* claimed through the snapshot (or alone): plain stores suffice */
	if (WARN_ON(!gch_span_unswept(sw->h, s)))
		return;
	s->sweepgen = sw->h->sweepgen - 1;
	w->stats.spans_swept++;
	if (s->state == GCH_SPAN_LARGE)
		sweep_large(sw, w, s);
	else if (!WARN_ON(s->state != GCH_SPAN_SMALL))
		sweep_small(sw, w, s);
}

/**
 * gch_sweep_create() - the sweep state of a heap
 * @h:           the heap.
 * @max_workers: most workers any sweep will use, 1 to GCH_MARK_MAX_WORKERS.
 *
 * Return: the state, or NULL (no memory, or bad arguments).
 */
struct gch_sweep *gch_sweep_create(struct gch_heap_core *h,
				   unsigned int max_workers)
{
	struct gch_sweep *sw;
	unsigned int i;

	if (!h || !max_workers || max_workers > GCH_MARK_MAX_WORKERS)
		return NULL;
	sw = gch_zalloc(sizeof(*sw));
	if (!sw)
		return NULL;
	sw->h = h;
	mutex_init(&sw->lock);
	sw->workers = gch_zalloc(max_workers * sizeof(sw->workers[0]));
	if (!sw->workers)
		goto fail;
	sw->max_workers = max_workers;
	for (i = 0; i < max_workers; i++) {
		sw->workers[i] = gch_zalloc(sizeof(*sw->workers[i]));
		if (!sw->workers[i])
			goto fail;
	}
	return sw;
fail:
	gch_sweep_destroy(sw);
	return NULL;
}

/**
 * gch_sweep_destroy() - free the sweep state
 * @sw: from gch_sweep_create(), or NULL; no sweep running.
 */
void gch_sweep_destroy(struct gch_sweep *sw)
{
	unsigned int i;

	if (!sw)
		return;
	for (i = 0; sw->workers && i < sw->max_workers; i++)
		gch_kvfree(sw->workers[i]);
	gch_kvfree(sw->workers);
	gch_kvfree(sw->spans);
	mutex_destroy(&sw->lock);
	gch_kvfree(sw);
}

/* Open an eager sweep: every in-use span becomes unswept. */
static void sweep_open(struct gch_sweep *sw)
{
	unsigned int i;

	for (i = 0; i < sw->max_workers; i++)
		memset(sw->workers[i], 0, sizeof(*sw->workers[i]));
	sw->h->sweepgen += 2;
	sw->eager = true;
}

/**
 * gch_sweep_begin() - start an eager sweep, after gch_mark_end()
 * @sw:       the sweep state, not running.
 * @nworkers: workers that may call gch_sweep_work(), 1 to @max_workers.
 *
 * Advances the sweep generation and takes the snapshot of in-use spans.
 * If it cannot be allocated the workers do nothing and gch_sweep_end()
 * sweeps alone.
 *
 * Return: 0, -EINVAL for a bad @nworkers, -EBUSY while a lazy sweep has
 * spans left (nothing is changed then).
 */
int gch_sweep_begin(struct gch_sweep *sw, unsigned int nworkers)
{
	struct gch_heap_core *h = sw->h;
	struct gch_span *s;
	unsigned int c;
	u64 n = h->nlarge;

	if (!nworkers || nworkers > sw->max_workers)
		return -EINVAL;
	sw->refused = h->unswept;
	if (sw->refused)
		return -EBUSY;
	sw->nworkers = nworkers;
	sweep_open(sw);
	gch_kvfree(sw->spans);
	sw->spans = NULL;
	sw->nspans = 0;
	atomic64_set(&sw->next, 0);
	for (c = 0; c < GCH_NR_SPANCLASSES; c++)
		n += h->central[c].nspans;
	if (!n)
		return 0;
	sw->spans = gch_zalloc(n * sizeof(sw->spans[0]));
	if (!sw->spans)
		return 0;
	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		list_for_each_entry(s, &h->central[c].partial, link)
			if (!WARN_ON(sw->nspans == n))
				sw->spans[sw->nspans++] = s;
		list_for_each_entry(s, &h->central[c].full, link)
			if (!WARN_ON(sw->nspans == n))
				sw->spans[sw->nspans++] = s;
	}
	list_for_each_entry(s, &h->large, link)
		if (!WARN_ON(sw->nspans == n))
			sw->spans[sw->nspans++] = s;
	return 0;
}

/**
 * gch_sweep_work() - one worker's part of the sweep
 * @sw:     the sweep, begun.
 * @worker: this worker's index, below the @nworkers of gch_sweep_begin().
 *
 * Sweeps spans of the snapshot until none is left unclaimed.  Workers may
 * run at once or one after another; one that never runs is not missed.
 * May sleep (ops->release, the mutex).
 */
void gch_sweep_work(struct gch_sweep *sw, unsigned int worker)
{
	struct gch_sweep_worker *w;
	u64 i;

	if (WARN_ON(worker >= sw->nworkers))
		return;
	w = sw->workers[worker];
	for (;;) {
		i = atomic64_fetch_inc(&sw->next);
		if (i >= sw->nspans)
			return;
		sweep_span(sw, w, sw->spans[i]);
	}
}

/* No snapshot: sweep every span in worker 0, walking the lists. */
static void sweep_alone(struct gch_sweep *sw)
{
	struct gch_sweep_worker *w = sw->workers[0];
	struct gch_heap_core *h = sw->h;
	struct gch_span *s, *n;
	unsigned int c;

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		/*
		 * partial first: a full span that frees objects moves to the
		 * partial list's tail, already walked
		 */
		list_for_each_entry_safe(s, n, &h->central[c].partial, link)
			sweep_span(sw, w, s);
		list_for_each_entry_safe(s, n, &h->central[c].full, link)
			sweep_span(sw, w, s);
	}
	list_for_each_entry_safe(s, n, &h->large, link)
		sweep_span(sw, w, s);
}

/**
 * gch_sweep_end() - finish an eager sweep
 * @sw:    the sweep, every worker returned from gch_sweep_work().
 * @total: if not NULL, the workers' statistics summed.
 *
 * Brings the heap's counters up to date: afterwards gch_heap_check()
 * holds, every object that was not marked is free and mark bits are clear.
 * Never skip it: if gch_sweep_begin() failed with -EINVAL, this sweeps
 * alone; if it failed with -EBUSY, this finishes the lazy sweep (as
 * gch_sweep_finish()).
 */
void gch_sweep_end(struct gch_sweep *sw, struct gch_sweep_stats *total)
{
	struct gch_heap_core *h = sw->h;
	const struct gch_sweep_worker *w;
	struct gch_sweep_stats sum = { 0 };
	unsigned int i, c;

	if (!sw->eager && (h->unswept || sw->refused)) {
		sw->refused = false;
		gch_sweep_finish(sw, total);
		return;
	}
	if (!sw->eager)
		sweep_open(sw);
	sw->eager = false;
	if (!sw->spans)
		sweep_alone(sw);
	gch_kvfree(sw->spans);
	sw->spans = NULL;
	sw->nspans = 0;
	for (i = 0; i < sw->max_workers; i++) {
		w = sw->workers[i];
		for (c = 0; c < GCH_NR_SPANCLASSES; c++)
			h->central[c].nfree += w->nfree[c];
		h->objects -= w->stats.objects_freed;
		h->inuse_bytes -= w->stats.bytes_freed;
		h->nlarge -= w->stats.large_freed;
		h->large_nfree += w->stats.large_freed;
		sum.spans_swept += w->stats.spans_swept;
		sum.objects_freed += w->stats.objects_freed;
		sum.bytes_freed += w->stats.bytes_freed;
		sum.large_freed += w->stats.large_freed;
		sum.spans_released += w->stats.spans_released;
		sum.pages_released += w->stats.pages_released;
	}
	h->swept = sum;
	if (total)
		*total = sum;
}

/**
 * gch_sweep_start_lazy() - start a lazy sweep, after gch_mark_end()
 * @sw: the sweep state, no sweep running.
 *
 * Advances the sweep generation: every in-use span is unswept from here
 * on, and swept by gch_sweep_some(), gch_sweep_finish(), or the heap's
 * calls as they need it (see heap.c).  O(span classes): the embedder
 * calls it in the pause, and may restart the world right after.
 *
 * Return: 0, or -EBUSY if spans of the previous lazy sweep are left.
 */
int gch_sweep_start_lazy(struct gch_sweep *sw)
{
	return gch_heap_sweep_start(sw->h);
}

/**
 * gch_sweep_some() - sweep a batch of a lazy sweep
 * @sw:        the sweep state.
 * @max_spans: most spans to sweep now.
 *
 * Called with the embedder's heap lock held, like every heap call; the
 * embedder drops it between batches so that allocation goes on.  Releases
 * of emptied spans (ops->release) happen in this thread, in this call.
 *
 * Return: true when no span is left to sweep (also when no lazy sweep
 * was started).
 */
bool gch_sweep_some(struct gch_sweep *sw, u64 max_spans)
{
	return gch_heap_sweep_some(sw->h, max_spans);
}

/**
 * gch_sweep_finish() - finish a lazy sweep
 * @sw:    the sweep state.
 * @total: if not NULL, what the whole lazy sweep did: batches, spans
 *         swept on demand by the heap's calls, and what this sweeps.
 *
 * Sweeps every span left, with the embedder's heap lock held.  Afterwards
 * the heap's counters describe the live heap and gch_mark_begin() may
 * run again.
 */
void gch_sweep_finish(struct gch_sweep *sw, struct gch_sweep_stats *total)
{
	gch_heap_sweep_some(sw->h, U64_MAX);
	if (total)
		*total = sw->h->swept;
}

/**
 * gch_sweep_worker_stats() - one worker's statistics of the last eager sweep
 * @sw:     the sweep state.
 * @worker: the worker's index.
 *
 * Return: its statistics, or NULL for an index out of range.
 */
const struct gch_sweep_stats *gch_sweep_worker_stats(const struct gch_sweep *sw,
						     unsigned int worker)
{
	return worker < sw->max_workers ? &sw->workers[worker]->stats : NULL;
}
