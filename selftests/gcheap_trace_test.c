// SPDX-License-Identifier: GPL-2.0
/*
 * Tracing: the gcheap:* tracepoints in tracefs, and gcpause (the libbpf
 * tool) against the numbers the stats ioctl gives the traced process.
 *
 * A workload is a forked child that waits for a go byte, collects (by
 * gch_collect() and by passing its heap goal), then reports its own
 * gch_stats() num_gc and pause_total_ns through a pipe.  gcpause is
 * started before the go, on the child's pid, and exits by itself when the
 * child is gone; its output must count exactly the child's collections
 * and add up to its total pause (within 1 %: both are sums of the same
 * nanosecond figures, so they agree exactly unless an event is lost).
 *
 * Runs as root in the test VM; gcpause is found on PATH (bin/ of the
 * stage) or in $GCPAUSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"

#define TRACEFS			"/sys/kernel/tracing"
#define GCHEAP_EVENTS		TRACEFS "/events/gcheap"
#define EXPLICIT_GCS		3	/* gch_collect() calls per workload */
/* hang detection only: the debug kernel under TCG is slow */
#define TEST_TIMEOUT_S		300
#define GARBAGE_BYTES		(8 << 20)	/* passes the 4 MiB goal */
#define READY_TIMEOUT_MS	120000	/* BPF load under TCG + KASAN */

/* What a workload child reports about itself. */
struct wl_result {
	uint64_t num_gc;
	uint64_t pause_total_ns;
	uint64_t finalize_ns;
	int err;
};

/* The workload's finalizer: its object stays reachable, so it never runs. */
static void wl_fin(void *obj, void *data)
{
	(void)obj;
	(void)data;
	_exit(5);
}

static void *wl_kept;

struct workload {
	pid_t pid;	/* 0 once reaped */
	pid_t tgid;
	int go;		/* write end: one byte starts it */
	int result;	/* read end: struct wl_result */
};

/* Garbage lists, dropped at once: the goal is passed a few times. */
static void wl_run(int go, int result)
{
	struct wl_result r = { 0 };
	struct gch_final_stats fs;
	struct gch_heap_stats st;
	void **link;
	void **list = NULL;
	size_t bytes = 0;
	char c;
	int i;

	if (read(go, &c, 1) != 1)
		_exit(3);
	/*
	 * The heap is this process's own: set it up after the fork.  A
	 * finalizer and a weak link on a kept object give every collection
	 * the finalizer and weak phases (gcpause -P's "finalize").
	 */
	wl_kept = gch_malloc(64);
	link = malloc(sizeof(*link));
	if (!wl_kept || !link || gch_register_finalizer(wl_kept, wl_fin, NULL) ||
	    gch_register_weak(link, wl_kept))
		r.err = errno ?: EIO;
	for (i = 0; !r.err && i < EXPLICIT_GCS; i++) {
		if (gch_collect()) {
			r.err = errno;
			break;
		}
	}
	while (!r.err && bytes < GARBAGE_BYTES) {
		void **node = gch_malloc(64);

		if (!node) {
			r.err = errno;
			break;
		}
		node[0] = list;
		list = bytes % (1 << 20) ? node : NULL;
		bytes += 64;
	}
	if (!r.err && (gch_stats(&st) || gch_final_stats(&fs)))
		r.err = errno;
	r.num_gc = st.num_gc;
	r.pause_total_ns = st.pause_total_ns;
	r.finalize_ns = fs.finalize_ns;
	if (write(result, &r, sizeof(r)) != sizeof(r))
		_exit(4);
	_exit(0);
}

static void wl_start(struct __test_metadata *_metadata, struct workload *w)
{
	int go[2], result[2];

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(result));
	w->pid = fork();
	ASSERT_LE(0, w->pid);
	if (!w->pid) {
		close(go[1]);
		close(result[0]);
		wl_run(go[0], result[1]);
	}
	close(go[0]);
	close(result[1]);
	w->tgid = w->pid;
	w->go = go[1];
	w->result = result[0];
}

static void wl_go(struct __test_metadata *_metadata, struct workload *w)
{
	ASSERT_EQ(1, write(w->go, "g", 1));
	close(w->go);
}

/* Read the child's report and reap it. */
static void wl_finish(struct __test_metadata *_metadata, struct workload *w,
		      struct wl_result *r)
{
	int status;

	ASSERT_EQ(sizeof(*r), read(w->result, r, sizeof(*r)));
	close(w->result);
	ASSERT_EQ(w->pid, waitpid(w->pid, &status, 0));
	w->pid = 0;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, r->err) TH_LOG("workload failed: %s", strerror(r->err));
	/* the explicit ones at least, and some the goal started */
	ASSERT_LT(EXPLICIT_GCS, r->num_gc);
	ASSERT_LT(0, r->pause_total_ns);
}

struct tool {
	pid_t pid;
	int out;	/* its stdout */
	int err;	/* its stderr */
	char errbuf[4096];
	size_t errlen;
};

static const char *gcpause_path(void)
{
	const char *p = getenv("GCPAUSE");

	return p ? p : "gcpause";
}

/* Start gcpause with @argv (NULL-terminated, without the program name). */
static void tool_spawn(struct __test_metadata *_metadata, struct tool *t,
		       const char *const *argv)
{
	const char *args[16] = { gcpause_path() };
	int out[2], err[2];
	int i;

	for (i = 0; argv[i]; i++) {
		ASSERT_GT(15, i + 1);
		args[i + 1] = argv[i];
	}
	ASSERT_EQ(0, pipe(out));
	ASSERT_EQ(0, pipe(err));
	t->pid = fork();
	ASSERT_LE(0, t->pid);
	if (!t->pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execvp(args[0], (char *const *)args);
		fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	t->out = out[0];
	t->err = err[0];
	t->errlen = 0;
	t->errbuf[0] = 0;
}

/* Wait for gcpause's "tracing ..." line: attached from then on. */
static void tool_wait_ready(struct __test_metadata *_metadata, struct tool *t)
{
	struct pollfd p = { .fd = t->err, .events = POLLIN };
	int waited = 0;
	ssize_t n;

	while (!strstr(t->errbuf, "tracing gcheap collections")) {
		ASSERT_LT(waited, READY_TIMEOUT_MS)
			TH_LOG("gcpause not ready: %s", t->errbuf);
		if (poll(&p, 1, 100) == 0) {
			waited += 100;
			continue;
		}
		n = read(t->err, t->errbuf + t->errlen,
			 sizeof(t->errbuf) - 1 - t->errlen);
		ASSERT_LT(0, n) TH_LOG("gcpause ended: %s", t->errbuf);
		t->errlen += n;
		t->errbuf[t->errlen] = 0;
	}
}

/* All of gcpause's stdout until it exits; its exit status. */
static int tool_finish(struct __test_metadata *_metadata, struct tool *t,
		       char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int status;

	while (off < len - 1 && (n = read(t->out, buf + off,
					   len - 1 - off)) > 0)
		off += n;
	buf[off] = 0;
	while (t->errlen < sizeof(t->errbuf) - 1 &&
	       (n = read(t->err, t->errbuf + t->errlen,
			 sizeof(t->errbuf) - 1 - t->errlen)) > 0)
		t->errlen += n;
	t->errbuf[t->errlen] = 0;
	close(t->out);
	close(t->err);
	if (waitpid(t->pid, &status, 0) != t->pid)
		return -1;
	t->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A child a failed test left behind. */
static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Run gcpause to the end with @argv; its status, stdout and stderr. */
static int tool_run(struct __test_metadata *_metadata, struct tool *t,
		    const char *const *argv, char *buf, size_t len)
{
	tool_spawn(_metadata, t, argv);
	return tool_finish(_metadata, t, buf, len);
}

/*
 * In gcpause -j output, where the histogram object of @tgid and @phase
 * starts; NULL if there is none.
 */
static const char *json_hist_obj(const char *out, pid_t tgid,
				 const char *phase)
{
	char key[64];
	const char *p = out;

	snprintf(key, sizeof(key), "{\"tgid\":%d,", tgid);
	while ((p = strstr(p, key))) {
		char want[32];
		const char *ph = strstr(p, "\"phase\":\"");
		const char *end = strchr(p, '}');

		snprintf(want, sizeof(want), "\"phase\":\"%s\"", phase);
		if (ph && end && ph < end && !strncmp(ph, want, strlen(want)))
			return p;
		p += strlen(key);
	}
	return NULL;
}

/*
 * The number "@name": holds in the JSON text from @p up to the first of
 * @stops (a line's end, a histogram's buckets).  False if it is absent.
 */
static bool json_u64(const char *p, const char *stops, const char *name,
		     uint64_t *v)
{
	size_t len;
	char key[64];
	const char *f;

	if (!p)
		return false;
	len = strcspn(p, stops);
	snprintf(key, sizeof(key), "\"%s\":", name);
	f = strstr(p, key);
	if (!f || f >= p + len)
		return false;
	*v = strtoull(f + strlen(key), NULL, 10);
	return true;
}

/* Does the line at @p hold @str? */
static bool line_has(const char *p, const char *str)
{
	const char *f = strstr(p, str);

	return f && f < p + strcspn(p, "\n");
}

/*
 * In gcpause -j output, the histogram object of @tgid and @phase:
 * its count and sum_ns.  False if there is none.
 */
static bool json_hist(const char *out, pid_t tgid, const char *phase,
		      uint64_t *count, uint64_t *sum)
{
	const char *p = json_hist_obj(out, tgid, phase);

	/* the buckets' objects hold counts too: stop at their '[' */
	return p && json_u64(p, "[", "count", count) &&
	       json_u64(p, "[", "sum_ns", sum);
}

/* |a - b| <= 1 % of b */
static bool within_1pct(uint64_t a, uint64_t b)
{
	uint64_t d = a > b ? a - b : b - a;

	return d * 100 <= b;
}

static char outbuf[1 << 20];

/*
 * Trace one workload with gcpause -p while another collects too: the
 * histogram counts exactly the first one's collections, its sum is their
 * total pause, and the second process is not in it.
 */
/* gcpause with @argv over workload @w's collections; its output in outbuf. */
static void tool_over_workload(struct __test_metadata *_metadata, struct tool *t,
			       const char **argv, struct workload *w, struct wl_result *r)
{
	tool_spawn(_metadata, t, argv);
	tool_wait_ready(_metadata, t);
	wl_go(_metadata, w);
	wl_finish(_metadata, w, r);
	ASSERT_EQ(0, tool_finish(_metadata, t, outbuf, sizeof(outbuf)))
		TH_LOG("stderr: %s", t->errbuf);
}

FIXTURE(gcpause) {
	struct workload a, b;
	struct tool t;
};

FIXTURE_VARIANT(gcpause) {
	const char *attach;	/* -a argument */
	bool need_btf;		/* tp_btf: the module must have BTF */
};

FIXTURE_VARIANT_ADD(gcpause, auto) { .attach = "auto" };
FIXTURE_VARIANT_ADD(gcpause, tp_btf) { .attach = "tp_btf", .need_btf = true };
FIXTURE_VARIANT_ADD(gcpause, raw_tp) { .attach = "raw_tp" };

FIXTURE_SETUP(gcpause)
{
	ASSERT_EQ(0, geteuid()) TH_LOG("gcpause needs root");
	/* our kernels all get module BTF (tools/build-module) */
	if (variant->need_btf)
		ASSERT_EQ(0, access("/sys/kernel/btf/gcheap", R_OK))
			TH_LOG("gcheap.ko has no BTF: tp_btf cannot attach");
	wl_start(_metadata, &self->a);
	wl_start(_metadata, &self->b);
}

FIXTURE_TEARDOWN(gcpause)
{
	reap(self->a.pid);
	reap(self->b.pid);
	reap(self->t.pid);
}

/*
 * The per-collection mode does not depend on the attach mode (the
 * histogram tests cover those): one workload, the default mode.
 */
FIXTURE(gcpause_events) {
	struct workload a;
	struct tool t;
};

FIXTURE_SETUP(gcpause_events)
{
	ASSERT_EQ(0, geteuid()) TH_LOG("gcpause needs root");
	wl_start(_metadata, &self->a);
}

FIXTURE_TEARDOWN(gcpause_events)
{
	reap(self->a.pid);
	reap(self->t.pid);
}

/* Histograms with -P: the pause and each phase, for the traced pid only. */
TEST_F_TIMEOUT(gcpause, histogram_counts_one_process, TEST_TIMEOUT_S)
{
	char pid[16];
	const char *argv[] = { "-j", "-P", "-a", variant->attach, "-p", pid,
			       NULL };
	static const char *const phases[] = { "stop", "roots", "mark",
					      "sweep" };
	/* the rows of a mark beside the program (concurrent_mark=1) */
	static const char *const cm_rows[] = { "initial", "concurrent",
					       "final" };
	uint64_t cm_count[3], cm_sum[3], aux;
	bool cm = concurrent_mark_on();
	uint64_t fc, fsum;
	struct wl_result ra, rb;
	uint64_t count, sum, psum = 0;
	unsigned int i;

	snprintf(pid, sizeof(pid), "%d", self->a.tgid);
	tool_spawn(_metadata, &self->t, argv);
	tool_wait_ready(_metadata, &self->t);
	ASSERT_NE(NULL, strstr(self->t.errbuf,
			       strcmp(variant->attach, "raw_tp") ?
			       "(tp_btf)" : "(raw_tp)"))
		TH_LOG("attach mode: %s", self->t.errbuf);
	wl_go(_metadata, &self->a);
	wl_go(_metadata, &self->b);
	wl_finish(_metadata, &self->a, &ra);
	wl_finish(_metadata, &self->b, &rb);
	/* gcpause -p ends when its process is gone */
	ASSERT_EQ(0, tool_finish(_metadata, &self->t, outbuf, sizeof(outbuf)))
		TH_LOG("stderr: %s", self->t.errbuf);

	ASSERT_TRUE(json_hist(outbuf, self->a.tgid, "pause", &count, &sum))
		TH_LOG("no histogram of %d in: %.2000s", self->a.tgid, outbuf);
	EXPECT_EQ(ra.num_gc, count);
	EXPECT_TRUE(within_1pct(sum, ra.pause_total_ns))
		TH_LOG("gcpause %llu ns, stats %llu ns",
		       (unsigned long long)sum,
		       (unsigned long long)ra.pause_total_ns);
	for (i = 0; i < 4; i++) {
		uint64_t c, s;

		ASSERT_TRUE(json_hist(outbuf, self->a.tgid, phases[i], &c, &s))
			TH_LOG("no %s histogram", phases[i]);
		EXPECT_EQ(ra.num_gc, c) TH_LOG("%s", phases[i]);
		psum += s;
	}
	/*
	 * the phases are parts of the pause (a concurrent collection's mark
	 * row has only the mark's part inside its pauses)
	 */
	EXPECT_GE(sum, psum);
	/* the finalizer and weak phases: part of the mark, every collection */
	ASSERT_TRUE(json_hist(outbuf, self->a.tgid, "finalize", &fc, &fsum))
		TH_LOG("no finalize histogram in: %.2000s", outbuf);
	EXPECT_EQ(ra.num_gc, fc);
	EXPECT_TRUE(within_1pct(fsum, ra.finalize_ns))
		TH_LOG("gcpause %llu ns, gch_final_stats %llu ns",
		       (unsigned long long)fsum,
		       (unsigned long long)ra.finalize_ns);
	/* -p: the other process collected, and is not there */
	EXPECT_FALSE(json_hist(outbuf, self->b.tgid, "pause", &count, &sum));

	/*
	 * concurrent_mark=1: every collection marked beside the program
	 * (gcheap_concurrent_mark), so each of its rows counts them all,
	 * and the two pauses add up to the pause; off, there are no such
	 * rows.
	 */
	for (i = 0; i < ARRAY_SIZE(cm_rows); i++) {
		bool found = json_hist(outbuf, self->a.tgid, cm_rows[i],
				       &cm_count[i], &cm_sum[i]);

		if (!cm) {
			EXPECT_FALSE(found)
				TH_LOG("a %s histogram with concurrent_mark off",
				       cm_rows[i]);
			continue;
		}
		ASSERT_TRUE(found)
			TH_LOG("no %s histogram in: %.2000s", cm_rows[i],
			       outbuf);
		EXPECT_EQ(ra.num_gc, cm_count[i]) TH_LOG("%s", cm_rows[i]);
	}
	if (!cm)
		return;
	EXPECT_EQ(sum, cm_sum[0] + cm_sum[2])
		TH_LOG("pause %llu ns, initial %llu + final %llu",
		       (unsigned long long)sum, (unsigned long long)cm_sum[0],
		       (unsigned long long)cm_sum[2]);
	EXPECT_LT(0, cm_sum[1]);
	/* the counts beside the times: there, and max <= sum */
	ASSERT_TRUE(json_u64(json_hist_obj(outbuf, self->a.tgid, "concurrent"),
			     "[", "precleans_sum", &aux));
	ASSERT_TRUE(json_u64(json_hist_obj(outbuf, self->a.tgid, "concurrent"),
			     "[", "precleans_max", &count));
	EXPECT_GE(aux, count);
	ASSERT_TRUE(json_u64(json_hist_obj(outbuf, self->a.tgid, "final"),
			     "[", "dirty_pages_sum", &aux));
	ASSERT_TRUE(json_u64(json_hist_obj(outbuf, self->a.tgid, "final"),
			     "[", "dirty_pages_max", &count));
	EXPECT_GE(aux, count);
}

/*
 * -e -j: one line per collection, numbered 1..n, adding up to the total.
 * With concurrent_mark=1 each is "concurrent":true with its two pauses
 * adding up to its pause_ns; off, none has the fields.
 */
TEST_F_TIMEOUT(gcpause_events, one_per_collection, TEST_TIMEOUT_S)
{
	static const char *const cm_fields[] = { "initial_ns",
		"concurrent_ns", "final_ns", "precleans", "dirty_pages" };
	char pid[16];
	const char *argv[] = { "-e", "-j", "-p", pid, NULL };
	bool cm = concurrent_mark_on();
	struct wl_result ra;
	uint64_t n = 0, sum = 0, ncm = 0, v[5];
	unsigned int i, found;
	const char *p;

	snprintf(pid, sizeof(pid), "%d", self->a.tgid);
	tool_over_workload(_metadata, &self->t, argv, &self->a, &ra);

	for (p = outbuf; (p = strstr(p, "{\"tgid\":")); p++) {
		const char *gc = strstr(p, "\"gc\":");
		const char *pause = strstr(p, "\"pause_ns\":");

		ASSERT_EQ(self->a.tgid, atoi(p + 8));
		ASSERT_NE(NULL, gc);
		ASSERT_NE(NULL, pause);
		n++;
		EXPECT_EQ(n, strtoull(gc + 5, NULL, 10));
		sum += strtoull(pause + 11, NULL, 10);
		/* the fields of a mark beside the program, this line's */
		for (i = 0, found = 0; i < ARRAY_SIZE(cm_fields); i++)
			found += json_u64(p, "\n", cm_fields[i], &v[i]);
		if (!cm) {
			EXPECT_EQ(0, found) TH_LOG("concurrent_mark off: %.400s",
						   p);
			EXPECT_FALSE(line_has(p, "\"concurrent\":"));
			continue;
		}
		EXPECT_TRUE(line_has(p, "\"concurrent\":true"))
			TH_LOG("%.400s", p);
		ASSERT_EQ(ARRAY_SIZE(cm_fields), found) TH_LOG("%.400s", p);
		ncm++;
		EXPECT_EQ(strtoull(pause + 11, NULL, 10), v[0] + v[2])
			TH_LOG("initial + final: %.400s", p);
	}
	EXPECT_EQ(ra.num_gc, n);
	EXPECT_EQ(cm ? n : 0, ncm);
	EXPECT_TRUE(within_1pct(sum, ra.pause_total_ns))
		TH_LOG("gcpause %llu ns, stats %llu ns",
		       (unsigned long long)sum,
		       (unsigned long long)ra.pause_total_ns);
}

/*
 * The text output.  -P: with concurrent_mark=1 the rows of a mark beside
 * the program are there, titled pause or not, and count every
 * collection; off, the output has none of them (as before they came).
 */
TEST_F_TIMEOUT(gcpause_events, text_phases, TEST_TIMEOUT_S)
{
	static const char *const cm_titles[] = {
		"] mark (inside the pauses)\n",
		"] initial (the first pause)\n",
		"] concurrent (marking beside the program: not a pause)\n",
		"] final (the final pause)\n",
		"\npre-cleaning rounds per collection: mean ",
		"\ndirty pages rescanned per collection: mean ",
	};
	char pid[16];
	const char *argv[] = { "-P", "-p", pid, NULL };
	bool cm = concurrent_mark_on();
	struct wl_result ra;
	const char *p;
	unsigned int i;

	snprintf(pid, sizeof(pid), "%d", self->a.tgid);
	tool_over_workload(_metadata, &self->t, argv, &self->a, &ra);

	for (i = 0; i < ARRAY_SIZE(cm_titles); i++) {
		p = cm_titles[i];
		EXPECT_EQ(cm, strstr(outbuf, p) != NULL)
			TH_LOG("concurrent_mark %d, \"%s\" in: %.3000s", cm, p,
			       outbuf);
	}
	/* the plain mark row when no collection marked beside the program */
	EXPECT_EQ(!cm, strstr(outbuf, "] mark\n") != NULL);
	if (!cm)
		return;
	for (i = 1; i < 4; i++) {
		p = strstr(outbuf, cm_titles[i]);
		ASSERT_NE(NULL, p);
		p = strstr(p, "\ncollections ");
		ASSERT_NE(NULL, p);
		EXPECT_EQ(ra.num_gc, strtoull(p + 13, NULL, 10))
			TH_LOG("%s", cm_titles[i]);
	}
}

/*
 * -e: one line per collection; with concurrent_mark=1 each ends with its
 * mark beside the program's parts (initial= ... dirty_pages=), off none.
 */
TEST_F_TIMEOUT(gcpause_events, text_lines, TEST_TIMEOUT_S)
{
	static const char *const cm_keys[] = { " initial=", " concurrent=",
		" final=", " precleans=", " dirty_pages=" };
	char pid[16], want[32];
	const char *argv[] = { "-e", "-p", pid, NULL };
	bool cm = concurrent_mark_on();
	struct wl_result ra;
	uint64_t n = 0;
	char *line, *save;
	unsigned int i, found;

	snprintf(pid, sizeof(pid), "%d", self->a.tgid);
	tool_over_workload(_metadata, &self->t, argv, &self->a, &ra);

	ASSERT_EQ(0, strncmp(outbuf, "TGID ", 5)) TH_LOG("%.400s", outbuf);
	snprintf(want, sizeof(want), "%-7d ", self->a.tgid);
	for (line = strtok_r(outbuf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "TGID ", 5))
			continue;
		ASSERT_EQ(0, strncmp(line, want, strlen(want))) TH_LOG("%s", line);
		n++;
		for (i = 0, found = 0; i < ARRAY_SIZE(cm_keys); i++)
			found += strstr(line, cm_keys[i]) != NULL;
		EXPECT_EQ(cm ? ARRAY_SIZE(cm_keys) : 0, found)
			TH_LOG("concurrent_mark %d: %s", cm, line);
	}
	EXPECT_EQ(ra.num_gc, n);
}

/* The fields Documentation/tracing.rst lists, event by event. */
static const struct {
	const char *event;
	const char *fields[16];
} event_fields[] = {
	{ "gcheap_gc_start", { "tgid", "reason", "heap_id", "gc",
			       "heap_live", "heap_goal" } },
	{ "gcheap_world_stopped", { "tgid", "threads", "heap_id", "gc",
				    "stop_ns" } },
	{ "gcheap_mark_done", { "tgid", "workers", "heap_id", "gc",
				"roots_ns", "mark_ns", "objects_marked",
				"bytes_marked", "bytes_scanned",
				"root_words", "steals" } },
	{ "gcheap_finalize", { "tgid", "heap_id", "gc", "queued", "waiting",
			       "weak_cleared", "weak_dropped",
			       "finalize_ns" } },
	{ "gcheap_sweep_done", { "tgid", "heap_id", "gc", "sweep_ns",
				 "background_ns", "objects_freed",
				 "bytes_freed", "spans_released",
				 "pages_released" } },
	{ "gcheap_gc_end", { "tgid", "reason", "heap_id", "gc", "threads",
			     "workers", "pause_ns", "stop_ns", "roots_ns",
			     "mark_ns", "sweep_ns", "heap_before",
			     "heap_after", "heap_goal" } },
	{ "gcheap_gc_abort", { "tgid", "error", "heap_id", "gc",
			       "elapsed_ns" } },
	{ "gcheap_concurrent_mark", { "tgid", "heap_id", "gc", "initial_ns",
				      "concurrent_ns", "precleans",
				      "dirty_pages", "final_ns" } },
};

static size_t read_file(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	while (off < len - 1 && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	buf[off] = 0;
	close(fd);
	return off;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

TEST(tracefs_event_formats)
{
	char path[256], want[64];
	unsigned int i, j;

	ASSERT_EQ(0, access(GCHEAP_EVENTS, F_OK))
		TH_LOG("%s missing: tracefs not mounted or no tracepoints",
		       GCHEAP_EVENTS);
	for (i = 0; i < sizeof(event_fields) / sizeof(event_fields[0]); i++) {
		snprintf(path, sizeof(path), GCHEAP_EVENTS "/%s/format",
			 event_fields[i].event);
		ASSERT_LT(0, read_file(path, outbuf, sizeof(outbuf)))
			TH_LOG("cannot read %s", path);
		for (j = 0; event_fields[i].fields[j]; j++) {
			/* "field:u64 gc;": the name ends in ';' */
			snprintf(want, sizeof(want), " %s;",
				 event_fields[i].fields[j]);
			EXPECT_NE(NULL, strstr(outbuf, want))
				TH_LOG("%s has no field %s",
				       event_fields[i].event,
				       event_fields[i].fields[j]);
		}
	}
}

/* The value of "name=" in a trace line, or -1. */
static long long trace_field(const char *line, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/*
 * Plain tracefs: every collection of the workload gives its five events
 * in order, numbered alike, and gc_end's pauses add up to its total.
 */
/* tracefs state the test changes, put back whatever happens */
FIXTURE(tracefs) {
	int unused;
};

FIXTURE_SETUP(tracefs)
{
}

FIXTURE_TEARDOWN(tracefs)
{
	write_file(GCHEAP_EVENTS "/enable", "0");
	write_file(TRACEFS "/trace", "");
	write_file(TRACEFS "/trace_clock", "local");
}

/*
 * The library's collections sweep in the background: gc_start,
 * world_stopped, mark_done, finalize and gc_end come from the collecting
 * thread, in that order, one collection after the other; the sweep's
 * sweep_done from the kernel worker after the collection's gc_end, and
 * before the next collection starts.  The trace orders events of
 * different CPUs by their clocks, read by the "global" trace clock (one
 * clock for all CPUs); where those clocks drift apart by a little (they
 * do under TCG), a sweep_done can be listed just after the next
 * gc_start: so sweep_done N is checked to come after gc_end N and before
 * gc_end N + 1, and exactly once.  With concurrent_mark=1 each collection
 * also gives one gcheap_concurrent_mark, between its finalize and gc_end,
 * whose two pauses add up to gc_end's pause_ns.
 */
#define ORDER_MAX_GC	4096

TEST_F_TIMEOUT(tracefs, events_in_order, TEST_TIMEOUT_S)
{
	static const char *const order[] = {
		"gcheap_gc_start:", "gcheap_world_stopped:",
		"gcheap_mark_done:", "gcheap_finalize:", "gcheap_gc_end:",
	};
	static unsigned char swept[ORDER_MAX_GC + 1];
	struct workload w;
	struct wl_result r;
	uint64_t ends = 0, sum = 0, cmarks = 0, cm_pause = 0;
	bool cm = concurrent_mark_on();
	long long gc = 0, n;
	unsigned int next = 0;
	char *line, *save;

	memset(swept, 0, sizeof(swept));
	ASSERT_EQ(0, write_file(TRACEFS "/trace_clock", "global"));
	ASSERT_EQ(0, write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, write_file(TRACEFS "/buffer_size_kb", "1024"));
	ASSERT_EQ(0, write_file(GCHEAP_EVENTS "/enable", "1"));
	wl_start(_metadata, &w);
	wl_go(_metadata, &w);
	wl_finish(_metadata, &w, &r);
	ASSERT_EQ(0, write_file(GCHEAP_EVENTS "/enable", "0"));
	ASSERT_LT(0, read_file(TRACEFS "/trace", outbuf, sizeof(outbuf)));
	EXPECT_EQ(NULL, strstr(outbuf, "LOST"));

	for (line = strtok_r(outbuf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || !strstr(line, "gcheap_") ||
		    trace_field(line, "tgid") != w.tgid)
			continue;
		if (strstr(line, "gcheap_gc_abort:")) {
			TH_LOG("aborted: %s", line);
			continue;
		}
		n = trace_field(line, "gc");
		if (strstr(line, "gcheap_sweep_done:")) {
			/* after its gc_end (then next is 0 or 1 past it) */
			ASSERT_TRUE(n > 0 && n <= ORDER_MAX_GC) TH_LOG("%s", line);
			ASSERT_TRUE(n == gc ? next == 0 :
				    n == gc - 1 && next > 0 && next < 5)
				TH_LOG("sweep_done of collection %lld while collection %lld expects %s: %s",
				       n, gc, order[next], line);
			EXPECT_EQ(0, swept[n]++) TH_LOG("%s", line);
			continue;
		}
		if (strstr(line, "gcheap_concurrent_mark:")) {
			ASSERT_TRUE(cm) TH_LOG("concurrent_mark is off: %s", line);
			ASSERT_TRUE(n == gc && next == 4)
				TH_LOG("expected %s, got %s", order[next], line);
			cmarks++;
			cm_pause = trace_field(line, "initial_ns") +
				   trace_field(line, "final_ns");
			continue;
		}
		ASSERT_NE(NULL, strstr(line, order[next]))
			TH_LOG("expected %s, got %s", order[next], line);
		if (next == 0) {
			EXPECT_EQ(gc + 1, n);
			gc = n;
		} else {
			EXPECT_EQ(gc, n);
		}
		/* the workload's finalizer and link: the phases ran */
		if (next == 3)
			EXPECT_LT(0, trace_field(line, "finalize_ns"));
		if (next == 4) {
			ends++;
			sum += trace_field(line, "pause_ns");
			if (cm)
				EXPECT_EQ(cm_pause, trace_field(line, "pause_ns"))
					TH_LOG("%s", line);
			/* the last one's sweep came before this one ended */
			if (gc > 1 && gc <= ORDER_MAX_GC)
				EXPECT_EQ(1, swept[gc - 1])
					TH_LOG("collection %lld ends before %lld's sweep_done",
					       gc, gc - 1);
		}
		next = (next + 1) % 5;
	}
	EXPECT_EQ(0, next)
		TH_LOG("collection %lld: its events end before %s", gc, order[next]);
	EXPECT_TRUE(gc > 0 && gc <= ORDER_MAX_GC && swept[gc] == 1)
		TH_LOG("collection %lld: no sweep_done", gc);
	EXPECT_EQ(r.num_gc, ends)
		TH_LOG("%llu collections in the stats, %llu gc_end events",
		       (unsigned long long)r.num_gc, (unsigned long long)ends);
	EXPECT_EQ(r.pause_total_ns, sum);
	EXPECT_EQ(cm ? ends : 0, cmarks);
}

/* Bad input and the wrong user get a clear message and an exit status. */
FIXTURE(gcpause_args) {
	int unused;
};

FIXTURE_SETUP(gcpause_args)
{
}

FIXTURE_TEARDOWN(gcpause_args)
{
}

TEST_F_TIMEOUT(gcpause_args, bad_input, TEST_TIMEOUT_S)
{
	static const char *const bad[][4] = {
		{ "-p", "0" }, { "-p", "12x" }, { "-a", "kprobe" },
		{ "0" }, { "1", "0" }, { "1", "2", "3" }, { "-e", "1" },
		{ "--no-such-option" },
	};
	const char *gone[] = { "-p", "999999", NULL };
	struct tool t;
	unsigned int i;
	pid_t pid;
	int status;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(2, tool_run(_metadata, &t, bad[i], outbuf,
				      sizeof(outbuf)))
			TH_LOG("%s %s", bad[i][0], bad[i][1] ? bad[i][1] : "");
		EXPECT_NE(NULL, strstr(t.errbuf, "gcpause: "))
			TH_LOG("no message: %s", t.errbuf);
	}
	EXPECT_EQ(1, tool_run(_metadata, &t, gone, outbuf, sizeof(outbuf)));
	EXPECT_NE(NULL, strstr(t.errbuf, "no process 999999"));

	/* not root: said so, before anything is loaded */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		const char *none[] = { NULL };
		struct tool u;
		int rc;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		rc = tool_run(_metadata, &u, none, outbuf, sizeof(outbuf));
		_exit(rc == 1 && strstr(u.errbuf, "must run as root") ? 0 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_HARNESS_MAIN
