// SPDX-License-Identifier: GPL-2.0
/*
 * libgcheap_gc_dlobj.so: a shared object that gcheap_gc_test dlopen()s
 * after its heap is in use.  Its data and bss must be roots from then on:
 * pointers stored here (and nowhere else) keep their objects alive.
 */
#include <stddef.h>

#define DLOBJ_BIG_WORDS	(128 * 1024)	/* 1 MiB of bss */

static void *volatile dlobj_bss;			/* .bss */
static void *volatile dlobj_data = (void *)&dlobj_data;	/* .data */
static void *volatile dlobj_big[DLOBJ_BIG_WORDS];	/* .bss, 1 MiB */

void gcheap_dlobj_set(int which, void *p);
void *gcheap_dlobj_get(int which);

/*
 * gcheap_dlobj_set() - store @p in root @which: 0 a bss word, 1 a data
 * word, 2 the last word of a 1 MiB bss array.
 */
void gcheap_dlobj_set(int which, void *p)
{
	switch (which) {
	case 0:
		dlobj_bss = p;
		break;
	case 1:
		dlobj_data = p;
		break;
	default:
		dlobj_big[DLOBJ_BIG_WORDS - 1] = p;
		break;
	}
}

/* gcheap_dlobj_get() - what root @which holds. */
void *gcheap_dlobj_get(int which)
{
	switch (which) {
	case 0:
		return dlobj_bss;
	case 1:
		return dlobj_data;
	default:
		return dlobj_big[DLOBJ_BIG_WORDS - 1];
	}
}
