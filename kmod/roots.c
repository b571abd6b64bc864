// SPDX-License-Identifier: GPL-2.0
/*
 * Roots: where a collection starts marking.
 *
 *  - every thread's user registers (copied when it parked);
 *  - every thread's stack, from its stack pointer less the 128-byte red
 *    zone to the end of the mapping it is in (for threads made by glibc
 *    that end holds its static TLS and thread control block too);
 *  - every thread's static TLS, around its thread pointer, as far as the
 *    library told us (gch_heap_config.tls_below/tls_above): the main
 *    thread's is not on its stack;
 *  - the registered root ranges (GCH_IOC_ROOTS): libgcheap registers the
 *    data and bss of every loaded object, and the program its own;
 *  - the objects in the per-CPU caches (allocated, not yet handed out).
 *
 * User memory is scanned in place by the mark workers, which run in the
 * process's address space: the ranges are cut along the mappings first
 * (the world is stopped, so the layout holds still), dropping what is not
 * readable, device memory, mappings armed for userfaultfd (a fault there
 * would wait for a parked thread) and gcheap's own mappings (their fault
 * handlers take the heap lock the collector holds).  The pieces, at most
 * GCH_ROOT_PIECE bytes each, are the parallel work items of root
 * scanning.  A page that cannot be read when its turn comes is skipped.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include "internal.h"

/* Bytes below the stack pointer a function may use without moving it. */
#define GCH_RED_ZONE		128

/* Root ranges are scanned in work items of at most this many bytes. */
#define GCH_ROOT_PIECE		(256UL << 10)

/**
 * struct gch_urange - a piece of user memory to scan
 * @start: first byte, 8-byte aligned.
 * @end:   one past the last, 8-byte aligned.
 * @rs:    the root set (for the workers' buffers).
 */
struct gch_urange {
	unsigned long start;
	unsigned long end;
	struct gch_rootset *rs;
};

/**
 * struct gch_rootset - the roots of one collection, as work items
 * @items:   the core's root items.
 * @nitems:  entries of @items used.
 * @ranges:  user ranges before cutting (sorted and merged).
 * @nranges: entries of @ranges.
 * @pieces:  the user ranges cut along the mappings.
 * @npieces: entries of @pieces.
 * @bufs:    one page per worker, where it copies user memory.
 * @heap:    the heap.
 */
struct gch_rootset {
	struct gch_root *items;
	unsigned int nitems;
	struct gch_urange *ranges;
	unsigned int nranges;
	struct gch_urange *pieces;
	unsigned int npieces;
	u64 *bufs;
	struct gch_heap *heap;
};

/**
 * gch_roots_ctl() - add or remove registered root ranges
 * @heap: the heap.
 * @op:   the request.
 *
 * Return: 0, -EINVAL, -ENOSPC, -ENOMEM.
 */
int gch_roots_ctl(struct gch_heap *heap, const struct gch_roots *op)
{
	struct gch_root_range *r;
	u64 start, end;
	unsigned int i, j;
	int err = 0;

	if (op->op == GCH_ROOTS_ADD || op->op == GCH_ROOTS_REMOVE) {
		if (!op->len || op->addr + op->len < op->addr ||
		    op->addr + op->len > TASK_SIZE_MAX)
			return -EINVAL;
	} else if (op->op != GCH_ROOTS_CLEAR) {
		return -EINVAL;
	}
	start = ALIGN(op->addr, 8);
	end = ALIGN_DOWN(op->addr + op->len, 8);

	mutex_lock(&heap->lock);
	switch (op->op) {
	case GCH_ROOTS_ADD:
		if (start >= end)
			break;	/* holds no whole word */
		if (heap->nr_roots == GCH_ROOTS_MAX) {
			err = -ENOSPC;
			break;
		}
		if (!heap->roots) {
			err = gch_heap_meta_charge(heap, GCH_ROOTS_MAX *
						   sizeof(*heap->roots));
			if (err)
				break;
			heap->roots = kvmalloc_array(GCH_ROOTS_MAX,
						     sizeof(*heap->roots),
						     GFP_KERNEL_ACCOUNT |
						     __GFP_NOWARN);
			if (!heap->roots) {
				heap->kmeta_bytes -= GCH_ROOTS_MAX *
						     sizeof(*heap->roots);
				err = -ENOMEM;
				break;
			}
		}
		r = &heap->roots[heap->nr_roots++];
		r->start = start;
		r->end = end;
		r->tag = op->tag;
		break;
	default:	/* REMOVE, CLEAR: keep what does not match */
		for (i = j = 0; i < heap->nr_roots; i++) {
			r = &heap->roots[i];
			if (r->tag == op->tag &&
			    (op->op == GCH_ROOTS_CLEAR ||
			     (r->start >= op->addr &&
			      r->end <= op->addr + op->len)))
				continue;
			heap->roots[j++] = *r;
		}
		heap->nr_roots = j;
		break;
	}
	mutex_unlock(&heap->lock);
	return err;
}

static int gch_urange_cmp(const void *a, const void *b)
{
	const struct gch_urange *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static void gch_rs_add_range(struct gch_rootset *rs, unsigned long start,
			     unsigned long end)
{
	start = ALIGN(start, 8);
	end = ALIGN_DOWN(end, 8);
	if (start >= end || end > TASK_SIZE_MAX)
		return;
	rs->ranges[rs->nranges].start = start;
	rs->ranges[rs->nranges].end = end;
	rs->nranges++;
}

/* Sort the ranges and merge those that overlap or touch. */
static void gch_rs_merge(struct gch_rootset *rs)
{
	unsigned int i, j;

	if (!rs->nranges)
		return;
	sort(rs->ranges, rs->nranges, sizeof(rs->ranges[0]), gch_urange_cmp,
	     NULL);
	for (i = 1, j = 0; i < rs->nranges; i++) {
		if (rs->ranges[i].start <= rs->ranges[j].end)
			rs->ranges[j].end = max(rs->ranges[j].end,
						rs->ranges[i].end);
		else
			rs->ranges[++j] = rs->ranges[i];
	}
	rs->nranges = j + 1;
}

/* May the collector read this mapping with copy_from_user()? */
static bool gch_vma_scannable(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ) &&
	       !(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	       !userfaultfd_armed(vma) && !gch_vma_is_ours(vma);
}

/*
 * Cut the ranges along the scannable mappings into pieces of at most
 * GCH_ROOT_PIECE bytes.  First pass (!rs->pieces) only counts.
 */
static unsigned int gch_rs_cut(struct gch_rootset *rs, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long s, e, p;
	unsigned int i, n = 0;

	for (i = 0; i < rs->nranges; i++) {
		s = rs->ranges[i].start;
		for (vma = find_vma(mm, s);
		     vma && vma->vm_start < rs->ranges[i].end;
		     vma = find_vma(mm, vma->vm_end)) {
			if (!gch_vma_scannable(vma))
				continue;
			s = max(rs->ranges[i].start, vma->vm_start);
			e = min(rs->ranges[i].end, vma->vm_end);
			for (p = s; p < e; p += GCH_ROOT_PIECE) {
				if (rs->pieces) {
					rs->pieces[n].start = p;
					rs->pieces[n].end =
						min(e, p + GCH_ROOT_PIECE);
					rs->pieces[n].rs = rs;
				}
				n++;
			}
			if (vma->vm_end >= rs->ranges[i].end)
				break;
		}
	}
	return n;
}

/* GCH_ROOT_FUNC: scan a piece of user memory, a page at a time. */
static void gch_scan_user(struct gch_mark_worker *mw, void *arg)
{
	struct gch_urange *u = arg;
	u64 *buf = u->rs->bufs +
		   gch_mark_worker_index(mw) * (PAGE_SIZE / sizeof(u64));
	unsigned long addr = u->start, len;

	while (addr < u->end) {
		len = min(u->end - addr, PAGE_SIZE - offset_in_page(addr));
		/* a page that cannot be read now holds no roots */
		if (!copy_from_user(buf, (const void __user *)addr, len))
			gch_mark_words(mw, buf, len / sizeof(u64));
		addr += len;
		cond_resched();
	}
}

/* GCH_ROOT_FUNC: the objects in one CPU's caches. */
static void gch_scan_cpu_caches(struct gch_mark_worker *mw, void *block)
{
	unsigned int sc;
	u32 n;

	for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
		const struct gch_cache *c;

		if (!gch_cache_layout.capacity[sc])
			continue;
		c = block + gch_cache_layout.offset[sc];
		n = READ_ONCE(c->count);
		/* a bad count empties the cache at its next refill */
		if (n && n <= gch_cache_layout.capacity[sc])
			gch_mark_words(mw, c->slots, n);
	}
}

/* The user registers and thread pointer of a thread, or false. */
static bool gch_thread_state(struct gch_thread *t, struct pt_regs **regs,
			     unsigned long *fsbase)
{
	/* acquire: a PARKED thread's registers are complete */
	switch (smp_load_acquire(&t->state)) {
	case GCH_THREAD_SELF:
		*regs = &t->regs;
		*fsbase = t->fsbase;
		return true;
	case GCH_THREAD_PARKED:
		*regs = &t->park_regs;
		*fsbase = t->park_fsbase;
		return true;
	case GCH_THREAD_QUEUED:
		if (t->stopped && !t->exiting) {
			*regs = &t->regs;
			*fsbase = t->fsbase;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* Add the stack (from the mapping of @sp) and TLS ranges of a thread. */
static void gch_rs_add_thread(struct gch_rootset *rs, struct mm_struct *mm,
			      unsigned long sp, unsigned long fsbase)
{
	struct gch_heap *heap = rs->heap;
	struct vm_area_struct *vma;

	vma = find_vma(mm, sp);
	if (vma && vma->vm_start <= sp)
		gch_rs_add_range(rs, max(sp - GCH_RED_ZONE, vma->vm_start),
				 vma->vm_end);
	if (fsbase && fsbase > heap->tls_below)
		gch_rs_add_range(rs, fsbase - heap->tls_below,
				 fsbase + heap->tls_above);
}

/**
 * gch_roots_build() - gather the roots of a collection
 * @heap:     the heap, unlocked (this takes the mmap lock, which ranks
 *            above the heap lock).
 * @w:        the stopped world.
 * @nworkers: workers that will scan.
 *
 * Return: the root set, or an ERR_PTR (-ENOMEM, -EINTR).
 */
struct gch_rootset *gch_roots_build(struct gch_heap *heap,
				    struct gch_world *w, unsigned int nworkers)
{
	struct mm_struct *mm = current->mm;
	unsigned int nthreads = 0, nr, ncpus = 0, cpu, i;
	struct list_head *threads = gch_world_threads(w);
	struct gch_rootset *rs;
	unsigned long fsbase;
	struct pt_regs *regs;
	struct gch_thread *t;
	int err = -ENOMEM;

	rs = kzalloc(sizeof(*rs), GFP_KERNEL);
	if (!rs)
		return ERR_PTR(-ENOMEM);
	rs->heap = heap;
	list_for_each_entry(t, threads, link)
		nthreads++;

	/* the registered ranges: nobody can change them, the world stopped */
	mutex_lock(&heap->lock);
	nr = heap->nr_roots;
	rs->ranges = kvmalloc_array(nr + 2 * nthreads, sizeof(*rs->ranges),
				    GFP_KERNEL | __GFP_NOWARN);
	if (rs->ranges)
		for (i = 0; i < nr; i++)
			gch_rs_add_range(rs, heap->roots[i].start,
					 heap->roots[i].end);
	if (heap->cpu_blocks)
		for (cpu = 0; cpu < nr_cpu_ids; cpu++)
			ncpus += !!heap->cpu_blocks[cpu];
	mutex_unlock(&heap->lock);
	if (!rs->ranges)
		goto fail;

	rs->bufs = kvmalloc_array(nworkers, PAGE_SIZE, GFP_KERNEL | __GFP_NOWARN);
	if (!rs->bufs)
		goto fail;

	if (mmap_read_lock_killable(mm)) {
		err = -EINTR;
		goto fail;
	}
	list_for_each_entry(t, threads, link)
		if (gch_thread_state(t, &regs, &fsbase))
			gch_rs_add_thread(rs, mm, user_stack_pointer(regs),
					  fsbase);
	gch_rs_merge(rs);
	nr = gch_rs_cut(rs, mm);
	rs->pieces = kvmalloc_array(max(nr, 1U), sizeof(*rs->pieces),
				    GFP_KERNEL | __GFP_NOWARN);
	if (rs->pieces)
		rs->npieces = gch_rs_cut(rs, mm);
	mmap_read_unlock(mm);
	if (!rs->pieces)
		goto fail;

	rs->items = kvcalloc(nthreads + rs->npieces + ncpus,
			     sizeof(*rs->items), GFP_KERNEL | __GFP_NOWARN);
	if (!rs->items)
		goto fail;
	list_for_each_entry(t, threads, link) {
		if (!gch_thread_state(t, &regs, &fsbase))
			continue;
		rs->items[rs->nitems].kind = GCH_ROOT_WORDS;
		rs->items[rs->nitems].words = (const u64 *)regs;
		rs->items[rs->nitems].n = sizeof(*regs) / sizeof(u64);
		rs->nitems++;
	}
	for (i = 0; i < rs->npieces; i++) {
		rs->items[rs->nitems].kind = GCH_ROOT_FUNC;
		rs->items[rs->nitems].fn = gch_scan_user;
		rs->items[rs->nitems].arg = &rs->pieces[i];
		rs->nitems++;
	}
	/* cpu_blocks only grow under the heap lock, by running threads */
	for (cpu = 0; heap->cpu_blocks && cpu < nr_cpu_ids; cpu++) {
		if (!heap->cpu_blocks[cpu] || !ncpus--)
			continue;
		rs->items[rs->nitems].kind = GCH_ROOT_FUNC;
		rs->items[rs->nitems].fn = gch_scan_cpu_caches;
		rs->items[rs->nitems].arg = heap->cpu_blocks[cpu];
		rs->nitems++;
	}
	return rs;

fail:
	gch_roots_free(rs);
	return ERR_PTR(err);
}

/**
 * gch_rootset_items() - the root items of a root set
 * @rs: the set.
 * @n:  out: how many.
 *
 * Return: the items, for gch_mark_begin().
 */
const struct gch_root *gch_rootset_items(const struct gch_rootset *rs,
					 unsigned int *n)
{
	*n = rs->nitems;
	return rs->items;
}

/**
 * gch_roots_free() - free a root set
 * @rs: the set, or NULL.
 */
void gch_roots_free(struct gch_rootset *rs)
{
	if (!rs)
		return;
	kvfree(rs->items);
	kvfree(rs->pieces);
	kvfree(rs->ranges);
	kvfree(rs->bufs);
	kfree(rs);
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "tests/roots_test.c"
#endif
