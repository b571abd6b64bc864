// SPDX-License-Identifier: GPL-2.0
/*
 * A collection, end to end (GCH_IOC_COLLECT), and what it leaves behind:
 * pacing (the heap goal), statistics and the history of the last
 * GCH_GC_HISTORY collections.
 *
 *   1. stop the world (stw.c), in the calling thread;
 *   2. gather the roots into work items (roots.c);
 *   3. with the heap locked, mark in this thread and, for a larger heap,
 *      pool threads (workers.c, core/mark.c), roots first, each worker in
 *      the process's address space;
 *   4. start a lazy sweep (core/sweep.c): O(span classes), it only
 *      advances the sweep generation;
 *   5. set a provisional goal, record the numbers, restart the world;
 *   6. sweep in batches of GCH_SWEEP_BATCH spans, taking the heap lock
 *      for each (and letting a waiting allocation in after every
 *      GCH_SWEEP_STEP): in the calling thread before it returns, or with
 *      GCH_COLLECT_ASYNC_SWEEP in a kernel worker (the heap's
 *      @sweep_work) while the calling thread returns to the program.
 *      Allocation goes on between batches and sweeps the spans of its
 *      class it needs first (core/heap.c), so no thread waits for a
 *      sweep it does not need.  Spans left empty go back to the page
 *      heap, their pages idle for reuse (scavenge.c).  Then the numbers
 *      are final.  The next collection waits for the sweep.
 *
 * Pacing is GOGC's: after a collection the goal is the live heap (the
 * bytes the mark found reachable) grown by gc_percent, and at least
 * min_heap_goal (a module parameter).  It is set at the restart, as the
 * Go runtime sets it at mark termination; until the sweep is done, the
 * dead objects it has not reached yet are left out of the comparison
 * (gch_heap_gc_due()), so allocation during the sweep is paced by what
 * is live, never by garbage not yet swept.  Allocation past the goal
 * does not collect by itself: the refill and large-allocation ioctls
 * report gc_due, and the library, which keeps the registered roots up to
 * date (libraries loaded since), asks for a collection with
 * GCH_COLLECT_IF_DUE.  Several threads asking at once get one collection.
 */
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "gcheap_trace.h"

/*
 * Spans swept per batch of the lazy sweep, between two takes of the lock;
 * a batch ends early, after a step, when an allocation waits for the lock
 * (@alloc_waiters): a refill waits for a few spans, not for 64.
 */
#define GCH_SWEEP_BATCH		64
#define GCH_SWEEP_STEP		4

static void gch_sweep_workfn(struct work_struct *work);
static void gch_cmark_workfn(struct work_struct *work);

/* What the workers of one collection share. */
struct gch_collection_ctx {
	struct gch_heap *heap;
};

static void gch_mark_fn(void *arg, unsigned int index)
{
	struct gch_collection_ctx *ctx = arg;

	gch_mark_work(ctx->heap->mark, index);
}

static void gch_sweep_fn(void *arg, unsigned int index)
{
	struct gch_collection_ctx *ctx = arg;

	gch_sweep_work(ctx->heap->sweep, index);
}

/**
 * gch_heap_set_goal() - set the heap goal from the live heap and percent
 * @heap: the heap, locked.
 */
void gch_heap_set_goal(struct gch_heap *heap)
{
	u64 goal;

	if (heap->gc_percent == GCH_GC_OFF) {
		heap->heap_goal = 0;
		return;
	}
	goal = heap->heap_live + div_u64(heap->heap_live * heap->gc_percent,
					 100);
	heap->heap_goal = max_t(u64, goal, READ_ONCE(gch_min_heap_goal));
}

/**
 * gch_heap_concurrent() - does the heap mark beside the program?
 * @heap: the heap (gch_heap_config.concurrent, else concurrent_mark).
 *
 * Return: true if it does.
 */
bool gch_heap_concurrent(const struct gch_heap *heap)
{
	switch (READ_ONCE(heap->concurrent)) {
	case GCH_CONCURRENT_ON:
		return true;
	case GCH_CONCURRENT_OFF:
		return false;
	default:
		return READ_ONCE(gch_concurrent_mark);
	}
}

/**
 * gch_heap_gc_due() - has the heap grown past its goal?
 * @heap: the heap, locked.
 *
 * During a sweep the objects the mark found dead still count in
 * core.inuse_bytes until their span is swept; they are taken out here
 * (what the mark left for the sweep to free, less what it freed so far),
 * so that allocation during the sweep is paced by the live heap, as if
 * the sweep were done.
 *
 * Return: true if a collection is due.
 */
bool gch_heap_gc_due(const struct gch_heap *heap)
{
	u64 inuse = heap->core.inuse_bytes, dead = 0, goal = heap->heap_goal;

	if (!goal)
		return false;
	if (heap->core.unswept && heap->dead_bytes > heap->core.swept.bytes_freed)
		dead = heap->dead_bytes - heap->core.swept.bytes_freed;
	/*
	 * During a mark beside the program a request would wait for it:
	 * the heap may grow by half its goal meanwhile (Go's GC trigger
	 * leaves the same kind of room below its goal).
	 */
	if (heap->core.marking) {
		/* its rounds done, a background mark waits for a final stop */
		if (smp_load_acquire(&heap->bg.state) == GCH_CMARK_READY)
			return true;
		goal += goal / 2;
	}
	return inuse >= goal + dead;
}

/* The rings of the last collections and of their phases. */
#define GCH_HISTORY_BYTES \
	(GCH_GC_HISTORY * (sizeof(struct gch_gc_info) + \
			   sizeof(struct gch_gc_phases)))

/* Free the mark and sweep states and the history (not the roots). */
static void gch_collector_free(struct gch_heap *heap)
{
	if (heap->mark)
		gch_mark_destroy(heap->mark);
	if (heap->sweep)
		gch_sweep_destroy(heap->sweep);
	kvfree(heap->history);
	heap->mark = NULL;
	heap->sweep = NULL;
	heap->history = NULL;
	heap->phase_history = NULL;
}

/**
 * gch_collector_init() - make the mark and sweep states and the history
 * @heap: the heap, locked, its core initialised.
 *
 * Once per heap, when its arena is mapped: a collection, which frees
 * memory, should not need memory of its own when the heap's memory cgroup
 * or its max_heap_metadata is exhausted.
 *
 * Return: 0 or -ENOMEM.
 */
int gch_collector_init(struct gch_heap *heap)
{
	unsigned int nr = gch_pool_size();

	if (heap->mark)
		return 0;
	INIT_WORK(&heap->sweep_work, gch_sweep_workfn);
	INIT_WORK(&heap->cmark_work, gch_cmark_workfn);
	if (gch_heap_meta_charge(heap, GCH_HISTORY_BYTES))
		return -ENOMEM;
	/* the phases' ring follows the collections' */
	heap->history = kvzalloc(GCH_HISTORY_BYTES,
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (heap->history)
		heap->phase_history = (struct gch_gc_phases *)
				      (heap->history + GCH_GC_HISTORY);
	heap->sweep = gch_sweep_create(&heap->core, nr);
	heap->mark = gch_mark_create(&heap->core, nr);
	if (heap->history && heap->sweep && heap->mark)
		return 0;
	/* the registered roots stay: a later collection needs them */
	gch_collector_free(heap);
	heap->kmeta_bytes -= GCH_HISTORY_BYTES;
	return -ENOMEM;
}

/**
 * gch_collector_destroy() - free a heap's collector state and its roots
 * @heap: the heap, being released.
 */
void gch_collector_destroy(struct gch_heap *heap)
{
	if (heap->mark) {
		gch_cmark_cancel(heap);
		gch_sweep_wait(heap);
	}
	gch_collector_free(heap);
	gch_dirty_destroy(heap);
	kvfree(heap->roots);
	heap->roots = NULL;
	heap->nr_roots = 0;
}

/* Bytes in use per mark worker: a smaller heap is marked by fewer. */
#define GCH_BYTES_PER_WORKER	(4ULL << 20)

/*
 * Workers for a collection of @heap: one per GCH_BYTES_PER_WORKER in use
 * (the mark's work grows with the live heap; waking every worker for a
 * heap of a few MiB costs more than it saves, and takes the pool from
 * other processes' collections), at most the heap's cap and the pool.
 * Read without the heap lock: an estimate.
 */
static unsigned int gch_heap_nworkers(const struct gch_heap *heap)
{
	unsigned int n = gch_pool_size();
	u64 want = div64_u64(READ_ONCE(heap->core.inuse_bytes),
			     GCH_BYTES_PER_WORKER) + 1;

	if (heap->workers)
		n = min(heap->workers, n);
	return min_t(u64, want, n);
}

/*
 * The eager sweep, in the worker threads: the heap locked, the world
 * stopped.  Kept for when the lazy sweep cannot start.
 */
static void gch_sweep_eager(struct gch_heap *heap, unsigned int n,
			    struct gch_sweep_stats *ss)
{
	struct gch_collection_ctx ctx = { .heap = heap };

	if (!gch_sweep_begin(heap->sweep, n))
		gch_pool_run(n, gch_sweep_fn, &ctx, current->mm);
	/* without the workers, the end sweeps alone: never skip it */
	gch_sweep_end(heap->sweep, ss);
}

/*
 * One batch of the lazy sweep, @heap locked; true when nothing is left.
 * Spans the batch empties keep their pages, idle (scavenge.c).
 */
static bool gch_sweep_batch(struct gch_heap *heap, u64 max)
{
	return gch_sweep_some(heap->sweep, max);
}

/* Add what a sweep (or part of one) freed to a collection's numbers. */
static void gch_gc_add_sweep(struct gch_gc_info *gi,
			     const struct gch_sweep_stats *ss)
{
	gi->objects_freed += ss->objects_freed;
	gi->bytes_freed += ss->bytes_freed;
	gi->spans_released += ss->spans_released;
	gi->pages_released += ss->pages_released;
}

/*
 * At the restart: the live heap is what the mark found reachable; the
 * goal follows from it (the dead objects still counted until the sweep
 * reaches them do not count, see gch_heap_gc_due()).  Heap locked.
 */
static void gch_gc_set_live(struct gch_heap *heap, struct gch_gc_info *gi)
{
	heap->heap_live = heap->marked_bytes;
	gch_heap_set_goal(heap);
	gi->heap_goal = heap->heap_goal;
}

/*
 * Write @gi, with what is allocated now as heap_after, into this
 * collection's history entry.  Heap locked.
 */
static void gch_gc_record(struct gch_heap *heap, struct gch_gc_info *gi)
{
	gi->heap_after = heap->core.inuse_bytes;
	heap->history[gi->gc_number % GCH_GC_HISTORY] = *gi;
}

/*
 * The mark's work buffers stay from one collection to the next: they are
 * the heap's bookkeeping, counted in max_heap_metadata.  Let the mark make
 * only as many more as the cap leaves room for; beyond that it rescans
 * instead (core/mark.c, "Overflow"), slower but correct.  Heap locked.
 */
static void gch_mark_bound(struct gch_heap *heap)
{
	u64 cap = READ_ONCE(gch_max_heap_metadata);
	u64 used = gch_heap_meta_bytes(heap);
	u64 have = gch_mark_buffer_bytes(heap->mark);
	u64 room = cap > used ? cap - used : 0;

	if (!cap) {
		gch_mark_limit_buffers(heap->mark, 0);
		return;
	}
	gch_mark_limit_buffers(heap->mark,
			       min_t(u64, (have + room) / GCH_MARK_BUF_BYTES,
				     UINT_MAX) ?: 1);
}

/* Keep what each worker did in the ordinary mark, for GCH_IOC_GC_STATS. */
static void gch_mark_record_workers(struct gch_heap *heap, unsigned int n)
{
	const struct gch_mark_stats *w;
	unsigned int i;

	heap->nr_last_workers = min_t(unsigned int, n, GCH_STATS_MAX_WORKERS);
	for (i = 0; i < heap->nr_last_workers; i++) {
		w = gch_mark_worker_stats(heap->mark, i);
		heap->last_workers[i].objects_scanned = w->objects_scanned;
		heap->last_workers[i].bytes_scanned = w->bytes_scanned;
		heap->last_workers[i].root_words = w->root_words;
		heap->last_workers[i].steals = w->steals;
	}
}

/**
 * gch_heap_mark_more() - another parallel mark, on top of the last one
 * @heap:   the heap, locked, the world stopped, its mark done.
 * @roots:  the roots of this round.
 * @nroots: how many.
 * @n:      workers.
 * @ms:     out: this round's totals.
 *
 * Marks accumulate: what the round reaches is marked as well (the
 * finalizer phase, specials.c).
 *
 * Return: 0, or gch_mark_begin()'s error.
 */
int gch_heap_mark_more(struct gch_heap *heap, const struct gch_root *roots,
		       unsigned int nroots, unsigned int n,
		       struct gch_mark_stats *ms)
{
	struct gch_collection_ctx ctx = { .heap = heap };
	int err;

	err = gch_mark_begin(heap->mark, heap->arena_start, roots, nroots, n);
	if (err)
		return err;
	gch_pool_run(n, gch_mark_fn, &ctx, current->mm);
	gch_mark_end(heap->mark, ms);
	return 0;
}

/* Pre-cleaning rounds at most, and the dirty pages that end them early. */
#define GCH_PRECLEAN_MAX	4
#define GCH_PRECLEAN_DONE	64

/*
 * One round of the mark beside the program: begun with the heap locked,
 * run by the pool without it (the program allocates and frees meanwhile,
 * see gch_heap_mark_phase()), ended under it again (an overflow rescan
 * walks the span lists).  Called with the heap unlocked, by a thread of
 * the program or by the heap's background work (no address space: the
 * items hold copies, the heap is read through the kernel's mapping).
 */
static int gch_cmark_round(struct gch_heap *heap, const struct gch_root *items,
			   unsigned int nitems, unsigned int n,
			   struct gch_cmark *cm, bool consume_dirty)
{
	struct gch_collection_ctx ctx = { .heap = heap };
	struct gch_mark_stats ms;
	int err;

	mutex_lock(&heap->lock);
	err = gch_mark_begin(heap->mark, heap->arena_start, items, nitems, n);
	mutex_unlock(&heap->lock);
	if (err)
		return err;
	gch_pool_run(n, gch_mark_fn, &ctx, current->mm);
	mutex_lock(&heap->lock);
	gch_mark_end(heap->mark, &ms);
	if (consume_dirty)
		gch_dirty_consumed(heap);
	mutex_unlock(&heap->lock);
	gch_mark_stats_add(&cm->acc, &ms);
	return 0;
}

/*
 * A mark beside the program ended early (a signal, a failed stop, no
 * memory, the heap released): nothing is freed.  Heap locked, no mark
 * running.
 */
static void gch_cmark_abandon(struct gch_heap *heap, unsigned int n)
{
	struct gch_sweep_stats ss;

	gch_heap_mark_phase(&heap->core, false);
	gch_dirty_consumed(heap);
	gch_mark_keep_all(heap->mark);
	gch_sweep_eager(heap, n, &ss);
}

/* gch_cmark_abandon() with the heap unlocked: the mark is over. */
static void gch_cmark_drop(struct gch_heap *heap, struct gch_cmark *cm,
			   unsigned int n)
{
	mutex_lock(&heap->lock);
	gch_cmark_abandon(heap, n);
	mutex_unlock(&heap->lock);
	cm->on = false;
}

/* Should the rounds beside the program stop early? */
static bool gch_cmark_stopping(const struct gch_cmark *cm)
{
	/* a kernel worker has no signals: the heap's release says so */
	return READ_ONCE(cm->cancel) || fatal_signal_pending(current);
}

/*
 * Before the first stop of a mark beside the program: its dirty bitmaps.
 * Return: false if they cannot be had (no memory): the collection then
 * stops the world for the mark.
 */
static bool gch_cmark_prepare(struct gch_heap *heap)
{
	bool ok;

	mutex_lock(&heap->lock);
	ok = !gch_dirty_prepare(heap);
	mutex_unlock(&heap->lock);
	return ok;
}

/*
 * The first stop's part of a mark beside the program, the world stopped
 * (@*wp, roots @rs), its dirty bitmaps made (gch_cmark_prepare()): enter
 * the mark phase, copy the registers the
 * threads left (they run again before the first round reads them), and
 * restart the world.  If the mark cannot start (no memory for the
 * registers' copy), @cm->on stays false and the world is still stopped:
 * the caller marks as always.
 */
static void gch_cmark_start(struct gch_heap *heap, struct gch_world **wp,
			    struct gch_rootset *rs, struct gch_gc_info *gi,
			    struct gch_cmark *cm)
{
	/* last, as it also drops the finalizers' root from the set */
	if (gch_roots_detach(rs))
		return;		/* marked with the world stopped */
	mutex_lock(&heap->lock);
	/* the previous collection's sweep always finishes; never mark early */
	if (WARN_ON_ONCE(heap->core.unswept))
		gch_sweep_batch(heap, U64_MAX);
	gch_heap_mark_phase(&heap->core, true);
	cm->on = true;
	gi->heap_before = heap->core.inuse_bytes;
	gch_mark_bound(heap);
	mutex_unlock(&heap->lock);

	cm->initial_ns = ktime_get_ns() - gi->start_ns;
	gch_world_release(*wp);
	*wp = NULL;
}

/*
 * Pre-cleaning: while more than GCH_PRECLEAN_DONE heap pages were written
 * since they were last scanned, scan their marked objects again, at most
 * @rounds rounds in a row.  Heap unlocked.
 */
static int gch_cmark_preclean(struct gch_heap *heap, unsigned int n,
			      struct gch_cmark *cm, unsigned int rounds)
{
	unsigned int round;
	u64 ndirty;
	int err = 0;

	for (round = 0; !err && round < rounds; round++) {
		if (gch_cmark_stopping(cm))
			return -EINTR;
		ndirty = gch_dirty_preclean(heap);
		/* few pages left: the final stop takes them (they stay) */
		if (ndirty <= GCH_PRECLEAN_DONE)
			break;
		cm->precleans++;
		err = gch_cmark_round(heap, &cm->dirty_root, 1, n, cm, true);
	}
	return err;
}

/*
 * The last round beside the program, in an arena mapped for it: write-
 * protect the arena, then scan again what was written before.  From
 * then on the program's first write to a page faults and records it, so
 * the final stop reads those records instead of walking the arena's
 * page tables and pages (dirty.c): its length then follows what the
 * program wrote since, not the heap's size.  Heap unlocked.
 */
static int gch_cmark_protect(struct gch_heap *heap, unsigned int n,
			     struct gch_cmark *cm)
{
	if (!heap->arena_wp || !READ_ONCE(gch_cmark_wp))
		return 0;
	if (gch_cmark_stopping(cm))
		return -EINTR;
	gch_dirty_protect(heap);
	cm->wp = true;
	cm->precleans++;
	return gch_cmark_round(heap, &cm->dirty_root, 1, n, cm, true);
}

/*
 * The mark beside the program, from the first stop's roots @rs (freed
 * here) to the pre-cleaning that leaves few dirty pages.  In a thread of
 * the program, or in the heap's background work.  Heap unlocked.
 */
static int gch_cmark_rounds(struct gch_heap *heap, struct gch_rootset *rs,
			    unsigned int n, struct gch_cmark *cm)
{
	const struct gch_root *items;
	unsigned int nitems;
	u64 t = ktime_get_ns();
	int err;

	/*
	 * Every write from here on is recorded.  Those between the restart
	 * and now are not, and need not be: no object was scanned yet, so
	 * whatever they stored is seen when its object is, and a pointer
	 * they moved into a root is found when the final stop reads the
	 * roots again.  So the walk over the whole arena is in no pause.
	 */
	gch_dirty_clear(heap);
	items = gch_rootset_items(rs, &nitems);
	err = gch_cmark_round(heap, items, nitems, n, cm, false);
	gch_roots_free(rs);
	gch_dirty_root(heap, &cm->dirty_root);
	if (!err)
		err = gch_cmark_preclean(heap, n, cm, GCH_PRECLEAN_MAX);
	if (!err)
		err = gch_cmark_protect(heap, n, cm);
	cm->conc_ns += ktime_get_ns() - t;
	return err;
}

/*
 * The final stop of a mark beside the program: stop the world again;
 * on return @*wp and @*rsp are its world and roots, the latter with the
 * last dirty pages appended, for gch_mark_sweep() to finish with.  On
 * error the mark is abandoned (nothing is freed) and the world runs.
 */
static int gch_cmark_final(struct gch_heap *heap, struct file *file,
			   struct gch_world **wp, struct gch_rootset **rsp,
			   unsigned int n, struct gch_gc_info *gi,
			   struct gch_cmark *cm)
{
	u64 t;
	int err;

	cm->final_t0 = ktime_get_ns();
	err = gch_world_stop(file,
			     msecs_to_jiffies(READ_ONCE(gch_stw_timeout_ms)),
			     wp);
	if (err)
		goto fail;
	gi->stw_ns += ktime_get_ns() - cm->final_t0;
	t = ktime_get_ns();
	*rsp = gch_roots_build(heap, *wp, n);
	if (IS_ERR(*rsp)) {
		err = PTR_ERR(*rsp);
		goto fail_world;
	}
	/* the last dirty pages, read under the lock by gch_mark_sweep() */
	err = gch_roots_append(*rsp, &cm->dirty_root);
	if (err) {
		gch_roots_free(*rsp);
		goto fail_world;
	}
	gi->roots_ns += ktime_get_ns() - t;
	return 0;

fail_world:
	*rsp = NULL;
	gch_world_release(*wp);
	*wp = NULL;
fail:
	/* a background mark waits for the call to come again */
	if (err != -ERESTARTNOINTR || cm != &heap->bg)
		gch_cmark_drop(heap, cm, n);
	return err;
}

/*
 * The heap's background mark (a collection the allocation pacing asked
 * for, see gch_heap_collect()): the rounds beside the program, in a
 * kworker, while every thread of the program runs.  Then the mark waits
 * for a thread of the program to take the final stop: the next refill or
 * allocation reports gc_due, and the library's GCH_COLLECT_IF_DUE comes
 * (gch_cmark_bg_finish()).
 */
static void gch_cmark_workfn(struct work_struct *work)
{
	struct gch_heap *heap = container_of(work, struct gch_heap,
					     cmark_work);
	struct gch_cmark *cm = &heap->bg;

	cm->err = gch_cmark_rounds(heap, cm->rs, cm->gi.workers, cm);
	cm->rs = NULL;
	/* with release: what the rounds left is seen with the state */
	smp_store_release(&cm->state, GCH_CMARK_READY);
}

/*
 * Mark and start the sweep, the heap locked and the world stopped.  If
 * the world turned out not to have stayed stopped (gch_world_intact()),
 * everything is kept: the sweep frees nothing, and -EAGAIN.  With @cm on,
 * this is the final stop of a mark beside the program: the last dirty
 * pages are read, the mark goes on from the new roots and those pages,
 * and the numbers are the whole mark's.
 */
static int gch_mark_sweep(struct gch_heap *heap, struct gch_world *w,
			  struct gch_rootset *rs, struct gch_cmark *cm,
			  unsigned int n, struct gch_gc_info *gi,
			  struct gch_fin_info *fi)
{
	struct gch_collection_ctx ctx = { .heap = heap };
	const struct gch_root *items;
	struct gch_mark_stats ms;
	struct gch_sweep_stats ss;
	unsigned int nitems;
	u64 t0, t1;
	int err;

	/* the previous collection's sweep always finishes; never mark early */
	if (!cm->on && WARN_ON_ONCE(heap->core.unswept))
		gch_sweep_batch(heap, U64_MAX);
	if (cm->on)
		cm->dirty = gch_dirty_final(heap);
	items = gch_rootset_items(rs, &nitems);
	gch_mark_bound(heap);
	t0 = ktime_get_ns();
	err = gch_mark_begin(heap->mark, heap->arena_start, items, nitems, n);
	if (err) {
		if (cm->on)
			gch_cmark_abandon(heap, n);
		return err;
	}
	gch_pool_run(n, gch_mark_fn, &ctx, current->mm);
	gch_mark_end(heap->mark, &ms);
	if (cm->on) {
		/* the whole mark's numbers; no mark reads the heap any more */
		gch_mark_stats_add(&ms, &cm->acc);
		gch_dirty_consumed(heap);
		gch_heap_mark_phase(&heap->core, false);
		/* the time the mark took, most of it beside the program */
		t0 -= cm->conc_ns;
	}
	if (!gch_world_intact(w)) {
		gch_mark_keep_all(heap->mark);
		gch_sweep_eager(heap, n, &ss);
		return -EAGAIN;
	}
	gch_mark_record_workers(heap, n);
	err = gch_specials_collect(heap, n, &ms, fi);
	if (err) {
		gch_mark_keep_all(heap->mark);
		gch_sweep_eager(heap, n, &ss);
		return err;
	}
	t1 = ktime_get_ns();
	heap->marked_bytes = ms.bytes_marked;
	heap->marked_dead = heap->core.objects - ms.objects_marked;
	heap->dead_bytes = heap->core.inuse_bytes - ms.bytes_marked;
	gi->mark_ns = t1 - t0;
	gi->objects_marked = ms.objects_marked;
	gi->objects_scanned = ms.objects_scanned;
	gi->bytes_scanned = ms.bytes_scanned;
	gi->root_words = ms.root_words;
	gi->steals = ms.steals;
	trace_gcheap_mark_done(heap->tgid, heap->id, gi, ms.bytes_marked);

	if (WARN_ON_ONCE(gch_sweep_start_lazy(heap->sweep))) {
		gch_sweep_eager(heap, n, &ss);
		gch_gc_add_sweep(gi, &ss);
	}
	gi->sweep_ns = ktime_get_ns() - t1;
	return 0;
}

/*
 * After the restart: sweep the rest in batches, the heap lock taken for
 * each, then record the sweep's numbers, the live heap and the goal, in
 * @gi and in the history entry of this collection.
 */
static void gch_sweep_background(struct gch_heap *heap, struct gch_gc_info *gi)
{
	struct gch_sweep_stats ss;
	u64 t0 = ktime_get_ns(), ns;
	bool done;

	do {
		unsigned int swept = 0;

		cond_resched();
		mutex_lock(&heap->lock);
		do {
			done = gch_sweep_batch(heap, GCH_SWEEP_STEP);
			swept += GCH_SWEEP_STEP;
		} while (!done && swept < GCH_SWEEP_BATCH &&
			 !atomic_read(&heap->alloc_waiters));
		if (!done)
			mutex_unlock(&heap->lock);
	} while (!done);
	/* locked, nothing left: these are the sweep's totals */
	gch_sweep_finish(heap->sweep, &ss);
	gch_scav_trim(heap);
	gch_gc_add_sweep(gi, &ss);
	gch_gc_record(heap, gi);
	ns = ktime_get_ns() - t0;
	heap->lazy_sweep_ns = ns;
	heap->lazy_sweep_total_ns += ns;
	mutex_unlock(&heap->lock);
	trace_gcheap_sweep_done(heap->tgid, heap->id, gi, ns);
}

/* The heap's background sweep (GCH_COLLECT_ASYNC_SWEEP), in a kworker. */
static void gch_sweep_workfn(struct work_struct *work)
{
	struct gch_heap *heap = container_of(work, struct gch_heap,
					     sweep_work);

	gch_sweep_background(heap, &heap->sweep_gi);
}

/**
 * gch_sweep_wait() - wait for a background sweep to finish
 * @heap: the heap; not locked.
 *
 * Before the next collection (collect_lock held) and when the heap is
 * released.
 */
void gch_sweep_wait(struct gch_heap *heap)
{
	flush_work(&heap->sweep_work);
}

/* Is a collection wanted?  -ENXIO without an arena. */
static int gch_collect_wanted(struct gch_heap *heap, u32 flags)
{
	int ret;

	mutex_lock(&heap->lock);
	if (heap->arena_state != GCH_MAP_LIVE)
		ret = -ENXIO;
	else if (flags & GCH_COLLECT_IF_DUE)
		ret = gch_heap_gc_due(heap);
	else
		ret = 1;
	if (ret > 0 && gch_collector_init(heap))
		ret = -ENOMEM;
	mutex_unlock(&heap->lock);
	return ret;
}

/*
 * The end of a collection, the world stopped (@w, roots @rs: both let go
 * here): mark, or finish the mark beside the program (@cm on), record
 * the numbers, restart the world and sweep (or leave the sweep to the
 * heap's work with GCH_COLLECT_ASYNC_SWEEP).  On error nothing is freed
 * and the abort is traced.
 */
static int gch_collect_finish(struct gch_heap *heap, u32 flags,
			      struct gch_world *w, struct gch_rootset *rs,
			      struct gch_cmark *cm, unsigned int n,
			      struct gch_collect *c)
{
	struct gch_gc_phases *ph = &c->phases;
	struct gch_gc_info *gi = &c->info;
	struct gch_fin_info fi;
	int err;

	mutex_lock(&heap->lock);
	if (!cm->on)
		gi->heap_before = heap->core.inuse_bytes;
	err = gch_mark_sweep(heap, w, rs, cm, n, gi, &fi);
	if (!err) {
		heap->num_gc = gi->gc_number;
		/* the restart that follows takes a wake-up: count it now */
		gi->pause_ns = cm->on ? cm->initial_ns + ktime_get_ns() -
					cm->final_t0 :
					ktime_get_ns() - gi->start_ns;
		heap->pause_total_ns += gi->pause_ns;
		memset(ph, 0, sizeof(*ph));
		if (cm->on) {
			ph->flags = GCH_PHASES_CONCURRENT;
			if (cm == &heap->bg)
				ph->flags |= GCH_PHASES_BACKGROUND;
			if (cm->wp)
				ph->flags |= GCH_PHASES_WRITE_PROTECT;
			ph->precleans = cm->precleans;
			ph->initial_ns = cm->initial_ns;
			ph->concurrent_ns = cm->conc_ns;
			ph->final_start_ns = cm->final_t0;
			ph->final_ns = gi->pause_ns - cm->initial_ns;
			ph->dirty_pages = cm->dirty;
		}
		heap->phase_history[gi->gc_number % GCH_GC_HISTORY] = *ph;
		/* heap_after is provisional until the sweep is done */
		gch_gc_set_live(heap, gi);
		gch_gc_record(heap, gi);
		c->collected = 1;
	}
	mutex_unlock(&heap->lock);
	if (!err) {
		/* the links, with the other threads still stopped */
		gch_specials_clear_links(heap, &fi);
		trace_gcheap_finalize(heap->tgid, heap->id, gi->gc_number,
				      fi.queued, fi.waiting, fi.weak_cleared,
				      fi.weak_dropped, fi.ns);
	}
	gch_world_release(w);
	gch_roots_free(rs);
	if (cm->on && !err)
		trace_gcheap_concurrent_mark(heap->tgid, heap->id, gi->gc_number,
					     cm->initial_ns, cm->conc_ns,
					     cm->precleans, cm->dirty,
					     ph->final_ns);
	if (err) {
		trace_gcheap_gc_abort(heap->tgid, heap->id, gi->gc_number, err,
				      ktime_get_ns() - gi->start_ns);
		return err;
	}
	if (flags & GCH_COLLECT_ASYNC_SWEEP) {
		/*
		 * The program's collection ends here, in its own thread (the
		 * tracepoint's readers look at the current task); the sweep's
		 * numbers follow in gcheap_sweep_done, from the work.
		 * collect_lock orders the work against the next collection's
		 * wait.
		 */
		heap->sweep_gi = *gi;
		/*
		 * Until the sweep ends, the caller and the history see what
		 * the mark found: the bytes it will leave, the objects it
		 * will free.
		 */
		gi->heap_after = heap->marked_bytes;
		gi->objects_freed = heap->marked_dead;
		mutex_lock(&heap->lock);
		heap->history[gi->gc_number % GCH_GC_HISTORY] = *gi;
		mutex_unlock(&heap->lock);
		/* before the work: gc_end comes before its sweep_done */
		trace_gcheap_gc_end(heap->tgid, heap->id, gi);
		queue_work(system_unbound_wq, &heap->sweep_work);
	} else {
		gch_sweep_background(heap, gi);
		trace_gcheap_gc_end(heap->tgid, heap->id, gi);
	}
	return 0;
}

/*
 * Finish the heap's background mark (collect_lock held): wait for its
 * rounds, pre-clean again what the program wrote since, take the final
 * stop in this thread and end the collection as any other, with the
 * first stop's numbers in @c.  A signal before the final stop leaves
 * the mark waiting (-ERESTARTNOINTR: the call comes again); any other
 * error abandons it, nothing freed.
 */
static int gch_cmark_bg_finish(struct gch_heap *heap, struct file *file,
			       u32 flags, struct gch_collect *c)
{
	struct gch_cmark *cm = &heap->bg;
	struct gch_gc_info *gi = &c->info;
	unsigned int n = cm->gi.workers;
	struct gch_rootset *rs;
	struct gch_world *w;
	u64 t;
	int err;

	flush_work(&heap->cmark_work);
	*gi = cm->gi;
	err = cm->err;
	if (!err && !cm->wp) {
		/* what was written since the work's rounds: one round at most */
		t = ktime_get_ns();
		err = gch_cmark_preclean(heap, n, cm, 1);
		cm->conc_ns += ktime_get_ns() - t;
	}
	if (err)
		gch_cmark_drop(heap, cm, n);
	else
		err = gch_cmark_final(heap, file, &w, &rs, n, gi, cm);
	if (err == -ERESTARTNOINTR && cm->on)
		return err;	/* still waiting for its final stop */
	if (err)
		trace_gcheap_gc_abort(heap->tgid, heap->id, gi->gc_number, err,
				      ktime_get_ns() - gi->start_ns);
	else
		err = gch_collect_finish(heap, flags, w, rs, cm, n, c);
	memset(cm, 0, sizeof(*cm));	/* GCH_CMARK_IDLE */
	return err;
}

/**
 * gch_cmark_cancel() - end a background mark without its final stop
 * @heap: the heap, being released (no thread of the program is left to
 *        take the stop); not locked.
 */
void gch_cmark_cancel(struct gch_heap *heap)
{
	if (READ_ONCE(heap->bg.state) == GCH_CMARK_IDLE)
		return;
	WRITE_ONCE(heap->bg.cancel, true);
	flush_work(&heap->cmark_work);
	/* no mark reads the heap any more: what it held back is freed */
	mutex_lock(&heap->lock);
	gch_heap_mark_phase(&heap->core, false);
	mutex_unlock(&heap->lock);
	/* its gcheap_gc_start had one: every collection ends in the trace */
	trace_gcheap_gc_abort(heap->tgid, heap->id, heap->bg.gi.gc_number,
			      -ECANCELED,
			      ktime_get_ns() - heap->bg.gi.start_ns);
	memset(&heap->bg, 0, sizeof(heap->bg));
}

/**
 * gch_heap_collect() - run a collection (GCH_IOC_COLLECT)
 * @heap:  the heap; the caller is a thread of its owner.
 * @file:  the heap's file.
 * @flags: GCH_COLLECT_* flags.
 * @c:     out: whether one ran, and its numbers.
 *
 * The other threads run again once the mark is done; this one sweeps
 * the rest and returns when the sweep is finished, with its numbers; or,
 * with GCH_COLLECT_ASYNC_SWEEP, returns at once and leaves the sweep to
 * the heap's @sweep_work.  The next collection waits for either.
 *
 * Return: 0; -ERESTARTNOINTR (a signal or task work came first: the call
 * restarts once it is handled), -EINTR, -ETIMEDOUT, -EAGAIN, -ENXIO,
 * -ENOMEM.  On error nothing was freed.
 */
int gch_heap_collect(struct gch_heap *heap, struct file *file, u32 flags,
		     struct gch_collect *c)
{
	struct gch_gc_info *gi = &c->info;
	unsigned int n = gch_heap_nworkers(heap);
	struct gch_cmark cm = { 0 };
	struct gch_rootset *rs;
	struct gch_world *w;
	bool conc;
	u64 t1;
	int err;

	memset(gi, 0, sizeof(*gi));
	memset(&c->phases, 0, sizeof(c->phases));
	c->collected = 0;
	/* interruptibly: the holder may be waiting for us to park */
	if (mutex_lock_interruptible(&heap->collect_lock))
		return fatal_signal_pending(current) ? -EINTR : -ERESTARTNOINTR;
	/* the last collection's background sweep, if any, ends first */
	if (heap->mark)
		gch_sweep_wait(heap);
	err = gch_collect_wanted(heap, flags);
	if (err <= 0)
		goto out;
	if (READ_ONCE(heap->bg.state) != GCH_CMARK_IDLE) {
		err = gch_cmark_bg_finish(heap, file, flags, c);
		if (err || (flags & GCH_COLLECT_IF_DUE))
			goto out;
		/* asked for: one of its own follows, from what is live now */
		memset(gi, 0, sizeof(*gi));
		memset(&c->phases, 0, sizeof(c->phases));
		c->collected = 0;
		gch_sweep_wait(heap);
	}

	/* collect_lock orders collections: this one gets the next number */
	gi->gc_number = heap->num_gc + 1;
	gi->workers = n;
	gi->reason = flags & GCH_COLLECT_IF_DUE ? GCH_GC_REASON_GOAL :
						 GCH_GC_REASON_USER;
	if (trace_gcheap_gc_start_enabled()) {
		mutex_lock(&heap->lock);
		trace_gcheap_gc_start(heap->tgid, heap->id, gi->gc_number,
				      gi->reason, heap->core.inuse_bytes,
				      heap->heap_goal);
		mutex_unlock(&heap->lock);
	}

	conc = gch_heap_concurrent(heap) && gch_cmark_prepare(heap);
	gi->start_ns = ktime_get_ns();
	err = gch_world_stop(file,
			     msecs_to_jiffies(READ_ONCE(gch_stw_timeout_ms)),
			     &w);
	if (err)
		goto abort;
	t1 = ktime_get_ns();
	gi->stw_ns = t1 - gi->start_ns;
	gi->threads = gch_world_nr_stopped(w);
	trace_gcheap_world_stopped(heap->tgid, heap->id, gi);

	rs = gch_roots_build(heap, w, n);
	if (IS_ERR(rs)) {
		err = PTR_ERR(rs);
		gch_world_release(w);
		goto abort;
	}
	gi->roots_ns = ktime_get_ns() - t1;

	if (conc) {
		/*
		 * What the allocation pacing asks for, with the sweep in the
		 * background, marks in the background too: every thread of
		 * the program runs on, this one included.
		 */
		bool bg = (flags & GCH_COLLECT_IF_DUE) &&
			  (flags & GCH_COLLECT_ASYNC_SWEEP);

		gch_cmark_start(heap, &w, rs, gi, bg ? &heap->bg : &cm);
		if (bg && heap->bg.on) {
			heap->bg.gi = *gi;
			heap->bg.rs = rs;
			WRITE_ONCE(heap->bg.state, GCH_CMARK_MARKING);
			queue_work(system_unbound_wq, &heap->cmark_work);
			goto out;
		}
		if (cm.on) {
			err = gch_cmark_rounds(heap, rs, n, &cm);
			if (err)
				gch_cmark_drop(heap, &cm, n);
			else
				err = gch_cmark_final(heap, file, &w, &rs, n,
						      gi, &cm);
			if (err)
				goto abort;
		}
	}
	err = gch_collect_finish(heap, flags, w, rs, &cm, n, c);
	goto out;
abort:
	trace_gcheap_gc_abort(heap->tgid, heap->id, gi->gc_number, err,
			      ktime_get_ns() - gi->start_ns);
out:
	mutex_unlock(&heap->collect_lock);
	return err;
}

/**
 * gch_heap_gc_stats() - collector statistics (GCH_IOC_GC_STATS)
 * @heap: the heap.
 * @st:   in: the history buffer; out: the numbers.
 *
 * Return: 0, -EINVAL (history_max without a buffer), -ENOMEM, -EFAULT.
 */
int gch_heap_gc_stats(struct gch_heap *heap, struct gch_gc_stats *st)
{
	struct gch_gc_phases *phist = NULL;
	struct gch_gc_info *hist = NULL;
	u32 want = 0, i;
	u64 first;
	int err = 0;

	if ((st->history_max || st->phase_history) && !st->history)
		return -EINVAL;
	if (st->history) {
		want = min_t(u32, st->history_max, GCH_GC_HISTORY);
		/* one buffer, the phases after the collections */
		hist = kvmalloc_array(max(want, 1U),
				      sizeof(*hist) + sizeof(*phist),
				      GFP_KERNEL | __GFP_NOWARN);
		if (!hist)
			return -ENOMEM;
		phist = (struct gch_gc_phases *)(hist + max(want, 1U));
	}
	mutex_lock(&heap->lock);
	st->num_gc = heap->num_gc;
	st->pause_total_ns = heap->pause_total_ns;
	st->heap_goal = heap->heap_goal;
	st->heap_live = heap->heap_live;
	st->gc_percent = heap->gc_percent;
	st->nr_workers = heap->num_gc ? heap->nr_last_workers : 0;
	memcpy(st->worker, heap->last_workers, sizeof(st->worker));
	memset(&st->last, 0, sizeof(st->last));
	memset(&st->last_phases, 0, sizeof(st->last_phases));
	if (heap->num_gc) {
		st->last = heap->history[heap->num_gc % GCH_GC_HISTORY];
		st->last_phases =
			heap->phase_history[heap->num_gc % GCH_GC_HISTORY];
	}
	want = min_t(u64, want, heap->num_gc);
	first = heap->num_gc - want + 1;
	for (i = 0; i < want; i++) {
		hist[i] = heap->history[(first + i) % GCH_GC_HISTORY];
		phist[i] = heap->phase_history[(first + i) % GCH_GC_HISTORY];
	}
	mutex_unlock(&heap->lock);
	st->history_count = want;
	if (want && copy_to_user(u64_to_user_ptr(st->history), hist,
				 want * sizeof(*hist)))
		err = -EFAULT;
	if (want && st->phase_history && !err &&
	    copy_to_user(u64_to_user_ptr(st->phase_history), phist,
			 want * sizeof(*phist)))
		err = -EFAULT;
	kvfree(hist);
	return err;
}
