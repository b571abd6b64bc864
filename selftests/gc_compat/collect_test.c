// SPDX-License-Identifier: GPL-2.0
/*
 * bdwgc's collection control and statistics, as gc.h documents them:
 *
 *   reachable_from_uncollectable  a list reachable only from an
 *                       uncollectable object (itself referenced only by a
 *                       hidden pointer) survives collections whole; once
 *                       unlinked it is collected
 *   unreachable_collected  dropped objects of 16 B to 3 MiB, scanned and
 *                       pointer-free, are collected (weak links cleared;
 *                       of eight large ones of a size one may stay, as
 *                       bdwgc keeps its newest heap section's start)
 *   disable_enable      GC_disable: GC_gcollect and GC_try_to_collect do
 *                       nothing (gc_no unchanged, an unreachable object's
 *                       link not cleared, its finalizer not run, not even
 *                       with 32 MiB allocated), calls nest; GC_enable
 *                       brings collection back
 *   gc_no               GC_get_gc_no grows by at least one per GC_gcollect
 *   heap_stats          heap size, free bytes, memory use and total bytes
 *                       plausible (total grows by at least what was
 *                       allocated and never shrinks); GC_get_heap_usage_safe
 *                       and GC_get_prof_stats equal the getters gc.h says
 *                       they equal
 *   prof_stats_size     GC_get_prof_stats fills only stats_sz bytes, and
 *                       -1 beyond its structure
 *   roots               an object referenced only from malloc() memory
 *                       registered with GC_add_roots survives; after
 *                       GC_remove_roots it is collected
 *   warn_proc           GC_set_warn_proc/GC_get_warn_proc round trip,
 *                       GC_ignore_warn_proc; the drop-in's warnings go
 *                       through the proc
 *   oom_fn              GC_set_oom_fn: called with the size of an
 *                       impossible request (GC_malloc, _atomic,
 *                       _uncollectable), its result returned; by default
 *                       NULL, and GC_realloc leaves the object untouched
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "gc_compat.h"

/* ---- survival through an uncollectable object -------------------------- */

struct node {
	struct node *next;
	unsigned long idx;
	unsigned long check;
};

#define LIST_LEN	300
#define CHECK(i)	(0x9e3779b97f4a7c15ul * ((i) + 1))

static GC_word unc_hidden;

static noinline void **build_from_unc(void ***last_watch)
{
	void **u = GC_malloc_uncollectable(4 * sizeof(void *));
	struct node *head = NULL, *n;
	unsigned long i;

	if (!u)
		return NULL;
	for (i = LIST_LEN; i-- > 0;) {
		n = GC_malloc(sizeof(*n));
		if (!n)
			return NULL;
		n->next = head;
		n->idx = i;
		n->check = CHECK(i);
		if (i == LIST_LEN - 1)
			*last_watch = gct_watch(n);
		head = n;
	}
	u[2] = head;
	unc_hidden = GCT_HIDE(u);
	return gct_watch(head);
}

/* How many nodes of the list are intact, in order. */
static noinline unsigned long walk_from_unc(void)
{
	void **u = GCT_REVEAL(unc_hidden);
	struct node *n = u[2];
	unsigned long i = 0;

	for (; n; n = n->next, i++)
		if (n->idx != i || n->check != CHECK(i) || GC_base(n) != n)
			break;
	return i;
}

static noinline void unlink_from_unc(void)
{
	void **u = GCT_REVEAL(unc_hidden);

	u[2] = NULL;
}

TEST(reachable_from_uncollectable)
{
	void **head_w, **last_w = NULL;
	int i;

	GC_INIT();
	head_w = build_from_unc(&last_w);
	ASSERT_NE(NULL, head_w);
	ASSERT_NE(NULL, last_w);
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_TRUE(gct_alive(head_w)) TH_LOG("collection %d: head collected", i + 1);
		ASSERT_TRUE(gct_alive(last_w)) TH_LOG("collection %d: tail collected", i + 1);
		ASSERT_EQ(LIST_LEN, walk_from_unc())
			TH_LOG("collection %d: list broken", i + 1);
	}
	unlink_from_unc();
	EXPECT_NE(0, gct_collect_until_clear(last_w))
		TH_LOG("the unlinked list's tail survived %d collections", GCT_TRIES);
	EXPECT_NE(0, gct_collect_until_clear(head_w));
	GC_free(GCT_REVEAL(unc_hidden));
}

/* ---- garbage is collected ---------------------------------------------- */

static noinline void **make_garbage(size_t size, bool atomic)
{
	void *p = atomic ? GC_malloc_atomic(size) : GC_malloc(size);

	if (!p)
		return NULL;
	memset(p, 0x33, size);
	return gct_watch(p);
}

static noinline void allocate_mib(int mib)
{
	int i;

	for (i = 0; i < mib * 16; i++) {
		void *p = GC_malloc(64 << 10);

		__asm__ volatile("" : : "r" (p) : "memory");
	}
}

/*
 * bdwgc keeps, in a static of its own that it scans, the address where
 * its newest heap section starts (seen on libgc1 8.2.2: the start of the
 * last mmap()); a large object allocated there stays until the heap grows
 * again.  So of the large objects, one per size may stay; small ones go.
 */
#define LARGE_COPIES	4

TEST(unreachable_collected)
{
	static const size_t small[] = { 16, 100, 1024, 5000 };
	static const size_t large[] = { 70000, 3 << 20 };
	void **ws[ARRAY_SIZE(small)][2];
	void **wl[ARRAY_SIZE(large)][2][LARGE_COPIES];
	size_t s;
	int a, c, n;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(small); s++)
		for (a = 0; a < 2; a++) {
			ws[s][a] = make_garbage(small[s], a);
			ASSERT_NE(NULL, ws[s][a]);
		}
	for (s = 0; s < ARRAY_SIZE(large); s++)
		for (a = 0; a < 2; a++)
			for (c = 0; c < LARGE_COPIES; c++) {
				wl[s][a][c] = make_garbage(large[s], a);
				ASSERT_NE(NULL, wl[s][a][c]);
			}
	for (s = 0; s < ARRAY_SIZE(small); s++)
		for (a = 0; a < 2; a++) {
			n = gct_collect_until_clear(ws[s][a]);
			EXPECT_NE(0, n)
				TH_LOG("a dropped %s object of %zu bytes survived %d collections",
				       a ? "atomic" : "scanned", small[s], GCT_TRIES);
		}
	for (s = 0; s < ARRAY_SIZE(large); s++) {
		int kept = 0;

		for (a = 0; a < 2; a++)
			for (c = 0; c < LARGE_COPIES; c++)
				kept += !gct_collect_until_clear(wl[s][a][c]);
		EXPECT_LE(kept, 1)
			TH_LOG("%d of %d dropped objects of %zu bytes survived %d collections",
			       kept, 2 * LARGE_COPIES, large[s], GCT_TRIES);
	}
}

/* ---- GC_disable / GC_enable -------------------------------------------- */

static int fin_runs;

static void count_fin(void *obj, void *cd)
{
	(void)obj;
	(void)cd;
	fin_runs++;
}

static noinline void **make_finalizable_garbage(void)
{
	void *p = GC_malloc(40);
	void *q = GC_malloc(40);

	if (!p || !q)
		return NULL;
	GC_register_finalizer(p, count_fin, NULL, NULL, NULL);
	return gct_watch(q);
}

static int never_stop(void)
{
	return 0;
}

TEST(disable_enable)
{
	GC_word gc0;
	void **w;
	int i;

	GC_INIT();
	gct_collect();
	EXPECT_FALSE(GC_is_disabled());
	GC_disable();
	EXPECT_TRUE(GC_is_disabled());
	w = make_finalizable_garbage();
	ASSERT_NE(NULL, w);
	gc0 = GC_get_gc_no();
	/* gc.h: "Even GC_gcollect calls will be ineffective" */
	for (i = 0; i < 5; i++) {
		gct_collect();
		EXPECT_EQ(0, GC_try_to_collect(never_stop))
			TH_LOG("GC_try_to_collect while disabled");
		GC_invoke_finalizers();
	}
	allocate_mib(32);	/* no automatic collection either */
	gct_collect();
	GC_invoke_finalizers();
	EXPECT_EQ(gc0, GC_get_gc_no()) TH_LOG("collections happened while disabled");
	EXPECT_TRUE(gct_alive(w)) TH_LOG("an object was collected while collection was disabled");
	EXPECT_EQ(0, fin_runs) TH_LOG("a finalizer ran while collection was disabled");

	/* the calls nest */
	GC_disable();
	GC_enable();
	EXPECT_TRUE(GC_is_disabled());
	gct_collect();
	EXPECT_EQ(gc0, GC_get_gc_no());
	EXPECT_TRUE(gct_alive(w));

	GC_enable();
	EXPECT_FALSE(GC_is_disabled());
	EXPECT_EQ(1, GC_try_to_collect(never_stop));
	EXPECT_GT(GC_get_gc_no(), gc0);
	EXPECT_NE(0, gct_collect_until_clear(w))
		TH_LOG("not collected after GC_enable");
	for (i = 0; i < GCT_TRIES && !fin_runs; i++) {
		gct_collect();
		GC_invoke_finalizers();
	}
	EXPECT_EQ(1, fin_runs) TH_LOG("the finalizer after GC_enable");
}

/* ---- GC_get_gc_no ------------------------------------------------------ */

TEST(gc_no)
{
	GC_word n0, n1, n2;
	int i;

	GC_INIT();
	n0 = GC_get_gc_no();
	GC_gcollect();
	n1 = GC_get_gc_no();
	EXPECT_GE(n1, n0 + 1) TH_LOG("gc_no %lu -> %lu", (unsigned long)n0,
				     (unsigned long)n1);
	for (i = 0; i < 5; i++)
		GC_gcollect();
	n2 = GC_get_gc_no();
	EXPECT_GE(n2, n1 + 5) TH_LOG("gc_no %lu -> %lu after 5 collections",
				     (unsigned long)n1, (unsigned long)n2);
}

/* ---- statistics -------------------------------------------------------- */

static void **volatile held;	/* a root: the objects heap_stats keeps */

#define HELD_OBJS	4096
#define HELD_SIZE	1024

struct snap {
	size_t heap, free_b, unmapped, since, total, expl, non_gc;
	GC_word gc_no;
	struct GC_prof_stats_s ps;
	GC_word usage[5];
};

static void snapshot(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	GC_get_prof_stats(&s->ps, sizeof(s->ps));
	s->heap = GC_get_heap_size();
	s->free_b = GC_get_free_bytes();
	s->unmapped = GC_get_unmapped_bytes();
	s->since = GC_get_bytes_since_gc();
	s->total = GC_get_total_bytes();
	s->expl = GC_get_expl_freed_bytes_since_gc();
	s->non_gc = GC_get_non_gc_bytes();
	s->gc_no = GC_get_gc_no();
	GC_get_heap_usage_safe(&s->usage[0], &s->usage[1], &s->usage[2],
			       &s->usage[3], &s->usage[4]);
}

TEST(heap_stats)
{
	size_t total0, total1, total2, use;
	struct snap a, b;
	int i, tries;

	GC_INIT();
	total0 = GC_get_total_bytes();
	held = GC_malloc(HELD_OBJS * sizeof(void *));
	ASSERT_NE(NULL, held);
	for (i = 0; i < HELD_OBJS; i++) {
		held[i] = GC_malloc(HELD_SIZE);
		ASSERT_NE(NULL, held[i]);
	}
	total1 = GC_get_total_bytes();
	/* gc.h: "the total number of bytes allocated in this process" */
	EXPECT_GE(total1 - total0, (size_t)HELD_OBJS * HELD_SIZE)
		TH_LOG("GC_get_total_bytes grew by %zu for %d bytes",
		       total1 - total0, HELD_OBJS * HELD_SIZE);
	gct_collect();
	total2 = GC_get_total_bytes();
	EXPECT_GE(total2, total1) TH_LOG("GC_get_total_bytes decreased");
	EXPECT_GE(GC_get_heap_size(), (size_t)HELD_OBJS * HELD_SIZE)
		TH_LOG("heap size %zu below what is held", GC_get_heap_size());
	EXPECT_LE(GC_get_free_bytes(), GC_get_heap_size());
	use = GC_get_memory_use();
	EXPECT_GE(use, (size_t)HELD_OBJS * HELD_SIZE) TH_LOG("GC_get_memory_use %zu", use);
	EXPECT_GE(GC_get_obtained_from_os_bytes(), GC_get_heap_size());

	/*
	 * gc.h ties each field to a getter ("Same as ...").  Both are
	 * unsynchronized; pages may be returned to the system between two
	 * calls, so take snapshots until two in a row agree.
	 */
	for (tries = 0; tries < 20; tries++) {
		snapshot(&a);
		snapshot(&b);
		if (!memcmp(&a, &b, sizeof(a)))
			break;
	}
	EXPECT_EQ(a.heap + a.unmapped, a.ps.heapsize_full);
	EXPECT_EQ(a.free_b + a.unmapped, a.ps.free_bytes_full);
	EXPECT_EQ(a.unmapped, a.ps.unmapped_bytes);
	EXPECT_EQ(a.since, a.ps.bytes_allocd_since_gc);
	EXPECT_EQ(a.total - a.since, a.ps.allocd_bytes_before_gc);
	EXPECT_EQ(a.non_gc, a.ps.non_gc_bytes);
	EXPECT_EQ(a.gc_no, a.ps.gc_no);
	EXPECT_EQ(a.expl, a.ps.expl_freed_bytes_since_gc);
	EXPECT_GE(a.ps.obtained_from_os_bytes, a.ps.heapsize_full);
	/* the five getters GC_get_heap_usage_safe stands for */
	EXPECT_EQ(a.heap, a.usage[0]);
	EXPECT_EQ(a.free_b, a.usage[1]);
	EXPECT_EQ(a.unmapped, a.usage[2]);
	EXPECT_EQ(a.since, a.usage[3]);
	EXPECT_EQ(a.total, a.usage[4]);
	/* everything held is still there */
	for (i = 0; i < HELD_OBJS; i++)
		ASSERT_EQ(held[i], GC_base(held[i]));
}

TEST(prof_stats_size)
{
	struct {
		struct GC_prof_stats_s s;
		GC_word extra[4];
	} big;
	GC_word part[4];
	size_t n;
	int i;

	GC_INIT();
	held = GC_malloc(256 << 10);	/* the heap is not empty */
	ASSERT_NE(NULL, held);
	GC_gcollect();
	memset(part, 0xab, sizeof(part));
	n = GC_get_prof_stats((struct GC_prof_stats_s *)part, 2 * sizeof(GC_word));
	EXPECT_EQ(2 * sizeof(GC_word), n);
	EXPECT_GE(part[0], 256 << 10) TH_LOG("heapsize_full below what is held");
	for (i = 2; i < 4; i++)
		EXPECT_EQ((GC_word)0xabababababababab, part[i])
			TH_LOG("word %d beyond stats_sz was written", i);

	memset(&big, 0, sizeof(big));
	n = GC_get_prof_stats(&big.s, sizeof(big));
	EXPECT_EQ(sizeof(big.s), n);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(~(GC_word)0, big.extra[i])
			TH_LOG("unknown field %d not -1", i);
	EXPECT_EQ(GC_get_gc_no(), big.s.gc_no);
}

/* ---- roots ------------------------------------------------------------- */

#define ROOT_WORDS	1024

static noinline void **put_in_block(void **block, size_t at)
{
	void *t = GC_malloc(200);

	if (!t)
		return NULL;
	memset(t, 0x44, 200);
	block[at] = t;
	return gct_watch(t);
}

TEST(roots)
{
	void **block, **w, **w_unreg;
	int i;

	GC_INIT();
	block = calloc(ROOT_WORDS, sizeof(void *));
	ASSERT_NE(NULL, block);
	GC_add_roots(block, block + ROOT_WORDS);
	w = put_in_block(block, ROOT_WORDS / 2);
	ASSERT_NE(NULL, w);
	/* the same in a block that is no root: collected */
	{
		void **other = calloc(ROOT_WORDS, sizeof(void *));

		ASSERT_NE(NULL, other);
		w_unreg = put_in_block(other, ROOT_WORDS / 2);
		ASSERT_NE(NULL, w_unreg);
		EXPECT_NE(0, gct_collect_until_clear(w_unreg))
			TH_LOG("an object referenced from malloc() memory that is no root survived");
		free(other);
	}
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_TRUE(gct_alive(w))
			TH_LOG("collection %d: an object referenced from GC_add_roots memory was collected",
			       i + 1);
	}
	ASSERT_EQ(0x44, *(unsigned char *)block[ROOT_WORDS / 2]);
	/* gc.h: "Remove root segments located fully in the region" */
	GC_remove_roots(block, block + ROOT_WORDS);
	EXPECT_NE(0, gct_collect_until_clear(w))
		TH_LOG("still kept after GC_remove_roots");
	free(block);
}

/* ---- warnings and out of memory ---------------------------------------- */

static long not_heap_static[2];

TEST(warn_proc)
{
	GC_warn_proc def;
	void *p;

	GC_INIT();
	def = GC_get_warn_proc();
	EXPECT_NE(NULL, def);
	GC_set_warn_proc(gct_warn_proc);
	EXPECT_TRUE(GC_get_warn_proc() == gct_warn_proc);
	GC_set_warn_proc(GC_ignore_warn_proc);
	EXPECT_TRUE(GC_get_warn_proc() == GC_ignore_warn_proc);
	GC_set_warn_proc(gct_warn_proc);

	/* What warns is not documented; this one does on both (bdwgc:
	 * "Out of Memory! ... Returning NULL!") but is not asserted. */
	p = GC_malloc((size_t)-1 / 2);
	EXPECT_EQ(NULL, p);
	TH_LOG("%s: %d warnings for an impossible allocation", gct_impl(),
	       gct_warnings);
	if (gct_is_dropin()) {
		int before = gct_warnings;

		/* the drop-in's documented warning (userlib/gc/alloc.c) */
		GC_free(not_heap_static);
		EXPECT_GT(gct_warnings, before)
			TH_LOG("GC_free of a non-heap pointer did not warn through the warn proc");
	}
	GC_set_warn_proc(def);
	EXPECT_EQ(def, GC_get_warn_proc());
}

static size_t oom_asked;
static int oom_calls;
static void *oom_result;

static void *my_oom(size_t n)
{
	oom_calls++;
	oom_asked = n;
	return oom_result;
}

TEST(oom_fn)
{
	const size_t huge = (size_t)-1 / 2;
	void *(*const fns[])(size_t) = {
		GC_malloc, GC_malloc_atomic, GC_malloc_uncollectable,
	};
	GC_oom_func def;
	size_t f;
	char *q;

	GC_INIT();
	GC_set_warn_proc(GC_ignore_warn_proc);
	def = GC_get_oom_fn();
	EXPECT_NE(NULL, def);
	/* gc.h: it "must return 0 or a valid pointer to a previously
	 * allocated heap object" */
	oom_result = GC_malloc(64);
	ASSERT_NE(NULL, oom_result);
	GC_set_oom_fn(my_oom);
	EXPECT_TRUE(GC_get_oom_fn() == my_oom);
	for (f = 0; f < ARRAY_SIZE(fns); f++) {
		void *p;

		oom_calls = 0;
		oom_asked = 0;
		p = fns[f](huge);
		EXPECT_EQ(oom_result, p) TH_LOG("allocator %zu: not the oom_fn's result", f);
		EXPECT_GE(oom_calls, 1) TH_LOG("allocator %zu: oom_fn not called", f);
		EXPECT_EQ(huge, oom_asked) TH_LOG("allocator %zu: oom_fn asked for %zu",
						  f, oom_asked);
	}
	GC_set_oom_fn(def);
	EXPECT_EQ(def, GC_get_oom_fn());
	EXPECT_EQ(NULL, GC_malloc(huge));
	/* gc.h: on failure "the memory pointed by old_object is untouched
	 * (and not freed)" */
	q = GC_malloc(100);
	ASSERT_NE(NULL, q);
	memset(q, 7, 100);
	EXPECT_EQ(NULL, GC_realloc(q, huge));
	EXPECT_EQ(7, q[0]);
	EXPECT_EQ(7, q[99]);
	EXPECT_EQ(q, GC_base(q));
	/* and the heap still works */
	q = GC_malloc(1000);
	ASSERT_NE(NULL, q);
}

TEST_HARNESS_MAIN
