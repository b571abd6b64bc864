// SPDX-License-Identifier: GPL-2.0
/*
 * Heap objects: one per open file of /dev/gcheap, bound to the address
 * space of the process that opened it.
 */
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "internal.h"

static atomic_t gch_nr_heaps = ATOMIC_INIT(0);
static atomic64_t gch_next_heap_id = ATOMIC64_INIT(0);

/**
 * gch_heap_create() - make a heap owned by the calling process
 *
 * Return: the heap, or ERR_PTR(-EINVAL) when called without an address
 * space, -ENFILE when max_heaps heaps are open, -ENOMEM.
 */
struct gch_heap *gch_heap_create(void)
{
	struct gch_heap *heap;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	if (atomic_inc_return(&gch_nr_heaps) > READ_ONCE(gch_max_heaps)) {
		atomic_dec(&gch_nr_heaps);
		pr_warn_ratelimited("gcheap: max_heaps (%u) reached, open by pid %d refused\n",
				    READ_ONCE(gch_max_heaps),
				    task_tgid_nr(current));
		return ERR_PTR(-ENFILE);
	}
	heap = kzalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap) {
		atomic_dec(&gch_nr_heaps);
		return ERR_PTR(-ENOMEM);
	}
	heap->id = atomic64_inc_return(&gch_next_heap_id);
	heap->tgid = task_tgid_nr(current);
	mmgrab(current->mm);
	heap->mm = current->mm;
	return heap;
}

/**
 * gch_heap_destroy() - free a heap and everything it holds
 * @heap: the heap; its file is being released, so no ioctl runs on it.
 */
void gch_heap_destroy(struct gch_heap *heap)
{
	mmdrop(heap->mm);
	kfree(heap);
	atomic_dec(&gch_nr_heaps);
}

/**
 * gch_heap_check_owner() - may the calling process use @heap?
 * @heap: the heap of the file being operated on.
 *
 * A heap belongs to the mm that created it; a forked child or a process
 * that received the file descriptor over a socket must not touch it.
 * Comparing mm pointers is safe because the heap holds mm_count: the
 * owner's mm_struct cannot be freed and its address reused meanwhile.
 *
 * Return: 0 or -EPERM.
 */
int gch_heap_check_owner(const struct gch_heap *heap)
{
	return current->mm == heap->mm ? 0 : -EPERM;
}
