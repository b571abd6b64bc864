// SPDX-License-Identifier: GPL-2.0
/*
 * The heap's mappings: the arena, where objects live, and the control
 * area, where the per-CPU caches live; and the memory behind spans.
 *
 * Memory: every span is backed by order-0 pages the module allocates
 * (zeroed, charged to the caller's memory cgroup) and maps contiguously
 * in the kernel with vmap(), so the collector reads objects through the
 * module's own mapping and never needs copy_from_user().  User page tables
 * get the same pages on fault with vm_insert_page(): they are ordinary
 * refcounted pages, so they count in the process's RSS and are released
 * when the last mapping of them goes.
 *
 * Reuse: the pages of a span going back to the page heap stay where
 * they are mapped, idle, until the scavenger (scavenge.c) returns them;
 * a span populated over them takes them back.  So an arena page is backed
 * by the same page for as long as it is in use or idle.
 *
 * Zapping: each heap has its own inode on a small pseudo filesystem, and
 * its file's f_mapping points there.  When the scavenger frees a page,
 * unmap_mapping_range() on that address space removes it from the
 * owner's page tables, whatever the architecture or kernel version
 * (zap_vma_ptes() only handles VM_PFNMAP mappings).
 *
 * Races: the fault handler looks a page up and inserts it while holding
 * the heap lock, and the scavenger takes the same lock before zapping, so
 * a page is never inserted after the zap that should have removed it.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "internal.h"

#define GCHEAP_FS_MAGIC		0x47434850	/* "GCHP" */

/**
 * struct gch_backing - the pages of one span and their kernel mapping
 * @kaddr: the vmap() of @pages.
 * @nr:    kernel pages.
 * @pages: the pages.
 */
struct gch_backing {
	void *kaddr;
	unsigned int nr;
	struct page *pages[];
};

static struct vfsmount *gch_fs_mnt;
static int gch_fs_cnt;

static int gch_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, GCHEAP_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type gch_fs_type = {
	.name = "gcheap",
	.owner = THIS_MODULE,
	.init_fs_context = gch_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * gch_arena_fs_init() - give a heap its own address space for its mappings
 * @heap: the new heap.
 *
 * Return: 0 or a negative errno.
 */
int gch_arena_fs_init(struct gch_heap *heap)
{
	struct inode *inode;
	int err;

	err = simple_pin_fs(&gch_fs_type, &gch_fs_mnt, &gch_fs_cnt);
	if (err)
		return err;
	inode = alloc_anon_inode(gch_fs_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		simple_release_fs(&gch_fs_mnt, &gch_fs_cnt);
		return PTR_ERR(inode);
	}
	heap->inode = inode;
	return 0;
}

/**
 * gch_arena_fs_exit() - drop the heap's inode
 * @heap: a heap whose mappings are all gone.
 */
void gch_arena_fs_exit(struct gch_heap *heap)
{
	iput(heap->inode);
	heap->inode = NULL;
	simple_release_fs(&gch_fs_mnt, &gch_fs_cnt);
}

static struct gch_heap *core_to_heap(struct gch_heap_core *core)
{
	return container_of(core, struct gch_heap, core);
}

/* The arena page index (in kernel pages) of a span's first page. */
static unsigned long gch_span_first_index(const struct gch_span *s)
{
	return (unsigned long)s->start << (GCH_PAGE_SHIFT - PAGE_SHIFT);
}

/*
 * Free a backing.  Its pages that are mapped in the owner's page tables go
 * back to the idle store (only the scavenger, which zaps first, frees
 * those); the others are freed now, unless @keep: a span that was in use
 * keeps them all for reuse, a span whose population failed (its memory
 * cgroup at the limit) gives back what it could not use.
 */
static void gch_backing_free(struct gch_heap *heap, struct gch_backing *b,
			     unsigned long first, bool keep)
{
	unsigned int i;

	if (b->kaddr)
		vunmap(b->kaddr);
	/* near the memcg limit nothing is kept (gch_scav_memcg_tight()) */
	if (keep && gch_scav_memcg_tight(heap)) {
		keep = false;
		gch_idle_zap(heap, first, b->nr);
	}
	for (i = 0; i < b->nr; i++) {
		if (!b->pages[i])
			continue;
		if (keep || page_mapped(b->pages[i]))
			gch_idle_put(heap, first + i, b->pages[i]);
		else
			put_page(b->pages[i]);
	}
	kvfree(b);
}

/*
 * A zeroed page for a span, charged to the caller's memory cgroup.
 * RETRY_MAYFAIL: over its memcg's limit the caller gets ENOMEM from the
 * ioctl, never the OOM killer; NOWARN: that failure is handled.
 */
static struct page *gch_new_page(void)
{
	return alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			  __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
}

static void gch_arena_premap(struct gch_heap *heap, struct gch_backing *b,
			     unsigned long first);

static int gch_span_populate(struct gch_heap_core *core, struct gch_span *s)
{
	unsigned int i, nr = s->npages << (GCH_PAGE_SHIFT - PAGE_SHIFT);
	struct gch_heap *heap = core_to_heap(core);
	unsigned long first = gch_span_first_index(s);
	struct gch_backing *b;

	/* the core counted this span's struct and bitmaps already */
	if (gch_heap_meta_charge(heap, struct_size(b, pages, nr)))
		return -ENOMEM;
	/* leave the program room in its memory cgroup */
	if (!gch_memcg_room(heap, nr)) {
		heap->kmeta_bytes -= struct_size(b, pages, nr);
		return -ENOMEM;
	}

	/*
	 * RETRY_MAYFAIL: over its memcg's limit the caller gets ENOMEM from
	 * the ioctl, never the OOM killer; NOWARN: that failure is handled.
	 */
	b = kvzalloc(struct_size(b, pages, nr),
		     GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!b) {
		heap->kmeta_bytes -= struct_size(b, pages, nr);
		return -ENOMEM;
	}
	b->nr = nr;
	for (i = 0; i < nr; i++) {
		/* an idle page there first: it may be mapped already */
		b->pages[i] = gch_idle_take(heap, first + i);
		if (b->pages[i])
			s->needzero = 1;	/* old data of this heap */
		else
			b->pages[i] = gch_new_page();
		/* at the memcg limit: idle pages elsewhere go first */
		if (!b->pages[i] && gch_scav_reclaim(heap))
			b->pages[i] = gch_new_page();
		if (!b->pages[i] || fatal_signal_pending(current))
			goto fail;
		if ((i & 255) == 255)
			cond_resched();
	}
	b->kaddr = vmap(b->pages, nr, VM_MAP, PAGE_KERNEL);
	if (!b->kaddr)
		goto fail;
	s->backing = b;
	if (heap->premap)
		gch_arena_premap(heap, b, first);
	return 0;
fail:
	gch_backing_free(heap, b, first, false);
	heap->kmeta_bytes -= struct_size(b, pages, nr);
	return -ENOMEM;
}

/*
 * Map a new span's pages that are not mapped yet into the owner's page
 * tables now, in runs, with vm_insert_pages(): the program touches them
 * without a fault each (and the fault would take the heap lock).  Only
 * from an allocation ioctl holding the owner's mmap lock (@heap->premap);
 * the heap lock is held, so the span cannot go meanwhile.  A failure
 * (no memory for a page table) leaves the rest to the fault handler.
 */
static void gch_arena_premap(struct gch_heap *heap, struct gch_backing *b,
			     unsigned long first)
{
	unsigned int i = 0, run;
	unsigned long num;

	while (i < b->nr) {
		if (page_mapped(b->pages[i])) {
			i++;
			continue;
		}
		for (run = i + 1; run < b->nr && !page_mapped(b->pages[run]);
		     run++)
			;
		num = run - i;
		if (vm_insert_pages(heap->premap, heap->arena_start +
				    ((first + i) << PAGE_SHIFT),
				    b->pages + i, &num))
			return;
		i = run;
	}
}

/*
 * A span goes back to the page heap (a sweep or a free emptied it, or the
 * heap is destroyed): its pages become idle, still mapped.  Called by
 * several sweep workers at once, for different spans.
 */
static void gch_span_release(struct gch_heap_core *core, struct gch_span *s)
{
	struct gch_heap *heap = core_to_heap(core);
	struct gch_backing *b = s->backing;

	if (!b)
		return;
	s->backing = NULL;
	heap->kmeta_bytes -= struct_size(b, pages, b->nr);
	gch_backing_free(heap, b, gch_span_first_index(s), true);
}

static void gch_span_zero(struct gch_heap_core *core, struct gch_span *s,
			  u64 off, u64 len)
{
	struct gch_backing *b = s->backing;

	memset(b->kaddr + (off - ((u64)s->start << GCH_PAGE_SHIFT)), 0, len);
}


/**
 * gch_span_kaddr() - the kernel address of a span's first byte
 * @s: an in-use span.
 *
 * Return: the address, valid while the span is in use.
 */
void *gch_span_kaddr(const struct gch_span *s)
{
	const struct gch_backing *b = s->backing;

	return b->kaddr;
}

/**
 * gch_span_page_written() - was a page of a span written behind its PTE?
 * @s:    an in-use span (heap locked).
 * @i:    the kernel page, from the span's first.
 * @held: if not NULL, set to whether someone holds the page: a reference
 *        beyond the module's and one per mapping (a pin for a write that
 *        may still come).
 *
 * Tests and clears PG_dirty, which get_user_pages() users that write set
 * when they pin or unpin the page (dirty.c).
 *
 * Return: true if written.
 */
bool gch_span_page_written(struct gch_span *s, unsigned int i, bool *held)
{
	const struct gch_backing *b = s->backing;
	struct page *page = b->pages[i];
	bool written = TestClearPageDirty(page);
	int mapped;

	if (!held)
		return written;
#ifdef GCH_HAVE_INLINE_FOLIO_MAPCOUNT
	mapped = folio_mapcount(page_folio(page));	/* 6.12: order 0 */
#else
	mapped = page_mapcount(page);
#endif
	*held = page_count(page) > 1 + mapped;
	return written;
}

/* The collector reads objects through the span's kernel mapping. */
static void *gch_span_map(struct gch_heap_core *core, struct gch_span *s)
{
	return gch_span_kaddr(s);
}

const struct gch_heap_ops gch_span_backing_ops = {
	.populate = gch_span_populate,
	.release = gch_span_release,
	.zero = gch_span_zero,
	.map = gch_span_map,
};

static vm_fault_t gch_insert(struct vm_area_struct *vma, unsigned long addr,
			     struct page *page)
{
	int err = vm_insert_page(vma, addr, page);

	/* -EBUSY: another thread's fault mapped it first */
	if (!err || err == -EBUSY)
		return VM_FAULT_NOPAGE;
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * The page behind arena offset @off: only pages of allocated spans exist,
 * anything else is a bus error.  Called with the heap locked.
 */
static struct page *gch_arena_page(struct gch_heap *heap, u64 off)
{
	struct gch_backing *b;
	struct gch_span *s;

	lockdep_assert_held(&heap->lock);
	s = gch_heap_span_of(&heap->core, off);
	if (!s || !s->backing)
		return NULL;
	b = s->backing;
	return b->pages[(off - ((u64)s->start << GCH_PAGE_SHIFT)) >> PAGE_SHIFT];
}

static vm_fault_t gch_arena_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gch_heap *heap = vma->vm_private_data;
	u64 off = ((u64)vmf->pgoff << PAGE_SHIFT) - GCH_MMAP_ARENA;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct page *page;

	mutex_lock(&heap->lock);
	/* only the owner's own mapping is served (see gch_vma_open) */
	page = vma == heap->arena_vma ? gch_arena_page(heap, off) : NULL;
	if (page)
		ret = gch_insert(vma, vmf->address & PAGE_MASK, page);
	mutex_unlock(&heap->lock);
	return ret;
}

/**
 * gch_arena_kpage() - the page behind a kernel page of the arena, if any
 * @heap:  the heap, locked.
 * @index: the kernel page, from the arena's first.
 *
 * Return: the page of an in-use span, or an idle one (still mapped), or
 * NULL: nothing is mapped there.
 */
struct page *gch_arena_kpage(struct gch_heap *heap, unsigned long index)
{
	struct page *page = gch_arena_page(heap, (u64)index << PAGE_SHIFT);

	return page ?: xa_load(&heap->idle, index);
}

/*
 * A write through an entry the mark write-protected (arena_wp, dirty.c):
 * record the heap page, then let the core make the entry writable.  The
 * page stays locked until it has (VM_FAULT_LOCKED), which is what lets
 * gch_dirty_protect() forget a record only once its entry is in place.
 */
static vm_fault_t gch_arena_mkwrite(struct vm_fault *vmf)
{
	struct gch_heap *heap = vmf->vma->vm_private_data;

	lock_page(vmf->page);
	gch_dirty_mkwrite(heap, vmf->pgoff - (GCH_MMAP_ARENA >> PAGE_SHIFT));
	return VM_FAULT_LOCKED;
}

static vm_fault_t gch_control_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gch_heap *heap = vma->vm_private_data;
	u64 off = ((u64)vmf->pgoff << PAGE_SHIFT) - GCH_MMAP_CONTROL;
	u32 stride = gch_cache_layout.stride;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	void *block;

	mutex_lock(&heap->lock);
	if (vma == heap->control_vma) {
		block = gch_control_block(heap, off / stride);
		ret = block ? gch_insert(vma, vmf->address & PAGE_MASK,
					 vmalloc_to_page(block + off % stride)) :
			      VM_FAULT_OOM;
	}
	mutex_unlock(&heap->lock);
	return ret;
}

static void gch_vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
#ifdef GCH_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);	/* 6.3+: vm_flags is read-only */
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * A copy of one of our mappings: a fork child's (if MADV_DOFORK undid
 * VM_DONTCOPY), or mremap's temporary copy before it is refused.  Only
 * the VMA that mmap() created is the heap's: copies are never served by
 * the fault handlers, and a fork copy starts empty (VM_WIPEONFORK is
 * checked on the copy after ->open and before its page tables are
 * copied), so a child never sees the parent's objects.
 */
static void gch_vma_open(struct vm_area_struct *vma)
{
	struct gch_heap *heap = vma->vm_private_data;

	if (vma->vm_mm != heap->mm)
		gch_vma_set_flags(vma, VM_WIPEONFORK);
}

/*
 * An unmapped arena or control area is gone for good (see gch_map_state),
 * unless it never held an object: then it may be mapped again.  That is
 * also how a mmap() that fails after ->mmap succeeded (mmap_region()
 * calls ->close when it cannot insert the VMA, e.g. out of memory) leaves
 * the heap as before, so the caller can retry.
 */
static void gch_arena_close(struct vm_area_struct *vma)
{
	struct gch_heap *heap = vma->vm_private_data;

	mutex_lock(&heap->lock);
	if (vma == heap->arena_vma) {
		heap->arena_vma = NULL;
		heap->arena_state = GCH_MAP_GONE;
		/* a background mark reads the core until the release */
		if (gch_pageheap_empty(&heap->core.pages) && !heap->num_gc &&
		    !heap->core.marking) {
			gch_heap_destroy(&heap->core);
			heap->arena_start = 0;
			heap->arena_state = GCH_MAP_NONE;
		}
	}
	mutex_unlock(&heap->lock);
}

static void gch_control_close(struct vm_area_struct *vma)
{
	struct gch_heap *heap = vma->vm_private_data;

	mutex_lock(&heap->lock);
	if (vma == heap->control_vma) {
		heap->control_vma = NULL;
		heap->control_state = GCH_MAP_GONE;
		/* its blocks stay (a collection may hold them) until release */
		if (!heap->control_used)
			heap->control_state = GCH_MAP_NONE;
	}
	mutex_unlock(&heap->lock);
}

/*
 * The mappings keep their shape: the heap knows the arena by its address,
 * so it cannot move, shrink, split or change protection.
 */
static int gch_vma_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int gch_vma_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static int gch_vma_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	return -EACCES;
}

/* the arena's operations, with or without .page_mkwrite */
#define GCH_ARENA_VM_OPS			\
	.open = gch_vma_open,			\
	.close = gch_arena_close,		\
	.may_split = gch_vma_may_split,		\
	.mremap = gch_vma_mremap,		\
	.mprotect = gch_vma_mprotect,		\
	.fault = gch_arena_fault

static const struct vm_operations_struct gch_arena_vm_ops = {
	GCH_ARENA_VM_OPS,
};

/*
 * With .page_mkwrite the core maps every entry read-only until its page
 * is written (write-notify), so the arena costs a fault per first write:
 * only heaps that mark beside the program get these (arena_wp).
 */
static const struct vm_operations_struct gch_arena_wp_vm_ops = {
	GCH_ARENA_VM_OPS,
	.page_mkwrite = gch_arena_mkwrite,
};

static const struct vm_operations_struct gch_control_vm_ops = {
	.open = gch_vma_open,
	.close = gch_control_close,
	.may_split = gch_vma_may_split,
	.mremap = gch_vma_mremap,
	.mprotect = gch_vma_mprotect,
	.fault = gch_control_fault,
};

/**
 * gch_vma_is_ours() - is @vma an arena or control area of any heap?
 * @vma: a mapping.
 *
 * The collector never reads these with copy_from_user(): their fault
 * handlers take the heap lock it holds, and their objects are found
 * through the heap itself.
 *
 * Return: true if it is.
 */
bool gch_vma_is_ours(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &gch_arena_vm_ops ||
	       vma->vm_ops == &gch_arena_wp_vm_ops ||
	       vma->vm_ops == &gch_control_vm_ops;
}

static int gch_mmap_arena(struct gch_heap *heap, struct vm_area_struct *vma)
{
	int err;

	if (heap->arena_state != GCH_MAP_NONE)
		return -EBUSY;
	if (vma->vm_end - vma->vm_start != heap->arena_size)
		return -EINVAL;
	err = gch_heap_init(&heap->core, &gch_size_classes,
			    heap->arena_size >> GCH_PAGE_SHIFT,
			    &gch_span_backing_ops);
	/* the span table's top level alone may pass max_heap_metadata */
	if (!err && gch_heap_meta_charge(heap, 0))
		err = -ENOMEM;
	if (!err)
		err = gch_collector_init(heap);
	if (err) {
		gch_heap_destroy(&heap->core);
		return err;
	}
	heap->arena_start = vma->vm_start;
	heap->arena_vma = vma;
	heap->arena_state = GCH_MAP_LIVE;
	/* decided now: the core sets the entries' protection after ->mmap */
	heap->arena_wp = READ_ONCE(gch_cmark_wp) && gch_heap_concurrent(heap);
	vma->vm_ops = heap->arena_wp ? &gch_arena_wp_vm_ops : &gch_arena_vm_ops;
	return 0;
}

static int gch_mmap_control(struct gch_heap *heap, struct vm_area_struct *vma)
{
	int err;

	if (heap->control_state != GCH_MAP_NONE)
		return -EBUSY;
	if (vma->vm_end - vma->vm_start != gch_control_size())
		return -EINVAL;
	/* mapped again after a failed mmap(): the blocks are still there */
	err = heap->cpu_blocks ? 0 : gch_control_init(heap);
	if (err)
		return err;
	heap->control_vma = vma;
	heap->control_state = GCH_MAP_LIVE;
	vma->vm_ops = &gch_control_vm_ops;
	return 0;
}

/**
 * gch_mmap() - map a heap's arena or control area
 * @file: an open /dev/gcheap.
 * @vma:  the new mapping: MAP_SHARED, at offset GCH_MMAP_ARENA or
 *        GCH_MMAP_CONTROL, exactly as large as GCH_IOC_CONFIGURE says.
 *
 * Return: 0, -EPERM (not the heap's owner), -EINVAL (private mapping,
 * unknown offset, wrong size), -EBUSY (mapped already, or unmapped),
 * -ENOMEM.
 */
int gch_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gch_heap *heap = file->private_data;
	unsigned long pgoff = vma->vm_pgoff;
	int err;

	if (gch_heap_check_owner(heap))
		return -EPERM;
	/* a private mapping would copy our pages on write: no sharing */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	mutex_lock(&heap->lock);
	if (pgoff == GCH_MMAP_ARENA >> PAGE_SHIFT)
		err = gch_mmap_arena(heap, vma);
	else if (pgoff == GCH_MMAP_CONTROL >> PAGE_SHIFT)
		err = gch_mmap_control(heap, vma);
	else
		err = -EINVAL;
	if (!err) {
		vma->vm_private_data = heap;
		/*
		 * MIXEDMAP: vm_insert_page() from the fault handler.
		 * DONTCOPY: fork does not inherit the heap.  DONTEXPAND: no
		 * growing with mremap.  DONTDUMP: a core dump would fault in
		 * (and fail on) every unallocated page of the arena.
		 */
		gch_vma_set_flags(vma, VM_MIXEDMAP | VM_DONTCOPY |
				  VM_DONTEXPAND | VM_DONTDUMP);
	}
	mutex_unlock(&heap->lock);
	return err;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "tests/arena_test.c"
#endif
