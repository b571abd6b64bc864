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

/* What a histogram measures: the pause, or one of its phases (-P). */
enum gcp_phase {
	GCP_PAUSE,	/* stop + roots + mark + sweep start: threads stopped */
	GCP_STOP,	/* from the stop request until every thread is parked */
	GCP_ROOTS,	/* gathering the roots */
	GCP_MARK,	/* the parallel mark */
	GCP_SWEEP,	/* the part of the sweep inside the pause */
	GCP_FINAL,	/* finalizer and weak phases (part of the mark) */
	GCP_NR_PHASES,
};

struct gcp_hist_key {
	__u32 tgid;
	__u32 phase;
};

struct gcp_hist {
	__u32 slots[GCP_MAX_SLOTS];
	__u32 pad;
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	char comm[GCP_COMM_LEN];
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
	char comm[GCP_COMM_LEN];
};

#endif /* GCPAUSE_H */
