/*
 * tests/cli/test_cli_args.c — bad input to run, sweep, compare and plot:
 * exit status 2 and a message naming what was wrong plus the valid
 * choices (workloads, options, strategies, formats, plot kinds); gnuplot
 * missing: exit 1 and the Debian package named. Nothing here runs a
 * workload.
 */
#include "harness.h"

#include "workloads/workloads.h"

static void test_unknown_workload(void **state) {
  (void)state;
  EXPECT(RUN("run", "nosuchload") == 2);
  EXPECT(strstr(errb, "unknown workload \"nosuchload\""));
  for (int i = 0; wl_workloads[i]; i++) /* every valid choice listed */
    EXPECT(strstr(errb, wl_workloads[i]->name));
  EXPECT(RUN("sweep", "nosuchload", "--gc=50,100") == 2);
  EXPECT(strstr(errb, "unknown workload"));
  EXPECT(strstr(errb, "binarytrees"));
  EXPECT(RUN("run") == 2);
  EXPECT(strstr(errb, "no workload given"));
}

static void test_unknown_flag(void **state) {
  (void)state;
  EXPECT(RUN("run", "binarytrees", "--frobnicate") == 2);
  EXPECT(strstr(errb, "unknown option \"--frobnicate\""));
  EXPECT(strstr(errb, "--gc=PCT|off")); /* the usage lists the flags */
  EXPECT(RUN("sweep", "binarytrees", "--frobnicate") == 2);
  EXPECT(strstr(errb, "unknown option \"--frobnicate\""));
  EXPECT(RUN("compare", "--frobnicate", scratch) == 2);
  EXPECT(strstr(errb, "unknown option"));
}

static void test_bad_values(void **state) {
  (void)state;
  EXPECT(RUN("run", "binarytrees", "--gc=lots") == 2);
  EXPECT(strstr(errb, "--gc=lots") && strstr(errb, "or off"));
  EXPECT(RUN("run", "binarytrees", "--procs=0") == 2);
  EXPECT(strstr(errb, "--procs=0") && strstr(errb, "1..1024"));
  EXPECT(RUN("run", "binarytrees", "--memlimit=12parsecs") == 2);
  EXPECT(strstr(errb, "--memlimit=12parsecs") && strstr(errb, "MiB"));
  EXPECT(RUN("run", "binarytrees", "--strategy=magic") == 2);
  EXPECT(strstr(errb, "unknown strategy 'magic'"));
  EXPECT(strstr(errb, "strategies: none"));
  EXPECT(RUN("run", "binarytrees", "depth=99") == 2);
  EXPECT(strstr(errb, "depth wants an integer in 1..29"));
  EXPECT(RUN("run", "binarytrees", "colour=7") == 2);
  EXPECT(strstr(errb, "unknown option 'colour'"));
  EXPECT(strstr(errb, "min_depth=N")); /* the valid options */
  EXPECT(RUN("run", "binarytrees", "--repeat=0") == 2);
  EXPECT(strstr(errb, "--repeat=0"));
  EXPECT(RUN("sweep", "binarytrees", "--gc=50,,100") == 2);
  EXPECT(strstr(errb, "bad list"));
  EXPECT(RUN("sweep", "binarytrees", "--gc=50,sometimes") == 2);
  EXPECT(strstr(errb, "--gc=sometimes"));
  EXPECT(RUN("sweep", "binarytrees", "depth=3,99") == 2);
  EXPECT(strstr(errb, "depth wants an integer"));
  EXPECT(RUN("compare", scratch, "--format", "xml") == 2);
  EXPECT(strstr(errb, "text, markdown, csv"));
  EXPECT(RUN("plot", "pie", scratch, "--out", "x.png") == 2);
  EXPECT(strstr(errb, "mmu, heap, pauses, throughput"));
  EXPECT(RUN("plot", "heap", scratch, "--out", "x.jpg") == 2);
  EXPECT(strstr(errb, ".png or .svg"));
  EXPECT(RUN("plot", "heap", scratch) == 2);
  EXPECT(strstr(errb, "--out"));
}

static void test_list_and_help(void **state) {
  (void)state;
  EXPECT(RUN("run", "--list") == 0);
  int n = 0;
  for (int i = 0; wl_workloads[i]; i++, n++)
    EXPECT(count_lines_with(out, wl_workloads[i]->name) >= 1);
  EXPECT(count_lines_with(out, "") == n);
  EXPECT(RUN("run", "binarytrees", "--help") == 0);
  EXPECT(strstr(out, "depth=N") && strstr(out, "strategies"));
  EXPECT(RUN("help") == 0);
  EXPECT(strstr(out, "sweep") && strstr(out, "compare") &&
         strstr(out, "plot"));
  EXPECT(!strstr(out, "run-child")); /* hidden */
}

static void test_gnuplot_missing(void **state) {
  (void)state;
  char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
  setenv("PATH", "/nonexistent", 1);
  int rc = RUN("plot", "heap", scratch, "--out", "x.png");
  if (path) {
    setenv("PATH", path, 1);
    free(path);
  }
  EXPECT(rc == 1);
  EXPECT(strstr(errb, "gnuplot") && strstr(errb, "gnuplot-nox"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_workload),
      cmocka_unit_test(test_unknown_flag),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_list_and_help),
      cmocka_unit_test(test_gnuplot_missing),
  };
  return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
