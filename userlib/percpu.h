/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The allocation fast path: pop one object from this CPU's cache inside
 * an rseq critical section (x86-64).
 *
 * The rseq area is glibc's registration for the calling thread, at the
 * thread pointer plus __rseq_offset; the library never registers its own.
 * The critical section is modelled on the kernel's
 * tools/testing/selftests/rseq/rseq-x86.h:
 *
 *   - a struct rseq_cs descriptor (32-byte aligned, in section __rseq_cs)
 *     gives start_ip (1:), post_commit_offset (2: - 1:) and abort_ip (4:);
 *   - storing its address to rseq->rseq_cs arms the critical section;
 *   - rseq->cpu_id is compared with the CPU the caller read from
 *     cpu_id_start and chose the cache by; a mismatch aborts;
 *   - count is loaded; 0 (or, from a scribbled cache, a value above the
 *     capacity) leaves through the "empty" label, so that the refill
 *     ioctl repairs the cache;
 *   - slots[count - 1] is loaded and stored to the caller's variable (a
 *     store to the thread's own memory, harmless if repeated);
 *   - ONE store of count - 1 to the cache commits.
 *
 * Preemption, migration or a signal between 1: and 2: makes the kernel
 * restart the thread at 4:, in section __rseq_failure, preceded by the
 * signature glibc registered (RSEQ_SIG, as the operand of a "ud1"
 * instruction 0f b9 3d so disassemblers stay in sync); it jumps to the
 * "abort" label and the caller retries.  The kernel's refill writes a
 * CPU's cache with preemption disabled on that CPU, so a critical section
 * sees a cache before or after a refill, never half of one.
 */
#ifndef GCHEAP_LIB_PERCPU_H
#define GCHEAP_LIB_PERCPU_H

#include <sys/rseq.h>

#include "internal.h"

#define GCH_STR_1(x)	#x
#define GCH_STR(x)	GCH_STR_1(x)

/* struct rseq (glibc's registration) of the calling thread. */
static inline struct rseq *gch_rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() +
			       __rseq_offset);
}

/* The CPU the thread runs on, as far as it may index per-CPU data. */
static inline u32 gch_rseq_cpu(void)
{
	return __atomic_load_n(&gch_rseq_area()->cpu_id_start,
			       __ATOMIC_RELAXED);
}

/* This CPU's cache of @spanclass; @cpu < gch_lib.nr_cpus. */
static inline struct gch_cache *gch_percpu_cache(u32 cpu,
						 unsigned int spanclass)
{
	return (struct gch_cache *)(gch_lib.control +
				    (size_t)cpu * gch_lib.cpu_stride +
				    gch_lib.layout.offset[spanclass]);
}

enum { GCH_POP_OK = 0, GCH_POP_EMPTY = 1, GCH_POP_ABORT = -1 };

/**
 * gch_percpu_pop() - take the last object of a CPU's cache
 * @c:   the cache of CPU @cpu.
 * @cap: its capacity.
 * @cpu: the CPU read from rseq->cpu_id_start and @c chosen by.
 * @obj: out: the object, on GCH_POP_OK.
 *
 * Return: GCH_POP_OK, GCH_POP_EMPTY (count 0 or out of range) or
 * GCH_POP_ABORT (the critical section was aborted: retry).
 */
static inline __attribute__((always_inline)) int
gch_percpu_pop(struct gch_cache *c, u32 cap, u32 cpu, u64 *obj)
{
	__asm__ __volatile__ goto (
		/* the descriptor: version 0, flags 0, start, length, abort */
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0x0, 0x0\n\t"
		".quad 1f, (2f - 1f), 4f\n\t"
		".popsection\n\t"
		".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"
		".quad 3b\n\t"
		".popsection\n\t"
		".pushsection __rseq_exit_point_array, \"aw\"\n\t"
		".quad 1f, %l[empty]\n\t"
		".popsection\n\t"
		/* arm: rseq->rseq_cs = &descriptor */
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, %%fs:8(%[rseq_off])\n\t"
		"1:\n\t"
		/* still on the CPU whose cache this is? */
		"cmpl %[cpu], %%fs:4(%[rseq_off])\n\t"
		"jnz 4f\n\t"
		/* eax = count - 1; count 0 or > cap is "empty" */
		"movl (%[cache]), %%eax\n\t"
		"subl $1, %%eax\n\t"
		"cmpl %[cap], %%eax\n\t"
		"jae %l[empty]\n\t"
		"movq 8(%[cache], %%rax, 8), %%rcx\n\t"
		"movq %%rcx, %[obj]\n\t"
		/* commit: one store */
		"movl %%eax, (%[cache])\n\t"
		"2:\n\t"
		".pushsection __rseq_failure, \"ax\"\n\t"
		".byte 0x0f, 0xb9, 0x3d\n\t"
		".long " GCH_STR(RSEQ_SIG) "\n\t"
		"4:\n\t"
		"jmp %l[abort]\n\t"
		".popsection\n\t"
		: /* asm goto: no outputs */
		: [rseq_off]	"r" (__rseq_offset),
		  [cpu]		"r" (cpu),
		  [cache]	"r" (c),
		  [cap]		"r" (cap),
		  [obj]		"m" (*obj)
		: "memory", "cc", "rax", "rcx"
		: abort, empty);
	return GCH_POP_OK;
abort:
	return GCH_POP_ABORT;
empty:
	return GCH_POP_EMPTY;
}

#endif /* GCHEAP_LIB_PERCPU_H */
