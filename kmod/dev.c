// SPDX-License-Identifier: GPL-2.0
/*
 * The character device /dev/gcheap: each open file is one heap.
 *
 * The file operations have .owner = THIS_MODULE, so every open file holds
 * a module reference and rmmod is refused (-EWOULDBLOCK) while any heap
 * exists, then accepted once the last one is released.
 */
#include <linux/compat.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "internal.h"

static int gch_open(struct inode *inode, struct file *file)
{
	struct gch_heap *heap;

	/*
	 * The mark reads 8-byte words at 8-byte alignment: the 4-byte
	 * pointers of an ia32 or x32 program would be missed, and its objects
	 * freed.  Refused up front rather than collected wrongly.
	 */
	if (in_compat_syscall()) {
		pr_warn_ratelimited("gcheap: 32-bit process %d refused: only 64-bit programs are supported\n",
				    task_tgid_nr(current));
		return -EOPNOTSUPP;
	}
	heap = gch_heap_open();
	if (IS_ERR(heap))
		return PTR_ERR(heap);
	file->private_data = heap;
	/* the heap's mappings live in its own address space (arena.c) */
	file->f_mapping = heap->inode->i_mapping;
	return 0;
}

static int gch_release(struct inode *inode, struct file *file)
{
	gch_heap_release(file->private_data);
	return 0;
}

static const struct file_operations gch_fops = {
	.owner = THIS_MODULE,
	.open = gch_open,
	.release = gch_release,
	.mmap = gch_mmap,
	.unlocked_ioctl = gch_ioctl,
	/* no .compat_ioctl: 32-bit processes cannot open the device */
	.llseek = noop_llseek,
};

static struct miscdevice gch_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gcheap",
	.fops = &gch_fops,
	.mode = 0666,
};

int gch_dev_register(void)
{
	return misc_register(&gch_miscdev);
}

void gch_dev_unregister(void)
{
	misc_deregister(&gch_miscdev);
}
