/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keeping pointers from the collector, for the selftests that show a root
 * is a root: a pointer the test holds is stored XOR-masked ("hidden"), so
 * only the root under test refers to the object; scrub() wipes what dead
 * frames left below the caller (the kernel scans from the stack pointer
 * less the 128-byte red zone) and the scratch registers, general and SSE
 * (the callee-saved ones hold the caller's), before collecting.
 */
#ifndef _GCHEAP_SELFTESTS_HIDDEN_PTR_H
#define _GCHEAP_SELFTESTS_HIDDEN_PTR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gcheap.h"
#include "wipe_regs.h"

/* XORed with this, no pointer is a user address (it is not canonical). */
#define HIDE_MASK	0x5a5a5a5a5a5a5a5aUL

static inline uintptr_t hide(const volatile void *p)
{
	return (uintptr_t)p ^ HIDE_MASK;
}

static inline void *unhide(uintptr_t h)
{
	return (void *)(h ^ HIDE_MASK);
}


/*
 * Wipe what dead frames left below the caller's stack pointer, and the
 * scratch registers.
 */
static __attribute__((noinline)) void scrub(void)
{
	char buf[16 * 1024];

	explicit_bzero(buf, sizeof(buf));
	wipe_regs();
}

/* *@slot = the pointer hidden in @h (NULL for 0), computed out of sight. */
static __attribute__((noinline, unused)) void
store_slot(void *volatile *slot, uintptr_t h)
{
	*slot = h ? unhide(h) : NULL;
}

/* The hidden value of what *@slot holds. */
static __attribute__((noinline, unused)) uintptr_t
load_slot(void *volatile *slot)
{
	return hide(*slot);
}

/* Is the hidden @h the start of an allocated object? */
static __attribute__((noinline, unused)) bool is_allocated(uintptr_t h)
{
	void *p = unhide(h);

	return gch_base(p) == p;
}

#endif /* _GCHEAP_SELFTESTS_HIDDEN_PTR_H */
