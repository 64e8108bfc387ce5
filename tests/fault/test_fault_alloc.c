/*
 * tests/fault/test_fault_alloc.c — the manual allocator when the OS
 * refuses memory (fault injection, base/os.h: os_fault_set and
 * HLDEBUG=failmmap / maplimit).
 *
 * What every case checks, after the refusal:
 *  1. the failing call returns NULL (posix_memalign: ENOMEM) with errno
 *     ENOMEM, and realloc leaves its block untouched;
 *  2. the heap is valid: hl_heap_validate(0) walks the page heap, the free
 *     runs, the thread's spans and the mcentral lists;
 *  3. objects allocated before the failure kept their contents (each is
 *     filled with a pattern derived from its address and size);
 *  4. once the fault is lifted (or memory is freed under a cap) allocation
 *     works again.
 * Cases run in this process one after another (the heap stays valid, which
 * is the point), with the fault reset between them; the HLDEBUG forms run
 * in a re-executed child, since HLDEBUG is read once per process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alloc/types.h"
#include "base/os.h"
#include "heaplab/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char **self_argv;

/* ---- live objects with patterns ----------------------------------------- */

#define NKEEP 600
static struct keep {
  unsigned char *p;
  size_t size;
} keep[NKEEP];
static size_t nkeep;

static unsigned char pat(const void *p, size_t i) {
  return (unsigned char)(((uintptr_t)p >> 4) * 31 + i * 7 + 1);
}

static void fill(void *p, size_t size) {
  for (size_t i = 0; i < size; i++)
    ((unsigned char *)p)[i] = pat(p, i);
}

static int intact(const void *p, size_t size) {
  for (size_t i = 0; i < size; i++)
    if (((const unsigned char *)p)[i] != pat(p, i))
      return 0;
  return 1;
}

/* Allocates objects of every size from 8 B to 256 KiB and a few large
 * ones, filled with their patterns. */
static void make_keep(void) {
  nkeep = 0;
  for (size_t i = 0; i < NKEEP; i++) {
    size_t size = i % 50 == 49 ? (size_t)(40 + i % 7) << 12 : 8 + (i * 37) % 3000;
    unsigned char *p = hl_malloc(size);
    assert_non_null(p);
    fill(p, size);
    keep[nkeep++] = (struct keep){p, size};
  }
}

static void check_keep(void) {
  for (size_t i = 0; i < nkeep; i++)
    if (!intact(keep[i].p, keep[i].size))
      fail_msg("object %zu (%p, %zu bytes) changed after the failure", i,
               (void *)keep[i].p, keep[i].size);
}

static void free_keep(void) {
  for (size_t i = 0; i < nkeep; i++)
    hl_free(keep[i].p);
  nkeep = 0;
}

static void assert_enomem(void *p, const char *what) {
  if (p != NULL)
    fail_msg("%s succeeded (%p) although every mapping fails", what, p);
  if (errno != ENOMEM)
    fail_msg("%s: errno %d, wanted ENOMEM", what, errno);
}

/* Allocates blocks of `size` until one fails; returns how many succeeded
 * (at most max) and leaves them in out. */
static size_t exhaust(void **out, size_t max, size_t size) {
  size_t n = 0;
  for (; n < max; n++) {
    errno = 0;
    void *p = hl_malloc(size);
    if (!p) {
      if (errno != ENOMEM)
        fail_msg("malloc(%zu) failed with errno %d, wanted ENOMEM", size,
                 errno);
      return n;
    }
    fill(p, 64); /* the head only: RSS stays small */
    out[n] = p;
  }
  fail_msg("%zu allocations of %zu bytes all succeeded under the fault", max,
           size);
  return n;
}

/* ---- cases --------------------------------------------------------------- */

/* Every mapping from now on fails: large blocks run out when the arena
 * does; aligned, zeroed, realloc'ed and posix_memalign'ed requests fail
 * cleanly; nothing that was there is lost. */
static void test_failmmap_large(void **state) {
  (void)state;
  make_keep();
  os_fault_set(os_map_count() + 1, 0, 0);
  static void *big[128];
  size_t n = exhaust(big, 128, 16 << 20);
  /* 16 MiB blocks out of 64 MiB arenas: at most what is left of the
   * mapped arenas, never more than 128 */
  assert_true(n < 128);

  errno = 0;
  assert_enomem(hl_malloc(32 << 20), "malloc(32 MiB)");
  errno = 0;
  assert_enomem(hl_calloc(1 << 12, 1 << 13), "calloc(4096, 8192)");
  errno = 0;
  assert_enomem(hl_aligned_alloc(1 << 20, 20 << 20), "aligned_alloc(1 MiB)");
  void *pm = (void *)0x1;
  assert_int_equal(hl_posix_memalign(&pm, 4096, 24 << 20), ENOMEM);
  assert_ptr_equal(pm, (void *)0x1); /* *out untouched on failure */
  /* realloc that must move: NULL, and the old block is as it was */
  unsigned char *r = hl_malloc(3000);
  assert_non_null(r);
  fill(r, 3000);
  errno = 0;
  assert_enomem(hl_realloc(r, 48 << 20), "realloc(3000 -> 48 MiB)");
  assert_true(intact(r, 3000));
  assert_int_equal(hl_usable_size(r) >= 3000, 1);

  assert_int_equal(hl_heap_validate(0), 1);
  check_keep();
  for (size_t i = 0; i < n; i++)
    assert_true(intact(big[i], 64));

  /* freed blocks are reused although the OS still refuses */
  for (size_t i = 0; i < n; i++)
    hl_free(big[i]);
  if (n > 0) {
    void *again = hl_malloc(16 << 20);
    assert_non_null(again);
    hl_free(again);
  }
  /* the fault lifted: the heap grows again */
  os_fault_set(0, 0, 0);
  void *grown = hl_malloc(200 << 20);
  assert_non_null(grown);
  fill(grown, 64);
  assert_int_equal(hl_heap_validate(0), 1);
  hl_free(grown);
  hl_free(r);
  check_keep();
  free_keep();
  assert_int_equal(hl_heap_validate(0), 1);
}

/* A thread started while every mapping fails (and the metadata chunk is
 * used up, after test_failmmap_small's loop): its malloc returns NULL, and
 * its free of another thread's object works without a cache of its own. */
static void *no_cache_thread(void *arg) {
  errno = 0;
  void *p = hl_malloc(64);
  int ok = p == NULL && errno == ENOMEM;
  hl_free(arg); /* a remote free without a cache */
  return (void *)(intptr_t)ok;
}

static void check_thread_without_cache(void) {
  void *obj = hl_malloc(200);
  assert_non_null(obj);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, no_cache_thread, obj), 0);
  void *ok;
  assert_int_equal(pthread_join(t, &ok), 0);
  assert_true(ok != NULL);
  assert_int_equal(hl_heap_validate(0), 1);
}

/* Small objects of one class until the arena and then the span metadata
 * run out: every size class path (span refill, page cache chunk, span
 * structs) meets the refusal. */
static void test_failmmap_small(void **state) {
  (void)state;
  make_keep();
  os_fault_set(os_map_count() + 1, 0, 0);
  size_t max = 1u << 20, n = 0;
  void **v = hl_malloc(max * sizeof *v); /* from the heap: may fail too */
  if (v) {
    for (; n < max; n++) {
      errno = 0;
      v[n] = hl_malloc(1024 + 16 * (n % 8));
      if (!v[n])
        break;
      memset(v[n], (int)(n & 0xff), 16);
    }
    assert_true(n < max);
    assert_int_equal(errno, ENOMEM);
  } else {
    assert_int_equal(errno, ENOMEM);
  }
  /* other classes fail too, or are served from what is left */
  for (size_t sz = 8; sz <= 32768; sz *= 2) {
    errno = 0;
    void *p = hl_malloc(sz);
    if (p)
      hl_free(p);
    else
      assert_int_equal(errno, ENOMEM);
  }
  assert_int_equal(hl_heap_validate(0), 1);
  check_keep();
  for (size_t i = 0; i < n; i++)
    if (((unsigned char *)v[i])[15] != (unsigned char)(i & 0xff))
      fail_msg("small object %zu changed", i);
  check_thread_without_cache();
  os_fault_set(0, 0, 0);
  for (size_t i = 0; i < n; i++)
    hl_free(v[i]);
  hl_free(v);
  void *p = hl_malloc(1024);
  assert_non_null(p);
  hl_free(p);
  assert_int_equal(hl_heap_validate(0), 1);
  check_keep();
  free_keep();
}

/* A cap on mapped bytes: the heap stops growing at the cap, never maps
 * past it, and frees make room again. */
static void test_maplimit(void **state) {
  (void)state;
  make_keep();
  uint64_t limit = os_mapped_bytes() + (160u << 20);
  os_fault_set(0, 0, limit);
  static void *big[256];
  size_t n = exhaust(big, 256, 8 << 20);
  assert_true(os_mapped_bytes() <= limit);
  /* the cap leaves room for at least one more arena (64 MiB) beyond what
   * was mapped, and 160 MiB cannot hold more than 20 blocks on top of the
   * arenas that were already there */
  assert_true(n >= 8);
  assert_int_equal(hl_heap_validate(0), 1);
  check_keep();
  for (size_t i = 0; i < n; i++)
    assert_true(intact(big[i], 64));
  /* room again after a free, without mapping */
  hl_free(big[--n]);
  void *p = hl_malloc(8 << 20);
  assert_non_null(p);
  assert_true(os_mapped_bytes() <= limit);
  big[n++] = p;
  for (size_t i = 0; i < n; i++)
    hl_free(big[i]);
  os_fault_set(0, 0, 0);
  assert_int_equal(hl_heap_validate(0), 1);
  check_keep();
  free_keep();
}

/* A request for several arenas at once refused part-way: the cap leaves
 * room for the arenas and the metadata of one of them, not of both. The
 * heap must then map nothing for it and publish nothing (before the fix
 * the arenas were mapped first and the first arena's metadata stayed
 * mapped and in the arena index, pointing at unmapped memory, when the
 * second one's was refused). Runs first: the heap has no free run of 100
 * MiB yet, so the request must grow it. */
static void test_maplimit_grow_refused(void **state) {
  (void)state;
  make_keep();
  uint64_t before = os_mapped_bytes();
  os_fault_set(0, 0, before + (128u << 20) + sizeof(heaparena_t) * 3 / 2);
  errno = 0;
  assert_enomem(hl_malloc(100 << 20), "malloc(100 MiB) (two arenas)");
  errno = 0;
  assert_enomem(hl_aligned_alloc(1 << 22, 90 << 20),
                "aligned_alloc(4 MiB, 90 MiB)");
  /* only a chunk of span structs (kept for reuse) may have been mapped */
  uint64_t after = os_mapped_bytes();
  if (after != before && after != before + (1u << 20))
    fail_msg("%llu bytes stayed mapped after the refused requests (one "
             "arena's metadata is %zu)",
             (unsigned long long)(after - before), sizeof(heaparena_t));
  assert_int_equal(hl_heap_validate(0), 1);
  /* a request that fits under the cap still works, aligned */
  void *a = hl_aligned_alloc(1 << 20, 40 << 20);
  assert_non_null(a);
  assert_int_equal((uintptr_t)a & ((1 << 20) - 1), 0);
  fill(a, 4096);
  assert_int_equal(hl_heap_validate(0), 1);
  assert_true(intact(a, 4096));
  hl_free(a);
  os_fault_set(0, 0, 0);
  check_keep();
  free_keep();
}

/* ---- HLDEBUG forms, in a re-executed child ------------------------------ */

/* Child: with HLDEBUG=failmmap=1 not even the first allocation can map. */
static int child_failmmap_first(void) {
  errno = 0;
  void *p = hl_malloc(100);
  if (p || errno != ENOMEM) {
    fprintf(stderr, "malloc(100) = %p errno %d under failmmap=1\n", p, errno);
    return 10;
  }
  p = hl_malloc(1 << 20);
  if (p || errno != ENOMEM)
    return 11;
  return 0;
}

/* Child: HLDEBUG=maplimit=200M stops a growing heap at 200 MiB. */
static int child_maplimit_env(void) {
  size_t n = 0;
  while (n < 1000 && hl_malloc(4 << 20))
    n++;
  if (errno != ENOMEM || n == 1000) {
    fprintf(stderr, "%zu blocks, errno %d\n", n, errno);
    return 10;
  }
  if (os_mapped_bytes() > (200u << 20) || n < 20) {
    fprintf(stderr, "%zu blocks, %llu bytes mapped\n", n,
            (unsigned long long)os_mapped_bytes());
    return 11;
  }
  return hl_heap_validate(0) ? 0 : 12;
}

static int run_self(const char *arg, const char *hldebug) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("HLDEBUG", hldebug, 1);
    execl("/proc/self/exe", self_argv[0], arg, (char *)NULL);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return st;
}

static void test_env_failmmap_first(void **state) {
  (void)state;
  int st = run_self("failmmap-first", "failmmap=1");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("child status 0x%x", st);
}

static void test_env_maplimit(void **state) {
  (void)state;
  int st = run_self("maplimit-env", "maplimit=200M");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("child status 0x%x", st);
}

int main(int argc, char **argv) {
  self_argv = argv;
  if (argc > 1 && strcmp(argv[1], "failmmap-first") == 0)
    return child_failmmap_first();
  if (argc > 1 && strcmp(argv[1], "maplimit-env") == 0)
    return child_maplimit_env();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_maplimit_grow_refused),
      cmocka_unit_test(test_failmmap_large),
      cmocka_unit_test(test_failmmap_small),
      cmocka_unit_test(test_maplimit),
      cmocka_unit_test(test_env_failmmap_first),
      cmocka_unit_test(test_env_maplimit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
