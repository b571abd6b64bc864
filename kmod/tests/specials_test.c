// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the specials: the finalizer and weak-link tables, and
 * the finalizer order of the phases (chains one link per collection,
 * cycles never, short links before and long links after finalization),
 * the order flags (NO_ORDER, IGNORE_SELF, UNREACHABLE), the registration
 * a call returns, and moving and removing links by kind.
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

/* Register with GCH_FINALIZER_* @flags; the replaced fn and data. */
static int spt_fin_ex(struct spt_fixture *f, u64 off, u64 fn, u64 data,
		      u32 flags, u64 *old_fn, u64 *old_data)
{
	struct gch_finalizer a = { .obj = SPT_BASE + off, .fn = fn,
				   .data = data, .old_fn = 77, .old_data = 77 };
	int err;

	a.hdr.flags = flags;
	err = gch_specials_finalizer(&f->heap, &a);
	if (old_fn)
		*old_fn = a.old_fn;
	if (old_data)
		*old_data = a.old_data;
	return err;
}

static int spt_fin(struct spt_fixture *f, u64 off, u64 fn, u64 data)
{
	return spt_fin_ex(f, off, fn, data, 0, NULL, NULL);
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

/* The order flags: one at most, kept, replaced; the old registration. */
static void specials_finalizer_flags(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), b = spt_obj(test, f);
	u64 ofn, odata;
	struct gch_fin *fr;

	/* unknown flags, and combinations */
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 1, 10, 1U << 3, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 1, 10, GCH_FINALIZER_NO_ORDER |
					 GCH_FINALIZER_IGNORE_SELF, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 1, 10, GCH_FINALIZER_FLAGS,
					 NULL, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 0, 0, GCH_FINALIZER_IGNORE_SELF |
					 GCH_FINALIZER_UNREACHABLE, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 0UL);

	/* the first registration replaces nothing */
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 1, 10, GCH_FINALIZER_NO_ORDER,
					 &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 0ULL);
	KUNIT_EXPECT_EQ(test, odata, 0ULL);
	fr = xa_load(&f->heap.spec.fin, GCH_FIN_INDEX(a));
	KUNIT_ASSERT_NOT_NULL(test, fr);
	KUNIT_EXPECT_EQ(test, fr->flags, (u8)GCH_FINALIZER_NO_ORDER);
	/* replacing: the old one comes back, the flags are the new ones */
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 2, 20, GCH_FINALIZER_UNREACHABLE,
					 &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 1ULL);
	KUNIT_EXPECT_EQ(test, odata, 10ULL);
	KUNIT_EXPECT_EQ(test, fr->flags, (u8)GCH_FINALIZER_UNREACHABLE);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 3, 30, 0, &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 2ULL);
	KUNIT_EXPECT_EQ(test, odata, 20ULL);
	KUNIT_EXPECT_EQ(test, fr->flags, 0);
	KUNIT_EXPECT_EQ(test, fr->fn, 3ULL);
	KUNIT_EXPECT_EQ(test, fr->data, 30ULL);
	/* removing returns what it removed; flags are ignored then */
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 0, 0, GCH_FINALIZER_IGNORE_SELF,
					 &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 3ULL);
	KUNIT_EXPECT_EQ(test, odata, 30ULL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 0UL);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 0, 0, 0, NULL, NULL), -ENOENT);
	/* another object's registration is its own */
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, b, 4, 40, GCH_FINALIZER_IGNORE_SELF,
					 &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 0ULL);
	KUNIT_EXPECT_EQ(test, spt_fin_ex(f, a, 5, 50, 0, &ofn, &odata), 0);
	KUNIT_EXPECT_EQ(test, ofn, 0ULL);
	KUNIT_EXPECT_EQ(test, odata, 0ULL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 2UL);
}

/*
 * A self-pointer keeps a default finalizable object waiting for ever, not
 * an IGNORE_SELF one (an interior self-pointer neither); a cycle through
 * another object keeps an IGNORE_SELF one all the same.
 */
static void specials_ignore_self(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), b = spt_obj(test, f), c = spt_obj(test, f);
	u64 d = spt_obj(test, f), e = spt_obj(test, f);
	struct gch_fin_info fi;
	int round;

	spt_link(f, a, a);			/* default, self */
	spt_link(f, b, b);			/* IGNORE_SELF, self */
	spt_kaddr(f, b)[3] = SPT_BASE + b + 40;	/* and an interior one */
	spt_link(f, c, d);			/* IGNORE_SELF, c -> d -> c */
	spt_link(f, d, c);
	spt_kaddr(f, e)[2] = SPT_BASE + e + 8;	/* IGNORE_SELF: reaches b */
	spt_link(f, e, b);
	KUNIT_ASSERT_EQ(test, spt_fin(f, a, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, b, 1, 0, GCH_FINALIZER_IGNORE_SELF,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, c, 1, 0, GCH_FINALIZER_IGNORE_SELF,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, e, 1, 0, GCH_FINALIZER_IGNORE_SELF,
					 NULL, NULL), 0);

	/* e first (it reaches b), then b; a and c never */
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 1ULL);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, e));
	KUNIT_EXPECT_EQ(test, fi.waiting, 3ULL);
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 1ULL);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, b));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, e));
	KUNIT_EXPECT_EQ(test, fi.waiting, 2ULL);
	for (round = 0; round < 2; round++) {
		spt_collect(test, f, &fi, true);
		KUNIT_EXPECT_EQ(test, fi.queued, 0ULL);
		KUNIT_EXPECT_EQ(test, fi.waiting, 2ULL);
	}
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, b));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, a));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, c));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, d));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 2UL);
}

/*
 * NO_ORDER objects that point at each other go in one collection, as does
 * one pointing at itself, and one pointing at a default one goes with it;
 * a default pair, one pointing at the other, goes one per collection, and
 * a default object that points at a NO_ORDER one goes first.
 */
static void specials_no_order(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 n1 = spt_obj(test, f), n2 = spt_obj(test, f), n3 = spt_obj(test, f);
	u64 n4 = spt_obj(test, f), d1 = spt_obj(test, f), d2 = spt_obj(test, f);
	u64 d3 = spt_obj(test, f), d4 = spt_obj(test, f), n5 = spt_obj(test, f);
	struct gch_fin_info fi;

	spt_link(f, n1, n2);
	spt_link(f, n2, n1);
	spt_link(f, n3, n3);
	spt_link(f, n4, d3);
	spt_link(f, d1, d2);
	spt_link(f, d4, n5);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n1, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n2, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n3, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n4, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n5, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d1, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d2, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d3, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d4, 1, 0), 0);

	spt_collect(test, f, &fi, false);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n1));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n3));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n4));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d3));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d1));
	KUNIT_EXPECT_FALSE(test, spt_queued(f, d2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d4));
	KUNIT_EXPECT_FALSE(test, spt_queued(f, n5));
	KUNIT_EXPECT_EQ(test, fi.queued, 7ULL);
	KUNIT_EXPECT_EQ(test, fi.waiting, 2ULL);
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, d2));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, n5));

	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 2ULL);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n5));
	KUNIT_EXPECT_EQ(test, fi.waiting, 0ULL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, n1));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, n2));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, d1));
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 0ULL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, d2));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, n5));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 0UL);
}

/*
 * An UNREACHABLE object that a NO_ORDER one reaches is not queued with it
 * (a default one would be), and is queued once alone; one that a default
 * object reaches waits for it as a default one does; alone it is queued.
 */
static void specials_unreachable(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 n = spt_obj(test, f), u = spt_obj(test, f), n2 = spt_obj(test, f);
	u64 d2 = spt_obj(test, f), d = spt_obj(test, f), u2 = spt_obj(test, f);
	u64 u3 = spt_obj(test, f), r = spt_obj(test, f);
	struct gch_fin_info fi;

	spt_link(f, n, u);	/* NO_ORDER -> UNREACHABLE */
	spt_link(f, u, r);	/* what u reaches is kept while it waits */
	spt_link(f, n2, d2);	/* NO_ORDER -> default */
	spt_link(f, d, u2);	/* default -> UNREACHABLE */
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, n2, 1, 0, GCH_FINALIZER_NO_ORDER,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, u, 2, 0, GCH_FINALIZER_UNREACHABLE,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, u2, 2, 0, GCH_FINALIZER_UNREACHABLE,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin_ex(f, u3, 2, 0, GCH_FINALIZER_UNREACHABLE,
					 NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d2, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_fin(f, d, 1, 0), 0);

	spt_collect(test, f, &fi, false);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n));
	KUNIT_EXPECT_FALSE(test, spt_queued(f, u));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, n2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, d));
	KUNIT_EXPECT_FALSE(test, spt_queued(f, u2));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, u3));
	KUNIT_EXPECT_EQ(test, fi.queued, 5ULL);
	KUNIT_EXPECT_EQ(test, fi.waiting, 2ULL);
	/* u stays registered, and it and what it reaches stay allocated */
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&f->heap.spec.fin,
					    GCH_FIN_INDEX(u)));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, u));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, r));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 2UL);

	/* the others ran and were let go: u and u2 go, alone */
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 2ULL);
	KUNIT_EXPECT_TRUE(test, spt_queued(f, u));
	KUNIT_EXPECT_TRUE(test, spt_queued(f, u2));
	KUNIT_EXPECT_EQ(test, fi.waiting, 0ULL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, n));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, d));
	KUNIT_EXPECT_TRUE(test, spt_allocated(f, r));
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.queued, 0ULL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, u));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, r));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_fin, 0UL);
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

/* Is @link registered, to @obj, of kind @is_long, held in @container? */
static bool spt_link_is(struct spt_fixture *f, u64 link, u64 obj,
			bool is_long, u64 container)
{
	struct gch_weakref *w = xa_load(&f->heap.spec.weak,
					GCH_WEAK_INDEX(link));

	return w && w->link == link && w->obj == obj &&
	       w->is_long == is_long && w->container == container &&
	       f->heap.spec.weaks[w->pos] == w;
}

/* Flags: what goes with what. */
static void specials_weak_flags(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f);
	static const u32 bad[] = {
		GCH_WEAK_KIND, GCH_WEAK_KIND | GCH_WEAK_LONG,
		GCH_WEAK_REMOVE | GCH_WEAK_LONG, GCH_WEAK_MOVE | GCH_WEAK_LONG,
		GCH_WEAK_REMOVE | GCH_WEAK_MOVE,
		GCH_WEAK_REMOVE | GCH_WEAK_MOVE | GCH_WEAK_KIND, 1U << 4,
	};
	unsigned int i;

	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a, 0), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, spt_weak(f, SPT_LINK(0), SPT_LINK(1),
						   bad[i]), -EINVAL,
				    "flags %#x", bad[i]);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(0), a, false,
					    GCH_NO_CONTAINER));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 1UL);
}

/* REMOVE with KIND: only a link of that kind. */
static void specials_weak_kind(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f);
	const u32 rm = GCH_WEAK_REMOVE | GCH_WEAK_KIND;

	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + a,
				       GCH_WEAK_LONG), 0);
	/* the other kind: untouched */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, rm | GCH_WEAK_LONG),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), 0, rm), -ENOENT);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(2), 0, rm), -ENOENT);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(0), a, false,
					    GCH_NO_CONTAINER));
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(1), a, true,
					    GCH_NO_CONTAINER));
	/* its own kind */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, rm), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), 0, rm | GCH_WEAK_LONG),
			0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 0UL);
	/* without KIND, either kind */
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + a,
				       GCH_WEAK_LONG), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), 0, GCH_WEAK_REMOVE), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 0UL);
}

/*
 * MOVE: the record changes address (and holder), keeps target and kind;
 * the errors; and a moved link is cleared at its new address only.
 */
static void specials_weak_move(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 a = spt_obj(test, f), t = spt_obj(test, f), h = spt_obj(test, f);
	u64 h2 = spt_obj(test, f);
	const u32 mv = GCH_WEAK_MOVE, mvk = GCH_WEAK_MOVE | GCH_WEAK_KIND;
	struct gch_fin_info fi;

	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a + 8,
				       GCH_WEAK_LONG), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + a, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(3), SPT_BASE + t, 0), 0);

	/* bad new addresses: as a registration's */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, mv), -EINVAL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(2) + 4, mv),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), -4096ULL, mv), -EINVAL);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0),
				       SPT_BASE + SPT_ARENA - 64, mv), -EINVAL);
	/* no link there, or not of that kind */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(2), SPT_LINK(4), mv),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(4), mvk),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_LINK(4),
				       mvk | GCH_WEAK_LONG), -ENOENT);
	/* onto a registered link: EEXIST, whichever its kind */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(1), mv),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_LINK(0), mvk),
			-EEXIST);
	/* onto itself: only a check */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(0), mv), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(0),
				       mvk | GCH_WEAK_LONG), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_LINK(0), mvk),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(2), SPT_LINK(2), mv),
			-ENOENT);
	/* nothing changed */
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(0), a, true,
					    GCH_NO_CONTAINER));
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(1), a, false,
					    GCH_NO_CONTAINER));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 3UL);

	/* the long one into an object, then out again, target and kind kept */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + h + 16,
				       mvk | GCH_WEAK_LONG), 0);
	KUNIT_EXPECT_NULL(test, xa_load(&f->heap.spec.weak,
					GCH_WEAK_INDEX(SPT_LINK(0))));
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_BASE + h + 16, a, true, h));
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_BASE + h + 16, SPT_BASE + h2 + 8,
				       mv), 0);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_BASE + h2 + 8, a, true, h2));
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_BASE + h2 + 8, SPT_LINK(5), mv),
			0);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(5), a, true,
					    GCH_NO_CONTAINER));
	/* the short one: MOVE with KIND of its kind */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_LINK(6), mvk), 0);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(6), a, false,
					    GCH_NO_CONTAINER));
	/* the old addresses are free: a registration takes them */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + a, 0), 0);
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(0), 0, GCH_WEAK_REMOVE), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 3UL);

	/* t dies: its link is chosen at its new address; a's are not */
	KUNIT_EXPECT_EQ(test, spt_weak(f, SPT_LINK(3), SPT_LINK(7), mv), 0);
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_TRUE(test, spt_chosen(f, SPT_LINK(7)));
	KUNIT_EXPECT_FALSE(test, spt_chosen(f, SPT_LINK(3)));
	KUNIT_EXPECT_TRUE(test, spt_chosen(f, SPT_LINK(5)));
	KUNIT_EXPECT_TRUE(test, spt_chosen(f, SPT_LINK(6)));
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_clear, 3UL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 0UL);
}

/*
 * A link moved into an object dies with that object (dropped), and is
 * dropped when that object is freed; one moved out no longer does.
 */
static void specials_weak_move_holder(struct kunit *test)
{
	struct spt_fixture *f = test->priv;
	u64 t = spt_obj(test, f), h = spt_obj(test, f), h2 = spt_obj(test, f);
	u64 keep = spt_obj(test, f);
	struct gch_fin_info fi;

	/* t and keep stay: a finalizer's data is a root */
	KUNIT_ASSERT_EQ(test, spt_fin(f, keep, 1, SPT_BASE + keep), 0);
	spt_link(f, keep, t);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + t, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + t, 0), 0);
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_BASE + h2, SPT_BASE + t, 0), 0);
	/* into h, which dies: dropped */
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(0), SPT_BASE + h + 8,
				       GCH_WEAK_MOVE), 0);
	/* out of h2, which dies: stays */
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_BASE + h2, SPT_LINK(2),
				       GCH_WEAK_MOVE), 0);
	spt_collect(test, f, &fi, true);
	KUNIT_EXPECT_EQ(test, fi.weak_dropped, 1ULL);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_clear, 0UL);
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, h));
	KUNIT_EXPECT_FALSE(test, spt_allocated(f, h2));
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(2), t, false,
					    GCH_NO_CONTAINER));
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(1), t, false,
					    GCH_NO_CONTAINER));
	/* into keep, freed explicitly: the link goes with it */
	KUNIT_ASSERT_EQ(test, spt_weak(f, SPT_LINK(1), SPT_BASE + keep + 24,
				       GCH_WEAK_MOVE), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 2UL);
	KUNIT_EXPECT_EQ(test, gch_heap_free_obj(&f->heap, SPT_BASE + keep), 0);
	KUNIT_EXPECT_EQ(test, f->heap.spec.nr_weak, 1UL);
	KUNIT_EXPECT_TRUE(test, spt_link_is(f, SPT_LINK(2), t, false,
					    GCH_NO_CONTAINER));
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
	KUNIT_CASE(specials_finalizer_flags),
	KUNIT_CASE(specials_ignore_self),
	KUNIT_CASE(specials_no_order),
	KUNIT_CASE(specials_unreachable),
	KUNIT_CASE(specials_weak_flags),
	KUNIT_CASE(specials_weak_kind),
	KUNIT_CASE(specials_weak_move),
	KUNIT_CASE(specials_weak_move_holder),
	{}
};

static struct kunit_suite specials_suite = {
	.name = "gcheap_specials",
	.init = spt_init,
	.exit = spt_exit,
	.test_cases = specials_cases,
};

kunit_test_suite(specials_suite);
