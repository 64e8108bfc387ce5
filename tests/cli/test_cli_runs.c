/*
 * tests/cli/test_cli_runs.c — `heaplab run` of every workload in the table
 * (wl_workloads) with small parameters, each result file checked for
 * content; a crashed child and a child the runtime refused to start are
 * recorded (status, exit 1) without a partial file.
 *
 * Small parameters: the table below names the options that make a
 * workload quick; a workload missing from it runs with its defaults (and
 * the test says so on stderr), so a new workload is always exercised; add
 * it here when its defaults take more than a second.
 */
#include "harness.h"

#include "workloads/workloads.h"

static const struct {
  const char *name;
  const char *opts[6];
} quick[] = {
    {"binarytrees", {"depth=8"}},
    {"gcbench",
     {"stretch_depth=10", "long_lived_depth=8", "array_size=4000",
      "max_depth=8"}},
    {"msgring", {"window=2000", "messages=20000"}},
    {"lrucache", {"requests=50000", "keys=10000", "capacity=1000"}},
    {"larson", {"slots=500", "ops=2000", "rounds=4"}},
    {"prodcons", {"messages=20000"}},
    {"parser", {"documents=20", "doc_size=8192"}},
    {"ptrscalar", {"records=20000", "passes=2"}},
    {"poolbench", {"ops=20000"}},
};

/* w's options in the quick table (each checked with wl_set: a stale
 * entry fails the test rather than being ignored). */
static int quick_options(const wl_workload_t *w, const char **opts) {
  int n = 0;
  for (size_t i = 0; i < sizeof quick / sizeof quick[0]; i++) {
    if (strcmp(quick[i].name, w->name) != 0)
      continue;
    for (int k = 0; quick[i].opts[k]; k++) {
      long v[WL_MAX_PARAMS];
      wl_defaults(w, v);
      if (wl_set(w, v, quick[i].opts[k], stderr) != 0)
        fail_msg("quick option %s of %s", quick[i].opts[k], w->name);
      opts[n++] = quick[i].opts[k];
    }
    return n;
  }
  fprintf(stderr, "note: no quick parameters for %s: its defaults are run\n",
          w->name);
  return 0;
}

static const jv_t *load(const char *dir, jv_t **doc) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[600], err[256];
  *doc = NULL;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".json")) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      *doc = json_parse_file(path, err, sizeof err);
      if (!*doc)
        fail_msg("%s: %s", path, err);
      break;
    }
  if (d)
    closedir(d);
  return *doc;
}

static void test_every_workload(void **state) {
  (void)state;
  int nw = 0;
  for (int i = 0; wl_workloads[i]; i++, nw++) {
    const wl_workload_t *w = wl_workloads[i];
    char dir[300];
    snprintf(dir, sizeof dir, "%s/wl_%s", scratch, w->name);
    const char *args[32] = {"run", w->name, "--procs=2", "--out", dir};
    int n = 5;
    n += quick_options(w, args + n);
    args[n] = NULL;
    int rc = run_argv(args);
    if (rc != 0)
      fail_msg("%s: exit %d\n%s\n%s", w->name, rc, out, errb);
    /* one line on stdout, naming the workload, ok, and the file */
    EXPECT(count_lines_with(out, "") == 1);
    EXPECT(strstr(out, w->name) && strstr(out, ": ok ") &&
           strstr(out, dir));
    EXPECT(count_json(dir) == 1);
    jv_t *doc;
    load(dir, &doc);
    EXPECT(!strcmp(jv_str(jv_get(doc, "status"), ""), "ok"));
    EXPECT(!strcmp(jv_str(jv_path(doc, "config.workload"), ""), w->name));
    EXPECT(jv_num(jv_path(doc, "config.procs"), 0) == 2);
    EXPECT(!strcmp(jv_str(jv_path(doc, "env.HLMAXPROCS"), ""), "2"));
    EXPECT(jv_num(jv_path(doc, "gc.procs"), 0) == 2); /* the child's view */
    EXPECT(jv_get(doc, "params")->n == w->nparams);
    EXPECT(jv_str(jv_path(doc, "machine.cpu_model"), NULL));
    EXPECT(jv_str(jv_path(doc, "machine.kernel"), NULL));
    EXPECT(jv_str(jv_path(doc, "build.compiler"), NULL));
    EXPECT(jv_str(jv_path(doc, "build.commit"), NULL));
    EXPECT(jv_path(doc, "check.ok")->num == 1);
    EXPECT(jv_num(jv_path(doc, "metrics.wall_s"), -1) > 0);
    EXPECT(jv_num(jv_path(doc, "metrics.peak_rss_mib"), -1) > 0);
    EXPECT(jv_num(jv_path(doc, "metrics.cpu_s"), -1) >= 0);
    /* at least the first and the last sample */
    const jv_t *series = jv_path(doc, "series.data");
    EXPECT(series && series->kind == JV_ARR && series->n >= 2);
    EXPECT(series->items[0].n == 5);
    EXPECT(jv_num(&series->items[series->n - 1].items[1], 0) > 0); /* RSS */
    /* a pause row per cycle (fewer than 256 cycles here) */
    double cycles = jv_num(jv_path(doc, "metrics.gc_cycles"), -1);
    const jv_t *pauses = jv_path(doc, "pauses.data");
    EXPECT(pauses && cycles >= 0 && cycles < 256 && pauses->n == cycles);
    /* the workload's own figures come with units */
    const jv_t *ex = jv_get(doc, "extra"), *un = jv_get(doc, "extra_units");
    EXPECT(ex && un && ex->n == un->n);
    jv_free(doc);
  }
  EXPECT(nw >= 2);
}

static void test_repeat_and_failures(void **state) {
  (void)state;
  char dir[300];
  sub(dir, sizeof dir, "rep", 0);
  EXPECT(RUN("run", "binarytrees", "depth=6", "--gc=off", "--repeat=2",
             "--out", dir) == 0);
  EXPECT(count_lines_with(out, "rep 1: ok") == 1);
  EXPECT(count_lines_with(out, "rep 2: ok") == 1);
  EXPECT(count_json(dir) == 2);
  EXPECT(strstr(out, "GC 0 ")); /* HLGC=off reached the child */

  /* a crashed child: recorded, exit status 1, no .tmp left */
  sub(dir, sizeof dir, "crash", 0);
  setenv("HLRUN_TEST_CRASH", "1", 1);
  int rc = RUN("run", "binarytrees", "depth=6", "--out", dir);
  unsetenv("HLRUN_TEST_CRASH");
  EXPECT(rc == 1);
  EXPECT(strstr(out, "crashed") && strstr(out, "signal 9"));
  jv_t *doc;
  load(dir, &doc);
  EXPECT(!strcmp(jv_str(jv_get(doc, "status"), ""), "crashed"));
  EXPECT(jv_str(jv_path(doc, "config.key"), NULL));
  jv_free(doc);
  EXPECT(count_json(dir) == 1);

  /* the runtime refuses its environment: an "error" result */
  sub(dir, sizeof dir, "error", 0);
  setenv("HLDEBUG", "nosuchkey=1", 1);
  rc = RUN("run", "binarytrees", "depth=6", "--out", dir);
  unsetenv("HLDEBUG");
  EXPECT(rc == 1);
  EXPECT(strstr(errb, "nosuchkey")); /* the runtime's own message */
  load(dir, &doc);
  EXPECT(!strcmp(jv_str(jv_get(doc, "status"), ""), "error"));
  jv_free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_workload),
      cmocka_unit_test(test_repeat_and_failures),
  };
  return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
