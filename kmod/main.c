// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap.ko: a garbage-collected heap for user processes.
 *
 * Module load and unload, and the module parameters (documented in
 * Documentation/design.rst, "Module parameters").
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#include "internal.h"

unsigned int gch_max_heaps = 1024;
module_param_named(max_heaps, gch_max_heaps, uint, 0644);
MODULE_PARM_DESC(max_heaps,
		 "Most heaps (open files of /dev/gcheap) at once, system-wide; open() beyond it fails with ENFILE (default 1024)");

unsigned int gch_max_heaps_per_user = 256;
module_param_named(max_heaps_per_user, gch_max_heaps_per_user, uint, 0644);
MODULE_PARM_DESC(max_heaps_per_user,
		 "Most heaps one user (uid) may have open at once; open() beyond it fails with EMFILE (default 256)");

unsigned long gch_default_arena_size = 4UL << 30;
module_param_named(default_arena_size, gch_default_arena_size, ulong, 0644);
MODULE_PARM_DESC(default_arena_size,
		 "Arena (address space) of a heap unless GCH_IOC_CONFIGURE sets one, in bytes (default 4 GiB)");

unsigned long gch_max_arena_size = 64UL << 30;
module_param_named(max_arena_size, gch_max_arena_size, ulong, 0644);
MODULE_PARM_DESC(max_arena_size,
		 "Largest arena a heap may configure, in bytes; larger requests fail with ENOMEM (default 64 GiB)");

unsigned int gch_stw_timeout_ms = 5000;
module_param_named(stw_timeout_ms, gch_stw_timeout_ms, uint, 0644);
MODULE_PARM_DESC(stw_timeout_ms,
		 "Longest wait for a process's threads to stop for a collection, in ms; then GCH_IOC_COLLECT fails with ETIMEDOUT (default 5000)");

unsigned long gch_min_heap_goal = 4UL << 20;
module_param_named(min_heap_goal, gch_min_heap_goal, ulong, 0644);
MODULE_PARM_DESC(min_heap_goal,
		 "Smallest heap goal in bytes: below it no collection is due, whatever the live heap (default 4 MiB)");

unsigned int gch_scavenge_delay_ms = 1000;
module_param_named(scavenge_delay_ms, gch_scavenge_delay_ms, uint, 0644);
MODULE_PARM_DESC(scavenge_delay_ms,
		 "Free heap pages unused for one to two of these periods go back to the system (default 1000)");

unsigned long gch_max_heap_metadata = 1UL << 30;
module_param_named(max_heap_metadata, gch_max_heap_metadata, ulong, 0644);
MODULE_PARM_DESC(max_heap_metadata,
		 "Most kernel memory one heap may use for its bookkeeping (span table, span structs, bitmaps, page lists, root ranges, history, mark work buffers), in bytes; allocations beyond it fail with ENOMEM; 0: no limit (default 1 GiB)");

unsigned long gch_max_root_bytes = 4UL << 30;
module_param_named(max_root_bytes, gch_max_root_bytes, ulong, 0644);
MODULE_PARM_DESC(max_root_bytes,
		 "Most bytes of user memory (stacks, TLS, data, bss, registered ranges) one collection reads for roots; beyond it GCH_IOC_COLLECT fails with E2BIG (default 4 GiB)");

bool gch_concurrent_mark;
module_param_named(concurrent_mark, gch_concurrent_mark, bool, 0644);
MODULE_PARM_DESC(concurrent_mark,
		 "Mark beside the program: stop it only to take the roots and for the last dirty pages (default 0: the whole mark with the world stopped)");

bool gch_cmark_wp = true;
module_param_named(cmark_wp, gch_cmark_wp, bool, 0644);
MODULE_PARM_DESC(cmark_wp,
		 "For arenas mapped while it is on, by a heap that marks beside the program: write-protect the arena for the mark's last round, so the final stop reads a bitmap of the pages written since instead of every page-table entry (default 1)");

static unsigned int gch_nr_workers;
module_param_named(workers, gch_nr_workers, uint, 0444);
MODULE_PARM_DESC(workers,
		 "Collector worker threads (gcheap/N), shared by all heaps; 0 for one per online CPU (default 0, at most 64)");

struct gch_sizeclass_table gch_size_classes;
struct gch_cache_layout gch_cache_layout;

static int __init gch_init(void)
{
	int err;

	err = gch_sizeclass_init(&gch_size_classes);
	if (err)
		return err;
	gch_cache_layout_init(&gch_cache_layout, &gch_size_classes);
	err = gch_pool_init(gch_nr_workers);
	if (err) {
		pr_err("gcheap: cannot start %u worker threads: %d\n",
		       gch_nr_workers, err);
		return err;
	}
	err = gch_dev_register();
	if (err) {
		gch_pool_exit();
		return err;
	}
	pr_info("gcheap: ABI %u.%u, %u size classes, %u workers, /dev/gcheap ready\n",
		GCH_ABI_MAJOR, GCH_ABI_MINOR, gch_size_classes.nr_classes,
		gch_pool_size());
	return 0;
}

static void __exit gch_exit(void)
{
	gch_dev_unregister();
	gch_pool_exit();
	pr_info("gcheap: unloaded\n");
}

module_init(gch_init);
module_exit(gch_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The gcheap developers");
MODULE_DESCRIPTION("Garbage-collected heap for user processes, collected in the kernel");
MODULE_VERSION("0.1");
