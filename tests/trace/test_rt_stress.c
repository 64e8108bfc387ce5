/*
 * tests/trace/test_rt_stress.c — traces started and stopped again and
 * again while goroutines on every P keep emitting: the per-P buffers'
 * bump pointers, their refill when full, the stop protocol that collects
 * partly filled buffers from owners that may be mid-append, the global
 * buffer (syscalls) and the string events all at once.
 *
 * Workers: NPAIRS ping-pong pairs over unbuffered channels (GO_UNBLOCK,
 * GO_BLOCK, GO_START with a direct switch), and, through all rounds, a
 * yielder, a goroutine in and out of syscalls (the global buffer) and one
 * logging with hl_trace_log, all emitting while traces start and stop.
 * Each round starts a trace, has the pairs make a number of hops (the
 * last round enough to fill several buffers) while the main goroutine
 * logs LOGS events, and stops. Every trace must then:
 *  - read back without an error, its end record's counts matching (the
 *    reader checks both) and no event lost;
 *  - hold each of the main goroutine's LOGS logs exactly once;
 *  - have each P's events in time order;
 *  - (last round) hold more batches than buffers in use, i.e. buffers
 *    were refilled while their P kept appending.
 * Over all rounds, GO_START events of direct switches share the tick of
 * the GO_BLOCK just before them on their P (trace_go_start_same): some
 * must be seen, and no START may carry a tick before its P's previous
 * event.
 */
#include "../sched/harness.h"
#include "heaplab/trace.h"
#include "trace/analysis.h"
#include "trace/reader.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPAIRS 4
#define ROUNDS 12
#define LOGS 50
#define HOPS 4000        /* per round */
#define HOPS_LAST 100000 /* the last round: > 1 MiB of events */

static atomic_int stop_workers;
static hl_waitgroup_t wg = HL_WAITGROUP_INIT;       /* every worker, at exit */
static hl_waitgroup_t round_wg = HL_WAITGROUP_INIT; /* pingers, per round */
static char path[64];

typedef struct pair {
  hl_chan_t *start; /* hops for this round; -1: exit (capacity 1) */
  hl_chan_t *ping, *pong;
} pair_t;

/* Makes the round's hops with its ponger when main says so: the pairs
 * stop between rounds, so that main (wired to its thread, waiting in
 * the run queue behind pairs that hand the P to each other forever) is
 * not held up. */
static void pinger(void *arg) {
  pair_t *pr = arg;
  for (;;) {
    int64_t n, v = 0;
    hl_chan_recv(pr->start, &n);
    if (n < 0)
      break;
    for (int64_t i = 0; i < n; i++) {
      hl_chan_send(pr->ping, &v);
      hl_chan_recv(pr->pong, &v);
    }
    hl_waitgroup_done(&round_wg);
  }
  int64_t v = -1;
  hl_chan_send(pr->ping, &v);
  hl_waitgroup_done(&wg);
}

static void ponger(void *arg) {
  pair_t *pr = arg;
  for (;;) {
    int64_t v;
    hl_chan_recv(pr->ping, &v);
    if (v < 0)
      break;
    v++;
    hl_chan_send(pr->pong, &v);
  }
  hl_waitgroup_done(&wg);
}

static void yielder(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_workers))
    hl_yield();
  hl_waitgroup_done(&wg);
}

static void syscaller(void *arg) {
  (void)arg;
  /* a P left in a syscall stalls its run queue until sysmon retakes it
   * (up to 10 ms): one short syscall now and then, not back to back */
  while (!atomic_load(&stop_workers)) {
    hl_sys_nanosleep(1000);
    hl_sleep(HL_MILLISECOND);
  }
  hl_waitgroup_done(&wg);
}

static void logger(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_workers)) {
    hl_trace_log("worker", "a log line from a worker goroutine");
    hl_yield();
  }
  hl_waitgroup_done(&wg);
}

typedef struct check {
  uint64_t events, main_logs, batches, same_tick_starts;
  int ps_used;
} check_t;

/* Reads the trace of one round back and checks it (see the top). */
static void read_round(check_t *c) {
  char err[256];
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  if (!r)
    fail_msg("open: %s", err);
  memset(c, 0, sizeof *c);
  static uint64_t lasttick[TRACE_MAX_PROCS + 1];
  static uint32_t lastkind[TRACE_MAX_PROCS + 1];
  static bool used[TRACE_MAX_PROCS + 1];
  memset(lasttick, 0, sizeof lasttick);
  memset(lastkind, 0, sizeof lastkind);
  memset(used, 0, sizeof used);
  hlt_event_t ev;
  int k;
  uint64_t backwards = 0, nlogs = 0, bad_log = 0;
  uint8_t seen[LOGS] = {0};
  while ((k = hlt_next(r, &ev)) > 0) {
    int i = ev.p + 1;
    c->events++;
    used[i] = true;
    if (ev.tick < lasttick[i])
      backwards++;
    if (ev.kind == TRACE_EV_GO_START && lastkind[i] == TRACE_EV_GO_BLOCK &&
        ev.tick == lasttick[i])
      c->same_tick_starts++;
    lasttick[i] = ev.tick;
    lastkind[i] = ev.kind;
    if (ev.kind == TRACE_EV_LOG && ev.slen[0] == 4 &&
        memcmp(ev.str[0], "main", 4) == 0) {
      /* the message is the log's number: each seen once (the main
       * goroutine may change P between logs, and the reader returns P
       * streams batch by batch, so not necessarily in order) */
      char num[16] = {0};
      memcpy(num, ev.str[1], ev.slen[1] < 15 ? ev.slen[1] : 15);
      int n = atoi(num);
      if (n < 0 || n >= LOGS || seen[n]++)
        bad_log++;
      nlogs++;
    }
  }
  if (k < 0)
    fail_msg("read: %s", hlt_error(r));
  assert_int_equal(hlt_end(r)->nlost, 0);
  c->batches = hlt_end(r)->nbatches;
  for (int i = 0; i <= TRACE_MAX_PROCS; i++)
    c->ps_used += used[i];
  c->main_logs = nlogs;
  hlt_close(r);
  assert_int_equal(backwards, 0);
  assert_int_equal(bad_log, 0);
}

static void test_start_stop_under_load(void **state) {
  (void)state;
  snprintf(path, sizeof path, "/tmp/hl_test_tstress_%d.hltrace",
           (int)getpid());
  static pair_t pairs[NPAIRS];
  for (int i = 0; i < NPAIRS; i++) {
    pairs[i].start = hl_chan_make(sizeof(int64_t), 1);
    pairs[i].ping = hl_chan_make(sizeof(int64_t), 0);
    pairs[i].pong = hl_chan_make(sizeof(int64_t), 0);
    hl_waitgroup_add(&wg, 2);
    hl_go(ponger, &pairs[i]);
    hl_go(pinger, &pairs[i]);
  }
  hl_waitgroup_add(&wg, 3);
  hl_go(yielder, NULL);
  hl_go(syscaller, NULL);
  hl_go(logger, NULL);
  uint64_t same_tick_starts = 0;
  for (int round = 0; round < ROUNDS; round++) {
    int64_t want = round == ROUNDS - 1 ? HOPS_LAST : HOPS;
    /* the yielder, the syscaller and the logger are emitting as the
     * trace starts and stops */
    assert_int_equal(hl_trace_start(path), 0);
    hl_waitgroup_add(&round_wg, NPAIRS);
    for (int i = 0; i < NPAIRS; i++) {
      int64_t n = want / NPAIRS;
      hl_chan_send(pairs[i].start, &n);
    }
    for (int i = 0; i < LOGS; i++) {
      char msg[32];
      snprintf(msg, sizeof msg, "%d", i);
      hl_trace_log("main", msg);
    }
    hl_waitgroup_wait(&round_wg);
    assert_int_equal(hl_trace_stop(), 0);
    check_t c;
    read_round(&c);
    assert_int_equal(c.main_logs, LOGS);
    assert_true(c.events > (uint64_t)want); /* 3 events a hop and more */
    same_tick_starts += c.same_tick_starts;
    if (round == ROUNDS - 1)
      assert_true(c.batches > (uint64_t)c.ps_used);
  }
  atomic_store(&stop_workers, 1);
  for (int i = 0; i < NPAIRS; i++) {
    int64_t n = -1;
    hl_chan_send(pairs[i].start, &n);
  }
  hl_waitgroup_wait(&wg);
  for (int i = 0; i < NPAIRS; i++) {
    hl_chan_free(pairs[i].start);
    hl_chan_free(pairs[i].ping);
    hl_chan_free(pairs[i].pong);
  }
  assert_true(same_tick_starts > 0);
  unlink(path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_start_stop_under_load),
};

HL_SCHED_TEST_MAIN(tests)
