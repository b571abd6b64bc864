// SPDX-License-Identifier: GPL-2.0
/*
 * bdwgc's disappearing links, as gc.h documents them:
 *
 *   short_link          a link registered with
 *                       GC_general_register_disappearing_link, whether it
 *                       holds the target's address in pointer-free heap
 *                       memory or in malloc() memory, or its
 *                       GC_HIDE_POINTER() in a static, is left alone while
 *                       the target lives and cleared once it is
 *                       unreachable; then the link has "disappeared"
 *                       (GC_unregister_disappearing_link returns 0)
 *   before_finalizer    links are cleared "BEFORE any finalization code is
 *                       invoked": the finalizer sees them cleared, also
 *                       GC_register_disappearing_link's field of the object
 *   long_link           with a resurrecting finalizer: the short link is
 *                       cleared, the long one stays until the object is
 *                       truly unreachable
 *   unregister          GC_unregister_disappearing_link/_long_link: 1 for
 *                       a registered link, then 0; 0 for a link never
 *                       registered, NULL or misaligned, or of the other
 *                       kind; an unregistered link is never written
 *   duplicate           registering a registered link again: GC_DUPLICATE,
 *                       and "all objects but the last one (link registered
 *                       with) are ignored"
 *   duplicate_long      the same for long links
 *   short_and_long_one_word  a word may be a short and a long link at
 *                       once (each kind is unregistered on its own); on the
 *                       drop-in, which keeps one link per word (a
 *                       documented difference), the second is GC_DUPLICATE
 *   move                GC_move_disappearing_link: GC_SUCCESS, GC_NOT_FOUND
 *                       (from an unregistered, NULL or misaligned word),
 *                       GC_DUPLICATE (onto a registered word), same word
 *                       (a check); the new word is not written, the old
 *                       one is no longer cleared, the new one is
 *   move_long           the same for GC_move_long_link, and neither moves
 *                       a link of the other kind
 *   alloc_lock_reveal   GC_call_with_alloc_lock revealing a hidden pointer
 *                       whose word is a link: the object while it lives,
 *                       NULL once collected
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "gc_compat.h"

static void *volatile keep;	/* a root */

/* ---- short links, three places ---------------------------------------- */

struct where {
	void **atomic_link;	/* in a GC_malloc_atomic object, plain address */
	void **malloc_link;	/* in malloc() memory, plain address */
};

static GC_word static_link;	/* a static word holding GC_HIDE_POINTER() */
static void *volatile atomic_holder;	/* keeps the atomic link's object */

static noinline GC_word make_target(struct where *w)
{
	void **a = GC_malloc_atomic(4 * sizeof(void *));
	void *t = GC_malloc(100);

	if (!a || !t)
		return 0;
	memset(t, 0x66, 100);
	atomic_holder = a;
	a[1] = t;
	w->atomic_link = &a[1];
	w->malloc_link = malloc(sizeof(void *));
	if (!w->malloc_link)
		return 0;
	*w->malloc_link = t;
	static_link = GCT_HIDE(t);
	if (GC_general_register_disappearing_link(w->atomic_link, t) != GC_SUCCESS ||
	    GC_general_register_disappearing_link(w->malloc_link, t) != GC_SUCCESS ||
	    GC_general_register_disappearing_link((void **)&static_link, t) != GC_SUCCESS)
		return 0;
	keep = t;
	return GCT_HIDE(t);
}

TEST(short_link)
{
	struct where w;
	GC_word t;
	int i;

	GC_INIT();
	t = make_target(&w);
	ASSERT_NE(0, t);
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_EQ(t, GCT_HIDE(*w.atomic_link))
			TH_LOG("collection %d: a link to a live object changed (atomic)", i + 1);
		ASSERT_EQ(t, GCT_HIDE(*w.malloc_link))
			TH_LOG("collection %d: a link to a live object changed (malloc)", i + 1);
		ASSERT_EQ(t, static_link)
			TH_LOG("collection %d: a link to a live object changed (static)", i + 1);
	}
	keep = NULL;
	for (i = 0; i < GCT_TRIES && static_link; i++)
		gct_collect();
	EXPECT_EQ(0, static_link) TH_LOG("the hidden link in a static was not cleared");
	EXPECT_EQ(NULL, *w.atomic_link) TH_LOG("the link in an atomic object was not cleared");
	EXPECT_EQ(NULL, *w.malloc_link) TH_LOG("the link in malloc() memory was not cleared");
	/* gc.h: "A link disappears when ... (*link) is cleared" */
	EXPECT_EQ(0, GC_unregister_disappearing_link((void **)&static_link));
	EXPECT_EQ(0, GC_unregister_disappearing_link(w.atomic_link));
	EXPECT_EQ(0, GC_unregister_disappearing_link(w.malloc_link));
	free(w.malloc_link);
}

/* ---- cleared before finalization --------------------------------------- */

struct seen {
	int runs;
	GC_word link_at_run;	/* what the external link held */
	void *field_at_run;	/* what the object's own field held */
};

static struct seen seen;
static GC_word ext_link;	/* hidden, registered */

static void check_links_fin(void *obj, void *cd)
{
	struct seen *s = cd;

	s->runs++;
	s->link_at_run = ext_link;
	s->field_at_run = ((void **)obj)[1];
}

static noinline GC_word make_fin_with_links(void)
{
	void **x = GC_malloc(4 * sizeof(void *));

	if (!x)
		return 0;
	x[1] = (void *)0x1234;		/* a field, cleared with x */
	ext_link = GCT_HIDE(x);
	if (GC_register_disappearing_link(&x[1]) != GC_SUCCESS ||
	    GC_general_register_disappearing_link((void **)&ext_link, x) != GC_SUCCESS)
		return 0;
	GC_register_finalizer(x, check_links_fin, &seen, NULL, NULL);
	return GCT_HIDE(x);
}

TEST(before_finalizer)
{
	int i;

	GC_INIT();
	ASSERT_NE(0, make_fin_with_links());
	for (i = 0; i < GCT_TRIES && !seen.runs; i++) {
		gct_collect();
		GC_invoke_finalizers();
	}
	ASSERT_EQ(1, seen.runs) TH_LOG("the finalizer did not run");
	EXPECT_EQ(0, seen.link_at_run)
		TH_LOG("a link to the object was not yet cleared when its finalizer ran");
	EXPECT_EQ(NULL, seen.field_at_run)
		TH_LOG("GC_register_disappearing_link's field was not cleared before the finalizer");
}

/* ---- long links --------------------------------------------------------- */

static void *volatile resurrected;
static int res_runs;

static void resurrect_fin(void *obj, void *cd)
{
	(void)cd;
	res_runs++;
	resurrected = obj;
}

struct two_links {
	void **s;	/* malloc() words holding the plain address */
	void **l;
};

static noinline GC_word make_long(struct two_links *tl)
{
	void *x = GC_malloc(64);

	tl->s = malloc(sizeof(void *));
	tl->l = malloc(sizeof(void *));
	if (!x || !tl->s || !tl->l)
		return 0;
	*tl->s = x;
	*tl->l = x;
	if (GC_general_register_disappearing_link(tl->s, x) != GC_SUCCESS ||
	    GC_register_long_link(tl->l, x) != GC_SUCCESS)
		return 0;
	GC_register_finalizer(x, resurrect_fin, NULL, NULL, NULL);
	return GCT_HIDE(x);
}

TEST(long_link)
{
	struct two_links tl;
	GC_word x;
	int i;

	GC_INIT();
	x = make_long(&tl);
	ASSERT_NE(0, x);
	for (i = 0; i < GCT_TRIES && !res_runs; i++) {
		gct_collect();
		GC_invoke_finalizers();
	}
	ASSERT_EQ(1, res_runs) TH_LOG("the resurrecting finalizer did not run");
	EXPECT_EQ(NULL, *tl.s) TH_LOG("the short link survived finalization");
	/* gc.h: "*link only gets cleared when obj becomes truly
	 * inaccessible", it "can no longer be resurrected" */
	for (i = 0; i < GCT_TRIES / 2; i++) {
		EXPECT_EQ(x, GCT_HIDE(*tl.l))
			TH_LOG("collection %d: the long link of a resurrected object was cleared", i);
		gct_collect();
	}
	EXPECT_EQ(x, GCT_HIDE(*tl.l));
	resurrected = NULL;
	for (i = 0; i < GCT_TRIES && *tl.l; i++)
		gct_collect();
	EXPECT_EQ(NULL, *tl.l) TH_LOG("the long link stayed after the object died");
	EXPECT_EQ(1, res_runs);
	free(tl.s);
	free(tl.l);
}

/* ---- unregister ---------------------------------------------------------- */

static noinline GC_word make_kept(void **link, bool is_long)
{
	void *x = GC_malloc(32);

	if (!x)
		return 0;
	*link = x;
	if ((is_long ? GC_register_long_link(link, x) :
	     GC_general_register_disappearing_link(link, x)) != GC_SUCCESS)
		return 0;
	return GCT_HIDE(x);
}

TEST(unregister)
{
	void **s = malloc(sizeof(void *)), **l = malloc(sizeof(void *));
	void **never = malloc(sizeof(void *));
	char misaligned[2 * sizeof(void *)] __attribute__((aligned(8)));
	GC_word xs, xl;
	int i;

	GC_INIT();
	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, l);
	ASSERT_NE(NULL, never);
	xs = make_kept(s, false);
	xl = make_kept(l, true);
	ASSERT_NE(0, xs);
	ASSERT_NE(0, xl);
	EXPECT_EQ(0, GC_unregister_disappearing_link(never));
	EXPECT_EQ(0, GC_unregister_long_link(never));
	EXPECT_EQ(0, GC_unregister_disappearing_link(NULL));
	EXPECT_EQ(0, GC_unregister_long_link(NULL));
	EXPECT_EQ(0, GC_unregister_disappearing_link((void **)(misaligned + 1)));
	/* the other kind's function does not see it */
	EXPECT_EQ(0, GC_unregister_long_link(s));
	EXPECT_EQ(0, GC_unregister_disappearing_link(l));
	EXPECT_EQ(1, GC_unregister_disappearing_link(s));
	EXPECT_EQ(0, GC_unregister_disappearing_link(s));
	EXPECT_EQ(1, GC_unregister_long_link(l));
	EXPECT_EQ(0, GC_unregister_long_link(l));
	/* unregistered links are not written: their targets are gone
	 * (neither link keeps them: malloc() memory is not scanned) */
	for (i = 0; i < GCT_TRIES; i++)
		gct_collect();
	EXPECT_EQ(xs, GCT_HIDE(*s)) TH_LOG("an unregistered short link was written");
	EXPECT_EQ(xl, GCT_HIDE(*l)) TH_LOG("an unregistered long link was written");
	free(s);
	free(l);
	free(never);
}

/* ---- duplicates ---------------------------------------------------------- */

static GC_word dup_link;

/* Register dup_link to a, to a again, to b (kept); the three results. */
static noinline void make_dup(bool is_long, int r[3])
{
	int (*reg)(void **, const void *) = is_long ? GC_register_long_link :
		GC_general_register_disappearing_link;
	void *a = GC_malloc(32), *b = GC_malloc(32);

	r[0] = r[1] = r[2] = -1;
	if (!a || !b)
		return;
	keep = b;
	dup_link = GCT_HIDE(b);
	r[0] = reg((void **)&dup_link, a);
	r[1] = reg((void **)&dup_link, a);
	r[2] = reg((void **)&dup_link, b);
}

static void check_dup(struct __test_metadata *_metadata, bool is_long)
{
	int r[3], i;

	make_dup(is_long, r);
	ASSERT_EQ(GC_SUCCESS, r[0]);
	EXPECT_EQ(GC_DUPLICATE, r[1]) TH_LOG("the same link, the same object");
	EXPECT_EQ(GC_DUPLICATE, r[2]) TH_LOG("the same link, another object");
	/*
	 * gc.h: "Each link may be registered only with one obj value, i.e.
	 * all objects but the last one (link registered with) are ignored":
	 * a, the first target, dies; b, the last, lives: the link stays.
	 */
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_NE(0, dup_link)
			TH_LOG("collection %d: the %s link was cleared for the object it was first registered with, not the last",
			       i + 1, is_long ? "long" : "short");
	}
	keep = NULL;
	for (i = 0; i < GCT_TRIES && dup_link; i++)
		gct_collect();
	EXPECT_EQ(0, dup_link) TH_LOG("not cleared when the last registered object died");
}

TEST(duplicate)
{
	GC_INIT();
	check_dup(_metadata, false);
}

TEST(duplicate_long)
{
	GC_INIT();
	check_dup(_metadata, true);
}

/*
 * A word registered as a short and as a long link: two registrations, as
 * the two kinds have functions of their own to unregister and move them
 * (libgc1 keeps them in two tables).
 */
static noinline GC_word make_both(void **word, int *r_short, int *r_long)
{
	void *x = GC_malloc(32);

	if (!x)
		return 0;
	*word = x;
	keep = x;
	*r_short = GC_general_register_disappearing_link(word, x);
	*r_long = GC_register_long_link(word, x);
	return GCT_HIDE(x);
}

TEST(short_and_long_one_word)
{
	void **word = malloc(sizeof(void *));
	int r_short = -1, r_long = -1;

	GC_INIT();
	ASSERT_NE(NULL, word);
	ASSERT_NE(0, make_both(word, &r_short, &r_long));
	EXPECT_EQ(GC_SUCCESS, r_short);
	if (gct_is_dropin()) {
		/*
		 * A documented difference (gc-compat.rst): gcheap keeps one
		 * link per word, so the long one is refused as a duplicate
		 * and the short one stays.
		 */
		TH_LOG("drop-in: one link per word, the long one is GC_DUPLICATE");
		EXPECT_EQ(GC_DUPLICATE, r_long);
		EXPECT_EQ(0, GC_unregister_long_link(word));
		EXPECT_EQ(1, GC_unregister_disappearing_link(word));
	} else {
		EXPECT_EQ(GC_SUCCESS, r_long) TH_LOG("a long link where a short one is");
		EXPECT_EQ(1, GC_unregister_long_link(word));
		EXPECT_EQ(1, GC_unregister_disappearing_link(word));
	}
	EXPECT_EQ(0, GC_unregister_long_link(word));
	EXPECT_EQ(0, GC_unregister_disappearing_link(word));
	keep = NULL;
	free(word);
}

/* ---- moving ------------------------------------------------------------- */

#define MARK	((void *)0x5157)	/* not a pointer: what a moved-from word keeps */

static void *volatile keep2;	/* a root */

static noinline GC_word make_move_target(void **link, bool is_long,
					 void *volatile *root)
{
	void *x = GC_malloc(48);

	if (!x)
		return 0;
	*link = (void *)GCT_HIDE(x);
	if ((is_long ? GC_register_long_link(link, x) :
	     GC_general_register_disappearing_link(link, x)) != GC_SUCCESS)
		return 0;
	*root = x;
	return GCT_HIDE(x);
}

static void **links;	/* malloc(): 4 words */

static void check_move(struct __test_metadata *_metadata, bool is_long)
{
	int (*move)(void **, void **) = is_long ? GC_move_long_link :
						  GC_move_disappearing_link;
	int (*other_move)(void **, void **) = is_long ? GC_move_disappearing_link :
							GC_move_long_link;
	int (*unreg)(void **) = is_long ? GC_unregister_long_link :
					  GC_unregister_disappearing_link;
	char misaligned[2 * sizeof(void *)] __attribute__((aligned(8)));
	GC_word x, y;
	int i;

	links = calloc(4, sizeof(void *));
	ASSERT_NE(NULL, links);
	x = make_move_target(&links[0], is_long, &keep);
	ASSERT_NE(0, x);
	EXPECT_EQ(GC_NOT_FOUND, other_move(&links[0], &links[1]))
		TH_LOG("a link moved by the other kind's function");
	/* same word: "to check whether link has been registered" */
	EXPECT_EQ(GC_SUCCESS, move(&links[0], &links[0]));
	EXPECT_EQ(GC_NOT_FOUND, move(&links[1], &links[1]));
	links[1] = MARK;
	EXPECT_EQ(GC_SUCCESS, move(&links[0], &links[1]));
	/* "Does not change (*new_link) content" */
	EXPECT_EQ(MARK, links[1]) TH_LOG("the new word was written by the move");
	EXPECT_EQ(GC_NOT_FOUND, move(&links[0], &links[2]))
		TH_LOG("moved from a word no longer registered");
	EXPECT_EQ(GC_NOT_FOUND, move(NULL, &links[2]));
	EXPECT_EQ(GC_NOT_FOUND, move((void **)(misaligned + 1), &links[2]));
	EXPECT_EQ(GC_SUCCESS, move(&links[1], &links[1]));
	/* onto a registered word */
	y = make_move_target(&links[2], is_long, &keep2);
	ASSERT_NE(0, y);
	EXPECT_EQ(GC_DUPLICATE, move(&links[1], &links[2]));
	EXPECT_EQ(GC_SUCCESS, move(&links[1], &links[1])) TH_LOG("lost by a refused move");
	/* the target dies: the new word is cleared, the old one kept */
	links[0] = MARK;
	links[1] = (void *)x;
	EXPECT_EQ(1, unreg(&links[2]));
	keep = NULL;
	for (i = 0; i < GCT_TRIES && links[1]; i++)
		gct_collect();
	EXPECT_EQ(NULL, links[1]) TH_LOG("the moved link was not cleared");
	EXPECT_EQ(MARK, links[0]) TH_LOG("the old word was cleared after the move");
	EXPECT_EQ(y, (GC_word)links[2]) TH_LOG("an unregistered word was written");
	free(links);
	keep2 = NULL;
}

TEST(move)
{
	GC_INIT();
	check_move(_metadata, false);
}

TEST(move_long)
{
	GC_INIT();
	check_move(_metadata, true);
}

/* ---- revealing a hidden pointer under the allocation lock --------------- */

static GC_word weak_word;	/* hidden; a registered link */

struct reveal {
	int calls;
	void *self;
};

static void *GC_CALLBACK reveal_fn(void *cd)
{
	struct reveal *r = cd;

	r->calls++;
	r->self = cd;
	return weak_word ? GCT_REVEAL(weak_word) : NULL;
}

static noinline GC_word make_weak_target(void)
{
	long *x = GC_malloc(16 * sizeof(long));
	int i;

	if (!x)
		return 0;
	for (i = 0; i < 16; i++)
		x[i] = 1000 + i;
	weak_word = GCT_HIDE(x);
	if (GC_general_register_disappearing_link((void **)&weak_word, x) != GC_SUCCESS)
		return 0;
	return GCT_HIDE(x);
}

static noinline void set_keep(GC_word h)
{
	keep = GCT_REVEAL(h);
}

/* 1: revealed and intact, 0: gone, -1: revealed but wrong */
static noinline int reveal_check(struct reveal *r, GC_word expect)
{
	long *x = GC_call_with_alloc_lock(reveal_fn, r);
	int i;

	if (!x)
		return 0;
	if (GCT_HIDE(x) != expect)
		return -1;
	for (i = 0; i < 16; i++)
		if (x[i] != 1000 + i)
			return -1;
	return 1;
}

TEST(alloc_lock_reveal)
{
	struct reveal r = { 0, NULL };
	GC_word x;
	int i, res = 1;

	GC_INIT();
	x = make_weak_target();
	ASSERT_NE(0, x);
	/* a weak pointer to an object that is alive (strongly referenced
	 * from keep) for a while */
	set_keep(x);
	for (i = 0; i < 4; i++) {
		gct_collect();
		ASSERT_EQ(1, reveal_check(&r, x)) TH_LOG("collection %d", i + 1);
	}
	EXPECT_EQ(4, r.calls);
	EXPECT_EQ(&r, r.self) TH_LOG("GC_call_with_alloc_lock passed other client data");
	keep = NULL;
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		res = reveal_check(&r, x);
		ASSERT_NE(-1, res) TH_LOG("revealed a changed object");
		if (res == 0)
			break;
	}
	EXPECT_EQ(0, res) TH_LOG("the weakly referenced object was never collected");
}

TEST_HARNESS_MAIN
