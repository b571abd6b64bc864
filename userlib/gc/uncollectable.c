// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: uncollectable objects.
 *
 * An uncollectable object is an ordinary gcheap object whose address sits
 * in this table until GC_free().  The table is itself a scanned gcheap
 * object, referenced from this library's data, which every collection
 * scans: so the objects stay alive and what they point to too (atomic ones
 * are simply not scanned).  Open addressing, linear probing.
 */
#include <pthread.h>
#include <stdint.h>

#include "gcheap.h"
#include "gc_internal.h"

#define GCS_UNC_TOMB	((void *)1)

static pthread_mutex_t gcs_unc_lock = PTHREAD_MUTEX_INITIALIZER;
static void **gcs_unc_tab;		/* a root: in this library's bss */
static size_t gcs_unc_cap, gcs_unc_used, gcs_unc_live;

static size_t gcs_unc_hash(const void *p)
{
	uint64_t h = (uintptr_t)p >> 4;

	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17);
}

static void **gcs_unc_slot(void **tab, size_t cap, const void *p, int insert)
{
	size_t i = gcs_unc_hash(p) & (cap - 1);
	void **tomb = NULL;

	for (;; i = (i + 1) & (cap - 1)) {
		if (tab[i] == p)
			return &tab[i];
		if (tab[i] == GCS_UNC_TOMB) {
			if (!tomb)
				tomb = &tab[i];
			continue;
		}
		if (!tab[i])
			return insert ? (tomb ? tomb : &tab[i]) : NULL;
	}
}

static int gcs_unc_grow(void)
{
	size_t cap = gcs_unc_cap ? gcs_unc_cap * 2 : 256, i;
	void **tab, **old = gcs_unc_tab;

	if (gcs_unc_live * 4 < gcs_unc_cap)
		cap = gcs_unc_cap;	/* mostly tombstones: rehash in place */
	tab = gch_malloc(cap * sizeof(void *));
	if (!tab)
		return -1;
	for (i = 0; i < gcs_unc_cap; i++)
		if (old[i] && old[i] != GCS_UNC_TOMB)
			*gcs_unc_slot(tab, cap, old[i], 1) = old[i];
	/* store the new table before the old one goes: always one is a root */
	__atomic_store_n(&gcs_unc_tab, tab, __ATOMIC_RELEASE);
	gcs_unc_cap = cap;
	gcs_unc_used = gcs_unc_live;
	if (old)
		gch_free(old);
	return 0;
}

/* Keep @p alive until gcs_unc_del(). */
int gcs_unc_add(void *p)
{
	void **slot;
	int err = 0;

	pthread_mutex_lock(&gcs_unc_lock);
	if ((gcs_unc_used + 1) * 4 > gcs_unc_cap * 3)
		err = gcs_unc_grow();
	if (!err) {
		slot = gcs_unc_slot(gcs_unc_tab, gcs_unc_cap, p, 1);
		if (*slot != p) {
			if (!*slot)
				gcs_unc_used++;
			*slot = p;
			gcs_unc_live++;
			GC_non_gc_bytes += gch_size(p);
		}
	}
	pthread_mutex_unlock(&gcs_unc_lock);
	return err;
}

/* Forget @p if it is uncollectable; 1 if it was. */
int gcs_unc_del(void *p)
{
	void **slot;

	if (!__atomic_load_n(&gcs_unc_live, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&gcs_unc_lock);
	slot = gcs_unc_tab ? gcs_unc_slot(gcs_unc_tab, gcs_unc_cap, p, 0) : NULL;
	if (slot) {
		*slot = GCS_UNC_TOMB;
		gcs_unc_live--;
		GC_non_gc_bytes -= gch_size(p);
	}
	pthread_mutex_unlock(&gcs_unc_lock);
	return slot != NULL;
}

/*
 * GC_realloc() of an uncollectable object: the table's lock is held from
 * before gch_realloc() frees the old object until its entry is gone, so
 * an object another thread allocates at the old address meanwhile is not
 * taken for it.  The old entry's place guarantees room for the new one.
 */
void *gcs_unc_realloc(void *p, size_t size)
{
	void **slot, *q;
	size_t old;

	pthread_mutex_lock(&gcs_unc_lock);
	old = gch_size(p);
	q = gch_realloc(p, size);
	if (q && q != p) {
		slot = gcs_unc_slot(gcs_unc_tab, gcs_unc_cap, p, 0);
		if (slot)
			*slot = GCS_UNC_TOMB;
		slot = gcs_unc_slot(gcs_unc_tab, gcs_unc_cap, q, 1);
		if (!*slot)
			gcs_unc_used++;
		*slot = q;
		GC_non_gc_bytes += gch_size(q) - old;
	}
	pthread_mutex_unlock(&gcs_unc_lock);
	return q;
}

int gcs_unc_has(const void *p)
{
	int has;

	if (!__atomic_load_n(&gcs_unc_live, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&gcs_unc_lock);
	has = gcs_unc_tab && gcs_unc_slot(gcs_unc_tab, gcs_unc_cap, p, 0);
	pthread_mutex_unlock(&gcs_unc_lock);
	return has;
}
