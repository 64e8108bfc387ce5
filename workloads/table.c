/*
 * workloads/table.c — the table of workloads and their `name=value`
 * options, for command lines (bench/gc/hl_gcbench.c, later `heaplab run`).
 *
 * Entry points: wl_workloads, wl_find, wl_defaults, wl_set, wl_usage.
 *
 * Each entry's parameter list mirrors its parameter struct field by field;
 * the adapter (bt_run, gcb_run) copies values[] into the struct in that
 * order. The ranges here are the run functions' own, so that a bad value
 * is named on the command line rather than reported as a bare -EINVAL.
 */
#include "workloads/workloads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ binary-trees */

static const wl_param_t bt_params[] = {
    {"depth", 10, 1, 29, "depth of the long-lived tree (the game's N)"},
    {"min_depth", 4, 0, 27, "depth of the smallest trees"},
    {"parallel", 1, 0, 1, "1: a goroutine per depth, as Go #2; 0: sequential"},
};

static int bt_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_binarytrees_params_t p = {
      .depth = (int)v[0], .min_depth = (int)v[1], .parallel = (int)v[2]};
  return wl_binarytrees_run(&p, out, m);
}

static const wl_workload_t wl_binarytrees = {
    "binarytrees",
    "the Benchmarks Game's binary-trees (checksums as the game prints them)",
    bt_params, sizeof bt_params / sizeof bt_params[0], NULL, bt_run};

/* ----------------------------------------------------------------- GCBench */

static const wl_param_t gcb_params[] = {
    {"stretch_depth", 18, 1, 30, "depth of the stretch tree"},
    {"long_lived_depth", 16, 1, 30, "depth of the long-lived tree"},
    {"array_size", 500000, 1001, 100000000, "doubles in the long-lived array"},
    {"min_depth", 4, 0, 30, "depth of the smallest temporary trees"},
    {"max_depth", 16, 0, 30,
     "depth of the largest temporary trees (<= stretch_depth)"},
};

static int gcb_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_gcbench_params_t p = {.stretch_depth = (int)v[0],
                           .long_lived_depth = (int)v[1],
                           .array_size = (int)v[2],
                           .min_depth = (int)v[3],
                           .max_depth = (int)v[4]};
  return wl_gcbench_run(&p, out, m);
}

static const wl_workload_t wl_gcbench = {
    "gcbench", "Boehm and Ellis's GCBench (top-down and bottom-up trees)",
    gcb_params, sizeof gcb_params / sizeof gcb_params[0], NULL, gcb_run};

/* --------------------------------------------------------------- poolbench */

static const wl_param_t pb_params[] = {
    {"pattern", 0, 0, 1, "0: request buffers, 1: parser documents"},
    {"goroutines", 8, 1, 4096, "goroutines sharing the operations"},
    {"ops", 0, 0, 1000000000L,
     "requests or documents (0: 200000 or 20000, about 1 s)"},
    {"bufsize", 4096, 64, 1 << 20, "request: data bytes per buffer"},
    {"objects", 256, 1, 1000000, "parser: tokens per document"},
    {"strlen", 24, 1, 1024, "parser: mean token text length"},
};

static int pb_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  wl_poolbench_params_t p = {.pattern = (int)v[0],
                             .strategy = strategy,
                             .goroutines = (int)v[1],
                             .ops = v[2],
                             .bufsize = (int)v[3],
                             .objects = (int)v[4],
                             .strlen = (int)v[5]};
  return wl_poolbench_run(&p, out, m);
}

static const wl_workload_t wl_poolbench = {
    "poolbench",
    "allocation strategies (none, pool, slab, freelist, region) on request "
    "buffers or parser documents",
    pb_params, sizeof pb_params / sizeof pb_params[0],
    wl_poolbench_strategies, pb_run};

/* ------------------------------------------------------------------ table */

const wl_workload_t *const wl_workloads[] = {&wl_binarytrees, &wl_gcbench,
                                             &wl_poolbench, NULL};

_Static_assert(sizeof bt_params / sizeof bt_params[0] <= WL_MAX_PARAMS,
               "binarytrees: more parameters than WL_MAX_PARAMS");
_Static_assert(sizeof gcb_params / sizeof gcb_params[0] <= WL_MAX_PARAMS,
               "gcbench: more parameters than WL_MAX_PARAMS");
_Static_assert(sizeof pb_params / sizeof pb_params[0] <= WL_MAX_PARAMS,
               "poolbench: more parameters than WL_MAX_PARAMS");

const wl_workload_t *wl_find(const char *name) {
  for (int i = 0; wl_workloads[i] != NULL; i++)
    if (strcmp(wl_workloads[i]->name, name) == 0) return wl_workloads[i];
  return NULL;
}

void wl_metric(wl_metrics_t *m, const char *name, const char *unit,
               double value) {
  for (int i = 0; i < m->nextra; i++)
    if (strcmp(m->extra[i].name, name) == 0) {
      m->extra[i].unit = unit;
      m->extra[i].value = value;
      return;
    }
  if (m->nextra >= WL_MAX_EXTRA) {
    fprintf(stderr, "wl_metric: more than %d figures (adding %s)\n",
            WL_MAX_EXTRA, name);
    abort();
  }
  m->extra[m->nextra++] = (wl_extra_t){name, unit, value};
}

int wl_strategy(const wl_workload_t *w, const char *name, FILE *err) {
  static const char *const only[] = {"none", NULL};
  const char *const *s = w->strategies ? w->strategies : only;
  for (int i = 0; s[i]; i++)
    if (strcmp(s[i], name) == 0) return i;
  if (err) {
    fprintf(err, "%s: unknown strategy '%s'; strategies:", w->name, name);
    for (int i = 0; s[i]; i++) fprintf(err, " %s", s[i]);
    fputc('\n', err);
  }
  return -1;
}

void wl_defaults(const wl_workload_t *w, long *values) {
  for (int i = 0; i < w->nparams; i++)
    values[i] = w->params[i].def;
}

int wl_set(const wl_workload_t *w, long *values, const char *option,
           FILE *err) {
  const char *eq = strchr(option, '=');
  size_t len = eq ? (size_t)(eq - option) : strlen(option);
  for (int i = 0; i < w->nparams; i++) {
    const wl_param_t *p = &w->params[i];
    if (strlen(p->name) != len || strncmp(p->name, option, len) != 0) continue;
    char *end = NULL;
    errno = 0;
    long v = eq ? strtol(eq + 1, &end, 10) : 0;
    if (eq == NULL || eq[1] == '\0' || *end != '\0' || errno != 0 ||
        v < p->min || v > p->max) {
      if (err)
        fprintf(err, "%s: option '%s': %s wants an integer in %ld..%ld\n",
                w->name, option, p->name, p->min, p->max);
      return -EINVAL;
    }
    values[i] = v;
    return 0;
  }
  if (err) {
    fprintf(err, "%s: unknown option '%.*s'; options:", w->name, (int)len,
            option);
    for (int i = 0; i < w->nparams; i++)
      fprintf(err, " %s=N", w->params[i].name);
    fputc('\n', err);
  }
  return -EINVAL;
}

void wl_usage(const wl_workload_t *w, FILE *out) {
  fprintf(out, "%s — %s\n", w->name, w->summary);
  for (int i = 0; i < w->nparams; i++) {
    const wl_param_t *p = &w->params[i];
    fprintf(out, "  %s=N%*s %s (default %ld, %ld..%ld)\n", p->name,
            (int)(18 - strlen(p->name)), "", p->help, p->def, p->min, p->max);
  }
}
