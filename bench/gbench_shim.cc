// bench/gbench_shim.cc — the C++ side of bench/gbench.h.
//
// Entry points: hl_bench_register and its setters (forward to
// benchmark::internal::Benchmark), hl_bench_main (Initialize +
// RunSpecifiedBenchmarks), and the accessors on hl_bench_state_t.
//
// How a C benchmark runs:
//  1. hl_bench_register wraps the C function in a lambda and registers it
//     with benchmark::RegisterBenchmark; the returned Benchmark* is the
//     hl_bench_t handle.
//  2. For each run (and each thread of it) the lambda builds an
//     hl_bench_state on its stack: the loop countdown (left = 0) and the
//     benchmark::State&, and calls the C function with it.
//  3. The C loop's first hl_bench_keep_running finds left == 0 and calls
//     hl_bench_keep_running_slow_, which calls
//     State::KeepRunningBatch(max_iterations): that starts the timer (after
//     the threads' start barrier) and hands out the whole iteration count
//     as one batch. We keep max_iterations - 1 in `left` and return true.
//  4. The C side counts `left` down inline. When it reaches 0 the slow path
//     calls KeepRunningBatch again; State has no iterations left, so it
//     stops the timer (end barrier) and returns false.
// This is exactly what C++'s `for (auto _ : state)` does (StateIterator
// caches max_iterations and calls FinishKeepRunning at 0), with the counter
// living in C.
//
// Rejected: calling State::KeepRunning() through an extern "C" function on
// every iteration — a call that cannot be inlined in every iteration, a
// noticeable share of a fast path of a few ns.

#include "bench/gbench.h"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

struct hl_bench_state {
  hl_bench_loop_ loop; // must stay first: gbench.h reads it through a cast
  benchmark::State *st;
  bool started;  // the timed loop has begun (slow path called once)
  bool finished; // the timed loop has ended (keep_running returned false)
};

static_assert(std::is_standard_layout<hl_bench_state>::value,
              "gbench.h casts hl_bench_state * to its first member");
static_assert(offsetof(hl_bench_state, loop) == 0,
              "hl_bench_keep_running reads the countdown at offset 0");

namespace {

[[noreturn]] void misuse(const char *call, const char *what) {
  std::fprintf(stderr, "heaplab bench: %s: %s\n", call, what);
  std::abort();
}

benchmark::internal::Benchmark *B(hl_bench_t *b, const char *call) {
  if (b == nullptr) misuse(call, "NULL benchmark handle");
  return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

hl_bench_t *H(benchmark::internal::Benchmark *b) {
  return reinterpret_cast<hl_bench_t *>(b);
}

} // namespace

extern "C" {

hl_bench_t *hl_bench_register(const char *name, hl_bench_fn fn) {
  if (name == nullptr || *name == '\0')
    misuse("hl_bench_register", "empty benchmark name");
  if (fn == nullptr) misuse("hl_bench_register", "NULL benchmark function");
  auto *b = benchmark::RegisterBenchmark(name, [fn](benchmark::State &state) {
    hl_bench_state st{{0}, &state, false, false};
    fn(&st);
    // A function that skipped with an error may leave before its loop
    // ended (or began). Finish State's protocol for it: in a threaded
    // run the other threads wait for this one at the start and stop
    // barriers. Without an error, leaving early is the caller's bug and
    // Google Benchmark reports it.
    if (state.error_occurred() && !st.finished)
      (void)hl_bench_keep_running_slow_(&st);
  });
  return H(b);
}

hl_bench_t *hl_bench_arg(hl_bench_t *b, int64_t x) {
  return H(B(b, "hl_bench_arg")->Arg(x));
}

hl_bench_t *hl_bench_args(hl_bench_t *b, const int64_t *v, int n) {
  if (v == nullptr || n <= 0) misuse("hl_bench_args", "needs n > 0 arguments");
  return H(B(b, "hl_bench_args")->Args(std::vector<int64_t>(v, v + n)));
}

hl_bench_t *hl_bench_range(hl_bench_t *b, int64_t lo, int64_t hi) {
  return H(B(b, "hl_bench_range")->Range(lo, hi));
}

hl_bench_t *hl_bench_range_multiplier(hl_bench_t *b, int m) {
  return H(B(b, "hl_bench_range_multiplier")->RangeMultiplier(m));
}

hl_bench_t *hl_bench_dense_range(hl_bench_t *b, int64_t lo, int64_t hi,
                                 int step) {
  return H(B(b, "hl_bench_dense_range")->DenseRange(lo, hi, step));
}

hl_bench_t *hl_bench_arg_name(hl_bench_t *b, const char *name) {
  if (name == nullptr) misuse("hl_bench_arg_name", "NULL name");
  return H(B(b, "hl_bench_arg_name")->ArgName(name));
}

hl_bench_t *hl_bench_arg_names(hl_bench_t *b, const char *const *names, int n) {
  if (names == nullptr || n <= 0)
    misuse("hl_bench_arg_names", "needs n > 0 names");
  std::vector<std::string> v;
  for (int i = 0; i < n; i++) {
    if (names[i] == nullptr) misuse("hl_bench_arg_names", "NULL name");
    v.emplace_back(names[i]);
  }
  return H(B(b, "hl_bench_arg_names")->ArgNames(v));
}

hl_bench_t *hl_bench_threads(hl_bench_t *b, int n) {
  return H(B(b, "hl_bench_threads")->Threads(n));
}

hl_bench_t *hl_bench_unit(hl_bench_t *b, hl_bench_unit_t unit) {
  benchmark::TimeUnit u;
  switch (unit) {
  case HL_BENCH_NS:
    u = benchmark::kNanosecond;
    break;
  case HL_BENCH_US:
    u = benchmark::kMicrosecond;
    break;
  case HL_BENCH_MS:
    u = benchmark::kMillisecond;
    break;
  case HL_BENCH_S:
    u = benchmark::kSecond;
    break;
  default:
    misuse("hl_bench_unit", "unit is not HL_BENCH_NS/US/MS/S");
  }
  return H(B(b, "hl_bench_unit")->Unit(u));
}

hl_bench_t *hl_bench_use_real_time(hl_bench_t *b) {
  return H(B(b, "hl_bench_use_real_time")->UseRealTime());
}

hl_bench_t *hl_bench_min_time(hl_bench_t *b, double seconds) {
  return H(B(b, "hl_bench_min_time")->MinTime(seconds));
}

void hl_bench_add_context(const char *key, const char *value) {
  if (key == nullptr || value == nullptr)
    misuse("hl_bench_add_context", "NULL key or value");
  benchmark::AddCustomContext(key, value);
}

int hl_bench_main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

bool hl_bench_keep_running_slow_(hl_bench_state_t *s) {
  benchmark::State &state = *s->st;
  if (s->finished)
    return false; // State must not be asked again: it would CHECK-fail
  if (!s->started) {
    // Step 3: start timing and take every iteration as one batch.
    s->started = true;
    const benchmark::IterationCount n = state.max_iterations;
    if (n > 0 && state.KeepRunningBatch(n)) {
      s->loop.left = static_cast<int64_t>(n) - 1;
      return true;
    }
    // Skipped with an error before the loop: State already stopped.
    s->finished = true;
    return false;
  }
  // Step 4: the batch is used up (or skip_with_error cleared it). State
  // holds no iterations, so this stops the timer and returns false.
  s->loop.left = 0;
  s->finished = true;
  if (state.KeepRunningBatch(state.max_iterations))
    misuse("hl_bench_keep_running",
           "Google Benchmark handed out a second batch; the shim assumes "
           "one batch of max_iterations per run");
  return false;
}

int64_t hl_bench_range_arg(const hl_bench_state_t *s, int i) {
  if (i < 0) misuse("hl_bench_range_arg", "negative argument index");
  return s->st->range(static_cast<std::size_t>(i));
}

int64_t hl_bench_iterations(const hl_bench_state_t *s) {
  // State::iterations() counts the whole batch as soon as it is handed
  // out; subtract what the C loop has not begun yet.
  return static_cast<int64_t>(s->st->iterations()) - s->loop.left;
}

int hl_bench_thread_index(const hl_bench_state_t *s) {
  return s->st->thread_index();
}

int hl_bench_threads_count(const hl_bench_state_t *s) {
  return s->st->threads();
}

void hl_bench_pause_timing(hl_bench_state_t *s) {
  s->st->PauseTiming();
}

void hl_bench_resume_timing(hl_bench_state_t *s) {
  s->st->ResumeTiming();
}

void hl_bench_set_items_processed(hl_bench_state_t *s, int64_t items) {
  s->st->SetItemsProcessed(items);
}

void hl_bench_set_bytes_processed(hl_bench_state_t *s, int64_t bytes) {
  s->st->SetBytesProcessed(bytes);
}

void hl_bench_counter(hl_bench_state_t *s, const char *name, double value,
                      unsigned flags) {
  if (name == nullptr) misuse("hl_bench_counter", "NULL counter name");
  const unsigned known = HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_AVG_THREADS |
                         HL_BENCH_COUNTER_ITERATION_INVARIANT |
                         HL_BENCH_COUNTER_AVG_ITERATIONS |
                         HL_BENCH_COUNTER_INVERT | HL_BENCH_COUNTER_BASE_1024;
  if (flags & ~known)
    misuse("hl_bench_counter", "unknown HL_BENCH_COUNTER_* flag");
  int f = benchmark::Counter::kDefaults;
  if (flags & HL_BENCH_COUNTER_RATE) f |= benchmark::Counter::kIsRate;
  if (flags & HL_BENCH_COUNTER_AVG_THREADS)
    f |= benchmark::Counter::kAvgThreads;
  if (flags & HL_BENCH_COUNTER_ITERATION_INVARIANT)
    f |= benchmark::Counter::kIsIterationInvariant;
  if (flags & HL_BENCH_COUNTER_AVG_ITERATIONS)
    f |= benchmark::Counter::kAvgIterations;
  if (flags & HL_BENCH_COUNTER_INVERT) f |= benchmark::Counter::kInvert;
  const auto k = (flags & HL_BENCH_COUNTER_BASE_1024)
                     ? benchmark::Counter::kIs1024
                     : benchmark::Counter::kIs1000;
  s->st->counters[name] =
      benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f), k);
}

void hl_bench_set_label(hl_bench_state_t *s, const char *label) {
  s->st->SetLabel(label != nullptr ? label : "");
}

void hl_bench_skip_with_error(hl_bench_state_t *s, const char *msg) {
  s->st->SkipWithError(msg != nullptr ? msg : "(no message)");
  s->loop.left = 0; // the loop's next test takes the slow path and ends
}

} // extern "C"
