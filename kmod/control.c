// SPDX-License-Identifier: GPL-2.0
/*
 * The control area: one block of per-CPU caches for every possible CPU.
 *
 * Blocks are allocated when first touched, by a fault of the owner or by
 * a refill on that CPU, so a heap used on two CPUs of a large machine
 * costs two blocks.  The process may write anything into them; the kernel
 * reads a block only from the CPU that owns it with preemption disabled
 * (here), or with the world stopped (the collector), and checks every
 * value it reads: a count out of range empties the cache.
 */
#include <linux/cpumask.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>

#include "internal.h"

/**
 * gch_control_size() - bytes of a heap's control area
 *
 * Return: nr_cpu_ids blocks of the cache layout's stride.
 */
unsigned long gch_control_size(void)
{
	return (unsigned long)nr_cpu_ids * gch_cache_layout.stride;
}

/**
 * gch_control_init() - prepare a heap for its control area
 * @heap: the heap, locked.
 *
 * Also makes the heap's refill staging buffer (struct gch_heap
 * @refill_offs), for refills of the caches.
 *
 * Return: 0 or -ENOMEM.
 */
int gch_control_init(struct gch_heap *heap)
{
	heap->refill_offs = kvmalloc_array(GCH_CACHE_MAX_SLOTS,
					   sizeof(*heap->refill_offs),
					   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	heap->cpu_blocks = kvcalloc(nr_cpu_ids, sizeof(*heap->cpu_blocks),
				    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (heap->cpu_blocks && heap->refill_offs)
		return 0;
	kvfree(heap->refill_offs);
	kvfree(heap->cpu_blocks);
	heap->refill_offs = NULL;
	heap->cpu_blocks = NULL;
	return -ENOMEM;
}

/**
 * gch_control_destroy() - free the control area's blocks
 * @heap: a heap whose mappings are gone.
 */
void gch_control_destroy(struct gch_heap *heap)
{
	unsigned int cpu;

	kvfree(heap->refill_offs);
	heap->refill_offs = NULL;
	if (!heap->cpu_blocks)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		vfree(heap->cpu_blocks[cpu]);
	kvfree(heap->cpu_blocks);
	heap->cpu_blocks = NULL;
}

/**
 * gch_control_block() - a CPU's block of caches, allocated on first use
 * @heap: the heap, locked, with its control area mapped.
 * @cpu:  the CPU.
 *
 * Return: the block's kernel address, or NULL (bad CPU, no memory).
 */
void *gch_control_block(struct gch_heap *heap, unsigned int cpu)
{
	void *block;

	lockdep_assert_held(&heap->lock);
	if (!heap->cpu_blocks || cpu >= nr_cpu_ids)
		return NULL;
	block = heap->cpu_blocks[cpu];
	if (!block) {
		/*
		 * Charged to the owner's memory cgroup while it has room.
		 * At its limit the charge must not call the OOM killer: the
		 * first touch of a CPU's block is a page fault of a program
		 * that was promised ENOMEM, never a kill.  So then uncharged:
		 * at most one block per CPU per heap.
		 */
		block = __vmalloc(gch_cache_layout.stride,
				  GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
				  __GFP_ZERO | __GFP_NOWARN);
		if (!block)
			block = __vmalloc(gch_cache_layout.stride,
					  GFP_KERNEL | __GFP_ZERO |
					  __GFP_NOWARN);
		heap->cpu_blocks[cpu] = block;
	}
	return block;
}

/* A cache's count as the kernel may trust it: in range, or 0. */
static u32 gch_cache_count(struct gch_heap *heap, struct gch_cache *c,
			   unsigned int spanclass)
{
	u32 n = READ_ONCE(c->count);

	if (n > gch_cache_layout.capacity[spanclass]) {
		heap->cache_resets++;
		n = 0;
	}
	return n;
}

/**
 * gch_control_fill() - put objects into the calling CPU's cache
 * @heap:      the heap, locked, with both mappings live.
 * @spanclass: the cache's span class.
 * @offs:      arena offsets of free objects, allocated to the cache.
 * @n:         how many.
 * @cpu:       out: the CPU whose cache was filled.
 *
 * Runs with preemption disabled from reading the count to storing the new
 * one, so no thread runs on this CPU meanwhile: a thread preempted inside
 * its rseq critical section restarts it and sees the cache before or
 * after the refill, never half of it.  Slots are written before the count.
 *
 * Return: objects placed (those beyond the cache's free room are the
 * caller's to give back), or -ENOMEM if no block could be allocated.
 */
int gch_control_fill(struct gch_heap *heap, unsigned int spanclass,
		     const u64 *offs, unsigned int n, unsigned int *cpu)
{
	u32 cap = gch_cache_layout.capacity[spanclass];
	struct gch_cache *c;
	unsigned int i, k;
	void *block;
	u32 count;

	for (;;) {
		*cpu = get_cpu();
		block = heap->cpu_blocks[*cpu];
		if (block)
			break;
		/* first use of this CPU: allocate (may sleep), then retry */
		put_cpu();
		if (!gch_control_block(heap, raw_smp_processor_id()))
			return -ENOMEM;
	}
	c = block + gch_cache_layout.offset[spanclass];
	count = gch_cache_count(heap, c, spanclass);
	k = min_t(u32, n, cap - count);
	for (i = 0; i < k; i++)
		WRITE_ONCE(c->slots[count + i], heap->arena_start + offs[i]);
	smp_wmb();	/* slots before the count that publishes them */
	WRITE_ONCE(c->count, count + k);
	put_cpu();
	if (k)
		heap->control_used = true;
	return k;
}

/**
 * gch_control_cached_objects() - objects sitting in all CPUs' caches
 * @heap: the heap, locked.
 *
 * A snapshot for statistics: other CPUs may be allocating meanwhile.
 *
 * Return: the sum of the (validated) counts.
 */
u64 gch_control_cached_objects(struct gch_heap *heap)
{
	unsigned int cpu, sc;
	u64 total = 0;
	void *block;

	if (!heap->cpu_blocks)
		return 0;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		block = heap->cpu_blocks[cpu];
		if (!block)
			continue;
		for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
			u32 n;

			if (!gch_cache_layout.capacity[sc])
				continue;
			n = READ_ONCE(((struct gch_cache *)
				       (block + gch_cache_layout.offset[sc]))->count);
			if (n <= gch_cache_layout.capacity[sc])
				total += n;
		}
	}
	return total;
}
