/*
 * tests/cli/test_cli_sweep.c — a 2x2 sweep (--gc=50,off x --procs=1,2,
 * with traces) stopped after its first run (HLSWEEP_STOP_AFTER, as an
 * interruption) and resumed: the finished cell is skipped (its file is
 * untouched) and all 4 cells are there at the end. Then, on those
 * results: compare (rows, baseline ratio 1.00, formats), a corrupt and a
 * foreign JSON file skipped with a warning, and the four plots (PNG
 * signature, non-trivial size).
 */
#include "harness.h"

static char dir[300];

#define SWEEP_ARGS                                                             \
  "sweep", "binarytrees", "--gc=50,off", "--procs=1,2", "depth=12", "--trace", \
      "--out", dir

static void test_sweep_resume(void **state) {
  (void)state;
  sub(dir, sizeof dir, "sweep", 0);
  setenv("HLSWEEP_STOP_AFTER", "1", 1);
  int rc = RUN(SWEEP_ARGS);
  unsetenv("HLSWEEP_STOP_AFTER");
  EXPECT(rc == 3);
  EXPECT(count_json(dir) == 1);
  EXPECT(count_lines_with(out, ": ok ") == 1);
  /* the first cell in order: gc=50 procs=1 */
  char first[400];
  snprintf(first, sizeof first, "%s/binarytrees-gc50-p1-trace-depth=12-r1.json",
           dir);
  struct stat st0, st1;
  EXPECT(stat(first, &st0) == 0);

  EXPECT(RUN(SWEEP_ARGS) == 0);
  EXPECT(strstr(errb, "1 already in"));
  EXPECT(strstr(errb, "3 to run"));
  EXPECT(count_lines_with(out, ": ok ") == 3);
  EXPECT(!strstr(out, "gc=50 procs=1 ")); /* skipped, not rerun */
  EXPECT(count_json(dir) == 4);
  EXPECT(stat(first, &st1) == 0);
  EXPECT(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
         st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);

  /* nothing left: a third sweep runs nothing */
  EXPECT(RUN(SWEEP_ARGS) == 0);
  EXPECT(strstr(errb, "0 to run"));
  EXPECT(count_lines_with(out, ": ok ") == 0);
}

static void test_compare(void **state) {
  (void)state;
  char line[4096];
  EXPECT(RUN("compare", dir, "--baseline", "gc=off,procs=2", "--metrics",
             "wall_s,gc_cycles,peak_rss_mib") == 0);
  /* header, 4 rows, the legend */
  EXPECT(count_lines_with(out, "configuration") == 1);
  EXPECT(count_lines_with(out, "gc=50 procs=1") == 1);
  EXPECT(count_lines_with(out, "gc=50 procs=2") == 1);
  EXPECT(count_lines_with(out, "gc=off procs=1") == 1);
  EXPECT(count_lines_with(out, "gc=off procs=2 (baseline)") == 1);
  line_with(out, "(baseline)", line, sizeof line);
  EXPECT(count_lines_with(line, "") == 1);
  /* the baseline's wall and RSS ratios are 1.00 (GC cycles: 0/0, none) */
  const char *p = strstr(line, "x1.00");
  EXPECT(p && strstr(p + 1, "x1.00"));
  /* GC off ran no cycle; GC at 50% ran some */
  line_with(out, "gc=off procs=1", line, sizeof line);
  EXPECT(strstr(line, " 0 x-"));

  EXPECT(RUN("compare", dir, "--format", "csv", "--metrics", "wall_s",
             "--baseline", "gc=50,procs=1") == 0);
  EXPECT(count_lines_with(out, "") == 5);
  EXPECT(strstr(out, "wall_s_median,wall_s_min,wall_s_max,wall_s_ratio"));
  line_with(out, "\"gc=50 procs=1\"", line, sizeof line);
  EXPECT(strstr(line, ",1.0000"));

  EXPECT(RUN("compare", dir, "--format", "markdown") == 0);
  EXPECT(strstr(out, "| configuration | runs ok |"));
  EXPECT(strstr(out, "|---|---:|"));
  EXPECT(count_lines_with(out, "| gc=") == 4);

  /* a baseline that matches nothing lists the configurations */
  EXPECT(RUN("compare", dir, "--baseline", "gc=7") == 2);
  EXPECT(strstr(errb, "matches no configuration") &&
         strstr(errb, "gc=off procs=2"));
  /* one that matches two asks for more fields */
  EXPECT(RUN("compare", dir, "--baseline", "gc=off") == 2);
  EXPECT(strstr(errb, "matches several"));
  EXPECT(RUN("compare", dir, "--metrics", "nosuchmetric") == 2);
  EXPECT(strstr(errb, "nosuchmetric") && strstr(errb, "wall_s"));
}

static void test_corrupt_files_skipped(void **state) {
  (void)state;
  char path[400];
  snprintf(path, sizeof path, "%s/corrupt.json", dir);
  FILE *f = fopen(path, "w");
  fputs("{\"heaplab_result\": 1, \"status\": \"ok\", \"config\": {", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/foreign.json", dir);
  f = fopen(path, "w");
  fputs("{\"name\": \"not ours\"}\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  f = fopen(path, "w");
  fputs("a note\n", f);
  fclose(f);
  EXPECT(RUN("compare", dir, "--metrics", "wall_s") == 0);
  EXPECT(strstr(errb, "warning: skipping") && strstr(errb, "corrupt.json") &&
         strstr(errb, "offset 49: "));
  EXPECT(strstr(errb, "foreign.json") && strstr(errb, "not a heaplab"));
  EXPECT(!strstr(errb, "notes.txt"));
  EXPECT(count_lines_with(out, "gc=") == 4); /* the rest used */
  /* the sweep does not count them as cells either */
  EXPECT(RUN(SWEEP_ARGS) == 0);
  EXPECT(strstr(errb, "4 already in"));
}

static void test_plots(void **state) {
  (void)state;
  static const char *const kinds[] = {"mmu", "heap", "pauses", "throughput"};
  for (int k = 0; k < 4; k++) {
    char png[400];
    snprintf(png, sizeof png, "%s/%s.png", scratch, kinds[k]);
    int rc = RUN("plot", kinds[k], dir, "--out", png);
    if (rc != 0)
      fail_msg("plot %s: exit %d\n%s\n%s", kinds[k], rc, out, errb);
    EXPECT(strstr(out, "wrote"));
    expect_png(png, 8000);
  }
  char svg[400];
  snprintf(svg, sizeof svg, "%s/pauses.svg", scratch);
  EXPECT(RUN("plot", "pauses", dir, "--out", svg) == 0);
  char buf[512];
  slurp(svg, buf, sizeof buf);
  EXPECT(strstr(buf, "<svg"));
  /* GC off has no pauses: left out with a note, the others plotted */
  EXPECT(strstr(errb, "no GC pauses"));
  EXPECT(strstr(out, "2 configurations"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sweep_resume),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_corrupt_files_skipped),
      cmocka_unit_test(test_plots),
  };
  return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
