// SPDX-License-Identifier: GPL-2.0
/*
 * bdwgc's finalization, as gc.h documents it:
 *
 *   runs_once           a finalizer does not run while its object is
 *                       reachable; once it is not, it runs exactly once,
 *                       with the object and its client data
 *   replace_unregister  *ofn and *ocd return the previous finalizer and data
 *                       (NULL when there was none), the last registration
 *                       wins, fn NULL unregisters (the object is then
 *                       collected without any finalizer running); an
 *                       object outside the heap gets no finalizer and
 *                       *ofn and *ocd NULL
 *   resurrection        a finalizer that stores its object makes it live
 *                       on, intact; it is not finalized again unless
 *                       registered again
 *   client_data_alive   an object referenced only by the client data is
 *                       alive until the finalizer ran
 *   order_chain         A->B->C, all finalizable: A first, then B, then
 *                       C, each in a later collection than the one before
 *   no_order            A->B registered with GC_register_finalizer_no_order:
 *                       both in the same collection; a no_order cycle is
 *                       finalized
 *   cycles              an object pointing to itself is never finalized
 *                       with GC_register_finalizer, finalized with
 *                       GC_register_finalizer_ignore_self; a two-object
 *                       cycle is finalized with neither
 *   unreachable         GC_register_finalizer_unreachable: B reachable
 *                       from a no_order A is finalized only in a later
 *                       collection than A (a plain B: the same one); alone
 *                       it is finalized
 *   on_demand           GC_set_finalize_on_demand(1): the notifier is
 *                       called (at most once per collection),
 *                       GC_should_invoke_finalizers() is true, finalizers
 *                       run only in GC_invoke_finalizers(), whatever is
 *                       allocated
 *   automatic           finalize_on_demand 0 (the default): finalizers run
 *                       without GC_invoke_finalizers(), after GC_gcollect
 *                       or allocation, in the program's own thread
 *   debug_finalizer     GC_debug_register_finalizer on a GC_debug_malloc
 *                       object: run with the pointer the program got
 *   interior_pointer    (drop-in only: bdwgc leaves it undefined) a
 *                       registration with a pointer into an object, not to
 *                       its start, registers nothing, returns no previous
 *                       finalizer, and the object is collected as usual
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "gc_compat.h"

/* What a finalizer saw; the client data is always one of these (static,
 * so it keeps nothing alive). */
struct rec {
	int runs;
	GC_word obj;		/* hidden */
	void *cd;
	int round;		/* the test's collection round */
	GC_word gc_no;
	int seq;
	pthread_t thread;
	int resurrect;
};

static struct rec recs[8];
static int seq, round_no;
static void *volatile resurrected;	/* a root */

static void fin(void *obj, void *cd)
{
	struct rec *r = cd;

	r->runs++;
	r->obj = GCT_HIDE(obj);
	r->cd = cd;
	r->round = round_no;
	r->gc_no = GC_get_gc_no();
	r->seq = ++seq;
	r->thread = pthread_self();
	if (r->resurrect)
		resurrected = obj;
}

static void other_fin(void *obj, void *cd)
{
	(void)obj;
	((struct rec *)cd)->runs += 100;
}

/* Collect, run what is queued; the round number is recorded by fin(). */
static noinline void round_collect(void)
{
	round_no++;
	gct_collect();
	GC_invoke_finalizers();
}

/* Collect until @r ran (or GCT_TRIES rounds): the rounds it took, or 0. */
static noinline int collect_until_run(struct rec *r)
{
	int i;

	for (i = 1; i <= GCT_TRIES; i++) {
		round_collect();
		if (r->runs)
			return i;
	}
	return 0;
}

typedef void (*reg_fn)(void *, GC_finalization_proc, void *,
		       GC_finalization_proc *, void **);

/* ---- runs once, with the right arguments ------------------------------ */

static void *volatile keep;	/* a root */

static noinline GC_word make_one(reg_fn reg, struct rec *r, size_t size)
{
	void *x = GC_malloc(size);

	if (!x)
		return 0;
	memset(x, 0x21, size);
	reg(x, fin, r, NULL, NULL);
	keep = x;
	return GCT_HIDE(x);
}

TEST(runs_once)
{
	static const size_t fsizes[] = { 16, 4000, 200000 };
	size_t s;
	int i;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(fsizes); s++) {
		struct rec *r = &recs[s];
		GC_word x = make_one(GC_register_finalizer, r, fsizes[s]);

		ASSERT_NE(0, x);
		for (i = 0; i < GCT_TRIES; i++) {
			round_collect();
			ASSERT_EQ(0, r->runs)
				TH_LOG("the finalizer of a reachable %zu-byte object ran",
				       fsizes[s]);
		}
		keep = NULL;
		EXPECT_NE(0, collect_until_run(r))
			TH_LOG("a %zu-byte object's finalizer did not run in %d collections",
			       fsizes[s], GCT_TRIES);
		EXPECT_EQ(1, r->runs);
		EXPECT_EQ(x, r->obj) TH_LOG("the finalizer got another object");
		EXPECT_EQ(r, r->cd) TH_LOG("the finalizer got other client data");
		for (i = 0; i < 4; i++)
			round_collect();
		EXPECT_EQ(1, r->runs) TH_LOG("a finalizer ran more than once");
	}
}

/* ---- registration's results ------------------------------------------- */

static long not_heap_static[4];

static noinline void **make_replaced(struct rec *r1, struct rec *r2,
				     GC_finalization_proc *o1, void **c1,
				     GC_finalization_proc *o2, void **c2,
				     GC_finalization_proc *o3, void **c3)
{
	void *x = GC_malloc(64);

	if (!x)
		return NULL;
	GC_register_finalizer(x, fin, r1, o1, c1);
	GC_register_finalizer(x, other_fin, r2, o2, c2);
	GC_register_finalizer(x, NULL, NULL, o3, c3);
	return gct_watch(x);
}

static noinline GC_word make_last_wins(struct rec *r1, struct rec *r2)
{
	void *x = GC_malloc(64);

	if (!x)
		return 0;
	GC_register_finalizer(x, other_fin, r1, NULL, NULL);
	GC_register_finalizer(x, fin, r2, NULL, NULL);
	return GCT_HIDE(x);
}

TEST(replace_unregister)
{
	GC_finalization_proc o1 = other_fin, o2 = NULL, o3 = NULL, on = fin;
	void *c1 = &o1, *c2 = NULL, *c3 = NULL, *cn = &on;
	void **w;
	GC_word x;
	int i;

	GC_INIT();
	w = make_replaced(&recs[0], &recs[1], &o1, &c1, &o2, &c2, &o3, &c3);
	ASSERT_NE(NULL, w);
	EXPECT_TRUE(o1 == NULL) TH_LOG("*ofn of a first registration");
	EXPECT_EQ(NULL, c1) TH_LOG("*ocd of a first registration");
	EXPECT_TRUE(o2 == fin) TH_LOG("*ofn: not the replaced finalizer");
	EXPECT_EQ(&recs[0], c2) TH_LOG("*ocd: not the replaced client data");
	EXPECT_TRUE(o3 == other_fin) TH_LOG("*ofn when unregistering");
	EXPECT_EQ(&recs[1], c3);
	EXPECT_NE(0, gct_collect_until_clear(w))
		TH_LOG("an object whose finalizer was removed was not collected");
	for (i = 0; i < 3; i++)
		round_collect();
	EXPECT_EQ(0, recs[0].runs) TH_LOG("a replaced finalizer ran");
	EXPECT_EQ(0, recs[1].runs) TH_LOG("an unregistered finalizer ran");

	/* gc.h: "All but the last finalizer registered for an object is
	 * ignored" */
	x = make_last_wins(&recs[2], &recs[3]);
	ASSERT_NE(0, x);
	EXPECT_NE(0, collect_until_run(&recs[3]));
	EXPECT_EQ(x, recs[3].obj);
	EXPECT_EQ(0, recs[2].runs);

	/* gc.h: obj may "point to something outside GC heap (in this case,
	 * fn is ignored, *ofn and *ocd are set to NULL)" */
	GC_register_finalizer(not_heap_static, fin, &recs[4], &on, &cn);
	EXPECT_TRUE(on == NULL);
	EXPECT_EQ(NULL, cn);
	on = fin;
	cn = &on;
	GC_register_finalizer_no_order(not_heap_static, fin, &recs[4], &on, &cn);
	EXPECT_TRUE(on == NULL);
	EXPECT_EQ(NULL, cn);
	for (i = 0; i < 3; i++)
		round_collect();
	EXPECT_EQ(0, recs[4].runs);
}

/* ---- resurrection ------------------------------------------------------ */

static noinline bool resurrected_intact(size_t size)
{
	unsigned char *p = resurrected;
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i] != 0x21)
			return false;
	return GC_base(p) == p;
}

static noinline void reregister(struct rec *r)
{
	GC_register_finalizer(resurrected, fin, r, NULL, NULL);
	resurrected = NULL;
}

TEST(resurrection)
{
	GC_word x;
	void **w;
	int i;

	GC_INIT();
	recs[0].resurrect = 1;
	x = make_one(GC_register_finalizer, &recs[0], 300);
	ASSERT_NE(0, x);
	keep = NULL;
	ASSERT_NE(0, collect_until_run(&recs[0]));
	ASSERT_EQ(x, GCT_HIDE(resurrected));	/* hidden: the harness keeps both in this frame */
	/* gc.h: "Finalizers are implicitly unregistered when they are
	 * enqueued": alive again, not finalized again */
	for (i = 0; i < GCT_TRIES / 2; i++) {
		round_collect();
		ASSERT_TRUE(resurrected_intact(300))
			TH_LOG("a resurrected object was collected or overwritten");
	}
	EXPECT_EQ(1, recs[0].runs);
	/* registered again, it is finalized again (and resurrected again,
	 * to be watched) */
	recs[1].resurrect = 1;
	reregister(&recs[1]);
	EXPECT_NE(0, collect_until_run(&recs[1]))
		TH_LOG("a re-registered finalizer did not run");
	EXPECT_EQ(x, recs[1].obj);
	EXPECT_EQ(1, recs[0].runs);
	/* and now, with no finalizer, it can go */
	ASSERT_EQ(x, GCT_HIDE(resurrected));
	w = gct_watch(resurrected);
	ASSERT_NE(NULL, w);
	resurrected = NULL;
	EXPECT_NE(0, gct_collect_until_clear(w));
}

/* ---- client data ------------------------------------------------------- */

struct cd_obj {
	struct rec rec;
	long pattern[8];
};

static noinline void **make_cd_alive(void)
{
	struct cd_obj *cd = GC_malloc(sizeof(*cd));
	void *x = GC_malloc(32);
	int i;

	if (!cd || !x)
		return NULL;
	for (i = 0; i < 8; i++)
		cd->pattern[i] = 0x1234 + i;
	GC_register_finalizer(x, fin, cd, NULL, NULL);
	keep = x;
	return gct_watch(cd);
}

static noinline bool cd_intact(void *cd)
{
	struct cd_obj *c = cd;
	int i;

	for (i = 0; i < 8; i++)
		if (c->pattern[i] != 0x1234 + i)
			return false;
	return c->rec.runs == 1;
}

TEST(client_data_alive)
{
	void **w;
	int i;

	GC_INIT();
	w = make_cd_alive();
	ASSERT_NE(NULL, w);
	/* gc.h: "any garbage collectible object referenced by cd will be
	 * considered accessible until the finalizer is invoked" */
	for (i = 0; i < GCT_TRIES; i++) {
		round_collect();
		ASSERT_TRUE(gct_alive(w))
			TH_LOG("client data collected while its finalizer was pending");
	}
	keep = NULL;
	for (i = 0; i < GCT_TRIES && gct_alive(w); i++) {
		round_collect();
		if (gct_alive(w) && ((struct cd_obj *)*w)->rec.runs)
			break;
	}
	ASSERT_TRUE(gct_alive(w))
		TH_LOG("client data collected before its finalizer ran");
	EXPECT_TRUE(cd_intact(*w));
	/* after the finalizer, nothing keeps it */
	EXPECT_NE(0, gct_collect_until_clear(w));
}

/* ---- order ------------------------------------------------------------- */

/* A chain of @n objects, each registered with @reg, [0] -> [1] -> ... */
static noinline GC_word make_chain(int n, reg_fn reg, const reg_fn *regs)
{
	void *obj[8] = { NULL };
	int i;

	for (i = 0; i < n; i++) {
		obj[i] = GC_malloc(4 * sizeof(void *));
		if (!obj[i])
			return 0;
	}
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			((void **)obj[i])[1] = obj[i + 1];
		(regs ? regs[i] : reg)(obj[i], fin, &recs[i], NULL, NULL);
	}
	return GCT_HIDE(obj[0]);
}

/* Collect until every one of @n records ran, at most @max rounds. */
static noinline void collect_until_all(int n, int max)
{
	int i, k, done;

	for (i = 0; i < max; i++) {
		round_collect();
		for (k = 0, done = 0; k < n; k++)
			done += recs[k].runs > 0;
		if (done == n)
			return;
	}
}

TEST(order_chain)
{
	int k;

	GC_INIT();
	ASSERT_NE(0, make_chain(3, GC_register_finalizer, NULL));
	collect_until_all(3, 3 * GCT_TRIES);
	for (k = 0; k < 3; k++)
		ASSERT_EQ(1, recs[k].runs) TH_LOG("link %d of the chain", k);
	/* gc.h: "If a and b are inaccessible, and a points to b ..., then
	 * only a will be finalized ... b will be finalized after the next
	 * collection" */
	for (k = 1; k < 3; k++) {
		EXPECT_LT(recs[k - 1].seq, recs[k].seq)
			TH_LOG("link %d finalized before link %d", k, k - 1);
		EXPECT_GT(recs[k].round, recs[k - 1].round)
			TH_LOG("links %d and %d finalized in the same round (%d)",
			       k - 1, k, recs[k].round);
		EXPECT_GT(recs[k].gc_no, recs[k - 1].gc_no)
			TH_LOG("links %d and %d finalized after the same collection",
			       k - 1, k);
	}
}

TEST(no_order)
{
	int k;

	GC_INIT();
	ASSERT_NE(0, make_chain(3, GC_register_finalizer_no_order, NULL));
	collect_until_all(3, GCT_TRIES);
	for (k = 0; k < 3; k++)
		ASSERT_EQ(1, recs[k].runs) TH_LOG("object %d", k);
	/* "It ignores all cycles" and what the object points to: all
	 * three are queued by one collection */
	for (k = 1; k < 3; k++) {
		EXPECT_EQ(recs[0].round, recs[k].round)
			TH_LOG("object %d finalized in round %d, object 0 in %d",
			       k, recs[k].round, recs[0].round);
		EXPECT_EQ(recs[0].gc_no, recs[k].gc_no);
	}
}

/* ---- cycles ------------------------------------------------------------ */

static noinline void make_cycle(int len, reg_fn reg, int first_rec)
{
	void **obj[2];
	int i;

	for (i = 0; i < len; i++) {
		obj[i] = GC_malloc(4 * sizeof(void *));
		if (!obj[i])
			return;
	}
	for (i = 0; i < len; i++) {
		obj[i][2] = obj[(i + 1) % len];	/* [0] -> [1] -> [0], or -> itself */
		reg(obj[i], fin, &recs[first_rec + i], NULL, NULL);
	}
}

TEST(cycles)
{
	int i;

	GC_INIT();
	GC_set_warn_proc(gct_warn_proc);	/* bdwgc warns about cycles */
	make_cycle(1, GC_register_finalizer, 0);
	make_cycle(1, GC_register_finalizer_ignore_self, 1);
	make_cycle(2, GC_register_finalizer_ignore_self, 2);
	make_cycle(2, GC_register_finalizer_no_order, 4);
	for (i = 0; i < GCT_TRIES; i++)
		round_collect();
	/* gc.h: "Any finalizable object that is reachable from itself by
	 * following one or more pointers will not be finalized" */
	EXPECT_EQ(0, recs[0].runs)
		TH_LOG("a self-referencing object with GC_register_finalizer was finalized");
	/* "It ignores self-cycles" */
	EXPECT_EQ(1, recs[1].runs)
		TH_LOG("a self-referencing object with GC_register_finalizer_ignore_self was not finalized in %d collections",
		       GCT_TRIES);
	/* but not longer ones */
	EXPECT_EQ(0, recs[2].runs + recs[3].runs)
		TH_LOG("a two-object cycle with ignore_self was finalized");
	/* no_order "ignores all cycles" */
	EXPECT_EQ(1, recs[4].runs) TH_LOG("no_order cycle, object 0");
	EXPECT_EQ(1, recs[5].runs) TH_LOG("no_order cycle, object 1");
	TH_LOG("%s: %d warnings", gct_impl(), gct_warnings);
}

/* ---- GC_register_finalizer_unreachable --------------------------------- */

TEST(unreachable)
{
	const reg_fn unreach[] = {
		GC_register_finalizer_no_order, GC_register_finalizer_unreachable,
	};
	const reg_fn plain[] = {
		GC_register_finalizer_no_order, GC_register_finalizer,
	};

	GC_INIT();
	if (!GC_get_java_finalization())
		SKIP(return, "GC_java_finalization is off: gc.h says finalize_unreachable only works with it");
	/* gc.h: "the finalizer is not run while the object is reachable
	 * from other objects specifying unordered finalization" */
	ASSERT_NE(0, make_chain(2, NULL, unreach));
	collect_until_all(2, 2 * GCT_TRIES);
	ASSERT_EQ(1, recs[0].runs) TH_LOG("the no_order object");
	ASSERT_EQ(1, recs[1].runs) TH_LOG("the unreachable-finalized object");
	EXPECT_GT(recs[1].round, recs[0].round)
		TH_LOG("finalize_unreachable ran in the same round (%d) as the no_order object reaching it",
		       recs[1].round);
	EXPECT_GT(recs[1].gc_no, recs[0].gc_no);

	/* the contrast: an ordinary finalizer reached only from a no_order
	 * object is finalized with it */
	memset(recs, 0, sizeof(recs));
	ASSERT_NE(0, make_chain(2, NULL, plain));
	collect_until_all(2, 2 * GCT_TRIES);
	ASSERT_EQ(1, recs[0].runs);
	ASSERT_EQ(1, recs[1].runs);
	EXPECT_EQ(recs[0].round, recs[1].round)
		TH_LOG("an ordinary finalizer reached from a no_order object waited");

	/* alone, it is an ordinary finalizer */
	memset(recs, 0, sizeof(recs));
	ASSERT_NE(0, make_one(GC_register_finalizer_unreachable, &recs[0], 48));
	keep = NULL;
	EXPECT_NE(0, collect_until_run(&recs[0]));
	EXPECT_EQ(1, recs[0].runs);
}

/* ---- where finalizers run ---------------------------------------------- */

static int notified;

static void notifier(void)
{
	notified++;
}

static noinline void allocate_kib(int kib)
{
	int i;

	for (i = 0; i < kib; i++) {
		void *p = GC_malloc(1024);

		__asm__ volatile("" : : "r" (p) : "memory");
	}
}

TEST(on_demand)
{
	GC_word gc0;
	GC_word x;
	int i, n;

	GC_INIT();
	GC_set_finalize_on_demand(1);
	EXPECT_EQ(1, GC_get_finalize_on_demand());
	GC_set_finalizer_notifier(notifier);
	EXPECT_TRUE(GC_get_finalizer_notifier() == notifier);
	x = make_one(GC_register_finalizer, &recs[0], 80);
	ASSERT_NE(0, x);
	keep = NULL;
	gc0 = GC_get_gc_no();
	for (i = 0; i < GCT_TRIES && !notified; i++)
		gct_collect();	/* never GC_invoke_finalizers() here */
	ASSERT_GT(notified, 0) TH_LOG("the notifier was not called in %d collections",
				      GCT_TRIES);
	/* gc.h: "Invoked at most once per GC cycle" */
	EXPECT_LE((GC_word)notified, GC_get_gc_no() - gc0);
	EXPECT_EQ(0, recs[0].runs)
		TH_LOG("a finalizer ran without GC_invoke_finalizers in on-demand mode");
	EXPECT_NE(0, GC_should_invoke_finalizers());
	/* nor in allocation, nor in more collections */
	allocate_kib(8192);
	gct_collect();
	EXPECT_EQ(0, recs[0].runs);
	n = GC_invoke_finalizers();
	EXPECT_GE(n, 1);
	EXPECT_EQ(1, recs[0].runs);
	EXPECT_EQ(x, recs[0].obj);
	EXPECT_EQ(0, GC_should_invoke_finalizers());
	EXPECT_EQ(0, GC_invoke_finalizers());
}

TEST(automatic)
{
	pthread_t self = pthread_self();
	GC_word x;
	int i;

	GC_INIT();
	EXPECT_EQ(0, GC_get_finalize_on_demand()) TH_LOG("the default");
	GC_set_finalizer_notifier(notifier);
	x = make_one(GC_register_finalizer, &recs[0], 80);
	ASSERT_NE(0, x);
	keep = NULL;
	/* no GC_invoke_finalizers(): collections and allocation run them */
	for (i = 0; i < GCT_TRIES && !recs[0].runs; i++) {
		gct_collect();
		allocate_kib(1024);
	}
	ASSERT_EQ(1, recs[0].runs)
		TH_LOG("finalize_on_demand off: the finalizer did not run by itself");
	EXPECT_EQ(x, recs[0].obj);
	EXPECT_TRUE(pthread_equal(self, recs[0].thread))
		TH_LOG("the finalizer ran in another thread than the program's");
	/* gc.h: the notifier is "Never invoked unless GC_finalize_on_demand
	 * is set" */
	EXPECT_EQ(0, notified);
}

/* ---- the debug form ---------------------------------------------------- */

static noinline GC_word make_debug(struct rec *r)
{
	char *p = GC_debug_malloc(100, GC_EXTRAS);

	if (!p)
		return 0;
	GC_debug_register_finalizer(p, fin, r, NULL, NULL);
	return GCT_HIDE(p);
}

TEST(debug_finalizer)
{
	GC_word x;

	GC_INIT();
	x = make_debug(&recs[0]);
	ASSERT_NE(0, x);
	EXPECT_NE(0, collect_until_run(&recs[0]));
	EXPECT_EQ(1, recs[0].runs);
	EXPECT_EQ(x, recs[0].obj) TH_LOG("not the pointer GC_debug_malloc returned");
	EXPECT_EQ(&recs[0], recs[0].cd);
}

/* ---- bad use: a pointer into an object ---------------------------------- */

static noinline GC_word make_interior(struct rec *r, GC_finalization_proc *ofn,
				      void **ocd, void ***watch)
{
	char *x = GC_malloc(64);

	if (!x)
		return 0;
	GC_register_finalizer(x + 16, fin, r, ofn, ocd);
	*watch = gct_watch(x);
	return GCT_HIDE(x);
}

TEST(interior_pointer)
{
	GC_finalization_proc ofn = other_fin;
	void *ocd = &recs[1];
	void **watch = NULL;

	if (!gct_is_dropin())
		SKIP(return, "libgc1: gc.h requires obj to be an object's start (GC_base(obj) == obj); the result of another pointer is undefined there, harmless on the drop-in");
	GC_INIT();
	memset(recs, 0, sizeof(recs));
	ASSERT_NE(0, make_interior(&recs[0], &ofn, &ocd, &watch));
	ASSERT_NE(NULL, watch);
	EXPECT_EQ(NULL, (void *)ofn);
	EXPECT_EQ(NULL, ocd);
	/* no finalizer keeps it: it goes like any unreachable object */
	EXPECT_NE(0, gct_collect_until_clear(watch));
	GC_invoke_finalizers();
	EXPECT_EQ(0, recs[0].runs);
	free(watch);
}

TEST_HARNESS_MAIN
