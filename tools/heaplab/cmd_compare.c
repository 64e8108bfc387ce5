/*
 * tools/heaplab/cmd_compare.c — `heaplab compare DIR... [--baseline
 * K=V,...] [--format text|markdown|csv] [--metrics LIST] [--spread
 * minmax|iqr]`: one row per configuration found in the result files, for
 * each metric the median over the repetitions that ran to completion, its
 * spread, and the ratio of medians against the baseline configuration.
 *
 * Only runs with status "ok" enter the statistics; the runs column shows
 * ok/total so a failing configuration is visible rather than silently
 * thinner. The baseline is the first row unless --baseline names the
 * configuration fields (workload, strategy, gc, sbrk, procs, memlimit,
 * trace, or a workload parameter) that pick exactly one row.
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/experiment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 32
#define CELLW 300 /* a table cell: a label (256) and a note */

static const char *const default_metrics[] = {
    "wall_s",       "cpu_s",        "peak_rss_mib", "gc_cycles",
    "pause_max_ms", "pause_p99_ms", "gc_cpu_pct",
};
#define NDEFAULT (int)(sizeof default_metrics / sizeof default_metrics[0])

static void compare_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab compare DIR... [--baseline KEY=VALUE,...]\n"
          "                       [--format text|markdown|csv] "
          "[--metrics LIST|all]\n"
          "                       [--spread minmax|iqr]\n"
          "  DIR               results directories (or result files) of "
          "run/sweep\n"
          "  --baseline K=V,.. the configuration the ratios are taken "
          "against; keys:\n"
          "                    workload, strategy, gc, sbrk, procs, "
          "memlimit, trace,\n"
          "                    or a workload parameter (default: the first "
          "row)\n"
          "  --format F        text (default), markdown or csv\n"
          "  --metrics LIST    comma-separated (default "
          "wall_s,cpu_s,peak_rss_mib,\n"
          "                    gc_cycles,pause_max_ms,pause_p99_ms,"
          "gc_cpu_pct); also\n"
          "                    process_wall_s, cpu_user_s, cpu_sys_s, "
          "objects,\n"
          "                    alloc_mib, gc_forced, pause_total_ms, "
          "pause_p50_ms,\n"
          "                    assist_ms, mark_worker_ms, heap_marked_mib, "
          "heap_goal_mib,\n"
          "                    heap_sys_mib, total_alloc_mib, the "
          "workloads' own\n"
          "                    figures by name; all: these and every "
          "workload figure\n"
          "  --spread S        minmax (default) or iqr (interquartile "
          "range)\n");
}

typedef struct cell {
  spread_t s;
  double ratio;
} cell_t;

static int matches(const result_t *r, char *spec, char *why, size_t len) {
  char *copy = strdup(spec), *save = NULL;
  int ok = 1;
  for (char *kv = strtok_r(copy, ",", &save); kv && ok;
       kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '='), v[256];
    if (!eq) {
      snprintf(why, len, "\"%s\" is not KEY=VALUE", kv);
      ok = -1;
      break;
    }
    *eq = 0;
    result_config_field(r, kv, v, sizeof v);
    const char *want = eq + 1;
    /* booleans are written true/false in files, 1/0 by result_config_field */
    if (!strcmp(want, "true") || !strcmp(want, "on"))
      want = "1";
    else if (!strcmp(want, "false") || (!strcmp(want, "off") &&
                                        (!strcmp(kv, "sbrk") ||
                                         !strcmp(kv, "trace"))))
      want = "0";
    if (strcmp(v, want) != 0)
      ok = 0;
  }
  free(copy);
  return ok;
}

static void fmt_num(double v, char *buf, size_t len) {
  if (isnan(v))
    snprintf(buf, len, "-");
  else if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
    snprintf(buf, len, "%.3g", v);
  else
    snprintf(buf, len, "%.4g", v);
}

static int compare_run(int argc, char **argv) {
  char *dirs[256], *baseline = NULL, *metrics_arg = NULL;
  const char *format = "text", *spread = "minmax";
  int ndirs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *names[] = {"--baseline", "--format", "--metrics", "--spread"};
    int which = -1;
    const char *val = NULL;
    for (int k = 0; k < 4; k++) {
      size_t n = strlen(names[k]);
      if (strncmp(a, names[k], n) == 0 && (a[n] == 0 || a[n] == '=')) {
        which = k;
        if (a[n] == '=')
          val = a + n + 1;
        else if (i + 1 < argc)
          val = argv[++i];
        else
          return cli_usage_error(&cmd_compare, "%s needs a value", a);
      }
    }
    if (which == 0)
      baseline = (char *)val;
    else if (which == 1)
      format = val;
    else if (which == 2)
      metrics_arg = (char *)val;
    else if (which == 3)
      spread = val;
    else if (a[0] == '-')
      return cli_usage_error(&cmd_compare, "unknown option \"%s\"", a);
    else if (ndirs == 256)
      return cli_usage_error(&cmd_compare, "at most 256 directories");
    else
      dirs[ndirs++] = (char *)a;
  }
  if (strcmp(format, "text") && strcmp(format, "markdown") &&
      strcmp(format, "csv"))
    return cli_usage_error(&cmd_compare, "--format %s: not a format (valid: "
                                         "text, markdown, csv)", format);
  if (strcmp(spread, "minmax") && strcmp(spread, "iqr"))
    return cli_usage_error(&cmd_compare, "--spread %s: valid: minmax, iqr",
                           spread);
  if (!ndirs)
    return cli_usage_error(&cmd_compare, "no results directory given");

  result_set_t set;
  if (results_load(dirs, ndirs, &set))
    return 1;
  if (!set.n) {
    fprintf(stderr, "heaplab compare: no result files in the given "
                    "directories\n");
    results_free(&set);
    return 1;
  }
  config_group_t *g;
  int ng = results_group(&set, &g);
  if (ng < 0) {
    results_free(&set);
    return 1;
  }

  /* the metrics */
  const char *metrics[MAX_METRICS];
  int nm = 0, rc = 0;
  char *mcopy = NULL;
  if (!metrics_arg || !strcmp(metrics_arg, "all")) {
    for (int k = 0; k < NDEFAULT; k++)
      metrics[nm++] = default_metrics[k];
    for (int i = 0; metrics_arg && i < set.n; i++) {
      const jv_t *ex = jv_get(set.r[i].doc, "extra");
      for (int k = 0; ex && ex->kind == JV_OBJ && k < ex->n; k++) {
        int seen = 0;
        for (int j = 0; j < nm; j++)
          seen |= !strcmp(metrics[j], ex->keys[k]);
        if (!seen && nm < MAX_METRICS)
          metrics[nm++] = ex->keys[k];
      }
    }
  } else {
    mcopy = strdup(metrics_arg);
    char *save = NULL;
    for (char *t = strtok_r(mcopy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      if (nm == MAX_METRICS) {
        rc = cli_usage_error(&cmd_compare, "at most %d metrics", MAX_METRICS);
        goto out;
      }
      int found = 0;
      double v;
      for (int i = 0; i < set.n && !found; i++)
        found = result_metric(&set.r[i], t, &v) == 0;
      if (!found) {
        fprintf(stderr, "heaplab compare: no result has the metric \"%s\"; "
                        "metrics of the first result:", t);
        const jv_t *o[2] = {jv_get(set.r[0].doc, "metrics"),
                            jv_get(set.r[0].doc, "extra")};
        for (int j = 0; j < 2; j++)
          for (int k = 0; o[j] && o[j]->kind == JV_OBJ && k < o[j]->n; k++)
            fprintf(stderr, " %s", o[j]->keys[k]);
        fputc('\n', stderr);
        rc = 2;
        goto out;
      }
      metrics[nm++] = t;
    }
  }

  /* the baseline row */
  int base = 0;
  if (baseline) {
    base = -1;
    char why[256] = "";
    for (int j = 0; j < ng; j++) {
      int m = matches(&set.r[g[j].idx[0]], baseline, why, sizeof why);
      if (m < 0) {
        rc = cli_usage_error(&cmd_compare, "--baseline: %s", why);
        goto out;
      }
      if (m && base >= 0) {
        fprintf(stderr, "heaplab compare: --baseline %s matches several "
                        "configurations (%s; %s): name more fields\n",
                baseline, g[base].label, g[j].label);
        rc = 2;
        goto out;
      }
      if (m)
        base = j;
    }
    if (base < 0) {
      fprintf(stderr, "heaplab compare: --baseline %s matches no "
                      "configuration; they are:\n", baseline);
      for (int j = 0; j < ng; j++)
        fprintf(stderr, "  %s\n", g[j].label);
      rc = 2;
      goto out;
    }
  }

  /* statistics */
  cell_t *cells = calloc((size_t)ng * (size_t)nm, sizeof *cells);
  double *vals = malloc((size_t)set.n * sizeof *vals);
  int *nok = calloc((size_t)ng, sizeof *nok);
  if (!cells || !vals || !nok) {
    free(cells);
    free(vals);
    free(nok);
    rc = 1;
    goto out;
  }
  for (int j = 0; j < ng; j++) {
    for (int k = 0; k < g[j].n; k++)
      nok[j] += !strcmp(set.r[g[j].idx[k]].status, "ok");
    for (int m = 0; m < nm; m++) {
      int n = 0;
      for (int k = 0; k < g[j].n; k++) {
        const result_t *r = &set.r[g[j].idx[k]];
        if (!strcmp(r->status, "ok") && result_metric(r, metrics[m],
                                                      &vals[n]) == 0)
          n++;
      }
      cells[j * nm + m].s = spread_of(vals, n);
    }
  }
  for (int j = 0; j < ng; j++)
    for (int m = 0; m < nm; m++) {
      double b = cells[base * nm + m].s.median;
      double v = cells[j * nm + m].s.median;
      cells[j * nm + m].ratio = b != 0 && !isnan(b) ? v / b : NAN;
    }

  /* output */
  int iqr = !strcmp(spread, "iqr");
  int csv = !strcmp(format, "csv"), md = !strcmp(format, "markdown");
  if (csv) {
    printf("configuration,key,runs,ok");
    for (int m = 0; m < nm; m++)
      printf(",%s_median,%s_%s,%s_%s,%s_ratio", metrics[m], metrics[m],
             iqr ? "q1" : "min", metrics[m], iqr ? "q3" : "max", metrics[m]);
    printf("\n");
    for (int j = 0; j < ng; j++) {
      printf("\"%s\",%s,%d,%d", g[j].label, g[j].key, g[j].n, nok[j]);
      for (int m = 0; m < nm; m++) {
        const cell_t *c = &cells[j * nm + m];
        printf(",%.6g,%.6g,%.6g,%.4f", c->s.median, iqr ? c->s.q1 : c->s.min,
               iqr ? c->s.q3 : c->s.max, c->ratio);
      }
      printf("\n");
    }
  } else {
    /* a table of strings, then padded (text) or piped (markdown) */
    int ncol = 2 + nm;
    char(*t)[CELLW] = calloc((size_t)(ng + 1) * (size_t)ncol, sizeof *t);
    int *wid = calloc((size_t)ncol, sizeof *wid);
    if (!t || !wid) {
      free(t);
      free(wid);
      rc = 1;
    } else {
      snprintf(t[0], CELLW, "configuration");
      snprintf(t[1], CELLW, "runs ok");
      for (int m = 0; m < nm; m++)
        snprintf(t[2 + m], CELLW, "%s", metrics[m]);
      for (int j = 0; j < ng; j++) {
        char(*row)[CELLW] = t + (j + 1) * ncol;
        snprintf(row[0], CELLW, "%s%s", g[j].label, j == base ? " (baseline)"
                                                           : "");
        snprintf(row[1], CELLW, "%d/%d", nok[j], g[j].n);
        for (int m = 0; m < nm; m++) {
          const cell_t *c = &cells[j * nm + m];
          char med[32], lo[32], hi[32], ratio[32];
          fmt_num(c->s.median, med, sizeof med);
          fmt_num(iqr ? c->s.q1 : c->s.min, lo, sizeof lo);
          fmt_num(iqr ? c->s.q3 : c->s.max, hi, sizeof hi);
          if (isnan(c->ratio))
            snprintf(ratio, sizeof ratio, "-");
          else
            snprintf(ratio, sizeof ratio, "%.2f", c->ratio);
          if (c->s.n > 1)
            snprintf(row[2 + m], CELLW, "%s [%s-%s] x%s", med, lo, hi, ratio);
          else
            snprintf(row[2 + m], CELLW, "%s x%s", med, ratio);
        }
      }
      for (int r = 0; r <= ng; r++)
        for (int c = 0; c < ncol; c++) {
          int l = (int)strlen(t[r * ncol + c]);
          if (l > wid[c])
            wid[c] = l;
        }
      for (int r = 0; r <= ng; r++) {
        for (int c = 0; c < ncol; c++)
          if (md)
            printf("| %s ", t[r * ncol + c]);
          else
            printf("%-*s%s", c + 1 < ncol ? wid[c] : 0, t[r * ncol + c],
                   c + 1 < ncol ? "  " : "");
        printf(md ? "|\n" : "\n");
        if (r == 0 && md) {
          for (int c = 0; c < ncol; c++)
            printf("|%s", c == 0 ? "---" : "---:");
          printf("|\n");
        }
      }
      printf("%s%s [%s] over repetitions (status ok only); xR: ratio of "
             "medians to the baseline\n",
             md ? "\n" : "\n", "cells: median",
             iqr ? "interquartile range" : "min-max");
      free(t);
      free(wid);
    }
  }
  free(cells);
  free(vals);
  free(nok);
out:
  free(mcopy);
  groups_free(g, ng);
  results_free(&set);
  return rc;
}

const hl_cmd_t cmd_compare = {"compare", "table of results with ratios to "
                                         "a baseline and spreads",
                              compare_run, compare_usage};
