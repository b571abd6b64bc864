// SPDX-License-Identifier: GPL-2.0
/*
 * gcpause's BPF side: on every gcheap_gc_end tracepoint, add the
 * collection's pause (and with -P its phases) to a log2 histogram per
 * process, or (-e) send the collection to user space.  The finalizer
 * phase comes from gcheap_finalize, which fires earlier in the same
 * collection (in its collecting thread): kept per tgid until gc_end.  A
 * collection that marked beside the program (concurrent_mark=1) gives
 * gcheap_concurrent_mark just before its gc_end, from the same task: its
 * two pauses, the mark beside the program, the pre-cleaning rounds and
 * the dirty pages, kept by (tgid, heap, gc number) until that gc_end.
 * Modules older than the concurrent mark have no such tracepoint: the
 * tool then loads neither concurrent_mark program (gcpause.c).
 *
 * Two programs, one loaded: tp_btf when the module has BTF (typed,
 * verifier-checked access to the event's struct gch_gc_info), raw_tp
 * otherwise (the same struct read with bpf_probe_read_kernel()).  The
 * struct is the uapi's, so its layout is fixed and needs no relocation.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <linux/gcheap.h>

#include "gcpause.h"

const volatile __u32 targ_tgid;		/* -p: only this process */
const volatile bool targ_ms;		/* -m: buckets in ms, not us */
const volatile bool targ_phases;	/* -P: phase histograms too */
const volatile bool targ_events;	/* -e: one record per collection */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct gcp_hist_key);
	__type(value, struct gcp_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* tgid -> the finalizer phase of its collection under way */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} final_ns SEC(".maps");

/* (tgid, heap, gc) -> its gcheap_concurrent_mark, until its gc_end */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct gcp_cm_key);
	__type(value, struct gcp_cm);
} cmarks SEC(".maps");

static const struct gcp_hist zero;

static __always_inline __u64 log2_32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2_64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_32(hi) + 32 : log2_32(v);
}

/* The name of @tgid if the current task belongs to it, else empty. */
static __always_inline void owner_comm(__u32 tgid, char *comm)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == tgid)
		bpf_get_current_comm(comm, GCP_COMM_LEN);
}

/* @aux: added to the histogram's aux_sum and aux_max (struct gcp_hist) */
static __always_inline void hist_add(__u32 tgid, __u32 phase, __u64 ns,
				     __u64 aux)
{
	struct gcp_hist_key key = { .tgid = tgid, .phase = phase };
	struct gcp_hist *h;
	__u64 v = ns / (targ_ms ? 1000000 : 1000);
	__u64 slot;	/* 64 bits: the bound check and the access agree */

	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h)
			return;
		owner_comm(tgid, h->comm);
	}
	slot = log2_64(v);
	if (slot >= GCP_MAX_SLOTS)
		slot = GCP_MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	if (ns > h->max_ns)
		h->max_ns = ns;	/* collections of one heap never overlap */
	if (aux) {
		__sync_fetch_and_add(&h->aux_sum, aux);
		if (aux > h->aux_max)
			h->aux_max = aux;
	}
}

/* @gi: the event's info, BTF-typed (tp_btf) or a copy on the stack. */
static __always_inline int on_gc_end(__u32 tgid, __u64 heap_id,
				     const struct gch_gc_info *gi)
{
	struct gcp_cm_key ck = { .tgid = tgid, .heap_id = heap_id };
	struct gcp_cm cm = {}, *c;
	struct gcp_event *e;
	__u64 fin = 0, mark, *p;
	bool conc = false;

	if (targ_tgid && tgid != targ_tgid)
		return 0;
	p = bpf_map_lookup_elem(&final_ns, &tgid);
	if (p) {
		fin = *p;
		bpf_map_delete_elem(&final_ns, &tgid);
	}
	mark = gi->mark_ns;
	if (targ_phases || targ_events) {
		ck.gc = gi->gc_number;
		c = bpf_map_lookup_elem(&cmarks, &ck);
		if (c) {
			cm = *c;
			conc = true;
			bpf_map_delete_elem(&cmarks, &ck);
			/* the mark's part inside the pauses */
			mark = mark > cm.concurrent_ns ?
			       mark - cm.concurrent_ns : 0;
		}
	}
	if (targ_events) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e)
			return 0;
		e->ts_ns = bpf_ktime_get_ns();
		e->tgid = tgid;
		e->reason = gi->reason;
		e->gc = gi->gc_number;
		e->threads = gi->threads;
		e->workers = gi->workers;
		e->phase_ns[GCP_PAUSE] = gi->pause_ns;
		e->phase_ns[GCP_STOP] = gi->stw_ns;
		e->phase_ns[GCP_ROOTS] = gi->roots_ns;
		e->phase_ns[GCP_MARK] = mark;
		e->phase_ns[GCP_SWEEP] = gi->sweep_ns;
		e->phase_ns[GCP_FINAL] = fin;
		e->heap_before = gi->heap_before;
		e->heap_after = gi->heap_after;
		e->heap_goal = gi->heap_goal;
		e->concurrent = conc;
		e->pad = 0;
		e->cm = cm;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
		owner_comm(tgid, e->comm);
		bpf_ringbuf_submit(e, 0);
		return 0;
	}
	hist_add(tgid, GCP_PAUSE, gi->pause_ns, 0);
	if (targ_phases) {
		hist_add(tgid, GCP_STOP, gi->stw_ns, 0);
		hist_add(tgid, GCP_ROOTS, gi->roots_ns, 0);
		hist_add(tgid, GCP_MARK, mark, 0);
		hist_add(tgid, GCP_SWEEP, gi->sweep_ns, 0);
		/* only heaps with finalizers or weak links have the phase */
		if (fin)
			hist_add(tgid, GCP_FINAL, fin, 0);
		if (conc) {
			hist_add(tgid, GCP_CM_INITIAL, cm.initial_ns, 0);
			hist_add(tgid, GCP_CM_CONCURRENT, cm.concurrent_ns,
				 cm.precleans);
			hist_add(tgid, GCP_CM_FINAL, cm.final_ns,
				 cm.dirty_pages);
		}
	}
	return 0;
}

static __always_inline int on_concurrent_mark(__u32 tgid, __u64 heap_id,
					      __u64 gc, __u64 initial_ns,
					      __u64 concurrent_ns,
					      __u32 precleans,
					      __u64 dirty_pages,
					      __u64 final_ns)
{
	struct gcp_cm_key ck = { .tgid = tgid, .heap_id = heap_id, .gc = gc };
	struct gcp_cm cm = {
		.initial_ns = initial_ns,
		.concurrent_ns = concurrent_ns,
		.final_ns = final_ns,
		.dirty_pages = dirty_pages,
		.precleans = precleans,
	};

	if (targ_tgid && tgid != targ_tgid)
		return 0;
	/*
	 * A failed final stop gives final_ns 0, then gcheap_gc_abort, and
	 * its number goes to the next collection: nothing to keep.
	 */
	if (!(targ_phases || targ_events) || !final_ns)
		return 0;
	bpf_map_update_elem(&cmarks, &ck, &cm, BPF_ANY);
	return 0;
}

static __always_inline int on_finalize(__u32 tgid, __u64 ns)
{
	if (targ_tgid && tgid != targ_tgid)
		return 0;
	if (!(targ_phases || targ_events) || !ns)
		return 0;
	bpf_map_update_elem(&final_ns, &tgid, &ns, BPF_ANY);
	return 0;
}

SEC("tp_btf/gcheap_finalize")
int BPF_PROG(finalize_btf, int tgid, __u64 heap_id, __u64 gc, __u64 queued,
	     __u64 waiting, __u64 weak_cleared, __u64 weak_dropped,
	     __u64 finalize_ns)
{
	return on_finalize(tgid, finalize_ns);
}

SEC("raw_tp/gcheap_finalize")
int BPF_PROG(finalize_raw, int tgid, __u64 heap_id, __u64 gc, __u64 queued,
	     __u64 waiting, __u64 weak_cleared, __u64 weak_dropped,
	     __u64 finalize_ns)
{
	return on_finalize(tgid, finalize_ns);
}

SEC("tp_btf/gcheap_concurrent_mark")
int BPF_PROG(cmark_btf, int tgid, __u64 heap_id, __u64 gc, __u64 initial_ns,
	     __u64 concurrent_ns, __u32 precleans, __u64 dirty_pages,
	     __u64 final_ns)
{
	return on_concurrent_mark(tgid, heap_id, gc, initial_ns, concurrent_ns,
				  precleans, dirty_pages, final_ns);
}

SEC("raw_tp/gcheap_concurrent_mark")
int BPF_PROG(cmark_raw, int tgid, __u64 heap_id, __u64 gc, __u64 initial_ns,
	     __u64 concurrent_ns, __u32 precleans, __u64 dirty_pages,
	     __u64 final_ns)
{
	return on_concurrent_mark(tgid, heap_id, gc, initial_ns, concurrent_ns,
				  precleans, dirty_pages, final_ns);
}

SEC("tp_btf/gcheap_gc_end")
int BPF_PROG(gc_end_btf, int tgid, __u64 heap_id,
	     const struct gch_gc_info *gi)
{
	/* never NULL, but since 6.10 the verifier wants it checked */
	if (!gi)
		return 0;
	return on_gc_end(tgid, heap_id, gi);
}

SEC("raw_tp/gcheap_gc_end")
int BPF_PROG(gc_end_raw, int tgid, __u64 heap_id,
	     const struct gch_gc_info *gi)
{
	struct gch_gc_info copy;

	if (bpf_probe_read_kernel(&copy, sizeof(copy), gi))
		return 0;
	return on_gc_end(tgid, heap_id, &copy);
}

char LICENSE[] SEC("license") = "GPL";
