// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap-info: is gcheap.ko loaded, and what does it speak?
 *
 * Exit status 0 when the module answers and agrees with libgcheap,
 * 1 otherwise (with the reason on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/gcheap.h>

#include "gcheap.h"

int main(void)
{
	struct gch_abi_info info;
	int err = gch_abi_info(&info);

	if (err && errno != EPROTO) {
		fprintf(stderr, "gcheap-info: %s\n", strerror(errno));
		return 1;
	}
	printf("gcheap module: ABI %u.%u, features 0x%llx\n",
	       info.abi_major, info.abi_minor,
	       (unsigned long long)info.features);
	printf("heap page: %u bytes; %u size classes up to %u bytes (table v%u)\n",
	       info.page_size, info.nr_size_classes, info.max_small_size,
	       info.sizeclass_version);
	if (err) {
		fprintf(stderr,
			"gcheap-info: module and libgcheap disagree (library: ABI %u.%u, table v%u): rebuild one of them\n",
			GCH_ABI_MAJOR, GCH_ABI_MINOR, GCH_SIZECLASS_VERSION);
		return 1;
	}
	printf("libgcheap agrees: ABI %u.%u\n", GCH_ABI_MAJOR, GCH_ABI_MINOR);
	return 0;
}
