/*
 * tests/trace/test_rt_emit.c — a real runtime program traced and read
 * back: goroutines over channels, syscalls, regions, logs, GC hooks; the
 * trace must hold exactly what the program did. Also the start/stop
 * contract (EBUSY, EINVAL, a bad path) and a second trace in one process.
 */
#include "../sched/harness.h"
#include "heaplab/trace.h"
#include "trace/analysis.h"
#include "trace/emit.h"
#include "trace/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NWORKERS 64
#define NROUNDS 20

static char path[64];

static hl_chan_t *in, *out;

static void worker(void *arg) {
  (void)arg;
  hl_trace_region_begin("worker");
  for (;;) {
    int64_t v;
    if (!hl_chan_recv(in, &v))
      break;
    hl_sys_nanosleep(1000); /* a syscall per item */
    v *= 2;
    hl_chan_send(out, &v);
  }
  hl_trace_log("worker", "done");
  hl_trace_region_end("worker");
}

typedef struct counts {
  uint64_t kind[TRACE_EV_COUNT_];
  uint64_t blocks_chan, logs_ok, regions_ok, bad_p;
  int64_t lastts[TRACE_MAX_PROCS + 1];
  uint64_t backwards;
} counts_t;

static void read_back(counts_t *c, int nprocs) {
  char err[256];
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  if (!r)
    fail_msg("open: %s", err);
  memset(c, 0, sizeof *c);
  const hlt_header_t *h = hlt_header(r);
  assert_int_equal(h->nprocs, nprocs);
  assert_int_equal(h->pid, getpid());
  hlt_event_t ev;
  int k;
  while ((k = hlt_next(r, &ev)) > 0) {
    c->kind[ev.kind]++;
    if (ev.p >= nprocs)
      c->bad_p++;
    if (ev.ts < c->lastts[ev.p + 1])
      c->backwards++;
    c->lastts[ev.p + 1] = ev.ts;
    if (ev.kind == TRACE_EV_GO_BLOCK) {
      const char *n = hlt_name(h, TRACE_NAMES_BLOCK, ev.args[1]);
      if (strncmp(n, "chan", 4) == 0)
        c->blocks_chan++;
    }
    if (ev.kind == TRACE_EV_LOG && ev.slen[0] == 6 &&
        memcmp(ev.str[0], "worker", 6) == 0 && ev.slen[1] == 4 &&
        memcmp(ev.str[1], "done", 4) == 0 && ev.args[0] > 0)
      c->logs_ok++;
    if ((ev.kind == TRACE_EV_REGION_BEGIN ||
         ev.kind == TRACE_EV_REGION_END) &&
        ev.slen[0] == 6 && memcmp(ev.str[0], "worker", 6) == 0)
      c->regions_ok++;
  }
  if (k < 0)
    fail_msg("read: %s", hlt_error(r));
  assert_int_equal(hlt_end(r)->nlost, 0);
  hlt_close(r);
}

static void test_round_trip(void **state) {
  (void)state;
  snprintf(path, sizeof path, "/tmp/hl_test_emit_%d.hltrace", (int)getpid());
  assert_false(hl_trace_enabled());
  assert_int_equal(hl_trace_start(path), 0);
  assert_true(hl_trace_enabled());
  assert_int_equal(hl_trace_start(path), -EBUSY);
  in = hl_chan_make(sizeof(int64_t), 0);
  out = hl_chan_make(sizeof(int64_t), 0);
  for (int i = 0; i < NWORKERS; i++)
    hl_go(worker, NULL);
  int64_t sum = 0;
  for (int r = 0; r < NROUNDS; r++) {
    for (int64_t i = 0; i < NWORKERS; i++)
      hl_chan_send(in, &i);
    for (int i = 0; i < NWORKERS; i++) {
      int64_t v;
      hl_chan_recv(out, &v);
      sum += v;
    }
  }
  assert_int_equal(sum, (int64_t)NROUNDS * NWORKERS * (NWORKERS - 1));
  hl_chan_close(in);
  /* the GC's hooks, as the collector will call them */
  trace_gc_start();
  trace_stw_start(TRACE_STW_SWEEP_TERM);
  trace_stw_end();
  trace_mark_worker_start(TRACE_MARK_DEDICATED);
  trace_heap_live(12345);
  trace_heap_goal(99999);
  trace_mark_worker_end();
  trace_gc_end();
  while (hl_numgoroutine() > 1)
    hl_sleep(HL_MILLISECOND);
  assert_int_equal(hl_trace_stop(), 0);
  assert_false(hl_trace_enabled());
  assert_int_equal(hl_trace_stop(), -EINVAL);

  counts_t c;
  read_back(&c, hl_maxprocs());
  assert_int_equal(c.bad_p, 0);
  assert_int_equal(c.backwards, 0);
  assert_int_equal(c.kind[TRACE_EV_GO_CREATE], NWORKERS);
  assert_int_equal(c.kind[TRACE_EV_GO_END], NWORKERS);
  assert_int_equal(c.kind[TRACE_EV_GO_SYSCALL], NROUNDS * NWORKERS);
  assert_int_equal(c.kind[TRACE_EV_GO_SYSCALL_END], NROUNDS * NWORKERS);
  assert_int_equal(c.logs_ok, NWORKERS);
  assert_int_equal(c.regions_ok, 2 * NWORKERS);
  assert_true(c.blocks_chan >= NWORKERS); /* each waits on `in` at least */
  assert_true(c.kind[TRACE_EV_GO_UNBLOCK] >= c.kind[TRACE_EV_GO_BLOCK] - 1);
  assert_true(c.kind[TRACE_EV_GO_START] >= NWORKERS);
  assert_true(c.kind[TRACE_EV_PROCS] >= 1);
  assert_true(c.kind[TRACE_EV_PROC_START] >= 1);
  assert_int_equal(c.kind[TRACE_EV_GC_START], 1);
  assert_int_equal(c.kind[TRACE_EV_GC_END], 1);
  assert_int_equal(c.kind[TRACE_EV_STW_START], 1);
  assert_int_equal(c.kind[TRACE_EV_MARK_START], 1);
  assert_int_equal(c.kind[TRACE_EV_HEAP_LIVE], 1);

  /* the statistics agree */
  char err[256];
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  assert_non_null(r);
  hlt_stats_t st;
  assert_int_equal(hlt_stats_compute(r, &st, err, sizeof err), 0);
  hlt_close(r);
  assert_int_equal(st.gc_cycles, 1);
  assert_int_equal(st.npauses, 1);
  assert_int_equal(st.syscalls, NROUNDS * NWORKERS);
  assert_int_equal(st.go_created, NWORKERS);
  assert_int_equal(st.heap_live_max, 12345);
  assert_int_equal(st.heap_goal_last, 99999);
  assert_true(st.clock_drift_ppm < 1000 && st.clock_drift_ppm > -1000);
  unlink(path);
}

static void test_second_trace_and_errors(void **state) {
  (void)state;
  assert_int_equal(hl_trace_start("/nonexistent-dir/x.hltrace"), -ENOENT);
  assert_false(hl_trace_enabled());
  /* while tracing is off the hooks write nothing anywhere */
  hl_trace_log("off", "not recorded");
  snprintf(path, sizeof path, "/tmp/hl_test_emit2_%d.hltrace", (int)getpid());
  assert_int_equal(hl_trace_start(path), 0);
  hl_trace_log("second", "trace");
  hl_yield();
  assert_int_equal(hl_trace_stop(), 0);
  counts_t c;
  read_back(&c, hl_maxprocs());
  assert_int_equal(c.kind[TRACE_EV_LOG], 1);
  assert_int_equal(c.kind[TRACE_EV_GO_CREATE], 0);
  unlink(path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_second_trace_and_errors),
};

HL_SCHED_TEST_MAIN(tests)
