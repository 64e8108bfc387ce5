/*
 * tools/heaplab/cmd_mmu.c — `heaplab mmu FILE... [--windows LIST]
 * [--flags LIST] [--percentiles LIST] [--csv]`: minimum mutator
 * utilization (and worst-percentile window utilization) of each trace for
 * each window (trace/mmu.h).
 */
#include "tools/heaplab/cmd.h"
#include "trace/mmu.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WINDOWS 256
#define MAX_PCT 16

static void mmu_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab mmu FILE... [--windows LIST] [--flags LIST]\n"
          "                   [--percentiles LIST] [--csv]\n"
          "  --windows LIST      window lengths, comma-separated, each a "
          "number with\n"
          "                      a unit ns, us, ms or s (default: 10 a "
          "decade from\n"
          "                      1us to the trace's length)\n"
          "  --flags LIST        what is not mutator time, comma-separated: "
          "stw,\n"
          "                      background, assist, sweep, perproc, "
          "default, all\n"
          "                      (default: stw,background,assist)\n"
          "  --percentiles LIST  also the utilization of the worst P%% of "
          "windows,\n"
          "                      P in (0, 100), e.g. 0.1,1,5\n"
          "  --csv               CSV (window_ns,window_s,mmu,p...,file) for "
          "plots/mmu.gp\n");
}

static int split(char *s, char **parts, int max) {
  int n = 0;
  for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
    if (n == max)
      return -1;
    parts[n++] = tok;
  }
  return n;
}

static int mmu_run(int argc, char **argv) {
  const char *files[64];
  int nfiles = 0, nw = 0, np = 0, csv = 0;
  int64_t windows[MAX_WINDOWS];
  double pct[MAX_PCT];
  unsigned flags = HLT_UTIL_DEFAULT;
  char flagstr[128] = "stw,background,assist";
  char err[256];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--csv") == 0) {
      csv = 1;
    } else if (strcmp(a, "--windows") == 0 || strcmp(a, "--flags") == 0 ||
               strcmp(a, "--percentiles") == 0) {
      if (i + 1 == argc)
        return cli_usage_error(&cmd_mmu, "%s needs a value", a);
      char *v = strdup(argv[++i]), *parts[MAX_WINDOWS];
      int n = split(v, parts, a[2] == 'p' ? MAX_PCT : MAX_WINDOWS);
      int bad = n <= 0;
      if (!bad && a[2] == 'w') {
        for (int k = 0; k < n && !bad; k++)
          if (cli_parse_duration(parts[k], &windows[k])) {
            free(v);
            return cli_usage_error(&cmd_mmu,
                                   "--windows: bad duration \"%s\" (a "
                                   "number > 0 with ns, us, ms or s)",
                                   argv[i]);
          }
        nw = n;
      } else if (!bad && a[2] == 'p') {
        for (int k = 0; k < n && !bad; k++) {
          char *end;
          pct[k] = strtod(parts[k], &end);
          bad = *end || !(pct[k] > 0 && pct[k] < 100);
        }
        np = n;
      } else if (!bad) {
        if (hlt_util_parse_flags(argv[i], &flags, err, sizeof err)) {
          free(v);
          return cli_usage_error(&cmd_mmu, "--flags: %s", err);
        }
        snprintf(flagstr, sizeof flagstr, "%s", argv[i]);
      }
      free(v);
      if (bad)
        return cli_usage_error(&cmd_mmu, "%s: bad list \"%s\"", a, argv[i]);
    } else if (a[0] == '-' && a[1]) {
      return cli_usage_error(&cmd_mmu, "unknown option \"%s\"", a);
    } else {
      if (nfiles == 64)
        return cli_usage_error(&cmd_mmu, "at most 64 trace files");
      files[nfiles++] = a;
    }
  }
  if (!nfiles)
    return cli_usage_error(&cmd_mmu, "no trace file given");
  if (csv) {
    printf("window_ns,window_s,mmu");
    for (int k = 0; k < np; k++)
      printf(",worst%g%%", pct[k]);
    printf(",file\n");
  }
  int rc = 0;
  for (int f = 0; f < nfiles; f++) {
    hlt_reader_t *r = hlt_open_file(files[f], err, sizeof err);
    hlt_util_t u;
    if (!r || hlt_util_read(r, flags, &u, err, sizeof err)) {
      fprintf(stderr, "heaplab: %s: %s\n", files[f], err);
      hlt_close(r);
      rc = 1;
      continue;
    }
    hlt_close(r);
    hlt_mmu_t *m = hlt_mmu_new(&u);
    if (!m) {
      fprintf(stderr, "heaplab: %s: out of memory\n", files[f]);
      hlt_util_free(&u);
      rc = 1;
      continue;
    }
    int64_t dflt[MAX_WINDOWS];
    const int64_t *ws = windows;
    int n = nw;
    if (!nw) {
      n = hlt_mmu_windows(1000, u.end > 1000 ? u.end : 1000, 10, dflt,
                          MAX_WINDOWS);
      ws = dflt;
    }
    if (!csv) {
      printf("# %s (%s): %.3f s, %d utilization function%s\n", files[f],
             flagstr, (double)u.end / 1e9, u.nseries,
             u.nseries == 1 ? "" : "s");
      printf("%14s %8s", "window", "mmu");
      for (int k = 0; k < np; k++)
        printf("  worst%-5g%%", pct[k]);
      printf("\n");
    }
    double q[MAX_PCT], qv[MAX_PCT];
    for (int k = 0; k < np; k++)
      q[k] = pct[k] / 100;
    for (int i = 0; i < n; i++) {
      double v = hlt_mmu_window(m, ws[i]);
      if (np)
        hlt_mmu_quantiles(m, ws[i], q, np, qv);
      if (csv) {
        printf("%lld,%.9g,%.6f", (long long)ws[i], (double)ws[i] / 1e9, v);
        for (int k = 0; k < np; k++)
          printf(",%.6f", qv[k]);
        printf(",%s\n", files[f]);
      } else {
        char wbuf[32];
        if (ws[i] >= 1000000000)
          snprintf(wbuf, sizeof wbuf, "%.6gs", (double)ws[i] / 1e9);
        else if (ws[i] >= 1000000)
          snprintf(wbuf, sizeof wbuf, "%.6gms", (double)ws[i] / 1e6);
        else if (ws[i] >= 1000)
          snprintf(wbuf, sizeof wbuf, "%.6gus", (double)ws[i] / 1e3);
        else
          snprintf(wbuf, sizeof wbuf, "%lldns", (long long)ws[i]);
        printf("%14s %8.4f", wbuf, v);
        for (int k = 0; k < np; k++)
          printf("  %11.4f", qv[k]);
        printf("\n");
      }
    }
    hlt_mmu_free(m);
    hlt_util_free(&u);
  }
  return rc;
}

const hl_cmd_t cmd_mmu = {"mmu", "minimum mutator utilization curves of traces",
                          mmu_run, mmu_usage};
