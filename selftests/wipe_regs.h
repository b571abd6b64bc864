/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wipe_regs(): before a test expects an object to be collected, no stale
 * copy of its address may sit in a scratch register, general or SSE, which
 * the collector scans as roots.  Shared by hidden_ptr.h and the drop-in
 * libgc tests (gc_compat/gc_compat.h), which must not include gcheap.h.
 */
#ifndef _GCHEAP_SELFTESTS_WIPE_REGS_H
#define _GCHEAP_SELFTESTS_WIPE_REGS_H

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

#endif /* _GCHEAP_SELFTESTS_WIPE_REGS_H */
