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

#include <linux/build_bug.h>
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>

#else /* hosted: userspace with a C11 compiler */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

#endif /* __KERNEL__ */

#endif /* _GCHEAP_CORE_PORT_H */
