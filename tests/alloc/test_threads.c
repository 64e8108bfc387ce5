/*
 * tests/alloc/test_threads.c — objects crossing threads: remote frees are
 * collected by the owner, an exiting thread's spans go to mcentral and are
 * adopted or reclaimed, and fork leaves a working allocator in the child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc/fastpath.h"
#include "heaplab/alloc.h"

enum { N = 50000 };
static void *objs[N];

static void *free_all(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i++)
    hl_free(objs[i]);
  return NULL;
}

static void test_remote_free_collected(void **st) {
  (void)st;
  int sc = (int)size_class_of(64);
  for (int i = 0; i < N; i++)
    objs[i] = hl_malloc(64);
  hl_heap_stats_t a, b;
  hl_heap_stats(&a);
  pthread_t t;
  pthread_create(&t, NULL, free_all, NULL);
  pthread_join(t, NULL);
  /* allocating N again reuses the remotely freed objects: no new spans */
  for (int i = 0; i < N; i++)
    objs[i] = hl_malloc(64);
  hl_heap_stats(&b);
  assert_true(b.classes[sc].spans <= a.classes[sc].spans);
  assert_int_equal(b.classes[sc].objects_in_use, a.classes[sc].objects_in_use);
  hl_heap_validate(1);
  for (int i = 0; i < N; i++)
    hl_free(objs[i]);
  hl_heap_validate(1);
}

static void *alloc_and_exit(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i++) {
    objs[i] = hl_malloc(200);
    memset(objs[i], 0x5A, 200);
  }
  return NULL; /* the thread's cache is flushed: spans go to mcentral */
}

static void test_thread_exit_flush(void **st) {
  (void)st;
  int sc = (int)size_class_of(200);
  pthread_t t;
  pthread_create(&t, NULL, alloc_and_exit, NULL);
  pthread_join(t, NULL);
  uint64_t central = atomic_load_relaxed(&mcentral[sc].nspans);
  assert_true(central >= N * 208 / (manual_span_pages(sc) * 8192) - 2);
  for (int i = 0; i < N; i++) {
    assert_int_equal(((unsigned char *)objs[i])[199], 0x5A);
    hl_free(objs[i]); /* remote: the spans are unowned */
  }
  hl_heap_validate(1);
  /* the emptied spans are reclaimed to the heap (here, or already by the
   * scavenger thread, which reclaims mcentral every pass) */
  mcentral_reclaim();
  assert_int_equal(atomic_load_relaxed(&mcentral[sc].nspans), 0);
  uint64_t after = atomic_load_relaxed(&span_count[sc]);
  /* every span the exited thread left is gone: at most the calling
   * thread's own spans of the class remain */
  assert_true(after <= 2);
  hl_heap_validate(1);
}

static void test_adopt_from_central(void **st) {
  (void)st;
  int sc = (int)size_class_of(300);
  pthread_t t;
  for (int i = 0; i < N; i++)
    objs[i] = NULL;
  /* a thread allocates 300-byte objects and exits */
  struct {
    int dummy;
  } arg;
  (void)arg;
  hl_thread_flush();
  void *keep[64];
  for (int i = 0; i < 64; i++)
    keep[i] = hl_malloc(300);
  hl_thread_flush(); /* our spans (64 live objects) go to mcentral */
  uint64_t before = atomic_load_relaxed(&mcentral[sc].nspans);
  assert_true(before >= 1);
  void *p = hl_malloc(300); /* adopts one back instead of a new span */
  assert_int_equal(atomic_load_relaxed(&mcentral[sc].nspans), before - 1);
  mspan_t *s = span_of((uintptr_t)p);
  assert_ptr_equal(atomic_load_relaxed(&s->owner), tls_mcache);
  for (int i = 0; i < 64; i++)
    hl_free(keep[i]);
  hl_free(p);
  (void)t;
  hl_heap_validate(1);
}

#define PAIRS 4
#define ROUNDS 200
static _Atomic(void *) mailbox[PAIRS][64];

static void *exchanger(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned seed = (unsigned)id * 7919u + 1;
  for (int r = 0; r < ROUNDS * 64; r++) {
    seed = seed * 1103515245u + 12345u;
    int slot = (int)(seed >> 16) % 64;
    size_t size = 16 + (seed >> 8) % 2000;
    unsigned char *p = hl_malloc(size);
    memset(p, (int)(size & 0xff), size);
    *(size_t *)p = size;
    void *old = atomic_exchange(&mailbox[(id + 1) % PAIRS][slot], p);
    if (old) {
      size_t n = *(size_t *)old;
      unsigned char *o = old;
      if (o[n - 1] != (unsigned char)(n & 0xff))
        return (void *)1;
      hl_free(old);
    }
  }
  return NULL;
}

static void test_exchange_between_threads(void **st) {
  (void)st;
  pthread_t t[PAIRS];
  for (int i = 0; i < PAIRS; i++)
    pthread_create(&t[i], NULL, exchanger, (void *)(intptr_t)i);
  for (int i = 0; i < PAIRS; i++) {
    void *r;
    pthread_join(t[i], &r);
    assert_null(r);
  }
  for (int i = 0; i < PAIRS; i++)
    for (int k = 0; k < 64; k++) {
      void *p = atomic_exchange(&mailbox[i][k], NULL);
      if (p)
        hl_free(p);
    }
  hl_heap_validate(1);
}

static void test_fork_child_allocates(void **st) {
  (void)st;
  void *p = hl_malloc(1000);
  pid_t pid = fork();
  if (pid == 0) {
    hl_free(p);
    for (int i = 0; i < 10000; i++)
      hl_free(hl_malloc((size_t)i % 5000));
    _exit(hl_heap_validate(0) ? 0 : 3);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  hl_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_remote_free_collected),
      cmocka_unit_test(test_thread_exit_flush),
      cmocka_unit_test(test_adopt_from_central),
      cmocka_unit_test(test_exchange_between_threads),
      cmocka_unit_test(test_fork_child_allocates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
