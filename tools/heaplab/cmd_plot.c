/*
 * tools/heaplab/cmd_plot.c — `heaplab plot mmu|heap|pauses|throughput
 * DIR... --out FILE.png|FILE.svg`: plots of result files through gnuplot.
 *
 *  1. the results are loaded and grouped by configuration (results.c);
 *  2. the data of each configuration is written to files in a temporary
 *     directory (removed afterwards), with the titles in a file of their
 *     own (one per line: titles have spaces);
 *  3. gnuplot runs the kind's script, plots/<kind>.gp, with the directory,
 *     the count, the output (without extension) and the terminal.
 * What each kind takes from a configuration:
 *   mmu         the first repetition with a readable trace (--trace runs):
 *               its MMU curve (trace/mmu.h, the flags of `heaplab mmu`);
 *   heap        the first repetition that ran to completion: its time
 *               series and the ends of its GC cycles;
 *   pauses      every completed repetition's pauses, pooled, as a CDF;
 *   throughput  the median and min-max over completed repetitions of the
 *               throughput (--metric NAME; default: the workload's first
 *               figure in a unit ending in "/s", else 1 / wall_s) and of
 *               the peak RSS.
 * The scripts are found in $HLPLOTS, else in the source tree's plots/.
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/experiment.h"
#include "trace/mmu.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_PANELS 12

static void plot_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab plot KIND DIR... --out FILE.png|FILE.svg "
          "[--metric NAME]\n"
          "  KIND: mmu         MMU curves overlaid, one per configuration "
          "(needs runs\n"
          "                    made with --trace)\n"
          "        heap        heap live, heap goal and RSS over time, GC "
          "cycles marked\n"
          "                    (one panel per configuration, at most %d)\n"
          "        pauses      CDF of the GC pauses, one curve per "
          "configuration\n"
          "        throughput  throughput and peak RSS bars per "
          "configuration\n"
          "  --metric NAME     throughput: the figure to plot (default: the "
          "workload's\n"
          "                    first */s figure, else 1 / wall_s)\n"
          "  needs gnuplot (Debian package gnuplot-nox); scripts from "
          "$HLPLOTS or\n"
          "  " HL_PLOTS_DIR "\n",
          MAX_PANELS);
}

static int in_path(const char *prog) {
  const char *path = getenv("PATH");
  if (!path)
    return 0;
  char *copy = strdup(path), *save = NULL;
  int found = 0;
  for (char *d = strtok_r(copy, ":", &save); d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", d, prog);
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static FILE *open_data(const char *dir, const char *name, int i) {
  char path[PATH_MAX];
  if (i > 0)
    snprintf(path, sizeof path, "%s/%s%d.tsv", dir, name, i);
  else
    snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "heaplab plot: cannot write %s: %s\n", path,
            strerror(errno));
  return f;
}

static int first_ok(const result_set_t *s, const config_group_t *g) {
  for (int k = 0; k < g->n; k++)
    if (!strcmp(s->r[g->idx[k]].status, "ok"))
      return g->idx[k];
  return -1;
}

/* ----------------------------------------------------------------- kinds */

static int write_mmu(const result_set_t *s, config_group_t *g, int ng,
                     const char *dir, FILE *titles, char *files,
                     size_t flen) {
  int n = 0;
  for (int j = 0; j < ng; j++) {
    const char *tp = NULL;
    for (int k = 0; k < g[j].n && !tp; k++) {
      tp = jv_str(jv_get(s->r[g[j].idx[k]].doc, "trace"), NULL);
      if (tp && access(tp, R_OK) != 0)
        tp = NULL;
    }
    if (!tp) {
      fprintf(stderr, "heaplab plot: warning: %s: no readable trace (run "
                      "with --trace); left out\n", g[j].label);
      continue;
    }
    char err[256];
    hlt_reader_t *r = hlt_open_file(tp, err, sizeof err);
    hlt_util_t u;
    if (!r || hlt_util_read(r, HLT_UTIL_DEFAULT, &u, err, sizeof err)) {
      fprintf(stderr, "heaplab plot: warning: %s: %s; left out\n", tp, err);
      hlt_close(r);
      continue;
    }
    hlt_close(r);
    hlt_mmu_t *m = hlt_mmu_new(&u);
    if (!m) {
      hlt_util_free(&u);
      return -1;
    }
    int64_t ws[256];
    int nw = hlt_mmu_windows(1000, u.end > 1000 ? u.end : 1000, 10, ws, 256);
    char name[32];
    snprintf(name, sizeof name, "mmu%d.csv", n + 1); /* mmu.gp reads CSV */
    FILE *f = open_data(dir, name, 0);
    if (!f) {
      hlt_mmu_free(m);
      hlt_util_free(&u);
      return -1;
    }
    fprintf(f, "window_ns,window_s,mmu,file\n");
    for (int i = 0; i < nw; i++)
      fprintf(f, "%lld,%.9g,%.6f,%s\n", (long long)ws[i], (double)ws[i] / 1e9,
              hlt_mmu_window(m, ws[i]), tp);
    fclose(f);
    hlt_mmu_free(m);
    hlt_util_free(&u);
    size_t o = strlen(files);
    snprintf(files + o, flen - o, "%s%s/%s", o ? " " : "", dir, name);
    fprintf(titles, "%s\n", g[j].label);
    n++;
  }
  return n;
}

static int write_heap(const result_set_t *s, config_group_t *g, int ng,
                      const char *dir, FILE *titles) {
  int n = 0;
  for (int j = 0; j < ng && n < MAX_PANELS; j++) {
    int i = first_ok(s, &g[j]);
    const jv_t *data = i >= 0 ? jv_path(s->r[i].doc, "series.data") : NULL;
    if (!data || data->kind != JV_ARR || data->n == 0) {
      fprintf(stderr, "heaplab plot: warning: %s: no completed run with a "
                      "time series; left out\n", g[j].label);
      continue;
    }
    FILE *f = open_data(dir, "heap", n + 1);
    if (!f)
      return -1;
    double top = 0;
    for (int k = 0; k < data->n; k++) {
      const jv_t *row = &data->items[k];
      if (row->kind != JV_ARR || row->n < 4)
        continue;
      /* with GC off the goal is "never" (about 2^63 bytes): no line */
      double goal = jv_num(&row->items[3], 0);
      if (goal > 1024.0 * 1024 * 1024) /* MiB: beyond a PiB */
        goal = NAN;
      fprintf(f, "%.6f\t%.4f\t%.4f\t%.4f\n", jv_num(&row->items[0], 0),
              jv_num(&row->items[1], 0), jv_num(&row->items[2], 0), goal);
      for (int c = 1; c < 3; c++)
        top = fmax(top, jv_num(&row->items[c], 0));
      if (!isnan(goal))
        top = fmax(top, goal);
    }
    fclose(f);
    if (!(f = open_data(dir, "gc", n + 1)))
      return -1;
    const jv_t *p = jv_path(s->r[i].doc, "pauses.data");
    for (int k = 0; p && p->kind == JV_ARR && k < p->n; k++)
      if (p->items[k].kind == JV_ARR && p->items[k].n >= 1)
        fprintf(f, "%.6f\t%.4f\n", jv_num(&p->items[k].items[0], 0), top);
    fclose(f);
    fprintf(titles, "%s (%s)\n", g[j].label, s->r[i].path);
    n++;
  }
  if (ng > MAX_PANELS)
    fprintf(stderr, "heaplab plot: warning: heap: only the first %d of %d "
                    "configurations are drawn\n", MAX_PANELS, ng);
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int write_pauses(const result_set_t *s, config_group_t *g, int ng,
                        const char *dir, FILE *titles) {
  int n = 0;
  for (int j = 0; j < ng; j++) {
    int cap = 0, np = 0;
    double *v = NULL;
    for (int k = 0; k < g[j].n; k++) {
      const result_t *r = &s->r[g[j].idx[k]];
      const jv_t *p = jv_path(r->doc, "pauses.data");
      if (strcmp(r->status, "ok") || !p || p->kind != JV_ARR)
        continue;
      for (int q = 0; q < p->n; q++) {
        if (p->items[q].kind != JV_ARR || p->items[q].n < 2)
          continue;
        if (np == cap) {
          cap = cap ? 2 * cap : 256;
          double *nv = realloc(v, (size_t)cap * sizeof *v);
          if (!nv) {
            free(v);
            return -1;
          }
          v = nv;
        }
        v[np++] = jv_num(&p->items[q].items[1], 0);
      }
    }
    if (!np) {
      fprintf(stderr, "heaplab plot: note: %s: no GC pauses (GC off or "
                      "sbrk mode?); left out\n", g[j].label);
      free(v);
      continue;
    }
    qsort(v, (size_t)np, sizeof *v, cmp_double);
    FILE *f = open_data(dir, "pauses", n + 1);
    if (!f) {
      free(v);
      return -1;
    }
    for (int q = 0; q < np; q++) /* log axis: a 0 pause sits at 1 ns */
      fprintf(f, "%.6g\t%.6f\n", v[q] > 0 ? v[q] : 1e-6,
              (double)(q + 1) / np);
    fclose(f);
    free(v);
    fprintf(titles, "%s (%d cycles)\n", g[j].label, np);
    n++;
  }
  return n;
}

/* The default throughput figure of r: its first extra in a unit "*\/s". */
static const char *rate_metric(const result_t *r) {
  const jv_t *u = jv_get(r->doc, "extra_units");
  for (int k = 0; u && u->kind == JV_OBJ && k < u->n; k++) {
    const char *unit = jv_str(&u->items[k], "");
    size_t l = strlen(unit);
    if (l >= 2 && strcmp(unit + l - 2, "/s") == 0)
      return u->keys[k];
  }
  return NULL;
}

static int write_bars(const result_set_t *s, config_group_t *g, int ng,
                      const char *dir, const char *metric, char *ylabel,
                      size_t ylen) {
  FILE *f = open_data(dir, "bars.tsv", 0);
  if (!f)
    return -1;
  double *a = malloc((size_t)s->n * sizeof *a);
  double *b = malloc((size_t)s->n * sizeof *b);
  int n = 0;
  ylabel[0] = 0;
  for (int j = 0; a && b && j < ng; j++) {
    int na = 0, nb = 0;
    int i0 = first_ok(s, &g[j]);
    const char *m = metric ? metric : i0 >= 0 ? rate_metric(&s->r[i0]) : NULL;
    for (int k = 0; k < g[j].n; k++) {
      const result_t *r = &s->r[g[j].idx[k]];
      double v;
      if (strcmp(r->status, "ok"))
        continue;
      if (m ? result_metric(r, m, &v) == 0
            : (result_metric(r, "wall_s", &v) == 0 && v > 0 &&
               (v = 1 / v, 1)))
        a[na++] = v;
      if (result_metric(r, "peak_rss_mib", &v) == 0)
        b[nb++] = v;
    }
    if (!na) {
      fprintf(stderr, "heaplab plot: warning: %s: no completed run with %s; "
                      "left out\n", g[j].label, m ? m : "wall_s");
      continue;
    }
    char this_label[128];
    if (m) {
      const jv_t *uu = jv_get(jv_get(s->r[i0].doc, "extra_units"), m);
      snprintf(this_label, sizeof this_label, "%s%s%s%s", m,
               uu ? " (" : "", uu ? jv_str(uu, "") : "", uu ? ")" : "");
    } else {
      snprintf(this_label, sizeof this_label, "runs/s (1 / wall_s)");
    }
    if (!ylabel[0])
      snprintf(ylabel, ylen, "%s", this_label);
    else if (strcmp(ylabel, this_label) != 0)
      snprintf(ylabel, ylen, "throughput (per workload: see the labels)");
    spread_t ta = spread_of(a, na), tb = spread_of(b, nb);
    fprintf(f, "%s\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\n", g[j].label,
            ta.median, ta.min, ta.max, tb.median, tb.min, tb.max);
    n++;
  }
  fclose(f);
  free(a);
  free(b);
  return n;
}

/* -------------------------------------------------------------- command */

static int plot_run(int argc, char **argv) {
  static const char *const kinds[] = {"mmu", "heap", "pauses", "throughput"};
  if (argc < 2)
    return cli_usage_error(&cmd_plot, "no plot kind given (valid: mmu, heap, "
                                      "pauses, throughput)");
  int kind = -1;
  for (int k = 0; k < 4; k++)
    if (!strcmp(argv[1], kinds[k]))
      kind = k;
  if (kind < 0)
    return cli_usage_error(&cmd_plot, "unknown plot kind \"%s\" (valid: mmu, "
                                      "heap, pauses, throughput)", argv[1]);
  char *dirs[256];
  int ndirs = 0;
  const char *out = NULL, *metric = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--out") || !strcmp(a, "--metric")) {
      if (i + 1 == argc)
        return cli_usage_error(&cmd_plot, "%s needs a value", a);
      *(a[2] == 'o' ? &out : &metric) = argv[++i];
    } else if (!strncmp(a, "--out=", 6)) {
      out = a + 6;
    } else if (!strncmp(a, "--metric=", 9)) {
      metric = a + 9;
    } else if (a[0] == '-') {
      return cli_usage_error(&cmd_plot, "unknown option \"%s\"", a);
    } else if (ndirs == 256) {
      return cli_usage_error(&cmd_plot, "at most 256 directories");
    } else {
      dirs[ndirs++] = (char *)a;
    }
  }
  if (!ndirs)
    return cli_usage_error(&cmd_plot, "no results directory given");
  if (!out)
    return cli_usage_error(&cmd_plot, "--out FILE.png or FILE.svg is "
                                      "required");
  size_t ol = strlen(out);
  const char *term = ol > 4 && !strcmp(out + ol - 4, ".png")   ? "png"
                     : ol > 4 && !strcmp(out + ol - 4, ".svg") ? "svg"
                                                               : NULL;
  if (!term)
    return cli_usage_error(&cmd_plot, "--out %s: the name must end in .png "
                                      "or .svg", out);
  if (metric && kind != 3)
    return cli_usage_error(&cmd_plot, "--metric applies to throughput plots "
                                      "only");
  if (!in_path("gnuplot")) {
    fprintf(stderr, "heaplab plot: gnuplot not found in PATH: install the "
                    "Debian package gnuplot-nox (scripts/deps.sh installs "
                    "it)\n");
    return 1;
  }
  char script[PATH_MAX];
  const char *pdir = getenv("HLPLOTS");
  snprintf(script, sizeof script, "%s/%s.gp", pdir && *pdir ? pdir
                                                            : HL_PLOTS_DIR,
           kinds[kind]);
  if (access(script, R_OK) != 0) {
    fprintf(stderr, "heaplab plot: cannot read the gnuplot script %s (set "
                    "HLPLOTS to the plots/ directory of the source tree)\n",
            script);
    return 1;
  }

  result_set_t set;
  if (results_load(dirs, ndirs, &set))
    return 1;
  config_group_t *g = NULL;
  int ng = set.n ? results_group(&set, &g) : 0;
  int rc = 1;
  char tmp[] = "/tmp/heaplab-plot-XXXXXX";
  if (!set.n) {
    fprintf(stderr, "heaplab plot: no result files in the given "
                    "directories\n");
    goto out;
  }
  if (ng < 0 || !mkdtemp(tmp)) {
    fprintf(stderr, "heaplab plot: cannot create a temporary directory\n");
    ng = 0;
    goto out;
  }
  FILE *titles = open_data(tmp, "titles", 0);
  if (!titles)
    goto clean;
  char files[8192] = "", ylabel[160] = "";
  int n;
  switch (kind) {
  case 0:
    n = write_mmu(&set, g, ng, tmp, titles, files, sizeof files);
    break;
  case 1:
    n = write_heap(&set, g, ng, tmp, titles);
    break;
  case 2:
    n = write_pauses(&set, g, ng, tmp, titles);
    break;
  default:
    n = write_bars(&set, g, ng, tmp, metric, ylabel, sizeof ylabel);
    break;
  }
  fclose(titles);
  if (n <= 0) {
    if (n == 0)
      fprintf(stderr, "heaplab plot: %s: nothing to plot in these results%s\n",
              kinds[kind],
              kind == 0 ? " (no traces: run with --trace)"
              : kind == 2 ? " (no GC pauses)" : "");
    goto clean;
  }

  /* gnuplot -e "dir=...; n=...; titlefile=...; out=...; terms=..." script */
  char outbase[PATH_MAX], expr[16384];
  snprintf(outbase, sizeof outbase, "%.*s", (int)(ol - 4), out);
  if (strchr(outbase, '\'') || strchr(tmp, '\'')) {
    fprintf(stderr, "heaplab plot: --out %s: a quote in the name is not "
                    "supported\n", out);
    goto clean;
  }
  snprintf(expr, sizeof expr,
           "dir='%s'; n=%d; titlefile='%s/titles'; out='%s'; terms='%s'; "
           "files='%s'; ylabel='%s'",
           tmp, n, tmp, outbase, term, files, ylabel);
  char *gargv[] = {"gnuplot", "-e", expr, script, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "gnuplot", NULL, NULL, gargv, environ);
  int st = 0;
  if (err) {
    fprintf(stderr, "heaplab plot: cannot run gnuplot: %s\n", strerror(err));
    goto clean;
  }
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "heaplab plot: gnuplot failed on %s (its messages are "
                    "above)\n", script);
    goto clean;
  }
  struct stat sb;
  if (stat(out, &sb) != 0 || sb.st_size == 0) {
    fprintf(stderr, "heaplab plot: gnuplot wrote no %s\n", out);
    goto clean;
  }
  printf("heaplab plot: wrote %s (%d configuration%s)\n", out, n,
         n == 1 ? "" : "s");
  rc = 0;
clean:
  nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
out:
  if (g)
    groups_free(g, ng);
  results_free(&set);
  return rc;
}

const hl_cmd_t cmd_plot = {"plot", "plots of results through gnuplot (mmu, "
                                   "heap, pauses, throughput)",
                           plot_run, plot_usage};
