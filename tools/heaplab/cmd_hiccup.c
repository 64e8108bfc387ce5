/*
 * tools/heaplab/cmd_hiccup.c — `heaplab hiccup [--duration D]
 * [--threads N] [--threshold T] [--windows LIST]`: how much this machine
 * stalls a thread that never blocks (hiccup.h). N threads (default: the
 * CPUs available to the process, as HLMAXPROCS's default) spin on
 * CLOCK_MONOTONIC for D (default 5 s); a gap between two readings longer
 * than T (default 100us) is a stall. Prints the stalls per thread (count,
 * total, longest) and the utilization ceiling they set for each window
 * (default 1ms,10ms,100ms): run it before an MMU measurement to know
 * what the machine alone takes (scripts/mmu_bench.sh does).
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/hiccup.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 256
#define MAX_WINDOWS 32

static void hiccup_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab hiccup [--duration D] [--threads N] "
          "[--threshold T]\n"
          "                      [--windows LIST]\n"
          "  --duration D    how long to measure (default 5s)\n"
          "  --threads N     spinning threads, 1..%d (default: the CPUs "
          "available)\n"
          "  --threshold T   the shortest gap counted as a stall (default "
          "100us)\n"
          "  --windows LIST  windows of the utilization ceiling, "
          "comma-separated\n"
          "                  (default 1ms,10ms,100ms)\n"
          "D, T and each window: a number with a unit ns, us, ms or s.\n",
          MAX_THREADS);
}

typedef struct {
  int64_t t0, duration, threshold;
  hl_gap_t *gaps;
  size_t n, cap;
  int oom;
} spinner_t;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *spin(void *arg) {
  spinner_t *s = arg;
  int64_t end = s->t0 + s->duration, last = now_ns();
  while (last < end) {
    int64_t t = now_ns();
    if (t - last > s->threshold && !s->oom) {
      if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        hl_gap_t *g = realloc(s->gaps, cap * sizeof *g);
        if (!g) {
          s->oom = 1;
          last = t;
          continue;
        }
        s->gaps = g;
        s->cap = cap;
      }
      int64_t a = last - s->t0 < 0 ? 0 : last - s->t0;
      int64_t b = t - s->t0 > s->duration ? s->duration : t - s->t0;
      if (b > a)
        s->gaps[s->n++] = (hl_gap_t){a, b - a};
    }
    last = t;
  }
  return NULL;
}

static int parse_dur(const char *what, const char *v, int64_t *ns) {
  if (cli_parse_duration(v, ns) == 0)
    return 0;
  return cli_usage_error(&cmd_hiccup,
                         "%s \"%s\" is not a duration (a number with a "
                         "unit ns, us, ms or s)",
                         what, v);
}

static void fmt_ns(char *buf, size_t n, double ns) {
  if (ns >= 1e9)
    snprintf(buf, n, "%.3g s", ns / 1e9);
  else if (ns >= 1e6)
    snprintf(buf, n, "%.3g ms", ns / 1e6);
  else if (ns >= 1e3)
    snprintf(buf, n, "%.3g us", ns / 1e3);
  else
    snprintf(buf, n, "%.0f ns", ns);
}

static int hiccup_run(int argc, char **argv) {
  int64_t duration = 5000000000, threshold = 100000;
  int64_t windows[MAX_WINDOWS] = {1000000, 10000000, 100000000};
  int nw = 3, nthreads = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc)
      return cli_usage_error(&cmd_hiccup, "unknown or incomplete argument "
                                          "\"%s\"",
                             a);
    const char *v = argv[++i];
    int rc = 0;
    if (strcmp(a, "--duration") == 0) {
      rc = parse_dur("--duration", v, &duration);
    } else if (strcmp(a, "--threshold") == 0) {
      rc = parse_dur("--threshold", v, &threshold);
    } else if (strcmp(a, "--threads") == 0) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*v == 0 || *end || n < 1 || n > MAX_THREADS)
        return cli_usage_error(&cmd_hiccup,
                               "--threads \"%s\" is not a number from 1 to "
                               "%d",
                               v, MAX_THREADS);
      nthreads = (int)n;
    } else if (strcmp(a, "--windows") == 0) {
      char buf[512];
      snprintf(buf, sizeof buf, "%s", v);
      nw = 0;
      for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (nw == MAX_WINDOWS)
          return cli_usage_error(&cmd_hiccup, "--windows: at most %d",
                                 MAX_WINDOWS);
        if ((rc = parse_dur("--windows: window", tok, &windows[nw++])))
          return rc;
      }
      if (nw == 0)
        return cli_usage_error(&cmd_hiccup, "--windows: no window given");
    } else {
      return cli_usage_error(&cmd_hiccup, "unknown argument \"%s\"", a);
    }
    if (rc)
      return rc;
  }
  if (nthreads == 0) {
    cpu_set_t set;
    nthreads = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                           : 1;
    if (nthreads > MAX_THREADS)
      nthreads = MAX_THREADS;
  }
  spinner_t *sp = calloc((size_t)nthreads, sizeof *sp);
  pthread_t *th = calloc((size_t)nthreads, sizeof *th);
  if (!sp || !th) {
    fprintf(stderr, "heaplab hiccup: out of memory\n");
    return 1;
  }
  int64_t t0 = now_ns() + 10000000; /* all start together, 10 ms from now */
  for (int k = 0; k < nthreads; k++) {
    sp[k] = (spinner_t){t0, duration, threshold, NULL, 0, 0, 0};
    if (pthread_create(&th[k], NULL, spin, &sp[k]) != 0) {
      fprintf(stderr, "heaplab hiccup: cannot start thread %d\n", k);
      return 1;
    }
  }
  for (int k = 0; k < nthreads; k++)
    pthread_join(th[k], NULL);
  char b1[32], b2[32], b3[32];
  fmt_ns(b1, sizeof b1, (double)duration);
  fmt_ns(b2, sizeof b2, (double)threshold);
  printf("%d threads spinning for %s; stalls are gaps over %s\n", nthreads,
         b1, b2);
  printf("%8s %8s %12s %12s %10s\n", "thread", "stalls", "stalled",
         "longest", "stalled%");
  const hl_gap_t **gaps = calloc((size_t)nthreads, sizeof *gaps);
  size_t *ngaps = calloc((size_t)nthreads, sizeof *ngaps);
  if (!gaps || !ngaps) {
    fprintf(stderr, "heaplab hiccup: out of memory\n");
    return 1;
  }
  int oom = 0;
  for (int k = 0; k < nthreads; k++) {
    int64_t tot = 0, mx = 0;
    for (size_t i = 0; i < sp[k].n; i++) {
      tot += sp[k].gaps[i].len;
      if (sp[k].gaps[i].len > mx)
        mx = sp[k].gaps[i].len;
    }
    fmt_ns(b1, sizeof b1, (double)tot);
    fmt_ns(b3, sizeof b3, (double)mx);
    printf("%8d %8zu %12s %12s %9.2f%%\n", k, sp[k].n, b1, b3,
           100.0 * (double)tot / (double)duration);
    gaps[k] = sp[k].gaps;
    ngaps[k] = sp[k].n;
    oom |= sp[k].oom;
  }
  if (oom)
    printf("(out of memory while recording: some stalls were not kept)\n");
  printf("utilization ceiling (the smallest fraction of any window in which "
         "the threads ran):\n");
  printf("%14s %8s\n", "window", "ceiling");
  for (int i = 0; i < nw; i++) {
    double u = hl_hiccup_min_util(gaps, ngaps, nthreads, duration,
                                  windows[i]);
    fmt_ns(b1, sizeof b1, (double)windows[i]);
    if (u < 0) {
      fprintf(stderr, "heaplab hiccup: out of memory\n");
      return 1;
    }
    if (windows[i] > duration)
      printf("%14s %8s\n", b1, "-");
    else
      printf("%14s %8.3f\n", b1, u);
  }
  for (int k = 0; k < nthreads; k++)
    free(sp[k].gaps);
  free(sp);
  free(th);
  free(gaps);
  free(ngaps);
  return 0;
}

const hl_cmd_t cmd_hiccup = {"hiccup",
                             "the machine's own stalls and the MMU ceiling "
                             "they set",
                             hiccup_run, hiccup_usage};
