// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The library's copy of the size-class table, built by the same core code
 * as the module's (kmod/core/sizeclass.c) the first time it is needed.
 */
#include <pthread.h>

#include "internal.h"

static struct gch_sizeclass_table gch_lib_classes;
static pthread_once_t gch_lib_classes_once = PTHREAD_ONCE_INIT;

static void gch_lib_classes_init(void)
{
	/* Only fails if GCH_MAX_SIZE_CLASSES is too small: a build bug. */
	if (gch_sizeclass_init(&gch_lib_classes))
		gch_lib_classes.nr_classes = 0;
}

const struct gch_sizeclass_table *gch_lib_size_classes(void)
{
	pthread_once(&gch_lib_classes_once, gch_lib_classes_init);
	return &gch_lib_classes;
}
