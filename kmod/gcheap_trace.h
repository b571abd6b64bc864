/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of a collection, in the order they fire:
 *
 *   gcheap_gc_start -> gcheap_world_stopped -> gcheap_mark_done
 *     -> gcheap_finalize -> (world restarts) -> gcheap_sweep_done
 *     -> gcheap_gc_end
 *
 * or gcheap_gc_abort after gcheap_gc_start when the collection fails.
 * Documentation/tracing.rst lists every field.
 *
 * Every event names the heap's owner (tgid) and heap: parts of a
 * collection run in the gcheap/N worker threads, so the current task says
 * nothing about whose collection it is.  The events after the start take
 * the collection's struct gch_gc_info, whose layout is the uapi's: a BPF
 * program attached with raw_tp (no BTF) reads it with the uapi header.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM gcheap

#if !defined(_GCHEAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _GCHEAP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/gcheap.h>

/* The reason a collection ran, by name in the trace output. */
#define gch_show_reason(r)					\
	__print_symbolic(r, { GCH_GC_REASON_USER, "user" },	\
			 { GCH_GC_REASON_GOAL, "goal" })

TRACE_EVENT(gcheap_gc_start,

	TP_PROTO(pid_t tgid, u64 heap_id, u64 gc, u32 reason, u64 heap_live,
		 u64 heap_goal),

	TP_ARGS(tgid, heap_id, gc, reason, heap_live, heap_goal),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u32, reason)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, heap_live)
		__field(u64, heap_goal)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->reason = reason;
		__entry->heap_id = heap_id;
		__entry->gc = gc;
		__entry->heap_live = heap_live;
		__entry->heap_goal = heap_goal;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu reason=%s heap_live=%llu heap_goal=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  gch_show_reason(__entry->reason), __entry->heap_live,
		  __entry->heap_goal)
);

TRACE_EVENT(gcheap_world_stopped,

	TP_PROTO(pid_t tgid, u64 heap_id, const struct gch_gc_info *gi),

	TP_ARGS(tgid, heap_id, gi),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u32, threads)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, stop_ns)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->threads = gi->threads;
		__entry->heap_id = heap_id;
		__entry->gc = gi->gc_number;
		__entry->stop_ns = gi->stw_ns;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu threads=%u stop_ns=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->threads, __entry->stop_ns)
);

TRACE_EVENT(gcheap_mark_done,

	TP_PROTO(pid_t tgid, u64 heap_id, const struct gch_gc_info *gi,
		 u64 bytes_marked),

	TP_ARGS(tgid, heap_id, gi, bytes_marked),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u32, workers)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, roots_ns)
		__field(u64, mark_ns)
		__field(u64, objects_marked)
		__field(u64, bytes_marked)
		__field(u64, bytes_scanned)
		__field(u64, root_words)
		__field(u64, steals)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->workers = gi->workers;
		__entry->heap_id = heap_id;
		__entry->gc = gi->gc_number;
		__entry->roots_ns = gi->roots_ns;
		__entry->mark_ns = gi->mark_ns;
		__entry->objects_marked = gi->objects_marked;
		__entry->bytes_marked = bytes_marked;
		__entry->bytes_scanned = gi->bytes_scanned;
		__entry->root_words = gi->root_words;
		__entry->steals = gi->steals;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu roots_ns=%llu mark_ns=%llu objects_marked=%llu bytes_marked=%llu bytes_scanned=%llu root_words=%llu workers=%u steals=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->roots_ns, __entry->mark_ns, __entry->objects_marked,
		  __entry->bytes_marked, __entry->bytes_scanned,
		  __entry->root_words, __entry->workers, __entry->steals)
);

TRACE_EVENT(gcheap_sweep_done,

	TP_PROTO(pid_t tgid, u64 heap_id, const struct gch_gc_info *gi,
		 u64 background_ns),

	TP_ARGS(tgid, heap_id, gi, background_ns),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, sweep_ns)
		__field(u64, background_ns)
		__field(u64, objects_freed)
		__field(u64, bytes_freed)
		__field(u64, spans_released)
		__field(u64, pages_released)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->heap_id = heap_id;
		__entry->gc = gi->gc_number;
		__entry->sweep_ns = gi->sweep_ns;
		__entry->background_ns = background_ns;
		__entry->objects_freed = gi->objects_freed;
		__entry->bytes_freed = gi->bytes_freed;
		__entry->spans_released = gi->spans_released;
		__entry->pages_released = gi->pages_released;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu sweep_ns=%llu background_ns=%llu objects_freed=%llu bytes_freed=%llu spans_released=%llu pages_released=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->sweep_ns, __entry->background_ns,
		  __entry->objects_freed, __entry->bytes_freed,
		  __entry->spans_released, __entry->pages_released)
);

TRACE_EVENT(gcheap_finalize,

	TP_PROTO(pid_t tgid, u64 heap_id, u64 gc, u64 queued, u64 waiting,
		 u64 weak_cleared, u64 weak_dropped, u64 finalize_ns),

	TP_ARGS(tgid, heap_id, gc, queued, waiting, weak_cleared, weak_dropped,
		finalize_ns),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, queued)
		__field(u64, waiting)
		__field(u64, weak_cleared)
		__field(u64, weak_dropped)
		__field(u64, finalize_ns)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->heap_id = heap_id;
		__entry->gc = gc;
		__entry->queued = queued;
		__entry->waiting = waiting;
		__entry->weak_cleared = weak_cleared;
		__entry->weak_dropped = weak_dropped;
		__entry->finalize_ns = finalize_ns;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu queued=%llu waiting=%llu weak_cleared=%llu weak_dropped=%llu finalize_ns=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->queued, __entry->waiting, __entry->weak_cleared,
		  __entry->weak_dropped, __entry->finalize_ns)
);

/*
 * A mark beside the program (concurrent_mark=1), at its end: the first
 * pause, the marking while the program ran, the pre-cleaning rounds, the
 * heap pages written since their last scan that the final stop scanned
 * again, and the final pause.
 */
TRACE_EVENT(gcheap_concurrent_mark,

	TP_PROTO(pid_t tgid, u64 heap_id, u64 gc, u64 initial_ns,
		 u64 concurrent_ns, u32 precleans, u64 dirty_pages,
		 u64 final_ns),

	TP_ARGS(tgid, heap_id, gc, initial_ns, concurrent_ns, precleans,
		dirty_pages, final_ns),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, initial_ns)
		__field(u64, concurrent_ns)
		__field(u32, precleans)
		__field(u64, dirty_pages)
		__field(u64, final_ns)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->heap_id = heap_id;
		__entry->gc = gc;
		__entry->initial_ns = initial_ns;
		__entry->concurrent_ns = concurrent_ns;
		__entry->precleans = precleans;
		__entry->dirty_pages = dirty_pages;
		__entry->final_ns = final_ns;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu initial_ns=%llu concurrent_ns=%llu precleans=%u dirty_pages=%llu final_ns=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->initial_ns, __entry->concurrent_ns,
		  __entry->precleans, __entry->dirty_pages, __entry->final_ns)
);

TRACE_EVENT(gcheap_gc_end,

	TP_PROTO(pid_t tgid, u64 heap_id, const struct gch_gc_info *gi),

	TP_ARGS(tgid, heap_id, gi),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(u32, reason)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u32, threads)
		__field(u32, workers)
		__field(u64, pause_ns)
		__field(u64, stop_ns)
		__field(u64, roots_ns)
		__field(u64, mark_ns)
		__field(u64, sweep_ns)
		__field(u64, heap_before)
		__field(u64, heap_after)
		__field(u64, heap_goal)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->reason = gi->reason;
		__entry->heap_id = heap_id;
		__entry->gc = gi->gc_number;
		__entry->threads = gi->threads;
		__entry->workers = gi->workers;
		__entry->pause_ns = gi->pause_ns;
		__entry->stop_ns = gi->stw_ns;
		__entry->roots_ns = gi->roots_ns;
		__entry->mark_ns = gi->mark_ns;
		__entry->sweep_ns = gi->sweep_ns;
		__entry->heap_before = gi->heap_before;
		__entry->heap_after = gi->heap_after;
		__entry->heap_goal = gi->heap_goal;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu reason=%s threads=%u workers=%u pause_ns=%llu stop_ns=%llu roots_ns=%llu mark_ns=%llu sweep_ns=%llu heap_before=%llu heap_after=%llu heap_goal=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  gch_show_reason(__entry->reason), __entry->threads,
		  __entry->workers, __entry->pause_ns, __entry->stop_ns,
		  __entry->roots_ns, __entry->mark_ns, __entry->sweep_ns,
		  __entry->heap_before, __entry->heap_after,
		  __entry->heap_goal)
);

TRACE_EVENT(gcheap_gc_abort,

	TP_PROTO(pid_t tgid, u64 heap_id, u64 gc, int error, u64 elapsed_ns),

	TP_ARGS(tgid, heap_id, gc, error, elapsed_ns),

	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(int, error)
		__field(u64, heap_id)
		__field(u64, gc)
		__field(u64, elapsed_ns)
	),

	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->error = error;
		__entry->heap_id = heap_id;
		__entry->gc = gc;
		__entry->elapsed_ns = elapsed_ns;
	),

	TP_printk("tgid=%d heap=%llu gc=%llu error=%d elapsed_ns=%llu",
		  __entry->tgid, __entry->heap_id, __entry->gc,
		  __entry->error, __entry->elapsed_ns)
);

#endif /* _GCHEAP_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE gcheap_trace
#include <trace/define_trace.h>
