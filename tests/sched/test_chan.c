/*
 * tests/sched/test_chan.c — channels: make/free/len/cap, unbuffered and
 * buffered hand-off, blocking on full and empty, close semantics, zero-size
 * values, NULL channels, the non-blocking and timed operations, wait
 * reasons in the goroutine dump, no allocation on the ping-pong path, and
 * the fatal misuses (each in a child process: exit status 2 and Go's
 * message).
 *
 * The misuse children are this executable run again with "--child NAME":
 * a fork of a process whose runtime is running cannot start the runtime
 * again, so the child execs itself and calls hl_main afresh.
 */
#include "harness.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heaplab/alloc.h"

/* sched/dump.c (internal; linked from the static library) */
void goroutine_dump(int fd);

static _Atomic int finished;

static void wait_finished(int n) {
  while (atomic_load(&finished) < n)
    hl_sleep(100 * HL_MICROSECOND);
}

/* Waits until the goroutines have parked and the channel queue is what
 * the test expects: poll a predicate with short sleeps. */
static void wait_until(bool (*pred)(void *), void *arg) {
  int64_t t0 = hl_nanotime();
  while (!pred(arg)) {
    if (hl_nanotime() - t0 > 10 * HL_SECOND)
      fail_msg("condition not reached in 10 s");
    hl_sleep(100 * HL_MICROSECOND);
  }
}

/* Dumps the goroutines into buf (through a pipe). */
static void dump_to(char *buf, size_t len) {
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  goroutine_dump(fd[1]);
  close(fd[1]);
  size_t n = 0;
  ssize_t r;
  while (n < len - 1 && (r = read(fd[0], buf + n, len - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fd[0]);
}

/* True when the dump shows goroutine id waiting with reason. */
static bool dump_shows(int64_t id, const char *reason) {
  static char buf[1 << 16];
  char want[128];
  snprintf(want, sizeof want, "goroutine %ld [%s", (long)id, reason);
  dump_to(buf, sizeof buf);
  return strstr(buf, want) != NULL;
}

/* ------------------------------------------------------- make/len/cap */

static void test_make_len_cap(void **st) {
  (void)st;
  hl_chan_t *c = hl_chan_make(8, 0);
  assert_non_null(c);
  assert_int_equal(hl_chan_len(c), 0);
  assert_int_equal(hl_chan_cap(c), 0);
  hl_chan_free(c);

  c = hl_chan_make(sizeof(int), 5);
  assert_non_null(c);
  assert_int_equal(hl_chan_cap(c), 5);
  for (int i = 0; i < 5; i++) {
    hl_chan_send(c, &i);
    assert_int_equal(hl_chan_len(c), (size_t)i + 1);
  }
  int v;
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 0);
  assert_int_equal(hl_chan_len(c), 4);
  hl_chan_free(c);

  /* too large for memory: NULL with ENOMEM */
  errno = 0;
  assert_null(hl_chan_make((size_t)1 << 40, (size_t)1 << 30));
  assert_int_equal(errno, ENOMEM);
  errno = 0;
  assert_null(hl_chan_make(SIZE_MAX / 2, 4));
  assert_int_equal(errno, ENOMEM);
  /* NULL channel: len and cap 0, free is a no-op */
  assert_int_equal(hl_chan_len(NULL), 0);
  assert_int_equal(hl_chan_cap(NULL), 0);
  hl_chan_free(NULL);
}

/* ----------------------------------------------------------- unbuffered */

typedef struct {
  hl_chan_t *c;
  long n;
  long base;
} prod_arg_t;

static void producer(void *arg) {
  prod_arg_t *a = arg;
  for (long i = 0; i < a->n; i++) {
    long v = a->base + i;
    hl_chan_send(a->c, &v);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_unbuffered_order(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  prod_arg_t a = {c, 20000, 1000};
  hl_go(producer, &a);
  for (long i = 0; i < a.n; i++) {
    long v = -1;
    assert_true(hl_chan_recv(c, &v));
    assert_int_equal(v, 1000 + i);
  }
  wait_finished(1);
  assert_int_equal(hl_chan_len(c), 0);
  hl_chan_free(c);
}

/* An unbuffered send completes only when a receiver takes the value. */
static _Atomic int sent_flag;
static void send_one_flag(void *arg) {
  long v = 77;
  hl_chan_send(arg, &v);
  atomic_store(&sent_flag, 1);
  atomic_fetch_add(&finished, 1);
}

static int64_t blocked_id;
static bool blocked_in_send(void *arg) {
  (void)arg;
  return dump_shows(blocked_id, "chan send]");
}
static bool blocked_in_recv(void *arg) {
  (void)arg;
  return dump_shows(blocked_id, "chan receive]");
}

static void test_unbuffered_send_blocks(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  atomic_store(&sent_flag, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  blocked_id = hl_go(send_one_flag, c);
  wait_until(blocked_in_send, NULL);
  assert_int_equal(atomic_load(&sent_flag), 0);
  long v = 0;
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 77);
  wait_finished(1);
  assert_int_equal(atomic_load(&sent_flag), 1);
  hl_chan_free(c);
}

/* ------------------------------------------------------------- buffered */

static void test_buffered_fifo_full_empty(void **st) {
  (void)st;
  hl_chan_t *c = hl_chan_make(sizeof(int), 3);
  int v;
  bool ok = true;
  /* empty: tryrecv would block */
  assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 0);
  assert_false(ok);
  for (int i = 0; i < 3; i++)
    assert_true(hl_chan_trysend(c, &i));
  /* full: trysend fails, len stays */
  int x = 99;
  assert_false(hl_chan_trysend(c, &x));
  assert_int_equal(hl_chan_len(c), 3);
  /* wrap the ring several times, FIFO throughout */
  int next_in = 3, next_out = 0;
  for (int round = 0; round < 10; round++) {
    assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 1);
    assert_true(ok);
    assert_int_equal(v, next_out++);
    assert_true(hl_chan_trysend(c, &next_in));
    next_in++;
  }
  while (hl_chan_len(c) > 0) {
    assert_true(hl_chan_recv(c, &v));
    assert_int_equal(v, next_out++);
  }
  assert_int_equal(next_out, next_in);
  hl_chan_free(c);
}

/* A sender blocked on a full buffer: the receiver takes the head and the
 * sender's value goes to the tail (recv from a parked sender). */
static void send_seq(void *arg) {
  prod_arg_t *a = arg;
  for (long i = 0; i < a->n; i++) {
    long v = a->base + i;
    hl_chan_send(a->c, &v);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_buffered_sender_blocks_when_full(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 2);
  prod_arg_t a = {c, 3, 0}; /* the third send must block */
  blocked_id = hl_go(send_seq, &a);
  wait_until(blocked_in_send, NULL);
  assert_int_equal(hl_chan_len(c), 2);
  long v;
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 0);
  wait_finished(1);
  assert_int_equal(hl_chan_len(c), 2); /* the blocked value moved in */
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 1);
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 2);
  assert_int_equal(hl_chan_len(c), 0);
  hl_chan_free(c);
}

static void recv_one(void *arg) {
  long v;
  hl_chan_recv(arg, &v);
  atomic_fetch_add(&finished, 1);
}

static void test_buffered_receiver_blocks_when_empty(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 4);
  blocked_id = hl_go(recv_one, c);
  wait_until(blocked_in_recv, NULL);
  assert_int_equal(atomic_load(&finished), 0);
  long v = 5;
  hl_chan_send(c, &v); /* straight to the parked receiver */
  wait_finished(1);
  assert_int_equal(hl_chan_len(c), 0);
  hl_chan_free(c);
}

/* Many producers and consumers on one buffered channel: every value once. */
static _Atomic long sum_received, count_received;
static void consume_all(void *arg) {
  long v;
  while (hl_chan_recv(arg, &v)) {
    atomic_fetch_add(&sum_received, v);
    atomic_fetch_add(&count_received, 1);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_many_producers_consumers(void **st) {
  (void)st;
  for (int cap = 0; cap <= 16; cap += 16) {
    atomic_store(&finished, 0);
    atomic_store(&sum_received, 0);
    atomic_store(&count_received, 0);
    hl_chan_t *c = hl_chan_make(sizeof(long), (size_t)cap);
    enum { P = 8, K = 8, N = 5000 };
    prod_arg_t a[P];
    for (int i = 0; i < K; i++)
      hl_go(consume_all, c);
    for (int i = 0; i < P; i++) {
      a[i] = (prod_arg_t){c, N, (long)i * N};
      hl_go(producer, &a[i]);
    }
    wait_finished(P);
    hl_chan_close(c);
    wait_finished(P + K);
    long n = (long)P * N;
    assert_int_equal(atomic_load(&count_received), n);
    assert_int_equal(atomic_load(&sum_received), n * (n - 1) / 2);
    hl_chan_free(c);
  }
}

/* ---------------------------------------------------------------- close */

static void test_close_drains_then_zero(void **st) {
  (void)st;
  hl_chan_t *c = hl_chan_make(sizeof(long), 4);
  long v = 11;
  hl_chan_send(c, &v);
  v = 12;
  hl_chan_send(c, &v);
  hl_chan_close(c);
  assert_int_equal(hl_chan_len(c), 2);
  v = 0;
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 11);
  bool ok = false;
  assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 1);
  assert_true(ok);
  assert_int_equal(v, 12);
  /* drained: false with the zero value, every time */
  for (int i = 0; i < 3; i++) {
    v = -1;
    assert_false(hl_chan_recv(c, &v));
    assert_int_equal(v, 0);
    v = -1;
    ok = true;
    assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 1);
    assert_false(ok);
    assert_int_equal(v, 0);
    v = -1;
    ok = true;
    assert_int_equal(hl_chan_recv_timeout(c, &v, &ok, HL_MILLISECOND), 0);
    assert_false(ok);
    assert_int_equal(v, 0);
  }
  assert_false(hl_chan_recv(c, NULL)); /* elem may be NULL */
  hl_chan_free(c);
}

typedef struct {
  hl_chan_t *c;
  long got;
  bool ok;
} recv_slot_t;

static void recv_into_slot(void *arg) {
  recv_slot_t *s = arg;
  s->ok = hl_chan_recv(s->c, &s->got);
  atomic_fetch_add(&finished, 1);
}

static hl_chan_t *waitc;
static int64_t waiter_ids[16];
static int nwaiters;
static bool all_waiters_parked(void *arg) {
  const char *reason = arg;
  for (int i = 0; i < nwaiters; i++)
    if (!dump_shows(waiter_ids[i], reason))
      return false;
  return true;
}

static void test_close_wakes_all_receivers(void **st) {
  (void)st;
  for (int cap = 0; cap <= 3; cap += 3) {
    atomic_store(&finished, 0);
    waitc = hl_chan_make(sizeof(long), (size_t)cap);
    recv_slot_t s[10];
    nwaiters = 10;
    for (int i = 0; i < 10; i++) {
      s[i] = (recv_slot_t){waitc, -1, true};
      waiter_ids[i] = hl_go(recv_into_slot, &s[i]);
    }
    wait_until(all_waiters_parked, "chan receive]");
    hl_chan_close(waitc);
    wait_finished(10);
    for (int i = 0; i < 10; i++) {
      assert_false(s[i].ok);
      assert_int_equal(s[i].got, 0);
    }
    hl_chan_free(waitc);
  }
}

/* ----------------------------------------------------------- zero size */

static void signal_n(void *arg) {
  prod_arg_t *a = arg;
  for (long i = 0; i < a->n; i++)
    hl_chan_send(a->c, NULL);
  atomic_fetch_add(&finished, 1);
}

static void test_zero_size_elements(void **st) {
  (void)st;
  /* buffered: counts only */
  hl_chan_t *c = hl_chan_make(0, 5);
  for (int i = 0; i < 5; i++)
    assert_true(hl_chan_trysend(c, NULL));
  assert_false(hl_chan_trysend(c, NULL));
  assert_int_equal(hl_chan_len(c), 5);
  char dummy = 'x';
  assert_true(hl_chan_recv(c, &dummy)); /* nothing is written */
  assert_int_equal(dummy, 'x');
  assert_int_equal(hl_chan_len(c), 4);
  hl_chan_close(c);
  int n = 0;
  while (hl_chan_recv(c, NULL))
    n++;
  assert_int_equal(n, 4);
  hl_chan_free(c);

  /* unbuffered: pure synchronisation */
  atomic_store(&finished, 0);
  c = hl_chan_make(0, 0);
  prod_arg_t a = {c, 1000, 0};
  hl_go(signal_n, &a);
  for (int i = 0; i < 1000; i++)
    assert_true(hl_chan_recv(c, NULL));
  wait_finished(1);
  hl_chan_free(c);
}

/* Large values are copied whole, directly and through the buffer. */
typedef struct {
  unsigned char b[1000];
} big_t;

static void send_big(void *arg) {
  hl_chan_t *c = arg;
  for (int k = 0; k < 100; k++) {
    big_t v;
    for (int i = 0; i < 1000; i++)
      v.b[i] = (unsigned char)(i * 7 + k);
    hl_chan_send(c, &v);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_large_elements(void **st) {
  (void)st;
  for (int cap = 0; cap <= 3; cap += 3) {
    atomic_store(&finished, 0);
    hl_chan_t *c = hl_chan_make(sizeof(big_t), (size_t)cap);
    hl_go(send_big, c);
    for (int k = 0; k < 100; k++) {
      big_t v;
      assert_true(hl_chan_recv(c, &v));
      for (int i = 0; i < 1000; i++)
        if (v.b[i] != (unsigned char)(i * 7 + k))
          fail_msg("value %d byte %d: %u", k, i, v.b[i]);
    }
    wait_finished(1);
    hl_chan_free(c);
  }
}

/* ------------------------------------------------------ non-blocking */

static void test_try_ops_with_partners(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  long v = 5;
  bool ok = true;
  /* nobody on the other side */
  assert_false(hl_chan_trysend(c, &v));
  assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 0);
  /* a parked receiver: trysend hands the value over */
  recv_slot_t s = {c, -1, false};
  blocked_id = hl_go(recv_into_slot, &s);
  wait_until(blocked_in_recv, NULL);
  v = 42;
  assert_true(hl_chan_trysend(c, &v));
  wait_finished(1);
  assert_true(s.ok);
  assert_int_equal(s.got, 42);
  /* a parked sender: tryrecv takes its value */
  atomic_store(&sent_flag, 0);
  blocked_id = hl_go(send_one_flag, c);
  wait_until(blocked_in_send, NULL);
  v = 0;
  assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 1);
  assert_true(ok);
  assert_int_equal(v, 77);
  wait_finished(2);
  /* ok may be NULL */
  assert_int_equal(hl_chan_tryrecv(c, &v, NULL), 0);
  hl_chan_free(c);
}

static void test_nil_channel_nonblocking(void **st) {
  (void)st;
  long v = 1;
  bool ok = true;
  assert_false(hl_chan_trysend(NULL, &v));
  assert_int_equal(hl_chan_tryrecv(NULL, &v, &ok), 0);
  assert_false(ok);
  errno = 0;
  assert_int_equal(hl_chan_send_timeout(NULL, &v, HL_MILLISECOND), -1);
  assert_int_equal(errno, ETIMEDOUT);
  errno = 0;
  assert_int_equal(hl_chan_recv_timeout(NULL, &v, &ok, 0), -1);
  assert_int_equal(errno, ETIMEDOUT);
}

/* ------------------------------------------------------------ timeouts */

static void test_recv_timeout_expires(void **st) {
  (void)st;
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  long v = 3;
  bool ok = true;
  int64_t t0 = hl_nanotime();
  errno = 0;
  assert_int_equal(hl_chan_recv_timeout(c, &v, &ok, 5 * HL_MILLISECOND), -1);
  int64_t dt = hl_nanotime() - t0;
  assert_int_equal(errno, ETIMEDOUT);
  assert_false(ok);
  assert_true(dt >= 5 * HL_MILLISECOND);
  assert_true(dt < 2 * HL_SECOND);
  /* the timed-out receiver left the queue: no one to hand a value to */
  assert_false(hl_chan_trysend(c, &v));
  /* timeout 0: a poll */
  errno = 0;
  assert_int_equal(hl_chan_recv_timeout(c, &v, &ok, 0), -1);
  assert_int_equal(errno, ETIMEDOUT);
  hl_chan_free(c);
}

static void test_send_timeout_expires(void **st) {
  (void)st;
  hl_chan_t *c = hl_chan_make(sizeof(long), 1);
  long v = 1;
  assert_int_equal(hl_chan_send_timeout(c, &v, HL_MILLISECOND), 0);
  int64_t t0 = hl_nanotime();
  errno = 0;
  v = 2;
  assert_int_equal(hl_chan_send_timeout(c, &v, 5 * HL_MILLISECOND), -1);
  assert_int_equal(errno, ETIMEDOUT);
  assert_true(hl_nanotime() - t0 >= 5 * HL_MILLISECOND);
  assert_int_equal(hl_chan_send_timeout(c, &v, 0), -1);
  /* the buffer holds only the first value; the timed-out sender left */
  assert_int_equal(hl_chan_len(c), 1);
  assert_true(hl_chan_recv(c, &v));
  assert_int_equal(v, 1);
  bool ok;
  assert_int_equal(hl_chan_tryrecv(c, &v, &ok), 0);
  hl_chan_free(c);
}

static void delayed_send(void *arg) {
  hl_sleep(2 * HL_MILLISECOND);
  long v = 123;
  hl_chan_send(arg, &v);
  atomic_fetch_add(&finished, 1);
}

static void delayed_recv(void *arg) {
  hl_sleep(2 * HL_MILLISECOND);
  long v;
  if (hl_chan_recv(arg, &v) && v == 456)
    atomic_fetch_add(&finished, 1);
}

static void test_timeout_ops_succeed_in_time(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  hl_go(delayed_send, c);
  long v = 0;
  bool ok = false;
  assert_int_equal(hl_chan_recv_timeout(c, &v, &ok, 10 * HL_SECOND), 0);
  assert_true(ok);
  assert_int_equal(v, 123);
  hl_go(delayed_recv, c);
  v = 456;
  assert_int_equal(hl_chan_send_timeout(c, &v, 10 * HL_SECOND), 0);
  wait_finished(2);
  /* timeout < 0: no timeout */
  hl_go(delayed_send, c);
  assert_int_equal(hl_chan_recv_timeout(c, &v, &ok, -1), 0);
  assert_int_equal(v, 123);
  hl_go(delayed_recv, c);
  v = 456;
  assert_int_equal(hl_chan_send_timeout(c, &v, -1), 0);
  wait_finished(4);
  hl_chan_free(c);
}

/* Timed senders against timed receivers with timeouts about as long as
 * the hand-off: every value a sender reports sent is received exactly
 * once, and nothing else is (the timer and the partner race for the same
 * selectdone). */
static _Atomic long timed_sent, timed_sent_sum, timed_recv, timed_recv_sum;
static hl_chan_t *timed_c;
static void timed_sender(void *arg) {
  long base = (long)arg;
  for (long i = 0; i < 2000; i++) {
    long v = base + i;
    if (hl_chan_send_timeout(timed_c, &v, (i % 7) * HL_MICROSECOND) == 0) {
      atomic_fetch_add(&timed_sent, 1);
      atomic_fetch_add(&timed_sent_sum, v);
    } else {
      hl_yield(); /* see timed_receiver */
    }
  }
  atomic_fetch_add(&finished, 1);
}
static void timed_receiver(void *arg) {
  (void)arg;
  for (;;) {
    long v;
    bool ok;
    int r = hl_chan_recv_timeout(timed_c, &v, &ok, 3 * HL_MICROSECOND);
    if (r == 0 && !ok)
      break;
    if (r == 0) {
      atomic_fetch_add(&timed_recv, 1);
      atomic_fetch_add(&timed_recv_sum, v);
    } else {
      /* a goroutine woken by its timer runs next (runnext): yield so the
       * senders get the P even when every timeout has expired by the
       * time it parks (slow sanitizer builds) */
      hl_yield();
    }
  }
  atomic_fetch_add(&finished, 1);
}

static void test_timeout_races(void **st) {
  (void)st;
  for (int cap = 0; cap <= 2; cap += 2) {
    atomic_store(&finished, 0);
    atomic_store(&timed_sent, 0);
    atomic_store(&timed_sent_sum, 0);
    atomic_store(&timed_recv, 0);
    atomic_store(&timed_recv_sum, 0);
    timed_c = hl_chan_make(sizeof(long), (size_t)cap);
    for (int i = 0; i < 4; i++)
      hl_go(timed_receiver, NULL);
    for (int i = 0; i < 4; i++)
      hl_go(timed_sender, (void *)(long)(i * 100000));
    wait_finished(4);
    hl_chan_close(timed_c);
    wait_finished(8);
    assert_true(atomic_load(&timed_sent) > 0);
    assert_int_equal(atomic_load(&timed_recv), atomic_load(&timed_sent));
    assert_int_equal(atomic_load(&timed_recv_sum),
                     atomic_load(&timed_sent_sum));
    hl_chan_free(timed_c);
  }
}

/* ------------------------------------------------------ ping-pong, alloc */

static hl_chan_t *ping, *pong, *pingdone;
static void ponger(void *arg) {
  long n = (long)arg, v;
  for (long i = 0; i < n; i++) {
    hl_chan_recv(ping, &v);
    hl_chan_send(pong, &v);
  }
}
static _Atomic int64_t pingpong_ns;
static void pinger(void *arg) {
  long n = (long)arg, v = 0;
  int64_t t0 = hl_nanotime();
  for (long i = 0; i < n; i++) {
    hl_chan_send(ping, &i);
    hl_chan_recv(pong, &v);
    if (v != i)
      fail_msg("ping-pong: sent %ld, got back %ld", i, v);
  }
  atomic_store(&pingpong_ns, hl_nanotime() - t0);
  hl_chan_send(pingdone, NULL);
}

static uint64_t total_mallocs(void) {
  static hl_heap_stats_t s;
  hl_heap_stats(&s);
  uint64_t n = 0;
  for (uint32_t i = 1; i < s.nclasses; i++)
    n += s.classes[i].mallocs;
  return n;
}

/* The send/receive paths do not allocate (sudogs on the stack). The round
 * trip time is printed for information only: this is not a benchmark. The
 * main goroutine blocks meanwhile (it is wired to its thread: waking it
 * now and then would cost the pair thread hand-offs). */
static void test_pingpong_no_alloc(void **st) {
  (void)st;
  ping = hl_chan_make(sizeof(long), 0);
  pong = hl_chan_make(sizeof(long), 0);
  pingdone = hl_chan_make(0, 0);
  const long n = 100000;
  hl_go(ponger, (void *)n);
  hl_go(pinger, (void *)n);
  hl_chan_recv(pingdone, NULL); /* warm: goroutines and stacks exist */
  uint64_t before = total_mallocs();
  hl_go(ponger, (void *)n);
  hl_go(pinger, (void *)n);
  hl_chan_recv(pingdone, NULL);
  uint64_t after = total_mallocs();
  printf("# unbuffered ping-pong: %.1f ns per round trip (HLMAXPROCS=%d)\n",
         (double)atomic_load(&pingpong_ns) / (double)n, hl_maxprocs());
  /* a handful for the two new goroutines at most, not one per message */
  assert_true(after - before < 64);
  hl_chan_free(ping);
  hl_chan_free(pong);
  hl_chan_free(pingdone);
}

/* --------------------------------------------------------- wait reasons */

static void test_wait_reasons(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  blocked_id = hl_go(recv_one, c);
  wait_until(blocked_in_recv, NULL);
  long v = 1;
  hl_chan_send(c, &v);
  wait_finished(1);
  atomic_store(&sent_flag, 0);
  blocked_id = hl_go(send_one_flag, c);
  wait_until(blocked_in_send, NULL);
  hl_chan_recv(c, &v);
  wait_finished(2);
  hl_chan_free(c);
}

/* -------------------------------------------------------------- misuse */

static void send_closed_direct(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 1);
  hl_chan_close(c);
  long v = 1;
  hl_chan_send(c, &v);
}
static void trysend_closed(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 1);
  hl_chan_close(c);
  long v = 1;
  hl_chan_trysend(c, &v);
}
static void send_forever(void *arg) {
  long v = 1;
  hl_chan_send(arg, &v);
}
static void close_with_blocked_sender(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  hl_go(send_forever, c);
  hl_sleep(20 * HL_MILLISECOND);
  hl_chan_close(c);
  hl_sleep(HL_SECOND); /* the sender dies first */
}
static void close_closed(void) {
  hl_chan_t *c = hl_chan_make(0, 0);
  hl_chan_close(c);
  hl_chan_close(c);
}
static void close_nil(void) { hl_chan_close(NULL); }
static void select_send_closed(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  hl_chan_close(c);
  long v = 1;
  hl_select_case_t cs[1] = {{.chan = c, .dir = HL_SEND, .elem = &v}};
  hl_select(cs, 1, HL_SELECT_DEFAULT);
}
static void closer_later(void *arg) {
  hl_sleep(20 * HL_MILLISECOND);
  hl_chan_close(arg);
}
static void select_blocked_send_then_close(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  hl_chan_t *d = hl_chan_make(sizeof(long), 0);
  long v = 1;
  hl_select_case_t cs[2] = {{.chan = c, .dir = HL_SEND, .elem = &v},
                            {.chan = d, .dir = HL_RECV, .elem = &v}};
  hl_go(closer_later, c); /* closes c while we wait in the select */
  hl_select(cs, 2, HL_SELECT_BLOCK);
}
static void send_nil_deadlock(void) {
  long v = 1;
  hl_chan_send(NULL, &v);
}
static void recv_nil_deadlock(void) { hl_chan_recv(NULL, NULL); }
static void select_no_cases(void) { hl_select(NULL, 0, HL_SELECT_BLOCK); }
static void select_bad_dir(void) {
  hl_chan_t *c = hl_chan_make(0, 1);
  hl_select_case_t cs[1] = {{.chan = c, .dir = 7}};
  hl_select(cs, 1, HL_SELECT_DEFAULT);
}
static void send_null_value(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 1);
  hl_chan_send(c, NULL);
}
static void free_busy(void) {
  hl_chan_t *c = hl_chan_make(sizeof(long), 0);
  hl_go(send_forever, c);
  hl_sleep(20 * HL_MILLISECOND);
  hl_chan_free(c);
}

static const struct child {
  const char *name;
  void (*fn)(void);
} children[] = {
    {"send_closed_direct", send_closed_direct},
    {"trysend_closed", trysend_closed},
    {"close_with_blocked_sender", close_with_blocked_sender},
    {"close_closed", close_closed},
    {"close_nil", close_nil},
    {"select_send_closed", select_send_closed},
    {"select_blocked_send_then_close", select_blocked_send_then_close},
    {"send_nil_deadlock", send_nil_deadlock},
    {"recv_nil_deadlock", recv_nil_deadlock},
    {"select_no_cases", select_no_cases},
    {"select_bad_dir", select_bad_dir},
    {"free_busy", free_busy},
    {"send_null_value", send_null_value},
};

static int child_main(void *arg) {
  const char *name = arg;
  for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
    if (strcmp(children[i].name, name) == 0) {
      children[i].fn();
      return 0; /* not reached when the misuse is caught */
    }
  fprintf(stderr, "no child %s\n", name);
  return 3;
}

static char self_exe[4096];
/* The children's environment: ours, with ThreadSanitizer reports off (in a
 * sanitizer build a report about the runtime would change the child's
 * exit status; the same code runs, reporting, in this process). */
static char **child_env;

static void make_child_env(void) {
  extern char **environ;
  size_t n = 0;
  while (environ[n])
    n++;
  child_env = calloc(n + 2, sizeof *child_env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "TSAN_OPTIONS=", 13) != 0)
      child_env[k++] = environ[i];
  child_env[k++] = "TSAN_OPTIONS=report_bugs=0";
  child_env[k] = NULL;
}

/* Runs child `name`; returns its wait status and its stderr in buf. */
static int run_child(const char *name, char *buf, size_t len) {
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(fd[1], 2);
    close(fd[0]);
    close(fd[1]);
    char *argv[] = {self_exe, "--child", (char *)name, NULL}, *xargv[16];
    const char *prog = hl_test_self_exec(argv, xargv);
    execve(prog, xargv, child_env);
    _exit(127);
  }
  assert_true(pid > 0);
  close(fd[1]);
  size_t n = 0;
  ssize_t r;
  while (n < len - 1 && (r = hl_sys_read(fd[0], buf + n, len - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fd[0]);
  int status = 0;
  assert_int_equal(hl_sys_waitpid(pid, &status, 0), pid);
  return status;
}

static void expect_exit2(const char *name, const char *msg,
                         const char *also) {
  static char buf[1 << 16];
  int status = run_child(name, buf, sizeof buf);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
    fail_msg("%s: status %#x, want exit 2; stderr: %s", name, status, buf);
  if (!strstr(buf, msg))
    fail_msg("%s: expected \"%s\" in: %s", name, msg, buf);
  if (also && !strstr(buf, also))
    fail_msg("%s: expected \"%s\" in: %s", name, also, buf);
}

static void test_misuse_send_on_closed(void **st) {
  (void)st;
  const char *m = "fatal error: send on closed channel";
  expect_exit2("send_closed_direct", m, "goroutine 1 [running]");
  expect_exit2("trysend_closed", m, NULL);
  expect_exit2("close_with_blocked_sender", m, NULL);
  expect_exit2("select_send_closed", m, NULL);
  expect_exit2("select_blocked_send_then_close", m, NULL);
}

static void test_misuse_close(void **st) {
  (void)st;
  expect_exit2("close_closed", "fatal error: close of closed channel", NULL);
  expect_exit2("close_nil", "fatal error: close of nil channel", NULL);
}

static void test_nil_channel_blocks_forever(void **st) {
  (void)st;
  /* nothing else can run: the deadlock detector reports it */
  const char *m = "fatal error: all goroutines are asleep - deadlock!";
  expect_exit2("send_nil_deadlock", m, "[chan send (nil chan)]");
  expect_exit2("recv_nil_deadlock", m, "(nil chan)]");
  expect_exit2("select_no_cases", m, "[select (no cases)]");
}

static void test_misuse_aborts(void **st) {
  (void)st;
  static char buf[1 << 16];
  const struct {
    const char *name, *msg;
  } cases[] = {
      {"select_bad_dir", "hl_select: case 0 has direction 7"},
      {"free_busy", "goroutines are still blocked on the channel"},
      {"send_null_value",
       "hl_chan_send(0x" /* the address follows */},
      {"send_null_value", "NULL value for a channel of 8-byte elements"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int status = run_child(cases[i].name, buf, sizeof buf);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
      fail_msg("%s: status %#x, want SIGABRT; stderr: %s", cases[i].name,
               status, buf);
    if (!strstr(buf, cases[i].msg))
      fail_msg("%s: expected \"%s\" in: %s", cases[i].name, cases[i].msg,
               buf);
  }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_make_len_cap),
    cmocka_unit_test(test_unbuffered_order),
    cmocka_unit_test(test_unbuffered_send_blocks),
    cmocka_unit_test(test_buffered_fifo_full_empty),
    cmocka_unit_test(test_buffered_sender_blocks_when_full),
    cmocka_unit_test(test_buffered_receiver_blocks_when_empty),
    cmocka_unit_test(test_many_producers_consumers),
    cmocka_unit_test(test_close_drains_then_zero),
    cmocka_unit_test(test_close_wakes_all_receivers),
    cmocka_unit_test(test_zero_size_elements),
    cmocka_unit_test(test_large_elements),
    cmocka_unit_test(test_try_ops_with_partners),
    cmocka_unit_test(test_nil_channel_nonblocking),
    cmocka_unit_test(test_recv_timeout_expires),
    cmocka_unit_test(test_send_timeout_expires),
    cmocka_unit_test(test_timeout_ops_succeed_in_time),
    cmocka_unit_test(test_timeout_races),
    cmocka_unit_test(test_pingpong_no_alloc),
    cmocka_unit_test(test_wait_reasons),
    cmocka_unit_test(test_misuse_send_on_closed),
    cmocka_unit_test(test_misuse_close),
    cmocka_unit_test(test_nil_channel_blocks_forever),
    cmocka_unit_test(test_misuse_aborts),
};

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--child") == 0)
    return hl_main(child_main, argv[2]);
  ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (n <= 0)
    return 1;
  self_exe[n] = 0;
  make_child_env();
  struct hl_test_group g = {tests, sizeof tests / sizeof tests[0], "tests"};
  return hl_main(hl_test_group_main, &g);
}
