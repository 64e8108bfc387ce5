/*
 * tools/heaplab/cmd_run.c — `heaplab run WORKLOAD [flags] [name=value...]`:
 * runs one configuration of a workload, each repetition in a fresh process
 * (experiment.h), one result file and one line on stdout per repetition.
 */
#include "tools/heaplab/cmd.h"
#include "tools/heaplab/experiment.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_OUT "out/runs"

static void run_usage(FILE *out) {
  fprintf(out,
          "usage: heaplab run WORKLOAD [--gc=PCT|off] [--sbrk] [--procs=N]\n"
          "                   [--memlimit=SIZE] [--strategy=NAME] [--trace]\n"
          "                   [--repeat=N] [--out DIR] [--verbose] "
          "[name=value ...]\n"
          "       heaplab run --list           the workloads, one per line\n"
          "       heaplab run WORKLOAD --help  its options and strategies\n"
          "  --gc=PCT|off      HLGC: heap growth before a cycle, 0..1000000, "
          "or off\n"
          "                    (default 100)\n"
          "  --sbrk            HLDEBUG=sbrk=1: bump allocation, nothing is "
          "ever freed\n"
          "  --procs=N         HLMAXPROCS, 1..1024 (default: the CPUs "
          "available)\n"
          "  --memlimit=SIZE   HLMEMLIMIT: soft memory limit, e.g. 256MiB, "
          "or off\n"
          "  --strategy=NAME   allocation strategy (see WORKLOAD --help)\n"
          "  --trace           HLTRACE: an execution trace next to the "
          "result\n"
          "  --repeat=N        N runs, each in a fresh process (default 1)\n"
          "  --out DIR         results directory (default " DEFAULT_OUT ")\n"
          "  --verbose         the workload's own output, on stderr\n"
          "  name=value        a workload parameter\n");
  cfg_list_workloads(out);
}

/* Options shared with `sweep` that are not part of a configuration. */
int run_parse_common(const hl_cmd_t *c, int argc, char **argv, int *i,
                     int *repeat, const char **outdir, int *verbose) {
  const char *a = argv[*i];
  if (strncmp(a, "--repeat=", 9) == 0) {
    char *end;
    long n = strtol(a + 9, &end, 10);
    if (!a[9] || *end || n < 1 || n > 1000) {
      cli_usage_error(c, "--repeat=%s: not a count (accepted: an integer "
                         "1..1000)", a + 9);
      return -1;
    }
    *repeat = (int)n;
  } else if (strcmp(a, "--out") == 0 || strncmp(a, "--out=", 6) == 0) {
    if (a[5] == '=') {
      *outdir = a + 6;
    } else if (*i + 1 < argc) {
      *outdir = argv[++*i];
    } else {
      cli_usage_error(c, "--out needs a directory");
      return -1;
    }
    if (!**outdir) {
      cli_usage_error(c, "--out: empty directory name");
      return -1;
    }
  } else if (strcmp(a, "--verbose") == 0) {
    *verbose = 1;
  } else {
    return 0;
  }
  return 1;
}

/* The workload named by argv[1], or NULL after the usage error (listing
 * the workloads). */
const wl_workload_t *run_workload_arg(const hl_cmd_t *c, int argc,
                                      char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    cli_usage_error(c, "no workload given");
    return NULL;
  }
  const wl_workload_t *w = wl_find(argv[1]);
  if (!w)
    cli_usage_error(c, "unknown workload \"%s\"", argv[1]);
  return w;
}

static int run_run(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; wl_workloads[i]; i++)
      printf("%s\n", wl_workloads[i]->name);
    return 0;
  }
  const wl_workload_t *w = run_workload_arg(&cmd_run, argc, argv);
  if (!w)
    return 2;
  run_cfg_t cfg;
  cfg_defaults(&cfg, w);
  int repeat = 1, verbose = 0;
  const char *outdir = DEFAULT_OUT;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      cfg_workload_help(w, stdout);
      return 0;
    }
    int r = run_parse_common(&cmd_run, argc, argv, &i, &repeat, &outdir,
                             &verbose);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    r = cfg_parse_arg(&cfg, argv[i]);
    if (r < 0) {
      cfg_workload_help(w, stderr);
      return 2;
    }
    if (r == 0)
      return cli_usage_error(&cmd_run, "unknown option \"%s\"", argv[i]);
  }
  if (make_dirs(outdir))
    return 1;
  run_catch_signals();
  int failed = 0;
  for (int rep = 1; rep <= repeat; rep++) {
    enum run_status s = run_one(&cfg, rep, outdir, verbose, 0, NULL);
    if (s == RUN_INTERRUPTED) {
      fprintf(stderr, "heaplab run: interrupted\n");
      return 130;
    }
    failed |= s != RUN_OK;
  }
  return failed;
}

const hl_cmd_t cmd_run = {"run", "run a workload under a configuration "
                                 "(fresh process, JSON result)",
                          run_run, run_usage};
