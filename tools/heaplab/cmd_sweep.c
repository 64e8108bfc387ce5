/*
 * tools/heaplab/cmd_sweep.c — `heaplab sweep WORKLOAD --gc=50,100,off
 * --procs=1,2 [...] --out DIR`: every combination of the listed values (the
 * cells), each repetition in a fresh process through run_one.
 *
 *  1. Lists: --gc (values PCT, off, and sbrk: the sbrk-mode cell),
 *     --procs, --memlimit, --strategy (or "all"), and workload parameters
 *     (name=v1,v2). --sbrk and --trace apply to every cell.
 *  2. Order: repetitions are interleaved (repetition 1 of every cell, then
 *     repetition 2, ...), so a drift of the machine (thermal, another
 *     build) spreads over all cells instead of biasing one.
 *  3. Resume: a cell's repetition whose result file is present and valid
 *     is skipped; a result file only appears complete (runner.c renames it
 *     into place), so an interrupted sweep restarts where it stopped.
 *  4. Progress: on a terminal, one redrawn line with a bar, the cells done
 *     and an estimate of the time left (mean time of the runs done so far
 *     times the runs left); otherwise one plain line per run.
 * A failed or crashed run is recorded and the sweep goes on; the exit
 * status is then 1.
 *
 * Test hook: HLSWEEP_STOP_AFTER=N ends the sweep (exit status 3) after N
 * runs were executed, as an interruption would.
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/experiment.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_VALUES 32
#define DEFAULT_OUT "out/sweep"

static void sweep_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab sweep WORKLOAD [--gc=LIST] [--procs=LIST] "
          "[--memlimit=LIST]\n"
          "                     [--strategy=LIST|all] [--sbrk] [--trace] "
          "[--repeat=N]\n"
          "                     [--out DIR] [--verbose] [name=LIST ...]\n"
          "  every combination of the lists (comma-separated) is a cell; "
          "each run is\n"
          "  `heaplab run` of that cell (see heaplab help run for the "
          "values)\n"
          "  --gc=LIST         percentages, off, and sbrk (the sbrk-mode "
          "cell),\n"
          "                    e.g. --gc=50,100,200,off,sbrk (default 100)\n"
          "  --procs=LIST      e.g. 1,2 (default: the CPUs available)\n"
          "  --memlimit=LIST   e.g. off,256MiB\n"
          "  --strategy=LIST   strategy names, or all\n"
          "  --repeat=N        repetitions per cell, interleaved (default "
          "1)\n"
          "  --out DIR         results directory (default " DEFAULT_OUT
          "); cells\n"
          "                    already there are skipped (resume)\n");
  cfg_list_workloads(out);
}

typedef struct list {
  char *v[MAX_VALUES];
  int n;
} list_t;

/* Splits a copy of s at commas into l; -1 on an empty item or too many.
 * The copy is never freed: l's values point into it until the command
 * ends. */
static int split(const char *s, list_t *l) {
  char *copy = strdup(s), *save = NULL;
  l->n = 0;
  if (!copy || !*copy || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
    return -1;
  for (char *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    if (l->n == MAX_VALUES)
      return -1;
    l->v[l->n++] = t;
  }
  return 0;
}

static const char *fmt_time(double s, char *buf, size_t len) {
  if (s < 0 || s != s)
    snprintf(buf, len, "?");
  else if (s < 60)
    snprintf(buf, len, "%.0fs", s);
  else if (s < 3600)
    snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
  else
    snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
  return buf;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sweep_run(int argc, char **argv) {
  const wl_workload_t *w = run_workload_arg(&cmd_sweep, argc, argv);
  if (!w)
    return 2;
  run_cfg_t base;
  cfg_defaults(&base, w);
  char procs_default[16];
  snprintf(procs_default, sizeof procs_default, "%d", base.procs);
  list_t gc = {{"100"}, 1}, procs = {{procs_default}, 1}, mem = {{"off"}, 1};
  list_t strat = {{(char *)cfg_strategy_name(w, 0)}, 1};
  list_t params[WL_MAX_PARAMS];
  for (int p = 0; p < w->nparams; p++)
    params[p].n = 0;
  int repeat = 1, verbose = 0;
  const char *outdir = DEFAULT_OUT;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    int r = run_parse_common(&cmd_sweep, argc, argv, &i, &repeat, &outdir,
                             &verbose);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    list_t *l = NULL;
    const char *v = NULL;
    if (strncmp(a, "--gc=", 5) == 0)
      l = &gc, v = a + 5;
    else if (strncmp(a, "--procs=", 8) == 0)
      l = &procs, v = a + 8;
    else if (strncmp(a, "--memlimit=", 11) == 0)
      l = &mem, v = a + 11;
    else if (strncmp(a, "--strategy=", 11) == 0)
      l = &strat, v = a + 11;
    else if (strcmp(a, "--sbrk") == 0)
      base.sbrk = 1;
    else if (strcmp(a, "--trace") == 0)
      base.trace = 1;
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      cfg_workload_help(w, stdout);
      return 0;
    } else if (a[0] != '-' && strchr(a, '=')) {
      const char *eq = strchr(a, '=');
      int p = 0;
      while (p < w->nparams &&
             (strlen(w->params[p].name) != (size_t)(eq - a) ||
              strncmp(w->params[p].name, a, (size_t)(eq - a)) != 0))
        p++;
      if (p == w->nparams) { /* wl_set names the valid options */
        wl_set(w, base.values, a, stderr);
        return cli_usage_error(&cmd_sweep, "unknown workload option \"%s\"",
                               a);
      }
      l = &params[p], v = eq + 1;
    } else {
      return cli_usage_error(&cmd_sweep, "unknown option \"%s\"", a);
    }
    if (l && split(v, l))
      return cli_usage_error(&cmd_sweep, "%s: bad list (comma-separated "
                                         "values, at most %d)", a, MAX_VALUES);
    if (l == &strat && strat.n == 1 && strcmp(strat.v[0], "all") == 0) {
      strat.n = 0;
      for (int s = 0; w->strategies && w->strategies[s] && s < MAX_VALUES;
           s++)
        strat.v[strat.n++] = (char *)w->strategies[s];
      if (!strat.n)
        strat.v[strat.n++] = "none";
    }
  }
  /* every value checked before the first run */
  int bad = 0;
  run_cfg_t probe = base;
  for (int k = 0; k < gc.n; k++)
    bad |= strcmp(gc.v[k], "sbrk") != 0 && cfg_check_gc(gc.v[k]) != 0;
  for (int k = 0; k < procs.n; k++)
    bad |= cfg_check_procs(procs.v[k], &probe.procs) != 0;
  for (int k = 0; k < mem.n; k++)
    bad |= cfg_check_memlimit(mem.v[k]) != 0;
  for (int k = 0; k < strat.n; k++)
    bad |= wl_strategy(w, strat.v[k], stderr) < 0;
  for (int p = 0; p < w->nparams; p++)
    for (int k = 0; k < params[p].n; k++) {
      char opt[256];
      snprintf(opt, sizeof opt, "%s=%s", w->params[p].name, params[p].v[k]);
      bad |= wl_set(w, probe.values, opt, stderr) != 0;
    }
  if (bad) {
    sweep_usage(stderr);
    return 2;
  }

  /* the cells: a mixed-radix counter over the lists */
  list_t *dims[4 + WL_MAX_PARAMS] = {&strat, &gc, &procs, &mem};
  int ndims = 4, np[WL_MAX_PARAMS];
  for (int p = 0; p < w->nparams; p++)
    if (params[p].n) {
      np[ndims - 4] = p;
      dims[ndims++] = &params[p];
    }
  long ncells = 1;
  for (int d = 0; d < ndims; d++)
    ncells *= dims[d]->n;
  if (ncells > 100000)
    return cli_usage_error(&cmd_sweep, "%ld cells: too many", ncells);
  run_cfg_t *cells = malloc((size_t)ncells * sizeof *cells);
  if (!cells)
    return 1;
  for (long c = 0; c < ncells; c++) {
    run_cfg_t *cfg = &cells[c];
    *cfg = base;
    long rest = c;
    int at[4 + WL_MAX_PARAMS];
    for (int d = ndims - 1; d >= 0; d--) {
      at[d] = (int)(rest % dims[d]->n);
      rest /= dims[d]->n;
    }
    cfg->strategy = wl_strategy(w, strat.v[at[0]], NULL);
    if (strcmp(gc.v[at[1]], "sbrk") == 0) {
      cfg->sbrk = 1;
      strcpy(cfg->gc, "off");
    } else {
      snprintf(cfg->gc, sizeof cfg->gc, "%s", gc.v[at[1]]);
    }
    cfg_check_procs(procs.v[at[2]], &cfg->procs);
    snprintf(cfg->memlimit, sizeof cfg->memlimit, "%s",
             strcmp(mem.v[at[3]], "off") == 0 ? "" : mem.v[at[3]]);
    for (int d = 4; d < ndims; d++) {
      char opt[256];
      snprintf(opt, sizeof opt, "%s=%s", w->params[np[d - 4]].name,
               dims[d]->v[at[d]]);
      wl_set(w, cfg->values, opt, NULL);
    }
  }
  if (make_dirs(outdir)) {
    free(cells);
    return 1;
  }

  /* which runs are left (resume) */
  long total = ncells * repeat, todo = 0;
  char *done = calloc((size_t)total, 1);
  if (!done) {
    free(cells);
    return 1;
  }
  for (int rep = 1; rep <= repeat; rep++)
    for (long c = 0; c < ncells; c++) {
      char path[PATH_MAX];
      run_result_path(&cells[c], rep, outdir, path, sizeof path);
      done[(rep - 1) * ncells + c] = (char)result_file_valid(path);
      todo += !done[(rep - 1) * ncells + c];
    }
  int tty = isatty(STDERR_FILENO);
  fprintf(stderr, "heaplab sweep: %s, %ld cells x %d repetitions = %ld runs"
                  ", %ld already in %s, %ld to run\n",
          w->name, ncells, repeat, total, total - todo, outdir, todo);

  const char *stop_env = getenv("HLSWEEP_STOP_AFTER");
  long stop_after = stop_env ? strtol(stop_env, NULL, 10) : -1;
  run_catch_signals();
  long ran = 0;
  int failed = 0, rc = 0;
  double spent = 0, t_start = now_s();
  for (int rep = 1; rep <= repeat && !rc; rep++)
    for (long c = 0; c < ncells && !rc; c++) {
      if (done[(rep - 1) * ncells + c])
        continue;
      if (stop_after >= 0 && ran >= stop_after) {
        fprintf(stderr, "heaplab sweep: stopped after %ld runs "
                        "(HLSWEEP_STOP_AFTER)\n", ran);
        rc = 3;
        break;
      }
      char label[256], eta[32], el[32];
      cfg_label(&cells[c], label, sizeof label);
      if (tty) {
        int width = 30, fill = (int)(width * ran / (todo ? todo : 1));
        char bar[64];
        for (int k = 0; k < width; k++)
          bar[k] = k < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r\033[K[%s] %ld/%ld  %s, left ~%s  | %s rep %d",
                bar, ran, todo, fmt_time(now_s() - t_start, el, sizeof el),
                ran ? fmt_time(spent / (double)ran * (double)(todo - ran),
                               eta, sizeof eta)
                    : "?",
                label, rep);
      }
      double secs = 0;
      enum run_status s = run_one(&cells[c], rep, outdir, verbose, 1, &secs);
      if (s == RUN_INTERRUPTED) {
        fprintf(stderr, "%sheaplab sweep: interrupted; run the same command "
                        "again to resume\n", tty ? "\n" : "");
        rc = 130;
        break;
      }
      if (tty)
        fprintf(stderr, "\r\033[K");
      char path[PATH_MAX];
      run_result_path(&cells[c], rep, outdir, path, sizeof path);
      run_print_line(&cells[c], rep, path);
      ran++;
      spent += secs;
      failed |= s != RUN_OK;
      if (!tty)
        fprintf(stderr, "heaplab sweep: %ld/%ld done (%s rep %d, %.2f s), "
                        "about %s left\n",
                ran, todo, label, rep, secs,
                fmt_time(spent / (double)ran * (double)(todo - ran), eta,
                         sizeof eta));
    }
  if (tty && !rc)
    fprintf(stderr, "\r\033[K");
  if (!rc)
    fprintf(stderr, "heaplab sweep: %ld runs in %.1f s, results in %s%s\n",
            ran, now_s() - t_start, outdir,
            failed ? " (some runs failed: see their status)" : "");
  free(done);
  free(cells);
  return rc ? rc : failed;
}

const hl_cmd_t cmd_sweep = {"sweep", "run a matrix of configurations "
                                     "(resumable, with progress)",
                            sweep_run, sweep_usage};
