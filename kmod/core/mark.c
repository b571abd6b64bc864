// SPDX-License-Identifier: GPL-2.0
/*
 * Parallel conservative mark.  See mark.h for how an embedder drives it.
 *
 * Marking.  A candidate value (a root word minus the arena's user base, or
 * a word of a scanned object minus the same base) is first compared with
 * the top of the arena's used part, inline in the scan loop: most words
 * are not pointers into the heap and cost one subtraction and one
 * comparison.  The rest are looked up in the span table (two loads); a
 * value marks the object it falls into if that span is in use and holds
 * objects, the value is below its last object's end (the object index is
 * a multiplication, gch_span_index()) and the object's alloc bit is set.  The mark bit is read first and set
 * with an atomic test_and_set_bit() only if clear; the worker whose
 * test_and_set_bit() found it clear owns the object and queues it, a
 * loser does nothing.  Objects of noscan span classes are marked, never
 * queued.  Large objects are queued as pieces of GCH_MARK_OBLET bytes so
 * that one big array is scanned by several workers.
 *
 * Work distribution.  Each worker has two private work buffers (arrays of
 * GCH_WBUF_ENTRIES objects to scan, each its address in the span's
 * mapping and its length, so that scanning needs no second look-up; two, so that a worker pushing and
 * popping around a buffer boundary does not hand buffers back and forth),
 * and the workers share a stack of full buffers and a pool of empty ones,
 * each behind a spinlock.  A worker whose private buffers fill publishes
 * one on the full stack; a worker whose private buffers are empty takes
 * one from it.  Lock traffic is one acquisition per GCH_WBUF_ENTRIES
 * objects, so a lock-free stack (with its ABA tagging, which needs either
 * a double-word CAS or pointer packing that differs between kernel and
 * user addresses) would not pay for itself.  What did not scale in the
 * 2011 collector was not the lock but the supply: work was shared only
 * when the full list was empty and a waiter existed, and then one buffer
 * half to one waiter.  Here every busy worker looks every
 * GCH_MARK_SHARE_EVERY objects at the count of idle workers, and if some
 * are idle and the shared stack is empty it publishes its spare buffer or
 * splits its current one in half; a worker that receives work does the
 * same, so work fans out to all idle workers in a few rounds instead of
 * trickling to one at a time.  Buffers come from a pool that grows with
 * gch_zalloc().
 *
 * Prefetching.  The scan loop pops up to GCH_MARK_PREFETCH objects ahead,
 * prefetching each one's first line, and scans the oldest: by the time an
 * object is scanned its first line is (likely) in cache.
 *
 * Termination, without a global lock: an atomic count of idle workers
 * (@nwait) and an atomic count of buffers on the shared stack (@nfull).  A
 * worker out of work increments @nwait, then loops: if @nfull > 0 it
 * decrements @nwait *before* taking a buffer (so a worker holding work is
 * never counted idle), and increments it again if another was faster;
 * if @nwait equals the number of workers it leaves, still counted idle;
 * else it spins a little, then sleeps on @idle_ev (an event count) until
 * a buffer is published or the last worker goes idle, both of which bump
 * it.  Sleeping promptly matters when the machine has more runnable
 * threads than CPUs: a worker that spins or yields for long takes the
 * CPU from the ones with work (the old ladder, spin then yield then
 * 20-100 us naps, cost 2.7 times bdwgc's CPU time at 2-4 mutators).
 * Safety: work is
 * only ever in the private buffers of workers not counted idle, or on the
 * shared stack; a buffer on the stack was put there by a busy worker that
 * afterwards, counted idle, reads @nfull (coherence: its own increment or
 * later) and so cannot leave while its buffer, or any, is still there.
 * So no worker leaves while work it could miss exists, and the last one
 * leaves only when there is none.
 *
 * Overflow.  When no buffer can be had (gch_zalloc() failed, or the limit
 * of gch_mark_limit_buffers() is reached) the object, already marked, is
 * dropped and a flag set.  gch_mark_end() then rescans: every marked
 * object of every scanned span is scanned again, which marks (and queues)
 * what the dropped objects reach; repeated until a pass drops nothing.
 * Each pass with a drop marks at least one more object, so it ends.  The
 * rescan is sequential (it only runs when memory ran out) and allocates
 * nothing: each worker owns two buffers made by gch_mark_create().
 */
#include "bitmap.h"
#include "mark.h"

#define GCH_WBUF_ENTRIES	255	/* 4 KiB buffers */
#define GCH_MARK_PREFETCH	8
#define GCH_MARK_SHARE_EVERY	64
#define GCH_CACHELINE		64
#define GCH_MARK_SPINS		16	/* spin rounds before sleeping */
#define GCH_MARK_NAP_US		1000	/* most one idle sleep lasts */

/* An object (or a piece of a large one) to scan: where, how long. */
struct gch_mark_scan {
	const u64 *p;
	u64 nwords;
};

struct gch_wbuf {
	struct gch_wbuf *next;
	u32 n;
	u32 owner;		/* the worker that published it */
	struct gch_mark_scan obj[GCH_WBUF_ENTRIES];
};

_Static_assert(sizeof(struct gch_wbuf) == GCH_MARK_BUF_BYTES,
	       "a work buffer is GCH_MARK_BUF_BYTES");

struct gch_mark_worker {
	struct gch_mark *m;
	unsigned int index;
	unsigned int since_share;
	struct gch_wbuf *cur;
	struct gch_wbuf *spare;
	unsigned int ring_head;
	unsigned int ring_n;
	struct gch_mark_scan ring[GCH_MARK_PREFETCH];
	struct gch_mark_stats stats;
	/* the next worker's struct is another allocation; keep lines apart */
	u8 pad[GCH_CACHELINE];
};

/*
 * Shared fields written during the mark are kept on cache lines of their
 * own (by padding: the struct comes from gch_zalloc(), whose alignment is
 * not a cache line in the hosted build, so no aligned attribute).
 */
struct gch_mark {
	struct gch_heap_core *h;
	unsigned int max_workers;
	unsigned int nworkers;
	unsigned int buf_limit;
	u64 base;
	u64 arena_bytes;
	u64 scan_limit;		/* offsets at or above hold no span */
	const struct gch_root *roots;
	unsigned int nroots;
	u64 *root_end;		/* cumulative work items of roots[0..i] */
	unsigned int root_end_cap;	/* entries @root_end holds */
	u64 nitems;
	u64 rescans;
	struct gch_mark_worker **workers;

	u8 pad0[GCH_CACHELINE];
	atomic64_t root_next;
	u8 pad1[GCH_CACHELINE];
	atomic_t nwait;
	u8 pad2[GCH_CACHELINE];
	spinlock_t full_lock;
	struct gch_wbuf *full;
	atomic_t nfull;
	struct gch_event idle_ev;	/* bumped for the idle: work, or the end */
	u8 pad3[GCH_CACHELINE];
	spinlock_t empty_lock;
	struct gch_wbuf *empty;
	atomic_t nbufs;
	atomic_t overflow;
	u8 pad4[GCH_CACHELINE];
};

static u64 mark_span_base(const struct gch_span *s)
{
	return (u64)s->start << GCH_PAGE_SHIFT;
}

/*
 * The in-use span holding @off, if it holds objects.  Like
 * gch_pageheap_lookup(), inline: this is the mark's inner loop.  In a
 * mark beside the mutator (gch_heap_mark_phase()) the table gains spans
 * meanwhile, and a span is published by its @state (set last, with
 * release): the reads are single loads, the state's an acquire, which
 * costs nothing more on x86.  Spans and their structs stay while the
 * phase lasts.
 */
static __always_inline struct gch_span *mark_span_of(const struct gch_mark *m,
						   u64 off)
{
	const struct gch_pageheap *ph = &m->h->pages;
	struct gch_span **chunk, *s;
	u32 page;
	u8 state;

	if (off >= m->arena_bytes)
		return NULL;
	page = off >> GCH_PAGE_SHIFT;
	if (page >= READ_ONCE(ph->used))
		return NULL;
	chunk = READ_ONCE(ph->map[page / GCH_PH_MAP_CHUNK]);
	if (!chunk)
		return NULL;
	s = READ_ONCE(chunk[page % GCH_PH_MAP_CHUNK]);
	if (!s)
		return NULL;
	/* free runs and spans not yet set up have state GCH_SPAN_FREE */
	state = smp_load_acquire(&s->state);
	if (state != GCH_SPAN_SMALL && state != GCH_SPAN_LARGE)
		return NULL;
	return s;
}

/* --- buffers ------------------------------------------------------------ */

static struct gch_wbuf *mark_new_buf(struct gch_mark *m)
{
	struct gch_wbuf *b;

	if (m->buf_limit &&
	    atomic_inc_return(&m->nbufs) > (int)m->buf_limit) {
		atomic_dec(&m->nbufs);
		return NULL;
	}
	if (!m->buf_limit)
		atomic_inc(&m->nbufs);
	b = gch_zalloc(sizeof(*b));
	if (!b)
		atomic_dec(&m->nbufs);
	return b;
}

static struct gch_wbuf *mark_get_empty(struct gch_mark *m)
{
	struct gch_wbuf *b;

	spin_lock(&m->empty_lock);
	b = m->empty;
	if (b)
		m->empty = b->next;
	spin_unlock(&m->empty_lock);
	if (!b)
		b = mark_new_buf(m);
	if (b) {
		b->next = NULL;
		b->n = 0;
	}
	return b;
}

static void mark_put_empty(struct gch_mark *m, struct gch_wbuf *b)
{
	spin_lock(&m->empty_lock);
	b->next = m->empty;
	m->empty = b;
	spin_unlock(&m->empty_lock);
}

static void mark_put_full(struct gch_mark_worker *w, struct gch_wbuf *b)
{
	struct gch_mark *m = w->m;

	b->owner = w->index;
	spin_lock(&m->full_lock);
	b->next = m->full;
	m->full = b;
	/* ordered before the read of @nwait: see mark_wait() */
	atomic_inc_return(&m->nfull);
	spin_unlock(&m->full_lock);
	if (atomic_read(&m->nwait))
		gch_event_signal(&m->idle_ev);
}

static struct gch_wbuf *mark_get_full(struct gch_mark_worker *w)
{
	struct gch_mark *m = w->m;
	struct gch_wbuf *b;

	if (!atomic_read(&m->nfull))
		return NULL;
	spin_lock(&m->full_lock);
	b = m->full;
	if (b) {
		m->full = b->next;
		atomic_dec(&m->nfull);
	}
	spin_unlock(&m->full_lock);
	if (b && b->owner != w->index)
		w->stats.steals++;
	return b;
}

/* Make @b, full, the current buffer; the current one must be empty. */
static void mark_install(struct gch_mark_worker *w, struct gch_wbuf *b)
{
	mark_put_empty(w->m, w->cur);
	w->cur = b;
}

/* Both private buffers are full: publish one, then queue @p. */
static void mark_push_slow(struct gch_mark_worker *w, const u64 *p,
			   u32 nwords)
{
	struct gch_wbuf *b = w->cur;

	w->cur = w->spare;
	w->spare = b;
	if (w->cur->n == GCH_WBUF_ENTRIES) {
		b = mark_get_empty(w->m);
		if (unlikely(!b)) {
			/* marked but not queued: gch_mark_end() */
			w->stats.overflows++;
			atomic_set(&w->m->overflow, 1);
			return;
		}
		mark_put_full(w, w->cur);
		w->cur = b;
	}
	w->cur->obj[w->cur->n].p = p;
	w->cur->obj[w->cur->n].nwords = nwords;
	w->cur->n++;
}

/* Queue an object to scan; inline, as it runs once per marked object. */
static __always_inline void mark_push(struct gch_mark_worker *w,
				      const u64 *p, u32 nwords)
{
	struct gch_wbuf *b = w->cur;

	if (unlikely(b->n == GCH_WBUF_ENTRIES)) {
		mark_push_slow(w, p, nwords);
		return;
	}
	b->obj[b->n].p = p;
	b->obj[b->n].nwords = nwords;
	b->n++;
}

static bool mark_pop(struct gch_mark_worker *w, struct gch_mark_scan *sc)
{
	struct gch_wbuf *b;

	if (unlikely(!w->cur->n)) {
		if (!w->spare->n)
			return false;
		b = w->cur;
		w->cur = w->spare;
		w->spare = b;
	}
	*sc = w->cur->obj[--w->cur->n];
	return true;
}

/*
 * Others are idle and nothing is shared: give them some of ours.  The
 * spare buffer if it holds anything (swapped for an empty one), else the
 * older half of the current one.
 */
static void mark_share(struct gch_mark_worker *w)
{
	struct gch_mark *m = w->m;
	struct gch_wbuf *b, *cur = w->cur;
	u32 half;

	if (!atomic_read(&m->nwait) || atomic_read(&m->nfull))
		return;
	if (!w->spare->n && cur->n < 2)
		return;
	b = mark_get_empty(m);
	if (!b)
		return;
	if (w->spare->n) {
		mark_put_full(w, w->spare);
		w->spare = b;
	} else {
		/* the bottom half: the oldest, often the widest subgraphs */
		half = cur->n / 2;
		memcpy(b->obj, cur->obj, half * sizeof(b->obj[0]));
		memmove(cur->obj, cur->obj + half,
			(cur->n - half) * sizeof(cur->obj[0]));
		b->n = half;
		cur->n -= half;
		mark_put_full(w, b);
	}
	w->stats.handoffs++;
}

/* --- marking and scanning ------------------------------------------------ */

/*
 * Mark the object @off falls into, if any.  The callers have already
 * rejected offsets at or above @scan_limit (most words of most objects:
 * small numbers, characters, pointers elsewhere), so this is called only
 * for candidates that may be in an in-use span.
 */
static __always_inline void mark_obj(struct gch_mark_worker *w, u64 off,
				     bool scan)
{
	struct gch_span *s = mark_span_of(w->m, off);
	const u8 *obj;
	u32 i, o;

	if (!s)
		return;
	if (s->state == GCH_SPAN_LARGE) {
		i = 0;
	} else {
		/* a span is below 4 GiB; a multiplication, not a division */
		i = gch_span_index(s, off - mark_span_base(s));
		if (i >= s->nobjs)
			return;		/* the span's tail */
	}
	/* beside the mutator alloc bits change: either value is right */
	if (!test_bit(i, s->allocbits))
		return;			/* a free slot */
	if (test_bit(i, s->markbits) ||
	    gch_bitmap_test_and_set_atomic(s->markbits, i))
		return;			/* marked already, by us or another */
	w->stats.objects_marked++;
	w->stats.bytes_marked += s->elemsize;
	if (!scan || (s->spanclass & 1))
		return;			/* noscan: never scanned */
	obj = (const u8 *)s->mapped + (size_t)i * s->elemsize;
	if (s->state != GCH_SPAN_LARGE) {
		mark_push(w, (const u64 *)obj, s->elemsize / sizeof(u64));
		return;
	}
	for (o = 0; o < s->elemsize; o += GCH_MARK_OBLET) {
		mark_push(w, (const u64 *)(obj + o),
			  min_t(u32, GCH_MARK_OBLET, s->elemsize - o) /
			  sizeof(u64));
		if (s->elemsize - o <= GCH_MARK_OBLET)
			break;		/* no u32 overflow near 4 GiB */
	}
}

static void mark_off(struct gch_mark_worker *w, u64 off)
{
	mark_obj(w, off, true);
}

/*
 * Mark what @n words (user addresses) point to.  The filter is inline and
 * its two values are locals: the candidates are compared against the
 * part of the arena that has ever held spans before any call, and
 * mark_off()'s atomic (a compiler barrier) does not force them to be
 * loaded again for every word.
 */
static __always_inline void mark_range(struct gch_mark_worker *w,
				       const u64 *p, size_t n, bool scan)
{
	const u64 base = w->m->base, limit = w->m->scan_limit;
	size_t i;
	u64 off;

	for (i = 0; i < n; i++) {
		off = p[i] - base;
		if (off >= limit)
			continue;
		if (scan)
			mark_off(w, off);
		else
			mark_obj(w, off, false);
	}
}

/**
 * gch_mark_words() - mark what conservative words point to
 * @w:     the calling worker (as given to a GCH_ROOT_FUNC callback).
 * @words: user addresses (or anything: values not pointing into an
 *         allocated object are ignored).
 * @n:     how many.
 */
void gch_mark_words(struct gch_mark_worker *w, const u64 *words, size_t n)
{
	mark_range(w, words, n, true);
	w->stats.root_words += n;
}

/**
 * gch_mark_unused() - keep objects allocated but not yet used, unscanned
 * @w:     the calling worker.
 * @words: user addresses of objects (tagged ones too: any address inside
 *         an object); others are ignored.
 * @n:     how many.
 *
 * For the objects in per-CPU caches: they must survive, but hold no
 * program data yet, only zeros or old data of the heap (objects handed
 * out with GCH_OBJ_UNZEROED), so scanning them could only keep garbage
 * alive.
 */
void gch_mark_unused(struct gch_mark_worker *w, const u64 *words, size_t n)
{
	mark_range(w, words, n, false);
	w->stats.root_words += n;
}

/**
 * gch_mark_offsets() - mark objects given by arena offset
 * @w:    the calling worker.
 * @offs: arena offsets (interior ones too); others are ignored.
 * @n:    how many.
 */
void gch_mark_offsets(struct gch_mark_worker *w, const u64 *offs, size_t n)
{
	const u64 limit = w->m->scan_limit;
	size_t i;

	for (i = 0; i < n; i++)
		if (offs[i] < limit)
			mark_off(w, offs[i]);
	w->stats.root_words += n;
}

/**
 * gch_mark_worker_index() - which worker this is
 * @w: a worker, as given to a GCH_ROOT_FUNC callback.
 *
 * Return: its index, from 0.
 */
unsigned int gch_mark_worker_index(const struct gch_mark_worker *w)
{
	return w->index;
}

static void mark_scan_words(struct gch_mark_worker *w, const u64 *p,
			    u32 nwords)
{
	mark_range(w, p, nwords, true);
	w->stats.objects_scanned++;
	w->stats.bytes_scanned += (u64)nwords * sizeof(u64);
}

/* Scan until the private buffers and the prefetch ring are empty. */
static void mark_drain(struct gch_mark_worker *w)
{
	struct gch_mark_scan sc;
	unsigned int slot;

	for (;;) {
		while (w->ring_n < GCH_MARK_PREFETCH && mark_pop(w, &sc)) {
			__builtin_prefetch(sc.p);
			slot = (w->ring_head + w->ring_n) % GCH_MARK_PREFETCH;
			w->ring[slot] = sc;
			w->ring_n++;
		}
		if (!w->ring_n)
			return;
		sc = w->ring[w->ring_head];
		w->ring_head = (w->ring_head + 1) % GCH_MARK_PREFETCH;
		w->ring_n--;
		mark_scan_words(w, sc.p, sc.nwords);
		if (++w->since_share >= GCH_MARK_SHARE_EVERY) {
			w->since_share = 0;
			mark_share(w);
			gch_work_yield();
		}
	}
}

/*
 * Scan again the parts on heap pages [@first, @first + @n) flagged in
 * @map (bit p % 64 of word p / 64 for page p) of every marked object that
 * may hold pointers.  Only the flagged pages: the rest of each object was
 * not written since it was scanned (the embedder's promise, see
 * GCH_ROOT_DIRTY).  Unmarked objects are left alone: if reachable they
 * are marked, and then scanned whole, later in this mark.
 */
static void mark_dirty_pages(struct gch_mark_worker *w, const u64 *map,
			     u64 first, u64 n)
{
	u64 p, off, end, lo, hi;
	struct gch_span *s;
	u32 i, last;

	for (p = first; p < first + n; p++) {
		if (!(map[p / 64] >> (p % 64) & 1))
			continue;
		w->stats.dirty_pages++;
		off = p << GCH_PAGE_SHIFT;
		s = mark_span_of(w->m, off);
		if (!s || (s->spanclass & 1))
			continue;	/* no objects, or none with pointers */
		end = off + GCH_PAGE_SIZE;
		if (s->state == GCH_SPAN_LARGE) {
			if (test_bit(0, s->markbits))
				mark_push(w, (const u64 *)((const u8 *)s->mapped +
					  (off - mark_span_base(s))),
					  GCH_PAGE_SIZE / sizeof(u64));
			continue;
		}
		/* the objects that overlap the page */
		i = gch_span_index(s, off - mark_span_base(s));
		last = gch_span_index(s, end - 1 - mark_span_base(s));
		last = min_t(u32, last, s->nobjs - 1);
		for (; i <= last; i++) {
			if (!test_bit(i, s->markbits))
				continue;
			lo = mark_span_base(s) + (u64)i * s->elemsize;
			hi = lo + s->elemsize;
			lo = max(lo, off);
			hi = min(hi, end);
			mark_push(w, (const u64 *)((const u8 *)s->mapped +
				  (lo - mark_span_base(s))),
				  (hi - lo) / sizeof(u64));
		}
	}
}

/* The root item @item: which root, and which chunk of it. */
static void mark_root_item(struct gch_mark_worker *w, u64 item)
{
	const struct gch_mark *m = w->m;
	unsigned int lo = 0, hi = m->nroots - 1, mid;
	const struct gch_root *r;
	u64 first, start;
	size_t n;

	/* the first root whose cumulative end is above @item */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->root_end[mid] > item)
			hi = mid;
		else
			lo = mid + 1;
	}
	r = &m->roots[lo];
	first = lo ? m->root_end[lo - 1] : 0;
	w->stats.root_items++;
	if (r->kind == GCH_ROOT_FUNC) {
		r->fn(w, r->arg);
		return;
	}
	if (r->kind == GCH_ROOT_DIRTY) {
		start = (item - first) * GCH_DIRTY_CHUNK;
		mark_dirty_pages(w, r->words, start,
				 min_t(u64, GCH_DIRTY_CHUNK, r->n - start));
		return;
	}
	start = (item - first) * GCH_ROOT_CHUNK;
	n = min_t(u64, GCH_ROOT_CHUNK, r->n - start);
	if (r->kind == GCH_ROOT_WORDS)
		gch_mark_words(w, r->words + start, n);
	else
		gch_mark_offsets(w, r->words + start, n);
}

/*
 * Out of work: wait until some is shared (true, and it is installed) or
 * every worker is out of work (false: the mark is over).
 */
static bool mark_wait(struct gch_mark_worker *w)
{
	struct gch_mark *m = w->m;
	unsigned int spins = 0, i;
	struct gch_wbuf *b;
	int seq = 0;

	w->stats.idle_waits++;
	atomic_inc_return(&m->nwait);
	for (;;) {
		if (atomic_read(&m->nfull)) {
			/* not idle while holding work, even for a moment */
			atomic_dec_return(&m->nwait);
			b = mark_get_full(w);
			if (b) {
				mark_install(w, b);
				return true;
			}
			atomic_inc_return(&m->nwait);
		}
		if (atomic_read(&m->nwait) == (int)m->nworkers) {
			/* the last one idle: the sleepers leave too */
			gch_event_signal(&m->idle_ev);
			return false;
		}
		/* work is often shared within microseconds: spin first */
		if (spins < GCH_MARK_SPINS) {
			for (i = 0; i < GCH_SPIN_RELAX; i++)
				cpu_relax();
			spins++;
			continue;
		}
		/*
		 * Read the count, then look again: a buffer published, or
		 * the last worker gone idle, after the read bumps it and
		 * ends the sleep.  Our @nwait increment is ordered before
		 * the publisher's read of it (both fully ordered), so a
		 * publisher that skips the bump left @nfull for us to see.
		 */
		seq = gch_event_read(&m->idle_ev);
		if (atomic_read(&m->nfull) ||
		    atomic_read(&m->nwait) == (int)m->nworkers)
			continue;
		gch_event_wait(&m->idle_ev, seq, GCH_MARK_NAP_US);
	}
}

/**
 * gch_mark_work() - one worker's part of the mark
 * @m:      the mark, begun.
 * @worker: this worker's index, below the @nworkers of gch_mark_begin().
 *
 * Called once per collection for every index from 0 to @nworkers - 1,
 * each from its own thread, all at once: a worker returns only when all
 * of them are out of work, so a missing one would make the others wait
 * for ever.  Claims root items until none is left, then marks from its
 * own work and others', and returns when the mark is complete (but for an
 * overflow, see gch_mark_end()).  May sleep (buffer allocation, backoff).
 */
void gch_mark_work(struct gch_mark *m, unsigned int worker)
{
	struct gch_mark_worker *w;
	struct gch_wbuf *b;
	u64 item;

	if (WARN_ON(worker >= m->nworkers))
		return;
	w = m->workers[worker];
	for (;;) {
		item = atomic64_fetch_inc(&m->root_next);
		if (item >= m->nitems)
			break;
		mark_root_item(w, item);
	}
	for (;;) {
		mark_drain(w);
		b = mark_get_full(w);
		if (b) {
			mark_install(w, b);
			continue;
		}
		if (!mark_wait(w))
			break;
	}
}

/* --- set-up, overflow rescan, end ---------------------------------------- */

/**
 * gch_mark_create() - the mark state of a heap
 * @h:           the heap (its ops->map is needed by the mark).
 * @max_workers: most workers any mark will use, 1 to GCH_MARK_MAX_WORKERS.
 *
 * Allocates the workers' structs and two work buffers each, so a mark
 * always progresses even when no more memory can be had.
 *
 * Return: the state, or NULL (no memory, or bad arguments).
 */
struct gch_mark *gch_mark_create(struct gch_heap_core *h,
				 unsigned int max_workers)
{
	struct gch_mark_worker *w;
	struct gch_mark *m;
	unsigned int i;

	if (!h || !max_workers || max_workers > GCH_MARK_MAX_WORKERS)
		return NULL;
	m = gch_zalloc(sizeof(*m));
	if (!m)
		return NULL;
	m->h = h;
	spin_lock_init(&m->full_lock);
	gch_event_init(&m->idle_ev);
	spin_lock_init(&m->empty_lock);
	m->workers = gch_zalloc(max_workers * sizeof(m->workers[0]));
	if (!m->workers)
		goto fail;
	m->max_workers = max_workers;
	for (i = 0; i < max_workers; i++) {
		w = gch_zalloc(sizeof(*w));
		if (!w)
			goto fail;
		m->workers[i] = w;
		w->m = m;
		w->index = i;
		w->cur = mark_new_buf(m);
		w->spare = mark_new_buf(m);
		if (!w->cur || !w->spare)
			goto fail;
	}
	return m;
fail:
	gch_mark_destroy(m);
	return NULL;
}

static void mark_free_list(struct gch_wbuf *b)
{
	struct gch_wbuf *n;

	for (; b; b = n) {
		n = b->next;
		gch_kvfree(b);
	}
}

/**
 * gch_mark_destroy() - free the mark state
 * @m: from gch_mark_create(), or NULL; no mark running.
 */
void gch_mark_destroy(struct gch_mark *m)
{
	struct gch_mark_worker *w;
	unsigned int i;

	if (!m)
		return;
	for (i = 0; m->workers && i < m->max_workers; i++) {
		w = m->workers[i];
		if (!w)
			continue;
		gch_kvfree(w->cur);
		gch_kvfree(w->spare);
		gch_kvfree(w);
	}
	mark_free_list(m->full);
	mark_free_list(m->empty);
	gch_kvfree(m->root_end);
	gch_kvfree(m->workers);
	gch_kvfree(m);
}

/**
 * gch_mark_limit_buffers() - bound the work buffers of a mark
 * @m:     the mark state, not running.
 * @nbufs: most buffers (4 KiB each) in existence, those made by
 *         gch_mark_create() (two per worker) included; 0: no bound.
 *
 * Beyond the bound a mark behaves as when memory runs out: it stays
 * correct, through gch_mark_end()'s rescan.  For memory bounds and tests.
 */
void gch_mark_limit_buffers(struct gch_mark *m, unsigned int nbufs)
{
	m->buf_limit = nbufs;
}

/**
 * gch_mark_buffer_bytes() - memory in a mark state's work buffers
 * @m: the mark state.
 *
 * Return: bytes of the buffers in existence (they are kept from one mark
 * to the next), those made by gch_mark_create() included.
 */
u64 gch_mark_buffer_bytes(const struct gch_mark *m)
{
	return (u64)atomic_read(&m->nbufs) * sizeof(struct gch_wbuf);
}

/**
 * gch_mark_begin() - start a mark
 * @m:        the mark state, not running.
 * @base:     the user address of arena offset 0: GCH_ROOT_WORDS values
 *            and words of objects are user addresses, @base is subtracted.
 * @roots:    the root items, alive until the workers return; may be NULL
 *            if @nroots is 0.
 * @nroots:   how many.
 * @nworkers: workers that will call gch_mark_work(), 1 to @max_workers.
 *
 * Return: 0; -EINVAL for bad arguments or a heap without ops->map;
 * -EBUSY while a lazy sweep has spans left to sweep (gch_sweep_finish()
 * first: the mark would take the dead objects of unswept spans for live
 * ones); -ENOMEM (the split of the roots into items needs @nroots words).
 */
int gch_mark_begin(struct gch_mark *m, u64 base, const struct gch_root *roots,
		   unsigned int nroots, unsigned int nworkers)
{
	struct gch_mark_worker *w;
	unsigned int i;
	u64 items = 0;

	if (!nworkers || nworkers > m->max_workers || !m->h->ops->map ||
	    (nroots && !roots))
		return -EINVAL;
	if (m->h->unswept)
		return -EBUSY;
	/*
	 * Kept from one mark to the next: a collection that needs no new
	 * memory can run when memory is short, which is when it is needed.
	 */
	if (nroots > m->root_end_cap) {
		gch_kvfree(m->root_end);
		m->root_end_cap = 0;
		m->root_end = gch_zalloc(nroots * sizeof(m->root_end[0]));
		if (!m->root_end)
			return -ENOMEM;
		m->root_end_cap = nroots;
	}
	for (i = 0; i < nroots; i++) {
		if (roots[i].kind == GCH_ROOT_FUNC) {
			if (!roots[i].fn)
				return -EINVAL;
			items++;
		} else if (roots[i].kind == GCH_ROOT_WORDS ||
			   roots[i].kind == GCH_ROOT_OFFSETS) {
			if (roots[i].n && !roots[i].words)
				return -EINVAL;
			items += DIV_ROUND_UP((u64)roots[i].n, GCH_ROOT_CHUNK);
		} else if (roots[i].kind == GCH_ROOT_DIRTY) {
			if ((roots[i].n && !roots[i].words) ||
			    roots[i].n > m->h->pages.npages)
				return -EINVAL;
			items += DIV_ROUND_UP((u64)roots[i].n, GCH_DIRTY_CHUNK);
		} else {
			return -EINVAL;
		}
		m->root_end[i] = items;
	}
	m->roots = roots;
	m->nroots = nroots;
	m->nitems = items;
	m->base = base;
	m->arena_bytes = (u64)m->h->pages.npages << GCH_PAGE_SHIFT;
	/* pages above @used were never part of a span */
	m->scan_limit = min_t(u64, m->arena_bytes,
			      (u64)m->h->pages.used << GCH_PAGE_SHIFT);
	m->nworkers = nworkers;
	m->rescans = 0;
	atomic64_set(&m->root_next, 0);
	atomic_set(&m->nwait, 0);
	atomic_set(&m->overflow, 0);
	for (i = 0; i < m->max_workers; i++) {
		w = m->workers[i];
		memset(&w->stats, 0, sizeof(w->stats));
		w->since_share = 0;
	}
	return 0;
}

/* One worker finishes alone what it and the shared stack hold. */
static void mark_drain_alone(struct gch_mark_worker *w)
{
	struct gch_wbuf *b;

	for (;;) {
		mark_drain(w);
		b = mark_get_full(w);
		if (!b)
			return;
		mark_install(w, b);
	}
}

/* Scan every marked object of @s again (the overflow rescan). */
static void mark_rescan_span(struct gch_mark_worker *w, struct gch_span *s)
{
	const u8 *p = s->mapped;
	unsigned int i;

	for (i = gch_bitmap_find_next_set(s->markbits, s->nobjs, 0);
	     i < s->nobjs;
	     i = gch_bitmap_find_next_set(s->markbits, s->nobjs, i + 1)) {
		mark_scan_words(w, (const u64 *)(p + (size_t)i * s->elemsize),
				s->elemsize / sizeof(u64));
		mark_drain_alone(w);
	}
}

static void mark_rescan(struct gch_mark *m)
{
	struct gch_mark_worker *w = m->workers[0];
	struct gch_heap_core *h = m->h;
	struct gch_span *s;
	unsigned int c;

	/* the one worker left: the shared stack is its own */
	m->nworkers = 1;
	atomic_set(&m->nwait, 0);
	while (atomic_read(&m->overflow)) {
		atomic_set(&m->overflow, 0);
		m->rescans++;
		/* even span classes scan; the lists do not change in a mark */
		for (c = 2; c < GCH_NR_SPANCLASSES; c += 2) {
			list_for_each_entry(s, &h->central[c].partial, link)
				mark_rescan_span(w, s);
			list_for_each_entry(s, &h->central[c].full, link)
				mark_rescan_span(w, s);
		}
		list_for_each_entry(s, &h->large, link)
			if (!(s->spanclass & 1))
				mark_rescan_span(w, s);
	}
}

/**
 * gch_mark_end() - finish a mark
 * @m:     the mark, every worker returned from gch_mark_work().
 * @total: if not NULL, the workers' statistics summed (and @rescans).
 *
 * If some worker could not queue an object (no buffer), rescans the heap
 * until every marked object has been scanned: then, as always on return,
 * exactly the objects reachable from the roots are marked.
 */
void gch_mark_end(struct gch_mark *m, struct gch_mark_stats *total)
{
	unsigned int i;

	WARN_ON(m->full);
	if (atomic_read(&m->overflow))
		mark_rescan(m);
	if (!total)
		return;
	memset(total, 0, sizeof(*total));
	for (i = 0; i < m->max_workers; i++)
		gch_mark_stats_add(total, &m->workers[i]->stats);
	total->rescans = m->rescans;
}

/**
 * gch_mark_stats_add() - add one mark's (or worker's) numbers to others
 * @to:   the sum.
 * @from: what to add.
 */
void gch_mark_stats_add(struct gch_mark_stats *to,
			const struct gch_mark_stats *from)
{
	to->objects_marked += from->objects_marked;
	to->bytes_marked += from->bytes_marked;
	to->objects_scanned += from->objects_scanned;
	to->bytes_scanned += from->bytes_scanned;
	to->root_items += from->root_items;
	to->root_words += from->root_words;
	to->steals += from->steals;
	to->handoffs += from->handoffs;
	to->overflows += from->overflows;
	to->idle_waits += from->idle_waits;
	to->rescans += from->rescans;
	to->dirty_pages += from->dirty_pages;
}

static void mark_keep_span(struct gch_span *s)
{
	memcpy(s->markbits, s->allocbits, gch_bitmap_bytes(s->nobjs));
}

/**
 * gch_mark_keep_all() - mark every allocated object, after gch_mark_end()
 * @m: the mark state.
 *
 * For a mark the embedder cannot trust (its mutator turned out not to
 * have been stopped throughout, so the roots may be incomplete): the
 * sweep that follows frees nothing, and clears the mark bits as always.
 * The heap must not change meanwhile.  O(spans + objects / 8) bytes.
 */
void gch_mark_keep_all(struct gch_mark *m)
{
	struct gch_heap_core *h = m->h;
	struct gch_span *s;
	unsigned int c;

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		list_for_each_entry(s, &h->central[c].partial, link)
			mark_keep_span(s);
		list_for_each_entry(s, &h->central[c].full, link)
			mark_keep_span(s);
	}
	list_for_each_entry(s, &h->large, link)
		mark_keep_span(s);
}

/**
 * gch_mark_worker_stats() - one worker's statistics of the last mark
 * @m:      the mark state.
 * @worker: the worker's index.
 *
 * Return: its statistics, or NULL for an index out of range.
 */
const struct gch_mark_stats *gch_mark_worker_stats(const struct gch_mark *m,
						   unsigned int worker)
{
	return worker < m->max_workers ? &m->workers[worker]->stats : NULL;
}
