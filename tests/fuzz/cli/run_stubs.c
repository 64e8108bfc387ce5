/*
 * tests/fuzz/cli/run_stubs.c — the workloads' run functions, for the
 * libFuzzer build of fuzz_cli only. The target fuzzes the parsers of the
 * workload table (workloads/table.c) and never runs a workload; linking
 * table.c with these instead of the workloads library keeps the collector
 * out of the clang build. (The replay build links the real library.)
 */
#include "workloads/workloads.h"

#include <errno.h>
#include <stdlib.h>

int wl_binarytrees_run(const wl_binarytrees_params_t *p, FILE *out,
                       wl_metrics_t *m) {
  (void)p, (void)out, (void)m;
  abort(); /* the fuzz target only parses */
}

int wl_gcbench_run(const wl_gcbench_params_t *p, FILE *out, wl_metrics_t *m) {
  (void)p, (void)out, (void)m;
  abort();
}
