/*
 * tests/trace/test_cli.c — the `heaplab` command: argument errors (exit
 * 2, a usage naming the valid choices), unreadable input (exit 1, the
 * reader's message with its offset), and the outputs of trace stats, mmu
 * (text and CSV, equal to the library's values) and trace export on a
 * synthetic trace whose figures are known.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "trace/mmu.h"
#include "trace/synth.h"

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char trace_path[64], out_path[64], err_path[64];
static char out[1 << 20], errb[1 << 16];

static char *slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = 0;
  if (f)
    fclose(f);
  return buf;
}

/* Runs heaplab with args (NULL-terminated); returns the exit status. */
static int run(const char *a0, ...) {
  const char *argv[32] = {HEAPLAB_BIN};
  int n = 1;
  va_list ap;
  va_start(ap, a0);
  for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, HEAPLAB_BIN, &fa, NULL,
                               (char *const *)argv, environ),
                   0);
  posix_spawn_file_actions_destroy(&fa);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  slurp(out_path, out, sizeof out);
  slurp(err_path, errb, sizeof errb);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_msg("%s\n--- stdout:\n%s\n--- stderr:\n%s", #cond, out, errb);      \
  } while (0)

/* 2 Ps, 2 ms: GC cycles at 100 us and 1 ms; pauses of 10, 20, 30, 40 us;
 * P0 marks 200..700 us, P1 assists 300..400 us; 3 goroutines, 2
 * syscalls (50 us, 150 us; one ends on the other P). */
static int setup(void **state) {
  (void)state;
  int pid = (int)getpid();
  snprintf(trace_path, sizeof trace_path, "/tmp/hl_test_cli_%d.hltrace", pid);
  snprintf(out_path, sizeof out_path, "/tmp/hl_test_cli_%d.out", pid);
  snprintf(err_path, sizeof err_path, "/tmp/hl_test_cli_%d.err", pid);
  hlt_synth_t *s = hlt_synth_open(trace_path, 2);
  uint64_t a[3] = {2, 0, 0};
  const char *strs[2] = {"phase", "x\"y"};
#define EV(p, k, t) hlt_synth_event(s, p, TRACE_EV_##k, (uint64_t)(t), a, strs)
  EV(-1, PROCS, 0);
  a[0] = 1;
  EV(-1, GC_START, 100000);
  a[0] = TRACE_STW_SWEEP_TERM;
  EV(-1, STW_START, 100000);
  EV(-1, STW_END, 110000);
  a[0] = TRACE_STW_MARK_TERM;
  EV(-1, STW_START, 800000);
  EV(-1, STW_END, 820000);
  a[0] = 1;
  EV(-1, GC_END, 820000);
  a[0] = 2;
  EV(-1, GC_START, 1000000);
  a[0] = TRACE_STW_SWEEP_TERM;
  EV(-1, STW_START, 1000000);
  EV(-1, STW_END, 1030000);
  a[0] = TRACE_STW_MARK_TERM;
  EV(-1, STW_START, 1500000);
  EV(-1, STW_END, 1540000);
  a[0] = 2;
  EV(-1, GC_END, 1540000);
  a[0] = 1;
  EV(0, GO_CREATE, 0);
  a[0] = 2;
  EV(0, GO_CREATE, 10);
  a[0] = 3;
  EV(0, GO_CREATE, 20);
  a[0] = 1;
  EV(0, GO_START, 30);
  EV(0, GO_SYSCALL, 50000);
  a[0] = TRACE_MARK_DEDICATED;
  EV(0, MARK_START, 200000);
  EV(0, MARK_END, 700000);
  a[0] = 5000000;
  EV(0, HEAP_LIVE, 700000);
  a[0] = 8000000;
  EV(0, HEAP_GOAL, 700001);
  a[0] = 2;
  EV(1, GO_START, 40);
  EV(1, REGION_BEGIN, 41);
  a[0] = 1;
  EV(1, GO_SYSCALL_END, 100000);
  EV(1, ASSIST_START, 300000);
  EV(1, ASSIST_END, 400000);
  a[0] = 2;
  EV(1, GO_SYSCALL, 500000);
  EV(1, GO_SYSCALL_END, 650000);
  EV(1, LOG, 660000);
  EV(1, REGION_END, 670000);
  EV(1, GO_END, 680000);
#undef EV
  return hlt_synth_close(s, 2000000);
}

static int teardown(void **state) {
  (void)state;
  unlink(trace_path);
  unlink(out_path);
  unlink(err_path);
  return 0;
}

static void test_argument_errors(void **state) {
  (void)state;
  EXPECT(run(NULL) == 2 && strstr(errb, "commands:") && strstr(errb, "mmu") &&
         strstr(errb, "trace"));
  EXPECT(run("frobnicate", NULL) == 2 && strstr(errb, "unknown command"));
  EXPECT(run("trace", NULL) == 2 && strstr(errb, "valid: stats, export"));
  EXPECT(run("trace", "stat", NULL) == 2 &&
         strstr(errb, "unknown subcommand \"stat\""));
  EXPECT(run("trace", "stats", NULL) == 2 && strstr(errb, "usage:"));
  EXPECT(run("trace", "export", trace_path, NULL) == 2 &&
         strstr(errb, "no format") && strstr(errb, "--perfetto"));
  EXPECT(run("trace", "export", "--json", trace_path, NULL) == 2 &&
         strstr(errb, "valid export formats: --perfetto"));
  EXPECT(run("mmu", NULL) == 2 && strstr(errb, "no trace file"));
  EXPECT(run("mmu", trace_path, "--flags", "stw,gc", NULL) == 2 &&
         strstr(errb, "\"gc\"") && strstr(errb, "background"));
  EXPECT(run("mmu", trace_path, "--windows", "0ms", NULL) == 2 &&
         strstr(errb, "bad duration"));
  EXPECT(run("mmu", trace_path, "--windows", "3 parsecs", NULL) == 2);
  EXPECT(run("mmu", trace_path, "--percentiles", "100", NULL) == 2);
  EXPECT(run("mmu", trace_path, "--windows", NULL) == 2 &&
         strstr(errb, "needs a value"));
  EXPECT(run("mmu", trace_path, "--bogus", NULL) == 2);
  EXPECT(run("help", "mmu", NULL) == 0 && strstr(out, "--percentiles"));
}

static void test_bad_input(void **state) {
  (void)state;
  EXPECT(run("trace", "stats", "/nonexistent.hltrace", NULL) == 1 &&
         strstr(errb, "cannot open"));
  /* a truncated copy */
  FILE *f = fopen(trace_path, "rb"), *g = fopen(out_path, "wb");
  char buf[100];
  size_t n = fread(buf, 1, sizeof buf, f);
  fwrite(buf, 1, n, g);
  fclose(f);
  fclose(g);
  char cut[96];
  snprintf(cut, sizeof cut, "%s.cut", trace_path);
  rename(out_path, cut);
  EXPECT(run("trace", "stats", cut, NULL) == 1 && strstr(errb, "offset ") &&
         strstr(errb, cut));
  EXPECT(run("mmu", cut, NULL) == 1 && strstr(errb, "offset "));
  unlink(cut);
}

static void test_stats(void **state) {
  (void)state;
  EXPECT(run("trace", "stats", trace_path, NULL) == 0);
  EXPECT(strstr(out, "duration: 2.000 ms\n"));
  EXPECT(strstr(out, "procs: 2\n"));
  EXPECT(strstr(out, "gc cycles: 2\n"));
  EXPECT(strstr(out, "stw pauses: 4\n"));
  EXPECT(strstr(out, "pause p50: 20.000 us\n"));
  EXPECT(strstr(out, "pause p99: 40.000 us\n"));
  EXPECT(strstr(out, "pause max: 40.000 us\n"));
  EXPECT(strstr(out, "pause total: 100.000 us\n"));
  EXPECT(strstr(out, "mark worker time: 500.000 us\n"));
  EXPECT(strstr(out, "assist time: 100.000 us\n"));
  /* (500 + 100 + 100 * 2) / (2000 * 2) = 20% */
  EXPECT(strstr(out, "gc cpu: 20.00%\n"));
  EXPECT(strstr(out, "goroutines created: 3\n"));
  EXPECT(strstr(out, "syscalls: 2\n"));
  EXPECT(strstr(out, "syscall time: 200.000 us\n"));
  EXPECT(strstr(out, "syscall max: 150.000 us\n"));
  EXPECT(strstr(out, "heap live max: 5000000\n"));
  EXPECT(strstr(out, "heap goal last: 8000000\n"));
  EXPECT(strstr(out, "regions: 1\n"));
  EXPECT(strstr(out, "logs: 1\n"));
}

static void test_mmu(void **state) {
  (void)state;
  EXPECT(run("mmu", trace_path, "--windows", "10us,100us,1ms", NULL) == 0);
  EXPECT(strstr(out, "(stw,background,assist)"));
  EXPECT(strstr(out, "10us   0.0000"));
  /* the worst 100 us: [300, 400) with P0 marking and P1 assisting = 0 */
  EXPECT(strstr(out, "100us   0.0000"));
  EXPECT(run("mmu", trace_path, "--csv", "--windows", "10us,0.5ms,2ms",
             "--flags", "stw", "--percentiles", "1,50", NULL) == 0);
  EXPECT(strncmp(out, "window_ns,window_s,mmu,worst1%,worst50%,file\n", 44) ==
         0);
  /* cross-check with the library */
  char err[256];
  hlt_reader_t *r = hlt_open_file(trace_path, err, sizeof err);
  hlt_util_t u;
  assert_int_equal(hlt_util_read(r, HLT_UTIL_STW, &u, err, sizeof err), 0);
  hlt_close(r);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  const int64_t ws[3] = {10000, 500000, 2000000};
  char *line = strchr(out, '\n') + 1;
  for (int i = 0; i < 3; i++) {
    long long w;
    double ws_s, mmu, p1, p50;
    assert_int_equal(sscanf(line, "%lld,%lf,%lf,%lf,%lf,", &w, &ws_s, &mmu,
                            &p1, &p50),
                     5);
    assert_int_equal(w, ws[i]);
    double q[2] = {0.01, 0.5}, qv[2];
    hlt_mmu_quantiles(m, ws[i], q, 2, qv);
    assert_true(fabs(mmu - hlt_mmu_window(m, ws[i])) < 1e-6);
    assert_true(fabs(p1 - qv[0]) < 1e-6 && fabs(p50 - qv[1]) < 1e-6);
    assert_true(strstr(line, trace_path) != NULL);
    line = strchr(line, '\n') + 1;
  }
  /* STW only: 2 ms window = 1 - 100/2000 */
  assert_true(fabs(hlt_mmu_window(m, 2000000) - 0.95) < 1e-9);
  hlt_mmu_free(m);
  hlt_util_free(&u);
}

static void test_export(void **state) {
  (void)state;
  EXPECT(run("trace", "export", "--perfetto", trace_path, NULL) == 0);
  EXPECT(strncmp(out, "{\"displayTimeUnit\"", 18) == 0);
  EXPECT(strstr(out, "\"name\":\"P0\""));
  EXPECT(strstr(out, "\"name\":\"P1 GC\""));
  EXPECT(strstr(out, "\"name\":\"G1\""));
  EXPECT(strstr(out, "\"name\":\"mark worker\",\"ts\":200.000,\"dur\":500.000,"
                     "\"args\":{\"mode\":\"dedicated\"}"));
  EXPECT(strstr(out, "\"name\":\"STW\",\"ts\":800.000,\"args\":{\"reason\":"
                     "\"mark termination\"}"));
  EXPECT(strstr(out, "\"args\":{\"live\":5000000}"));
  EXPECT(strstr(out, "\"message\":\"x\\\"y\""));
  EXPECT(strstr(out, "]}\n"));
  /* valid JSON, when python3 is there to say so */
  if (access("/usr/bin/python3", X_OK) == 0) {
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json,sys; "
             "d=json.load(open(\"%s\")); sys.exit(len(d[\"traceEvents\"])<10)'",
             out_path);
    assert_int_equal(system(cmd), 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argument_errors),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_stats),
      cmocka_unit_test(test_mmu),
      cmocka_unit_test(test_export),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
