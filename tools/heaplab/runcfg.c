/*
 * tools/heaplab/runcfg.c — run configurations: defaults, value checks
 * (the same accepted forms as the runtime's own parsing of HLGC,
 * HLMAXPROCS and HLMEMLIMIT, so a bad value is named by the command line
 * before any process starts), names and labels of result files.
 */
#include "tools/heaplab/experiment.h"
#include "base/env.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cfg_strategy_name(const wl_workload_t *w, int i) {
  return w->strategies ? w->strategies[i] : "none";
}

static int available_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void cfg_defaults(run_cfg_t *cfg, const wl_workload_t *w) {
  memset(cfg, 0, sizeof *cfg);
  cfg->w = w;
  strcpy(cfg->gc, "100");
  cfg->procs = available_cpus();
  if (cfg->procs > 1024)
    cfg->procs = 1024;
  wl_defaults(w, cfg->values);
}

int cfg_check_gc(const char *v) {
  int64_t n;
  if (strcmp(v, "off") == 0 || hl_parse_int(v, 0, 1000000, &n) == 0)
    return 0;
  fprintf(stderr, "heaplab: --gc=%s: not a GC percentage (accepted: an "
                  "integer 0..1000000, or off)\n", v);
  return -1;
}

int cfg_check_procs(const char *v, int *out) {
  int64_t n;
  if (hl_parse_int(v, 1, 1024, &n) == 0) {
    *out = (int)n;
    return 0;
  }
  fprintf(stderr, "heaplab: --procs=%s: not a processor count (accepted: "
                  "an integer 1..1024)\n", v);
  return -1;
}

int cfg_check_memlimit(const char *v) {
  uint64_t n;
  if (strlen(v) < 32 &&
      (strcmp(v, "off") == 0 || (hl_parse_size(v, &n) == 0 &&
                                 n <= (uint64_t)INT64_MAX)))
    return 0;
  fprintf(stderr, "heaplab: --memlimit=%s: not a byte size (accepted: an "
                  "integer with an optional unit B, KiB, MiB, GiB, TiB, "
                  "e.g. 512MiB, or off)\n", v);
  return -1;
}

void cfg_params_changed(const run_cfg_t *cfg, char *buf, size_t len) {
  size_t o = 0;
  buf[0] = 0;
  for (int i = 0; i < cfg->w->nparams; i++) {
    if (cfg->values[i] == cfg->w->params[i].def)
      continue;
    int n = snprintf(buf + o, len - o, "%s%s=%ld", o ? "," : "",
                     cfg->w->params[i].name, cfg->values[i]);
    if (n < 0 || (size_t)n >= len - o)
      break;
    o += (size_t)n;
  }
}

/* Appends to buf, keeping only characters safe in a file name. */
static void append_safe(char *buf, size_t len, const char *s) {
  size_t o = strlen(buf);
  for (; *s && o + 1 < len; s++) {
    char c = *s;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '=' ||
             c == '-' ||
             c == '+';
    buf[o++] = ok ? c : c == ',' ? '+' : '_';
  }
  buf[o] = 0;
}

void cfg_stem(const run_cfg_t *cfg, char *buf, size_t len) {
  char part[256];
  buf[0] = 0;
  append_safe(buf, len, cfg->w->name);
  if (cfg->w->strategies) {
    append_safe(buf, len, "-");
    append_safe(buf, len, cfg_strategy_name(cfg->w, cfg->strategy));
  }
  if (cfg->sbrk)
    snprintf(part, sizeof part, "-sbrk");
  else
    snprintf(part, sizeof part, "-gc%s", cfg->gc);
  append_safe(buf, len, part);
  snprintf(part, sizeof part, "-p%d", cfg->procs);
  append_safe(buf, len, part);
  if (cfg->memlimit[0]) {
    snprintf(part, sizeof part, "-mem%s", cfg->memlimit);
    append_safe(buf, len, part);
  }
  if (cfg->trace)
    append_safe(buf, len, "-trace");
  cfg_params_changed(cfg, part, sizeof part);
  if (part[0]) {
    append_safe(buf, len, "-");
    append_safe(buf, len, part);
  }
}

void cfg_label(const run_cfg_t *cfg, char *buf, size_t len) {
  char params[200], strat[96] = "";
  cfg_params_changed(cfg, params, sizeof params);
  if (cfg->w->strategies)
    snprintf(strat, sizeof strat, " strategy=%s",
             cfg_strategy_name(cfg->w, cfg->strategy));
  snprintf(buf, len, "%s%s%s procs=%d%s%s%s%s%s", cfg->sbrk ? "sbrk" : "gc=",
           cfg->sbrk ? "" : cfg->gc, strat, cfg->procs,
           cfg->memlimit[0] ? " memlimit=" : "", cfg->memlimit,
           cfg->trace ? " trace" : "", params[0] ? " " : "", params);
}

void cfg_list_workloads(FILE *out) {
  fprintf(out, "workloads:\n");
  for (int i = 0; wl_workloads[i]; i++)
    fprintf(out, "  %-14s %s\n", wl_workloads[i]->name,
            wl_workloads[i]->summary);
}

void cfg_workload_help(const wl_workload_t *w, FILE *out) {
  wl_usage(w, out);
  fprintf(out, "  strategies (--strategy=NAME):");
  if (w->strategies)
    for (int i = 0; w->strategies[i]; i++)
      fprintf(out, " %s%s", w->strategies[i], i == 0 ? " (default)" : "");
  else
    fprintf(out, " none (the only one)");
  fputc('\n', out);
}

int cfg_parse_arg(run_cfg_t *cfg, const char *a) {
  const wl_workload_t *w = cfg->w;
  if (strncmp(a, "--gc=", 5) == 0) {
    if (cfg_check_gc(a + 5))
      return -1;
    snprintf(cfg->gc, sizeof cfg->gc, "%s", a + 5);
  } else if (strcmp(a, "--sbrk") == 0) {
    cfg->sbrk = 1;
  } else if (strncmp(a, "--procs=", 8) == 0) {
    if (cfg_check_procs(a + 8, &cfg->procs))
      return -1;
  } else if (strncmp(a, "--memlimit=", 11) == 0) {
    if (cfg_check_memlimit(a + 11))
      return -1;
    snprintf(cfg->memlimit, sizeof cfg->memlimit, "%s",
             strcmp(a + 11, "off") == 0 ? "" : a + 11);
  } else if (strncmp(a, "--strategy=", 11) == 0) {
    int s = wl_strategy(w, a + 11, stderr);
    if (s < 0)
      return -1;
    cfg->strategy = s;
  } else if (strcmp(a, "--trace") == 0) {
    cfg->trace = 1;
  } else if (a[0] != '-' && strchr(a, '=')) {
    if (wl_set(w, cfg->values, a, stderr))
      return -1;
  } else {
    return 0;
  }
  return 1;
}

void cfg_env(const run_cfg_t *cfg, const char *trace_path, char *env[5],
             size_t len) {
  snprintf(env[0], len, "HLGC=%s", cfg->gc);
  snprintf(env[1], len, "HLMAXPROCS=%d", cfg->procs);
  snprintf(env[2], len, "HLMEMLIMIT=%s",
           cfg->memlimit[0] ? cfg->memlimit : "off");
  const char *dbg = getenv("HLDEBUG");
  if (cfg->sbrk)
    snprintf(env[3], len, "HLDEBUG=%s%ssbrk=1", dbg && *dbg ? dbg : "",
             dbg && *dbg ? "," : "");
  else
    snprintf(env[3], len, "HLDEBUG=%s", dbg ? dbg : "");
  snprintf(env[4], len, "HLTRACE=%s", trace_path ? trace_path : "");
}
