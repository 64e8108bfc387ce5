/*
 * tests/base/test_env.c — HLDEBUG parsing, hl_parse_size, hl_parse_int.
 *
 * hl_debug_parse is checked for every key with good and bad values and for
 * the whole error message (key and accepted forms named). hl_env_init runs
 * once per process, so each of its cases runs in a forked child: the child
 * sets HLDEBUG, calls it, and reports through its exit status and stderr.
 */
#include "base/env.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- child-process helper ---------------------------------------------- */

typedef struct child {
  int status;     /* from waitpid */
  char out[4096]; /* the child's stderr, NUL-terminated */
  size_t len;
} child_t;

/* Runs fn in a forked child with stderr redirected into a pipe; the child
 * exits with fn's return value. No cmocka asserts may run in the child. */
static void run_child(int (*fn)(void), child_t *c) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    _exit(fn());
  }
  close(p[1]);
  c->len = 0;
  for (;;) {
    ssize_t n = read(p[0], c->out + c->len, sizeof c->out - 1 - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    c->len += (size_t)n;
  }
  c->out[c->len] = '\0';
  close(p[0]);
  assert_int_equal(waitpid(pid, &c->status, 0), pid);
}

static void assert_exited(const child_t *c, int code) {
  if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != code)
    fail_msg("child status 0x%x, wanted exit %d; stderr \"%s\"", c->status,
             code, c->out);
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void **state) {
  (void)state;
  hl_debug_vars_t d;
  memset(&d, 0x5a, sizeof d);
  hl_debug_defaults(&d);
  assert_int_equal(d.sbrk, 0);
  assert_int_equal(d.scavdelay_ms, 1000);
  assert_int_equal(d.madvdontneed, 1);
  assert_int_equal(d.scavenger, 1);
  /* the static initialiser of hl_debug agrees (hl_env_init not called) */
  assert_int_equal(hl_debug.sbrk, d.sbrk);
  assert_int_equal(hl_debug.scavdelay_ms, d.scavdelay_ms);
  assert_int_equal(hl_debug.madvdontneed, d.madvdontneed);
  assert_int_equal(hl_debug.scavenger, d.scavenger);
}

/* ---- hl_debug_parse: accepted ------------------------------------------ */

static void assert_vars_equal(const hl_debug_vars_t *a,
                              const hl_debug_vars_t *b) {
  assert_int_equal(a->sbrk, b->sbrk);
  assert_int_equal(a->scavdelay_ms, b->scavdelay_ms);
  assert_int_equal(a->madvdontneed, b->madvdontneed);
  assert_int_equal(a->scavenger, b->scavenger);
}

static void test_parse_empty(void **state) {
  (void)state;
  hl_debug_vars_t v = {
      .sbrk = 1, .scavdelay_ms = 7, .madvdontneed = 0, .scavenger = 0};
  hl_debug_vars_t want = v;
  char err[64] = "untouched";
  assert_int_equal(hl_debug_parse(NULL, &v, err, sizeof err), 0);
  assert_vars_equal(&v, &want);
  assert_string_equal(err, "");
  assert_int_equal(hl_debug_parse("", &v, err, sizeof err), 0);
  assert_vars_equal(&v, &want);
}

static void test_parse_each_key(void **state) {
  (void)state;
  hl_debug_vars_t v, want;
  char err[256];

  /* each bool key both ways, starting from the opposite value */
  hl_debug_defaults(&v);
  want = v;
  assert_int_equal(hl_debug_parse("sbrk=1", &v, err, sizeof err), 0);
  want.sbrk = 1;
  assert_vars_equal(&v, &want);
  assert_int_equal(hl_debug_parse("sbrk=0", &v, err, sizeof err), 0);
  want.sbrk = 0;
  assert_vars_equal(&v, &want);

  assert_int_equal(hl_debug_parse("madvdontneed=0", &v, err, sizeof err), 0);
  want.madvdontneed = 0;
  assert_vars_equal(&v, &want);
  assert_int_equal(hl_debug_parse("madvdontneed=1", &v, err, sizeof err), 0);
  want.madvdontneed = 1;
  assert_vars_equal(&v, &want);

  assert_int_equal(hl_debug_parse("scavenger=0", &v, err, sizeof err), 0);
  want.scavenger = 0;
  assert_vars_equal(&v, &want);
  assert_int_equal(hl_debug_parse("scavenger=1", &v, err, sizeof err), 0);
  want.scavenger = 1;
  assert_vars_equal(&v, &want);

  /* scavdelay: both ends of the range and a value in between */
  static const struct {
    const char *s;
    int64_t ms;
  } delays[] = {{"scavdelay=0", 0},
                {"scavdelay=3600000", 3600000},
                {"scavdelay=500", 500},
                {"scavdelay=0007", 7}};
  for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
    assert_int_equal(hl_debug_parse(delays[i].s, &v, err, sizeof err), 0);
    want.scavdelay_ms = delays[i].ms;
    assert_vars_equal(&v, &want);
  }

  /* gctrigger: default 30 (heaplab's), both ends, Go's 70 */
  assert_int_equal(v.gctrigger, 30);
  assert_int_equal(hl_debug_parse("gctrigger=70", &v, err, sizeof err), 0);
  assert_int_equal(v.gctrigger, 70);
  assert_int_equal(hl_debug_parse("gctrigger=0", &v, err, sizeof err), 0);
  assert_int_equal(v.gctrigger, 0);
  assert_int_equal(hl_debug_parse("gctrigger=95", &v, err, sizeof err), 0);
  assert_int_equal(v.gctrigger, 95);
  /* gcassistcap: default 5, 0 (Go's uncapped assists) and 100 */
  assert_int_equal(v.gcassistcap, 5);
  assert_int_equal(hl_debug_parse("gcassistcap=0", &v, err, sizeof err), 0);
  assert_int_equal(v.gcassistcap, 0);
  assert_int_equal(hl_debug_parse("gcassistcap=100", &v, err, sizeof err), 0);
  assert_int_equal(v.gcassistcap, 100);
}

static void test_parse_list(void **state) {
  (void)state;
  hl_debug_vars_t v;
  char err[256];
  hl_debug_defaults(&v);
  assert_int_equal(
      hl_debug_parse("sbrk=1,scavdelay=250,madvdontneed=0,scavenger=0", &v, err,
                     sizeof err),
      0);
  assert_int_equal(v.sbrk, 1);
  assert_int_equal(v.scavdelay_ms, 250);
  assert_int_equal(v.madvdontneed, 0);
  assert_int_equal(v.scavenger, 0);

  /* keys not mentioned keep their values; a repeated key takes the last */
  assert_int_equal(hl_debug_parse("sbrk=0,scavdelay=9,sbrk=1,scavdelay=3", &v,
                                  err, sizeof err),
                   0);
  assert_int_equal(v.sbrk, 1);
  assert_int_equal(v.scavdelay_ms, 3);
  assert_int_equal(v.madvdontneed, 0);
  assert_int_equal(v.scavenger, 0);
}

static void test_parse_fault_keys(void **state) {
  (void)state;
  hl_debug_vars_t v;
  char err[256];
  hl_debug_defaults(&v);
  assert_int_equal(v.failmmap, 0);
  assert_int_equal(v.failthread, 0);
  assert_true(v.maplimit == 0);
  static const struct {
    const char *s;
    uint64_t want;
  } limits[] = {{"maplimit=0", 0},
                {"maplimit=4096", 4096},
                {"maplimit=64K", 64ull << 10},
                {"maplimit=300M", 300ull << 20},
                {"maplimit=2G", 2ull << 30},
                {"maplimit=2GiB", 2ull << 30},
                {"maplimit=1T", 1ull << 40},
                {"maplimit=18446744073709551615", UINT64_MAX}};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    assert_int_equal(hl_debug_parse(limits[i].s, &v, err, sizeof err), 0);
    if (v.maplimit != limits[i].want)
      fail_msg("\"%s\" -> %llu", limits[i].s, (unsigned long long)v.maplimit);
  }
  assert_int_equal(
      hl_debug_parse("failmmap=7,failthread=3,maplimit=1M", &v, err,
                     sizeof err),
      0);
  assert_int_equal(v.failmmap, 7);
  assert_int_equal(v.failthread, 3);
  assert_true(v.maplimit == 1u << 20);
  assert_int_equal(hl_debug_parse("failmmap=1000000000,failthread=0", &v, err,
                                  sizeof err),
                   0);
  assert_int_equal(v.failmmap, 1000000000);
  assert_int_equal(v.failthread, 0);
  assert_int_equal(v.sbrk, 0); /* untouched */
}

/* ---- hl_debug_parse: rejected ------------------------------------------ */

#define KNOWN                                                                  \
  "(known: sbrk, scavdelay, madvdontneed, scavenger, stacksize, schedtrace, "   \
  "scheddetail, gctrace, gccheckmark, gcstoptheworld, gctrigger, "           \
  "gcassistcap, failmmap, "                                                    \
  "failthread, maplimit)"
#define BOOL "(accepted: 0 or 1)"
#define DELAY "(accepted: 0..3600000 milliseconds)"
#define SIZE                                                                   \
  "(accepted: a byte count with an optional unit K, M, G, T, KiB, MiB, GiB, "   \
  "TiB; 0: no limit)"
#define FAILMMAP "(accepted: 0..1000000000 (mapping number; 0: off))"

static const struct bad_case {
  const char *in;
  const char *err;
} bad_cases[] = {
    /* bool keys */
    {"sbrk=2", "bad value \"2\" for sbrk " BOOL},
    {"sbrk=", "bad value \"\" for sbrk " BOOL},
    {"sbrk=01", "bad value \"01\" for sbrk " BOOL},
    {"sbrk=1x", "bad value \"1x\" for sbrk " BOOL},
    {"sbrk=true", "bad value \"true\" for sbrk " BOOL},
    {"sbrk= 1", "bad value \" 1\" for sbrk " BOOL},
    {"sbrk=1=1", "bad value \"1=1\" for sbrk " BOOL},
    {"madvdontneed=yes", "bad value \"yes\" for madvdontneed " BOOL},
    {"madvdontneed=-1", "bad value \"-1\" for madvdontneed " BOOL},
    {"scavenger=off", "bad value \"off\" for scavenger " BOOL},
    {"scavenger=10", "bad value \"10\" for scavenger " BOOL},
    /* the integer key */
    {"scavdelay=", "bad value \"\" for scavdelay " DELAY},
    {"scavdelay=abc", "bad value \"abc\" for scavdelay " DELAY},
    {"scavdelay=-1", "bad value \"-1\" for scavdelay " DELAY},
    {"scavdelay=+5", "bad value \"+5\" for scavdelay " DELAY},
    {"scavdelay=5ms", "bad value \"5ms\" for scavdelay " DELAY},
    {"scavdelay=1.5", "bad value \"1.5\" for scavdelay " DELAY},
    {"scavdelay=3600001",
     "value \"3600001\" out of range for scavdelay " DELAY},
    {"scavdelay=99999999999999999999999",
     "value \"99999999999999999999999\" out of range for scavdelay " DELAY},
    /* fault injection */
    {"maplimit=", "bad value \"\" for maplimit " SIZE},
    {"maplimit=lots", "bad value \"lots\" for maplimit " SIZE},
    {"maplimit=64Q", "bad value \"64Q\" for maplimit " SIZE},
    {"maplimit=-1", "bad value \"-1\" for maplimit " SIZE},
    {"maplimit=1.5G", "bad value \"1.5G\" for maplimit " SIZE},
    {"maplimit=64 M", "bad value \"64 M\" for maplimit " SIZE},
    {"maplimit=16777216T", "bad value \"16777216T\" for maplimit " SIZE},
    {"failmmap=x", "bad value \"x\" for failmmap " FAILMMAP},
    {"failmmap=-3", "bad value \"-3\" for failmmap " FAILMMAP},
    {"failmmap=1000000001",
     "value \"1000000001\" out of range for failmmap " FAILMMAP},
    {"failthread=2k", "bad value \"2k\" for failthread (accepted: "
                      "0..1000000 (thread creation number; 0: off))"},
    /* the collector's trigger bound */
    {"gctrigger=96", "value \"96\" out of range for gctrigger (accepted: "
                     "0..95 percent of the way from the marked heap to the "
                     "goal)"},
    {"gctrigger=7x", "bad value \"7x\" for gctrigger (accepted: 0..95 "
                     "percent of the way from the marked heap to the goal)"},
    {"gcassistcap=101",
     "value \"101\" out of range for gcassistcap (accepted: 0..100 percent "
     "of an allocating goroutine's CPU (0: no cap))"},
    {"gcassistcap=-5",
     "bad value \"-5\" for gcassistcap (accepted: 0..100 percent of an "
     "allocating goroutine's CPU (0: no cap))"},
    /* keys */
    {"foo=1", "unknown key \"foo\" " KNOWN},
    {"SBRK=1", "unknown key \"SBRK\" " KNOWN},
    {" sbrk=1", "unknown key \" sbrk\" " KNOWN},
    {"=1", "unknown key \"\" " KNOWN},
    {"foo", "unknown key \"foo\" " KNOWN},
    {"sbrk", "missing value for sbrk (expected sbrk=V, accepted: 0 or 1)"},
    {"scavdelay", "missing value for scavdelay (expected scavdelay=V, "
                  "accepted: 0..3600000 milliseconds)"},
    /* list structure: empty items are errors */
    {",", "empty setting at offset 0 (expected key=value[,...])"},
    {",sbrk=1", "empty setting at offset 0 (expected key=value[,...])"},
    {"sbrk=1,", "empty setting at offset 7 (expected key=value[,...])"},
    {"sbrk=1,,scavenger=0",
     "empty setting at offset 7 (expected key=value[,...])"},
    /* an error late in the list */
    {"sbrk=1,scavenger=0,bogus=3", "unknown key \"bogus\" " KNOWN},
};

static void test_parse_rejects(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    hl_debug_vars_t v, want;
    hl_debug_defaults(&v);
    want = v;
    char err[256] = "";
    int rc = hl_debug_parse(bad_cases[i].in, &v, err, sizeof err);
    if (rc != -1) fail_msg("\"%s\" accepted (rc %d)", bad_cases[i].in, rc);
    if (strcmp(err, bad_cases[i].err) != 0)
      fail_msg("\"%s\": error \"%s\", wanted \"%s\"", bad_cases[i].in, err,
               bad_cases[i].err);
    /* on error nothing is stored, not even the items before the bad one */
    assert_vars_equal(&v, &want);
  }
}

static void test_parse_error_buffer(void **state) {
  (void)state;
  hl_debug_vars_t v;
  hl_debug_defaults(&v);
  /* a short buffer truncates the message, NUL-terminated */
  char err[12];
  memset(err, 'Z', sizeof err);
  assert_int_equal(hl_debug_parse("sbrk=2", &v, err, 10), -1);
  assert_string_equal(err, "bad value");
  assert_int_equal(err[10], 'Z');
  /* no buffer at all */
  assert_int_equal(hl_debug_parse("sbrk=2", &v, NULL, 0), -1);
  assert_int_equal(hl_debug_parse("sbrk=1", &v, NULL, 0), 0);
  assert_int_equal(v.sbrk, 1);
}

/* ---- hl_parse_size ------------------------------------------------------ */

static void test_parse_size_good(void **state) {
  (void)state;
  static const struct {
    const char *s;
    uint64_t want;
  } good[] = {
      {"0", 0},
      {"100", 100},
      {"1B", 1},
      {"1K", 1024},
      {"2KB", 2048},
      {"3KiB", 3072},
      {"512MiB", 512ull << 20},
      {"5M", 5ull << 20},
      {"5MB", 5ull << 20},
      {"4GiB", 4ull << 30},
      {"4G", 4ull << 30},
      {"4GB", 4ull << 30},
      {"1T", 1ull << 40},
      {"2TB", 2ull << 40},
      {"7TiB", 7ull << 40},
      {"16777215TiB", 16777215ull << 40}, /* largest whole TiB count */
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551615B", UINT64_MAX},
      {"0TiB", 0},
      {"007K", 7168},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    uint64_t out = 12345;
    if (hl_parse_size(good[i].s, &out) != 0)
      fail_msg("\"%s\" rejected", good[i].s);
    if (out != good[i].want)
      fail_msg("\"%s\" -> %llu, wanted %llu", good[i].s,
               (unsigned long long)out, (unsigned long long)good[i].want);
  }
}

static void test_parse_size_bad(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "GiB",
      "B",
      "-1",
      "+1",
      "4 GiB",
      " 4GiB",
      "4GiB ",
      "4gib",
      "4Gi",
      "4GiBx",
      "4iB",
      "1.5GiB",
      "0x10",
      "1KK",
      "18446744073709551616", /* 2^64 */
      "18014398509481984K",   /* 2^54 KiB = 2^64 */
      "16777216TiB",          /* 2^24 TiB = 2^64 */
      "99999999999TiB",
      "99999999999999999999999",
  };
  assert_int_equal(hl_parse_size(NULL, &(uint64_t){0}), -1);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t out = 12345;
    if (hl_parse_size(bad[i], &out) != -1)
      fail_msg("\"%s\" accepted as %llu", bad[i], (unsigned long long)out);
    assert_int_equal(out, 12345); /* untouched on error */
  }
}

/* ---- hl_parse_int ------------------------------------------------------- */

static void test_parse_int(void **state) {
  (void)state;
  int64_t out = -99;
  assert_int_equal(hl_parse_int("0", 0, 10, &out), 0);
  assert_int_equal(out, 0);
  assert_int_equal(hl_parse_int("10", 0, 10, &out), 0);
  assert_int_equal(out, 10);
  assert_int_equal(hl_parse_int("007", 0, 10, &out), 0);
  assert_int_equal(out, 7);
  assert_int_equal(hl_parse_int("6", 6, 6, &out), 0);
  assert_int_equal(out, 6);
  assert_int_equal(hl_parse_int("9223372036854775807", 0, INT64_MAX, &out), 0);
  assert_true(out == INT64_MAX);
  assert_int_equal(hl_parse_int("3", -5, 5, &out), 0);
  assert_int_equal(out, 3);

  out = -99;
  static const struct {
    const char *s;
    int64_t min, max;
  } bad[] = {
      {"11", 0, 10},
      {"5", 6, 10},
      {"5", 0, 0}, /* a max below the digit must not wrap around */
      {"1", 0, 0},
      {"", 0, 10},
      {"-1", -5, 10},
      {"+1", 0, 10},
      {"1 ", 0, 10},
      {" 1", 0, 10},
      {"1x", 0, 10},
      {"9223372036854775808", 0, INT64_MAX},
      {"99999999999999999999", 0, INT64_MAX},
      {"5", 10, 0}, /* empty range */
      {"0", 0, -1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (hl_parse_int(bad[i].s, bad[i].min, bad[i].max, &out) != -1)
      fail_msg("\"%s\" in [%lld, %lld] accepted", bad[i].s,
               (long long)bad[i].min, (long long)bad[i].max);
    assert_int_equal(out, -99);
  }
  assert_int_equal(hl_parse_int(NULL, 0, 10, &out), -1);
}

/* ---- hl_env_init (each case in its own process) ------------------------ */

static int child_env_bad_value(void) {
  setenv("HLDEBUG", "sbrk=1,scavdelay=soon", 1);
  hl_env_init();
  return 0; /* not reached if the value is rejected */
}

static int child_env_unknown_key(void) {
  setenv("HLDEBUG", "gcfoo=1", 1);
  hl_env_init();
  return 0;
}

static int child_env_good(void) {
  setenv("HLDEBUG", "sbrk=1,scavdelay=250,scavenger=0", 1);
  hl_env_init();
  if (hl_debug.sbrk != 1 || hl_debug.scavdelay_ms != 250 ||
      hl_debug.scavenger != 0 || hl_debug.madvdontneed != 1)
    return 10;
  /* once per process: a later call neither re-reads nor re-checks */
  setenv("HLDEBUG", "sbrk=7", 1);
  hl_env_init();
  if (hl_debug.sbrk != 1 || hl_debug.scavdelay_ms != 250) return 11;
  return 0;
}

static int child_env_unset(void) {
  unsetenv("HLDEBUG");
  hl_debug.sbrk = 1; /* kept: no HLDEBUG means no change */
  hl_env_init();
  hl_debug_vars_t d;
  hl_debug_defaults(&d);
  if (hl_debug.sbrk != 1 || hl_debug.scavdelay_ms != d.scavdelay_ms ||
      hl_debug.madvdontneed != d.madvdontneed ||
      hl_debug.scavenger != d.scavenger)
    return 10;
  return 0;
}

#define NRACERS 8
static pthread_barrier_t race_barrier;

static void *env_racer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&race_barrier);
  hl_env_init();
  /* whichever thread parsed, every caller returns after hl_debug is set */
  return (void *)(intptr_t)(hl_debug.scavdelay_ms == 42 &&
                            hl_debug.madvdontneed == 0);
}

static int child_env_race(void) {
  setenv("HLDEBUG", "scavdelay=42,madvdontneed=0", 1);
  pthread_t t[NRACERS];
  pthread_barrier_init(&race_barrier, NULL, NRACERS);
  for (int i = 0; i < NRACERS; i++)
    if (pthread_create(&t[i], NULL, env_racer, NULL) != 0) return 20;
  int ok = 0;
  for (int i = 0; i < NRACERS; i++) {
    void *r;
    pthread_join(t[i], &r);
    ok += (int)(intptr_t)r;
  }
  return ok == NRACERS ? 0 : 10;
}

static int child_env_bad_maplimit(void) {
  setenv("HLDEBUG", "maplimit=12X", 1);
  hl_env_init();
  return 0;
}

static void test_env_init_bad_maplimit_exits_2(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_bad_maplimit, &c);
  assert_exited(&c, 2);
  assert_string_equal(c.out, "heaplab: HLDEBUG: bad value \"12X\" for "
                             "maplimit " SIZE "\n");
}

static void test_env_init_bad_value_exits_2(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_bad_value, &c);
  assert_exited(&c, 2);
  assert_string_equal(c.out,
                      "heaplab: HLDEBUG: bad value \"soon\" for scavdelay "
                      "(accepted: 0..3600000 milliseconds)\n");
}

static void test_env_init_unknown_key_exits_2(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_unknown_key, &c);
  assert_exited(&c, 2);
  assert_string_equal(c.out,
                      "heaplab: HLDEBUG: unknown key \"gcfoo\" " KNOWN "\n");
}

static void test_env_init_good(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_good, &c);
  assert_exited(&c, 0);
  assert_string_equal(c.out, "");
}

static void test_env_init_unset(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_unset, &c);
  assert_exited(&c, 0);
  assert_string_equal(c.out, "");
}

static void test_env_init_concurrent(void **state) {
  (void)state;
  child_t c;
  run_child(child_env_race, &c);
  assert_exited(&c, 0);
  assert_string_equal(c.out, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_parse_empty),
      cmocka_unit_test(test_parse_each_key),
      cmocka_unit_test(test_parse_list),
      cmocka_unit_test(test_parse_fault_keys),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test(test_parse_error_buffer),
      cmocka_unit_test(test_parse_size_good),
      cmocka_unit_test(test_parse_size_bad),
      cmocka_unit_test(test_parse_int),
      cmocka_unit_test(test_env_init_bad_value_exits_2),
      cmocka_unit_test(test_env_init_unknown_key_exits_2),
      cmocka_unit_test(test_env_init_bad_maplimit_exits_2),
      cmocka_unit_test(test_env_init_good),
      cmocka_unit_test(test_env_init_unset),
      cmocka_unit_test(test_env_init_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
