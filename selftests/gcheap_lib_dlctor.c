// SPDX-License-Identifier: GPL-2.0
/*
 * libgcheap_lib_dlctor.so: gcheap_lib_test dlopen()s and dlclose()s copies
 * of it while other threads collect.  Its constructor stores a checksummed
 * gch_malloc()ed object in its .bss, the object's only reference: the
 * library must be a root from the moment its constructor ran.
 */
#include <stdint.h>

#include "gcheap.h"

#define DLCTOR_WORDS	8
#define DLCTOR_KEY	0xc3a5e1f00f1e5a3cULL	/* top bit set: no pointer */

static void *volatile dlctor_obj;	/* .bss */

int gcheap_dlctor_check(void);

static uint64_t dlctor_word(uintptr_t p, unsigned int i)
{
	return ((p * 0x9e3779b97f4a7c15ULL) ^ (i * 0xbf58476d1ce4e5b9ULL)) |
	       (1ULL << 63);
}

static __attribute__((constructor)) void dlctor_init(void)
{
	uint64_t *p = gch_malloc(DLCTOR_WORDS * sizeof(uint64_t));
	unsigned int i;

	if (!p)
		return;
	p[0] = (uintptr_t)p ^ DLCTOR_KEY;
	for (i = 1; i < DLCTOR_WORDS; i++)
		p[i] = dlctor_word((uintptr_t)p, i);
	dlctor_obj = p;
}

/*
 * gcheap_dlctor_check() - 0 if the constructor's object is intact and
 * allocated, -1 if the constructor got none, 1 freed, 2 overwritten.
 */
int gcheap_dlctor_check(void)
{
	uint64_t *p = dlctor_obj;
	unsigned int i;

	if (!p)
		return -1;
	if (gch_base(p) != p)
		return 1;
	if (p[0] != ((uintptr_t)p ^ DLCTOR_KEY))
		return 2;
	for (i = 1; i < DLCTOR_WORDS; i++)
		if (p[i] != dlctor_word((uintptr_t)p, i))
			return 2;
	return 0;
}
