/*
 * tools/heaplab/cmd_trace.c — `heaplab trace stats FILE` and
 * `heaplab trace export --perfetto FILE` (trace/analysis.h).
 */
#include "tools/heaplab/cmd.h"
#include "trace/analysis.h"

#include <string.h>

static void trace_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab trace stats FILE\n"
          "       heaplab trace export --perfetto FILE [-o OUT]\n"
          "  stats    GC cycles, STW pauses (p50/p99/max), GC CPU, "
          "goroutines,\n"
          "           syscalls, heap counters of a trace\n"
          "  export   --perfetto: Chrome trace-event JSON (Perfetto, "
          "chrome://tracing)\n"
          "           on stdout, or in OUT with -o\n"
          "  valid export formats: --perfetto\n");
}

static hlt_reader_t *open_trace(const char *path) {
  char err[256];
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  if (!r)
    fprintf(stderr, "heaplab: %s: %s\n", path, err);
  return r;
}

static int trace_stats(int argc, char **argv) {
  if (argc != 2)
    return cli_usage_error(&cmd_trace, argc < 2 ? "stats: no trace file given"
                                                : "stats: one trace file only");
  if (argv[1][0] == '-')
    return cli_usage_error(&cmd_trace, "stats: unknown option \"%s\"",
                           argv[1]);
  hlt_reader_t *r = open_trace(argv[1]);
  if (!r)
    return 1;
  hlt_stats_t st;
  char err[256];
  int rc = 0;
  if (hlt_stats_compute(r, &st, err, sizeof err)) {
    fprintf(stderr, "heaplab: %s: %s\n", argv[1], err);
    rc = 1;
  } else {
    hlt_stats_print(stdout, r, &st);
  }
  hlt_close(r);
  return rc;
}

static int trace_export(int argc, char **argv) {
  const char *file = NULL, *outpath = NULL;
  int perfetto = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--perfetto") == 0) {
      perfetto = 1;
    } else if (strcmp(argv[i], "-o") == 0) {
      if (++i == argc)
        return cli_usage_error(&cmd_trace, "export: -o needs a file name");
      outpath = argv[i];
    } else if (argv[i][0] == '-') {
      return cli_usage_error(&cmd_trace, "export: unknown format or option "
                                         "\"%s\"",
                             argv[i]);
    } else if (file) {
      return cli_usage_error(&cmd_trace, "export: one trace file only");
    } else {
      file = argv[i];
    }
  }
  if (!perfetto)
    return cli_usage_error(&cmd_trace, "export: no format given");
  if (!file)
    return cli_usage_error(&cmd_trace, "export: no trace file given");
  hlt_reader_t *r = open_trace(file);
  if (!r)
    return 1;
  FILE *out = outpath ? fopen(outpath, "w") : stdout;
  if (!out) {
    perror(outpath);
    hlt_close(r);
    return 1;
  }
  char err[256];
  int rc = 0;
  if (hlt_export_perfetto(r, out, err, sizeof err)) {
    fprintf(stderr, "heaplab: %s: %s\n", file, err);
    rc = 1;
  }
  if (out != stdout && fclose(out) != 0) {
    perror(outpath);
    rc = 1;
  }
  hlt_close(r);
  return rc;
}

static int trace_run(int argc, char **argv) {
  if (argc < 2)
    return cli_usage_error(&cmd_trace, "no subcommand (valid: stats, export)");
  if (strcmp(argv[1], "stats") == 0)
    return trace_stats(argc - 1, argv + 1);
  if (strcmp(argv[1], "export") == 0)
    return trace_export(argc - 1, argv + 1);
  return cli_usage_error(&cmd_trace,
                         "unknown subcommand \"%s\" (valid: stats, export)",
                         argv[1]);
}

const hl_cmd_t cmd_trace = {"trace", "statistics and exports of a trace file",
                            trace_run, trace_usage};
