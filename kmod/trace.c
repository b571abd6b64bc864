// SPDX-License-Identifier: GPL-2.0
/*
 * The module's tracepoints (gcheap_trace.h), instantiated once.  The
 * header finds itself through TRACE_INCLUDE_PATH "." and the -I of
 * kmod/ in Kbuild.
 */
#define CREATE_TRACE_POINTS
#include "gcheap_trace.h"
