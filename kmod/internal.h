/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcheap.ko internals shared between its files.
 */
#ifndef _GCHEAP_INTERNAL_H
#define _GCHEAP_INTERNAL_H

#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "core/cache.h"
#include "core/heap.h"
#include "core/sizeclass.h"

struct file;
struct inode;
struct vm_area_struct;

/* Module parameters (main.c). */
extern unsigned int gch_max_heaps;
extern unsigned long gch_default_arena_size;
extern unsigned long gch_max_arena_size;

/* Built once at module load from the core's deterministic code. */
extern struct gch_sizeclass_table gch_size_classes;
extern struct gch_cache_layout gch_cache_layout;

/**
 * struct gch_heap - one garbage-collected heap, the private data of an
 * open file of /dev/gcheap
 * @id:             unique id for tracing and statistics, never reused.
 * @mm:             the address space that opened the device and owns the
 *                  heap; we hold mm_count (mmgrab), not mm_users, so a
 *                  heap never keeps a dead process's memory alive.
 * @tgid:           the owner's thread-group id in the initial pid
 *                  namespace (what tracing tools see).
 * @lock:           serialises everything below.  Never held while
 *                  touching user memory: the arena's fault handler takes
 *                  it, so a user copy under it could deadlock.
 * @inode:          a private inode whose address space holds the heap's
 *                  mappings, so freed pages are zapped from user page
 *                  tables with unmap_mapping_range() (arena.c).
 * @arena_size:     bytes of the arena.
 * @gc_percent:     GOGC-style pacing, or GCH_GC_OFF.
 * @workers:        collector threads for this heap; 0 for one per
 *                  online CPU.
 * @arena_start:    user address of the arena; 0 until it is mapped.
 * @arena_vma:      the arena's mapping, as mmap() made it; NULL when gone.
 * @control_vma:    the control area's mapping; NULL when gone.
 * @arena_state:    enum gch_map_state of the arena.
 * @control_state:  enum gch_map_state of the control area.
 * @core:           the portable heap (pages, spans, classes).
 * @cpu_blocks:     per CPU (nr_cpu_ids), that CPU's block of caches in the
 *                  control area (vmalloc'd on first use) or NULL.
 * @cache_resets:   times a cache count read back from the control area
 *                  was out of range and the cache was emptied.
 */
struct gch_heap {
	u64 id;
	struct mm_struct *mm;
	pid_t tgid;
	struct mutex lock;
	struct inode *inode;
	u64 arena_size;
	u32 gc_percent;
	u32 workers;
	unsigned long arena_start;
	struct vm_area_struct *arena_vma;
	struct vm_area_struct *control_vma;
	u8 arena_state;
	u8 control_state;
	struct gch_heap_core core;
	void **cpu_blocks;
	u64 cache_resets;
};

/**
 * enum gch_map_state - life of a heap's mapping
 * @GCH_MAP_NONE:   not mapped yet.
 * @GCH_MAP_LIVE:   mapped.
 * @GCH_MAP_GONE:   was mapped and was unmapped: cannot come back, because
 *                  objects would reappear at another address.
 */
enum gch_map_state {
	GCH_MAP_NONE = 0,
	GCH_MAP_LIVE,
	GCH_MAP_GONE,
};

/* heap.c */
struct gch_heap *gch_heap_open(void);
void gch_heap_release(struct gch_heap *heap);
int gch_heap_check_owner(const struct gch_heap *heap);
int gch_heap_configure(struct gch_heap *heap, struct gch_heap_config *cfg);
int gch_heap_refill(struct gch_heap *heap, struct gch_refill *r,
		    u64 __user *ubuf);
int gch_heap_alloc_large_obj(struct gch_heap *heap, u64 size, bool noscan,
			     u64 *addr);
int gch_heap_free_obj(struct gch_heap *heap, u64 addr);
int gch_heap_query(struct gch_heap *heap, struct gch_query *q);
void gch_heap_stats(struct gch_heap *heap, struct gch_stats *st);

/* arena.c: mappings, faults and the memory behind spans */
extern const struct gch_heap_ops gch_span_backing_ops;
int gch_arena_fs_init(struct gch_heap *heap);
void gch_arena_fs_exit(struct gch_heap *heap);
int gch_mmap(struct file *file, struct vm_area_struct *vma);
void *gch_span_kaddr(const struct gch_span *s);

/* control.c: the per-CPU caches */
int gch_control_init(struct gch_heap *heap);
void gch_control_destroy(struct gch_heap *heap);
void *gch_control_block(struct gch_heap *heap, unsigned int cpu);
u64 gch_control_cached_objects(struct gch_heap *heap);
int gch_control_fill(struct gch_heap *heap, unsigned int spanclass,
		     const u64 *offs, unsigned int n, unsigned int *cpu);
unsigned long gch_control_size(void);

long gch_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int gch_dev_register(void);
void gch_dev_unregister(void);

#endif /* _GCHEAP_INTERNAL_H */
