// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the specials: the finalizer and weak-link tables, and
 * the finalizer order of the phases (chains one link per collection,
 * cycles never, short links before and long links after finalization).
 * Included at the end of specials.c.  The suites run before the module's
 * init function, so each case starts a worker pool of its own; the heap
 * is built as in arena_test.c, with real pages behind its spans, and the
 * collections are the core's mark and sweep with no roots but the ones
 * the specials add: what the test links together is all there is.
 */
#include <kunit/test.h>

/* A user address for the arena: nothing is mapped there, nothing reads it. */
#define SPT_BASE	0x100000000000ULL
#define SPT_ARENA	(4ULL << 20)
/* Links outside the arena: user addresses never written in these tests. */
#define SPT_LINK(i)	(0x7f0000000000ULL + (i) * 8)

struct spt_fixture {
	struct gch_heap heap;
	struct gch_sizeclass_table classes;
};

static int spt_init(struct kunit *test)
{
	struct spt_fixture *f;
	struct gch_heap *h;
	int err;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	h = &f->heap;
	mutex_init(&h->lock);
	gch_scav_init(h);
	gch_specials_init(h);
	err = gch_sizeclass_init(&f->classes);
	if (err)
		return err;
	err = gch_heap_init(&h->core, &f->classes, SPT_ARENA >> GCH_PAGE_SHIFT,
			    &gch_span_backing_ops);
	if (err)
		return err;
	h->arena_start = SPT_BASE;
	h->arena_size = SPT_ARENA;
	h->arena_state = GCH_MAP_LIVE;
	h->mark = gch_mark_create(&h->core, 2);
	h->sweep = gch_sweep_create(&h->core, 2);
	if (!h->mark || !h->sweep)
		return -ENOMEM;
	err = gch_pool_init(2);
	if (err)
		return err;
	test->priv = f;
	return 0;
}

static void spt_exit(struct kunit *test)
{
	struct spt_fixture *f = test->priv;

	if (!f)
		return;
	gch_pool_exit();
	gch_specials_destroy(&f->heap);
	gch_mark_destroy(f->heap.mark);
	gch_sweep_destroy(f->heap.sweep);
	gch_scav_stop(&f->heap);
	gch_heap_destroy(&f->heap.core);
	gch_scav_destroy(&f->heap);
}

/* Where the module reads the object at @off. */
static u64 *spt_kaddr(struct spt_fixture *f, u64 off)
{
	struct gch_objinfo oi;

	if (gch_heap_lookup(&f->heap.core, off, &oi))
		return NULL;
	return (u64 *)((u8 *)oi.span->mapped + (size_t)oi.index * oi.size);
}

/* A 64-byte scanned object, zeroed; its arena offset. */
static u64 spt_obj(struct kunit *test, struct spt_fixture *f)
{
	u64 off;

	mutex_lock(&f->heap.lock);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->heap.core,
			GCH_SPANCLASS(gch_size_to_class(&f->classes, 64), 0),
			&off, 1), 1);
	mutex_unlock(&f->heap.lock);
	memset(spt_kaddr(f, off), 0, 64);
	return off;
}

/* Object @from's first word points to @to (a user address, as a program's). */
static void spt_link(struct spt_fixture *f, u64 from, u64 to)
{
	spt_kaddr(f, from)[0] = SPT_BASE + to;
}

static int spt_fin(struct spt_fixture *f, u64 off, u64 fn, u64 data)
{
	struct gch_finalizer a = { .obj = SPT_BASE + off, .fn = fn,
				   .data = data };

	return gch_specials_finalizer(&f->heap, &a);
}

static int spt_weak(struct spt_fixture *f, u64 link, u64 obj, u32 flags)
{
	struct gch_weak a = { .link = link, .obj = obj };

	a.hdr.flags = flags;
	return gch_specials_weak(&f->heap, &a);
}

/*
 * One collection without roots: mark, the phases, sweep.  The queued
 * finalizers stay queued (roots of the next one) unless @drop_ready, which
 * stands for the program having run them and let their objects go.
 */
static void spt_collect(struct kunit *test, struct spt_fixture *f,
			struct gch_fin_info *fi, bool drop_ready)
{
	struct gch_heap *h = &f->heap;
	struct gch_root root = { .kind = GCH_ROOT_FUNC,
				 .fn = gch_specials_mark_roots, .arg = h };
	struct gch_sweep_stats ss;
	struct gch_mark_stats ms;
	struct gch_fin *fr, *t;

	mutex_lock(&h->lock);
	if (drop_ready) {
		list_for_each_entry_safe(fr, t, &h->spec.ready, ready) {
			list_del(&fr->ready);
			gch_fin_free(h, fr);
			h->spec.nr_ready--;
		}
	}
	KUNIT_ASSERT_EQ(test, gch_heap_mark_more(h, &root, 1, 2, &ms), 0);
	KUNIT_ASSERT_EQ(test, gch_specials_collect(h, 2, &ms, fi), 0);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(h->sweep), 0);
	gch_sweep_finish(h->sweep, &ss);
	mutex_unlock(&h->lock);
}

static bool spt_allocated(struct spt_fixture *f, u64 off)
{
	return !gch_heap_lookup(&f->heap.core, off, NULL);
}

/* Is @obj (an offset) queued? */
static bool spt_queued(struct spt_fixture *f, u64 obj)
{
	struct gch_fin *fr;

	list_for_each_entry(fr, &f->heap.spec.ready, ready)
		if (fr->obj == obj)
			return true;
	return false;
}

static bool spt_chosen(struct spt_fixture *f, u64 link)
{
	unsigned int i;

	for (i = 0; i < f->heap.spec.nr_clear; i++)
		if (f->heap.spec.clear[i] == link)
			return true;
	return false;
}

/* Registration: bases only, replace, remove, free drops it. */
static void specials_finalizer_table(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), b = spt_obj(test, f);
	struct gch_fin *fr;

	KUNIT_EXPECT_EQ(test, spt_fin(f, a, 1, 10), 0);
	KUNIT_EXPECT_EQ(test, spt_fin(f, a + 8, 1, 10), -EINVAL);
	KUNIT_EXPECT_EQ(test, spt_fin(f, SPT_ARENA - 64, 1, 10), -EINVAL);
	KUNIT_EXPECT_EQ(test, spt_fin(f, a, 2, 20), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 1UL);
	fr = xa_load(&f->heap.spec.fin, GCH_FIN_INDEX(a));
	KUNIT_ASSERT_NOT_NULL(test, fr);
	KUNIT_EXPECT_EQ(test, fr->fn, 2ULL);
	KUNIT_EXPECT_EQ(test, fr->data, 20ULL);
	KUNIT_EXPECT_EQ(test, spt_fin(f, b, 0, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, spt_fin(f, b, 3, 0), 0);
	KUNIT_EXPECT_EQ(test, spt_fin(f, a, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, spt_fin(f, a, 0, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_free_obj(&f->heap, SPT_BASE + b), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 0UL);
	KUNIT_EXPECT_NULL(test, xa_load(&f->heap.spec.fin, GCH_FIN_INDEX(b)));
}

/* Links: alignment, targets, holders in the arena, duplicates, removal. */
static void specials_weak_table(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), b = spt_obj(test, f);

	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a + 8, 0), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a, 0),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1) + 4, SPT_BASE + a, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE - 8, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, -4096ULL, SPT_BASE + a, 0), -EINVAL);
	/* in the arena: inside an object, or refused */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_BASE + b + 16, SPT_BASE + a,
				       GCH_WEAK_LONG), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_BASE + SPT_ARENA - 64,
				       SPT_BASE + a, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 2UL);
	KUNIT_EXPECT_GE(test, f->heap.spec.clear_cap, 2UL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, GCH_WEAK_REMOVE), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, GCH_WEAK_REMOVE),
			-ENOENT);
	/* freeing the holder drops the link inside it */
	KUNIT_EXPECT_EQ(test, gch_heap_free_obj(&f->heap, SPT_BASE + b), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 0UL);
}

/* A -> B -> C, each finalizable: A, then B, then C; X <-> Y never. */
static void specials_order(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), b = spt_obj(test, f), c = spt_obj(test, f);
	u64 x = spt_obj(test, f), y = spt_obj(test, f), r;
	struct gch_fin_info fi;
	int round;

	spt_link(f, a, b);
	spt_link(f, b, c);
	spt_link(f, x, y);
	spt_link(f, y, x);
	/* a finalizer's data is a root: r survives, as bdwgc's client data */
	r = spt_obj(test, f);
	KUNIT_ASSERT_EQ(test, spt_fin(f, a, 1, SPT_BASE + r), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, b, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, c, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, x, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, y, 1, 0), 0);

	for (round = 0; round < 3; round++) {
		u64 next = round == 0 ? a : round == 1 ? b : c;

		spt_collect(test, f, &fi, true);
		KUNIT_EXPECT_EQ(test, fi.queued, 1ULL);
		KUNIT_EXPECT_TRUE(test, spt_queued(f, next));
		/* the chain's rest and the cycle wait */
		KUNIT_EXPECT_EQ(test, fi.waiting, (u64)(2 - round) + 2);
		/* queued objects and what they reach are kept */
		KUNIT_EXPECT_TRUE(test, spt_allocated(f, next));
		KUNIT_EXPECT_TRUE(test, spt_allocated(f, c));
		/* A's data, a root while A was registered or queued */
		KUNIT_EXPECT_EQ(test, spt_allocated(f, r), !round);
		/* the one finalized before is gone */
		if (round)
			KUNIT_EXPECT_FALSE(test,
					   spt_allocated(f, round == 1 ? a : b));
	}
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 0ULL);
	KUNIT_EXPECT_EQ(test, fi.waiting, 2ULL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, c));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, r));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, x));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, y));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 2UL);
}

/*
 * A finalizable target: its short link is chosen at the collection that
 * queues it, its long link only once it is freed; a link held in a dying
 * object is dropped; a link to a reachable object stays.
 */
static void specials_weak_phases(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 t = spt_obj(test, f), holder = spt_obj(test, f);
	u64 live = spt_obj(test, f);
	struct gch_fin_info fi;

	KUNIT_ASSERT_EQ(test, spt_fin(f, t, 1, 0), 0);
	/* a finalizer whose data is its object: that keeps it for ever */
	KUNIT_ASSERT_EQ(test, spt_fin(f, live, 1, SPT_BASE + live), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + t, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + t,
				       GCH_WEAK_LONG), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_BASE + holder, SPT_BASE + t, 0),
			0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(2), SPT_BASE + live, 0), 0);

	spt_collect(test, f, &fi, false);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, t));
	KUNIT_EXPECT_TRUE(test, spt_chosen(f, SPT_LINK(0)));
	KUNIT_EXPECT_FALSE(test, spt_chosen(f, SPT_LINK(1)));
	KUNIT_EXPECT_FALSE(test, spt_chosen(f, SPT_LINK(2)));
	KUNIT_EXPECT_FALSE(test, spt_chosen(f, SPT_BASE + holder));
	KUNIT_EXPECT_EQ(test, fi.weak_dropped, 1ULL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 2UL);

	/* the finalizer ran and let @t go: the long link goes with it */
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, t));
	KUNIT_EXPECT_TRUE(test, spt_chosen(f, SPT_LINK(1)));
	KUNIT_EXPECT_FALSE(test, spt_chosen(f, SPT_LINK(2)));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 1UL);
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, live));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 1UL);
}

static struct kunit_case specials_cases[] = {
	KUNIT_CASE(specials_finalizer_table),
	KUNIT_CASE(specials_weak_table),
	KUNIT_CASE(specials_order),
	KUNIT_CASE(specials_weak_phases),
	{}
};

static struct kunit_suite specials_suite = {
	.name = "gcheap_specials",
	.init = spt_init,
	.exit = spt_exit,
	.test_cases = specials_cases,
};

kunit_test_suite(specials_suite);
