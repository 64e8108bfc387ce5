/*
 * tools/heaplab/cmd_run_child.c — the hidden subcommand `heaplab run-child`
 * (experiment.h, step 3): runs one workload inside the runtime and writes
 * the complete result file. Started by run_one only:
 *
 *   heaplab run-child TMPFILE REP TRACE|- VERBOSE WORKLOAD --gc=.. --procs=..
 *                     --strategy=.. [--memlimit=..] [--sbrk] [--trace]
 *                     name=value...
 *
 * with HLGC, HLMAXPROCS, HLMEMLIMIT, HLDEBUG and HLTRACE already set.
 *
 * Measurement:
 *  1. t0 = hl_nanotime(); a sampler thread (a plain pthread: it must not
 *     compete with the workload's goroutines for Ps, and must keep sampling
 *     while they run without yielding) records every SAMPLE_NS: time since
 *     t0, RSS (/proc/self/statm), the collector's heap live (bytes in
 *     allocated spans, what the pacer compares with its trigger), heap goal
 *     and completed cycles (hl_gc_stats, which may be called from any
 *     thread);
 *  2. the workload runs in the main goroutine (its output to stderr when
 *     VERBOSE is 1, dropped otherwise: stdout belongs to the parent);
 *  3. the sampler stops (one last sample), then hl_gc_stats, getrusage and
 *     VmHWM give the totals;
 *  4. the result is written to TMPFILE; exit status 0 (checks passed) or 1.
 * When the series fills its buffer, every other sample is dropped and the
 * interval doubles, so a long run keeps an even, bounded series.
 *
 * Test hook: HLRUN_TEST_CRASH=1 kills the child (SIGKILL) after the
 * workload, before any result is written: the parent's "crashed" path.
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/experiment.h"
#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_NS 5000000 /* 5 ms */
#define MAX_SAMPLES 16384

typedef struct sample {
  int64_t t; /* ns since t0 */
  uint64_t rss, live, goal, numgc;
} sample_t;

typedef struct sampler {
  pthread_t thread;
  atomic_int stop;
  int64_t t0, interval;
  int statm; /* fd of /proc/self/statm, or -1 */
  long page;
  hl_gc_stats_t *st;
  sample_t *s;
  int n;
} sampler_t;

static uint64_t rss_now(sampler_t *sp) {
  char buf[128];
  if (sp->statm < 0)
    return 0;
  ssize_t n = pread(sp->statm, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  unsigned long size, resident;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
    return 0;
  return (uint64_t)resident * (uint64_t)sp->page;
}

static void take_sample(sampler_t *sp) {
  if (sp->n == MAX_SAMPLES) { /* keep every other one, sample half as often */
    for (int i = 0; i < MAX_SAMPLES / 2; i++)
      sp->s[i] = sp->s[2 * i];
    sp->n = MAX_SAMPLES / 2;
    sp->interval *= 2;
  }
  hl_gc_stats(sp->st);
  sp->s[sp->n++] = (sample_t){hl_nanotime() - sp->t0, rss_now(sp),
                              sp->st->heap_alloc, sp->st->heap_goal,
                              sp->st->numgc};
}

static void *sampler_main(void *arg) {
  sampler_t *sp = arg;
  while (!atomic_load_explicit(&sp->stop, memory_order_acquire)) {
    take_sample(sp);
    struct timespec ts = {0, sp->interval};
    nanosleep(&ts, NULL);
  }
  take_sample(sp);
  return NULL;
}

typedef struct child {
  run_cfg_t cfg;
  int rep, verbose;
  const char *tmp, *trace;
} child_t;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double vmhwm_bytes(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double v = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0)
      v = strtod(line + 6, NULL) * 1024;
  if (f)
    fclose(f);
  return v;
}

#define MIB (1024.0 * 1024.0)

static int child_main(void *arg) {
  child_t *c = arg;
  const run_cfg_t *cfg = &c->cfg;
  sampler_t sp = {.statm = open("/proc/self/statm", O_RDONLY),
                  .page = sysconf(_SC_PAGESIZE),
                  .interval = SAMPLE_NS};
  sp.st = malloc(sizeof *sp.st);
  sp.s = malloc(MAX_SAMPLES * sizeof *sp.s);
  hl_gc_stats_t *st = malloc(sizeof *st);
  if (!sp.st || !sp.s || !st) {
    fprintf(stderr, "heaplab run-child: out of memory\n");
    return 1;
  }
  atomic_init(&sp.stop, 0);
  sp.t0 = hl_nanotime();
  take_sample(&sp); /* the first here: a run shorter than the thread's
                     * start-up still has its first and last samples */
  int sampling = pthread_create(&sp.thread, NULL, sampler_main, &sp) == 0;

  /* 2. the workload */
  wl_metrics_t m;
  memset(&m, 0, sizeof m);
  int err = cfg->w->run(cfg->values, cfg->strategy,
                        c->verbose ? stderr : NULL, &m);
  int64_t t_end = hl_nanotime();

  if (getenv("HLRUN_TEST_CRASH") && getenv("HLRUN_TEST_CRASH")[0] == '1')
    raise(SIGKILL);

  /* 3. totals */
  atomic_store_explicit(&sp.stop, 1, memory_order_release);
  if (sampling)
    pthread_join(sp.thread, NULL);
  hl_gc_stats(st);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
  double sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  double peak = vmhwm_bytes();
  if (peak <= 0)
    peak = (double)ru.ru_maxrss * 1024;

  /* the last min(numgc, 256) cycles' pauses, oldest first */
  uint64_t np = st->numgc < HL_GC_PAUSES ? st->numgc : HL_GC_PAUSES;
  uint64_t sorted[HL_GC_PAUSES];
  for (uint64_t i = 0; i < np; i++)
    sorted[i] = st->pause_ns[(st->numgc - np + i) % HL_GC_PAUSES];
  qsort(sorted, np, sizeof sorted[0], cmp_u64);
  double p50 = np ? (double)sorted[(np - 1) / 2] : 0;
  double p99 = np ? (double)sorted[(uint64_t)((double)(np - 1) * 0.99)] : 0;

  const char *status = err ? "error" : m.ok ? "ok" : "check_failed";
  char detail[160] = "";
  if (err)
    snprintf(detail, sizeof detail,
             "the workload rejected its parameters (error %d)", err);
  else if (!m.ok)
    snprintf(detail, sizeof detail,
             "the workload's check failed: check %llu, expected %llu",
             (unsigned long long)m.check, (unsigned long long)m.expected);

  /* 4. the result file */
  FILE *f = fopen(c->tmp, "w");
  if (!f) {
    fprintf(stderr, "heaplab run-child: cannot write %s: %s\n", c->tmp,
            strerror(errno));
    return 1;
  }
  jw_t w;
  jw_init(&w, f);
  result_write_head(&w, cfg, c->rep, status, detail[0] ? detail : NULL,
                    c->trace);
  jw_obj_begin(&w, "metrics");
  jw_num(&w, "wall_s", (double)m.wall_ns / 1e9);
  jw_num(&w, "process_wall_s", (double)(t_end - sp.t0) / 1e9);
  jw_num(&w, "cpu_user_s", user);
  jw_num(&w, "cpu_sys_s", sys);
  jw_num(&w, "cpu_s", user + sys);
  jw_num(&w, "peak_rss_mib", peak / MIB);
  jw_num(&w, "objects", (double)m.objects);
  jw_num(&w, "alloc_mib", (double)m.bytes / MIB);
  jw_num(&w, "gc_cycles", (double)st->numgc);
  jw_num(&w, "gc_forced", (double)st->numforced);
  jw_num(&w, "pause_total_ms", (double)st->pause_total_ns / 1e6);
  jw_num(&w, "pause_max_ms", (double)st->pause_max_ns / 1e6);
  jw_num(&w, "pause_p50_ms", p50 / 1e6);
  jw_num(&w, "pause_p99_ms", p99 / 1e6);
  jw_num(&w, "gc_cpu_pct", st->gc_cpu_fraction * 100);
  jw_num(&w, "assist_ms", (double)st->assist_ns / 1e6);
  jw_num(&w, "mark_worker_ms", (double)st->mark_worker_ns / 1e6);
  jw_num(&w, "heap_marked_mib", (double)st->heap_live / MIB);
  jw_num(&w, "heap_goal_mib", (double)st->heap_goal / MIB);
  jw_num(&w, "heap_sys_mib", (double)st->heap_sys / MIB);
  jw_num(&w, "total_alloc_mib", (double)st->total_alloc / MIB);
  jw_obj_end(&w);

  jw_obj_begin(&w, "check");
  jw_int(&w, "value", (int64_t)m.check);
  jw_int(&w, "expected", (int64_t)m.expected);
  jw_bool(&w, "ok", m.ok);
  jw_obj_end(&w);

  jw_obj_begin(&w, "extra");
  for (int i = 0; i < m.nextra; i++)
    jw_num(&w, m.extra[i].name, m.extra[i].value);
  jw_obj_end(&w);
  jw_obj_begin(&w, "extra_units");
  for (int i = 0; i < m.nextra; i++)
    jw_str(&w, m.extra[i].name, m.extra[i].unit);
  jw_obj_end(&w);

  jw_obj_begin(&w, "gc");
  jw_int(&w, "gc_percent", st->gc_percent);
  jw_int(&w, "memory_limit", st->memory_limit);
  jw_int(&w, "numgc", (int64_t)st->numgc);
  jw_int(&w, "numforced", (int64_t)st->numforced);
  jw_int(&w, "pause_total_ns", (int64_t)st->pause_total_ns);
  jw_int(&w, "pause_max_ns", (int64_t)st->pause_max_ns);
  jw_int(&w, "heap_live", (int64_t)st->heap_live);
  jw_int(&w, "heap_goal", (int64_t)st->heap_goal);
  jw_int(&w, "heap_alloc", (int64_t)st->heap_alloc);
  jw_int(&w, "total_alloc", (int64_t)st->total_alloc);
  jw_int(&w, "heap_objects", (int64_t)st->heap_objects);
  jw_int(&w, "heap_sys", (int64_t)st->heap_sys);
  jw_num(&w, "gc_cpu_fraction", st->gc_cpu_fraction);
  jw_int(&w, "assist_ns", (int64_t)st->assist_ns);
  jw_int(&w, "mark_worker_ns", (int64_t)st->mark_worker_ns);
  jw_int(&w, "procs", hl_maxprocs());
  jw_obj_end(&w);

  /* pause end times relative to t0; cycles that ended before t0 (none in
   * a fresh process) would come out negative */
  jw_obj_begin(&w, "pauses");
  jw_arr_begin_inline(&w, "columns");
  jw_str(&w, NULL, "end_s");
  jw_str(&w, NULL, "pause_ms");
  jw_arr_end(&w);
  jw_arr_begin(&w, "data");
  for (uint64_t i = st->numgc - np; i < st->numgc; i++) {
    jw_arr_begin_inline(&w, NULL);
    jw_numf(&w, NULL,
            (double)((int64_t)st->pause_end[i % HL_GC_PAUSES] - sp.t0) / 1e9,
            9);
    jw_numf(&w, NULL, (double)st->pause_ns[i % HL_GC_PAUSES] / 1e6, 6);
    jw_arr_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_end(&w);

  jw_obj_begin(&w, "series");
  jw_numf(&w, "interval_ms", (double)sp.interval / 1e6, 6);
  jw_arr_begin_inline(&w, "columns");
  jw_str(&w, NULL, "t_s");
  jw_str(&w, NULL, "rss_mib");
  jw_str(&w, NULL, "heap_live_mib");
  jw_str(&w, NULL, "heap_goal_mib");
  jw_str(&w, NULL, "gc_cycles");
  jw_arr_end(&w);
  jw_arr_begin(&w, "data");
  for (int i = 0; i < sp.n; i++) {
    jw_arr_begin_inline(&w, NULL);
    jw_numf(&w, NULL, (double)sp.s[i].t / 1e9, 6);
    jw_numf(&w, NULL, (double)sp.s[i].rss / MIB, 6);
    jw_numf(&w, NULL, (double)sp.s[i].live / MIB, 6);
    jw_numf(&w, NULL, (double)sp.s[i].goal / MIB, 6);
    jw_int(&w, NULL, (int64_t)sp.s[i].numgc);
    jw_arr_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_end(&w);
  jw_obj_end(&w);
  jw_finish(&w);
  int bad = ferror(f) | fclose(f);
  if (sp.statm >= 0)
    close(sp.statm);
  free(sp.s);
  free(sp.st);
  free(st);
  if (bad) {
    fprintf(stderr, "heaplab run-child: error writing %s\n", c->tmp);
    return 1;
  }
  return err || !m.ok;
}

static void child_usage(FILE *out) {
  fprintf(out, "usage: (internal) heaplab run-child TMPFILE REP TRACE|- "
               "VERBOSE WORKLOAD CONFIG...\n"
               "  started by `heaplab run` and `heaplab sweep`; not for "
               "direct use\n");
}

static int child_run(int argc, char **argv) {
  if (argc < 6)
    return cli_usage_error(&cmd_run_child, "missing arguments");
  child_t c = {.tmp = argv[1],
               .rep = atoi(argv[2]),
               .trace = strcmp(argv[3], "-") ? argv[3] : NULL,
               .verbose = argv[4][0] == '1'};
  const wl_workload_t *w = wl_find(argv[5]);
  if (!w)
    return cli_usage_error(&cmd_run_child, "unknown workload \"%s\"",
                           argv[5]);
  cfg_defaults(&c.cfg, w);
  for (int i = 6; i < argc; i++) {
    int r = cfg_parse_arg(&c.cfg, argv[i]);
    if (r < 0)
      return 2;
    if (r == 0)
      return cli_usage_error(&cmd_run_child, "unknown argument \"%s\"",
                             argv[i]);
  }
  return hl_main(child_main, &c);
}

const hl_cmd_t cmd_run_child = {"run-child", NULL, child_run, child_usage};
