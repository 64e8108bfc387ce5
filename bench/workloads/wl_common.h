/*
 * bench/workloads/wl_common.h — what the standalone allocator workloads
 * share: command-line parsing, a seeded PRNG, a clock, RSS reading and the
 * result line.
 *
 * The workloads are plain C programs that call malloc/free directly, so
 * that LD_PRELOAD swaps the allocator under them; they never link heaplab.
 * Each prints exactly one result line on stdout, space-separated key=value
 * pairs, e.g.
 *   workload=wl_sizemix threads=2 seed=1 ops=20000000 seconds=1.02 ...
 * which bench/peers/allocbench.py parses. Errors go to stderr with a
 * non-zero exit status (1 for a failed check, 2 for bad usage).
 *
 * Common options (every workload):
 *   -t N, --threads N   worker threads (default 1)
 *   -s X, --scale X     multiplies the amount of work (default 1.0)
 *   --seed N            PRNG seed (default 1); runs with the same seed,
 *                       threads and scale do the same allocations
 */
#ifndef HL_BENCH_WL_COMMON_H
#define HL_BENCH_WL_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct wl_opts {
  int threads;
  double scale;
  uint64_t seed;
} wl_opts_t;

/* Prints a message naming the program and exits: status 1 for a failed
 * check, 2 for bad usage. */
#define WL_FAIL(...)                                                           \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    exit(1);                                                                   \
  } while (0)

#define WL_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) WL_FAIL(__VA_ARGS__);                                         \
  } while (0)

static inline void wl_usage_error(const char *prog, const char *usage,
                                  const char *what, const char *arg) {
  fprintf(stderr, "%s: %s%s%s\nusage: %s %s\n", prog, what, arg ? ": " : "",
          arg ? arg : "", prog, usage);
  exit(2);
}

/* Parses an unsigned decimal in [min, max] or exits with status 2. */
static inline uint64_t wl_parse_u64(const char *prog, const char *usage,
                                    const char *s, uint64_t min, uint64_t max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
    wl_usage_error(prog, usage, "bad number", s);
  return v;
}

static inline double wl_parse_double(const char *prog, const char *usage,
                                     const char *s, double min, double max) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= min && v <= max))
    wl_usage_error(prog, usage, "bad number", s);
  return v;
}

/* If argv[*i] is a common option, consumes it (and its value) and returns 1;
 * otherwise returns 0 and leaves *i alone. */
static inline int wl_common_arg(wl_opts_t *o, const char *usage, int argc,
                                char **argv, int *i) {
  const char *a = argv[*i];
  int is_t = !strcmp(a, "-t") || !strcmp(a, "--threads");
  int is_s = !strcmp(a, "-s") || !strcmp(a, "--scale");
  int is_seed = !strcmp(a, "--seed");
  if (!is_t && !is_s && !is_seed) return 0;
  if (*i + 1 >= argc) wl_usage_error(argv[0], usage, "missing value for", a);
  const char *v = argv[++*i];
  if (is_t)
    o->threads = (int)wl_parse_u64(argv[0], usage, v, 1, 1024);
  else if (is_s)
    o->scale = wl_parse_double(argv[0], usage, v, 1e-4, 1e4);
  else
    o->seed = wl_parse_u64(argv[0], usage, v, 0, UINT64_MAX);
  return 1;
}

/* Value of the option at argv[*i] (consumes it), or a usage error. */
static inline const char *wl_arg_value(const char *usage, int argc, char **argv,
                                       int *i) {
  if (*i + 1 >= argc)
    wl_usage_error(argv[0], usage, "missing value for", argv[*i]);
  return argv[++*i];
}

/* The value of option argv[*i] (consumed) as an integer in [min, max]. */
static inline uint64_t wl_opt_u64(const char *usage, int argc, char **argv,
                                  int *i, uint64_t min, uint64_t max) {
  return wl_parse_u64(argv[0], usage, wl_arg_value(usage, argc, argv, i), min,
                      max);
}

static inline double wl_opt_double(const char *usage, int argc, char **argv,
                                   int *i, double min, double max) {
  return wl_parse_double(argv[0], usage, wl_arg_value(usage, argc, argv, i),
                         min, max);
}

static inline void wl_opts_defaults(wl_opts_t *o) {
  o->threads = 1;
  o->scale = 1.0;
  o->seed = 1;
}

/* Scales a default count, never below min. */
static inline uint64_t wl_scaled(uint64_t base, double scale, uint64_t min) {
  double v = (double)base * scale;
  return v < (double)min ? min : (uint64_t)v;
}

/* ---- PRNG: splitmix64 seeds a xorshift64* stream per thread. ---- */

typedef struct wl_rng {
  uint64_t s;
} wl_rng_t;

static inline uint64_t wl_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A stream for (seed, stream id); distinct ids give independent streams. */
static inline wl_rng_t wl_rng_init(uint64_t seed, uint64_t id) {
  uint64_t x = seed * 0x100000001b3ull + id;
  wl_rng_t r = {wl_splitmix64(&x)};
  if (r.s == 0) r.s = 1;
  return r;
}

static inline uint64_t wl_rand(wl_rng_t *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [lo, hi] (hi - lo much smaller than 2^32: the bias of the
 * multiply-shift reduction is negligible). */
static inline size_t wl_rand_range(wl_rng_t *r, size_t lo, size_t hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1;
  return lo + (size_t)(((wl_rand(r) >> 32) * span) >> 32);
}

/* ---- time and memory ---- */

static inline double wl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void wl_sleep_ms(double ms) {
  long long ns = (long long)(ms * 1e6);
  struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* Resident set size in KiB from /proc/self/statm (no allocation), or -1. */
static inline long wl_rss_kib(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  long size, resident;
  if (sscanf(buf, "%ld %ld", &size, &resident) != 2) return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Writes a byte pattern derived from tag into the first and last bytes of
 * p[0..n) (n >= 1): enough to fault the memory in and to check it later
 * without making the workload a memset benchmark. */
static inline void wl_touch(void *p, size_t n, uint64_t tag) {
  unsigned char *b = p;
  size_t k = n < 8 ? n : 8;
  for (size_t i = 0; i < k; i++)
    b[i] = (unsigned char)(tag >> (8 * i));
  b[n - 1] = (unsigned char)(tag ^ 0x5a);
}

/* Checks what wl_touch wrote; returns 1 when intact. */
static inline int wl_touched_ok(const void *p, size_t n, uint64_t tag) {
  const unsigned char *b = p;
  size_t k = n < 8 ? n : 8;
  for (size_t i = 0; i < k; i++)
    if (i != n - 1 && b[i] != (unsigned char)(tag >> (8 * i))) return 0;
  return b[n - 1] == (unsigned char)(tag ^ 0x5a);
}

/* ---- threads ---- */

static inline void wl_thread_create(pthread_t *t, void *(*fn)(void *),
                                    void *arg) {
  int rc = pthread_create(t, NULL, fn, arg);
  if (rc) WL_FAIL("pthread_create: %s", strerror(rc));
}

static inline void wl_thread_join(pthread_t t) {
  int rc = pthread_join(t, NULL);
  if (rc) WL_FAIL("pthread_join: %s", strerror(rc));
}

/* Prints the start of the result line: workload, threads, seed, scale.
 * The caller adds its own pairs and the final newline. */
static inline void wl_result_begin(const char *name, const wl_opts_t *o) {
  printf("workload=%s threads=%d seed=%llu scale=%g", name, o->threads,
         (unsigned long long)o->seed, o->scale);
}

/* Prints ops, seconds and ops_per_sec, and ends the line. */
static inline void wl_result_end(uint64_t ops, double seconds) {
  printf(" ops=%llu seconds=%.6f ops_per_sec=%.1f\n", (unsigned long long)ops,
         seconds, seconds > 0 ? (double)ops / seconds : 0.0);
  fflush(stdout);
}

#endif
