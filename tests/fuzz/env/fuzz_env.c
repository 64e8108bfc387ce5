/*
 * tests/fuzz/env/fuzz_env.c — the environment parsers under a fuzzer:
 * hl_debug_parse (HLDEBUG), hl_parse_size (HLMEMLIMIT, HLDEBUG maplimit)
 * and hl_parse_int (HLGC, HLMAXPROCS, the integer HLDEBUG keys).
 *
 * Input: byte 0 picks the parser, the rest is the string (cut at the first
 * NUL). What is checked, beyond "no crash, no out-of-bounds read":
 *  - hl_parse_int and hl_parse_size agree with a reference written here the
 *    obvious way (digits, unit table, overflow by division), accepting and
 *    rejecting the same strings with the same values, with the ranges the
 *    runtime uses (HLGC 0..1000000, HLMAXPROCS 1..1024, any int64);
 *  - hl_debug_parse either accepts, with every field inside its key's
 *    range, or rejects with a non-empty message starting with one of its
 *    four forms and leaves the output untouched; the same string parsed
 *    again gives the same result.
 * HLGC, HLMEMLIMIT and HLMAXPROCS themselves are read by static functions
 * of gc/gc.c and sched/proc.c that exit on a bad value; their parsing is
 * hl_parse_int / hl_parse_size with the ranges above (and "off"), and the
 * exit path is covered by the misuse catalogue (tests/misuse).
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DHL_FUZZ=ON \
 *         -DHL_SANITIZE=address,undefined -DHL_BUILD_BENCH=OFF
 *   cmake --build build-fuzz --target fuzz_env
 *   build-fuzz/tests/fuzz/env/fuzz_env -max_total_time=300 tests/fuzz/env/corpus
 */
#include "base/env.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ref_digits(const char *s, size_t n, uint64_t limit, uint64_t *out) {
  if (n == 0)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (d > limit || v > (limit - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static bool ref_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  uint64_t v;
  if (min > max || max < 0 || !ref_digits(s, strlen(s), (uint64_t)max, &v))
    return false;
  if ((int64_t)v < min)
    return false;
  *out = (int64_t)v;
  return true;
}

static bool ref_size(const char *s, uint64_t *out) {
  static const struct {
    const char *u;
    unsigned shift;
  } units[] = {{"", 0},      {"B", 0},   {"K", 10},  {"KB", 10}, {"KiB", 10},
               {"M", 20},    {"MB", 20}, {"MiB", 20}, {"G", 30}, {"GB", 30},
               {"GiB", 30},  {"T", 40},  {"TB", 40}, {"TiB", 40}};
  size_t nd = strspn(s, "0123456789");
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(s + nd, units[i].u) != 0)
      continue;
    uint64_t v;
    if (!ref_digits(s, nd, UINT64_MAX >> units[i].shift, &v))
      return false;
    *out = v << units[i].shift;
    return true;
  }
  return false;
}

static void check_int(const char *s, int64_t min, int64_t max) {
  int64_t got = -7, want = -7;
  int rc = hl_parse_int(s, min, max, &got);
  bool ok = ref_int(s, min, max, &want);
  if ((rc == 0) != ok || (ok && got != want) || (!ok && got != -7))
    abort();
}

static bool in(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }
static bool bit(int v) { return v == 0 || v == 1; }

/* Field by field: the struct has padding, which memcmp would compare. */
static bool vars_equal(const hl_debug_vars_t *a, const hl_debug_vars_t *b) {
  return a->sbrk == b->sbrk && a->scavdelay_ms == b->scavdelay_ms &&
         a->madvdontneed == b->madvdontneed && a->scavenger == b->scavenger &&
         a->stacksize_kib == b->stacksize_kib &&
         a->schedtrace_ms == b->schedtrace_ms &&
         a->scheddetail == b->scheddetail && a->gctrace == b->gctrace &&
         a->gccheckmark == b->gccheckmark &&
         a->gcstoptheworld == b->gcstoptheworld &&
         a->gctrigger == b->gctrigger && a->gcassistcap == b->gcassistcap &&
         a->failmmap == b->failmmap && a->failthread == b->failthread &&
         a->maplimit == b->maplimit;
}

static void check_debug(const char *s) {
  hl_debug_vars_t v, before, again;
  hl_debug_defaults(&v);
  before = v;
  char err[256];
  memset(err, 'x', sizeof err);
  int rc = hl_debug_parse(s, &v, err, sizeof err);
  if (rc == 0) {
    if (!bit(v.sbrk) || !bit(v.madvdontneed) || !bit(v.scavenger) ||
        !bit(v.scheddetail) || !bit(v.gctrace) || !bit(v.gccheckmark) ||
        !bit(v.gcstoptheworld) || !in(v.scavdelay_ms, 0, 3600000) ||
        !in(v.stacksize_kib, 16, 65536) || !in(v.schedtrace_ms, 0, 3600000) ||
        !in(v.failmmap, 0, 1000000000) || !in(v.failthread, 0, 1000000) ||
        !in(v.gctrigger, 0, 95) || !in(v.gcassistcap, 0, 100))
      abort();
  } else {
    if (rc != -1 || memchr(err, 0, sizeof err) == NULL || err[0] == 0)
      abort();
    if (strncmp(err, "unknown key ", 12) && strncmp(err, "bad value ", 10) &&
        strncmp(err, "value ", 6) && strncmp(err, "missing value ", 14) &&
        strncmp(err, "empty setting ", 14))
      abort();
    if (!vars_equal(&v, &before))
      abort();
  }
  hl_debug_defaults(&again);
  if (hl_debug_parse(s, &again, NULL, 0) != rc)
    abort();
  if (rc == 0 && !vars_equal(&again, &v))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  char s[512];
  size_t n = size - 1 < sizeof s - 1 ? size - 1 : sizeof s - 1;
  memcpy(s, data + 1, n);
  s[n] = 0; /* a NUL inside the input ends the string early: fine */
  switch (data[0] % 4) {
  case 0:
    check_debug(s);
    break;
  case 1: {
    uint64_t got = 12345, want = 12345;
    int rc = hl_parse_size(s, &got);
    bool ok = ref_size(s, &want);
    if ((rc == 0) != ok || (ok && got != want) || (!ok && got != 12345))
      abort();
    break;
  }
  case 2:
    check_int(s, 0, 1000000); /* HLGC */
    check_int(s, 1, 1024);    /* HLMAXPROCS */
    check_int(s, 0, INT64_MAX);
    break;
  case 3: {
    /* arbitrary ranges: the bounds come from the input */
    int64_t lo = (int64_t)(int8_t)(n > 0 ? s[0] : 0) * 1000;
    int64_t hi = (int64_t)(uint8_t)(n > 1 ? s[1] : 0) * 100000;
    check_int(n > 2 ? s + 2 : "", lo, hi);
    break;
  }
  }
  return 0;
}

#include "tests/fuzz/replay.h"
