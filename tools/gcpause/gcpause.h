/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gcpause: what the BPF program (gcpause.bpf.c) and the tool (gcpause.c)
 * share.  Keys and values of the histogram map, and the record of one
 * collection sent through the ring buffer in per-collection mode (-e).
 */
#ifndef GCPAUSE_H
#define GCPAUSE_H

#define GCP_MAX_SLOTS	27	/* log2 buckets: up to 2^27 units */
#define GCP_COMM_LEN	16

/*
 * What a histogram measures: the pause, or one of its phases (-P).  For a
 * collection that marked beside the program (gcheap_concurrent_mark),
 * GCP_MARK is the part of the mark inside its pauses: gc_end's mark_ns
 * less the concurrent_ns.
 */
enum gcp_phase {
	GCP_PAUSE,	/* stop + roots + mark + sweep start: threads stopped */
	GCP_STOP,	/* from the stop request until every thread is parked */
	GCP_ROOTS,	/* gathering the roots */
	GCP_MARK,	/* the parallel mark (inside the pause) */
	GCP_SWEEP,	/* the part of the sweep inside the pause */
	GCP_FINAL,	/* finalizer and weak phases (part of mark) */
	GCP_NR_PHASES,	/* the pause phases: struct gcp_event's phase_ns */
	/* -P, collections with a mark beside the program only */
	GCP_CM_INITIAL = GCP_NR_PHASES,	/* the first pause */
	GCP_CM_CONCURRENT,	/* marking beside the program: not a pause */
	GCP_CM_FINAL,		/* the final pause */
	GCP_NR_HISTS,
};

struct gcp_hist_key {
	__u32 tgid;
	__u32 phase;
};

/*
 * @aux_sum, @aux_max: per collection, GCP_CM_CONCURRENT's pre-cleaning
 * rounds, GCP_CM_FINAL's dirty pages; 0 for the other histograms.
 */
struct gcp_hist {
	__u32 slots[GCP_MAX_SLOTS];
	__u32 pad;
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 aux_sum;
	__u64 aux_max;
	char comm[GCP_COMM_LEN];
};

/* gcheap_concurrent_mark's numbers, kept until the collection's gc_end. */
struct gcp_cm_key {
	__u32 tgid;
	__u32 pad;
	__u64 heap_id;
	__u64 gc;
};

struct gcp_cm {
	__u64 initial_ns;
	__u64 concurrent_ns;
	__u64 final_ns;
	__u64 dirty_pages;
	__u32 precleans;
	__u32 pad;
};

/* One collection, for -e. */
struct gcp_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the end */
	__u32 tgid;
	__u32 reason;
	__u64 gc;
	__u32 threads;
	__u32 workers;
	__u64 phase_ns[GCP_NR_PHASES];
	__u64 heap_before;
	__u64 heap_after;
	__u64 heap_goal;
	__u32 concurrent;	/* 1: marked beside the program, @cm is set */
	__u32 pad;
	struct gcp_cm cm;
	char comm[GCP_COMM_LEN];
};

#endif /* GCPAUSE_H */
