/*
 * bench/gc/hl_gcbench.c — the heaplab side of the collector benchmarks
 * (program gc_heaplab): runs one workload of workloads/ inside the runtime
 * and prints its figures from hl_gc_stats. Its twins, with the same
 * workload definitions, are bench/gc/go/gcbench.go (Go) and
 * bench/gc/boehm.c (Boehm GC); scripts/gc_bench.sh runs the three.
 *
 *   gc_heaplab WORKLOAD [name=value ...] [-q]
 *   gc_heaplab --list          the workloads and their options
 *
 * Processors come from HLMAXPROCS, the heap growth from HLGC (the script
 * sets them as GOMAXPROCS and GOGC for Go). After the workload's own
 * lines (unless -q) it prints
 *
 *   result side=heaplab workload=W params=P wall_ns=N check=C expected=E
 *          ok=1 procs=P gc_percent=G numgc=K pause_total_ns=T
 *          pause_max_ns=M gc_cpu_fraction=F assist_ns=A mark_worker_ns=W
 *          heap_live=L heap_goal=H heap_sys=S total_alloc=B
 *   pauses ns=P1,P2,...
 *
 * pause_max_ns is the longest single stop-the-world; `pauses` lists the
 * per-cycle pauses (both stops of a cycle summed, as Go's PauseNs) of the
 * last min(numgc, 256) cycles, oldest first, from which the report takes
 * the p99. params is the options given, sorted, comma-separated ("-" for
 * none), the same string the Go and Boehm programs print, by which the
 * report pairs the sides. Exit status: 0, 1 when the workload's checks
 * failed, 2 on usage errors.
 */
#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "workloads/workloads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
  const wl_workload_t *w;
  long values[WL_MAX_PARAMS];
  int quiet;
  char params[512];
};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_main(void *arg) {
  struct run *r = arg;
  wl_metrics_t m;
  int err = r->w->run(r->values, 0, r->quiet ? NULL : stdout, &m);
  if (err != 0) {
    fprintf(stderr, "gc_heaplab: %s: parameters out of range\n", r->w->name);
    return 2;
  }
  hl_gc_stats_t *st = malloc(sizeof *st); /* 4 KiB: not on the stack */
  if (st == NULL) return 1;
  hl_gc_stats(st);
  printf("result side=heaplab workload=%s params=%s wall_ns=%" PRId64
         " check=%" PRIu64 " expected=%" PRIu64 " ok=%d objects=%" PRIu64
         " bytes=%" PRIu64 " procs=%d gc_percent=%d numgc=%" PRIu64
         " numforced=%" PRIu64 " pause_total_ns=%" PRIu64
         " pause_max_ns=%" PRIu64 " gc_cpu_fraction=%.6f assist_ns=%" PRIu64
         " mark_worker_ns=%" PRIu64 " heap_live=%" PRIu64 " heap_goal=%" PRIu64
         " heap_sys=%" PRIu64 " total_alloc=%" PRIu64 "\n",
         r->w->name, r->params, m.wall_ns, m.check, m.expected, m.ok, m.objects,
         m.bytes, hl_maxprocs(), st->gc_percent, st->numgc, st->numforced,
         st->pause_total_ns, st->pause_max_ns, st->gc_cpu_fraction,
         st->assist_ns, st->mark_worker_ns, st->heap_live, st->heap_goal,
         st->heap_sys, st->total_alloc);
  /* the ring: the most recent at [(numgc + 255) % 256] */
  uint64_t n = st->numgc < HL_GC_PAUSES ? st->numgc : HL_GC_PAUSES;
  printf("pauses ns=");
  for (uint64_t i = st->numgc - n; i < st->numgc; i++)
    printf("%s%" PRIu64, i == st->numgc - n ? "" : ",",
           st->pause_ns[i % HL_GC_PAUSES]);
  printf("\n");
  free(st);
  fflush(stdout);
  if (!m.ok) {
    fprintf(stderr, "gc_heaplab: %s: check %" PRIu64 ", expected %" PRIu64 "\n",
            r->w->name, m.check, m.expected);
    return 1;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: gc_heaplab WORKLOAD [name=value ...] [-q]\n"
             "       gc_heaplab --list\n");
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; wl_workloads[i] != NULL; i++)
      wl_usage(wl_workloads[i], stdout);
    return 0;
  }
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  static struct run r;
  r.w = wl_find(argv[1]);
  if (r.w == NULL) {
    fprintf(stderr, "gc_heaplab: unknown workload '%s'; workloads:", argv[1]);
    for (int i = 0; wl_workloads[i] != NULL; i++)
      fprintf(stderr, " %s", wl_workloads[i]->name);
    fputc('\n', stderr);
    usage(stderr);
    return 2;
  }
  wl_defaults(r.w, r.values);
  char *given[64];
  int ngiven = 0;
  for (int a = 2; a < argc; a++) {
    if (strcmp(argv[a], "-q") == 0) {
      r.quiet = 1;
    } else if (wl_set(r.w, r.values, argv[a], stderr) != 0) {
      usage(stderr);
      return 2;
    } else if (ngiven < 64) {
      given[ngiven++] = argv[a];
    }
  }
  qsort(given, (size_t)ngiven, sizeof given[0], cmp_str);
  strcpy(r.params, "-");
  for (int i = 0; i < ngiven; i++) {
    size_t len = i == 0 ? 0 : strlen(r.params);
    snprintf(r.params + len, sizeof r.params - len, "%s%s", i ? "," : "",
             given[i]);
  }
  return hl_main(run_main, &r);
}
