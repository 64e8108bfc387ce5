/*
 * workloads/table.c — the table of workloads and their `name=value`
 * options, for command lines (bench/gc/hl_gcbench.c, later `heaplab run`).
 *
 * Entry points: wl_workloads, wl_find, wl_defaults, wl_set, wl_usage.
 *
 * Each entry's parameter list mirrors its parameter struct field by field;
 * the adapter (bt_run, gcb_run, mr_run, ...) copies values[] into the
 * struct in that order. The ranges here are the run functions' own, so that a bad value
 * is named on the command line rather than reported as a bare -EINVAL.
 */
#include "workloads/workloads.h"

#include <errno.h>
#include <limits.h>
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

/* ---------------------------------------------------------------- msgring */

static const wl_param_t mr_params[] = {
    {"window", 200000, 1, 100000000, "messages kept in the ring"},
    {"messages", 1000000, 1, 10000000000L, "pushes (each allocates one)"},
    {"size", 1024, 16, 1L << 20, "bytes per message (pointer-free)"},
};

static int mr_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_msgring_params_t p = {.window = v[0], .messages = v[1], .size = v[2]};
  return wl_msgring_run(&p, out, m);
}

static const wl_workload_t wl_msgring = {
    "msgring",
    "message-buffer latency: a ring of messages, each push replaces the "
    "oldest (Go's GC latency benchmark)",
    mr_params, sizeof mr_params / sizeof mr_params[0], NULL, mr_run};

/* --------------------------------------------------------------- lrucache */

static const wl_param_t lru_params[] = {
    {"requests", 4000000, 1, 10000000000L, "requests in all"},
    {"keys", 1000000, 1, 1000000000L, "key space"},
    {"capacity", 100000, 1, 100000000L,
     "entries, all shards (>= goroutines)"},
    {"skew", 99, 0, 99, "Zipf exponent in hundredths (0: uniform)"},
    {"value_size", 64, 8, 65536, "bytes per value (a multiple of 8 is used)"},
    {"goroutines", 4, 1, 1024, "goroutines, each with its own shard"},
    {"seed", 1, 0, LONG_MAX, "seed of the key streams"},
};

static int lru_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_lrucache_params_t p = {.requests = v[0],
                            .keys = v[1],
                            .capacity = v[2],
                            .skew = v[3],
                            .value_size = v[4],
                            .goroutines = v[5],
                            .seed = v[6]};
  return wl_lrucache_run(&p, out, m);
}

static const wl_workload_t wl_lrucache = {
    "lrucache",
    "an LRU key-value cache (hash map + list) under Zipf-distributed requests",
    lru_params, sizeof lru_params / sizeof lru_params[0], NULL, lru_run};

/* ----------------------------------------------------------------- larson */

static const wl_param_t lar_params[] = {
    {"goroutines", 4, 1, 1024, "goroutines (larson's threads)"},
    {"slots", 5000, 1, 10000000, "live objects per goroutine"},
    {"min_size", 16, 16, 1L << 20, "smallest object, bytes"},
    {"max_size", 1000, 16, 1L << 20, "largest object, bytes (>= min_size)"},
    {"ops", 20000, 0, 100000000, "replacements per goroutine per round"},
    {"rounds", 60, 1, 1000000, "rounds (slot arrays change hands after each)"},
    {"seed", 1, 0, LONG_MAX, "seed of the slot and size choices"},
};

static int lar_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_larson_params_t p = {.goroutines = v[0],
                          .slots = v[1],
                          .min_size = v[2],
                          .max_size = v[3],
                          .ops = v[4],
                          .rounds = v[5],
                          .seed = v[6]};
  return wl_larson_run(&p, out, m);
}

static const wl_workload_t wl_larson = {
    "larson",
    "larson-style server: slot arrays of live objects replaced at random, "
    "handed between goroutines",
    lar_params, sizeof lar_params / sizeof lar_params[0], NULL, lar_run};

/* --------------------------------------------------------------- prodcons */

static const wl_param_t pc_params[] = {
    {"producers", 2, 1, 1024, "producer goroutines"},
    {"consumers", 2, 1, 1024, "consumer goroutines"},
    {"capacity", 128, 0, 1000000, "channel buffer (0: unbuffered)"},
    {"messages", 2000000, 1, 10000000000L, "messages in all"},
    {"size", 64, 8, 1L << 20, "payload bytes per message"},
};

static int pc_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_prodcons_params_t p = {.producers = v[0],
                            .consumers = v[1],
                            .capacity = v[2],
                            .messages = v[3],
                            .size = v[4]};
  return wl_prodcons_run(&p, out, m);
}

static const wl_workload_t wl_prodcons = {
    "prodcons",
    "producers and consumers over a channel of collected messages",
    pc_params, sizeof pc_params / sizeof pc_params[0], NULL, pc_run};

/* ----------------------------------------------------------------- parser */

static const wl_param_t ps_params[] = {
    {"documents", 1000, 1, 100000000L, "documents generated and parsed"},
    {"doc_size", 32768, 64, 64L << 20, "bytes of text per document"},
    {"keep", 16, 0, 1000000, "parsed documents kept alive"},
    {"seed", 1, 0, LONG_MAX, "seed of the text"},
};

static int ps_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_parser_params_t p = {
      .documents = v[0], .doc_size = v[1], .keep = v[2], .seed = v[3]};
  return wl_parser_run(&p, out, m);
}

static const wl_workload_t wl_parser = {
    "parser", "a tokenizer: many small strings linked into token lists",
    ps_params, sizeof ps_params / sizeof ps_params[0], NULL, ps_run};

/* -------------------------------------------------------------- ptrscalar */

static const wl_param_t psc_params[] = {
    {"records", 500000, 2, 100000000L, "records"},
    {"passes", 20, 1, 1000000, "mutating passes, a forced collection each"},
    {"mode", 0, 0, 1, "0: linked objects (pointers); 1: arrays (indices)"},
    {"seed", 1, 0, LONG_MAX, "seed of the references"},
};

static int psc_run(const long *v, int strategy, FILE *out, wl_metrics_t *m) {
  (void)strategy;
  wl_ptrscalar_params_t p = {
      .records = v[0], .passes = v[1], .mode = v[2], .seed = v[3]};
  return wl_ptrscalar_run(&p, out, m);
}

static const wl_workload_t wl_ptrscalar = {
    "ptrscalar",
    "pointers vs scalars: the same records as linked objects or as arrays",
    psc_params, sizeof psc_params / sizeof psc_params[0], NULL, psc_run};

/* ------------------------------------------------------------------ table */

const wl_workload_t *const wl_workloads[] = {
    &wl_binarytrees,
    &wl_gcbench,
    &wl_msgring,
    &wl_lrucache,
    &wl_larson,
    &wl_prodcons,
    &wl_parser,
    &wl_ptrscalar,
    &wl_poolbench,
    NULL,
};

_Static_assert(sizeof bt_params / sizeof bt_params[0] <= WL_MAX_PARAMS,
               "binarytrees: more parameters than WL_MAX_PARAMS");
_Static_assert(sizeof gcb_params / sizeof gcb_params[0] <= WL_MAX_PARAMS,
               "gcbench: more parameters than WL_MAX_PARAMS");
_Static_assert(sizeof lru_params / sizeof lru_params[0] <= WL_MAX_PARAMS,
               "lrucache: more parameters than WL_MAX_PARAMS");
_Static_assert(sizeof lar_params / sizeof lar_params[0] <= WL_MAX_PARAMS,
               "larson: more parameters than WL_MAX_PARAMS");
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
