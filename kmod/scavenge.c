// SPDX-License-Identifier: GPL-2.0
/*
 * The scavenger: free heap pages kept for reuse, and given back to the
 * system in the background.
 *
 * When a sweep (or an explicit free) gives a span back to the page heap,
 * its pages are neither zapped from the owner's page tables nor freed:
 * they become idle, kept in @heap->idle by their page index in the arena,
 * still mapped at the same user address.  A span populated again over
 * those arena pages takes them back, and the program touches them without
 * a page fault.  They hold only this heap's old data, so they are not
 * cleared here: their objects are zeroed as they are handed out, by the
 * library in userspace right before use (GCH_REFILL_UNZEROED), where the
 * cache lines are about to be written anyway.  A steadily collecting heap
 * thus reuses the same pages every cycle instead of freeing them after
 * each sweep and faulting them in again (Go's heap keeps freed spans the
 * same way, and bdwgc unmaps only blocks unused for several collections).
 *
 * Idle pages go back to the system in a delayed work that runs every
 * scavenge_delay_ms while any exist:
 *
 *   - a page idle at two ticks in a row (unused for one to two periods)
 *     is returned: a heap whose live data dropped gives its memory back
 *     within two periods;
 *   - if the heap's pages (in use and idle) exceed its goal by half,
 *     idle pages are returned down to that bound (a heap far above its
 *     goal keeps no reserve), at the tick and at the end of each sweep;
 *   - when a span cannot get a new page (its memory cgroup is at the
 *     limit), every idle page is returned and the allocation retried;
 *   - while the owner's memory cgroup is near its limit, no page is kept
 *     idle at all (gch_scav_memcg_tight()): idle pages are charged, and
 *     the cgroup's reclaim cannot take them back.
 *
 * Returning a page zaps it from the owner's page tables (so a later span
 * over the same arena page, backed by a new page, faults that one in)
 * and drops the module's reference.  Every change of which page backs an
 * arena page (take, put back, return) happens under @heap->lock, except
 * gch_idle_put() from the parallel sweep's workers, which run while the
 * collecting thread holds @heap->lock for them.  So the invariant holds:
 * a user page-table entry of the arena maps nothing, or the page that
 * currently backs its arena page (an in-use span's, or an idle one).
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/page_counter.h>
#include <linux/sizes.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "internal.h"

/*
 * Idle pages examined per take of the heap lock in a scavenger tick: a
 * batch that returns them all zaps them under the lock, which the
 * program's faults and refills wait for (1024 held it for hundreds of ms
 * under TCG at a 1 GiB heap).
 */
#define GCH_SCAV_BATCH		256

/* Mark of an idle page seen by the previous tick. */
#define GCH_IDLE_SEEN		XA_MARK_0

static unsigned long gch_scav_delay(void)
{
	return msecs_to_jiffies(max(READ_ONCE(gch_scavenge_delay_ms), 1U));
}

static void gch_scav_kick(struct gch_heap *heap)
{
	if (!READ_ONCE(heap->scav_stop))
		queue_delayed_work(system_unbound_wq, &heap->scav_work,
				   gch_scav_delay());
}

/**
 * gch_idle_zap() - zap arena pages from the owner's page tables
 * @heap:  the heap.
 * @first: the first arena page index (in PAGE_SIZE pages).
 * @n:     how many.
 */
void gch_idle_zap(struct gch_heap *heap, unsigned long first,
			 unsigned long n)
{
	if (heap->inode)
		unmap_mapping_range(heap->inode->i_mapping,
				    GCH_MMAP_ARENA + ((loff_t)first << PAGE_SHIFT),
				    (loff_t)n << PAGE_SHIFT, 1);
}

/**
 * gch_idle_put() - keep the page of a span going back to the page heap
 * @heap:  the heap.
 * @index: the page's index (in PAGE_SIZE pages) in the arena.
 * @page:  the page; the module's reference moves to the idle store.
 *
 * If it cannot be stored (no memory for the xarray), it is zapped and
 * freed now, as before there was a scavenger.
 */
void gch_idle_put(struct gch_heap *heap, unsigned long index,
		  struct page *page)
{
	void *old = xa_store(&heap->idle, index, page,
			     GFP_KERNEL | __GFP_NOWARN);

	if (!xa_is_err(old)) {
		/* one page per arena page: a span never overlaps another */
		WARN_ON_ONCE(old);
		atomic_long_inc(&heap->idle_pages);
		gch_scav_kick(heap);
		return;
	}
	gch_idle_zap(heap, index, 1);
	put_page(page);
}

/**
 * gch_idle_take() - the idle page of an arena page, for a span being
 * populated
 * @heap:  the heap, locked.
 * @index: the arena page index.
 *
 * The page still holds what the heap last kept there: the span is marked
 * for zeroing (struct gch_span @needzero), and its objects are zeroed when
 * handed out, by the kernel or, tagged, by the library.
 *
 * Return: the page, with the module's reference; or NULL if none is idle
 * there.
 */
struct page *gch_idle_take(struct gch_heap *heap, unsigned long index)
{
	struct page *page;

	lockdep_assert_held(&heap->lock);
	page = xa_erase(&heap->idle, index);
	if (page)
		atomic_long_dec(&heap->idle_pages);
	return page;
}

/* Return the pages in @v (sorted by index): zap them in runs, free them. */
static void gch_idle_return(struct gch_heap *heap, unsigned long *idx,
			    struct page **v, unsigned int n)
{
	unsigned int i, run;

	for (i = 0; i < n; i = run) {
		for (run = i + 1; run < n && idx[run] == idx[run - 1] + 1; run++)
			;
		gch_idle_zap(heap, idx[i], run - i);
	}
	for (i = 0; i < n; i++)
		put_page(v[i]);
	atomic_long_sub(n, &heap->idle_pages);
	heap->scavenged_bytes += (u64)n << PAGE_SHIFT;
}

/*
 * Would @pages more pages leave the owner's memory cgroup, or one above
 * it, with less than max >> @shift (clamped to [@floor, @ceil] pages) to
 * spare?
 */
static bool gch_memcg_short(struct gch_heap *heap, unsigned long pages,
			    unsigned int shift, unsigned long floor,
			    unsigned long ceil)
{
	bool short_ = false;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(heap->mm);
	struct page_counter *c;

	if (!memcg)
		return false;
	for (c = &memcg->memory; c && !short_; c = c->parent) {
		unsigned long max = READ_ONCE(c->max);

		short_ = max != PAGE_COUNTER_MAX &&
			 page_counter_read(c) + pages +
			 clamp(max >> shift, floor, ceil) > max;
	}
	mem_cgroup_put(memcg);
#endif
	return short_;
}

/**
 * gch_scav_memcg_tight() - is the owner's memory cgroup near its limit?
 * @heap: the heap.
 *
 * Idle pages stay charged to the owner's cgroup, and the cgroup's reclaim
 * cannot take them back (they are on no LRU list): at the limit, the
 * program's next page fault elsewhere would wake the OOM killer.  So a
 * heap keeps none while the cgroup, or one above it, has less than an
 * eighth of its limit left.
 *
 * Return: true if idle pages should go back now.
 */
bool gch_scav_memcg_tight(struct gch_heap *heap)
{
	return gch_memcg_short(heap, 0, 3, 0, ULONG_MAX);
}

/* The reserve a heap leaves its cgroup: 1/32 of the limit, 1 to 16 MiB. */
#define GCH_MEMCG_RESERVE_SHIFT	5
#define GCH_MEMCG_RESERVE_MIN	(SZ_1M >> PAGE_SHIFT)
#define GCH_MEMCG_RESERVE_MAX	(SZ_16M >> PAGE_SHIFT)

/* Would @pages more pages eat into the reserve? */
static bool gch_memcg_reserve_short(struct gch_heap *heap,
				    unsigned long pages)
{
	return gch_memcg_short(heap, pages, GCH_MEMCG_RESERVE_SHIFT,
			       GCH_MEMCG_RESERVE_MIN, GCH_MEMCG_RESERVE_MAX);
}

/**
 * gch_memcg_room() - may the heap take @pages new pages?
 * @heap:  the heap, locked.
 * @pages: pages a span about to be populated needs.
 *
 * The heap leaves the program a reserve in its memory cgroup (1/32 of the
 * limit, 1 to 16 MiB): a heap that filled the cgroup to the byte would
 * get ENOMEM as documented, but the program's next fault anywhere else
 * (a stack page, a copy-on-write page after fork) would then wake the
 * OOM killer.  Idle pages are returned first to make room.
 *
 * Return: true if there is room.
 */
bool gch_memcg_room(struct gch_heap *heap, unsigned long pages)
{
	if (!gch_memcg_reserve_short(heap, pages))
		return true;
	return gch_scav_reclaim(heap) && !gch_memcg_reserve_short(heap, pages);
}

/*
 * Idle pages the heap may keep beyond its seen-twice rule: up to half its
 * goal above it, counting the pages in use.  No goal (GC off): no bound.
 */
static unsigned long gch_idle_excess(struct gch_heap *heap)
{
	u64 mapped = heap->core.mapped_pages << (GCH_PAGE_SHIFT - PAGE_SHIFT);
	u64 idle = atomic_long_read(&heap->idle_pages);
	u64 bound;

	if (!heap->heap_goal)
		return 0;
	bound = (heap->heap_goal + heap->heap_goal / 2) >> PAGE_SHIFT;
	return mapped + idle > bound ? min(idle, mapped + idle - bound) : 0;
}

/*
 * One batch, the heap locked: from @*next on, return pages seen by the
 * last tick (if @seen), and any while @*excess lasts; mark the others
 * (if @seen).  Return: true when the whole store was walked.
 */
static bool gch_scav_batch(struct gch_heap *heap, unsigned long *next,
			   unsigned long *excess, bool seen, unsigned long *idx,
			   struct page **v)
{
	unsigned int n = 0, walked = 0;
	struct page *page;
	unsigned long i;

	xa_for_each_start(&heap->idle, i, page, *next) {
		if (walked++ == GCH_SCAV_BATCH) {
			*next = i;
			break;
		}
		if (*excess ||
		    (seen && xa_get_mark(&heap->idle, i, GCH_IDLE_SEEN))) {
			xa_erase(&heap->idle, i);
			idx[n] = i;
			v[n++] = page;
			if (*excess)
				(*excess)--;
		} else if (seen) {
			xa_set_mark(&heap->idle, i, GCH_IDLE_SEEN);
		}
	}
	gch_idle_return(heap, idx, v, n);
	return walked <= GCH_SCAV_BATCH;
}

/*
 * Walk the store, the heap locked throughout if @locked (then in one go),
 * else taking the lock per batch.  @excess: pages to return whatever
 * their age; @seen: also apply the seen-twice rule (a tick).
 */
static void gch_scav_walk(struct gch_heap *heap, unsigned long excess,
			  bool seen, bool locked)
{
	unsigned long next = 0, *idx;
	struct page **v;
	bool done;

	idx = kmalloc_array(GCH_SCAV_BATCH, sizeof(*idx), GFP_KERNEL);
	v = kmalloc_array(GCH_SCAV_BATCH, sizeof(*v), GFP_KERNEL);
	if (!idx || !v)
		goto out;
	if (!locked)
		mutex_lock(&heap->lock);
	if (excess == ULONG_MAX - 1)
		excess = gch_idle_excess(heap);
	do {
		done = gch_scav_batch(heap, &next, &excess, seen, idx, v);
		if (!done && !locked) {
			mutex_unlock(&heap->lock);
			cond_resched();
			mutex_lock(&heap->lock);
		}
	} while (!done && (seen || excess));
	if (!locked)
		mutex_unlock(&heap->lock);
out:
	kfree(idx);
	kfree(v);
}

/* Excess over the goal, computed under the lock by gch_scav_walk(). */
#define GCH_SCAV_EXCESS		(ULONG_MAX - 1)

static void gch_scav_tick(struct work_struct *work)
{
	struct gch_heap *heap = container_of(to_delayed_work(work),
					     struct gch_heap, scav_work);

	gch_scav_walk(heap, gch_scav_memcg_tight(heap) ? ULONG_MAX :
			    GCH_SCAV_EXCESS, true, false);
	/* pages left (or no memory for the walk): look again next period */
	if (atomic_long_read(&heap->idle_pages))
		gch_scav_kick(heap);
}

/**
 * gch_scav_trim() - return idle pages beyond what the heap's goal allows
 * @heap: the heap, locked.
 *
 * At the end of a sweep: a heap far above its new goal returns its spare
 * pages at once, not one period later.
 */
void gch_scav_trim(struct gch_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	if (atomic_long_read(&heap->idle_pages) && gch_scav_memcg_tight(heap))
		gch_scav_walk(heap, ULONG_MAX, false, true);
	else if (gch_idle_excess(heap))
		gch_scav_walk(heap, GCH_SCAV_EXCESS, false, true);
}

/**
 * gch_scav_reclaim() - return every idle page
 * @heap: the heap, locked.
 *
 * When a span cannot get a new page (the memory cgroup is at its limit):
 * idle pages elsewhere in the arena are memory the heap can give up.
 *
 * Return: true if there were any.
 */
bool gch_scav_reclaim(struct gch_heap *heap)
{
	lockdep_assert_held(&heap->lock);
	if (!atomic_long_read(&heap->idle_pages))
		return false;
	gch_scav_walk(heap, ULONG_MAX, false, true);
	return true;
}

/**
 * gch_scav_init() - prepare a new heap's idle store and scavenger
 * @heap: the heap.
 */
void gch_scav_init(struct gch_heap *heap)
{
	xa_init(&heap->idle);
	INIT_DELAYED_WORK(&heap->scav_work, gch_scav_tick);
}

/**
 * gch_scav_stop() - stop the scavenger of a heap being released
 * @heap: the heap; its mappings are gone.
 *
 * Before the heap's core is destroyed: a tick reads the core.
 */
void gch_scav_stop(struct gch_heap *heap)
{
	WRITE_ONCE(heap->scav_stop, true);
	cancel_delayed_work_sync(&heap->scav_work);
}

/**
 * gch_scav_destroy() - free every idle page
 * @heap: a heap being released, its scavenger stopped and its core
 *        destroyed (which made every span's pages idle).
 */
void gch_scav_destroy(struct gch_heap *heap)
{
	struct page *page;
	unsigned long i;

	xa_for_each(&heap->idle, i, page)
		put_page(page);
	xa_destroy(&heap->idle);
	atomic_long_set(&heap->idle_pages, 0);
}

/**
 * gch_scav_idle_bytes() - bytes of idle pages now
 * @heap: the heap.
 *
 * Return: a snapshot.
 */
u64 gch_scav_idle_bytes(struct gch_heap *heap)
{
	return (u64)atomic_long_read(&heap->idle_pages) << PAGE_SHIFT;
}
