/*
 * tests/sched/test_sync.c — the sync primitives: hl_mutex (exclusion
 * under contention across Ps, trylock, starvation mode), hl_rwmutex
 * (concurrent readers, exclusive and preferred writers), hl_cond (signal
 * wakes exactly one, broadcast all, no lost wakeups), hl_waitgroup,
 * hl_once, hl_sema, and misuse (each in a child process that must exit
 * with status 2 and Go's message).
 *
 * Workers run in goroutines on any thread; cmocka's state is per thread,
 * so workers count failures in atomics and the main goroutine asserts.
 * Run it with HLMAXPROCS=1, 2 and 4: the interleavings differ.
 */
#include "harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static _Atomic long failures;
static _Atomic long finished;

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "check failed: %s at %s:%d\n", #c, __FILE__, __LINE__); \
      atomic_fetch_add(&failures, 1);                                          \
    }                                                                          \
  } while (0)

static void reset(void) {
  atomic_store(&failures, 0);
  atomic_store(&finished, 0);
}

/* Waits (sleeping) until *v >= want; false after timeout. The main
 * goroutine is wired to its thread, so each sleep costs two thread
 * switches: the polling interval grows to 1 ms to stay out of the way. */
static bool wait_for(_Atomic long *v, long want, int64_t timeout) {
  int64_t end = hl_nanotime() + timeout;
  int64_t nap = 50 * HL_MICROSECOND;
  while (atomic_load(v) < want) {
    if (hl_nanotime() > end)
      return false;
    hl_sleep(nap);
    if (nap < HL_MILLISECOND)
      nap *= 2;
  }
  return true;
}

/* The goroutines of the previous test are gone (they may still be
 * returning after their last counter update). */
static void drain(void) {
  int64_t end = hl_nanotime() + 5 * HL_SECOND;
  while (hl_numgoroutine() > 1 && hl_nanotime() < end)
    hl_sleep(100 * HL_MICROSECOND);
  assert_int_equal(hl_numgoroutine(), 1);
}

/* The state words of a sync object (white box: their layout is sync.c's;
 * word 0 of hl_mutex_t is its state, word 1 its semaphore). */
static uint32_t word(const void *obj, int i) {
  uint32_t w;
  memcpy(&w, (const char *)obj + 4 * i, sizeof w);
  return w;
}
static uint32_t atomic_word(void *obj, int i) {
  return __atomic_load_n((uint32_t *)obj + i, __ATOMIC_RELAXED);
}
#define MUTEX_STARVING 4u

/* ------------------------------------------------------------- mutex */

static void test_mutex_basic(void **st) {
  (void)st;
  hl_mutex_t m = HL_MUTEX_INIT;
  assert_true(hl_mutex_trylock(&m));
  assert_false(hl_mutex_trylock(&m));
  hl_mutex_unlock(&m);
  hl_mutex_lock(&m);
  assert_false(hl_mutex_trylock(&m));
  hl_mutex_unlock(&m);
  assert_int_equal(word(&m, 0), 0);
  assert_int_equal(word(&m, 1), 0);
  /* zeroed memory is an unlocked mutex */
  hl_mutex_t *z = calloc(1, sizeof *z);
  hl_mutex_lock(z);
  hl_mutex_unlock(z);
  assert_true(hl_mutex_trylock(z));
  hl_mutex_unlock(z);
  free(z);
}

static hl_mutex_t block_mu;
static _Atomic long got_it;
static void lock_once(void *arg) {
  (void)arg;
  hl_mutex_lock(&block_mu);
  atomic_store(&got_it, 1);
  hl_mutex_unlock(&block_mu);
  atomic_fetch_add(&finished, 1);
}

static void test_mutex_blocks(void **st) {
  (void)st;
  reset();
  atomic_store(&got_it, 0);
  hl_mutex_lock(&block_mu);
  hl_go(lock_once, NULL);
  hl_sleep(20 * HL_MILLISECOND);
  assert_int_equal(atomic_load(&got_it), 0); /* it waits */
  assert_true(atomic_word(&block_mu, 0) >> 3 == 1); /* one waiter, asleep */
  hl_mutex_unlock(&block_mu);
  assert_true(wait_for(&finished, 1, 2 * HL_SECOND));
  assert_int_equal(atomic_load(&got_it), 1);
  assert_int_equal(atomic_word(&block_mu, 0), 0);
  drain();
}

/* G goroutines increment a plain counter under the mutex; an "inside"
 * count checks that at most one holds it. Some yield or sleep while
 * holding it (others then park), some use trylock. */
enum { CONT_G = 8, CONT_N = 20000 };
static hl_mutex_t cont_mu;
static long cont_counter; /* protected by cont_mu */
static _Atomic int cont_inside;

static void contender(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < CONT_N; i++) {
    if (id % 4 == 3) {
      while (!hl_mutex_trylock(&cont_mu))
        hl_yield();
    } else {
      hl_mutex_lock(&cont_mu);
    }
    CHECK(atomic_fetch_add(&cont_inside, 1) == 0);
    long c = cont_counter;
    if (i % 512 == 0)
      hl_yield(); /* others pile up and park */
    else if (i % 4099 == 0)
      hl_sleep(50 * HL_MICROSECOND);
    cont_counter = c + 1;
    atomic_fetch_sub(&cont_inside, 1);
    hl_mutex_unlock(&cont_mu);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_mutex_contention(void **st) {
  (void)st;
  reset();
  cont_counter = 0;
  for (long i = 0; i < CONT_G; i++)
    hl_go(contender, (void *)i);
  assert_true(wait_for(&finished, CONT_G, 60 * HL_SECOND));
  assert_int_equal(atomic_load(&failures), 0);
  hl_mutex_lock(&cont_mu);
  assert_int_equal(cont_counter, (long)CONT_G * CONT_N);
  hl_mutex_unlock(&cont_mu);
  assert_int_equal(atomic_word(&cont_mu, 0), 0);
  drain();
}

/* Starvation (Go's TestMutexFairness): a hog holds the mutex while it
 * sleeps and re-locks it at once after each unlock. In normal mode a
 * woken waiter always finds it taken again; starvation mode must give it
 * the mutex within a few ms. The hog looks at the STARVING bit before
 * each unlock: a starving waiter can set it only while the mutex is held,
 * and it stays set until that waiter owns the mutex. */
static hl_mutex_t starve_mu;
static _Atomic long starve_stop, starve_seen, starve_maxwait, starve_rounds;
static _Atomic long hog_cycles, starve_maxcycles;

static void hog(void *arg) {
  (void)arg;
  while (!atomic_load(&starve_stop)) {
    hl_mutex_lock(&starve_mu);
    hl_sleep(100 * HL_MICROSECOND);
    if (atomic_word(&starve_mu, 0) & MUTEX_STARVING)
      atomic_fetch_add(&starve_seen, 1);
    hl_mutex_unlock(&starve_mu);
    atomic_fetch_add(&hog_cycles, 1);
  }
  atomic_fetch_add(&finished, 1);
}

static void starved(void *arg) {
  (void)arg;
  for (int i = 0; i < 10; i++) {
    hl_sleep(100 * HL_MICROSECOND);
    int64_t t0 = hl_nanotime();
    long c0 = atomic_load(&hog_cycles);
    hl_mutex_lock(&starve_mu);
    long dt = (long)(hl_nanotime() - t0);
    long dc = atomic_load(&hog_cycles) - c0;
    hl_mutex_unlock(&starve_mu);
    if (dt > atomic_load(&starve_maxwait))
      atomic_store(&starve_maxwait, dt);
    if (dc > atomic_load(&starve_maxcycles))
      atomic_store(&starve_maxcycles, dc);
    atomic_fetch_add(&starve_rounds, 1);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_mutex_starvation(void **st) {
  (void)st;
  reset();
  atomic_store(&starve_stop, 0);
  atomic_store(&starve_seen, 0);
  atomic_store(&starve_maxwait, 0);
  atomic_store(&starve_rounds, 0);
  atomic_store(&hog_cycles, 0);
  atomic_store(&starve_maxcycles, 0);
  hl_go(hog, NULL);
  hl_sleep(HL_MILLISECOND);
  hl_go(starved, NULL);
  bool done = wait_for(&starve_rounds, 10, 10 * HL_SECOND);
  atomic_store(&starve_stop, 1);
  assert_true(wait_for(&finished, 2, 5 * HL_SECOND));
  print_message("starvation: max wait %ld us (%ld hog cycles) over 10 "
                "locks, STARVING seen by the hog %ld times\n",
                atomic_load(&starve_maxwait) / 1000,
                atomic_load(&starve_maxcycles), atomic_load(&starve_seen));
  assert_true(done);
  /* a loose wall-clock bound (the machine may be loaded: a descheduled
   * thread stretches any wait); the precise check is in hog cycles */
  assert_true(atomic_load(&starve_maxwait) < 1000 * HL_MILLISECOND);
  /* independent of timer and OS latency: the waiter starves after 1 ms,
   * i.e. at most ~10 hog cycles of >= 100 us, and then gets the mutex at
   * the next unlock. Without starvation mode it waits for the hog to
   * stop. */
  assert_true(atomic_load(&starve_maxcycles) <= 15);
  /* every lock of the waiter but maybe the first few went through it */
  assert_true(atomic_load(&starve_seen) >= 5);
  /* the last waiter left starvation mode: back to the zero state */
  assert_int_equal(atomic_word(&starve_mu, 0), 0);
  drain();
}

/* ----------------------------------------------------------- rwmutex */

static hl_rwmutex_t rw;
static _Atomic long readers_in, writers_in;

enum { RD_N = 8 };
static void reader_meet(void *arg) {
  (void)arg;
  hl_rwmutex_rlock(&rw);
  atomic_fetch_add(&readers_in, 1);
  /* all RD_N readers must be inside together */
  CHECK(wait_for(&readers_in, RD_N, 5 * HL_SECOND));
  hl_rwmutex_runlock(&rw);
  atomic_fetch_add(&finished, 1);
}

static void test_rwmutex_readers_concurrent(void **st) {
  (void)st;
  reset();
  atomic_store(&readers_in, 0);
  for (int i = 0; i < RD_N; i++)
    hl_go(reader_meet, NULL);
  assert_true(wait_for(&finished, RD_N, 10 * HL_SECOND));
  assert_int_equal(atomic_load(&failures), 0);
  /* a writer gets it once they left */
  hl_rwmutex_lock(&rw);
  hl_rwmutex_unlock(&rw);
  drain();
}

enum { RW_W = 4, RW_WN = 2000, RW_R = 8, RW_RN = 5000 };
static long rw_a, rw_b; /* protected by rw; a == b outside a write */

static void rw_writer(void *arg) {
  (void)arg;
  for (int i = 0; i < RW_WN; i++) {
    hl_rwmutex_lock(&rw);
    CHECK(atomic_fetch_add(&writers_in, 1) == 0);
    CHECK(atomic_load(&readers_in) == 0);
    rw_a++;
    if (i % 64 == 0)
      hl_yield();
    rw_b++;
    atomic_fetch_sub(&writers_in, 1);
    hl_rwmutex_unlock(&rw);
  }
  atomic_fetch_add(&finished, 1);
}

static void rw_reader(void *arg) {
  (void)arg;
  for (int i = 0; i < RW_RN; i++) {
    hl_rwmutex_rlock(&rw);
    atomic_fetch_add(&readers_in, 1);
    CHECK(atomic_load(&writers_in) == 0);
    CHECK(rw_a == rw_b);
    if (i % 128 == 0)
      hl_yield();
    atomic_fetch_sub(&readers_in, 1);
    hl_rwmutex_runlock(&rw);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_rwmutex_exclusive(void **st) {
  (void)st;
  reset();
  atomic_store(&readers_in, 0);
  atomic_store(&writers_in, 0);
  rw_a = rw_b = 0;
  for (int i = 0; i < RW_R; i++) {
    hl_go(rw_reader, NULL);
    if (i < RW_W)
      hl_go(rw_writer, NULL);
  }
  assert_true(wait_for(&finished, RW_W + RW_R, 60 * HL_SECOND));
  assert_int_equal(atomic_load(&failures), 0);
  hl_rwmutex_rlock(&rw);
  assert_int_equal(rw_a, (long)RW_W * RW_WN);
  assert_int_equal(rw_b, rw_a);
  hl_rwmutex_runlock(&rw);
  drain();
}

/* Writer preference: with a reader inside and a writer waiting, a new
 * reader waits for the writer. */
static _Atomic long order_seq, writer_at, reader2_at;
static void pref_writer(void *arg) {
  (void)arg;
  hl_rwmutex_lock(&rw);
  atomic_store(&writer_at, atomic_fetch_add(&order_seq, 1) + 1);
  hl_sleep(2 * HL_MILLISECOND);
  hl_rwmutex_unlock(&rw);
  atomic_fetch_add(&finished, 1);
}
static void pref_reader(void *arg) {
  (void)arg;
  hl_rwmutex_rlock(&rw);
  atomic_store(&reader2_at, atomic_fetch_add(&order_seq, 1) + 1);
  hl_rwmutex_runlock(&rw);
  atomic_fetch_add(&finished, 1);
}

static void test_rwmutex_writer_preferred(void **st) {
  (void)st;
  reset();
  atomic_store(&order_seq, 0);
  atomic_store(&writer_at, 0);
  atomic_store(&reader2_at, 0);
  hl_rwmutex_rlock(&rw);
  hl_go(pref_writer, NULL);
  hl_sleep(10 * HL_MILLISECOND); /* the writer waits for us */
  hl_go(pref_reader, NULL);
  hl_sleep(10 * HL_MILLISECOND); /* the new reader waits for the writer */
  assert_int_equal(atomic_load(&writer_at), 0);
  assert_int_equal(atomic_load(&reader2_at), 0);
  hl_rwmutex_runlock(&rw);
  assert_true(wait_for(&finished, 2, 5 * HL_SECOND));
  assert_int_equal(atomic_load(&writer_at), 1);
  assert_int_equal(atomic_load(&reader2_at), 2);
  drain();
}

/* -------------------------------------------------------------- cond */

enum { CV_K = 6 };
static hl_mutex_t cv_mu;
static hl_cond_t cv;
static long cv_tokens, cv_waiting; /* cv_mu */
static _Atomic long cv_returns, cv_consumed;

static void cv_waiter(void *arg) {
  (void)arg;
  hl_mutex_lock(&cv_mu);
  cv_waiting++;
  while (cv_tokens == 0) {
    hl_cond_wait(&cv, &cv_mu);
    atomic_fetch_add(&cv_returns, 1);
  }
  cv_tokens--;
  atomic_fetch_add(&cv_consumed, 1);
  hl_mutex_unlock(&cv_mu);
  atomic_fetch_add(&finished, 1);
}

static void test_cond_signal_broadcast(void **st) {
  (void)st;
  reset();
  cv_tokens = cv_waiting = 0;
  atomic_store(&cv_returns, 0);
  atomic_store(&cv_consumed, 0);
  hl_cond_signal(&cv); /* nobody waits: no effect */
  hl_cond_broadcast(&cv);
  for (int i = 0; i < CV_K; i++)
    hl_go(cv_waiter, NULL);
  for (;;) { /* all K are in hl_cond_wait once they counted themselves */
    hl_mutex_lock(&cv_mu);
    long w = cv_waiting;
    hl_mutex_unlock(&cv_mu);
    if (w == CV_K)
      break;
    hl_sleep(100 * HL_MICROSECOND);
  }
  hl_mutex_lock(&cv_mu);
  cv_tokens = 1;
  hl_cond_signal(&cv);
  hl_mutex_unlock(&cv_mu);
  assert_true(wait_for(&cv_consumed, 1, 2 * HL_SECOND));
  hl_sleep(20 * HL_MILLISECOND);
  /* a signal wakes exactly one (no spurious wakeups) */
  assert_int_equal(atomic_load(&cv_returns), 1);
  assert_int_equal(atomic_load(&cv_consumed), 1);
  hl_mutex_lock(&cv_mu);
  cv_tokens = CV_K - 1;
  hl_cond_broadcast(&cv);
  hl_mutex_unlock(&cv_mu);
  assert_true(wait_for(&finished, CV_K, 2 * HL_SECOND));
  assert_int_equal(atomic_load(&cv_returns), CV_K);
  drain();
}

/* Two goroutines take turns through one cond 20000 times: a lost wakeup
 * hangs (and times out). */
enum { PP_N = 20000 };
static long pp_turn; /* cv_mu */
static void pingpong(void *arg) {
  long me = (long)arg;
  for (int i = 0; i < PP_N; i++) {
    hl_mutex_lock(&cv_mu);
    while (pp_turn != me)
      hl_cond_wait(&cv, &cv_mu);
    pp_turn = 1 - me;
    if (i % 2)
      hl_cond_signal(&cv);
    else
      hl_cond_broadcast(&cv);
    hl_mutex_unlock(&cv_mu);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_cond_pingpong(void **st) {
  (void)st;
  reset();
  pp_turn = 0;
  hl_go(pingpong, (void *)0L);
  hl_go(pingpong, (void *)1L);
  assert_true(wait_for(&finished, 2, 60 * HL_SECOND));
  drain();
}

/* --------------------------------------------------------- waitgroup */

enum { WG_N = 1000, WG_WAITERS = 4 };
static hl_waitgroup_t wg;
static _Atomic long wg_work, wg_waiters_ok;

static void wg_worker(void *arg) {
  (void)arg;
  if (hl_goid() % 3 == 0)
    hl_yield();
  atomic_fetch_add(&wg_work, 1);
  hl_waitgroup_done(&wg);
}

static void wg_waiter(void *arg) {
  long want = (long)arg;
  hl_waitgroup_wait(&wg);
  CHECK(atomic_load(&wg_work) == want);
  atomic_fetch_add(&wg_waiters_ok, 1);
  atomic_fetch_add(&finished, 1);
}

static void test_waitgroup(void **st) {
  (void)st;
  reset();
  hl_waitgroup_wait(&wg); /* zero counter: returns at once */
  for (int round = 1; round <= 3; round++) { /* reused after each Wait */
    atomic_store(&wg_work, 0);
    atomic_store(&wg_waiters_ok, 0);
    atomic_store(&finished, 0);
    hl_waitgroup_add(&wg, WG_N / 2);
    for (int i = 0; i < WG_WAITERS; i++)
      hl_go(wg_waiter, (void *)(long)WG_N);
    hl_waitgroup_add(&wg, WG_N - WG_N / 2);
    for (int i = 0; i < WG_N; i++)
      hl_go(wg_worker, NULL);
    hl_waitgroup_wait(&wg);
    assert_int_equal(atomic_load(&wg_work), WG_N);
    assert_true(wait_for(&finished, WG_WAITERS, 5 * HL_SECOND));
    assert_int_equal(atomic_load(&wg_waiters_ok), WG_WAITERS);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_word(&wg, 0), 0);
    assert_int_equal(atomic_word(&wg, 1), 0);
    drain();
  }
}

/* -------------------------------------------------------------- once */

enum { ONCE_G = 64 };
static hl_once_t once;
static _Atomic long once_runs, once_value, once_ok;

static void once_init(void *arg) {
  atomic_fetch_add(&once_runs, 1);
  hl_sleep(5 * HL_MILLISECOND); /* the others block meanwhile */
  atomic_store(&once_value, (long)arg);
}

static void once_caller(void *arg) {
  (void)arg;
  hl_once_do(&once, once_init, (void *)42L);
  if (atomic_load(&once_value) == 42) /* fn completed before we returned */
    atomic_fetch_add(&once_ok, 1);
  atomic_fetch_add(&finished, 1);
}

static void test_once(void **st) {
  (void)st;
  reset();
  for (int i = 0; i < ONCE_G; i++)
    hl_go(once_caller, NULL);
  assert_true(wait_for(&finished, ONCE_G, 10 * HL_SECOND));
  assert_int_equal(atomic_load(&once_runs), 1);
  assert_int_equal(atomic_load(&once_ok), ONCE_G);
  hl_once_do(&once, once_init, (void *)7L);
  assert_int_equal(atomic_load(&once_runs), 1);
  assert_int_equal(atomic_load(&once_value), 42);
  hl_once_t o2 = HL_ONCE_INIT;
  hl_once_do(&o2, once_init, (void *)9L);
  assert_int_equal(atomic_load(&once_runs), 2);
  assert_int_equal(atomic_load(&once_value), 9);
  drain();
}

/* -------------------------------------------------------------- sema */

static void test_sema_counts(void **st) {
  (void)st;
  hl_sema_t s = HL_SEMA_INIT(3);
  assert_true(hl_sema_tryacquire(&s));
  assert_true(hl_sema_tryacquire(&s));
  assert_true(hl_sema_tryacquire(&s));
  assert_false(hl_sema_tryacquire(&s));
  hl_sema_release(&s);
  hl_sema_acquire(&s); /* does not block: one token */
  assert_false(hl_sema_tryacquire(&s));
  for (int i = 0; i < 3; i++)
    hl_sema_release(&s);
  assert_int_equal(word(&s, 0), 3);
  hl_sema_t z = HL_SEMA_INIT(0);
  assert_false(hl_sema_tryacquire(&z));
}

static hl_sema_t sem_block;
static void sem_acquirer(void *arg) {
  (void)arg;
  hl_sema_acquire(&sem_block);
  atomic_fetch_add(&finished, 1);
}

static void test_sema_blocks(void **st) {
  (void)st;
  reset();
  for (int i = 0; i < 5; i++)
    hl_go(sem_acquirer, NULL);
  hl_sleep(10 * HL_MILLISECOND);
  assert_int_equal(atomic_load(&finished), 0);
  for (int i = 1; i <= 5; i++) { /* each release lets exactly one through */
    hl_sema_release(&sem_block);
    assert_true(wait_for(&finished, i, 2 * HL_SECOND));
    hl_sleep(2 * HL_MILLISECOND);
    assert_int_equal(atomic_load(&finished), i);
  }
  assert_false(hl_sema_tryacquire(&sem_block));
  drain();
}

enum { SEM_CAP = 3, SEM_G = 16, SEM_N = 300 };
static hl_sema_t sem_limit = HL_SEMA_INIT(SEM_CAP);
static _Atomic long sem_inside, sem_max;
static void sem_user(void *arg) {
  (void)arg;
  for (int i = 0; i < SEM_N; i++) {
    hl_sema_acquire(&sem_limit);
    long n = atomic_fetch_add(&sem_inside, 1) + 1;
    CHECK(n <= SEM_CAP);
    long m = atomic_load(&sem_max);
    while (n > m && !atomic_compare_exchange_weak(&sem_max, &m, n))
      ;
    hl_yield();
    atomic_fetch_sub(&sem_inside, 1);
    hl_sema_release(&sem_limit);
  }
  atomic_fetch_add(&finished, 1);
}

static void test_sema_limits(void **st) {
  (void)st;
  reset();
  for (int i = 0; i < SEM_G; i++)
    hl_go(sem_user, NULL);
  assert_true(wait_for(&finished, SEM_G, 30 * HL_SECOND));
  assert_int_equal(atomic_load(&failures), 0);
  assert_true(atomic_load(&sem_max) <= SEM_CAP);
  assert_true(atomic_load(&sem_max) >= 2); /* it did admit several */
  assert_int_equal(atomic_word(&sem_limit, 0), SEM_CAP);
  drain();
}

/* ------------------------------------------------------------ misuse */

/* Each case runs in a fresh process (this executable with --misuse NAME:
 * hl_main starts once per process, so a fork of this one cannot). */
static void misuse_recurse(void *arg) { hl_once_do(arg, misuse_recurse, arg); }

static int misuse_main(void *arg) {
  const char *name = arg;
  alarm(20); /* a misuse that is not caught must not hang the test */
  if (!strcmp(name, "mutex_unlock")) {
    hl_mutex_t m = HL_MUTEX_INIT;
    hl_mutex_unlock(&m);
  } else if (!strcmp(name, "mutex_unlock_twice")) {
    hl_mutex_t m = HL_MUTEX_INIT;
    hl_mutex_lock(&m);
    hl_mutex_unlock(&m);
    hl_mutex_unlock(&m);
  } else if (!strcmp(name, "wg_negative")) {
    hl_waitgroup_t w = HL_WAITGROUP_INIT;
    hl_waitgroup_add(&w, 2);
    hl_waitgroup_done(&w);
    hl_waitgroup_add(&w, -2);
  } else if (!strcmp(name, "wg_done")) {
    hl_waitgroup_t w = HL_WAITGROUP_INIT;
    hl_waitgroup_done(&w);
  } else if (!strcmp(name, "rw_runlock")) {
    hl_rwmutex_t r = HL_RWMUTEX_INIT;
    hl_rwmutex_runlock(&r);
  } else if (!strcmp(name, "rw_runlock_writer")) {
    hl_rwmutex_t r = HL_RWMUTEX_INIT;
    hl_rwmutex_lock(&r);
    hl_rwmutex_runlock(&r);
  } else if (!strcmp(name, "rw_unlock")) {
    hl_rwmutex_t r = HL_RWMUTEX_INIT;
    hl_rwmutex_unlock(&r);
  } else if (!strcmp(name, "rw_unlock_reader")) {
    hl_rwmutex_t r = HL_RWMUTEX_INIT;
    hl_rwmutex_rlock(&r);
    hl_rwmutex_unlock(&r);
  } else if (!strcmp(name, "once_recursive")) {
    hl_once_t o = HL_ONCE_INIT;
    hl_once_do(&o, misuse_recurse, &o);
  } else if (!strcmp(name, "sema_overflow")) {
    hl_sema_t s = HL_SEMA_INIT(UINT32_MAX);
    hl_sema_release(&s);
  }
  return 0; /* not reached when the misuse is caught */
}

static void expect_fatal(const char *name, const char *want) {
  int fd[2];
  assert_int_equal(pipe2(fd, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
  char *argv[] = {"test_sync", "--misuse", (char *)name, NULL};
  pid_t pid;
  char *xargv[16];
  const char *prog = hl_test_self_exec(argv, xargv);
  int r = posix_spawn(&pid, prog, &fa, NULL, xargv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd[1]);
  assert_int_equal(r, 0);
  char buf[8192];
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 &&
         (k = hl_sys_read(fd[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)k;
  buf[n] = 0;
  close(fd[0]);
  int status;
  assert_int_equal(hl_sys_waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
    fail_msg("%s: child did not exit with status 2 (status 0x%x); "
             "stderr:\n%s",
             name, status, buf);
  if (!strstr(buf, want))
    fail_msg("%s: expected \"%s\" in:\n%s", name, want, buf);
  if (!strstr(buf, "goroutine 1 [running]:"))
    fail_msg("%s: no goroutine dump in:\n%s", name, buf);
}

static void test_misuse_mutex(void **st) {
  (void)st;
  expect_fatal("mutex_unlock", "fatal error: sync: unlock of unlocked mutex");
  expect_fatal("mutex_unlock_twice",
               "fatal error: sync: unlock of unlocked mutex");
}
static void test_misuse_waitgroup(void **st) {
  (void)st;
  expect_fatal("wg_negative", "fatal error: sync: negative WaitGroup counter");
  expect_fatal("wg_done", "fatal error: sync: negative WaitGroup counter");
}
static void test_misuse_rwmutex(void **st) {
  (void)st;
  expect_fatal("rw_runlock", "fatal error: sync: RUnlock of unlocked RWMutex");
  expect_fatal("rw_runlock_writer",
               "fatal error: sync: RUnlock of unlocked RWMutex");
  expect_fatal("rw_unlock", "fatal error: sync: Unlock of unlocked RWMutex");
  expect_fatal("rw_unlock_reader",
               "fatal error: sync: Unlock of unlocked RWMutex");
}
static void test_misuse_once_sema(void **st) {
  (void)st;
  expect_fatal("once_recursive",
               "fatal error: sync: Once.Do called recursively");
  expect_fatal("sema_overflow",
               "fatal error: sync: semaphore released more than acquired");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mutex_basic),
    cmocka_unit_test(test_mutex_blocks),
    cmocka_unit_test(test_mutex_contention),
    cmocka_unit_test(test_mutex_starvation),
    cmocka_unit_test(test_rwmutex_readers_concurrent),
    cmocka_unit_test(test_rwmutex_exclusive),
    cmocka_unit_test(test_rwmutex_writer_preferred),
    cmocka_unit_test(test_cond_signal_broadcast),
    cmocka_unit_test(test_cond_pingpong),
    cmocka_unit_test(test_waitgroup),
    cmocka_unit_test(test_once),
    cmocka_unit_test(test_sema_counts),
    cmocka_unit_test(test_sema_blocks),
    cmocka_unit_test(test_sema_limits),
    cmocka_unit_test(test_misuse_mutex),
    cmocka_unit_test(test_misuse_waitgroup),
    cmocka_unit_test(test_misuse_rwmutex),
    cmocka_unit_test(test_misuse_once_sema),
};

/* HL_SCHED_TEST_MAIN(tests), plus the misuse children's entry. */
int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--misuse"))
    return hl_main(misuse_main, argv[2]);
  struct hl_test_group g = {tests, sizeof tests / sizeof tests[0], "tests"};
  return hl_main(hl_test_group_main, &g);
}
