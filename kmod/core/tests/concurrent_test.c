// SPDX-License-Identifier: GPL-2.0
/*
 * A mark beside the mutator (gch_heap_mark_phase(), GCH_ROOT_DIRTY): the
 * classic hazard of concurrent marking, in a loop.  Mutator threads move
 * pointers between objects while the mark runs (the only pointer to an
 * object copied from a part not yet scanned into one already scanned,
 * then erased from the first), link new objects, and allocate and free
 * small and large ones, under the embedder's lock as gcheap.ko would.
 * Every pointer store also flags its heap page in a software dirty
 * bitmap (after the store, as the MMU's dirty bit is set by the write),
 * in place of the hardware bits the kernel reads.  The collector marks
 * concurrently (1, 2, 4 or 8 workers, by round), pre-cleans (reads and
 * clears the bitmap, scans the marked objects on flagged pages again),
 * stops the mutators, scans the roots and the last dirty pages, and
 * sweeps.  Then every object reachable from the roots must still be
 * allocated and hold its identity word.
 *
 * The case mark_concurrent_needs_rescan runs the same without the final
 * stop's dirty pages and expects objects to be lost: the check can fail.
 *
 * Not under ThreadSanitizer: the mark reads objects while the mutators
 * write them, a race by design (any value read is safe, and the write is
 * caught by the dirty page), which TSan has no way to be told.
 */
#include <kunit/test.h>

#include "graph_fixture.h"

#ifdef __KERNEL__
#define CT_OBJS			300
#define CT_ROUNDS		4
#define CT_OPS			20000	/* most mutator steps per round */
#else
#define CT_OBJS			20000
#define CT_ROUNDS		12
#define CT_OPS			400000
#endif

#define CT_ROOTS		16
#define CT_SLOTS		8	/* word 0: identity, 1..7: pointers */
#define CT_MUTATORS		2
#define CT_PRECLEANS		2
#define CT_MAGIC		0x5eed0bb1ec7ULL
#define CT_LARGE		(40U << 10)
#define CT_VICTIM		8	/* tags a victim's pointer (interior) */

struct ct_state {
	struct gf_fixture *f;
	struct mutex lock;		/* the embedder's heap lock */
	u64 *dirty;			/* heap pages, set by the mutators */
	u64 *snap;			/* the collector's read-and-clear copy */
	u32 nwords;
	u64 roots[CT_ROOTS];		/* user addresses of the anchors */
	unsigned int spanclass;
	unsigned int markers;		/* mark workers this round */
	bool final_rescan;		/* false: break it, to see the test fail */
	bool stop;
	atomic_t parked;		/* mutators stopped */
	atomic_t ops;			/* steps taken in this round */
	int err;			/* a mutator's failed allocation */
};

static u64 ct_identity(u64 off)
{
	return CT_MAGIC ^ off;
}

static u64 ct_rand(u64 *rng)
{
	*rng ^= *rng >> 12;
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	return *rng * 0x2545f4914f6cdd1dULL;
}

static u64 *ct_obj(struct ct_state *c, u64 off)
{
	return gf_word(c->f, off);
}

/* A pointer store, then its page flagged dirty (the MMU's order). */
static void ct_store(struct ct_state *c, u64 off, u32 k, u64 val)
{
	u64 page = (off + k * 8) >> GCH_PAGE_SHIFT;

	WRITE_ONCE(ct_obj(c, off)[k], val);
	test_and_set_bit(page, (unsigned long *)c->dirty);
}

/* Some object reachable (now) from a root: a random walk. */
static u64 ct_walk(struct ct_state *c, u64 *rng)
{
	u64 off = c->roots[ct_rand(rng) % CT_ROOTS] - GF_BASE, next;
	unsigned int steps = ct_rand(rng) % 8;

	while (steps--) {
		next = READ_ONCE(ct_obj(c, off)[1 + ct_rand(rng) % (CT_SLOTS - 1)]);
		if (!next || (next & 15) == CT_VICTIM)
			break;
		off = next - GF_BASE;
	}
	return off;
}

/* A new object (small or large), its identity set; 0 if none. */
static u64 ct_new(struct ct_state *c, bool large)
{
	u64 off;
	int n;

	mutex_lock(&c->lock);
	if (large)
		n = gch_heap_alloc_large(&c->f->fh.h, CT_LARGE, false, &off) ?
		    0 : 1;
	else
		n = gch_heap_alloc_small(&c->f->fh.h, c->spanclass, &off, 1);
	mutex_unlock(&c->lock);
	if (n != 1) {
		WRITE_ONCE(c->err, -ENOMEM);
		return 0;
	}
	WRITE_ONCE(ct_obj(c, off)[0], ct_identity(off));
	return off;
}

static void ct_free(struct ct_state *c, u64 off)
{
	mutex_lock(&c->lock);
	if (gch_heap_free(&c->f->fh.h, off))
		WRITE_ONCE(c->err, -EINVAL);
	mutex_unlock(&c->lock);
}

/* An empty pointer slot of @off (edges are moved, not overwritten). */
static u32 ct_empty_slot(struct ct_state *c, u64 off, u64 *rng)
{
	u32 k = ct_rand(rng) % (CT_SLOTS - 1), i;

	for (i = 0; i < CT_SLOTS - 1; i++, k = (k + 1) % (CT_SLOTS - 1))
		if (!READ_ONCE(ct_obj(c, off)[1 + k]))
			return 1 + k;
	return 0;
}

static void ct_mutator_step(struct ct_state *c, u64 *rng)
{
	u64 a, b, w, n;
	u32 j, k;

	switch (ct_rand(rng) % 16) {
	case 0: case 1:			/* link a new object */
		n = ct_new(c, ct_rand(rng) % 64 == 0);
		if (!n)
			return;
		a = ct_walk(c, rng);
		ct_store(c, n, 1, GF_BASE + a);
		b = ct_walk(c, rng);
		k = ct_empty_slot(c, b, rng);
		if (k)
			ct_store(c, b, k, GF_BASE + n);
		return;
	case 2:				/* garbage at once: freed */
		n = ct_new(c, ct_rand(rng) % 8 == 0);
		if (n)
			ct_free(c, n);
		return;
	case 3:
		/*
		 * A victim: a large object linked where the mark may find
		 * it and queue it, unlinked and freed while the mark may
		 * still scan it.  Its span must outlive the mark (parked).
		 * Tagged: no walk or move takes it elsewhere.
		 */
		n = ct_new(c, true);
		if (!n)
			return;
		b = ct_walk(c, rng);
		k = ct_empty_slot(c, b, rng);
		if (k)
			ct_store(c, b, k, GF_BASE + n + CT_VICTIM);
		for (j = 0; j < 256; j++)
			cpu_relax();
		if (k && READ_ONCE(ct_obj(c, b)[k]) == GF_BASE + n + CT_VICTIM)
			ct_store(c, b, k, 0);
		ct_free(c, n);
		return;
	default:			/* move a pointer */
		a = ct_walk(c, rng);
		j = 1 + ct_rand(rng) % (CT_SLOTS - 1);
		w = READ_ONCE(ct_obj(c, a)[j]);
		if (!w || (w & 15) == CT_VICTIM)
			return;
		b = ct_walk(c, rng);
		k = ct_empty_slot(c, b, rng);
		if (!k || (a == b && j == k))
			return;
		ct_store(c, b, k, w);
		ct_store(c, a, j, 0);
		return;
	}
}

static void ct_mark_fn(void *arg, unsigned int i)
{
	gch_mark_work(arg, i);
}

/* A mark of @roots beside the mutators, the lock only around its ends. */
static void ct_mark(struct ct_state *c, const struct gch_root *roots,
		    unsigned int nroots, unsigned int nworkers)
{
	struct gch_mark *m = c->f->m;
	int err;

	mutex_lock(&c->lock);
	err = gch_mark_begin(m, GF_BASE, roots, nroots, nworkers);
	mutex_unlock(&c->lock);
	if (err) {
		WRITE_ONCE(c->err, err);
		return;
	}
	if (gch_run_workers(nworkers, ct_mark_fn, m))
		WRITE_ONCE(c->err, -ENOMEM);
	/* an overflow rescan walks the span lists: under the lock */
	mutex_lock(&c->lock);
	gch_mark_end(m, NULL);
	mutex_unlock(&c->lock);
}

/* Read and clear the dirty bitmap into @snap. */
static void ct_take_dirty(struct ct_state *c)
{
	u32 i;

	for (i = 0; i < c->nwords; i++)
		c->snap[i] = xchg(&c->dirty[i], 0);
}

static void ct_collector(struct ct_state *c)
{
	struct gch_root roots[2] = {
		{ .kind = GCH_ROOT_WORDS, .words = c->roots, .n = CT_ROOTS },
		{ .kind = GCH_ROOT_DIRTY, .words = c->snap,
		  .n = c->f->fh.h.pages.npages },
	};
	unsigned int i;

	mutex_lock(&c->lock);
	gch_heap_mark_phase(&c->f->fh.h, true);
	mutex_unlock(&c->lock);
	/* cleared before anything is scanned: every later write is seen */
	ct_take_dirty(c);
	ct_mark(c, roots, 1, c->markers);
	for (i = 0; i < CT_PRECLEANS; i++) {
		ct_take_dirty(c);
		ct_mark(c, &roots[1], 1, c->markers);
	}
	/* the final stop: no mutator runs, none holds a pointer */
	WRITE_ONCE(c->stop, true);
	while (atomic_read(&c->parked) < CT_MUTATORS)
		gch_wait_step(2);
	ct_take_dirty(c);
	ct_mark(c, roots, c->final_rescan ? 2 : 1, c->markers);
	mutex_lock(&c->lock);
	gch_heap_mark_phase(&c->f->fh.h, false);
	mutex_unlock(&c->lock);
}

static void ct_thread(void *arg, unsigned int index)
{
	struct ct_state *c = arg;
	u64 rng = 0x9e3779b97f4a7c15ULL * (index + 1);
	int n;

	if (!index) {
		ct_collector(c);
		return;
	}
	while (!READ_ONCE(c->stop) &&
	       (n = atomic_inc_return(&c->ops)) < CT_OPS) {
		ct_mutator_step(c, &rng);
		if (!(n % 64))
			gch_wait_step(1);	/* no kthread hogs a CPU */
	}
	atomic_inc(&c->parked);
	/* the round's operations ran out before the collector: wait */
	while (!READ_ONCE(c->stop))
		gch_wait_step(2);
}

/*
 * After the sweep: every object reachable from the roots is allocated
 * and holds its identity.  Uses the (clear) mark bits as the visited set,
 * and clears them again.  Returns the objects lost.
 */
static u32 ct_check(struct ct_state *c, u32 *reached)
{
	struct gf_fixture *f = c->f;
	u32 head = 0, tail = 0, lost = 0, i, k;
	struct gch_objinfo info;
	u64 off, v;

	for (i = 0; i < CT_ROOTS + f->cap && tail < f->cap; i++) {
		if (i < CT_ROOTS) {
			v = c->roots[i];
		} else {
			if (head >= tail)
				break;
			off = f->queue[head++];
			for (k = 1; k < CT_SLOTS && tail < f->cap; k++) {
				v = ct_obj(c, off)[k];
				if (!v)
					continue;
				if (gch_heap_lookup(&f->fh.h, v - GF_BASE, &info) ||
				    ct_obj(c, info.base)[0] !=
				    ct_identity(info.base)) {
					lost++;
					continue;
				}
				if (!test_and_set_bit(info.index,
						      info.span->markbits))
					f->queue[tail++] = info.base;
			}
			i = CT_ROOTS - 1;	/* loop on the queue */
			continue;
		}
		if (gch_heap_lookup(&f->fh.h, v - GF_BASE, &info)) {
			lost++;
			continue;
		}
		if (!test_and_set_bit(info.index, info.span->markbits))
			f->queue[tail++] = info.base;
	}
	gf_clear_marks(f);
	*reached = tail;
	return lost;
}

static u32 ct_run(struct kunit *test, bool final_rescan, u32 rounds,
		  u32 *reached_total)
{
	struct gf_fixture *f = gf_new(test, CT_OBJS * 64, 0x51ed270b27e5ULL);
	struct gch_sweep_stats ss;
	struct ct_state *c;
	u32 lost = 0, reached, round, i, k;
	unsigned int sc;
	u64 off;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->f = f;
	c->final_rescan = final_rescan;
	mutex_init(&c->lock);
	c->nwords = DIV_ROUND_UP(f->fh.h.pages.npages, 64);
	c->dirty = kunit_kzalloc(test, c->nwords * 8, GFP_KERNEL);
	c->snap = kunit_kzalloc(test, c->nwords * 8, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c->dirty);
	KUNIT_ASSERT_NOT_NULL(test, c->snap);
	f->sw = gch_sweep_create(&f->fh.h, 1);
	KUNIT_ASSERT_NOT_NULL(test, f->sw);
	for (sc = 1; f->classes.size[sc] != CT_SLOTS * 8; sc++)
		KUNIT_ASSERT_LT(test, sc + 1, f->classes.nr_classes);
	c->spanclass = GCH_SPANCLASS(sc, 0);

	/* anchors, and random objects linked among them */
	for (i = 0; i < CT_OBJS; i++) {
		off = gf_alloc(test, f, sc, false);
		gf_word(f, off)[0] = ct_identity(off);
		if (i < CT_ROOTS)
			c->roots[i] = GF_BASE + off;
	}
	for (i = 0; i < CT_OBJS; i++)
		for (k = 1; k < CT_SLOTS; k++)
			if (gf_below(f, 3))
				gf_word(f, f->objs[i])[k] = GF_BASE +
					f->objs[gf_below(f, CT_OBJS)];

	*reached_total = 0;
	for (round = 0; round < rounds; round++) {
		c->markers = gf_workers[round % ARRAY_SIZE(gf_workers)];
		WRITE_ONCE(c->stop, false);
		atomic_set(&c->parked, 0);
		atomic_set(&c->ops, 0);
		KUNIT_ASSERT_EQ(test, gch_run_workers(1 + CT_MUTATORS, ct_thread,
						      c), 0);
		KUNIT_ASSERT_EQ(test, c->err, 0);
		KUNIT_ASSERT_EQ(test, gch_sweep_begin(f->sw, 1), 0);
		gch_sweep_work(f->sw, 0);
		gch_sweep_end(f->sw, &ss);
		KUNIT_ASSERT_EQ(test, gch_heap_check(&f->fh.h, NULL), 0);
		lost += ct_check(c, &reached);
		*reached_total += reached;
		if (lost)
			break;
	}
	mutex_destroy(&c->lock);
	kunit_info(test, "%u objects reached, %u lost\n", *reached_total, lost);
	return lost;
}

/* gcc's -fsanitize=thread defines it (see the top of the file) */
#ifdef __SANITIZE_THREAD__
#define CT_SKIP_RACY(test)						\
	kunit_skip(test, "the mark reads what the mutators write: a race by design")
#else
#define CT_SKIP_RACY(test)	do { } while (0)
#endif

static void mark_concurrent_mutator(struct kunit *test)
{
	u32 reached, lost;

	CT_SKIP_RACY(test);
	lost = ct_run(test, true, CT_ROUNDS, &reached);
	KUNIT_EXPECT_EQ(test, lost, 0U);
	/* the graph stayed connected: the check had objects to check */
	KUNIT_EXPECT_GT(test, reached, (u32)CT_ROOTS * CT_ROUNDS);
}

static void mark_concurrent_needs_rescan(struct kunit *test)
{
	u32 reached;

	CT_SKIP_RACY(test);
	/*
	 * Without the final dirty pages, moved pointers are missed: in the
	 * first round or so, but never counted on; up to 4 times the rounds.
	 */
	KUNIT_EXPECT_GT(test, ct_run(test, false, 4 * CT_ROUNDS, &reached), 0U);
}

/*
 * Deterministic: a large object the mark has queued is freed before the
 * mark scans it.  Its span is parked, not released (ASan would report the
 * scan of freed memory), and counted as gone; the end of the phase
 * releases it.  A small span emptied meanwhile is parked the same way.
 */
static void mark_concurrent_free_parks(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 16, 1);
	struct gch_heap_core *h = &f->fh.h;
	u64 big = gf_alloc_large(test, f, CT_LARGE, false), small, root;
	struct gch_root r = { .kind = GCH_ROOT_WORDS, .words = &root, .n = 1 };
	int releases;

	small = gf_alloc(test, f, 3, false);
	/* the large object points at the small one */
	gf_word(f, big)[CT_LARGE / 8 - 1] = GF_BASE + small;
	root = GF_BASE + big;
	gch_heap_mark_phase(h, true);
	KUNIT_ASSERT_EQ(test, gch_mark_begin(f->m, GF_BASE, &r, 1, 1), 0);
	releases = atomic_read(&f->fh.releases);
	KUNIT_ASSERT_EQ(test, gch_heap_free(h, big), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_free(h, small), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases), releases);
	KUNIT_EXPECT_EQ(test, h->objects, 0ULL);
	KUNIT_EXPECT_EQ(test, h->nlarge, 0ULL);
	KUNIT_EXPECT_FALSE(test, list_empty(&h->parked));
	/* the mark reads the freed large object, and marks through it */
	gch_mark_work(f->m, 0);
	gch_mark_end(f->m, NULL);
	KUNIT_EXPECT_EQ(test, gf_marks(f, false), 0U);	/* parked: not on lists */
	gch_heap_mark_phase(h, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases), releases + 2);
	KUNIT_EXPECT_TRUE(test, list_empty(&h->parked));
	KUNIT_EXPECT_EQ(test, h->mapped_pages, 0ULL);
	KUNIT_EXPECT_EQ(test, gch_heap_check(h, NULL), 0);
}

/* A dirty page scans again the marked objects on it, only those. */
static void mark_dirty_pages_root(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 64, 2);
	struct gch_root r[2] = { { .kind = GCH_ROOT_WORDS, .n = 1 } };
	u64 a, b, t1, t2, root, map[2] = { 0, 0 };
	struct gch_mark_stats st;
	u32 page;

	a = gf_alloc(test, f, 3, false);
	b = gf_alloc(test, f, 3, false);	/* same span, unmarked */
	t1 = gf_alloc(test, f, 3, false);
	t2 = gf_alloc(test, f, 3, false);
	root = GF_BASE + a;
	r[0].words = &root;
	KUNIT_ASSERT_EQ(test, gch_mark_begin(f->m, GF_BASE, r, 1, 1), 0);
	gch_mark_work(f->m, 0);
	gch_mark_end(f->m, NULL);
	KUNIT_EXPECT_TRUE(test, gf_marked(f, a));
	/* written after the scan: a (marked) -> t1, b (unmarked) -> t2 */
	gf_word(f, a)[1] = GF_BASE + t1;
	gf_word(f, b)[1] = GF_BASE + t2;
	page = a >> GCH_PAGE_SHIFT;
	KUNIT_ASSERT_EQ(test, page, (u32)(b >> GCH_PAGE_SHIFT));
	map[page / 64] |= 1ULL << (page % 64);
	r[0].kind = GCH_ROOT_DIRTY;
	r[0].words = map;
	r[0].n = 128;
	KUNIT_ASSERT_EQ(test, gch_mark_begin(f->m, GF_BASE, r, 1, 1), 0);
	gch_mark_work(f->m, 0);
	gch_mark_end(f->m, &st);
	KUNIT_EXPECT_EQ(test, st.dirty_pages, 1ULL);
	KUNIT_EXPECT_TRUE(test, gf_marked(f, t1));
	KUNIT_EXPECT_FALSE(test, gf_marked(f, b));
	KUNIT_EXPECT_FALSE(test, gf_marked(f, t2));
	/* a bitmap longer than the arena is refused */
	r[0].n = f->fh.h.pages.npages + 1;
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, r, 1, 1), -EINVAL);
	gf_clear_marks(f);
}

static struct kunit_case concurrent_cases[] = {
	KUNIT_CASE(mark_concurrent_free_parks),
	KUNIT_CASE(mark_dirty_pages_root),
	KUNIT_CASE(mark_concurrent_mutator),
	KUNIT_CASE(mark_concurrent_needs_rescan),
	{}
};

static struct kunit_suite concurrent_suite = {
	.name = "gcheap_mark_concurrent",
	.init = gf_case_init,
	.exit = gf_case_exit,
	.test_cases = concurrent_cases,
};

kunit_test_suite(concurrent_suite);
