/*
 * tests/sched/test_dump.c — goroutine dumps, read back as text: every
 * goroutine is listed with its status or wait reason, a stack trace that
 * goes through the function it was started with, and that function by
 * name; the calling goroutine comes first with its own live stack; a
 * goroutine running on another thread is reported as such; dumping over
 * and over while goroutines switch under it neither crashes nor loses
 * one; a garbage saved frame is reported, not followed into a crash.
 *
 * The dump is written into a memfd (a pipe could fill up: the writer is
 * also the only reader) and searched section by section ("goroutine N
 * [...]:" up to the blank line). Uses the scheduler's internals
 * (goroutine_dump, gopark, goready) as a white-box test.
 */
#include "harness.h"

#include "sched/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char dumpbuf[1 << 20];

/* Dumps every goroutine into dumpbuf; returns its length. */
static size_t dump_text(void) {
  int fd = memfd_create("hl-dump", MFD_CLOEXEC);
  assert_true(fd >= 0);
  goroutine_dump(fd);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  size_t n = 0;
  ssize_t r;
  while (n < sizeof dumpbuf - 1 &&
         (r = read(fd, dumpbuf + n, sizeof dumpbuf - 1 - n)) > 0)
    n += (size_t)r;
  dumpbuf[n] = '\0';
  close(fd);
  return n;
}

/* The section of goroutine `id` in dumpbuf, NUL-terminated in `out`;
 * false if the goroutine is not listed. */
static bool section(int64_t id, char *out, size_t cap) {
  char head[64];
  snprintf(head, sizeof head, "goroutine %ld [", (long)id);
  const char *p = dumpbuf;
  while ((p = strstr(p, head)) != NULL) {
    if (p == dumpbuf || p[-1] == '\n')
      break;
    p++;
  }
  if (!p)
    return false;
  const char *end = strstr(p, "\n\n");
  size_t n = end ? (size_t)(end - p) : strlen(p);
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

static void expect_in(const char *text, const char *want) {
  if (!strstr(text, want))
    fail_msg("expected \"%s\" in:\n%s", want, text);
}

/* --------------------------------------------------------- goroutines */

static _Atomic int parked, stop, done;
static g_t *_Atomic receiver_g;

static bool note_parked(g_t *gp, void *arg) {
  (void)arg;
  atomic_store(&receiver_g, gp);
  atomic_store(&parked, 1);
  return true;
}

/* Parks as a channel receive would, until test code readies it. */
HL_NOINLINE static void dumptest_receiver(void *arg) {
  (void)arg;
  gopark(note_parked, NULL, WAIT_CHAN_RECV);
  atomic_fetch_add(&done, 1);
}

HL_NOINLINE static void dumptest_sleeper(void *arg) {
  (void)arg;
  hl_sleep(400 * HL_MILLISECOND);
  atomic_fetch_add(&done, 1);
}

HL_NOINLINE static void dumptest_fresh(void *arg) {
  (void)arg;
  atomic_fetch_add(&done, 1);
}

HL_NOINLINE static void dumptest_spinner(void *arg) {
  (void)arg;
  atomic_store(&parked, 1);
  while (!atomic_load(&stop))
    ; /* busy on its thread: no hl_* call, so it stays RUNNING */
  atomic_fetch_add(&done, 1);
}

HL_NOINLINE static void dumptest_churn(void *arg) {
  (void)arg;
  for (int i = 0; !atomic_load(&stop); i++) {
    if (i % 8 == 7)
      hl_sleep(50 * HL_MICROSECOND);
    else
      hl_yield();
  }
  atomic_fetch_add(&done, 1);
}

static void wait_done(int n) {
  while (atomic_load(&done) < n)
    hl_sleep(HL_MILLISECOND);
}

static void reset(void) {
  atomic_store(&parked, 0);
  atomic_store(&stop, 0);
  atomic_store(&done, 0);
  atomic_store(&receiver_g, NULL);
}

/* -------------------------------------------------------------- tests */

static char sec[1 << 16];

static void test_dump_lists_parked_goroutines(void **st) {
  (void)st;
  reset();
  int64_t rid = hl_go(dumptest_receiver, (void *)0x1234);
  int64_t sid = hl_go(dumptest_sleeper, NULL);
  while (!atomic_load(&parked))
    hl_sleep(HL_MILLISECOND);
  /* the sleeper parks soon after it starts: look until it has */
  for (int tries = 0;; tries++) {
    dump_text();
    assert_true(section(sid, sec, sizeof sec));
    if (strstr(sec, "[sleep]:"))
      break;
    assert_true(tries < 200);
    hl_sleep(HL_MILLISECOND);
  }
  /* the caller first, live, with the test function on its stack */
  char head[64];
  snprintf(head, sizeof head, "goroutine %ld [running, locked to thread]:",
           (long)hl_goid());
  if (strncmp(dumpbuf, head, strlen(head)) != 0)
    fail_msg("dump does not start with \"%s\":\n%s", head, dumpbuf);
  assert_true(section(hl_goid(), sec, sizeof sec));
  expect_in(sec, "\ttest_dump_lists_parked_goroutines+0x");
  expect_in(sec, "(...)\n\t\t0x");
  expect_in(sec, "started as main_entry("); /* hl_main's wrapper */
  assert_null(strstr(sec, "dump_one")); /* the dumper's frames left out */

  assert_true(section(sid, sec, sizeof sec));
  expect_in(sec, "\thl_sleep+0x");
  expect_in(sec, "\tdumptest_sleeper+0x");
  expect_in(sec, "\tgoentry+0x");
  expect_in(sec, "started as dumptest_sleeper(0x0)");

  assert_true(section(rid, sec, sizeof sec));
  char want[64];
  snprintf(want, sizeof want, "goroutine %ld [chan receive]:", (long)rid);
  expect_in(sec, want);
  expect_in(sec, "\tgopark+0x");
  expect_in(sec, "\tdumptest_receiver+0x");
  expect_in(sec, "started as dumptest_receiver(0x1234)");

  goready(atomic_load(&receiver_g));
  wait_done(2);
  dump_text();
  assert_false(section(rid, sec, sizeof sec)); /* dead: not listed */
  assert_false(section(sid, sec, sizeof sec));
}

/* A goroutine that has not run yet has only its entry frame on its
 * stack: the "started as" line still names its function. */
static void test_dump_names_entry_function(void **st) {
  (void)st;
  reset();
  int64_t id = hl_go(dumptest_fresh, (void *)0xabc);
  dump_text();
  if (section(id, sec, sizeof sec)) /* else it already ran and exited */
    expect_in(sec, "started as dumptest_fresh(0xabc)");
  wait_done(1);
}

static void test_dump_running_elsewhere(void **st) {
  (void)st;
  if (hl_maxprocs() < 2)
    skip(); /* needs a second P to run while the test dumps */
  reset();
  int64_t id = hl_go(dumptest_spinner, NULL);
  while (!atomic_load(&parked))
    hl_sleep(HL_MILLISECOND);
  dump_text();
  atomic_store(&stop, 1);
  assert_true(section(id, sec, sizeof sec));
  expect_in(sec, "[running]:\n\tgoroutine running on other thread (M");
  expect_in(sec, "started as dumptest_spinner(0x0)");
  wait_done(1);
}

/* Goroutines switch (and with two Ps run) while their stacks are read:
 * the fault probe and the consistency check must keep every dump
 * complete. */
static void test_dump_while_switching(void **st) {
  (void)st;
  reset();
  enum { N = 4, DUMPS = 30 };
  int64_t ids[N];
  for (int i = 0; i < N; i++)
    ids[i] = hl_go(dumptest_churn, NULL);
  hl_sleep(2 * HL_MILLISECOND);
  for (int d = 0; d < DUMPS; d++) {
    dump_text();
    for (int i = 0; i < N; i++) {
      if (!section(ids[i], sec, sizeof sec))
        fail_msg("goroutine %ld missing from dump %d:\n%s", (long)ids[i], d,
                 dumpbuf);
      expect_in(sec, "started as dumptest_churn(0x0)");
    }
    hl_yield();
  }
  atomic_store(&stop, 1);
  wait_done(N);
}

/* A parked goroutine whose saved frame is garbage (as when it ran and
 * rewrote its stack while being read): every register and the return
 * address are 0x10. The dump must print the one frame it can see and
 * stop, not follow it into a crash. (The whole frame area is filled, so
 * this holds for every context-switch flavour: the assembly frames and
 * the ucontext fallback.) */
static uintptr_t fakestack[1024];

static void test_dump_survives_garbage_frame(void **st) {
  (void)st;
  if (!goroutine_dump_stack_hook)
    skip(); /* built without libunwind */
  static g_t fake;
  memset(&fake, 0, sizeof fake);
  for (size_t i = 0; i < sizeof fakestack / sizeof fakestack[0]; i++)
    fakestack[i] = 0x10;
  fake.goid = 424242;
  fake.stack.lo = (uintptr_t)fakestack;
  fake.stack.hi = (uintptr_t)(fakestack + 1024);
  fake.sp = fakestack + 128;
  atomic_store(&fake.status, G_WAITING);
  int fd = memfd_create("hl-dump", MFD_CLOEXEC);
  assert_true(fd >= 0);
  goroutine_dump_stack_hook(fd, &fake);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  ssize_t n = read(fd, sec, sizeof sec - 1);
  close(fd);
  assert_true(n > 0);
  sec[n] = '\0';
  expect_in(sec, "\t?(...)\n\t\t0x10\n");
  expect_in(sec, "started as 0x0(0x0)");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_dump_lists_parked_goroutines),
    cmocka_unit_test(test_dump_names_entry_function),
    cmocka_unit_test(test_dump_running_elsewhere),
    cmocka_unit_test(test_dump_while_switching),
    cmocka_unit_test(test_dump_survives_garbage_frame),
};

HL_SCHED_TEST_MAIN(tests)
