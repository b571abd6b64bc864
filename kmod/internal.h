/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcheap.ko internals shared between its files.
 */
#ifndef _GCHEAP_INTERNAL_H
#define _GCHEAP_INTERNAL_H

#include <linux/llist.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/ptrace.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "core/cache.h"
#include "core/heap.h"
#include "core/mark.h"
#include "core/sizeclass.h"

struct file;
struct inode;
struct vm_area_struct;

/* Module parameters (main.c). */
extern unsigned int gch_max_heaps;
extern unsigned int gch_max_heaps_per_user;
extern unsigned long gch_default_arena_size;
extern unsigned long gch_max_arena_size;
extern unsigned int gch_stw_timeout_ms;
extern unsigned long gch_max_heap_metadata;
extern unsigned int gch_scavenge_delay_ms;
extern unsigned long gch_max_root_bytes;
extern unsigned long gch_min_heap_goal;
extern bool gch_concurrent_mark;
extern bool gch_cmark_wp;

/* Most worker threads (module parameter workers). */
#define GCH_MAX_WORKERS		64


/* Largest gc_percent (other than GCH_GC_OFF). */
#define GCH_GC_PERCENT_MAX	1000000U

/* Built once at module load from the core's deterministic code. */
extern struct gch_sizeclass_table gch_size_classes;
extern struct gch_cache_layout gch_cache_layout;

/**
 * struct gch_specials - a heap's finalizers and weak links (specials.c)
 * @fin:         registered finalizers (struct gch_fin) by object offset.
 * @fins:        the same records in an array, walked by the phases.
 * @nr_fin:      entries of @fin and @fins.
 * @fin_cap:     entries @fins holds.
 * @ready:       queued finalizers, oldest first, not yet taken.
 * @nr_ready:    entries of @ready.
 * @weak:        weak links (struct gch_weakref) by link address.
 * @weaks:       the same records in an array.
 * @nr_weak:     entries of @weak and @weaks.
 * @weak_cap:    entries @weaks holds.
 * @clear:       links the last phases chose to clear; room for every
 *               registered link, so that a collection allocates nothing.
 * @nr_clear:    entries of @clear in use.
 * @clear_cap:   entries @clear holds (at least @nr_weak).
 * @clearing:    a collection is writing the links its phases chose, from
 *               @clear, without the lock: @clear must not be freed.
 * @clear_old:   @clear as it was when replaced during @clearing; freed
 *               when the writes are done.
 * @wq:          GCH_IOC_FIN_TAKE callers waiting for a queued finalizer.
 * @take_lock:   one taker at a time (not under @lock: a take copies out).
 * @queued_total: finalizers queued since the heap began.
 * @waiting:     the last collection's waiting finalizers.
 * @cleared_total: links cleared since the heap began.
 * @dropped_total: links dropped unwritten.
 * @ns_total:    time in the phases.
 *
 * Everything but @wq and @take_lock is under the heap's @lock.
 */
struct gch_fin;
struct gch_weakref;

struct gch_specials {
	struct xarray fin;
	struct gch_fin **fins;
	unsigned long nr_fin;
	unsigned long fin_cap;
	struct list_head ready;
	unsigned long nr_ready;
	struct xarray weak;
	struct gch_weakref **weaks;
	unsigned long nr_weak;
	unsigned long weak_cap;
	u64 *clear;
	unsigned long nr_clear;
	unsigned long clear_cap;
	bool clearing;
	u64 *clear_old;
	wait_queue_head_t wq;
	struct mutex take_lock;
	u64 queued_total;
	u64 waiting;
	u64 cleared_total;
	u64 dropped_total;
	u64 ns_total;
};

/**
 * struct gch_fin_info - what one collection's finalizer and weak phases did
 * @queued:       finalizers queued.
 * @waiting:      unreachable finalizable objects reached by another one
 *                (or through a cycle by themselves): not queued.
 * @weak_cleared: links set to 0.
 * @weak_dropped: links dropped unwritten.
 * @ns:           time in the phases (in the pause).
 * @clear:        the links to write (the heap's @spec.clear, kept while
 *                @spec.clearing).
 * @nr_clear:     how many.
 */
struct gch_fin_info {
	u64 queued;
	u64 waiting;
	u64 weak_cleared;
	u64 weak_dropped;
	u64 ns;
	u64 *clear;
	unsigned long nr_clear;
};

/* gch_cmark.state: where a background mark is */
enum gch_cmark_state {
	GCH_CMARK_IDLE,		/* none */
	GCH_CMARK_MARKING,	/* its rounds run in @cmark_work */
	GCH_CMARK_READY,	/* waiting for a thread to take the final stop */
};

/**
 * struct gch_cmark - a mark beside the program (module parameter
 * concurrent_mark), from its first stop to its final one
 * @on:          the mark runs beside the program; the final stop ends it.
 * @cancel:      the heap is being released: the rounds stop early.
 * @state:       enum gch_cmark_state, the heap's background mark only
 *               (set with release by its work, read under collect_lock
 *               or with acquire).
 * @err:         the background rounds' error.
 * @acc:         the rounds' totals so far.
 * @dirty_root:  the GCH_ROOT_DIRTY item pre-cleaning and the final stop
 *               scan.
 * @initial_ns:  the first pause (stop, roots, mark phase entered).
 * @conc_ns:     the marking while the program ran, pre-cleaning included.
 * @precleans:   pre-cleaning rounds (the write-protecting one included).
 * @wp:          the last round write-protected the arena
 *               (gch_dirty_protect()): the final stop reads a bitmap and
 *               no pre-cleaning may come after it.
 * @final_t0:    when the final stop began.
 * @dirty:       heap pages scanned again at the final stop.
 * @rs:          the background mark's first roots, until its work has
 *               marked from them.
 * @gi:          the background collection's numbers from its first stop.
 */
struct gch_cmark {
	bool on;
	bool cancel;
	int state;
	int err;
	struct gch_mark_stats acc;
	struct gch_root dirty_root;
	u64 initial_ns;
	u64 conc_ns;
	u32 precleans;
	bool wp;
	u64 final_t0;
	u64 dirty;
	struct gch_rootset *rs;
	struct gch_gc_info gi;
};

/**
 * struct gch_heap - one garbage-collected heap, the private data of an
 * open file of /dev/gcheap
 * @id:             unique id for tracing and statistics, never reused.
 * @mm:             the address space that opened the device and owns the
 *                  heap; we hold mm_count (mmgrab), not mm_users, so a
 *                  heap never keeps a dead process's memory alive.
 * @tgid:           the owner's thread-group id in the initial pid
 *                  namespace (what tracing tools see).
 * @uid:            the opener's uid in the initial user namespace (counted
 *                  against max_heaps_per_user until release).
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
 * @premap:         during an allocation ioctl holding the owner's mmap
 *                  lock: @arena_vma, where new spans' pages are mapped at
 *                  once; NULL otherwise.  Under @lock.
 * @control_vma:    the control area's mapping; NULL when gone.
 * @arena_state:    enum gch_map_state of the arena.
 * @control_state:  enum gch_map_state of the control area.
 * @core:           the portable heap (pages, spans, classes).
 * @cpu_blocks:     per CPU (nr_cpu_ids), that CPU's block of caches in the
 *                  control area (vmalloc'd on first use) or NULL.
 * @cache_resets:   times a cache count read back from the control area
 *                  was out of range and the cache was emptied.
 * @refills:        refills that handed out objects (GCH_IOC_REFILL).
 * @refill_offs:    GCH_CACHE_MAX_SLOTS arena offsets: where a cache refill
 *                  stages its objects, under @lock; made with the control
 *                  area (gch_control_init()).
 * @collect_lock:   one collection at a time; taken interruptibly, before
 *                  @lock.
 * @mark:           the core's mark state, made at the first collection.
 * @sweep:          the core's sweep state, likewise.
 * @tls_below:      static TLS bytes below each thread pointer (roots).
 * @tls_above:      bytes from the thread pointer up (roots).
 * @roots:          registered root ranges (GCH_IOC_ROOTS).
 * @nr_roots:       entries of @roots in use.
 * @heap_goal:      collect when core.inuse_bytes passes it; 0: never.
 * @heap_live:      bytes the last collection's mark found reachable.
 * @num_gc:         collections so far.
 * @pause_total_ns: their pauses added up.
 * @history:        the last GCH_GC_HISTORY collections, a ring indexed by
 *                  gc_number % GCH_GC_HISTORY; allocated with @mark.
 * @phase_history:  their stops, likewise (the same allocation).
 * @concurrent:     GCH_CONCURRENT_* (gch_heap_config.concurrent).
 * @idle:           free pages kept for reuse, by arena page index
 *                  (scavenge.c).
 * @idle_pages:     entries of @idle.
 * @scavenged_bytes: bytes the scavenger returned to the system.
 * @scav_work:      the scavenger's periodic tick.
 * @scav_stop:      set when the heap is released: no more ticks.
 * @sweep_work:     the background sweep (GCH_COLLECT_ASYNC_SWEEP);
 *                  initialised with @mark.
 * @sweep_gi:       its collection's numbers, completed when it ends.
 * @marked_bytes:   bytes of the objects the last mark found reachable.
 * @marked_dead:    objects allocated at the last mark and not marked: what
 *                  its sweep frees.
 * @dead_bytes:     their bytes (core.inuse_bytes at the mark, less
 *                  @marked_bytes).
 * @lazy_sweep_ns:  the last collection's sweep after the restart (the
 *                  part not in its pause), wall time of the batches.
 * @lazy_sweep_total_ns: those added up.
 * @kmeta_bytes:    bookkeeping the module allocated besides the core's
 *                  (core.metadata_bytes): span page lists, the root
 *                  ranges, the history; both count against
 *                  max_heap_metadata.
 * @control_used:   an object was ever put into a per-CPU cache.
 * @last_workers:   per worker, the last collection.
 * @nr_last_workers: entries of @last_workers.
 * @spec:           finalizers and weak links (specials.c).
 * @alloc_waiters:  allocations waiting for @lock: the background sweep
 *                  lets them in between steps of its batches.
 * @dirty_kbits:    the arena's kernel pages, for
 *                  clean_record_shared_mapping_range() (dirty.c).
 * @dirty_map:      heap pages written and not yet scanned again (the
 *                  same allocation, after @dirty_kbits).
 * @dirty_held:     heap pages someone held (a pin) when the arena was
 *                  write-protected: taken again at the final stop.
 * @dirty_wbits:    heap pages the program wrote through a write-protected
 *                  entry (.page_mkwrite, set_bit() without the lock);
 *                  published last, with release.
 * @arena_wp:       the arena was mapped for write-protection (.page_mkwrite:
 *                  entries are mapped read-only until written).
 * @dirty_protected: the arena is write-protected for this mark's end.
 * @bg:             the background mark (concurrent_mark, a collection
 *                  the pacing asked for); guarded by @collect_lock but
 *                  for its work's part.
 * @cmark_work:     its rounds beside the program; initialised with @mark.
 */
struct gch_heap {
	u64 id;
	struct mm_struct *mm;
	pid_t tgid;
	uid_t uid;
	struct mutex lock;
	atomic_t alloc_waiters;
	struct inode *inode;
	u64 arena_size;
	u32 gc_percent;
	u32 workers;
	unsigned long arena_start;
	struct vm_area_struct *arena_vma;
	struct vm_area_struct *premap;
	struct vm_area_struct *control_vma;
	u8 arena_state;
	u8 control_state;
	struct gch_heap_core core;
	void **cpu_blocks;
	u64 cache_resets;
	u64 refills;
	u64 *refill_offs;
	struct mutex collect_lock;
	struct gch_mark *mark;
	struct gch_sweep *sweep;
	u32 tls_below;
	u32 tls_above;
	struct gch_root_range *roots;
	unsigned int nr_roots;
	u64 heap_goal;
	u64 heap_live;
	u64 num_gc;
	u64 pause_total_ns;
	struct gch_gc_info *history;
	struct gch_gc_phases *phase_history;
	u32 concurrent;
	struct xarray idle;
	atomic_long_t idle_pages;
	u64 scavenged_bytes;
	struct delayed_work scav_work;
	bool scav_stop;
	struct work_struct sweep_work;
	struct gch_gc_info sweep_gi;
	u64 marked_bytes;
	u64 marked_dead;
	u64 dead_bytes;
	u64 lazy_sweep_ns;
	u64 lazy_sweep_total_ns;
	u64 kmeta_bytes;
	bool control_used;
	struct gch_gc_worker last_workers[GCH_STATS_MAX_WORKERS];
	unsigned int nr_last_workers;
	struct gch_specials spec;
	unsigned long *dirty_kbits;
	u64 *dirty_map;
	unsigned long *dirty_held;
	unsigned long *dirty_wbits;
	bool arena_wp;
	bool dirty_protected;
	struct gch_cmark bg;
	struct work_struct cmark_work;
};

/**
 * struct gch_root_range - a registered root range, 8-byte aligned
 * @start: first byte.
 * @end:   one past the last.
 * @tag:   the registrant's label (struct gch_roots).
 */
struct gch_root_range {
	u64 start;
	u64 end;
	u32 tag;
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

/**
 * enum gch_thread_state - a thread of a world being stopped (stw.c)
 * @GCH_THREAD_QUEUED: the park is queued and has not run.
 * @GCH_THREAD_PARKED: parked: @park_regs and @park_fsbase are set.
 * @GCH_THREAD_GONE:   exiting: no roots.
 * @GCH_THREAD_SELF:   the collector itself.
 */
enum gch_thread_state {
	GCH_THREAD_QUEUED = 0,
	GCH_THREAD_PARKED,
	GCH_THREAD_GONE,
	GCH_THREAD_SELF,
};

struct gch_world;
struct gch_parker;

/**
 * struct gch_xstate - a copy of a thread's saved FPU/vector registers
 * @words: the XSAVE image, as words to scan conservatively.
 * @n:     words of it in use.
 * @cap:   words allocated.
 */
struct gch_xstate {
	u64 *words;
	unsigned int n;
	unsigned int cap;
};

/**
 * struct gch_thread - one thread of the process during a collection
 * @world:       the world it belongs to.
 * @task:        the thread (referenced).
 * @link:        in the world's list of threads.
 * @state:       enum gch_thread_state.
 * @stopped:     QUEUED, but found stopped by a signal or tracer: @regs,
 *               @fsbase and @xstate were read where it stands.
 * @blocked:     QUEUED, found asleep in a system call with its park
 *               queued (@stopped is set too): it cannot reach user mode
 *               before the release, so it stays stopped whatever it does
 *               in the kernel meanwhile.
 * @exiting:     QUEUED, but exiting.
 * @parker:      its park, while queued and not run; under the parkers'
 *               lock (stw.c).
 * @held:        in stw.c's table of threads held in the kernel with their
 *               user state recorded (the collector, a parked thread),
 *               which other heaps' collections take as stopped.
 * @is_held:     in that table.
 * @switches:    found stopped: its context switches then (see
 *               gch_world_intact()).
 * @regs:        user registers (collector, or stopped thread).
 * @fsbase:      user thread pointer (collector, or stopped thread).
 * @xstate:      user FPU/vector registers (collector, or stopped thread).
 * @park_err:    the thread parked without @park_xstate (no memory).
 * @park_regs:   user registers, written by the thread when it parks.
 * @park_fsbase: its thread pointer, likewise.
 * @park_xstate: its FPU/vector registers, likewise.
 */
struct gch_thread {
	struct gch_world *world;
	struct task_struct *task;
	struct list_head link;
	int state;
	bool stopped;
	bool blocked;
	bool exiting;
	struct gch_parker *parker;
	struct hlist_node held;
	bool is_held;
	unsigned long switches;
	struct pt_regs regs;
	unsigned long fsbase;
	struct gch_xstate xstate;
	int park_err;
	struct pt_regs park_regs;
	unsigned long park_fsbase;
	struct gch_xstate park_xstate;
};

/* stw.c */
int gch_world_stop(struct file *file, unsigned long timeout,
		   struct gch_world **out);
void gch_world_release(struct gch_world *w);
struct list_head *gch_world_threads(struct gch_world *w);
unsigned int gch_world_nr_stopped(struct gch_world *w);
bool gch_world_intact(struct gch_world *w);

/**
 * gch_gc_alloc() - zeroed memory for one collection's own use
 * @n:    elements.
 * @size: bytes each.
 *
 * Root words, register images, work lists: charged to the caller's
 * memory cgroup (the heap owner's, or the one set with set_active_memcg())
 * while it has room, taken uncharged otherwise, so that a collection,
 * which frees memory, still runs at the limit.  It lives for one
 * collection and is bounded by max_root_bytes and the thread count.  Free
 * with kvfree().
 *
 * Return: the memory, or NULL.
 */
static inline void *gch_gc_alloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (check_mul_overflow(n, size, &bytes))
		return NULL;
	p = kvzalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
		     __GFP_NOWARN);
	return p ?: kvzalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
}

/* xstate.c */
int gch_xstate_save_current(struct gch_xstate *xs);
int gch_xstate_reserve_task(struct task_struct *task, struct gch_xstate *xs);
void gch_xstate_copy_held(struct task_struct *task, struct gch_xstate *xs);
int gch_xstate_copy_stopped(struct task_struct *task, struct gch_xstate *xs);
int gch_xstate_dup(struct gch_xstate *dst, const struct gch_xstate *src);
void gch_xstate_free(struct gch_xstate *xs);

/* workers.c */
int gch_pool_init(unsigned int nr);
void gch_pool_exit(void);
unsigned int gch_pool_size(void);
void gch_pool_run(unsigned int n, void (*fn)(void *arg, unsigned int index),
		  void *arg, struct mm_struct *mm);

/* roots.c */
struct gch_rootset;
int gch_roots_ctl(struct gch_heap *heap, const struct gch_roots *op);
struct gch_rootset *gch_roots_build(struct gch_heap *heap,
				    struct gch_world *w, unsigned int nworkers);
const struct gch_root *gch_rootset_items(const struct gch_rootset *rs,
					 unsigned int *n);
int gch_roots_detach(struct gch_rootset *rs);
int gch_roots_append(struct gch_rootset *rs, const struct gch_root *r);
void gch_roots_free(struct gch_rootset *rs);

/* collect.c */
int gch_heap_collect(struct gch_heap *heap, struct file *file, u32 flags,
		     struct gch_collect *c);
int gch_heap_gc_stats(struct gch_heap *heap, struct gch_gc_stats *st);
bool gch_heap_gc_due(const struct gch_heap *heap);
bool gch_heap_concurrent(const struct gch_heap *heap);
void gch_heap_set_goal(struct gch_heap *heap);
int gch_collector_init(struct gch_heap *heap);
void gch_collector_destroy(struct gch_heap *heap);
void gch_sweep_wait(struct gch_heap *heap);
int gch_heap_mark_more(struct gch_heap *heap, const struct gch_root *roots,
		       unsigned int nroots, unsigned int n,
		       struct gch_mark_stats *ms);

/* specials.c: finalizers and weak links */
void gch_specials_init(struct gch_heap *heap);
void gch_specials_destroy(struct gch_heap *heap);
/* GCH_IOC_FINALIZER's and GCH_IOC_WEAK's flags (combinations: specials.c) */
#define GCH_FINALIZER_FLAGS	(GCH_FINALIZER_NO_ORDER | \
				 GCH_FINALIZER_IGNORE_SELF | \
				 GCH_FINALIZER_UNREACHABLE)
#define GCH_WEAK_FLAGS		(GCH_WEAK_LONG | GCH_WEAK_REMOVE | \
				 GCH_WEAK_MOVE | GCH_WEAK_KIND)
int gch_specials_finalizer(struct gch_heap *heap, struct gch_finalizer *a);
int gch_specials_weak(struct gch_heap *heap, const struct gch_weak *a);
void gch_specials_forget(struct gch_heap *heap, u64 off, u64 size);
void gch_specials_mark_roots(struct gch_mark_worker *w, void *arg);
int gch_specials_collect(struct gch_heap *heap, unsigned int n,
			 struct gch_mark_stats *ms, struct gch_fin_info *fi);
void gch_specials_clear_links(struct gch_heap *heap, struct gch_fin_info *fi);
int gch_specials_take(struct gch_heap *heap, struct gch_fin_take *t);
void gch_specials_stats(struct gch_heap *heap, struct gch_stats *st);

/* heap.c */
struct gch_heap *gch_heap_open(void);
void gch_heap_release(struct gch_heap *heap);
int gch_heap_check_owner(const struct gch_heap *heap);
int gch_heap_meta_charge(struct gch_heap *heap, u64 bytes);
u64 gch_heap_meta_bytes(const struct gch_heap *heap);
int gch_heap_configure(struct gch_heap *heap, struct gch_heap_config *cfg);
int gch_heap_refill(struct gch_heap *heap, struct gch_refill *r,
		    u64 __user *ubuf);
int gch_heap_alloc_large_obj(struct gch_heap *heap, u64 size, bool noscan,
			     u64 *addr, u32 *gc_due);
int gch_heap_free_obj(struct gch_heap *heap, u64 addr);
int gch_heap_offset(struct gch_heap *heap, u64 addr, u64 *off);
int gch_heap_query(struct gch_heap *heap, struct gch_query *q);
void gch_heap_stats(struct gch_heap *heap, struct gch_stats *st);

/* arena.c: mappings, faults and the memory behind spans */
extern const struct gch_heap_ops gch_span_backing_ops;
int gch_arena_fs_init(struct gch_heap *heap);
void gch_arena_fs_exit(struct gch_heap *heap);
int gch_mmap(struct file *file, struct vm_area_struct *vma);
bool gch_vma_is_ours(const struct vm_area_struct *vma);
void *gch_span_kaddr(const struct gch_span *s);
bool gch_span_page_written(struct gch_span *s, unsigned int i, bool *held);
struct page *gch_arena_kpage(struct gch_heap *heap, unsigned long index);

/* dirty.c: the pages the program wrote, for a mark beside it */
int gch_dirty_prepare(struct gch_heap *heap);
void gch_dirty_destroy(struct gch_heap *heap);
void gch_dirty_clear(struct gch_heap *heap);
u64 gch_dirty_preclean(struct gch_heap *heap);
u64 gch_dirty_final(struct gch_heap *heap);
u64 gch_dirty_protect(struct gch_heap *heap);
void gch_dirty_mkwrite(struct gch_heap *heap, pgoff_t index);
void gch_cmark_cancel(struct gch_heap *heap);
void gch_dirty_consumed(struct gch_heap *heap);
void gch_dirty_root(struct gch_heap *heap, struct gch_root *r);

/* scavenge.c: free pages kept for reuse, returned in the background */
void gch_idle_put(struct gch_heap *heap, unsigned long index,
		  struct page *page);
struct page *gch_idle_take(struct gch_heap *heap, unsigned long index);
void gch_idle_zap(struct gch_heap *heap, unsigned long first,
		  unsigned long n);
void gch_scav_init(struct gch_heap *heap);
void gch_scav_stop(struct gch_heap *heap);
void gch_scav_trim(struct gch_heap *heap);
bool gch_scav_memcg_tight(struct gch_heap *heap);
bool gch_memcg_room(struct gch_heap *heap, unsigned long pages);
bool gch_scav_reclaim(struct gch_heap *heap);
void gch_scav_destroy(struct gch_heap *heap);
u64 gch_scav_idle_bytes(struct gch_heap *heap);

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
