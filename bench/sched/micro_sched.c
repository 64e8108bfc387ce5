/*
 * bench/sched/micro_sched.c — micro benchmarks of the scheduler's fast
 * paths under Google Benchmark (bench/gbench.h). Executable: bench_sched.
 *
 * Google Benchmark itself runs inside the runtime: main() starts hl_main,
 * whose main goroutine calls hl_bench_main(), so every benchmark function
 * runs in a goroutine and may call every hl_* function. The goroutine is
 * not wired to its thread (hl_lock_os_thread would turn every park into a
 * thread handoff), so it may move between threads when it parks: every
 * benchmark reports wall-clock time (hl_bench_use_real_time), never the
 * CPU time of one thread.
 *
 * Benchmarks (one item = one iteration unless stated; each reports
 * items_per_second and time_per_item):
 *   yield/alone          hl_yield with nothing else runnable: the G goes
 *                        to g0, back on the run queue and is picked again.
 *   yield/pair           hl_yield while a partner goroutine yields in a
 *                        loop: one iteration is two switches (main ->
 *                        partner -> main); time_per_switch = half.
 *   spawn                hl_go of a goroutine that calls
 *                        hl_waitgroup_done; every 1024 iterations (and at
 *                        the end) the waitgroup is waited: spawn + run +
 *                        exit, amortized.
 *   chan_pingpong        one round trip over two unbuffered channels with
 *                        a partner goroutine (send, then receive the echo).
 *   mutex                hl_mutex_lock + hl_mutex_unlock, uncontended.
 *
 * Processors: HLMAXPROCS, shown in the context (scripts/sched_bench.sh runs
 * the binary with 1 and with 2). Context lines also carry the commit and
 * build type, as bench_alloc's.
 */
#include "bench/gbench.h"
#include "heaplab/sched.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef HL_BENCH_COMMIT
#define HL_BENCH_COMMIT "unknown"
#endif
#ifndef HL_BENCH_BUILD_TYPE
#define HL_BENCH_BUILD_TYPE "unknown"
#endif

static void report(hl_bench_state_t *st, int64_t items) {
  if (items <= 0) return;
  hl_bench_set_items_processed(st, items);
  hl_bench_counter(st, "time_per_item", (double)items,
                   HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_INVERT);
}

/* ---- yield ------------------------------------------------------------- */

static void bm_yield_alone(hl_bench_state_t *st) {
  while (hl_bench_keep_running(st))
    hl_yield();
  report(st, hl_bench_iterations(st));
}

static _Atomic int partner_stop;
static _Atomic int partner_running;

static void yield_partner(void *arg) {
  (void)arg;
  atomic_store(&partner_running, 1);
  while (!atomic_load_explicit(&partner_stop, memory_order_relaxed))
    hl_yield();
  atomic_store(&partner_running, 0);
}

static void bm_yield_pair(hl_bench_state_t *st) {
  atomic_store(&partner_stop, 0);
  hl_go(yield_partner, NULL);
  while (!atomic_load(&partner_running))
    hl_yield();
  while (hl_bench_keep_running(st))
    hl_yield();
  atomic_store(&partner_stop, 1);
  while (atomic_load(&partner_running))
    hl_yield();
  int64_t n = hl_bench_iterations(st);
  report(st, n);
  if (n > 0)
    hl_bench_counter(st, "time_per_switch", (double)(2 * n),
                     HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_INVERT);
}

/* ---- spawn ------------------------------------------------------------- */

static void spawn_child(void *arg) {
  hl_waitgroup_done(arg);
}

static void bm_spawn(hl_bench_state_t *st) {
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  int64_t k = 0;
  while (hl_bench_keep_running(st)) {
    hl_waitgroup_add(&wg, 1);
    hl_go(spawn_child, &wg);
    if (++k % 1024 == 0) hl_waitgroup_wait(&wg);
  }
  hl_waitgroup_wait(&wg);
  report(st, hl_bench_iterations(st));
}

/* ---- chan ping-pong ---------------------------------------------------- */

struct pingpong {
  hl_chan_t *ping, *pong;
};

static void pingpong_partner(void *arg) {
  struct pingpong *pp = arg;
  int64_t v;
  while (hl_chan_recv(pp->ping, &v))
    hl_chan_send(pp->pong, &v);
  hl_chan_close(pp->pong);
}

static void bm_chan_pingpong(hl_bench_state_t *st) {
  struct pingpong pp = {hl_chan_make(sizeof(int64_t), 0),
                        hl_chan_make(sizeof(int64_t), 0)};
  if (!pp.ping || !pp.pong) {
    hl_bench_skip_with_error(st, "hl_chan_make returned NULL");
    return;
  }
  hl_go(pingpong_partner, &pp);
  int64_t v = 0;
  while (hl_bench_keep_running(st)) {
    hl_chan_send(pp.ping, &v);
    hl_chan_recv(pp.pong, &v);
    v++;
  }
  hl_chan_close(pp.ping);
  while (hl_chan_recv(pp.pong, NULL)) /* the partner has left */
    ;
  hl_chan_free(pp.ping);
  hl_chan_free(pp.pong);
  report(st, hl_bench_iterations(st));
}

/* ---- mutex ------------------------------------------------------------- */

static void bm_mutex(hl_bench_state_t *st) {
  static hl_mutex_t mu = HL_MUTEX_INIT;
  while (hl_bench_keep_running(st)) {
    hl_mutex_lock(&mu);
    hl_bench_clobber_memory();
    hl_mutex_unlock(&mu);
  }
  report(st, hl_bench_iterations(st));
}

/* ---- main -------------------------------------------------------------- */

static void register_all(void) {
  hl_bench_t *b[] = {
      hl_bench_register("yield/alone", bm_yield_alone),
      hl_bench_register("yield/pair", bm_yield_pair),
      hl_bench_register("spawn", bm_spawn),
      hl_bench_register("chan_pingpong", bm_chan_pingpong),
      hl_bench_register("mutex", bm_mutex),
  };
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
    hl_bench_unit(hl_bench_use_real_time(b[i]), HL_BENCH_NS);
}

struct args {
  int argc;
  char **argv;
};

static int run(void *arg) {
  struct args *a = arg;
  char procs[16];
  snprintf(procs, sizeof procs, "%d", hl_maxprocs());
  hl_bench_add_context("heaplab_commit", HL_BENCH_COMMIT);
  hl_bench_add_context("heaplab_build_type", HL_BENCH_BUILD_TYPE);
  hl_bench_add_context("heaplab_maxprocs", procs);
  register_all();
  return hl_bench_main(a->argc, a->argv);
}

int main(int argc, char **argv) {
  struct args a = {argc, argv};
  return hl_main(run, &a);
}
