/*
 * tests/sched/test_select.c — select: ready cases of every kind, the
 * uniform choice among ready cases (chi-square over many selects), default,
 * timeout, NULL channels, a channel in several cases, wake-up by a partner
 * or by close, more cases than fit on the stack, and races between
 * partners, closes and timeouts waking the same select.
 *
 * The fatal misuses of select (send on a closed channel, bad direction, no
 * cases) are in test_chan.c with the other child-process tests.
 */
#include "harness.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* sched/dump.c (internal; linked from the static library) */
void goroutine_dump(int fd);

static _Atomic int finished;

static void wait_finished(int n) {
  while (atomic_load(&finished) < n)
    hl_sleep(100 * HL_MICROSECOND);
}

static bool dump_shows(int64_t id, const char *reason) {
  static char buf[1 << 16];
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  goroutine_dump(fd[1]);
  close(fd[1]);
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fd[0]);
  char want[128];
  snprintf(want, sizeof want, "goroutine %ld [%s]", (long)id, reason);
  return strstr(buf, want) != NULL;
}

static void wait_parked(int64_t id, const char *reason) {
  int64_t t0 = hl_nanotime();
  while (!dump_shows(id, reason)) {
    if (hl_nanotime() - t0 > 10 * HL_SECOND)
      fail_msg("goroutine %ld never showed [%s]", (long)id, reason);
    hl_sleep(100 * HL_MICROSECOND);
  }
}

/* -------------------------------------------------------- ready cases */

static void test_ready_recv_and_send(void **st) {
  (void)st;
  hl_chan_t *a = hl_chan_make(sizeof(long), 1);
  hl_chan_t *b = hl_chan_make(sizeof(long), 1);
  long v = 7, got = 0;
  hl_chan_send(b, &v);
  /* only the receive from b is ready (a is empty) */
  hl_select_case_t cs[2] = {{.chan = a, .dir = HL_RECV, .elem = &got},
                            {.chan = b, .dir = HL_RECV, .elem = &got}};
  assert_int_equal(hl_select(cs, 2, HL_SELECT_BLOCK), 1);
  assert_true(cs[1].ok);
  assert_int_equal(got, 7);
  /* only the send to a is ready (b's buffer is full after this send) */
  hl_chan_send(b, &v);
  long out = 9;
  hl_select_case_t cs2[2] = {{.chan = b, .dir = HL_SEND, .elem = &out},
                             {.chan = a, .dir = HL_SEND, .elem = &out}};
  assert_int_equal(hl_select(cs2, 2, HL_SELECT_DEFAULT), 1);
  assert_int_equal(hl_chan_len(a), 1);
  assert_true(hl_chan_recv(a, &got));
  assert_int_equal(got, 9);
  hl_chan_free(a);
  hl_chan_free(b);
}

/* A select that waits: woken by a receive, a send, a close. */
typedef struct {
  hl_chan_t *c;
  long v;
  int64_t delay;
} delayed_t;

static void delayed_send(void *arg) {
  delayed_t *d = arg;
  hl_sleep(d->delay);
  hl_chan_send(d->c, &d->v);
  atomic_fetch_add(&finished, 1);
}
static void delayed_recv(void *arg) {
  delayed_t *d = arg;
  hl_sleep(d->delay);
  hl_chan_recv(d->c, &d->v);
  atomic_fetch_add(&finished, 1);
}
static void delayed_close(void *arg) {
  delayed_t *d = arg;
  hl_sleep(d->delay);
  hl_chan_close(d->c);
  atomic_fetch_add(&finished, 1);
}

static void test_blocking_select_woken(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  hl_chan_t *b = hl_chan_make(sizeof(long), 0);
  long got = 0, out = 31;
  hl_select_case_t cs[2] = {{.chan = a, .dir = HL_RECV, .elem = &got},
                            {.chan = b, .dir = HL_SEND, .elem = &out}};
  /* a sender on a */
  delayed_t d1 = {a, 55, 2 * HL_MILLISECOND};
  hl_go(delayed_send, &d1);
  assert_int_equal(hl_select(cs, 2, HL_SELECT_BLOCK), 0);
  assert_true(cs[0].ok);
  assert_int_equal(got, 55);
  /* a receiver on b */
  delayed_t d2 = {b, 0, 2 * HL_MILLISECOND};
  hl_go(delayed_recv, &d2);
  assert_int_equal(hl_select(cs, 2, HL_SELECT_BLOCK), 1);
  wait_finished(2);
  assert_int_equal(d2.v, 31);
  /* a close of a: the receive case with ok false and the zero value */
  delayed_t d3 = {a, 0, 2 * HL_MILLISECOND};
  hl_go(delayed_close, &d3);
  got = -1;
  cs[0].ok = true;
  assert_int_equal(hl_select(cs, 2, HL_SELECT_BLOCK), 0);
  assert_false(cs[0].ok);
  assert_int_equal(got, 0);
  wait_finished(3);
  /* the select left b's queue: nobody is there to receive */
  assert_false(hl_chan_trysend(b, &out));
  hl_chan_free(a);
  hl_chan_free(b);
}

static int64_t selector_id;
static hl_select_case_t park_cases[2];
static int park_result;
static void parked_selector(void *arg) {
  (void)arg;
  park_result = hl_select(park_cases, 2, HL_SELECT_BLOCK);
  atomic_fetch_add(&finished, 1);
}

/* A parked select is found by a partner on either channel; afterwards it
 * is in no queue (the other case's sudog was removed). */
static void test_parked_select_found_by_partner(void **st) {
  (void)st;
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  hl_chan_t *b = hl_chan_make(sizeof(long), 0);
  for (int which = 0; which < 2; which++) {
    atomic_store(&finished, 0);
    long ga = -1, gb = -1;
    park_cases[0] = (hl_select_case_t){.chan = a, .dir = HL_RECV, .elem = &ga};
    park_cases[1] = (hl_select_case_t){.chan = b, .dir = HL_RECV, .elem = &gb};
    selector_id = hl_go(parked_selector, NULL);
    wait_parked(selector_id, "select");
    long v = 100 + which;
    /* trysend succeeds only if a receiver waits: the parked select */
    assert_true(hl_chan_trysend(which ? b : a, &v));
    wait_finished(1);
    assert_int_equal(park_result, which);
    assert_int_equal(which ? gb : ga, 100 + which);
    assert_int_equal(which ? ga : gb, -1);
    assert_false(hl_chan_trysend(a, &v));
    assert_false(hl_chan_trysend(b, &v));
  }
  hl_chan_free(a);
  hl_chan_free(b);
}

/* ------------------------------------------------------------ fairness */

/* Chi-square statistic of counts against a uniform expectation. */
static double chi2(const long *count, int k, long total) {
  double e = (double)total / k, x = 0;
  for (int i = 0; i < k; i++)
    x += ((double)count[i] - e) * ((double)count[i] - e) / e;
  return x;
}

static void test_fairness_all_ready(void **st) {
  (void)st;
  enum { K = 5, N = 50000 };
  hl_chan_t *c[K];
  hl_select_case_t cs[K];
  long got[K];
  for (int i = 0; i < K; i++) {
    c[i] = hl_chan_make(sizeof(long), 1);
    long v = i;
    hl_chan_send(c[i], &v);
    cs[i] = (hl_select_case_t){.chan = c[i], .dir = HL_RECV, .elem = &got[i]};
  }
  long count[K] = {0};
  for (int n = 0; n < N; n++) {
    int r = hl_select(cs, K, HL_SELECT_BLOCK);
    assert_true(r >= 0 && r < K);
    assert_int_equal(got[r], r);
    count[r]++;
    hl_chan_send(c[r], &got[r]); /* ready again */
  }
  /* df = 4: P(chi2 > 35) < 1e-6; a fixed order would give ~ 4 * N */
  double x = chi2(count, K, N);
  printf("# select fairness, %d ready cases: chi2 = %.2f (df %d)\n", K, x,
         K - 1);
  assert_true(x < 35.0);
  for (int i = 0; i < K; i++)
    hl_chan_free(c[i]);
}

/* Only the ready cases share the choice; not-ready and NULL ones never
 * win. Sends and receives mixed, a channel appearing twice. */
static void test_fairness_some_ready(void **st) {
  (void)st;
  enum { N = 40000 };
  hl_chan_t *full = hl_chan_make(sizeof(long), 1);  /* send never ready */
  hl_chan_t *empty = hl_chan_make(sizeof(long), 1); /* recv never ready */
  hl_chan_t *ready = hl_chan_make(sizeof(long), 1); /* recv always ready */
  hl_chan_t *sink = hl_chan_make(sizeof(long), 1);  /* send always ready */
  long v = 1, got;
  hl_chan_send(full, &v);
  hl_chan_send(ready, &v);
  hl_select_case_t cs[6] = {
      {.chan = full, .dir = HL_SEND, .elem = &v},
      {.chan = ready, .dir = HL_RECV, .elem = &got},
      {.chan = NULL, .dir = HL_RECV, .elem = &got},
      {.chan = empty, .dir = HL_RECV, .elem = &got},
      {.chan = sink, .dir = HL_SEND, .elem = &v},
      {.chan = ready, .dir = HL_RECV, .elem = &got}, /* ready, again */
  };
  long count[6] = {0};
  for (int n = 0; n < N; n++) {
    int r = hl_select(cs, 6, HL_SELECT_DEFAULT);
    count[r]++;
    if (r == 1 || r == 5)
      hl_chan_send(ready, &v);
    else if (r == 4)
      hl_chan_recv(sink, NULL);
  }
  assert_int_equal(count[0] + count[2] + count[3], 0);
  long c3[3] = {count[1], count[4], count[5]};
  double x = chi2(c3, 3, N);
  printf("# select fairness, 3 of 6 ready: chi2 = %.2f (df 2)\n", x);
  assert_true(x < 28.0); /* df = 2: P(chi2 > 28) < 1e-6 */
  hl_chan_free(full);
  hl_chan_free(empty);
  hl_chan_free(ready);
  hl_chan_free(sink);
}

/* ------------------------------------------------- default, timeout, nil */

static void test_default(void **st) {
  (void)st;
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  long v = 1;
  hl_select_case_t cs[2] = {{.chan = a, .dir = HL_RECV, .elem = &v},
                            {.chan = a, .dir = HL_SEND, .elem = &v}};
  int64_t t0 = hl_nanotime();
  for (int i = 0; i < 1000; i++)
    assert_int_equal(hl_select(cs, 2, HL_SELECT_DEFAULT), -1);
  assert_true(hl_nanotime() - t0 < HL_SECOND);
  /* nothing was left in the queues */
  assert_false(hl_chan_trysend(a, &v));
  /* zero cases, all-NULL cases */
  assert_int_equal(hl_select(NULL, 0, HL_SELECT_DEFAULT), -1);
  hl_select_case_t nils[3] = {{.chan = NULL, .dir = HL_RECV},
                              {.chan = NULL, .dir = HL_SEND},
                              {.chan = NULL, .dir = HL_RECV}};
  assert_int_equal(hl_select(nils, 3, HL_SELECT_DEFAULT), -1);
  hl_chan_free(a);
}

static void test_timeout(void **st) {
  (void)st;
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  hl_chan_t *b = hl_chan_make(sizeof(long), 2);
  long v = 1, w;
  hl_chan_send(b, &v);
  hl_chan_send(b, &v); /* full: the send case cannot proceed */
  hl_select_case_t cs[2] = {{.chan = a, .dir = HL_RECV, .elem = &w},
                            {.chan = b, .dir = HL_SEND, .elem = &v}};
  int64_t t0 = hl_nanotime();
  assert_int_equal(hl_select(cs, 2, 5 * HL_MILLISECOND), -1);
  int64_t dt = hl_nanotime() - t0;
  assert_true(dt >= 5 * HL_MILLISECOND);
  assert_true(dt < 2 * HL_SECOND);
  /* the select left both queues */
  assert_false(hl_chan_trysend(a, &v));
  assert_int_equal(hl_chan_len(b), 2);
  assert_true(hl_chan_recv(b, &w));
  assert_int_equal(hl_chan_len(b), 1); /* no parked sender refilled it */
  /* no cases / NULL cases with a timeout: just the wait */
  t0 = hl_nanotime();
  assert_int_equal(hl_select(NULL, 0, 3 * HL_MILLISECOND), -1);
  assert_true(hl_nanotime() - t0 >= 3 * HL_MILLISECOND);
  hl_select_case_t nils[2] = {{.chan = NULL, .dir = HL_RECV},
                              {.chan = NULL, .dir = HL_SEND}};
  t0 = hl_nanotime();
  assert_int_equal(hl_select(nils, 2, 3 * HL_MILLISECOND), -1);
  assert_true(hl_nanotime() - t0 >= 3 * HL_MILLISECOND);
  hl_chan_free(a);
  hl_chan_free(b);
}

static void test_timeout_not_reached(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  long got = 0;
  hl_select_case_t cs[2] = {{.chan = NULL, .dir = HL_RECV, .elem = &got},
                            {.chan = a, .dir = HL_RECV, .elem = &got}};
  delayed_t d = {a, 77, 2 * HL_MILLISECOND};
  hl_go(delayed_send, &d);
  assert_int_equal(hl_select(cs, 2, 10 * HL_SECOND), 1);
  assert_int_equal(got, 77);
  wait_finished(1);
  /* the timer was stopped: a later, shorter select times out on time */
  int64_t t0 = hl_nanotime();
  assert_int_equal(hl_select(cs, 2, 2 * HL_MILLISECOND), -1);
  assert_true(hl_nanotime() - t0 < HL_SECOND);
  hl_chan_free(a);
}

/* ----------------------------------------------------- duplicate chans */

static void test_duplicate_channel(void **st) {
  (void)st;
  hl_chan_t *a = hl_chan_make(sizeof(long), 0);
  for (int round = 0; round < 50; round++) {
    atomic_store(&finished, 0);
    long g1 = -1, g2 = -1;
    /* the same channel in both cases */
    park_cases[0] = (hl_select_case_t){.chan = a, .dir = HL_RECV, .elem = &g1};
    park_cases[1] = (hl_select_case_t){.chan = a, .dir = HL_RECV, .elem = &g2};
    selector_id = hl_go(parked_selector, NULL);
    wait_parked(selector_id, "select");
    long v = round;
    assert_true(hl_chan_trysend(a, &v));
    wait_finished(1);
    assert_true(park_result == 0 || park_result == 1);
    assert_int_equal(park_result == 0 ? g1 : g2, round);
    assert_int_equal(park_result == 0 ? g2 : g1, -1);
    /* both sudogs left the queue */
    assert_false(hl_chan_trysend(a, &v));
  }
  /* send and receive on one unbuffered channel in one select: a select
   * never matches itself; with a buffer, either may go */
  long x = 1, y = 0;
  hl_select_case_t both[2] = {{.chan = a, .dir = HL_SEND, .elem = &x},
                              {.chan = a, .dir = HL_RECV, .elem = &y}};
  assert_int_equal(hl_select(both, 2, HL_MILLISECOND), -1);
  hl_chan_free(a);
  hl_chan_t *b = hl_chan_make(sizeof(long), 1);
  both[0].chan = both[1].chan = b;
  long count[2] = {0};
  for (int i = 0; i < 2000; i++) {
    int r = hl_select(both, 2, HL_SELECT_BLOCK);
    count[r]++;
    if (r == 1)
      assert_int_equal(y, 1);
  }
  /* alternates: send when empty, receive when full */
  assert_int_equal(count[0], 1000);
  assert_int_equal(count[1], 1000);
  hl_chan_free(b);
}

/* ------------------------------------------------------ many cases */

static void test_many_cases_on_heap(void **st) {
  (void)st;
  enum { K = 100 };
  hl_chan_t *c[K];
  hl_select_case_t cs[K];
  long got[K];
  for (int i = 0; i < K; i++) {
    c[i] = hl_chan_make(sizeof(long), 0);
    cs[i] = (hl_select_case_t){.chan = c[i], .dir = HL_RECV, .elem = &got[i]};
  }
  for (int round = 0; round < 20; round++) {
    atomic_store(&finished, 0);
    int which = (round * 37) % K;
    delayed_t d = {c[which], 1000 + round, 500 * HL_MICROSECOND};
    hl_go(delayed_send, &d);
    int r = hl_select(cs, K, HL_SELECT_BLOCK);
    assert_int_equal(r, which);
    assert_int_equal(got[which], 1000 + round);
    wait_finished(1);
    long v = 0;
    for (int i = 0; i < K; i++)
      assert_false(hl_chan_trysend(c[i], &v));
  }
  for (int i = 0; i < K; i++)
    hl_chan_free(c[i]);
}

/* ---------------------------------------------------------------- races */

/* Senders on several channels, one consumer selecting over all of them
 * with short timeouts: every value exactly once; one sender's values in
 * order on each channel, and over all channels when unbuffered (then each
 * send completes only once the consumer has the value). */
enum { RS = 6, RN = 3000 };
static hl_chan_t *race_c[RS];
static void race_sender(void *arg) {
  long s = (long)arg;
  for (long i = 0; i < RN; i++) {
    long v = s * RN + i;
    /* pauses about as long as the consumer's timeout, so that timers and
     * senders often wake the consumer's select at the same moment */
    if (i % 8 == 0)
      hl_sleep((i / 8 % 4) * HL_MICROSECOND);
    if (i % 3 == 0) {
      hl_chan_send(race_c[s], &v);
    } else {
      /* a select send over two channels; the consumer tells them apart
       * by the value */
      hl_select_case_t cs[2] = {
          {.chan = race_c[s], .dir = HL_SEND, .elem = &v},
          {.chan = race_c[(s + 1) % RS], .dir = HL_SEND, .elem = &v}};
      /* timeout 0 (a default) retries in a loop: yield, there is no
       * preemption to let the consumer run otherwise */
      while (hl_select(cs, 2, (i % 5) * HL_MICROSECOND) < 0)
        hl_yield();
    }
  }
  atomic_fetch_add(&finished, 1);
}

/* The consumer runs in a goroutine of its own: the test's main goroutine
 * is wired to its thread, which makes each of its parks a thread
 * hand-off. */
static int race_cap;
static long race_timeouts;
static hl_chan_t *race_done;
static void race_consumer(void *arg) {
  (void)arg;
  static long last[RS], lastc[RS][RS];
  static unsigned char seen[RS * RN];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < RS; i++) {
    last[i] = -1;
    for (int j = 0; j < RS; j++)
      lastc[i][j] = -1;
  }
  long got = 0;
  race_timeouts = 0;
  hl_select_case_t cs[RS];
  long vals[RS];
  for (int i = 0; i < RS; i++)
    cs[i] = (hl_select_case_t){.chan = race_c[i], .dir = HL_RECV,
                               .elem = &vals[i]};
  for (long round = 0; got < RS * RN; round++) {
    /* every 8th select waits without a timeout: when a switch takes longer
     * than every timeout (sanitizer builds), timed selects on both sides
     * would otherwise always expire before meeting */
    int64_t t = round % 8 == 7 ? HL_SELECT_BLOCK : 2 * HL_MICROSECOND;
    int r = hl_select(cs, RS, t);
    if (r < 0) {
      /* yield: a goroutine woken by its timer goes to runnext and would
       * run again before the senders on the run queue (there is no
       * time-slice preemption yet to break such a loop) */
      race_timeouts++;
      hl_yield();
      continue;
    }
    if (!cs[r].ok)
      fail_msg("case %d: ok false on an open channel", r);
    long v = vals[r];
    if (v < 0 || v >= RS * RN)
      fail_msg("bad value %ld", v);
    if (seen[v]++)
      fail_msg("value %ld received twice", v);
    long s = v / RN;
    if (v <= lastc[s][r])
      fail_msg("sender %ld, channel %d: %ld after %ld", s, r, v, lastc[s][r]);
    lastc[s][r] = v;
    if (race_cap == 0 && v <= last[s])
      fail_msg("sender %ld: %ld after %ld", s, v, last[s]);
    last[s] = v;
    got++;
  }
  hl_chan_send(race_done, NULL);
}

static void test_select_race_partners_and_timeouts(void **st) {
  (void)st;
  race_done = hl_chan_make(0, 0);
  for (int cap = 0; cap <= 4; cap += 4) {
    atomic_store(&finished, 0);
    race_cap = cap;
    for (int i = 0; i < RS; i++)
      race_c[i] = hl_chan_make(sizeof(long), (size_t)cap);
    hl_go(race_consumer, NULL);
    for (long i = 0; i < RS; i++)
      hl_go(race_sender, (void *)i);
    hl_chan_recv(race_done, NULL);
    wait_finished(RS);
    printf("# cap %d: %d values, %ld select timeouts\n", cap, RS * RN,
           race_timeouts);
    for (int i = 0; i < RS; i++) {
      bool ok;
      assert_int_equal(hl_chan_tryrecv(race_c[i], NULL, &ok), 0);
      hl_chan_free(race_c[i]);
    }
  }
  hl_chan_free(race_done);
}

/* Closing channels under selects waiting on them, with timeouts racing:
 * each selector sees every channel's close exactly as "ok false" and
 * exits. */
enum { CC = 4, CW = 12 };
static hl_chan_t *close_c[CC];
static _Atomic long close_seen;
static void close_waiter(void *arg) {
  (void)arg;
  bool closed[CC] = {false};
  int left = CC;
  while (left > 0) {
    hl_select_case_t cs[CC];
    int map[CC], n = 0;
    for (int i = 0; i < CC; i++)
      if (!closed[i]) {
        cs[n] = (hl_select_case_t){.chan = close_c[i], .dir = HL_RECV};
        map[n++] = i;
      }
    int r = hl_select(cs, n, 50 * HL_MICROSECOND);
    if (r < 0) {
      hl_yield(); /* see race_consumer */
      continue;
    }
    if (cs[r].ok)
      fail_msg("a value arrived on a channel nobody sends on");
    closed[map[r]] = true;
    left--;
    atomic_fetch_add(&close_seen, 1);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_select_close_races(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  atomic_store(&close_seen, 0);
  for (int i = 0; i < CC; i++)
    close_c[i] = hl_chan_make(sizeof(long), (size_t)(i % 2));
  for (int i = 0; i < CW; i++)
    hl_go(close_waiter, NULL);
  for (int i = 0; i < CC; i++) {
    hl_sleep(300 * HL_MICROSECOND);
    hl_chan_close(close_c[i]);
  }
  wait_finished(CW);
  assert_int_equal(atomic_load(&close_seen), CC * CW);
  for (int i = 0; i < CC; i++)
    hl_chan_free(close_c[i]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ready_recv_and_send),
    cmocka_unit_test(test_blocking_select_woken),
    cmocka_unit_test(test_parked_select_found_by_partner),
    cmocka_unit_test(test_fairness_all_ready),
    cmocka_unit_test(test_fairness_some_ready),
    cmocka_unit_test(test_default),
    cmocka_unit_test(test_timeout),
    cmocka_unit_test(test_timeout_not_reached),
    cmocka_unit_test(test_duplicate_channel),
    cmocka_unit_test(test_many_cases_on_heap),
    cmocka_unit_test(test_select_race_partners_and_timeouts),
    cmocka_unit_test(test_select_close_races),
};

HL_SCHED_TEST_MAIN(tests)
