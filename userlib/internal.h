/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libgcheap internals shared between its files. */
#ifndef GCHEAP_LIB_INTERNAL_H
#define GCHEAP_LIB_INTERNAL_H

#include "core/sizeclass.h"

/* Exported symbols; everything else is hidden (see libgcheap.map). */
#define GCH_API __attribute__((visibility("default")))

int gch_dev_open(void);
const struct gch_sizeclass_table *gch_lib_size_classes(void);

#endif /* GCHEAP_LIB_INTERNAL_H */
