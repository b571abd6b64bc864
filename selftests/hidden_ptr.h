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

/* Zero the scratch registers (the callee-saved ones hold the caller's). */
#define wipe_regs() asm volatile(					\
	"xorl %%eax, %%eax\n\t" "xorl %%ecx, %%ecx\n\t"			\
	"xorl %%edx, %%edx\n\t" "xorl %%esi, %%esi\n\t"			\
	"xorl %%edi, %%edi\n\t" "xorl %%r8d, %%r8d\n\t"			\
	"xorl %%r9d, %%r9d\n\t" "xorl %%r10d, %%r10d\n\t"		\
	"xorl %%r11d, %%r11d\n\t"					\
	"pxor %%xmm0, %%xmm0\n\t" "pxor %%xmm1, %%xmm1\n\t"		\
	"pxor %%xmm2, %%xmm2\n\t" "pxor %%xmm3, %%xmm3\n\t"		\
	"pxor %%xmm4, %%xmm4\n\t" "pxor %%xmm5, %%xmm5\n\t"		\
	"pxor %%xmm6, %%xmm6\n\t" "pxor %%xmm7, %%xmm7\n\t"		\
	"pxor %%xmm8, %%xmm8\n\t" "pxor %%xmm9, %%xmm9\n\t"		\
	"pxor %%xmm10, %%xmm10\n\t" "pxor %%xmm11, %%xmm11\n\t"		\
	"pxor %%xmm12, %%xmm12\n\t" "pxor %%xmm13, %%xmm13\n\t"		\
	"pxor %%xmm14, %%xmm14\n\t" "pxor %%xmm15, %%xmm15"		\
	::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",	\
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",	\
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",	\
	"xmm15", "cc", "memory")

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
