// SPDX-License-Identifier: GPL-2.0
/*
 * A thread's vector registers, as roots.
 *
 * A thread stopped anywhere in user code may hold the only copy of a
 * pointer in an SSE, AVX or AVX-512 register: a 16- or 32-byte struct
 * copy, memcpy() or memmove() of an array of pointers load a block into
 * a vector register and store it later.  task_pt_regs() has the general
 * registers only, so the collector also takes the whole saved FPU/vector
 * state (the XSAVE image: legacy area, then every enabled component) and
 * scans it conservatively, as bdwgc does by scanning the signal frame its
 * suspend handler runs on.
 *
 * Where the user state is:
 *  - a thread in its own context in the kernel (parking, or the collector
 *    in its ioctl): either still live in the registers or, if the kernel
 *    already switched away from it (TIF_NEED_FPU_LOAD), in
 *    thread.fpu.fpstate.  kernel_fpu_begin_mask() saves it there in the
 *    first case and does nothing in the second, so afterwards the buffer
 *    holds it either way; it is restored on the way back to user mode.
 *  - a thread that is off CPU (stopped by a signal or a tracer, or asleep
 *    in a system call with its park queued): saved in thread.fpu.fpstate
 *    by the context switch, and left there until it returns to user mode,
 *    which it does only after parking.
 *
 * Components in their initial state are not written by XSAVE: the buffer
 * then holds older values, which can only keep more objects alive.
 */
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#ifdef CONFIG_X86_64
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/processor.h>
#endif

#include "internal.h"

/* Largest image taken (AMX tiles make it about 11 KiB today). */
#define GCH_XSTATE_MAX		(64U << 10)

#ifdef CONFIG_X86_64
/* Bytes of @task's saved state worth copying: whole words, capped. */
static unsigned int gch_xstate_bytes(struct task_struct *task)
{
	return min(task->thread.fpu.fpstate->size, GCH_XSTATE_MAX) &
	       ~(unsigned int)(sizeof(u64) - 1);
}

/* Make room for @bytes in @xs, keeping what fits. */
static int gch_xstate_reserve(struct gch_xstate *xs, unsigned int bytes)
{
	u64 *words;

	if (xs->words && xs->cap >= bytes / sizeof(u64))
		return 0;
	words = gch_gc_alloc(1, bytes);
	if (!words)
		return -ENOMEM;
	kvfree(xs->words);
	xs->words = words;
	xs->cap = bytes / sizeof(u64);
	return 0;
}

/**
 * gch_xstate_save_current() - copy the calling thread's user FPU state
 * @xs: where; its buffer is (re)allocated as needed.
 *
 * Called in the thread's own context, in the kernel, preemptible.
 *
 * Return: 0, or -ENOMEM (then @xs holds nothing).
 */
int gch_xstate_save_current(struct gch_xstate *xs)
{
	unsigned int bytes = gch_xstate_bytes(current);

	xs->n = 0;
	if (gch_xstate_reserve(xs, bytes))
		return -ENOMEM;
	/* saves the live user state into fpstate, or finds it saved */
	kernel_fpu_begin_mask(0);
	bytes = min(gch_xstate_bytes(current),
		    (unsigned int)(xs->cap * sizeof(u64)));
	memcpy(xs->words, &current->thread.fpu.fpstate->regs, bytes);
	kernel_fpu_end();
	xs->n = bytes / sizeof(u64);
	return 0;
}

/**
 * gch_xstate_reserve_task() - make room for a copy of @task's FPU state
 * @task: a thread of the process.
 * @xs:   where the copy will go.
 *
 * For gch_xstate_copy_held(), which cannot allocate.  May sleep.
 *
 * Return: 0 or -ENOMEM.
 */
int gch_xstate_reserve_task(struct task_struct *task, struct gch_xstate *xs)
{
	xs->n = 0;
	return gch_xstate_reserve(xs, gch_xstate_bytes(task));
}

/**
 * gch_xstate_copy_held() - copy the user FPU state of a thread off CPU
 * @task: off CPU (on_cpu clear: the context switch finished saving its
 *        state) and kept from returning to user mode (stopped by a signal
 *        or tracer, or asleep in the kernel with a park queued).
 * @xs:   reserved with gch_xstate_reserve_task(); as much as fits is
 *        copied.
 *
 * Allocates nothing: callable under a spinlock.
 */
void gch_xstate_copy_held(struct task_struct *task, struct gch_xstate *xs)
{
	unsigned int bytes = min(gch_xstate_bytes(task),
				 (unsigned int)(xs->cap * sizeof(u64)));

	memcpy(xs->words, &task->thread.fpu.fpstate->regs, bytes);
	xs->n = bytes / sizeof(u64);
}

/**
 * gch_xstate_copy_stopped() - copy the user FPU state of a thread off CPU
 * @task: as for gch_xstate_copy_held().
 * @xs:   where.
 *
 * Return: 0 or -ENOMEM.
 */
int gch_xstate_copy_stopped(struct task_struct *task, struct gch_xstate *xs)
{
	if (gch_xstate_reserve_task(task, xs))
		return -ENOMEM;
	gch_xstate_copy_held(task, xs);
	return 0;
}

/**
 * gch_xstate_dup() - copy a copy
 * @dst: where; its buffer is (re)allocated as needed.
 * @src: a copy made by one of the functions above.
 *
 * Return: 0 or -ENOMEM.
 */
int gch_xstate_dup(struct gch_xstate *dst, const struct gch_xstate *src)
{
	dst->n = 0;
	if (src->n && gch_xstate_reserve(dst, src->n * sizeof(u64)))
		return -ENOMEM;
	if (src->n)
		memcpy(dst->words, src->words, src->n * sizeof(u64));
	dst->n = src->n;
	return 0;
}
#else
int gch_xstate_save_current(struct gch_xstate *xs)
{
	xs->n = 0;
	return 0;
}

int gch_xstate_dup(struct gch_xstate *dst, const struct gch_xstate *src)
{
	dst->n = 0;
	return 0;
}

int gch_xstate_reserve_task(struct task_struct *task, struct gch_xstate *xs)
{
	xs->n = 0;
	return 0;
}

void gch_xstate_copy_held(struct task_struct *task, struct gch_xstate *xs)
{
	xs->n = 0;
}

int gch_xstate_copy_stopped(struct task_struct *task, struct gch_xstate *xs)
{
	xs->n = 0;
	return 0;
}
#endif

/**
 * gch_xstate_free() - free a copy
 * @xs: the copy; empty afterwards.
 */
void gch_xstate_free(struct gch_xstate *xs)
{
	kvfree(xs->words);
	xs->words = NULL;
	xs->n = 0;
	xs->cap = 0;
}
