// SPDX-License-Identifier: GPL-2.0
/*
 * bdwgc's allocation functions, as gc.h documents them:
 *
 *   malloc_sizes        GC_malloc and friends: every size class to 2 MiB,
 *                       aligned, the non-atomic ones cleared, GC_base of
 *                       the result is the result, GC_size at least asked
 *   scanned_kinds       what an object of a scanned kind (GC_malloc,
 *                       GC_malloc_kind/GC_generic_malloc GC_I_NORMAL,
 *                       ignore_off_page) points to survives collections
 *   ptrfree_kinds       what a pointer-free object (GC_malloc_atomic,
 *                       GC_I_PTRFREE) "points to" is collected
 *   uncollectable       GC_malloc_uncollectable: survives with no
 *                       reference, is scanned; after GC_free what it
 *                       pointed to is collected
 *   atomic_uncollectable  survives, is not scanned
 *   memalign_aligned    GC_memalign alignments, held objects intact
 *   posix_memalign_einval  EINVAL for 0, 1, 3, 4, 24, 48, 65 (not a power of
 *                       two or below sizeof(void *)), *memptr untouched;
 *                       aligned results otherwise
 *   realloc_grow_shrink grow (content kept, the rest zeroed), shrink,
 *                       NULL (= GC_malloc), size 0 (NULL)
 *   realloc_uncollectable  an uncollectable object stays uncollectable,
 *                       and scanned, when GC_realloc grows or shrinks it
 *   free_objects        GC_free(NULL); GC_free of objects of each kind,
 *                       then allocation goes on
 *   free_not_heap       drop-in only: GC_free of a static, a stack and a
 *                       malloc() address is harmless (undefined on bdwgc)
 *   strdup_strndup      GC_strdup, GC_strndup: copies, truncation, NUL
 *   malloc_many         GC_malloc_many: a list through the first word,
 *                       objects distinct and large enough, kept alive
 *                       while the list is held
 *   debug_alloc         the GC_DEBUG family (GC_debug_malloc & co with
 *                       GC_EXTRAS): cleared, realloc keeps content,
 *                       uncollectable keeps its referent, GC_debug_free
 *   base_size           GC_base of interior pointers of small and large
 *                       objects, of non-heap addresses (NULL); GC_size
 *                       (of non-heap addresses: 0, drop-in only, as
 *                       Documentation/gc-compat.rst says; undefined on
 *                       bdwgc)
 *   is_heap_ptr         GC_is_heap_ptr: heap yes, static/stack/malloc no
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "gc_compat.h"

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static bool filled(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

static const size_t sizes[] = {
	1, 7, 8, 15, 16, 17, 24, 31, 32, 48, 64, 100, 128, 255, 256, 512,
	1000, 2048, 2049, 4095, 4096, 4097, 8192, 10000, 65536, 100000,
	1 << 20, (2 << 20) + 3,
};

TEST(malloc_sizes)
{
	void *(*const fns[])(size_t) = {
		GC_malloc, GC_malloc_atomic, GC_malloc_uncollectable,
		GC_malloc_atomic_uncollectable, GC_malloc_ignore_off_page,
		GC_malloc_atomic_ignore_off_page,
	};
	static const char *const names[] = {
		"GC_malloc", "GC_malloc_atomic", "GC_malloc_uncollectable",
		"GC_malloc_atomic_uncollectable", "GC_malloc_ignore_off_page",
		"GC_malloc_atomic_ignore_off_page",
	};
	/* gc.h: "The non-atomic versions guarantee that the new object is
	 * cleared" */
	static const bool cleared[] = { true, false, true, false, true, false };
	static const bool unc[] = { false, false, true, true, false, false };
	size_t f, i;

	GC_INIT();
	for (f = 0; f < ARRAY_SIZE(fns); f++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			size_t n = sizes[i];
			char *p = fns[f](n);

			ASSERT_NE(NULL, p) TH_LOG("%s(%zu)", names[f], n);
			EXPECT_EQ(0, (uintptr_t)p % sizeof(void *))
				TH_LOG("%s(%zu) = %p misaligned", names[f], n, p);
			EXPECT_EQ(p, GC_base(p))
				TH_LOG("%s(%zu): GC_base(%p)", names[f], n, p);
			EXPECT_GE(GC_size(p), n)
				TH_LOG("%s(%zu): GC_size", names[f], n);
			EXPECT_TRUE(GC_is_heap_ptr(p));
			if (cleared[f])
				EXPECT_TRUE(all_zero(p, n))
					TH_LOG("%s(%zu) not cleared", names[f], n);
			fill(p, n, (unsigned int)i);
			EXPECT_TRUE(filled(p, n, (unsigned int)i));
			if (unc[f])
				GC_free(p);
		}
	}
	/* gc.h's GC_NEW family and zero-size requests give objects too */
	{
		long *l = GC_NEW(long);
		void *z = GC_malloc(0);

		ASSERT_NE(NULL, l);
		EXPECT_EQ(0, *l);
		ASSERT_NE(NULL, z);
		EXPECT_EQ(z, GC_base(z));
	}
}

/* ---- what an object points to: scanned or not ------------------------- */

static void *volatile holder;	/* in bss: a root of both collectors */

static void *alloc_kind_normal(size_t n)
{
	return GC_malloc_kind(n, GC_I_NORMAL);
}

static void *alloc_kind_ptrfree(size_t n)
{
	return GC_malloc_kind(n, GC_I_PTRFREE);
}

static void *alloc_generic_normal(size_t n)
{
	return GC_generic_malloc(n, GC_I_NORMAL);
}

static void *alloc_generic_ptrfree(size_t n)
{
	return GC_generic_malloc(n, GC_I_PTRFREE);
}

/*
 * holder = a @size object from @alloc whose word @at is the only
 * reference to a fresh target; the target's weak observer.
 */
static noinline void **make_held(void *(*alloc)(size_t), size_t size,
				 size_t at)
{
	void **h = alloc(size);
	void *t = GC_malloc(64);

	if (!h || !t)
		return NULL;
	memset(t, 0x5a, 64);
	h[at] = t;
	holder = h;
	return gct_watch(t);
}

struct kind {
	const char *name;
	void *(*alloc)(size_t);
};

static const struct kind scanned[] = {
	{ "GC_malloc", GC_malloc },
	{ "GC_malloc_ignore_off_page", GC_malloc_ignore_off_page },
	{ "GC_malloc_kind(GC_I_NORMAL)", alloc_kind_normal },
	{ "GC_generic_malloc(GC_I_NORMAL)", alloc_generic_normal },
};

static const struct kind ptrfree[] = {
	{ "GC_malloc_atomic", GC_malloc_atomic },
	{ "GC_malloc_atomic_ignore_off_page", GC_malloc_atomic_ignore_off_page },
	{ "GC_malloc_kind(GC_I_PTRFREE)", alloc_kind_ptrfree },
	{ "GC_generic_malloc(GC_I_PTRFREE)", alloc_generic_ptrfree },
};

TEST(scanned_kinds)
{
	size_t k;
	int i;

	GC_INIT();
	for (k = 0; k < ARRAY_SIZE(scanned); k++) {
		/* small and large holders, the reference at the start and deep
		 * inside (past the first page) */
		static const size_t shapes[][2] = { { 64, 3 }, { 40000, 4000 } };
		size_t s;

		for (s = 0; s < ARRAY_SIZE(shapes); s++) {
			void **w = make_held(scanned[k].alloc, shapes[s][0],
					     shapes[s][1]);

			ASSERT_NE(NULL, w) TH_LOG("%s", scanned[k].name);
			for (i = 0; i < GCT_TRIES; i++) {
				gct_collect();
				ASSERT_TRUE(gct_alive(w))
					TH_LOG("%s(%zu): the object its word %zu points to was collected (collection %d)",
					       scanned[k].name, shapes[s][0],
					       shapes[s][1], i + 1);
			}
			ASSERT_EQ(0x5a5a5a5a, *(unsigned int *)*w);
			GC_unregister_disappearing_link(w);
			free(w);
			holder = NULL;
		}
	}
}

TEST(ptrfree_kinds)
{
	size_t k;

	GC_INIT();
	for (k = 0; k < ARRAY_SIZE(ptrfree); k++) {
		void **w = make_held(ptrfree[k].alloc, 64, 3);
		int n;

		ASSERT_NE(NULL, w) TH_LOG("%s", ptrfree[k].name);
		n = gct_collect_until_clear(w);
		EXPECT_NE(0, n)
			TH_LOG("%s: an object referenced only from a pointer-free object survived %d collections",
			       ptrfree[k].name, GCT_TRIES);
		/* the holder itself is alive and intact */
		EXPECT_EQ(holder, GC_base(holder));
		holder = NULL;
		if (n == 0)
			GC_unregister_disappearing_link(w);
		free(w);
	}
}

/* ---- uncollectable objects ------------------------------------------- */

static GC_word unc_hidden;	/* the only (hidden) reference */

static noinline void **make_unc(void *(*alloc)(size_t), size_t size,
				bool with_target, void ***target_watch)
{
	void **u = alloc(size);
	void **w;

	if (!u)
		return NULL;
	fill(u + 1, size - sizeof(void *), 77);
	u[0] = NULL;
	if (with_target) {
		void *t = GC_malloc(32);

		if (!t)
			return NULL;
		u[0] = t;
		*target_watch = gct_watch(t);
	}
	w = gct_watch(u);
	unc_hidden = GCT_HIDE(u);
	return w;
}

static noinline bool unc_intact(size_t size)
{
	void **u = GCT_REVEAL(unc_hidden);

	return filled(u + 1, size - sizeof(void *), 77);
}

static noinline void unc_free(void)
{
	GC_free(GCT_REVEAL(unc_hidden));
	unc_hidden = 0;
}

TEST(uncollectable)
{
	static const size_t usizes[] = { 32, 1000, 50000 };
	size_t s;
	int i;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(usizes); s++) {
		void **tw = NULL, **w;

		w = make_unc(GC_malloc_uncollectable, usizes[s], true, &tw);
		ASSERT_NE(NULL, w);
		ASSERT_NE(NULL, tw);
		for (i = 0; i < GCT_TRIES; i++) {
			gct_collect();
			ASSERT_TRUE(gct_alive(w))
				TH_LOG("an unreferenced uncollectable object of %zu bytes was collected",
				       usizes[s]);
			ASSERT_TRUE(gct_alive(tw))
				TH_LOG("what an uncollectable object points to was collected");
		}
		EXPECT_TRUE(unc_intact(usizes[s]));
		GC_unregister_disappearing_link(w);
		free(w);
		unc_free();
		/* freed, the target is garbage now */
		EXPECT_NE(0, gct_collect_until_clear(tw))
			TH_LOG("the referent of a freed uncollectable object survived");
		free(tw);
	}
}

TEST(atomic_uncollectable)
{
	void **tw = NULL, **w;
	int i;

	GC_INIT();
	w = make_unc(GC_malloc_atomic_uncollectable, 256, true, &tw);
	ASSERT_NE(NULL, w);
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_TRUE(gct_alive(w))
			TH_LOG("an unreferenced atomic uncollectable object was collected");
	}
	EXPECT_TRUE(unc_intact(256));
	/* pointer-free: what it "points to" is not kept (cleared by now or
	 * soon) */
	EXPECT_NE(0, gct_collect_until_clear(tw))
		TH_LOG("an atomic uncollectable object was scanned");
	GC_unregister_disappearing_link(w);
	unc_free();
	free(w);
	free(tw);
}

/* ---- alignment --------------------------------------------------------- */

TEST(memalign_aligned)
{
	static const size_t aligns[] = { 1, 8, 16, 32, 64, 128, 256, 1024, 2048, 4096 };
	static const size_t msizes[] = { 1, 24, 100, 3000, 20000 };
	char *volatile keep[ARRAY_SIZE(aligns)][ARRAY_SIZE(msizes)];
	size_t a, s;

	GC_INIT();
	for (a = 0; a < ARRAY_SIZE(aligns); a++) {
		for (s = 0; s < ARRAY_SIZE(msizes); s++) {
			char *p = GC_memalign(aligns[a], msizes[s]);

			ASSERT_NE(NULL, p)
				TH_LOG("GC_memalign(%zu, %zu)", aligns[a], msizes[s]);
			EXPECT_EQ(0, (uintptr_t)p % aligns[a])
				TH_LOG("GC_memalign(%zu, %zu) = %p", aligns[a],
				       msizes[s], p);
			EXPECT_NE(NULL, GC_base(p));
			fill(p, msizes[s], (unsigned int)(a * 16 + s));
			keep[a][s] = p;
		}
	}
	/* the (possibly interior) pointers keep their objects */
	gct_collect();
	gct_collect();
	for (a = 0; a < ARRAY_SIZE(aligns); a++)
		for (s = 0; s < ARRAY_SIZE(msizes); s++)
			EXPECT_TRUE(filled(keep[a][s], msizes[s],
					   (unsigned int)(a * 16 + s)))
				TH_LOG("GC_memalign(%zu, %zu) object changed",
				       aligns[a], msizes[s]);
}

TEST(posix_memalign_einval)
{
	static const size_t bad[] = { 0, 1, 2, 3, 4, 24, 48, 65, 3 * 4096 };
	static const size_t good[] = { 8, 16, 32, 64, 512, 4096 };
	void *p, *const sentinel = (void *)&p;
	size_t i;

	GC_INIT();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = sentinel;
		EXPECT_EQ(EINVAL, GC_posix_memalign(&p, bad[i], 64))
			TH_LOG("alignment %zu", bad[i]);
		EXPECT_EQ(sentinel, p) TH_LOG("alignment %zu: *memptr written", bad[i]);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		p = NULL;
		ASSERT_EQ(0, GC_posix_memalign(&p, good[i], 100))
			TH_LOG("alignment %zu", good[i]);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % good[i]);
		EXPECT_NE(NULL, GC_base(p));
		memset(p, 1, 100);
	}
}

/* ---- realloc ----------------------------------------------------------- */

TEST(realloc_grow_shrink)
{
	char *p, *q;
	size_t n;

	GC_INIT();
	/* NULL: GC_malloc, "regardless of new size" */
	p = GC_realloc(NULL, 100);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(p, GC_base(p));
	EXPECT_TRUE(all_zero(p, 100));
	fill(p, 100, 3);

	/* growth: the content kept, what is new zeroed (not atomic) */
	for (n = 200; n <= 300000; n *= 3) {
		q = GC_realloc(p, n);
		ASSERT_NE(NULL, q) TH_LOG("grow to %zu", n);
		EXPECT_EQ(q, GC_base(q));
		EXPECT_GE(GC_size(q), n);
		EXPECT_TRUE(filled(q, 100, 3)) TH_LOG("grow to %zu lost content", n);
		EXPECT_TRUE(all_zero(q + 100, n - 100))
			TH_LOG("grow to %zu: the new part is not zeroed", n);
		p = q;
	}
	/* shrinking keeps the prefix */
	q = GC_realloc(p, 50);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(filled(q, 50, 3));
	gct_collect();
	EXPECT_TRUE(filled(q, 50, 3));

	/* atomic objects keep their content too */
	p = GC_malloc_atomic(40);
	ASSERT_NE(NULL, p);
	fill(p, 40, 9);
	q = GC_realloc(p, 5000);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(filled(q, 40, 9));

	/* size 0: GC_free, NULL returned */
	p = GC_malloc(64);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(NULL, GC_realloc(p, 0));
	/* and the heap works on */
	p = GC_malloc(64);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 64));
}

static noinline void **make_unc_realloc(size_t first, size_t second,
					void ***tw)
{
	void **u = GC_malloc_uncollectable(first), **v;
	void *t = GC_malloc(48);

	if (!u || !t)
		return NULL;
	fill(u + 1, first - sizeof(void *), 77);
	u[0] = t;
	*tw = gct_watch(t);
	v = GC_realloc(u, second);
	if (!v)
		return NULL;
	unc_hidden = GCT_HIDE(v);
	return gct_watch(v);
}

TEST(realloc_uncollectable)
{
	/* grow within and across size classes, to a large object, shrink */
	static const size_t steps[][2] = {
		{ 32, 40 }, { 32, 5000 }, { 200, 300000 }, { 5000, 64 },
	};
	size_t s;
	int i;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(steps); s++) {
		size_t keep = steps[s][0] < steps[s][1] ? steps[s][0] : steps[s][1];
		void **tw = NULL, **w;

		w = make_unc_realloc(steps[s][0], steps[s][1], &tw);
		ASSERT_NE(NULL, w);
		ASSERT_NE(NULL, tw);
		for (i = 0; i < GCT_TRIES; i++) {
			gct_collect();
			ASSERT_TRUE(gct_alive(w))
				TH_LOG("GC_realloc(uncollectable %zu, %zu): the result was collected",
				       steps[s][0], steps[s][1]);
			ASSERT_TRUE(gct_alive(tw))
				TH_LOG("GC_realloc(uncollectable %zu, %zu): its referent was collected",
				       steps[s][0], steps[s][1]);
		}
		EXPECT_TRUE(unc_intact(keep));
		GC_unregister_disappearing_link(w);
		free(w);
		unc_free();
		EXPECT_NE(0, gct_collect_until_clear(tw));
		free(tw);
	}
}

/* ---- free -------------------------------------------------------------- */

TEST(free_objects)
{
	void *(*const fns[])(size_t) = {
		GC_malloc, GC_malloc_atomic, GC_malloc_uncollectable,
		GC_malloc_atomic_uncollectable,
	};
	size_t f, i;
	int round;

	GC_INIT();
	GC_free(NULL);	/* gc.h: a no-op */
	for (round = 0; round < 20; round++) {
		for (f = 0; f < ARRAY_SIZE(fns); f++) {
			for (i = 0; i < ARRAY_SIZE(sizes); i++) {
				void *p = fns[f](sizes[i]);

				ASSERT_NE(NULL, p);
				memset(p, 0xee, sizes[i]);
				GC_free(p);
			}
		}
		if (round % 5 == 4)
			gct_collect();
	}
	/* freed memory is handed out again, cleared where promised */
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		void *p = GC_malloc(sizes[i]);

		ASSERT_NE(NULL, p);
		EXPECT_TRUE(all_zero(p, sizes[i])) TH_LOG("size %zu", sizes[i]);
	}
}

static long not_heap_static[4] = { 1, 2, 3, 4 };

TEST(free_not_heap)
{
	long on_stack[4] = { 5, 6, 7, 8 };
	long *m;
	void *p;

	GC_INIT();
	if (!gct_is_dropin())
		SKIP(return, "libgc1: GC_free of a pointer not returned by GC_malloc is undefined in bdwgc (gc.h: \"Requires a pointer to the base of an object\"); the drop-in promises it is harmless (userlib/gc/alloc.c)");
	m = malloc(sizeof(*m) * 4);
	ASSERT_NE(NULL, m);
	m[0] = 42;
	GC_set_warn_proc(gct_warn_proc);
	GC_free(not_heap_static);
	GC_free(on_stack);
	GC_free(m);
	GC_free((char *)not_heap_static + 3);
	EXPECT_EQ(1, not_heap_static[0]);
	EXPECT_EQ(4, not_heap_static[3]);
	EXPECT_EQ(5, on_stack[0]);
	EXPECT_EQ(42, m[0]);
	free(m);
	/* the heap is fine afterwards */
	p = GC_malloc(100);
	ASSERT_NE(NULL, p);
	gct_collect();
	EXPECT_EQ(p, GC_base(p));
}

/* ---- strings ----------------------------------------------------------- */

TEST(strdup_strndup)
{
	static const char s[] = "garbage-collected hello";
	char big[10000];
	char *d;

	GC_INIT();
	d = GC_strdup(s);
	ASSERT_NE(NULL, d);
	EXPECT_NE((const char *)s, d);
	EXPECT_STREQ(s, d);
	EXPECT_EQ(d, GC_base(d));
	EXPECT_GE(GC_size(d), sizeof(s));

	d = GC_strdup("");
	ASSERT_NE(NULL, d);
	EXPECT_EQ(0, d[0]);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	d = GC_strdup(big);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(sizeof(big) - 1, strlen(d));

	d = GC_strndup(s, 7);
	ASSERT_NE(NULL, d);
	EXPECT_STREQ("garbage", d);
	d = GC_strndup(s, 1000);	/* longer than the string */
	ASSERT_NE(NULL, d);
	EXPECT_STREQ(s, d);
	d = GC_strndup(s, 0);
	ASSERT_NE(NULL, d);
	EXPECT_STREQ("", d);
	d = GC_strndup(s, sizeof(s) - 1);
	ASSERT_NE(NULL, d);
	EXPECT_STREQ(s, d);

	/* copies live through collections */
	d = GC_strdup(s);
	gct_collect();
	gct_collect();
	EXPECT_STREQ(s, d);
}

/* ---- GC_malloc_many ---------------------------------------------------- */

TEST(malloc_many)
{
	static const size_t msizes[] = { 8, 16, 24, 48, 100, 256, 1024, 2000 };
	size_t s;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(msizes); s++) {
		void *volatile list = GC_malloc_many(msizes[s]);
		void *p, *q;
		size_t n = 0, k;

		size_t mark = msizes[s] - sizeof(void *);

		ASSERT_NE(NULL, list) TH_LOG("GC_malloc_many(%zu)", msizes[s]);
		for (p = list; p; p = GC_NEXT(p)) {
			ASSERT_EQ(p, GC_base(p)) TH_LOG("size %zu, object %zu", msizes[s], n);
			ASSERT_GE(GC_size(p), msizes[s]);
			/* mark each (the link word stays) */
			memset((char *)p + sizeof(void *), (int)(n & 0x7f) + 1,
			       mark);
			n++;
			ASSERT_LT(n, 100000);
		}
		/* distinct: no object is another's (O(n^2), n is small) */
		for (p = list; p; p = GC_NEXT(p))
			for (q = GC_NEXT(p); q; q = GC_NEXT(q))
				ASSERT_NE(p, q);
		/* the list keeps every object */
		gct_collect();
		gct_collect();
		k = 0;
		for (p = list; p; p = GC_NEXT(p)) {
			unsigned char *c = (unsigned char *)p + sizeof(void *);

			ASSERT_EQ(p, GC_base(p));
			if (mark) {
				ASSERT_EQ((int)(k & 0x7f) + 1, c[0]);
				ASSERT_EQ((int)(k & 0x7f) + 1, c[mark - 1]);
			}
			k++;
		}
		EXPECT_EQ(n, k);
	}
}

/* ---- the GC_DEBUG family ---------------------------------------------- */

static noinline void **make_debug_unc(void ***tw)
{
	void **u = GC_debug_malloc_uncollectable(64, GC_EXTRAS);
	void *t = GC_debug_malloc(32, GC_EXTRAS);

	if (!u || !t)
		return NULL;
	u[0] = t;
	*tw = gct_watch(GC_base(t));
	unc_hidden = GCT_HIDE(u);
	return *tw;
}

TEST(debug_alloc)
{
	char *p, *q;
	void **tw = NULL;
	int i;

	GC_INIT();
	p = GC_debug_malloc(100, GC_EXTRAS);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 100));
	/* gc.h: GC_base of a debug object is the start of its debug
	 * information, at or below what the program got */
	ASSERT_NE(NULL, GC_base(p));
	EXPECT_LE((uintptr_t)GC_base(p), (uintptr_t)p);
	fill(p, 100, 5);
	q = GC_debug_realloc(p, 20000, GC_EXTRAS);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(filled(q, 100, 5));
	q = GC_debug_realloc(q, 60, GC_EXTRAS);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(filled(q, 60, 5));
	GC_debug_free(q);

	p = GC_debug_malloc_atomic(300, GC_EXTRAS);
	ASSERT_NE(NULL, p);
	memset(p, 3, 300);
	p = GC_debug_malloc_ignore_off_page(50000, GC_EXTRAS);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 50000));
	GC_debug_free(p);

	p = GC_debug_strdup("debug string", GC_EXTRAS);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("debug string", p);
	p = GC_debug_strndup("debug string", 5, GC_EXTRAS);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("debug", p);
	GC_debug_free(p);

	/* an uncollectable debug object keeps what it points to */
	ASSERT_NE(NULL, make_debug_unc(&tw));
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_TRUE(gct_alive(tw))
			TH_LOG("the referent of a GC_debug_malloc_uncollectable object was collected");
	}
	GC_debug_free(GCT_REVEAL(unc_hidden));
	unc_hidden = 0;
	EXPECT_NE(0, gct_collect_until_clear(tw));
	free(tw);
	GC_debug_free(NULL);
}

/* ---- GC_base, GC_size, GC_is_heap_ptr --------------------------------- */

TEST(base_size)
{
	static const size_t bsizes[] = { 16, 100, 1000, 4096, 70000, 3 << 20 };
	long on_stack = 1;
	void *m;
	size_t s;

	GC_INIT();
	for (s = 0; s < ARRAY_SIZE(bsizes); s++) {
		char *p = GC_malloc(bsizes[s]);
		size_t off;

		ASSERT_NE(NULL, p);
		EXPECT_GE(GC_size(p), bsizes[s]);
		for (off = 0; off < bsizes[s]; off += bsizes[s] / 7 + 1)
			EXPECT_EQ(p, GC_base(p + off))
				TH_LOG("GC_base(p + %zu) of a %zu-byte object",
				       off, bsizes[s]);
		EXPECT_EQ(p, GC_base(p + bsizes[s] - 1));
	}
	/* gc.h: "Return 0 if displaced_pointer doesn't point to within a
	 * valid object" */
	m = malloc(64);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(NULL, GC_base(NULL));
	EXPECT_EQ(NULL, GC_base(not_heap_static));
	EXPECT_EQ(NULL, GC_base(&on_stack));
	EXPECT_EQ(NULL, GC_base(m));
	EXPECT_EQ(NULL, GC_base((void *)GC_base));
	/* GC_size wants an object's base in bdwgc (undefined otherwise);
	 * the drop-in documents 0 for anything else (gc-compat.rst) */
	if (gct_is_dropin()) {
		EXPECT_EQ(0, GC_size(not_heap_static));
		EXPECT_EQ(0, GC_size(&on_stack));
		EXPECT_EQ(0, GC_size(m));
	} else {
		TH_LOG("libgc1: GC_size of a non-heap pointer is undefined in bdwgc; checked on the drop-in only");
	}
	free(m);
}

TEST(is_heap_ptr)
{
	long on_stack = 1;
	char *p, *big;
	void *m;

	GC_INIT();
	p = GC_malloc(100);
	big = GC_malloc_atomic(1 << 20);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, big);
	EXPECT_TRUE(GC_is_heap_ptr(p));
	EXPECT_TRUE(GC_is_heap_ptr(p + 50));
	EXPECT_TRUE(GC_is_heap_ptr(big + (1 << 19)));
	m = malloc(64);
	ASSERT_NE(NULL, m);
	EXPECT_FALSE(GC_is_heap_ptr(NULL));
	EXPECT_FALSE(GC_is_heap_ptr(not_heap_static));
	EXPECT_FALSE(GC_is_heap_ptr(&on_stack));
	EXPECT_FALSE(GC_is_heap_ptr(m));
	free(m);
}

TEST_HARNESS_MAIN
