// SPDX-License-Identifier: GPL-2.0
/*
 * alloc_order.so: GC_malloc(), GC_malloc_atomic() and GC_strdup() for
 * LD_PRELOAD, with no collector: objects are cut from one region in
 * address order, upward, or downward with ALLOC_ORDER_DOWN=1.  Memory is
 * never freed (the programs it serves are short).
 *
 * The real-program layer (selftests/realprogs/run-in-vm.sh) runs a query
 * of debfoster's under both orders: if the answers differ, that query
 * depends on where the allocator puts objects relative to each other,
 * which no two allocators need agree on, and its output is not compared
 * between libgc1 and the drop-in.  Each object gets bdwgc's extra byte
 * and 16-byte alignment, as from libgc1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define REGION_BYTES	(1UL << 30)

static char *lo, *hi, *cur;
static int down;

static void *take(size_t n)
{
	if (!lo) {
		lo = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (lo == MAP_FAILED)
			abort();
		hi = lo + REGION_BYTES;
		down = getenv("ALLOC_ORDER_DOWN") != NULL;
		cur = down ? hi : lo;
	}
	if (n > REGION_BYTES / 2)
		return NULL;
	n = (n + 1 + 15) & ~(size_t)15;
	if ((size_t)(hi - lo) - (down ? (size_t)(hi - cur) : (size_t)(cur - lo)) < n)
		return NULL;
	if (down)
		return cur -= n;
	cur += n;
	return cur - n;
}

void *GC_malloc(size_t n)
{
	return take(n);
}

void *GC_malloc_atomic(size_t n)
{
	return take(n);
}

char *GC_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = take(n);

	return p ? memcpy(p, s, n) : NULL;
}
