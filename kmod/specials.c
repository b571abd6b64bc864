// SPDX-License-Identifier: GPL-2.0
/*
 * Specials: finalizers and weak links, kept per heap in the module, and
 * the collection's finalizer and weak phases.
 *
 * Records.  A finalizer (struct gch_fin) is found by its object's arena
 * offset in @spec.fin; a weak link (struct gch_weakref) by the link's user
 * address in @spec.weak.  Both are kmalloc'd, charged to the owner's
 * memory cgroup and counted against max_heap_metadata, and all of them
 * change under @heap->lock only.  A finalizer whose object was found
 * unreachable leaves @spec.fin for the queue @spec.ready, from which
 * GCH_IOC_FIN_TAKE hands batches to the library.
 *
 * Roots.  The @data of every registered finalizer, and the object and
 * @data of every queued one, are roots of the ordinary mark
 * (gch_specials_mark_roots(), one root item): a queued object stays alive
 * until the program has taken it, and then its taker's stack holds it.
 *
 * The phases run in the pause, after the ordinary mark, the heap locked
 * (gch_specials_collect()), as bdwgc's GC_finalize() and the Go runtime's
 * specials do:
 *
 *   1. short links whose target is unmarked are chosen for clearing;
 *   2. finalizer phase: every registered object still unmarked is a
 *      candidate; one parallel mark from the candidates' contents (not
 *      the candidates themselves) marks what they reach.  A candidate
 *      that stays unmarked is reached by no other candidate: it is
 *      queued, its registration removed, and a second mark keeps it and
 *      (already marked) what it reaches.  A candidate that got marked
 *      is reached by another one, or by itself through a cycle: it waits
 *      (counted), so if A reaches B, A is finalized first and B only
 *      after a later collection, and a cycle never.  The registration's
 *      flags change this as bdwgc's variants do: a NO_ORDER candidate's
 *      contents are left out of the first mark (it makes no one wait,
 *      itself included); an IGNORE_SELF candidate's words pointing into
 *      itself are; an UNREACHABLE candidate found unreached is queued
 *      only if the other queued ones do not reach it: a mark from those
 *      first, and one it got marked by waits;
 *   3. long links whose target is still unmarked (it will be freed) are
 *      chosen for clearing, and links inside an object that dies are
 *      dropped with their object.
 *
 * Links are written after the heap lock is dropped, the other threads
 * still stopped (gch_specials_clear_links()): with put_user() by the
 * collecting thread, a thread of the owner, so a write reaches only the
 * owner's memory and honours its protections.  A link unmapped or made
 * read-only since it was registered, or in device memory or memory armed
 * for userfaultfd, is dropped and counted, not an error.  Clearing needs no memory: @spec.clear is grown
 * as links are registered.
 */
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "internal.h"
#include "core/bitmap.h"

/* Objects are GCH_MIN_ALIGN-aligned: their offsets index @spec.fin. */
#define GCH_FIN_INDEX(off)	((unsigned long)((off) / GCH_MIN_ALIGN))
/* Links are 8-byte aligned user addresses. */
#define GCH_WEAK_INDEX(addr)	((unsigned long)((addr) / sizeof(u64)))
/* gch_weakref.container of a link outside the arena. */
#define GCH_NO_CONTAINER	U64_MAX

/* gch_fin.state: where a record is in one gch_specials_collect() */
enum {
	GCH_FIN_IDLE,		/* reachable, or waits */
	GCH_FIN_CAND,		/* unmarked by the ordinary mark */
	GCH_FIN_QUEUE,		/* unreached: to be queued */
	GCH_FIN_LATE,		/* unreached UNREACHABLE: QUEUE ones first */
};

/**
 * struct gch_fin - a registered or queued finalizer
 * @ready: in @spec.ready once queued.
 * @span:  the object's span, and @index its slot: fixed while the
 *         record lives (a registered or queued object is never swept, and
 *         freeing it explicitly drops the record first).
 * @obj:   the object's arena offset.
 * @fn:    as registered (opaque).
 * @data:  as registered: a root.
 * @pos:   its place in @spec.fins while registered.
 * @index: see @span.
 * @flags: GCH_FINALIZER_* order flag, as registered (at most one).
 * @state: GCH_FIN_*, in phase 2 only.
 */
struct gch_fin {
	struct list_head ready;
	struct gch_span *span;
	u64 obj;
	u64 fn;
	u64 data;
	unsigned long pos;
	u32 index;
	u8 flags;
	u8 state;
};

/**
 * struct gch_weakref - a registered weak link
 * @link:      its user address.
 * @obj:       the target's arena offset (its first byte).  The target may
 *             be freed explicitly while the link is registered, so it is
 *             looked up, never cached.
 * @container: arena offset of the object holding the link, or
 *             GCH_NO_CONTAINER.
 * @pos:       its place in @spec.weaks.
 * @is_long:   cleared when the target is freed, not when unreachable.
 * @dying:     short, and its target was unmarked after the ordinary mark.
 */
struct gch_weakref {
	u64 link;
	u64 obj;
	u64 container;
	unsigned long pos;
	bool is_long;
	bool dying;
};

/**
 * gch_specials_init() - set up a heap's specials
 * @heap: the heap being made.
 */
void gch_specials_init(struct gch_heap *heap)
{
	struct gch_specials *sp = &heap->spec;

	xa_init(&sp->fin);
	xa_init(&sp->weak);
	INIT_LIST_HEAD(&sp->ready);
	init_waitqueue_head(&sp->wq);
	mutex_init(&sp->take_lock);
}

/**
 * gch_specials_destroy() - free every record of a heap
 * @heap: the heap being released: no ioctl, no collection.
 */
void gch_specials_destroy(struct gch_heap *heap)
{
	struct gch_specials *sp = &heap->spec;
	struct gch_fin *f, *t;
	unsigned long i;

	for (i = 0; i < sp->nr_fin; i++)
		kfree(sp->fins[i]);
	kvfree(sp->fins);
	xa_destroy(&sp->fin);
	list_for_each_entry_safe(f, t, &sp->ready, ready)
		kfree(f);
	for (i = 0; i < sp->nr_weak; i++)
		kfree(sp->weaks[i]);
	kvfree(sp->weaks);
	xa_destroy(&sp->weak);
	kvfree(sp->clear);
	kvfree(sp->clear_old);
	mutex_destroy(&sp->take_lock);
}

/* The object @off points into, if allocated: its info.  Heap locked. */
static int gch_obj_at(struct gch_heap *heap, u64 off, struct gch_objinfo *oi)
{
	return gch_heap_lookup(&heap->core, off, oi);
}

/* Is the object at arena offset @off marked?  In the pause only. */
static bool gch_obj_marked(struct gch_heap *heap, u64 off)
{
	struct gch_objinfo oi;

	if (gch_obj_at(heap, off, &oi))
		return false;
	return gch_bitmap_test(oi.span->markbits, oi.index);
}

static bool gch_fin_marked(const struct gch_fin *f)
{
	return gch_bitmap_test(f->span->markbits, f->index);
}

/*
 * Make room for @need pointers in the array @*vec of @*cap, counting the
 * growth against max_heap_metadata.  Registration grows the arrays, so
 * that a collection walks them without allocating.  0 or -ENOMEM.
 */
static int gch_vec_reserve(struct gch_heap *heap, void ***vec,
			   unsigned long *cap, unsigned long need)
{
	unsigned long n = max(2 * *cap, 64UL);
	void **v;

	if (need <= *cap)
		return 0;
	if (gch_heap_meta_charge(heap, (n - *cap) * sizeof(*v)))
		return -ENOMEM;
	v = kvmalloc_array(n, sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v) {
		heap->kmeta_bytes -= (n - *cap) * sizeof(*v);
		return -ENOMEM;
	}
	if (*vec)
		memcpy(v, *vec, *cap * sizeof(*v));
	kvfree(*vec);
	*vec = v;
	*cap = n;
	return 0;
}

/* Take @f out of @spec.fins (its table entry is the caller's). */
static void gch_fin_unlist(struct gch_specials *sp, struct gch_fin *f)
{
	struct gch_fin *last = sp->fins[--sp->nr_fin];

	sp->fins[f->pos] = last;
	last->pos = f->pos;
}

static void gch_fin_free(struct gch_heap *heap, struct gch_fin *f)
{
	kfree(f);
	heap->kmeta_bytes -= sizeof(*f);
}

/* Drop the link @w: out of the table and the array, freed. */
static void gch_weak_drop(struct gch_heap *heap, struct gch_weakref *w)
{
	struct gch_specials *sp = &heap->spec;
	struct gch_weakref *last = sp->weaks[--sp->nr_weak];

	xa_erase(&sp->weak, GCH_WEAK_INDEX(w->link));
	sp->weaks[w->pos] = last;
	last->pos = w->pos;
	kfree(w);
	heap->kmeta_bytes -= sizeof(*w);
}

/**
 * gch_specials_finalizer() - register or remove a finalizer
 * @heap: the heap.
 * @a:    the request (GCH_IOC_FINALIZER); on success @old_fn and @old_data
 *        are set to the registration it replaced or removed (0 if none).
 *
 * Return: 0, -EINVAL, -ENOENT, -ENXIO, -ENOMEM.
 */
int gch_specials_finalizer(struct gch_heap *heap, struct gch_finalizer *a)
{
	struct gch_specials *sp = &heap->spec;
	u32 flags = a->hdr.flags;
	struct gch_objinfo oi;
	struct gch_fin *f;
	u64 off;
	int err;

	/* one order at most */
	if ((flags & ~GCH_FINALIZER_FLAGS) || (flags & (flags - 1)))
		return -EINVAL;
	mutex_lock(&heap->lock);
	err = gch_heap_offset(heap, a->obj, &off);
	if (!err)
		err = gch_obj_at(heap, off, &oi);
	if (err || oi.base != off) {
		err = err == -ENXIO ? err : -EINVAL;
		goto out;
	}
	f = xa_load(&sp->fin, GCH_FIN_INDEX(off));
	a->old_fn = f ? f->fn : 0;
	a->old_data = f ? f->data : 0;
	if (!a->fn) {
		if (!f) {
			err = -ENOENT;
		} else {
			xa_erase(&sp->fin, GCH_FIN_INDEX(off));
			gch_fin_unlist(sp, f);
			gch_fin_free(heap, f);
		}
		goto out;
	}
	if (f) {
		f->fn = a->fn;
		f->data = a->data;
		f->flags = flags;
		goto out;
	}
	err = gch_vec_reserve(heap, (void ***)&sp->fins, &sp->fin_cap,
			      sp->nr_fin + 1);
	if (!err)
		err = gch_heap_meta_charge(heap, sizeof(*f));
	if (err)
		goto out;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f) {
		heap->kmeta_bytes -= sizeof(*f);
		err = -ENOMEM;
		goto out;
	}
	f->span = oi.span;
	f->index = oi.index;
	f->obj = off;
	f->fn = a->fn;
	f->data = a->data;
	f->flags = flags;
	err = xa_err(xa_store(&sp->fin, GCH_FIN_INDEX(off), f,
			      GFP_KERNEL_ACCOUNT));
	if (err) {
		gch_fin_free(heap, f);
		goto out;
	}
	f->pos = sp->nr_fin;
	sp->fins[sp->nr_fin++] = f;
out:
	mutex_unlock(&heap->lock);
	return err;
}

/* Room for one more link, and to clear every link in one collection. */
static int gch_weak_reserve(struct gch_heap *heap)
{
	struct gch_specials *sp = &heap->spec;
	unsigned long need = sp->nr_weak + 1;
	u64 *v;
	int err;

	err = gch_vec_reserve(heap, (void ***)&sp->weaks, &sp->weak_cap, need);
	if (err || need <= sp->clear_cap)
		return err;
	/* @clear: as long as @weaks; its contents live for one collection */
	if (gch_heap_meta_charge(heap, (sp->weak_cap - sp->clear_cap) *
				       sizeof(*v)))
		return -ENOMEM;
	v = kvmalloc_array(sp->weak_cap, sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v) {
		heap->kmeta_bytes -= (sp->weak_cap - sp->clear_cap) * sizeof(*v);
		return -ENOMEM;
	}
	/* a collection writing links from the old one: free it after */
	if (sp->clearing && !sp->clear_old)
		sp->clear_old = sp->clear;
	else
		kvfree(sp->clear);
	sp->clear = v;
	sp->clear_cap = sp->weak_cap;
	return 0;
}

/* May @link be a link: not 0, 8-byte aligned, a user address? */
static bool gch_link_ok(u64 link)
{
	return link && !(link % sizeof(u64)) &&
	       access_ok(u64_to_user_ptr(link), sizeof(u64));
}

/*
 * The object holding @link, if in the arena: its offset in *@container,
 * else GCH_NO_CONTAINER.  -EINVAL for a link in the arena outside any
 * object.  Heap locked.
 */
static int gch_link_container(struct gch_heap *heap, u64 link, u64 *container)
{
	struct gch_objinfo oi;
	u64 off;

	*container = GCH_NO_CONTAINER;
	if (gch_heap_offset(heap, link, &off))
		return 0;
	if (gch_obj_at(heap, off, &oi))
		return -EINVAL;
	*container = oi.base;
	return 0;
}

/* Are GCH_IOC_WEAK's @flags a request this module knows? */
static bool gch_weak_flags_ok(u32 flags)
{
	u32 act = flags & (GCH_WEAK_REMOVE | GCH_WEAK_MOVE);

	if (flags & ~GCH_WEAK_FLAGS)
		return false;
	if (!act)		/* registration: LONG or not */
		return !(flags & GCH_WEAK_KIND);
	/* one action; LONG names the kind, so only with KIND */
	if (act & (act - 1))
		return false;
	return !(flags & GCH_WEAK_LONG) || (flags & GCH_WEAK_KIND);
}

/*
 * Move the link @w to the address @to (GCH_WEAK_MOVE), heap locked.  The
 * record stays in @spec.weaks: the arrays, and so @spec.clear and a
 * collection writing links from it meanwhile (@spec.clearing), are not
 * touched; only its table entry and address change.
 */
static int gch_weak_move(struct gch_heap *heap, struct gch_weakref *w, u64 to)
{
	struct gch_specials *sp = &heap->spec;
	u64 container;
	int err;

	if (to == w->link)
		return 0;
	err = gch_link_container(heap, to, &container);
	if (err)
		return err;
	err = xa_insert(&sp->weak, GCH_WEAK_INDEX(to), w, GFP_KERNEL_ACCOUNT);
	if (err)
		return err == -EBUSY ? -EEXIST : err;
	xa_erase(&sp->weak, GCH_WEAK_INDEX(w->link));
	w->link = to;
	w->container = container;
	return 0;
}

/**
 * gch_specials_weak() - register, remove or move a weak link
 * @heap: the heap.
 * @a:    the request (GCH_IOC_WEAK).
 *
 * Return: 0, -EINVAL, -EEXIST, -ENOENT, -ENXIO, -ENOMEM.
 */
int gch_specials_weak(struct gch_heap *heap, const struct gch_weak *a)
{
	struct gch_specials *sp = &heap->spec;
	unsigned long idx = GCH_WEAK_INDEX(a->link);
	u32 flags = a->hdr.flags;
	struct gch_objinfo oi;
	struct gch_weakref *w;
	u64 off, container;
	int err;

	if (!gch_weak_flags_ok(flags) || !gch_link_ok(a->link))
		return -EINVAL;
	if ((flags & GCH_WEAK_MOVE) && !gch_link_ok(a->obj))
		return -EINVAL;
	mutex_lock(&heap->lock);
	if (flags & (GCH_WEAK_REMOVE | GCH_WEAK_MOVE)) {
		w = xa_load(&sp->weak, idx);
		if (!w || ((flags & GCH_WEAK_KIND) &&
			   w->is_long != !!(flags & GCH_WEAK_LONG))) {
			err = -ENOENT;
		} else if (flags & GCH_WEAK_MOVE) {
			err = gch_weak_move(heap, w, a->obj);
		} else {
			gch_weak_drop(heap, w);
			err = 0;
		}
		goto out;
	}
	err = gch_heap_offset(heap, a->obj, &off);
	if (!err)
		err = gch_obj_at(heap, off, &oi);
	if (err) {
		err = err == -ENXIO ? err : -EINVAL;
		goto out;
	}
	off = oi.base;
	err = gch_link_container(heap, a->link, &container);
	if (err)
		goto out;
	if (xa_load(&sp->weak, idx)) {
		err = -EEXIST;
		goto out;
	}
	err = gch_weak_reserve(heap);
	if (!err)
		err = gch_heap_meta_charge(heap, sizeof(*w));
	if (err)
		goto out;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w) {
		heap->kmeta_bytes -= sizeof(*w);
		err = -ENOMEM;
		goto out;
	}
	w->link = a->link;
	w->obj = off;
	w->container = container;
	w->is_long = flags & GCH_WEAK_LONG;
	err = xa_insert(&sp->weak, idx, w, GFP_KERNEL_ACCOUNT);
	if (err) {
		kfree(w);
		heap->kmeta_bytes -= sizeof(*w);
		if (err == -EBUSY)
			err = -EEXIST;
		goto out;
	}
	w->pos = sp->nr_weak;
	sp->weaks[sp->nr_weak++] = w;
out:
	mutex_unlock(&heap->lock);
	return err;
}

/**
 * gch_specials_forget() - an object is freed explicitly (GCH_IOC_FREE)
 * @heap: the heap, locked.
 * @off:  the object's arena offset.
 * @size: its size.
 *
 * Its finalizer goes, and so do the links inside it.
 */
void gch_specials_forget(struct gch_heap *heap, u64 off, u64 size)
{
	struct gch_specials *sp = &heap->spec;
	u64 start = heap->arena_start + off;
	struct gch_weakref *w;
	struct gch_fin *f;
	unsigned long i;

	lockdep_assert_held(&heap->lock);
	f = xa_erase(&sp->fin, GCH_FIN_INDEX(off));
	if (f) {
		gch_fin_unlist(sp, f);
		gch_fin_free(heap, f);
	}
	if (!sp->nr_weak)
		return;
	xa_for_each_range(&sp->weak, i, w, GCH_WEAK_INDEX(start),
			  GCH_WEAK_INDEX(start + size - 1))
		gch_weak_drop(heap, w);
}

/**
 * gch_specials_mark_roots() - GCH_ROOT_FUNC: the finalizers' roots
 * @w:   the mark worker.
 * @arg: the heap, locked by the collecting thread for the mark.
 *
 * Every registered finalizer's data; every queued object and its data.
 */
void gch_specials_mark_roots(struct gch_mark_worker *w, void *arg)
{
	struct gch_heap *heap = arg;
	struct gch_fin *f;
	unsigned long i;

	for (i = 0; i < heap->spec.nr_fin; i++)
		gch_mark_words(w, &heap->spec.fins[i]->data, 1);
	list_for_each_entry(f, &heap->spec.ready, ready) {
		gch_mark_offsets(w, &f->obj, 1);
		gch_mark_words(w, &f->data, 1);
	}
}

/* Mark what @n words at @p point to, except into [@self, @self + @size). */
static void gch_fin_mark_others(struct gch_mark_worker *w, const u64 *p,
				size_t n, u64 self, u64 size)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (p[i] - self >= size)
			continue;
		if (i > run)
			gch_mark_words(w, p + run, i - run);
		run = i + 1;
	}
	if (n > run)
		gch_mark_words(w, p + run, n - run);
}

/* Phase 2, first mark: what the candidates' contents reach. */
static void gch_fin_mark_contents(struct gch_mark_worker *w, void *arg)
{
	struct gch_heap *heap = arg;
	const struct gch_span *s;
	struct gch_fin *f;
	const u64 *p;
	unsigned long i;

	for (i = 0; i < heap->spec.nr_fin; i++) {
		f = heap->spec.fins[i];
		s = f->span;
		/* reachable, pointer-free, or its contents make no one wait */
		if (f->state != GCH_FIN_CAND || (s->spanclass & 1) ||
		    (f->flags & GCH_FINALIZER_NO_ORDER))
			continue;
		p = (const u64 *)((const u8 *)s->mapped +
				  (size_t)f->index * s->elemsize);
		if (f->flags & GCH_FINALIZER_IGNORE_SELF)
			gch_fin_mark_others(w, p, s->elemsize / sizeof(u64),
					    heap->arena_start + f->obj,
					    s->elemsize);
		else
			gch_mark_words(w, p, s->elemsize / sizeof(u64));
	}
}

/* Phase 2, second mark: the objects about to be queued (GCH_FIN_QUEUE). */
static void gch_fin_mark_queued(struct gch_mark_worker *w, void *arg)
{
	struct gch_heap *heap = arg;
	struct gch_fin *f;
	unsigned long i;

	for (i = 0; i < heap->spec.nr_fin; i++) {
		f = heap->spec.fins[i];
		if (f->state == GCH_FIN_QUEUE)
			gch_mark_offsets(w, &f->obj, 1);
	}
}

/* One more parallel mark from a single root function. */
static int gch_fin_mark(struct gch_heap *heap, unsigned int n,
			void (*fn)(struct gch_mark_worker *w, void *arg),
			struct gch_mark_stats *ms)
{
	struct gch_root root = { .kind = GCH_ROOT_FUNC, .fn = fn, .arg = heap };

	return gch_heap_mark_more(heap, &root, 1, n, ms);
}

static void gch_ms_add(struct gch_mark_stats *to,
		       const struct gch_mark_stats *ms)
{
	to->objects_marked += ms->objects_marked;
	to->bytes_marked += ms->bytes_marked;
	to->objects_scanned += ms->objects_scanned;
	to->bytes_scanned += ms->bytes_scanned;
}

/**
 * gch_specials_collect() - the finalizer and weak phases of a collection
 * @heap: the heap, locked, the world stopped, the ordinary mark done.
 * @n:    mark workers.
 * @ms:   the mark's totals, to which the phases' marks are added.
 * @fi:   out: what the phases did.
 *
 * Return: 0, or an error of the core's mark (then nothing was queued or
 * chosen for clearing, and the caller keeps everything).
 */
int gch_specials_collect(struct gch_heap *heap, unsigned int n,
			 struct gch_mark_stats *ms, struct gch_fin_info *fi)
{
	struct gch_specials *sp = &heap->spec;
	struct gch_mark_stats more;
	unsigned int cands = 0, queued = 0, late = 0, late_queued = 0;
	struct gch_weakref *w;
	struct gch_fin *f;
	unsigned long i;
	u64 t0 = ktime_get_ns();
	int err;

	memset(fi, 0, sizeof(*fi));
	sp->nr_clear = 0;
	if (!sp->nr_fin && !sp->nr_weak)
		return 0;

	/* 1. short links to unreachable objects */
	for (i = 0; i < sp->nr_weak; i++) {
		w = sp->weaks[i];
		w->dying = !w->is_long && !gch_obj_marked(heap, w->obj);
	}

	/* 2. the finalizer phase */
	for (i = 0; i < sp->nr_fin; i++) {
		f = sp->fins[i];
		f->state = gch_fin_marked(f) ? GCH_FIN_IDLE : GCH_FIN_CAND;
		cands += f->state == GCH_FIN_CAND;
	}
	if (cands) {
		err = gch_fin_mark(heap, n, gch_fin_mark_contents, &more);
		if (err)
			return err;
		gch_ms_add(ms, &more);
		for (i = 0; i < sp->nr_fin; i++) {
			f = sp->fins[i];
			if (f->state != GCH_FIN_CAND)
				continue;
			if (gch_fin_marked(f)) {
				f->state = GCH_FIN_IDLE;
				fi->waiting++;
			} else if (f->flags & GCH_FINALIZER_UNREACHABLE) {
				f->state = GCH_FIN_LATE;
				late++;
			} else {
				f->state = GCH_FIN_QUEUE;
				queued++;
			}
		}
		/*
		 * UNREACHABLE ones the others about to be queued reach wait:
		 * a mark from the others first.  Marks on top of a finished
		 * one need no memory: these cannot fail.
		 */
		if (late && queued) {
			err = gch_fin_mark(heap, n, gch_fin_mark_queued, &more);
			if (WARN_ON_ONCE(err))
				return err;
			gch_ms_add(ms, &more);
		}
		for (i = 0; late && i < sp->nr_fin; i++) {
			f = sp->fins[i];
			if (f->state != GCH_FIN_LATE)
				continue;
			if (gch_fin_marked(f)) {
				f->state = GCH_FIN_IDLE;
				fi->waiting++;
			} else {
				f->state = GCH_FIN_QUEUE;
				late_queued++;
			}
		}
		queued += late_queued;
		/* keep the queued ones and what they reach */
		if (queued) {
			err = gch_fin_mark(heap, n, gch_fin_mark_queued, &more);
			if (WARN_ON_ONCE(err))
				return err;
			gch_ms_add(ms, &more);
		}
		/* downwards: a queued one's place takes the last one */
		for (i = sp->nr_fin; queued && i-- > 0; ) {
			f = sp->fins[i];
			if (f->state != GCH_FIN_QUEUE)
				continue;
			f->state = GCH_FIN_IDLE;
			xa_erase(&sp->fin, GCH_FIN_INDEX(f->obj));
			gch_fin_unlist(sp, f);
			list_add_tail(&f->ready, &sp->ready);
		}
	}
	fi->queued = queued;
	sp->nr_ready += queued;

	/* 3. long links to freed objects; links dying with their holder */
	for (i = sp->nr_weak; i-- > 0; ) {
		w = sp->weaks[i];
		if (w->container != GCH_NO_CONTAINER &&
		    !gch_obj_marked(heap, w->container)) {
			fi->weak_dropped++;
		} else if (w->dying || !gch_obj_marked(heap, w->obj)) {
			sp->clear[sp->nr_clear++] = w->link;
		} else {
			continue;
		}
		gch_weak_drop(heap, w);
	}
	/* at least 1: a heap with specials had the phases (a coarse clock) */
	fi->ns = max_t(u64, ktime_get_ns() - t0, 1);
	fi->clear = sp->clear;
	fi->nr_clear = sp->nr_clear;
	sp->clearing = sp->nr_clear;
	return 0;
}

/**
 * gch_specials_clear_links() - write the links chosen by the last phases
 * @heap: the heap, not locked; the world still stopped; called by the
 *        collecting thread, a thread of the owner.
 * @fi:   the phases' numbers: @weak_cleared and @weak_dropped grow.
 */
void gch_specials_clear_links(struct gch_heap *heap, struct gch_fin_info *fi)
{
	struct gch_specials *sp = &heap->spec;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long i, left = 0;
	int err;

	/*
	 * Most links are in pages mapped writable now: written without a
	 * fault, and marked with bit 1 of their 8-byte aligned address.
	 * Bit 0 marks the others.
	 */
	for (i = 0; i < fi->nr_clear; i++) {
		pagefault_disable();
		err = put_user(0ULL, (u64 __user *)u64_to_user_ptr(fi->clear[i]));
		pagefault_enable();
		if (!err) {
			fi->clear[i] |= 2;	/* written */
			fi->weak_cleared++;
		} else {
			fi->clear[i] |= 1;
			left++;
		}
	}
	if (!left)
		goto done;
	/*
	 * The others need a fault, unless their mapping must not be
	 * touched: not writable, device memory, or armed for userfaultfd
	 * (the fault would wait for a handler thread that is parked).
	 */
	mmap_read_lock(mm);
	for (i = 0; i < fi->nr_clear; i++) {
		if (!(fi->clear[i] & 1))
			continue;
		vma = vma_lookup(mm, fi->clear[i] & ~3ULL);
		if (vma && (vma->vm_flags & VM_WRITE) &&
		    !(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
		    !userfaultfd_armed(vma))
			fi->clear[i] &= ~1ULL;	/* may fault */
	}
	mmap_read_unlock(mm);
	/*
	 * Not under the heap lock, nor the mmap lock: a write may fault in
	 * an arena page, whose handler takes both.  A thread asleep in the
	 * kernel counts as stopped and may register a link meanwhile:
	 * @spec.clearing keeps @fi->clear alive.
	 */
	for (i = 0; i < fi->nr_clear; i++) {
		if (fi->clear[i] & 2)
			continue;
		if ((fi->clear[i] & 1) ||
		    put_user(0ULL, (u64 __user *)u64_to_user_ptr(fi->clear[i])))
			fi->weak_dropped++;
		else
			fi->weak_cleared++;
	}
done:
	mutex_lock(&heap->lock);
	sp->clearing = false;
	kvfree(sp->clear_old);
	sp->clear_old = NULL;
	sp->queued_total += fi->queued;
	sp->waiting = fi->waiting;
	sp->cleared_total += fi->weak_cleared;
	sp->dropped_total += fi->weak_dropped;
	sp->ns_total += fi->ns;
	mutex_unlock(&heap->lock);
	if (fi->queued)
		wake_up_interruptible(&sp->wq);
}

/* Copy up to @max queued entries to @v, oldest first.  Heap locked. */
static unsigned int gch_fin_peek(struct gch_specials *sp,
				 struct gch_fin_ready *v, unsigned int max)
{
	struct gch_fin *f;
	unsigned int n = 0;

	list_for_each_entry(f, &sp->ready, ready) {
		if (n == max)
			break;
		v[n].obj = f->obj;
		v[n].fn = f->fn;
		v[n].data = f->data;
		n++;
	}
	return n;
}

/**
 * gch_specials_take() - hand queued finalizers to the program
 * @heap: the heap.
 * @t:    the request (GCH_IOC_FIN_TAKE); @count and @pending are set.
 *
 * The entries stay queued, and so roots, until they are in the caller's
 * buffer: a collection that runs while the copy faults still keeps them.
 * With @max 0 nothing is taken: a wait (GCH_FIN_TAKE_WAIT) for a queued
 * one, or a look at @pending.
 * @spec.take_lock makes takers take in turn, so no entry goes twice.
 *
 * Return: 0, -EINVAL, -EFAULT, -ENXIO, -ENOMEM, -ERESTARTSYS.
 */
int gch_specials_take(struct gch_heap *heap, struct gch_fin_take *t)
{
	struct gch_specials *sp = &heap->spec;
	struct gch_fin_ready *v;
	struct gch_fin *f, *tmp;
	unsigned int n, i;
	bool avail;
	int err = 0;

	if (t->max > GCH_FIN_TAKE_MAX)
		return -EINVAL;
	v = kmalloc_array(max(t->max, 1U), sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for (;;) {
		if (mutex_lock_interruptible(&sp->take_lock)) {
			err = -ERESTARTSYS;
			goto out;
		}
		mutex_lock(&heap->lock);
		if (heap->arena_state != GCH_MAP_LIVE)
			err = -ENXIO;
		n = gch_fin_peek(sp, v, t->max);
		avail = sp->nr_ready;
		mutex_unlock(&heap->lock);
		if (err || avail || !(t->hdr.flags & GCH_FIN_TAKE_WAIT))
			break;
		mutex_unlock(&sp->take_lock);
		err = wait_event_interruptible(sp->wq,
					       READ_ONCE(sp->nr_ready));
		if (err)
			goto out;
	}
	if (!err && n) {
		for (i = 0; i < n; i++)
			v[i].obj += heap->arena_start;
		if (copy_to_user(u64_to_user_ptr(t->buf), v, n * sizeof(*v)))
			err = -EFAULT;
	}
	mutex_lock(&heap->lock);
	if (!err) {
		i = 0;
		list_for_each_entry_safe(f, tmp, &sp->ready, ready) {
			if (i++ == n)
				break;
			list_del(&f->ready);
			gch_fin_free(heap, f);
		}
		sp->nr_ready -= n;
		t->count = n;
		t->pending = sp->nr_ready;
	}
	mutex_unlock(&heap->lock);
	mutex_unlock(&sp->take_lock);
out:
	kfree(v);
	return err;
}

/**
 * gch_specials_stats() - the specials' counters for GCH_IOC_STATS
 * @heap: the heap, locked.
 * @st:   filled in.
 */
void gch_specials_stats(struct gch_heap *heap, struct gch_stats *st)
{
	struct gch_specials *sp = &heap->spec;

	st->finalizers = sp->nr_fin;
	st->finalizers_ready = sp->nr_ready;
	st->finalizers_queued = sp->queued_total;
	st->finalizers_waiting = sp->waiting;
	st->weak_links = sp->nr_weak;
	st->weak_cleared = sp->cleared_total;
	st->weak_dropped = sp->dropped_total;
	st->finalize_ns = sp->ns_total;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "tests/specials_test.c"
#endif
