/*
 * bench/gbench.h — Google Benchmark for C: register C functions as
 * benchmarks, run the state loop, set arguments and counters.
 *
 * The implementation is the C++ shim bench/gbench_shim.cc (library target
 * hl_gbench); everything Google Benchmark offers on the command line
 * (--benchmark_filter, --benchmark_format=json, --benchmark_out=FILE,
 * --benchmark_repetitions=N, --benchmark_min_time=...) works unchanged.
 *
 * Registration is explicit, from main, before hl_bench_main():
 *
 *   static void bm_pair(hl_bench_state_t *st) {
 *     size_t size = (size_t)hl_bench_range_arg(st, 0);
 *     while (hl_bench_keep_running(st)) {
 *       void *p = hl_malloc(size);
 *       hl_bench_do_not_optimize(p);
 *       hl_free(p);
 *     }
 *     hl_bench_set_items_processed(st, hl_bench_iterations(st));
 *   }
 *
 *   int main(int argc, char **argv) {
 *     hl_bench_range(hl_bench_register("pair", bm_pair), 8, 4096);
 *     return hl_bench_main(argc, argv);
 *   }
 *
 * or, with the same meaning, HL_BENCH_MAIN(register_all) where
 * `static void register_all(void)` makes the hl_bench_register calls.
 *
 * Why explicit registration and not __attribute__((constructor)):
 * constructors run before main in an order between translation units and
 * libraries that nobody states, so a constructor that asks the allocator
 * for its size classes (micro_alloc.c registers one argument per class)
 * could run before the allocator, or a sanitizer runtime, is ready.
 * Registering from main has no ordering question and lets the argument
 * lists depend on run-time data. (A constructor that calls
 * hl_bench_register does work — the registry is created on first use —
 * but it is not what this header promises.)
 *
 * The state loop. hl_bench_keep_running() is inline: it counts down a
 * batch held in the C struct and calls into C++ only when the batch is
 * exhausted — once to start timing and take the whole iteration count the
 * framework chose (State::KeepRunningBatch(max_iterations)), once more to
 * stop timing. The loop costs a decrement and a predictable branch per
 * iteration, the same as C++'s `for (auto _ : state)`. Like that loop, a
 * benchmark must run the loop until it returns false before returning
 * (Google Benchmark reports an error otherwise), except after
 * hl_bench_skip_with_error(), after which it may return at any point.
 *
 * Threads: with hl_bench_threads(b, n) the function runs in n threads at
 * once, each with its own state; they start the timed loop together and
 * wait for each other at its end. Counters set by several threads are
 * summed (see HL_BENCH_COUNTER_AVG_THREADS).
 *
 * All functions are for the benchmark's own thread(s) or, for the
 * registration setters, for main before hl_bench_main(). Misuse (a NULL
 * name or function, a bad time unit) prints a message naming the call and
 * aborts; Google Benchmark itself checks ranges (lo <= hi, ...).
 */
#ifndef HEAPLAB_BENCH_GBENCH_H
#define HEAPLAB_BENCH_GBENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A registered benchmark (family): Google Benchmark's Benchmark object. */
typedef struct hl_bench hl_bench_t;
/* Per-thread state of a running benchmark; opaque except for the loop
 * countdown below. */
typedef struct hl_bench_state hl_bench_state_t;
typedef void (*hl_bench_fn)(hl_bench_state_t *st);

/* Time units of the report (Google Benchmark's TimeUnit). */
typedef enum hl_bench_unit {
  HL_BENCH_NS = 0,
  HL_BENCH_US = 1,
  HL_BENCH_MS = 2,
  HL_BENCH_S = 3,
} hl_bench_unit_t;

/* Counter flags (Google Benchmark's Counter::Flags), combinable with |. */
enum {
  HL_BENCH_COUNTER_DEFAULT = 0,
  /* value / seconds of the run */
  HL_BENCH_COUNTER_RATE = 1 << 0,
  /* value / number of threads */
  HL_BENCH_COUNTER_AVG_THREADS = 1 << 1,
  /* value * iterations (the value was per iteration) */
  HL_BENCH_COUNTER_ITERATION_INVARIANT = 1 << 2,
  /* value / iterations */
  HL_BENCH_COUNTER_AVG_ITERATIONS = 1 << 3,
  /* 1 / value, after the above: RATE|INVERT turns "items" into seconds
   * per item, printed as e.g. "12.3ns" */
  HL_BENCH_COUNTER_INVERT = 1 << 4,
  /* print with 1024 multiples (KiB) instead of 1000 */
  HL_BENCH_COUNTER_BASE_1024 = 1 << 5,
};

/* ---- registration (main, before hl_bench_main) ------------------------ */

/* Registers fn under `name` (copied). Every setter below returns b, so
 * calls nest: hl_bench_unit(hl_bench_arg(b, 8), HL_BENCH_NS). */
hl_bench_t *hl_bench_register(const char *name, hl_bench_fn fn);

/* One run with argument x; may be repeated to add runs. */
hl_bench_t *hl_bench_arg(hl_bench_t *b, int64_t x);
/* One run with n arguments v[0..n-1] (hl_bench_range_arg(st, i)). */
hl_bench_t *hl_bench_args(hl_bench_t *b, const int64_t *v, int n);
/* Runs with lo, hi and the powers of the range multiplier between them
 * (default 8); set the multiplier first. */
hl_bench_t *hl_bench_range(hl_bench_t *b, int64_t lo, int64_t hi);
hl_bench_t *hl_bench_range_multiplier(hl_bench_t *b, int m);
/* Runs with lo, lo + step, ... up to hi. */
hl_bench_t *hl_bench_dense_range(hl_bench_t *b, int64_t lo, int64_t hi,
                                 int step);
/* Names the first argument in the report ("pair/size:64"). */
hl_bench_t *hl_bench_arg_name(hl_bench_t *b, const char *name);
/* Names the first n arguments. */
hl_bench_t *hl_bench_arg_names(hl_bench_t *b, const char *const *names, int n);
/* Runs the function in n threads at once; may be repeated (1, 2, 4 ...). */
hl_bench_t *hl_bench_threads(hl_bench_t *b, int n);
hl_bench_t *hl_bench_unit(hl_bench_t *b, hl_bench_unit_t unit);
/* Reports wall-clock time instead of the CPU time of the calling thread
 * (needed whenever a benchmark waits or hands work to another thread). */
hl_bench_t *hl_bench_use_real_time(hl_bench_t *b);
/* Runs at least this long to choose the iteration count. */
hl_bench_t *hl_bench_min_time(hl_bench_t *b, double seconds);

/* Adds a key/value line to the report's context (console header, JSON
 * "context" object): configuration, commit, preloaded malloc ... */
void hl_bench_add_context(const char *key, const char *value);

/* Parses Google Benchmark's flags (rejecting unknown ones with a message
 * and exit status 1), runs the benchmarks selected by --benchmark_filter
 * and returns 0. */
int hl_bench_main(int argc, char **argv);

#define HL_BENCH_MAIN(register_fn)                                             \
  int main(int argc, char **argv) {                                            \
    register_fn();                                                             \
    return hl_bench_main(argc, argv);                                          \
  }

/* ---- the state loop ---------------------------------------------------- */

/* Private: the first member of every hl_bench_state_t, visible only so the
 * loop test inlines. `left` is the number of iterations of the current
 * batch not yet begun. Do not touch. */
struct hl_bench_loop_ {
  int64_t left;
};

/* Slow path of hl_bench_keep_running: starts or ends the timed loop. */
bool hl_bench_keep_running_slow_(hl_bench_state_t *st);

/* while (hl_bench_keep_running(st)) { one iteration } */
static inline bool hl_bench_keep_running(hl_bench_state_t *st) {
  /* A pointer to a struct, converted, points to its first member
   * (C11 6.7.2.1p15); the shim's struct starts with hl_bench_loop_. */
  struct hl_bench_loop_ *loop = (struct hl_bench_loop_ *)(void *)st;
  if (__builtin_expect(loop->left > 0, 1)) {
    loop->left--;
    return true;
  }
  return hl_bench_keep_running_slow_(st);
}

/* ---- inside a benchmark ------------------------------------------------ */

/* Argument i of this run (0-based); i must be below the number of
 * arguments the run was registered with. */
int64_t hl_bench_range_arg(const hl_bench_state_t *st, int i);
/* Iterations begun so far; after the loop, the total of this thread. */
int64_t hl_bench_iterations(const hl_bench_state_t *st);
/* This thread's index in [0, hl_bench_threads_count(st)). */
int hl_bench_thread_index(const hl_bench_state_t *st);
int hl_bench_threads_count(const hl_bench_state_t *st);

/* Stop / restart this thread's timer inside the loop. Costly (two clock
 * reads each): for setup that must not be timed, not per iteration. */
void hl_bench_pause_timing(hl_bench_state_t *st);
void hl_bench_resume_timing(hl_bench_state_t *st);

/* After the loop: total items / bytes handled by this thread; reported as
 * items_per_second / bytes_per_second. */
void hl_bench_set_items_processed(hl_bench_state_t *st, int64_t items);
void hl_bench_set_bytes_processed(hl_bench_state_t *st, int64_t bytes);
/* A user counter `name` (copied) with HL_BENCH_COUNTER_* flags; setting it
 * again replaces the value. */
void hl_bench_counter(hl_bench_state_t *st, const char *name, double value,
                      unsigned flags);
/* Text printed at the end of the report line (copied). */
void hl_bench_set_label(hl_bench_state_t *st, const char *label);
/* Reports the run as failed with msg (copied); the loop ends at its next
 * test. The function may also leave at once (break or return, inside or
 * before the loop): the shim finishes the loop protocol for it, so the
 * other threads of a threaded run are not left waiting. */
void hl_bench_skip_with_error(hl_bench_state_t *st, const char *msg);

/* Makes p (and the memory it points to) escape, so the computation of p
 * and the stores through it are kept (Google Benchmark's DoNotOptimize). */
static inline void hl_bench_do_not_optimize(void *p) {
  __asm__ volatile("" : : "r"(p) : "memory");
}

/* Forces every pending store to memory to be performed (ClobberMemory). */
static inline void hl_bench_clobber_memory(void) {
  __asm__ volatile("" : : : "memory");
}

#ifdef __cplusplus
}
#endif
#endif
