// SPDX-License-Identifier: GPL-2.0
/*
 * Roots: where a collection starts marking.
 *
 *  - every thread's user registers: the general ones (copied when it
 *    parked, or where it stands if stopped) and the whole FPU/vector
 *    state (xstate.c);
 *  - every thread's stack, from its stack pointer less the 128-byte red
 *    zone to the end of the mapping it is in (for threads made by glibc
 *    that end holds its static TLS and thread control block too);
 *  - every thread's home stack, when its stack pointer is elsewhere (a
 *    signal handler on an alternate stack, a coroutine's stack): the
 *    whole mapping of the main thread's stack, or of another thread's
 *    thread pointer (glibc puts the thread control block at the top of
 *    the thread's stack), up to GCH_HOME_STACK_MAX bytes;
 *  - every thread's static TLS, around its thread pointer, as far as the
 *    library told us (gch_heap_config.tls_below/tls_above): the main
 *    thread's is not on its stack;
 *  - the registered root ranges (GCH_IOC_ROOTS): libgcheap registers the
 *    data and bss of every loaded object, and the program its own;
 *  - the objects in the per-CPU caches (allocated, not yet handed out).
 *
 * User memory is read before the mark, without the heap lock: the ranges
 * are cut along the mappings (the world is stopped, so the layout holds
 * still), dropping what is not readable, device memory, mappings armed
 * for userfaultfd (a fault there would wait for a parked thread) and
 * gcheap's own mappings.  The pieces, at most GCH_ROOT_PIECE bytes each,
 * are read in parallel by the worker threads in the process's address
 * space (pieces of file mappings by the collecting thread itself, which
 * a fatal signal can stop while a file system makes it wait), and every
 * word that points into the arena is kept; the mark then
 * starts from those words, with the heap locked.  Reading user memory can
 * fault and take the mmap lock; the arena's fault handler and ->close run
 * under the mmap lock and take the heap lock, so user memory is never
 * read with the heap lock held.
 *
 * A root page must be read or the collection fails: a page copy_from_user
 * cannot read (a protection key the worker's PKRU does not open, a swap-in
 * that failed) is read again through get_user_pages_remote(), which
 * ignores protection keys; only a page the program could not read either
 * (beyond the end of its file, poisoned) holds no roots.  Anything else
 * (no memory, a fatal signal for the collector) fails the collection with
 * nothing freed.  The user bytes one collection reads are bounded by the
 * module parameter max_root_bytes (-E2BIG beyond it), the words kept are
 * charged to the heap owner's memory cgroup while it has room
 * (gch_gc_alloc()).
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include "internal.h"

/* Bytes below the stack pointer a function may use without moving it. */
#define GCH_RED_ZONE		128

/* Root ranges are read in work items of at most this many bytes. */
#define GCH_ROOT_PIECE		(256UL << 10)

/* Largest home stack scanned whole (glibc's default thread stack: 8 MiB). */
#define GCH_HOME_STACK_MAX	(64UL << 20)

/**
 * struct gch_urange - a piece of user memory to read
 * @start: first byte, 8-byte aligned.
 * @end:   one past the last, 8-byte aligned.
 * @file:  in a file mapping: read by the collector itself, not a worker
 *         (gch_rs_read()).
 */
struct gch_urange {
	unsigned long start;
	unsigned long end;
	bool file;
};

/**
 * struct gch_found - words read from user memory that point into the arena
 * @next:  the block filled before this one.
 * @n:     entries of @words used.
 * @words: the words.
 */
struct gch_found {
	struct gch_found *next;
	unsigned int n;
	u64 words[];
};

#define GCH_FOUND_WORDS	\
	((PAGE_SIZE - offsetof(struct gch_found, words)) / sizeof(u64))

/**
 * struct gch_reader - one worker's part of reading the roots
 * @buf:    a page, where it copies user memory.
 * @found:  its blocks of words found, the one being filled first.
 * @nfound: blocks in @found.
 */
struct gch_reader {
	u64 *buf;
	struct gch_found *found;
	unsigned int nfound;
};

/**
 * struct gch_rootset - the roots of one collection, as work items
 * @items:      the core's root items.
 * @nitems:     entries of @items used.
 * @cap:        entries of @items: one more than gch_roots_build() uses.
 * @nthread_items: the first items, the threads' registers.
 * @thread_words: their words, copied by gch_roots_detach(), or NULL.
 * @ranges:     user ranges before cutting (sorted and merged).
 * @nranges:    entries of @ranges.
 * @pieces:     the user ranges cut along the mappings.
 * @npieces:    entries of @pieces.
 * @next_piece: the next piece a reader takes.
 * @readers:    one per worker.
 * @nreaders:   entries of @readers.
 * @cpu_blocks: the per-CPU cache blocks, taken under the heap lock.
 * @ncpus:      entries of @cpu_blocks.
 * @lo:         the arena's first address: words in [@lo, @hi) are kept.
 * @hi:         one past its last.
 * @err:        the first error of a reader, or 0.
 * @collector:  the collecting thread (its fatal signal stops the readers).
 * @heap:       the heap.
 */
struct gch_rootset {
	struct gch_root *items;
	unsigned int nitems;
	unsigned int cap;
	unsigned int nthread_items;
	u64 *thread_words;
	struct gch_urange *ranges;
	unsigned int nranges;
	struct gch_urange *pieces;
	unsigned int npieces;
	atomic_t next_piece;
	struct gch_reader *readers;
	unsigned int nreaders;
	void **cpu_blocks;
	unsigned int ncpus;
	u64 lo;
	u64 hi;
	atomic_t err;
	struct task_struct *collector;
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

/* May the collector read this mapping? */
static bool gch_vma_scannable(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ) &&
	       !(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	       !userfaultfd_armed(vma) && !gch_vma_is_ours(vma);
}

/*
 * Cut the ranges along the scannable mappings into pieces of at most
 * GCH_ROOT_PIECE bytes.  First pass (!rs->pieces) only counts, and adds
 * up the bytes into *@bytes.
 */
static unsigned int gch_rs_cut(struct gch_rootset *rs, struct mm_struct *mm,
			       u64 *bytes)
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
			*bytes += e - s;
			if (!rs->pieces) {
				n += DIV_ROUND_UP(e - s, GCH_ROOT_PIECE);
			} else {
				for (p = s; p < e; p += GCH_ROOT_PIECE) {
					rs->pieces[n].start = p;
					rs->pieces[n].end =
						min(e, p + GCH_ROOT_PIECE);
					rs->pieces[n].file = !!vma->vm_file;
					n++;
				}
			}
			if (vma->vm_end >= rs->ranges[i].end)
				break;
		}
	}
	return n;
}

/*
 * Read a user page copy_from_user() could not: through the page tables,
 * ignoring protection keys (the program's PKRU may open a key that the
 * worker's does not).  Return: 0; -EFAULT if the program could not read
 * it either; another error otherwise.
 */
static int gch_read_remote(struct mm_struct *mm, unsigned long addr,
			   void *buf, size_t len)
{
	struct page *page;
	void *kaddr;
	long got;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
#ifdef GCH_GUP_REMOTE_VMAS
	got = get_user_pages_remote(mm, addr, 1, 0, &page, NULL, NULL);
#else
	got = get_user_pages_remote(mm, addr, 1, 0, &page, NULL);
#endif
	mmap_read_unlock(mm);
	if (got == -EHWPOISON || got == 0)
		return -EFAULT;
	if (got < 0)
		return got;
	kaddr = kmap_local_page(page);
	memcpy(buf, kaddr + offset_in_page(addr), len);
	kunmap_local(kaddr);
	put_page(page);
	return 0;
}

/* Keep the words of @buf that point into the arena.  0 or -ENOMEM. */
static int gch_keep_words(struct gch_rootset *rs, struct gch_reader *r,
			  const u64 *buf, size_t n)
{
	struct gch_found *f = r->found;
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] < rs->lo || buf[i] >= rs->hi)
			continue;
		if (!f || f->n == GCH_FOUND_WORDS) {
			f = gch_gc_alloc(1, PAGE_SIZE);
			if (!f)
				return -ENOMEM;
			f->n = 0;
			f->next = r->found;
			r->found = f;
			r->nfound++;
		}
		f->words[f->n++] = buf[i];
	}
	return 0;
}

/*
 * Copy a page that is mapped and readable now, without faulting: most
 * root pages are, and a fault (a page-table page, a page-cache page) is
 * charged to the owner's memory cgroup, which at its limit calls the OOM
 * killer.  Return: 0, or the bytes not copied.
 */
static unsigned long gch_copy_resident(void *buf, unsigned long addr,
				       size_t len)
{
	unsigned long left;

	pagefault_disable();
	left = __copy_from_user_inatomic(buf, (const void __user *)addr, len);
	pagefault_enable();
	return left;
}

/* Read one piece of user memory, a page at a time. */
static int gch_read_piece(struct gch_rootset *rs, struct gch_reader *r,
			  const struct gch_urange *u, struct mm_struct *mm)
{
	unsigned long addr = u->start, len;
	int err;

	while (addr < u->end) {
		if (fatal_signal_pending(rs->collector))
			return -EINTR;
		len = min(u->end - addr, PAGE_SIZE - offset_in_page(addr));
		err = 0;
		if (gch_copy_resident(r->buf, addr, len) &&
		    copy_from_user(r->buf, (const void __user *)addr, len))
			err = gch_read_remote(mm, addr, r->buf, len);
		if (!err)
			err = gch_keep_words(rs, r, r->buf, len / sizeof(u64));
		else if (err == -EFAULT)
			err = 0;	/* unreadable to the program too */
		if (err)
			return err;
		addr += len;
		cond_resched();
	}
	return 0;
}

/* A pool job: read pieces until none is left or one failed. */
static void gch_read_fn(void *arg, unsigned int index)
{
	struct gch_rootset *rs = arg;
	struct gch_reader *r = &rs->readers[index];
	unsigned int i;
	int err;

	while (!atomic_read(&rs->err)) {
		i = atomic_inc_return(&rs->next_piece) - 1;
		if (i >= rs->npieces)
			break;
		if (rs->pieces[i].file)
			continue;	/* the collector read it */
		err = gch_read_piece(rs, r, &rs->pieces[i], current->mm);
		if (err)
			atomic_cmpxchg(&rs->err, 0, err);
	}
}

/* GCH_ROOT_FUNC: the objects in one CPU's caches, kept but not scanned. */
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
			gch_mark_unused(mw, c->slots, n);
	}
}

/* The user registers, thread pointer and vector state of a thread. */
static bool gch_thread_state(struct gch_thread *t, struct pt_regs **regs,
			     unsigned long *fsbase, struct gch_xstate **xs)
{
	/* acquire: a PARKED thread's registers are complete */
	switch (smp_load_acquire(&t->state)) {
	case GCH_THREAD_SELF:
		*regs = &t->regs;
		*fsbase = t->fsbase;
		*xs = &t->xstate;
		return true;
	case GCH_THREAD_PARKED:
		*regs = &t->park_regs;
		*fsbase = t->park_fsbase;
		*xs = &t->park_xstate;
		return true;
	case GCH_THREAD_QUEUED:
		if (t->stopped && !t->exiting) {
			*regs = &t->regs;
			*fsbase = t->fsbase;
			*xs = &t->xstate;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/*
 * Add the ranges of one thread: its stack from @sp, its home stack if
 * @sp is not in it, its static TLS.
 */
static void gch_rs_add_thread(struct gch_rootset *rs, struct mm_struct *mm,
			      struct task_struct *task, unsigned long sp,
			      unsigned long fsbase)
{
	struct gch_heap *heap = rs->heap;
	struct vm_area_struct *vma, *home;
	unsigned long at;

	vma = find_vma(mm, sp);
	if (vma && vma->vm_start <= sp)
		gch_rs_add_range(rs, max(sp - GCH_RED_ZONE, vma->vm_start),
				 vma->vm_end);
	else
		vma = NULL;
	at = task == task->group_leader ? mm->start_stack : fsbase;
	home = at ? find_vma(mm, at) : NULL;
	if (home && home != vma && home->vm_start <= at && !home->vm_file &&
	    home->vm_end - home->vm_start <= GCH_HOME_STACK_MAX)
		gch_rs_add_range(rs, home->vm_start, home->vm_end);
	if (fsbase && fsbase > heap->tls_below)
		gch_rs_add_range(rs, fsbase - heap->tls_below,
				 fsbase + heap->tls_above);
}

static void gch_rs_add_item(struct gch_rootset *rs, u8 kind, const u64 *words,
			    size_t n)
{
	struct gch_root *item = &rs->items[rs->nitems++];

	item->kind = kind;
	item->words = words;
	item->n = n;
}

/* Take the registered ranges, the cache blocks and the arena's bounds. */
static int gch_rs_take_heap(struct gch_rootset *rs, unsigned int nthreads)
{
	struct gch_heap *heap = rs->heap;
	unsigned int cpu, i;
	int err = 0;

	rs->cpu_blocks = gch_gc_alloc(nr_cpu_ids, sizeof(*rs->cpu_blocks));
	if (!rs->cpu_blocks)
		return -ENOMEM;
	mutex_lock(&heap->lock);
	rs->ranges = gch_gc_alloc(heap->nr_roots + 3 * nthreads,
				  sizeof(*rs->ranges));
	if (rs->ranges) {
		for (i = 0; i < heap->nr_roots; i++)
			gch_rs_add_range(rs, heap->roots[i].start,
					 heap->roots[i].end);
	} else {
		err = -ENOMEM;
	}
	/* the blocks, as they are now: the world is stopped */
	for (cpu = 0; heap->cpu_blocks && cpu < nr_cpu_ids; cpu++)
		if (heap->cpu_blocks[cpu])
			rs->cpu_blocks[rs->ncpus++] = heap->cpu_blocks[cpu];
	rs->lo = heap->arena_start;
	rs->hi = heap->arena_start + heap->arena_size;
	mutex_unlock(&heap->lock);
	return err;
}

/* Cut the ranges of memory to read into pieces.  0, -EINTR, -E2BIG. */
static int gch_rs_plan(struct gch_rootset *rs, struct gch_world *w,
		       struct mm_struct *mm)
{
	struct list_head *threads = gch_world_threads(w);
	struct gch_xstate *xs;
	unsigned long fsbase;
	struct pt_regs *regs;
	struct gch_thread *t;
	unsigned int n;
	u64 bytes = 0;
	int err = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	list_for_each_entry(t, threads, link)
		if (gch_thread_state(t, &regs, &fsbase, &xs))
			gch_rs_add_thread(rs, mm, t->task,
					  user_stack_pointer(regs), fsbase);
	gch_rs_merge(rs);
	n = gch_rs_cut(rs, mm, &bytes);
	if (bytes > READ_ONCE(gch_max_root_bytes)) {
		err = -E2BIG;
		goto out;
	}
	rs->pieces = gch_gc_alloc(max(n, 1U), sizeof(*rs->pieces));
	if (!rs->pieces) {
		err = -ENOMEM;
		goto out;
	}
	rs->npieces = gch_rs_cut(rs, mm, &bytes);
out:
	mmap_read_unlock(mm);
	return err;
}

/* Read the pieces in @n worker threads.  0 or the first error. */
static int gch_rs_read(struct gch_rootset *rs, unsigned int n)
{
	unsigned int i;
	int err = 0;

	rs->readers = gch_gc_alloc(n, sizeof(*rs->readers));
	if (!rs->readers)
		return -ENOMEM;
	rs->nreaders = n;
	for (i = 0; i < n; i++) {
		rs->readers[i].buf = gch_gc_alloc(1, PAGE_SIZE);
		if (!rs->readers[i].buf)
			return -ENOMEM;
	}
	rs->collector = current;
	/*
	 * Pieces of file mappings are read here, by the collector: a page of
	 * a network or FUSE file system may wait for its server as long as
	 * the server likes, and only the faulting task's fatal signal ends
	 * that wait.  In a worker it would hold the pool, and every other
	 * process's collections with it; here it holds this collection,
	 * which SIGKILL ends.  Anonymous memory is read in parallel by the
	 * workers.
	 */
	for (i = 0; i < rs->npieces && !err; i++)
		if (rs->pieces[i].file)
			err = gch_read_piece(rs, &rs->readers[0],
					     &rs->pieces[i], current->mm);
	if (err)
		atomic_set(&rs->err, err);
	else if (rs->npieces)
		gch_pool_run(n, gch_read_fn, rs, current->mm);
	err = atomic_read(&rs->err);
	if (err == -EINTR && !fatal_signal_pending(current))
		err = -ENOMEM;	/* only the collector's fatal signal stops */
	return err;
}

/**
 * gch_roots_build() - gather the roots of a collection
 * @heap:     the heap, unlocked: the mmap lock ranks above the heap lock,
 *            and user memory is read here.
 * @w:        the stopped world.
 * @nworkers: workers that read the roots (and will mark).
 *
 * Return: the root set, or an ERR_PTR: -ENOMEM, -EINTR (a fatal signal),
 * -E2BIG (more than max_root_bytes of user memory to read).
 */
struct gch_rootset *gch_roots_build(struct gch_heap *heap,
				    struct gch_world *w, unsigned int nworkers)
{
	struct list_head *threads = gch_world_threads(w);
	unsigned int nthreads = 0, nitems, i;
	struct gch_rootset *rs;
	struct gch_xstate *xs;
	struct gch_found *f;
	unsigned long fsbase;
	struct pt_regs *regs;
	struct gch_thread *t;
	int err;

	rs = gch_gc_alloc(1, sizeof(*rs));
	if (!rs)
		return ERR_PTR(-ENOMEM);
	rs->heap = heap;
	atomic_set(&rs->next_piece, 0);
	atomic_set(&rs->err, 0);
	list_for_each_entry(t, threads, link)
		nthreads++;

	err = gch_rs_take_heap(rs, nthreads);
	if (!err)
		err = gch_rs_plan(rs, w, current->mm);
	if (!err)
		err = gch_rs_read(rs, clamp(nworkers, 1U, gch_pool_size()));
	if (err)
		goto fail;

	/*
	 * + 1: the finalizers' data and the queued finalizers; + 1: room
	 * for gch_roots_append()
	 */
	nitems = 2 * nthreads + rs->ncpus + 2;
	for (i = 0; i < rs->nreaders; i++)
		nitems += rs->readers[i].nfound;
	rs->items = gch_gc_alloc(nitems, sizeof(*rs->items));
	rs->cap = nitems;
	if (!rs->items) {
		err = -ENOMEM;
		goto fail;
	}
	list_for_each_entry(t, threads, link) {
		if (!gch_thread_state(t, &regs, &fsbase, &xs))
			continue;
		gch_rs_add_item(rs, GCH_ROOT_WORDS, (const u64 *)regs,
				sizeof(*regs) / sizeof(u64));
		if (xs->n)
			gch_rs_add_item(rs, GCH_ROOT_WORDS, xs->words, xs->n);
	}
	rs->nthread_items = rs->nitems;
	for (i = 0; i < rs->nreaders; i++)
		for (f = rs->readers[i].found; f; f = f->next)
			gch_rs_add_item(rs, GCH_ROOT_WORDS, f->words, f->n);
	for (i = 0; i < rs->ncpus; i++) {
		rs->items[rs->nitems].kind = GCH_ROOT_FUNC;
		rs->items[rs->nitems].fn = gch_scan_cpu_caches;
		rs->items[rs->nitems].arg = rs->cpu_blocks[i];
		rs->nitems++;
	}
	rs->items[rs->nitems].kind = GCH_ROOT_FUNC;
	rs->items[rs->nitems].fn = gch_specials_mark_roots;
	rs->items[rs->nitems].arg = heap;
	rs->nitems++;
	return rs;

fail:
	gch_roots_free(rs);
	return ERR_PTR(err);
}

/**
 * gch_roots_detach() - make a root set usable after the world runs again
 * @rs: the set, built with the world stopped, which still is.
 *
 * For the first stop of a mark beside the program (collect.c): the
 * threads' registers are items that point into the stopped world's
 * records and the threads' kernel stacks, which change or go once the
 * threads run; they are copied into the set.  The finalizers' root item
 * goes: it reads the finalizer tables, which only hold still under the
 * heap lock (the final stop's set has it).
 *
 * Return: 0 or -ENOMEM (the set is unchanged).
 */
int gch_roots_detach(struct gch_rootset *rs)
{
	size_t words = 0, at = 0;
	unsigned int i;
	u64 *buf;

	for (i = 0; i < rs->nthread_items; i++)
		words += rs->items[i].n;
	buf = kvmalloc_array(max_t(size_t, words, 1), sizeof(u64),
			     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < rs->nthread_items; i++) {
		memcpy(buf + at, rs->items[i].words,
		       rs->items[i].n * sizeof(u64));
		rs->items[i].words = buf + at;
		at += rs->items[i].n;
	}
	rs->thread_words = buf;
	if (rs->nitems && rs->items[rs->nitems - 1].kind == GCH_ROOT_FUNC &&
	    rs->items[rs->nitems - 1].fn == gch_specials_mark_roots)
		rs->nitems--;
	return 0;
}

/**
 * gch_roots_append() - one more root item, in the room the set keeps
 * @rs: the set.
 * @r:  the item (the final stop's dirty pages of a concurrent mark).
 *
 * Return: 0, or -ENOSPC if the room was used already (a bug).
 */
int gch_roots_append(struct gch_rootset *rs, const struct gch_root *r)
{
	/* gch_roots_build() keeps exactly one entry free */
	if (WARN_ON_ONCE(rs->nitems >= rs->cap))
		return -ENOSPC;
	rs->items[rs->nitems++] = *r;
	return 0;
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
	struct gch_found *f, *next;
	unsigned int i;

	if (!rs)
		return;
	for (i = 0; i < rs->nreaders; i++) {
		for (f = rs->readers[i].found; f; f = next) {
			next = f->next;
			kvfree(f);
		}
		kvfree(rs->readers[i].buf);
	}
	kvfree(rs->readers);
	kvfree(rs->thread_words);
	kvfree(rs->items);
	kvfree(rs->pieces);
	kvfree(rs->ranges);
	kvfree(rs->cpu_blocks);
	kvfree(rs);
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "tests/roots_test.c"
#endif
