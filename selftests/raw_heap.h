/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A heap set up with the ioctls alone, without the library: for the tests
 * that need more than one heap in a process, or a heap the library does
 * not manage.
 */
#ifndef _GCHEAP_SELFTESTS_RAW_HEAP_H
#define _GCHEAP_SELFTESTS_RAW_HEAP_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/gcheap.h>

struct raw_heap {
	int fd;
	void *arena;
	size_t arena_size;
	void *control;
	size_t control_size;
};

/*
 * Open, configure (collection off, @workers collector threads, 0 for the
 * pool's) and map a heap with an arena of @arena bytes.  0, or -1 with
 * errno.
 */
static inline int raw_heap_open(struct raw_heap *h, size_t arena,
				unsigned int workers)
{
	struct gch_heap_config cfg = {
		.hdr.size = sizeof(cfg),
		.arena_size = arena,
		.gc_percent = GCH_GC_OFF,
		.workers = workers,
	};

	h->fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (h->fd < 0)
		return -1;
	if (ioctl(h->fd, GCH_IOC_CONFIGURE, &cfg))
		return -1;
	h->arena_size = cfg.arena_size;
	h->control_size = cfg.control_size;
	h->arena = mmap(NULL, h->arena_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, h->fd, GCH_MMAP_ARENA);
	if (h->arena == MAP_FAILED)
		return -1;
	h->control = mmap(NULL, h->control_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, h->fd, GCH_MMAP_CONTROL);
	return h->control == MAP_FAILED ? -1 : 0;
}

#endif /* _GCHEAP_SELFTESTS_RAW_HEAP_H */
