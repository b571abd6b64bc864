/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one port header of the portable collector core.
 *
 * Everything under kmod/core/ compiles in three places: inside gcheap.ko,
 * in the hosted test build (tools/testing/hosted, ASan/UBSan/TSan) and in
 * libgcheap.  Core files include only this header and the uapi header, so
 * the difference between the kernel and a hosted C library lives here and
 * nowhere else.
 */
#ifndef _GCHEAP_CORE_PORT_H
#define _GCHEAP_CORE_PORT_H

#ifdef __KERNEL__

#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/bug.h>
#include <linux/container_of.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>

/**
 * gch_zalloc() - allocate zeroed memory for the core's bookkeeping
 * @size: bytes, not 0.
 *
 * Every allocation of the core goes through this pair, so that it is
 * charged to the heap owner's memory cgroup (the architecture's contract
 * 4: bounded, accounted metadata) and so that the hosted build can make
 * any one of them fail.  kvzalloc() because span tables of large arenas
 * outgrow what kmalloc() gives reliably.  May sleep.
 *
 * Return: the memory, or NULL.
 */
static inline void *gch_zalloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL_ACCOUNT);
}

/**
 * gch_kvfree() - free memory from gch_zalloc()
 * @ptr: the memory, or NULL.
 */
static inline void gch_kvfree(const void *ptr)
{
	kvfree(ptr);
}

#else /* hosted: userspace with a C11 compiler */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;

#define BUILD_BUG_ON(cond)	((void)sizeof(char[1 - 2 * !!(cond)]))
#ifndef ARRAY_SIZE		/* test harnesses bring their own */
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

/* Like the kernel's: report, then let the caller recover. */
#define WARN_ON(cond) ({						\
	int __gch_warn = !!(cond);					\
	if (unlikely(__gch_warn))					\
		fprintf(stderr, "WARNING: %s:%d: WARN_ON(%s)\n",	\
			__FILE__, __LINE__, #cond);			\
	__gch_warn;							\
})

#define U16_MAX			((u16)~0U)
#define U32_MAX			((u32)~0U)
#define U64_MAX			((u64)~0ULL)

#define BITS_PER_LONG		(__CHAR_BIT__ * __SIZEOF_LONG__)
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define BITS_TO_LONGS(nr)	DIV_ROUND_UP(nr, BITS_PER_LONG)
/* @y a power of two, as in the kernel */
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))

/*
 * min() and max() insist on operands of one type, like the kernel's (the
 * pointer comparison warns otherwise), so hosted -Werror builds catch what
 * a kernel build would.
 */
#define min(x, y) ({						\
	__typeof__(x) __x = (x);					\
	__typeof__(y) __y = (y);					\
	(void)(&__x == &__y);						\
	__x < __y ? __x : __y;						\
})
#define max(x, y) ({						\
	__typeof__(x) __x = (x);					\
	__typeof__(y) __y = (y);					\
	(void)(&__x == &__y);						\
	__x > __y ? __x : __y;						\
})
#define min_t(type, x, y)	min((type)(x), (type)(y))
#define max_t(type, x, y)	max((type)(x), (type)(y))

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

/* The bit operations the core uses, with the kernel's names. */
static inline unsigned long __ffs(unsigned long word)
{
	return __builtin_ctzl(word);	/* undefined for 0, as in the kernel */
}

static inline unsigned int hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

/* Fully ordered, like the kernel's value-returning atomic RMW ops. */
static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	unsigned long mask = 1UL << (nr % BITS_PER_LONG);

	return __atomic_fetch_or(addr + nr / BITS_PER_LONG, mask,
				 __ATOMIC_SEQ_CST) & mask;
}

/*
 * Circular doubly linked lists: the part of <linux/list.h> the core uses,
 * with the same names and semantics (list_del() poisons the entry).
 */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_POISON1		((struct list_head *)0x100)
#define LIST_POISON2		((struct list_head *)0x122)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void __list_add(struct list_head *entry,
			      struct list_head *prev, struct list_head *next)
{
	next->prev = entry;
	entry->next = next;
	entry->prev = prev;
	prev->next = entry;
}

static inline void list_add(struct list_head *entry, struct list_head *head)
{
	__list_add(entry, head, head->next);
}

static inline void list_add_tail(struct list_head *entry,
				 struct list_head *head)
{
	__list_add(entry, head->prev, head);
}

static inline void __list_del_entry(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	entry->prev->next = entry->next;
}

static inline void list_del(struct list_head *entry)
{
	__list_del_entry(entry);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

static inline void list_del_init(struct list_head *entry)
{
	__list_del_entry(entry);
	INIT_LIST_HEAD(entry);
}

static inline void list_move(struct list_head *entry, struct list_head *head)
{
	__list_del_entry(entry);
	list_add(entry, head);
}

static inline void list_move_tail(struct list_head *entry,
				  struct list_head *head)
{
	__list_del_entry(entry);
	list_add_tail(entry, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(ptr, type, member)				\
	list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member)					\
	list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_first_entry(head, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_first_entry(head, __typeof__(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     &pos->member != (head);					\
	     pos = n, n = list_next_entry(n, member))

/*
 * Failure injection for the hosted tests: while gch_hosted_fail_alloc_after
 * is N > 0, each gch_zalloc() counts it down and the one that brings it to
 * 0 (the Nth from when it was set) returns NULL; later ones succeed again.
 * 0 (the default) never fails.  Defined in pageheap.c; the kernel build
 * has no such thing.
 */
extern int gch_hosted_fail_alloc_after;

static inline void *gch_zalloc(size_t size)
{
	if (__atomic_load_n(&gch_hosted_fail_alloc_after, __ATOMIC_RELAXED) > 0 &&
	    __atomic_sub_fetch(&gch_hosted_fail_alloc_after, 1,
			       __ATOMIC_RELAXED) == 0)
		return NULL;
	return calloc(1, size);
}

static inline void gch_kvfree(const void *ptr)
{
	free((void *)ptr);
}

#endif /* __KERNEL__ */

#endif /* _GCHEAP_CORE_PORT_H */
