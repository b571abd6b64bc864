// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the memory behind spans and of the arena fault path's
 * page lookup, in the kernel with real pages and vmap().  Included at the
 * end of arena.c so that it can reach the static functions; KUnit runs it
 * before the module's init function, so it builds its own size classes.
 */
#include <kunit/test.h>

struct arena_fixture {
	struct gch_heap heap;
	struct gch_sizeclass_table classes;
};

static int arena_test_init(struct kunit *test)
{
	struct arena_fixture *f;
	int err;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->heap.lock);
	gch_scav_init(&f->heap);
	err = gch_sizeclass_init(&f->classes);
	if (err)
		return err;
	/* 4 MiB of arena; no inode: nothing is mapped in user space */
	err = gch_heap_init(&f->heap.core, &f->classes, 512,
			    &gch_span_backing_ops);
	if (err)
		return err;
	test->priv = f;
	return 0;
}

static void arena_test_exit(struct kunit *test)
{
	struct arena_fixture *f = test->priv;

	if (!f)
		return;
	/* as gch_heap_put(): freed spans' pages are idle until destroyed */
	gch_scav_stop(&f->heap);
	gch_heap_destroy(&f->heap.core);
	gch_scav_destroy(&f->heap);
}

/*
 * The core's operations under the heap lock, as the ioctls call them: a
 * freed span's pages go to the idle store, which the lock guards.
 */
static int alloc_small_locked(struct gch_heap *heap, unsigned int sc,
			      u64 *offs, int n)
{
	mutex_lock(&heap->lock);
	n = gch_heap_alloc_small(&heap->core, sc, offs, n);
	mutex_unlock(&heap->lock);
	return n;
}

static int alloc_large_locked(struct gch_heap *heap, u64 size, bool noscan,
			      u64 *off)
{
	int err;

	mutex_lock(&heap->lock);
	err = gch_heap_alloc_large(&heap->core, size, noscan, off);
	mutex_unlock(&heap->lock);
	return err;
}

static int free_locked(struct gch_heap *heap, u64 off)
{
	int err;

	mutex_lock(&heap->lock);
	err = gch_heap_free(&heap->core, off);
	mutex_unlock(&heap->lock);
	return err;
}

/* Objects are backed, zeroed, and reachable through the kernel mapping. */
static void arena_backing_zeroed_and_writable(struct kunit *test)
{
	struct arena_fixture *f = test->priv;
	struct gch_heap_core *core = &f->heap.core;
	unsigned int sc = GCH_SPANCLASS(gch_size_to_class(&f->classes, 100), 0);
	struct gch_objinfo info;
	u64 offs[8], j;
	char *p;
	int n, i;

	n = alloc_small_locked(&f->heap, sc, offs, ARRAY_SIZE(offs));
	KUNIT_ASSERT_GT(test, n, 0);
	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_EQ(test, gch_heap_lookup(core, offs[i], &info), 0);
		p = gch_span_kaddr(info.span) +
		    (offs[i] - ((u64)info.span->start << GCH_PAGE_SHIFT));
		for (j = 0; j < info.size; j++)
			KUNIT_ASSERT_EQ(test, p[j], 0);
		memset(p, 0x5a, info.size);
	}
	/* a freed and reallocated object comes back zeroed */
	KUNIT_ASSERT_EQ(test, free_locked(&f->heap, offs[0]), 0);
	KUNIT_ASSERT_EQ(test, alloc_small_locked(&f->heap, sc, offs, 1), 1);
	KUNIT_ASSERT_EQ(test, gch_heap_lookup(core, offs[0], &info), 0);
	p = gch_span_kaddr(info.span) +
	    (offs[0] - ((u64)info.span->start << GCH_PAGE_SHIFT));
	for (j = 0; j < info.size; j++)
		KUNIT_ASSERT_EQ(test, p[j], 0);
}

/* gch_arena_page() wants the heap lock, as the fault handler holds it. */
static struct page *arena_page_locked(struct gch_heap *heap, u64 off)
{
	struct page *page;

	mutex_lock(&heap->lock);
	page = gch_arena_page(heap, off);
	mutex_unlock(&heap->lock);
	return page;
}

/*
 * The fault path's lookup: every offset inside an allocated span maps to
 * the kernel page that backs it (the same memory the kernel mapping
 * shows), and offsets outside any span, the reserved first page among
 * them, map to nothing (SIGBUS).
 */
static void arena_fault_lookup(struct kunit *test)
{
	struct arena_fixture *f = test->priv;
	struct gch_heap *heap = &f->heap;
	struct gch_span *s;
	u64 off, base, end;
	char *k;

	KUNIT_ASSERT_EQ(test, alloc_large_locked(heap, 5 * GCH_PAGE_SIZE,
						 false, &base), 0);
	s = gch_heap_span_of(&heap->core, base);
	KUNIT_ASSERT_NOT_NULL(test, s);
	end = base + ((u64)s->npages << GCH_PAGE_SHIFT);
	k = gch_span_kaddr(s);
	for (off = base; off < end; off += 512)
		KUNIT_ASSERT_PTR_EQ(test, arena_page_locked(heap, off),
				    vmalloc_to_page(k + (off - base)));
	/* the arena's first page is reserved: never backed (SIGBUS) */
	KUNIT_EXPECT_EQ(test, base, (u64)GCH_HEAP_RESERVED_PAGES << GCH_PAGE_SHIFT);
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, 0));
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, base - 1));
	/* past the span, and far beyond anything allocated: no page */
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, end));
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, 511ULL << GCH_PAGE_SHIFT));
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, 512ULL << GCH_PAGE_SHIFT));
	/* freed: the pages are gone */
	KUNIT_ASSERT_EQ(test, free_locked(heap, base), 0);
	KUNIT_EXPECT_NULL(test, arena_page_locked(heap, base));
}

/*
 * Large spans are backed page by page and accounted; the suite's exit
 * destroys the heap with them in use, which kmemleak checks.
 */
static void arena_large_spans_accounted(struct kunit *test)
{
	struct arena_fixture *f = test->priv;
	struct gch_heap_core *core = &f->heap.core;
	u64 off;
	int i;

	for (i = 0; i < 16; i++)
		KUNIT_ASSERT_EQ(test, alloc_large_locked(&f->heap, 64 << 10,
							 i & 1, &off), 0);
	KUNIT_EXPECT_EQ(test, core->nlarge, 16ULL);
	KUNIT_EXPECT_EQ(test, core->mapped_pages, 16ULL * 8);
}

static struct kunit_case arena_cases[] = {
	KUNIT_CASE(arena_backing_zeroed_and_writable),
	KUNIT_CASE(arena_fault_lookup),
	KUNIT_CASE(arena_large_spans_accounted),
	{}
};

static struct kunit_suite arena_suite = {
	.name = "gcheap_arena",
	.init = arena_test_init,
	.exit = arena_test_exit,
	.test_cases = arena_cases,
};

kunit_test_suite(arena_suite);
