/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcheap.ko internals shared between its files.
 */
#ifndef _GCHEAP_INTERNAL_H
#define _GCHEAP_INTERNAL_H

#include <linux/mm_types.h>
#include <linux/types.h>

#include "core/sizeclass.h"

struct file;

/* Module parameters (main.c). */
extern unsigned int gch_max_heaps;

/* The size classes, built once at module load. */
extern struct gch_sizeclass_table gch_size_classes;

/**
 * struct gch_heap - one garbage-collected heap, the private data of an
 * open file of /dev/gcheap
 * @id:    unique id for tracing and statistics, never reused.
 * @mm:    the address space that opened the device and owns the heap; we
 *         hold mm_count (mmgrab), not mm_users, so a heap never keeps a
 *         dead process's memory alive.
 * @tgid:  the owner's thread-group id, as seen from the initial pid
 *         namespace (what tracing tools see).
 */
struct gch_heap {
	u64 id;
	struct mm_struct *mm;
	pid_t tgid;
};

struct gch_heap *gch_heap_create(void);
void gch_heap_destroy(struct gch_heap *heap);
int gch_heap_check_owner(const struct gch_heap *heap);

long gch_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int gch_dev_register(void);
void gch_dev_unregister(void);

#endif /* _GCHEAP_INTERNAL_H */
