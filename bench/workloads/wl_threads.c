/*
 * wl_threads — a correctness check of a malloc implementation, for smoke
 * tests under LD_PRELOAD (not a benchmark: its throughput means little).
 *
 * Exits 0 only if every check passed; a failed check prints what was wrong
 * and exits 1. What it exercises:
 *   - the whole family: malloc, calloc (zeroed, also on recycled memory, and
 *     overflow -> NULL/ENOMEM), realloc (grow, shrink, small <-> large,
 *     NULL), reallocarray (overflow), posix_memalign, aligned_alloc,
 *     memalign, valloc (alignment), malloc_usable_size (>= request, and the
 *     slack really usable), malloc(0), free(NULL); every pointer aligned
 *     as C23 requires for its size (16 bytes from 16 bytes up);
 *   - contents: every object is filled with a pattern derived from its tag
 *     and checked before it is reallocated or freed, so an allocator that
 *     hands out overlapping memory is caught;
 *   - cross-thread frees: threads swap objects through a shared exchange and
 *     free objects other threads allocated;
 *   - thread exit: T threads are created and joined R times; objects they
 *     leave in the exchange outlive them and are freed by later threads, so
 *     a thread's cache must be flushed correctly when it exits;
 *   - fork: in the middle of the run the main thread forks while the
 *     workers are allocating; the child checks and frees objects inherited
 *     from the parent, allocates in a new thread and exits. A child that
 *     does not finish in time (an allocator lock held across fork) fails.
 *
 * Options: -t THREADS (default 8), -s SCALE, --seed N, --rounds R (8),
 * --forks F (1), --strict (failed allocations must also set errno to
 * ENOMEM, as glibc does; gperftools and mimalloc leave it for calloc
 * overflow), --expect-preload NAME (fail unless a mapped file of this
 * process has NAME in its path: proves that LD_PRELOAD took effect).
 */
#include "wl_common.h"

#include <malloc.h>
#include <stdatomic.h>
#include <sys/wait.h>

static const char usage[] =
    "[-t THREADS] [-s SCALE] [--seed N] [--rounds R] [--forks F] "
    "[--strict] [--expect-preload NAME]";

enum { BASE_OPS = 20000, LOCAL_MAX = 256, NEXCH = 512 };

typedef struct obj {
  unsigned char *p;
  size_t n;     /* requested size */
  size_t align; /* required alignment (0: malloc's) */
  uint64_t tag;
} obj_t;

typedef struct exch_slot {
  pthread_mutex_t mu;
  obj_t o; /* protected by mu */
} exch_slot_t;

typedef struct worker {
  pthread_t tid;
  int id, round;
  wl_rng_t rng;
  obj_t local[LOCAL_MAX];
  size_t nlocal;
  uint64_t checks;
} worker_t;

static wl_opts_t opts;
static int rounds = 8, forks = 1, strict;
static uint64_t ops_per_thread;
static exch_slot_t exch[NEXCH];
static _Atomic uint64_t next_tag = 1;
static _Atomic uint64_t total_checks;

/* ---- patterns ---- */

/* Byte i of an object with this tag: byte i % 8 of the word i / 8 of a
 * stream derived from the tag. fill() writes whole words where it can. */
static inline uint64_t pat_word(uint64_t tag, size_t j) {
  return (tag ^ ((uint64_t)j * 0xbf58476d1ce4e5b9ull)) * 0x9e3779b97f4a7c15ull;
}

static inline unsigned char pat(uint64_t tag, size_t i) {
  return (unsigned char)(pat_word(tag, i >> 3) >> (8 * (i & 7)));
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t tag) {
  size_t i = from;
  for (; i < to && (i & 7); i++)
    p[i] = pat(tag, i);
  for (; i + 8 <= to; i += 8) {
    uint64_t w = pat_word(tag, i >> 3);
    memcpy(p + i, &w, 8); /* little-endian: byte k is w >> 8k */
  }
  for (; i < to; i++)
    p[i] = pat(tag, i);
}

/* Objects are checked entirely up to 16 KiB; beyond, on their first and
 * last 8 KiB and one word in every 64 bytes. */
static void check(const obj_t *o, size_t upto, const char *when) {
  size_t n = upto < o->n ? upto : o->n;
  for (size_t i = 0; i < n;) {
    if (o->p[i] != pat(o->tag, i))
      WL_FAIL("%s: object %p (%zu bytes, tag %llu) corrupt at offset %zu: "
              "0x%02x, expected 0x%02x",
              when, (void *)o->p, o->n, (unsigned long long)o->tag, i, o->p[i],
              pat(o->tag, i));
    i += (n <= 16384 || i < 8192 || i + 8192 >= n) ? 1 : 64;
  }
}

static inline uint64_t new_tag(void) {
  return atomic_fetch_add_explicit(&next_tag, 1, memory_order_relaxed);
}

static size_t rand_size(wl_rng_t *r) {
  unsigned k = (unsigned)wl_rand_range(r, 0, 99);
  if (k < 70) return wl_rand_range(r, 1, 256);
  if (k < 90) return wl_rand_range(r, 257, 8192);
  if (k < 99) return wl_rand_range(r, 8193, 65536);
  return wl_rand_range(r, 65537, 1 << 20);
}

static void check_alignment(const obj_t *o, const char *fn) {
  if (o->align && ((uintptr_t)o->p & (o->align - 1)))
    WL_FAIL("%s(%zu, %zu) returned %p: not aligned", fn, o->align, o->n,
            (void *)o->p);
}

/* What C23 (7.24.3) asks of every allocation of n bytes: alignment for
 * any type of fundamental alignment whose size is at most n. On x86-64 and
 * AArch64 such a type's size is a multiple of its alignment and the largest
 * fundamental alignment is 16 (long double, max_align_t), so the required
 * alignment is the largest power of two <= min(n, 16). glibc, jemalloc,
 * tcmalloc and mimalloc all return 16-byte alignment above 8 bytes. */
static void check_fundamental_alignment(const void *p, size_t n,
                                        const char *fn) {
  size_t need = _Alignof(max_align_t);
  while (need > 1 && need > n)
    need >>= 1;
  if ((uintptr_t)p & (need - 1))
    WL_FAIL("%s of %zu bytes returned %p: not %zu-byte aligned (a type of "
            "that alignment fits in %zu bytes)",
            fn, n, p, need, n);
}

/* Verifies and frees o. */
static void obj_free(worker_t *w, obj_t *o) {
  check(o, o->n, "before free");
  check_alignment(o, "an aligned allocation");
  free(o->p);
  o->p = NULL;
  w->checks++;
}

/* ---- one operation ---- */

static void op_alloc(worker_t *w, obj_t *o) {
  wl_rng_t *r = &w->rng;
  unsigned k = (unsigned)wl_rand_range(r, 0, 99);
  o->n = rand_size(r);
  o->align = 0;
  o->tag = new_tag();
  if (k < 55) {
    o->p = malloc(o->n);
    WL_CHECK(o->p, "malloc(%zu) returned NULL", o->n);
  } else if (k < 70) {
    size_t nmemb = wl_rand_range(r, 1, 16), sz = (o->n + nmemb - 1) / nmemb;
    o->n = nmemb * sz;
    o->p = calloc(nmemb, sz);
    WL_CHECK(o->p, "calloc(%zu, %zu) returned NULL", nmemb, sz);
    for (size_t i = 0; i < o->n; i++)
      if (o->p[i])
        WL_FAIL("calloc(%zu, %zu) = %p: byte %zu is 0x%02x, not zero", nmemb,
                sz, (void *)o->p, i, o->p[i]);
    w->checks++;
  } else if (k < 80) {
    o->align = (size_t)1 << wl_rand_range(r, 3, k < 78 ? 12 : 16);
    void *p = NULL;
    int rc = posix_memalign(&p, o->align, o->n);
    WL_CHECK(rc == 0 && p, "posix_memalign(%zu, %zu) failed: %d", o->align,
             o->n, rc);
    o->p = p;
    check_alignment(o, "posix_memalign");
  } else if (k < 88) {
    o->align = (size_t)1 << wl_rand_range(r, 3, 12);
    o->n = (o->n + o->align - 1) & ~(o->align - 1);
    o->p = aligned_alloc(o->align, o->n);
    WL_CHECK(o->p, "aligned_alloc(%zu, %zu) returned NULL", o->align, o->n);
    check_alignment(o, "aligned_alloc");
  } else if (k < 94) {
    o->align = (size_t)1 << wl_rand_range(r, 4, 13);
    o->p = memalign(o->align, o->n);
    WL_CHECK(o->p, "memalign(%zu, %zu) returned NULL", o->align, o->n);
    check_alignment(o, "memalign");
  } else if (k < 96) {
    o->align = (size_t)sysconf(_SC_PAGESIZE);
    o->p = valloc(o->n);
    WL_CHECK(o->p, "valloc(%zu) returned NULL", o->n);
    check_alignment(o, "valloc");
  } else {
    size_t nmemb = wl_rand_range(r, 1, 8), sz = (o->n + nmemb - 1) / nmemb;
    o->n = nmemb * sz;
    o->p = reallocarray(NULL, nmemb, sz);
    WL_CHECK(o->p, "reallocarray(NULL, %zu, %zu) returned NULL", nmemb, sz);
  }
  if (o->align == 0)
    check_fundamental_alignment(o->p, o->n, "malloc/calloc/reallocarray");
  fill(o->p, 0, o->n, o->tag);
}

static void op_realloc(worker_t *w, obj_t *o) {
  size_t old = o->n, n = rand_size(&w->rng);
  check(o, old, "before realloc");
  unsigned char *p = realloc(o->p, n);
  WL_CHECK(p, "realloc(%p, %zu) returned NULL", (void *)o->p, n);
  o->p = p;
  o->n = n;
  o->align = 0;
  check_fundamental_alignment(p, n, "realloc");
  check(o, old, "after realloc (prefix not preserved)");
  if (n > old) fill(p, old, n, o->tag);
  w->checks += 2;
}

static void op_usable(worker_t *w, obj_t *o) {
  size_t u = malloc_usable_size(o->p);
  if (u < o->n)
    WL_FAIL("malloc_usable_size(%p) = %zu < requested %zu", (void *)o->p, u,
            o->n);
  /* The slack is ours to write: an allocator that reports more than it
   * gave would corrupt a neighbour, which a later check catches. */
  memset(o->p + o->n, 0xee, u - o->n);
  w->checks++;
}

static void op_edge(worker_t *w) {
  void *p = malloc(0);
  free(p); /* NULL or a unique pointer, both fine */
  free(NULL);
  /* Overflowing products: volatile, so that the compiler cannot see (and
   * warn about) the constant. */
  volatile size_t huge = SIZE_MAX / 2;
  errno = 0;
  p = calloc(huge, 3);
  WL_CHECK(p == NULL && (!strict || errno == ENOMEM),
           "calloc(SIZE_MAX / 2, 3) returned %p (errno %d), expected NULL%s", p,
           errno, strict ? " with errno ENOMEM" : "");
  errno = 0;
  p = reallocarray(NULL, huge, 8);
  WL_CHECK(p == NULL && (!strict || errno == ENOMEM),
           "reallocarray(NULL, SIZE_MAX / 2, 8) returned %p (errno %d), "
           "expected NULL%s",
           p, errno, strict ? " with errno ENOMEM" : "");
  p = realloc(NULL, 24);
  WL_CHECK(p, "realloc(NULL, 24) returned NULL");
  free(p);
  WL_CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) != 0");
  /* calloc must zero recycled memory: dirty a block, free it, calloc the
   * same size (likely the same block) and check. */
  size_t n = wl_rand_range(&w->rng, 1, 4096);
  unsigned char *d = malloc(n);
  WL_CHECK(d, "malloc(%zu) returned NULL", n);
  memset(d, 0xa5, n);
  free(d);
  unsigned char *z = calloc(1, n);
  WL_CHECK(z, "calloc(1, %zu) returned NULL", n);
  for (size_t i = 0; i < n; i++)
    WL_CHECK(z[i] == 0, "calloc(1, %zu) = %p: recycled byte %zu not zeroed", n,
             (void *)z, i);
  free(z);
  w->checks += 6;
}

/* Puts o into a random exchange slot and takes what was there (maybe
 * nothing), as the caller's new o. */
static void op_exchange(worker_t *w, obj_t *o) {
  exch_slot_t *s = &exch[wl_rand_range(&w->rng, 0, NEXCH - 1)];
  pthread_mutex_lock(&s->mu);
  obj_t theirs = s->o;
  s->o = *o;
  pthread_mutex_unlock(&s->mu);
  *o = theirs;
}

static void local_remove(worker_t *w, size_t i) {
  w->local[i] = w->local[--w->nlocal];
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  w->rng = wl_rng_init(opts.seed, (uint64_t)w->round * 1000 + (uint64_t)w->id);
  for (uint64_t it = 0; it < ops_per_thread; it++) {
    unsigned k = (unsigned)wl_rand_range(&w->rng, 0, 99);
    if (w->nlocal == LOCAL_MAX) {
      size_t i = wl_rand_range(&w->rng, 0, w->nlocal - 1);
      obj_free(w, &w->local[i]);
      local_remove(w, i);
    }
    size_t i = w->nlocal ? wl_rand_range(&w->rng, 0, w->nlocal - 1) : 0;
    if (k < 40 || w->nlocal == 0) {
      op_alloc(w, &w->local[w->nlocal++]);
    } else if (k < 55) {
      op_realloc(w, &w->local[i]);
    } else if (k < 60) {
      op_usable(w, &w->local[i]);
    } else if (k < 80) {
      obj_free(w, &w->local[i]);
      local_remove(w, i);
    } else if (k < 98) {
      op_exchange(w, &w->local[i]);
      if (!w->local[i].p)
        local_remove(w, i);
      else
        check(&w->local[i], w->local[i].n, "after exchange");
    } else {
      op_edge(w);
    }
  }
  /* Leave about half of the survivors in the exchange: they outlive this
   * thread and are freed by another one. Free the rest. */
  while (w->nlocal) {
    obj_t *o = &w->local[w->nlocal - 1];
    if (wl_rand_range(&w->rng, 0, 1)) op_exchange(w, o);
    if (o->p) obj_free(w, o);
    w->nlocal--;
  }
  atomic_fetch_add(&total_checks, w->checks);
  return NULL;
}

/* ---- fork ---- */

static void *child_thread(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < 2000; i++) {
    obj_t o;
    op_alloc(w, &o);
    obj_free(w, &o);
  }
  return NULL;
}

/* In the child: check and free the parent's objects, allocate in this and a
 * new thread. Returns the exit status. */
static int child_main(obj_t *mine, size_t n) {
  for (size_t i = 0; i < n; i++) {
    check(&mine[i], mine[i].n, "in the fork child (inherited object)");
    free(mine[i].p);
  }
  static worker_t cw;
  cw.rng = wl_rng_init(opts.seed, 424242);
  for (int i = 0; i < 2000; i++) {
    obj_t o;
    op_alloc(&cw, &o);
    obj_free(&cw, &o);
  }
  pthread_t t;
  wl_thread_create(&t, child_thread, &cw);
  wl_thread_join(t);
  return 0;
}

static void do_fork(wl_rng_t *r) {
  enum { NMINE = 64 };
  obj_t mine[NMINE];
  worker_t tmp = {.rng = *r};
  for (int i = 0; i < NMINE; i++)
    op_alloc(&tmp, &mine[i]);
  *r = tmp.rng;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  WL_CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) _exit(child_main(mine, NMINE));
  double deadline = wl_now() + 60;
  int status;
  for (;;) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    WL_CHECK(got >= 0, "waitpid: %s", strerror(errno));
    if (got == pid) break;
    if (wl_now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      WL_FAIL("fork child did not finish in 60 s (allocator lock held "
              "across fork?)");
    }
    wl_sleep_ms(5);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    WL_FAIL("fork child failed: %s %d",
            WIFEXITED(status) ? "exit status" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  for (int i = 0; i < NMINE; i++)
    obj_free(&tmp, &mine[i]);
  atomic_fetch_add(&total_checks, tmp.checks + 1);
}

static void expect_preload(const char *name) {
  FILE *f = fopen("/proc/self/maps", "r");
  WL_CHECK(f, "/proc/self/maps: %s", strerror(errno));
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = strstr(line, name) != NULL;
  fclose(f);
  WL_CHECK(found,
           "no mapping of \"%s\" in /proc/self/maps: LD_PRELOAD did "
           "not take effect",
           name);
}

int main(int argc, char **argv) {
  const char *preload_name = NULL;
  wl_opts_defaults(&opts);
  opts.threads = 8;
  for (int i = 1; i < argc; i++) {
    if (wl_common_arg(&opts, usage, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--rounds"))
      rounds = (int)wl_opt_u64(usage, argc, argv, &i, 1, 100000);
    else if (!strcmp(argv[i], "--forks"))
      forks = (int)wl_opt_u64(usage, argc, argv, &i, 0, 1000);
    else if (!strcmp(argv[i], "--strict"))
      strict = 1;
    else if (!strcmp(argv[i], "--expect-preload"))
      preload_name = wl_arg_value(usage, argc, argv, &i);
    else
      wl_usage_error(argv[0], usage, "unknown option", argv[i]);
  }
  if (preload_name) expect_preload(preload_name);
  ops_per_thread = wl_scaled(BASE_OPS, opts.scale, 100);
  for (int i = 0; i < NEXCH; i++)
    pthread_mutex_init(&exch[i].mu, NULL);

  int t = opts.threads;
  worker_t *ws = calloc((size_t)t, sizeof *ws);
  WL_CHECK(ws, "out of memory");
  wl_rng_t mrng = wl_rng_init(opts.seed, 999999);
  int forks_done = 0;
  double t0 = wl_now();
  for (int rd = 0; rd < rounds; rd++) {
    for (int i = 0; i < t; i++) {
      memset(&ws[i], 0, sizeof ws[i]);
      ws[i].id = i;
      ws[i].round = rd;
      wl_thread_create(&ws[i].tid, worker_main, &ws[i]);
    }
    /* Fork while the workers run: fork k in round rounds/2 + k, the ones
     * that do not fit in the last round. */
    while (forks_done < forks &&
           (rd >= rounds / 2 + forks_done || rd == rounds - 1)) {
      wl_sleep_ms(2);
      do_fork(&mrng);
      forks_done++;
    }
    for (int i = 0; i < t; i++)
      wl_thread_join(ws[i].tid);
  }
  double t1 = wl_now();
  /* Drain the exchange: objects left by threads that have exited. */
  worker_t drain = {0};
  size_t left = 0;
  for (int i = 0; i < NEXCH; i++) {
    if (exch[i].o.p) {
      obj_free(&drain, &exch[i].o);
      left++;
    }
    pthread_mutex_destroy(&exch[i].mu);
  }
  atomic_fetch_add(&total_checks, drain.checks);
  free(ws);

  wl_result_begin("wl_threads", &opts);
  printf(" rounds=%d forks=%d drained=%zu checks=%llu ok=1", rounds, forks_done,
         left, (unsigned long long)atomic_load(&total_checks));
  wl_result_end((uint64_t)rounds * (uint64_t)t * ops_per_thread, t1 - t0);
  return 0;
}
