/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the drop-in libgc.so.1 tests share.  Each test program is an
 * ordinary bdwgc client, built against Debian's <gc/gc.h> and linked with
 * -lgc: selftests/run-in-vm.sh runs the same binary on Debian's libgc1
 * (which shows the test asks only what bdwgc's documentation promises)
 * and, through gcheap-run, on gcheap's drop-in.  The expectations come
 * from gc.h's comments, never from bdwgc's own tests.
 *
 * Both collectors are conservative, so:
 *  - a pointer the test keeps without keeping its object is stored hidden
 *    (GC_HIDE_POINTER(), gc.h: "~p", never a heap address), in pointer-free
 *    memory, or in malloc() memory, which neither collector scans;
 *  - objects are made and dropped in noinline helpers whose frames die;
 *  - before a collection that should free something, gct_scrub() wipes
 *    the stack below the caller and the scratch registers;
 *  - "is collected" is asserted as "within GCT_TRIES collections" (each
 *    scrubbed, with some allocation in between), "survives" strictly.
 *
 * The kselftest harness forks a process per test, so every test calls
 * GC_INIT() itself and starts with a fresh heap.  The harness's ASSERT_*
 * and EXPECT_* keep both operands in the test function's frame: compare
 * hidden values there, never raw pointers to objects that should go.
 *
 * Include <gc/gc.h> (and the harness) before this file.
 */
#ifndef GC_COMPAT_TEST_H
#define GC_COMPAT_TEST_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wipe_regs.h"

#ifndef __x86_64__
#error "these tests wipe x86-64 registers"
#endif

#define noinline	__attribute__((noinline))

/* Collections a test waits at most for an unreachable object to go. */
#define GCT_TRIES	12

/*
 * Is this process running on gcheap's drop-in rather than Debian's
 * libgc1?  The drop-in links libgcheap, whose symbols are then in the
 * global scope; libgc1 has none.
 */
static inline bool gct_is_dropin(void)
{
	return dlsym(RTLD_DEFAULT, "gch_malloc") != NULL;
}

static inline const char *gct_impl(void)
{
	return gct_is_dropin() ? "gcheap drop-in" : "libgc1";
}

/* Wipe what dead frames left below the caller, and the scratch registers. */
static noinline __attribute__((unused)) void gct_scrub(void)
{
	char buf[16 * 1024];

	explicit_bzero(buf, sizeof(buf));
	__asm__ volatile("" : : "r" (buf) : "memory");
	wipe_regs();
}

/*
 * Some garbage in the small sizes: the allocators' recent state moves on
 * (an allocation cache's next free address may be just past the end of
 * the object allocated last, which counts as a pointer to it).
 */
static noinline __attribute__((unused)) void gct_churn(void)
{
	size_t size;
	int i;

	for (size = 16; size <= 128; size += 16)
		for (i = 0; i < 16; i++) {
			void *p = GC_malloc(size);

			__asm__ volatile("" : : "r" (p) : "memory");
		}
}

/*
 * One collection as the tests use it: some garbage first, the stack and
 * registers scrubbed around GC_gcollect().  (With finalize_on_demand off,
 * the default of both, GC_gcollect() runs the finalizers it queued.)
 */
static noinline __attribute__((unused)) void gct_collect(void)
{
	gct_churn();
	gct_scrub();
	GC_gcollect();
	gct_scrub();
}

/* A word that refers to nothing: @p hidden as gc.h documents. */
#define GCT_HIDE(p)	GC_HIDE_POINTER(p)
#define GCT_REVEAL(h)	GC_REVEAL_POINTER(h)

/*
 * A weak observer of @obj (a short disappearing link): a word in malloc()
 * memory, which neither collector scans, holding @obj's address until the
 * collector clears it.  The word is the caller's to free() (never while
 * registered).
 */
static noinline __attribute__((unused)) void **gct_watch(void *obj)
{
	void **slot = malloc(sizeof(*slot));

	if (!slot)
		return NULL;
	*slot = obj;
	if (GC_general_register_disappearing_link(slot, obj) != GC_SUCCESS) {
		free(slot);
		return NULL;
	}
	return slot;
}

static inline bool gct_alive(void **slot)
{
	return *(void *volatile *)slot != NULL;
}

/*
 * Collect until *@slot is cleared: the number of collections it took, or
 * 0 if it still holds its target after GCT_TRIES.
 */
static noinline __attribute__((unused)) int gct_collect_until_clear(void **slot)
{
	int i;

	for (i = 1; i <= GCT_TRIES; i++) {
		gct_collect();
		if (!gct_alive(slot))
			return i;
	}
	return 0;
}

/* Warnings bdwgc or the drop-in print through the warn proc: counted. */
static int gct_warnings __attribute__((unused));
static char gct_last_warning[256] __attribute__((unused));

static __attribute__((unused)) void gct_warn_proc(char *msg, GC_word arg)
{
	gct_warnings++;
	snprintf(gct_last_warning, sizeof(gct_last_warning), msg, arg);
	if (gct_warnings > 3)
		return;		/* counted only */
	fprintf(stderr, "# warn proc: %s", gct_last_warning);
	if (!strchr(gct_last_warning, '\n'))
		fputc('\n', stderr);
}

#endif /* GC_COMPAT_TEST_H */
