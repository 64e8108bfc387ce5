/*
 * tests/fuzz/trace/fuzz_reader.c — the trace reader under a fuzzer.
 *
 * With libFuzzer (clang -fsanitize=fuzzer, CMake option HL_FUZZ=ON) this
 * is the fuzz target: every input is opened as a trace, read to its end or
 * first error, and fed to the MMU builder and the statistics, which must
 * never crash nor read out of bounds (run it in an ASan build). Without
 * libFuzzer the same entry is built as a plain program that replays the
 * files given on its command line (or every file of a directory) — the
 * corpus in corpus/ is replayed this way by ctest (trace.fuzz_replay).
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DHL_FUZZ=ON \
 *         -DHL_SANITIZE=address,undefined
 *   cmake --build build-fuzz --target fuzz_trace_reader
 *   build-fuzz/tests/fuzz/trace/fuzz_trace_reader -max_total_time=60 \
 *         tests/fuzz/trace/corpus
 */
#include "trace/analysis.h"
#include "trace/mmu.h"
#include "trace/reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  hlt_reader_t *r = hlt_open_mem(data, size, err, sizeof err);
  if (!r) {
    if (strncmp(err, "offset ", 7) != 0 && strcmp(err, "out of memory"))
      abort(); /* every error names its offset */
    return 0;
  }
  hlt_util_t u;
  if (hlt_util_read(r, HLT_UTIL_DEFAULT | HLT_UTIL_SWEEP, &u, err,
                    sizeof err) == 0) {
    hlt_mmu_t *m = hlt_mmu_new(&u);
    if (m) {
      double q[2] = {0.01, 0.5}, qv[2];
      double v = hlt_mmu_window(m, 1000);
      if (!(v >= 0 && v <= 1))
        abort();
      hlt_mmu_quantiles(m, 100000, q, 2, qv);
      hlt_mmu_free(m);
    }
    hlt_util_free(&u);
  }
  hlt_close(r);
  r = hlt_open_mem(data, size, err, sizeof err);
  if (r) {
    hlt_stats_t st;
    hlt_stats_compute(r, &st, err, sizeof err);
    hlt_close(r);
  }
  return 0;
}

#include "tests/fuzz/replay.h"
