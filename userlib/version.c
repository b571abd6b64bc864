// SPDX-License-Identifier: LGPL-2.1-or-later
/* gch_abi_info(): what the module speaks, and whether we agree with it. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "internal.h"

GCH_API int gch_abi_info(struct gch_abi_info *info)
{
	const struct gch_sizeclass_table *classes = gch_lib_size_classes();
	struct gch_version v;
	int fd, err;

	fd = gch_dev_open();
	if (fd < 0)
		return -1;
	memset(&v, 0, sizeof(v));
	v.hdr.size = sizeof(v);
	err = ioctl(fd, GCH_IOC_VERSION, &v);
	if (err) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	close(fd);

	info->abi_major = v.abi_major;
	info->abi_minor = v.abi_minor;
	info->features = v.features;
	info->page_size = 1U << v.page_shift;
	info->max_small_size = v.max_small_size;
	info->nr_size_classes = v.nr_size_classes;
	info->sizeclass_version = v.sizeclass_version;

	if (v.abi_major != GCH_ABI_MAJOR ||
	    v.sizeclass_version != GCH_SIZECLASS_VERSION ||
	    v.nr_size_classes != classes->nr_classes ||
	    v.page_shift != GCH_PAGE_SHIFT) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}
