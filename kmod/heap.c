// SPDX-License-Identifier: GPL-2.0
/*
 * Heap objects: one per open file of /dev/gcheap, bound to the address
 * space of the process that opened it; and the operations of the
 * allocation ioctls on them, on top of the portable core (core/heap.c).
 *
 * Every operation takes heap->lock and never touches user memory while
 * holding it (the arena's fault handler takes the same lock): results go
 * through kernel buffers and are copied out after unlocking.
 */
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "internal.h"

/* Most objects one buffer-mode refill hands out. */
#define GCH_REFILL_MAX_BUF	4096U

static atomic_t gch_nr_heaps = ATOMIC_INIT(0);
static atomic64_t gch_next_heap_id = ATOMIC64_INIT(0);

/* Heaps open per user (uid in the initial namespace -> count). */
static DEFINE_XARRAY(gch_user_heaps);
static DEFINE_MUTEX(gch_user_lock);

/*
 * Count one more heap of @uid, unless the user has max_heaps_per_user.
 * Return: 0, -EMFILE, -ENOMEM.
 */
static int gch_user_get(uid_t uid)
{
	unsigned long n;
	void *old;
	int err = 0;

	mutex_lock(&gch_user_lock);
	old = xa_load(&gch_user_heaps, uid);
	n = old ? xa_to_value(old) : 0;
	if (n >= READ_ONCE(gch_max_heaps_per_user)) {
		err = -EMFILE;
	} else {
		old = xa_store(&gch_user_heaps, uid, xa_mk_value(n + 1),
			       GFP_KERNEL);
		if (xa_is_err(old))
			err = xa_err(old);
	}
	mutex_unlock(&gch_user_lock);
	return err;
}

static void gch_user_put(uid_t uid)
{
	unsigned long n;
	void *old;

	mutex_lock(&gch_user_lock);
	old = xa_load(&gch_user_heaps, uid);
	n = old ? xa_to_value(old) : 1;
	/* replacing a present entry allocates nothing; NULL erases it */
	xa_store(&gch_user_heaps, uid, n > 1 ? xa_mk_value(n - 1) : NULL,
		 GFP_KERNEL);
	mutex_unlock(&gch_user_lock);
}

/*
 * Teach lockdep the order every path keeps (design.rst, "Locks"), once per
 * heap: collect_lock, the owner's mmap lock, the heap lock, the heap
 * inode's i_mmap lock.  A path that takes two of them the other way, or
 * faults on user memory under the heap lock, is then reported on the
 * debug kernel even when the two paths never meet in a test.
 */
static void gch_heap_lockdep_prime(struct gch_heap *heap)
{
	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		return;
	mutex_lock(&heap->collect_lock);
	mmap_read_lock(current->mm);
	mutex_lock(&heap->lock);
	i_mmap_lock_read(heap->inode->i_mapping);
	i_mmap_unlock_read(heap->inode->i_mapping);
	mutex_unlock(&heap->lock);
	mmap_read_unlock(current->mm);
	mutex_unlock(&heap->collect_lock);
}

/**
 * gch_heap_open() - make a heap owned by the calling process
 *
 * Return: the heap, or ERR_PTR(-EINVAL) when called without an address
 * space, -ENFILE when max_heaps heaps are open, -EMFILE when the calling
 * user has max_heaps_per_user open, -ENOMEM.
 */
struct gch_heap *gch_heap_open(void)
{
	uid_t uid = from_kuid(&init_user_ns, current_uid());
	struct gch_heap *heap;
	int err;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	if (atomic_inc_return(&gch_nr_heaps) > READ_ONCE(gch_max_heaps)) {
		atomic_dec(&gch_nr_heaps);
		pr_warn_ratelimited("gcheap: max_heaps (%u) reached, open by pid %d refused\n",
				    READ_ONCE(gch_max_heaps),
				    task_tgid_nr(current));
		return ERR_PTR(-ENFILE);
	}
	err = gch_user_get(uid);
	if (err) {
		atomic_dec(&gch_nr_heaps);
		if (err == -EMFILE)
			pr_warn_ratelimited("gcheap: max_heaps_per_user (%u) reached by uid %u, open by pid %d refused\n",
					    READ_ONCE(gch_max_heaps_per_user),
					    uid, task_tgid_nr(current));
		return ERR_PTR(err);
	}
	heap = kzalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap) {
		err = -ENOMEM;
		goto fail;
	}
	heap->uid = uid;
	mutex_init(&heap->lock);
	mutex_init(&heap->collect_lock);
	gch_scav_init(heap);
	gch_specials_init(heap);
	err = gch_arena_fs_init(heap);
	if (err)
		goto fail_free;
	gch_heap_lockdep_prime(heap);
	heap->id = atomic64_inc_return(&gch_next_heap_id);
	heap->tgid = task_tgid_nr(current);
	heap->arena_size = round_down(READ_ONCE(gch_default_arena_size),
				      GCH_PAGE_SIZE);
	heap->gc_percent = 100;
	heap->concurrent = GCH_CONCURRENT_MODULE;
	gch_heap_set_goal(heap);
	mmgrab(current->mm);
	heap->mm = current->mm;
	return heap;

fail_free:
	kfree(heap);
fail:
	gch_user_put(uid);
	atomic_dec(&gch_nr_heaps);
	return ERR_PTR(err);
}

/**
 * gch_heap_release() - free a heap and everything it holds
 * @heap: the heap; its file is being released, so no ioctl or mapping
 *        of it remains.
 */
void gch_heap_release(struct gch_heap *heap)
{
	gch_collector_destroy(heap);
	gch_specials_destroy(heap);
	gch_scav_stop(heap);
	if (heap->arena_state != GCH_MAP_NONE)
		gch_heap_destroy(&heap->core);
	gch_scav_destroy(heap);
	gch_control_destroy(heap);
	gch_arena_fs_exit(heap);
	mmdrop(heap->mm);
	mutex_destroy(&heap->collect_lock);
	mutex_destroy(&heap->lock);
	gch_user_put(heap->uid);
	kfree(heap);
	atomic_dec(&gch_nr_heaps);
}

/**
 * gch_heap_check_owner() - may the calling process use @heap?
 * @heap: the heap of the file being operated on.
 *
 * A heap belongs to the process (thread group and mm) that created it; a
 * forked child, a clone(CLONE_VM) child or a process that received the
 * file descriptor over a socket must not touch it.
 * Comparing mm pointers is safe because the heap holds mm_count: the
 * owner's mm_struct cannot be freed and its address reused meanwhile.
 *
 * Return: 0 or -EPERM.
 */
int gch_heap_check_owner(const struct gch_heap *heap)
{
	/*
	 * The thread group too: a clone(CLONE_VM) child that is not a
	 * thread shares the mm, but a collection it ran would stop none of
	 * the owner's threads.
	 */
	return current->mm == heap->mm && task_tgid_nr(current) == heap->tgid ?
	       0 : -EPERM;
}

/**
 * gch_heap_meta_bytes() - kernel memory a heap uses for its bookkeeping
 * @heap: the heap, locked.
 *
 * Return: the core's metadata plus the module's own.
 */
u64 gch_heap_meta_bytes(const struct gch_heap *heap)
{
	return heap->core.metadata_bytes + heap->kmeta_bytes +
	       (heap->mark ? gch_mark_buffer_bytes(heap->mark) : 0);
}

/**
 * gch_heap_meta_charge() - count more bookkeeping against max_heap_metadata
 * @heap:  the heap, locked.
 * @bytes: about to be allocated (the core's own may already be counted).
 *
 * Return: 0 (then @heap->kmeta_bytes grew by @bytes), or -ENOMEM if the
 * heap would pass max_heap_metadata.
 */
int gch_heap_meta_charge(struct gch_heap *heap, u64 bytes)
{
	u64 cap = READ_ONCE(gch_max_heap_metadata);

	if (cap && gch_heap_meta_bytes(heap) + bytes > cap)
		return -ENOMEM;
	heap->kmeta_bytes += bytes;
	return 0;
}

/**
 * gch_heap_configure() - set and report a heap's parameters
 * @heap: the heap.
 * @cfg:  in: requested values (0 keeps); out: the values in force.
 *
 * Return: 0, -EINVAL (arena size not a multiple of GCH_PAGE_SIZE, or too
 * small; gc_percent above GCH_GC_PERCENT_MAX and not GCH_GC_OFF; TLS
 * extents above GCH_TLS_MAX; concurrent not a GCH_CONCURRENT_*), -ENOMEM
 * (above max_arena_size), -EBUSY (arena size change after the arena was
 * mapped).
 */
int gch_heap_configure(struct gch_heap *heap, struct gch_heap_config *cfg)
{
	int err = 0;

	mutex_lock(&heap->lock);
	if (cfg->arena_size && cfg->arena_size != heap->arena_size) {
		if (heap->arena_state != GCH_MAP_NONE)
			err = -EBUSY;
		else if (cfg->arena_size % GCH_PAGE_SIZE ||
			 cfg->arena_size < 16 * GCH_PAGE_SIZE ||
			 cfg->arena_size > (u64)U32_MAX << GCH_PAGE_SHIFT)
			err = -EINVAL;
		else if (cfg->arena_size > READ_ONCE(gch_max_arena_size))
			err = -ENOMEM;
		else
			heap->arena_size = cfg->arena_size;
	}
	if (!err && (cfg->workers > 1024 || cfg->tls_below > GCH_TLS_MAX ||
		     cfg->tls_above > GCH_TLS_MAX ||
		     cfg->concurrent > GCH_CONCURRENT_MODULE ||
		     (cfg->gc_percent > GCH_GC_PERCENT_MAX &&
		      cfg->gc_percent != GCH_GC_OFF)))
		err = -EINVAL;
	if (!err) {
		if (cfg->gc_percent) {
			heap->gc_percent = cfg->gc_percent;
			gch_heap_set_goal(heap);
		}
		if (cfg->workers)
			heap->workers = cfg->workers;
		if (cfg->tls_below)
			heap->tls_below = cfg->tls_below;
		if (cfg->tls_above)
			heap->tls_above = cfg->tls_above;
		/* the next collection starts as it says */
		if (cfg->concurrent)
			WRITE_ONCE(heap->concurrent, cfg->concurrent);
	}
	cfg->arena_size = heap->arena_size;
	cfg->gc_percent = heap->gc_percent;
	cfg->workers = heap->workers;
	cfg->tls_below = heap->tls_below;
	cfg->tls_above = heap->tls_above;
	cfg->concurrent = heap->concurrent;
	cfg->control_size = gch_control_size();
	cfg->cpu_stride = gch_cache_layout.stride;
	cfg->nr_cpus = nr_cpu_ids;
	cfg->arena_start = heap->arena_state == GCH_MAP_LIVE ?
			   heap->arena_start : 0;
	mutex_unlock(&heap->lock);
	return err;
}

/* Is @spanclass one with objects of a small size class? */
static bool gch_spanclass_valid(u32 spanclass)
{
	return spanclass >= GCH_SPANCLASS(1, 0) &&
	       spanclass < 2 * gch_size_classes.nr_classes;
}

/* Give back objects a refill took but could not hand out. */
static void gch_heap_unallocate(struct gch_heap *heap, const u64 *offs,
				unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		WARN_ON_ONCE(gch_heap_free(&heap->core,
					   offs[i] & ~GCH_OBJ_UNZEROED));
}

/*
 * Lock the heap for an allocation that may populate spans, with the
 * owner's mmap lock held (read) around it, the fault handler's order, so
 * that new spans' pages are mapped at once (gch_arena_premap()) instead
 * of faulted in one by one under the heap lock.  Return: 0 or -EINTR
 * (a fatal signal while waiting for the mmap lock).
 */
static int gch_heap_lock_alloc(struct gch_heap *heap)
{
	struct vm_area_struct *vma;

	if (mmap_read_lock_killable(heap->mm))
		return -EINTR;
	/* the background sweep lets us in at its next step */
	atomic_inc(&heap->alloc_waiters);
	mutex_lock(&heap->lock);
	atomic_dec(&heap->alloc_waiters);
	/*
	 * Only a mapping still in the tree: munmap() detaches the VMA, then
	 * downgrades to the read lock we hold while it zaps and frees the
	 * page tables; pages inserted into it then would outlive them (the
	 * fault handler is safe: it looks the VMA up).
	 */
	vma = heap->arena_vma;
	heap->premap = vma && vma_lookup(heap->mm, heap->arena_start) == vma ?
		       vma : NULL;
#ifdef SPLIT_RSS_COUNTING
	/*
	 * Up to 6.1 the RSS counters of pages a task maps sit in its own
	 * cache until its next 64th page fault or its exit; mapping
	 * thousands here would hide them from RSS, the high-water mark and
	 * the OOM killer's badness.  Faults sync them: no premapping.
	 */
	heap->premap = NULL;
#endif
	return 0;
}

static void gch_heap_unlock_alloc(struct gch_heap *heap)
{
	heap->premap = NULL;
	mutex_unlock(&heap->lock);
	mmap_read_unlock(heap->mm);
}

/**
 * gch_heap_refill() - hand out free objects of one span class
 * @heap: the heap.
 * @r:    the request; @r->count and @r->cpu are set on success.
 * @ubuf: with GCH_REFILL_BUFFER, where the object addresses go.
 *
 * Return: 0, -EINVAL, -ENXIO (a mapping is missing), -ENOMEM, -EFAULT,
 * -EINTR.
 */
int gch_heap_refill(struct gch_heap *heap, struct gch_refill *r,
		    u64 __user *ubuf)
{
	bool to_buf = r->hdr.flags & GCH_REFILL_BUFFER;
	bool unzeroed = r->hdr.flags & GCH_REFILL_UNZEROED;
	unsigned int want, i, cpu = 0;
	u64 *offs;
	int n, placed;

	if (!gch_spanclass_valid(r->spanclass))
		return -EINVAL;
	if (to_buf) {
		if (!r->max || r->max > GCH_REFILL_MAX_BUF)
			return -EINVAL;
		want = r->max;
	} else {
		want = gch_cache_layout.capacity[r->spanclass];
	}
	/*
	 * A buffer refill copies out after unlocking: a buffer of its own.
	 * A cache refill is done under the heap lock: the heap's staging
	 * buffer, not an allocation (zeroed, with init_on_alloc) per call.
	 */
	offs = NULL;
	if (to_buf) {
		offs = kvmalloc_array(want, sizeof(*offs),
				      GFP_KERNEL | __GFP_NOWARN);
		if (!offs)
			return -ENOMEM;
	}

	n = gch_heap_lock_alloc(heap);
	if (n)
		goto out;
	if (heap->arena_state != GCH_MAP_LIVE ||
	    (!to_buf && heap->control_state != GCH_MAP_LIVE)) {
		n = -ENXIO;
		goto unlock;
	}
	if (!to_buf)
		offs = heap->refill_offs;
	/* during a lazy sweep this sweeps spans of the class it needs */
	n = gch_heap_alloc_objs(&heap->core, r->spanclass, offs, want,
				unzeroed);
	r->gc_due = gch_heap_gc_due(heap);
	if (n > 0)
		heap->refills++;
	if (n < 0 || to_buf)
		goto unlock;
	placed = gch_control_fill(heap, r->spanclass, offs, n, &cpu);
	if (placed < 0) {
		gch_heap_unallocate(heap, offs, n);
		n = placed;
		goto unlock;
	}
	/* the cache had less room than we took (a race on this CPU) */
	gch_heap_unallocate(heap, offs + placed, n - placed);
	n = placed;
unlock:
	gch_heap_unlock_alloc(heap);
	if (n < 0)
		goto out;
	if (to_buf) {
		for (i = 0; i < n; i++)
			offs[i] += heap->arena_start;
		if (copy_to_user(ubuf, offs, n * sizeof(*offs))) {
			/*
			 * Give them back, but without a warning: unlocked,
			 * another thread may have freed some meanwhile (their
			 * addresses are easy to guess, or were partly copied).
			 */
			mutex_lock(&heap->lock);
			for (i = 0; i < n; i++)
				gch_heap_free(&heap->core,
					      (offs[i] - heap->arena_start) &
					      ~GCH_OBJ_UNZEROED);
			mutex_unlock(&heap->lock);
			n = -EFAULT;
			goto out;
		}
	}
	r->count = n;
	r->cpu = cpu;
	n = 0;
out:
	if (to_buf)
		kvfree(offs);
	return n;
}

/**
 * gch_heap_alloc_large_obj() - allocate an object with a span of its own
 * @heap:   the heap.
 * @size:   bytes, more than GCH_MAX_SMALL_SIZE.
 * @noscan: the object never holds pointers.
 * @addr:   out: its user address.
 * @gc_due: out: the heap passed its goal.
 *
 * Return: 0, -EINVAL, -ENXIO, -ENOMEM, -EINTR.
 */
int gch_heap_alloc_large_obj(struct gch_heap *heap, u64 size, bool noscan,
			     u64 *addr, u32 *gc_due)
{
	u64 off;
	int err;

	if (size <= GCH_MAX_SMALL_SIZE)
		return -EINVAL;
	err = gch_heap_lock_alloc(heap);
	if (err)
		return err;
	if (heap->arena_state != GCH_MAP_LIVE) {
		err = -ENXIO;
	} else {
		/* it may sweep dead large objects first: as in a refill */
		err = gch_heap_alloc_large(&heap->core, size, noscan, &off);
		if (!err)
			*addr = heap->arena_start + off;
		*gc_due = gch_heap_gc_due(heap);
	}
	gch_heap_unlock_alloc(heap);
	return err;
}

/* The arena offset of a user address, or -EINVAL if outside the arena. */
int gch_heap_offset(struct gch_heap *heap, u64 addr, u64 *off)
{
	if (heap->arena_state != GCH_MAP_LIVE)
		return -ENXIO;
	if (addr < heap->arena_start ||
	    addr - heap->arena_start >= heap->arena_size)
		return -EINVAL;
	*off = addr - heap->arena_start;
	return 0;
}

/**
 * gch_heap_free_obj() - free an object explicitly
 * @heap: the heap.
 * @addr: the object's first byte.
 *
 * Return: 0, -EINVAL (not the start of an allocated object), -ENXIO.
 */
int gch_heap_free_obj(struct gch_heap *heap, u64 addr)
{
	u64 off;
	int err;

	struct gch_objinfo oi;

	mutex_lock(&heap->lock);
	err = gch_heap_offset(heap, addr, &off);
	/* an object's size, for its specials; the free judges @addr */
	if (!err && gch_heap_lookup(&heap->core, off, &oi))
		oi.size = 0;
	if (!err)
		err = gch_heap_free(&heap->core, off);
	if (!err && oi.size)
		gch_specials_forget(heap, off, oi.size);
	mutex_unlock(&heap->lock);
	return err;
}

/**
 * gch_heap_query() - describe the object an address points into
 * @heap: the heap.
 * @q:    in: @q->addr; out: the object.
 *
 * Return: 0, -EINVAL (outside the arena), -ENOENT (not in an allocated
 * object), -ENXIO.
 */
int gch_heap_query(struct gch_heap *heap, struct gch_query *q)
{
	struct gch_objinfo info;
	u64 off;
	int err;

	mutex_lock(&heap->lock);
	err = gch_heap_offset(heap, q->addr, &off);
	if (!err)
		err = gch_heap_lookup(&heap->core, off, &info);
	if (!err) {
		q->base = heap->arena_start + info.base;
		q->size = info.size;
		q->sizeclass = info.sizeclass;
		q->oflags = (info.noscan ? GCH_OBJ_NOSCAN : 0) |
			    (info.sizeclass ? 0 : GCH_OBJ_LARGE);
	}
	mutex_unlock(&heap->lock);
	return err;
}

/**
 * gch_heap_stats() - fill in a heap's statistics
 * @heap: the heap.
 * @st:   the result; the header is left alone.
 */
void gch_heap_stats(struct gch_heap *heap, struct gch_stats *st)
{
	struct gch_heap_core *core = &heap->core;
	unsigned int c;

	mutex_lock(&heap->lock);
	st->arena_size = heap->arena_size;
	st->nr_classes = gch_size_classes.nr_classes;
	if (heap->arena_state == GCH_MAP_NONE)
		goto unlock;
	st->mapped_bytes = core->mapped_pages << GCH_PAGE_SHIFT;
	st->inuse_bytes = core->inuse_bytes;
	st->objects = core->objects;
	st->large_objects = core->nlarge;
	st->metadata_bytes = gch_heap_meta_bytes(heap);
	st->cached_objects = gch_control_cached_objects(heap);
	st->refills = heap->refills;
	st->unswept_spans = core->unswept;
	st->idle_bytes = gch_scav_idle_bytes(heap);
	st->scavenged_bytes = heap->scavenged_bytes;
	gch_specials_stats(heap, st);
	st->classes[0].nmalloc = core->large_nmalloc;
	st->classes[0].nfree = core->large_nfree;
	st->classes[0].spans = core->nlarge;
	for (c = 1; c < gch_size_classes.nr_classes; c++) {
		const struct gch_central *scan = &core->central[GCH_SPANCLASS(c, 0)];
		const struct gch_central *noscan = &core->central[GCH_SPANCLASS(c, 1)];

		st->classes[c].nmalloc = scan->nmalloc + noscan->nmalloc;
		st->classes[c].nfree = scan->nfree + noscan->nfree;
		st->classes[c].spans = scan->nspans + noscan->nspans;
	}
	for (c = 0; c < gch_size_classes.nr_classes; c++) {
		st->nmalloc += st->classes[c].nmalloc;
		st->nfree += st->classes[c].nfree;
		st->spans_inuse += st->classes[c].spans;
	}
unlock:
	mutex_unlock(&heap->lock);
}
