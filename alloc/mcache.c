/*
 * alloc/mcache.c — per-thread caches: attaching one to a thread, the small
 * allocation slow path, and flushing at thread exit or fork.
 *
 * Entry points: mcache_attach, mcache_refill, mcache_release_span,
 * mcache_flush, the fork handlers.
 *
 * Slow path of a small allocation of class sc (mcache_refill):
 *  1. The current span's free list is empty: collect its remote frees.
 *  2. Still empty: park it at the back of spans[sc] and examine up to
 *     MCACHE_SCAN_LIMIT spans from the front (the oldest, which had the
 *     longest to receive frees), collecting each; the first with a free
 *     object becomes current; the others rotate to the back (a clock).
 *  3. Adopt spans from mcentral[sc] (left by exited threads).
 *  4. Make a new span from the page cache.
 * Rejected: Go's single span per class handed back to mcentral when full —
 * every free into a full span would then be an atomic push, and in the
 * common one-thread pattern (free a random old object, allocate a new one)
 * nearly all frees hit such spans.
 *
 * Thread exit: a pthread key destructor flushes the cache: spans with live
 * objects go to their mcentral, empty ones and the page cache to the heap;
 * the mcache struct returns to a pool for the next thread.
 */
#include "alloc/internal.h"
#include "base/env.h"
#include "base/os.h"

#include <pthread.h>
#include <string.h>

HL_HIDDEN mspan_t empty_span;
HL_HIDDEN mcache_t empty_mcache = {
    .alloc = {[0 ... NUM_SIZE_CLASSES - 1] = &empty_span}};
HL_HIDDEN __thread mcache_t *tls_mcache
    __attribute__((tls_model("initial-exec"))) = &empty_mcache;

static hl_lock_t registry_lock;
static mcache_t *registry;
static pthread_key_t exit_key;
/* 0: nothing set up; 1: a thread is initialising; 2: ready.
 * acquire/release: pairs the readiness flag with exit_key and the heap. */
static _Atomic int init_state;

static void mcache_thread_exit(void *arg);

/* The first thread's cache is static: the first malloc of a process needs
 * no mapping for it, so that it can fail with ENOMEM (and the one-time
 * set-up in mcache_attach completes) when the OS refuses all memory. */
static mcache_t mcache0;

/* A new cache, or NULL (errno ENOMEM) when the OS refuses the memory. */
static mcache_t *mcache_new(void) {
  mcache_t *c = registry ? meta_alloc(sizeof(mcache_t)) : &mcache0;
  if (!c)
    return NULL;
  for (int i = 0; i < NUM_SIZE_CLASSES; i++) {
    c->alloc[i] = &empty_span;
    hl_list_init(&c->spans[i]);
  }
  return c;
}

/* A pooled mcache not in use, or a new one; marked in use. */
static mcache_t *registry_take(void) {
  hl_lock(&registry_lock);
  mcache_t *c;
  for (c = registry; c; c = c->next)
    if (!c->in_use)
      break;
  if (!c) {
    c = mcache_new();
    if (!c) {
      hl_unlock(&registry_lock);
      return NULL;
    }
    c->next = registry;
    registry = c;
  }
  c->in_use = 1;
  hl_unlock(&registry_lock);
  return c;
}

mcache_t *mcache_attach(void) {
  mcache_t *c = tls_mcache;
  if (c != &empty_mcache)
    return c;
  int first = 0;
  int st = atomic_load_acquire(&init_state);
  if (st != 2) {
    int expected = 0;
    if (atomic_cas_strong_acq_rel(&init_state, &expected, 1)) {
      hl_env_init();
      heap_init();
      first = 1;
    } else {
      while (atomic_load_acquire(&init_state) != 2)
        cpu_relax();
    }
  }
  c = registry_take();
  if (!c) /* never the first thread: mcache0 is static */
    return NULL;
  tls_mcache = c;
  if (first) {
    /* These may call malloc: tls_mcache is already set, so they do not
     * recurse into this function. */
    if (pthread_key_create(&exit_key, mcache_thread_exit) != 0)
      hl_throw("pthread_key_create failed");
    pthread_atfork(mcache_fork_prepare, mcache_fork_parent,
                   mcache_fork_child);
    /* release: pairs with the acquire loads above (exit_key is set). */
    atomic_store_release(&init_state, 2);
  }
  pthread_setspecific(exit_key, c);
  return c;
}

mcache_t *mcache_create(void) {
  if (tls_mcache == &empty_mcache)
    mcache_attach(); /* makes sure the allocator is set up */
  mcache_t *c = registry_take();
  if (!c)
    hl_throw("out of memory for a processor's allocation cache");
  return c;
}

void mcache_destroy(mcache_t *c) {
  mcache_flush(c);
  hl_lock(&registry_lock);
  c->in_use = 0;
  hl_unlock(&registry_lock);
}

/* Takes a span struct from the per-mcache cache, refilling it under the
 * heap lock. */
static mspan_t *spancache_get(mcache_t *c) {
  if (c->nspancache == 0) {
    hl_lock(&mheap.lock);
    while (c->nspancache < SPANCACHE_SIZE / 2) {
      mspan_t *s = spanstruct_alloc();
      if (!s)
        break;
      c->spancache[c->nspancache++] = s;
    }
    hl_unlock(&mheap.lock);
    if (c->nspancache == 0)
      return NULL;
  }
  mspan_t *s = c->spancache[--c->nspancache];
  memset(s, 0, sizeof *s);
  return s;
}

static mspan_t *mcache_new_span(mcache_t *c, int sc) {
  mspan_t *s = spancache_get(c);
  if (!s)
    return NULL;
  int needzero = 1;
  size_t npages = manual_span_pages(sc);
  uintptr_t base = pagecache_alloc(c, npages, &needzero);
  if (!base) {
    c->spancache[c->nspancache++] = s;
    return NULL;
  }
  s->base = base;
  s->npages = (uint32_t)npages;
  __atomic_store_n(&s->state, MSPAN_SMALL, __ATOMIC_RELAXED);
  atomic_store_relaxed(&s->owner, c);
  span_init_small(s, sc, needzero);
  pagemap_set(base, npages, s);
  return s;
}

void *span_pop(mcache_t *c, mspan_t *s, int sc) {
  void **p = s->freelist;
  if (hl_unlikely((uintptr_t)p[1] != hl_free_key))
    free_list_corrupt(s, p);
  s->freelist = p[0];
  p[1] = NULL;
  s->used++;
  counter_add(&c->nmalloc[sc], 1);
  return p;
}

void *mcache_refill(mcache_t *c, int sc) {
  mspan_t *s = c->alloc[sc];
  if (s != &empty_span) {
    if (span_refresh(s))
      return span_pop(c, s, sc);
    hl_list_push_back(&c->spans[sc], &s->link);
    c->alloc[sc] = &empty_span;
  }
  for (int i = 0; i < MCACHE_SCAN_LIMIT; i++) {
    hl_list_t *e = hl_list_first(&c->spans[sc]);
    if (!e)
      break;
    s = hl_container_of(e, mspan_t, link);
    hl_list_remove(e);
    if (span_refresh(s))
      goto have;
    hl_list_push_back(&c->spans[sc], e);
  }
  while ((s = mcentral_adopt(sc, c)) != NULL) {
    c->nspans[sc]++;
    if (span_refresh(s))
      goto have;
    hl_list_push_back(&c->spans[sc], &s->link);
  }
  s = mcache_new_span(c, sc);
  if (!s)
    return NULL;
  c->nspans[sc]++;
  span_refresh(s);
have:
  c->alloc[sc] = s;
  return span_pop(c, s, sc);
}

void mcache_release_span(mcache_t *c, mspan_t *s) {
  HL_ASSERT_INTERNAL(s->used == 0 && c->alloc[s->sizeclass] != s);
  /* used reached 0: make sure no double free faked it before the pages
   * (and any live object) go back to the heap */
  span_check_free_list(s);
  if (s->link.next)
    hl_list_remove(&s->link);
  c->nspans[s->sizeclass]--;
  span_free_small(s);
  scavenger_kick();
}

static void span_give_up(mspan_t *s) {
  span_collect(s);
  if (s->used == 0)
    span_free_small(s);
  else
    mcentral_put(s);
}

void mcache_flush(mcache_t *c) {
  if (c == &empty_mcache)
    return;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    mspan_t *s = c->alloc[sc];
    c->alloc[sc] = &empty_span;
    if (s != &empty_span)
      span_give_up(s);
    hl_list_t *e;
    while ((e = hl_list_first(&c->spans[sc])) != NULL) {
      hl_list_remove(e);
      span_give_up(hl_container_of(e, mspan_t, link));
    }
    c->nspans[sc] = 0;
  }
  hl_lock(&mheap.lock);
  pagecache_flush(c);
  while (c->nspancache > 0)
    spanstruct_free(c->spancache[--c->nspancache]);
  hl_unlock(&mheap.lock);
  scavenger_kick();
}

static void mcache_thread_exit(void *arg) {
  mcache_t *c = arg;
  mcache_flush(c);
  tls_mcache = &empty_mcache;
  hl_lock(&registry_lock);
  c->in_use = 0;
  hl_unlock(&registry_lock);
}

void mcache_foreach(void (*fn)(mcache_t *, void *), void *arg) {
  hl_lock(&registry_lock);
  for (mcache_t *c = registry; c; c = c->next)
    fn(c, arg);
  hl_unlock(&registry_lock);
}

/* ---- fork: hold every lock across fork so the child sees no lock held
 * by a thread that does not exist there. Order: docs/design/locking.md. */

extern hl_lock_t sbrk_lock;

void mcache_fork_prepare(void) {
  hl_lock(&registry_lock);
  for (int i = 0; i < NUM_SIZE_CLASSES; i++)
    hl_lock(&mcentral[i].lock);
  hl_lock(&sbrk_lock);
  hl_lock(&mheap.lock);
}

void mcache_fork_parent(void) {
  hl_unlock(&mheap.lock);
  hl_unlock(&sbrk_lock);
  for (int i = NUM_SIZE_CLASSES; i-- > 0;)
    hl_unlock(&mcentral[i].lock);
  hl_unlock(&registry_lock);
}

void mcache_fork_child(void) {
  /* Only this thread exists now. The caches of the other threads keep
   * their spans and go back to the pool whole: a thread started in the
   * child takes one over, spans and all. */
  for (mcache_t *c = registry; c; c = c->next)
    if (c != tls_mcache)
      c->in_use = 0;
  atomic_store_relaxed(&mheap.lock.state, 0);
  atomic_store_relaxed(&sbrk_lock.state, 0);
  for (int i = 0; i < NUM_SIZE_CLASSES; i++)
    atomic_store_relaxed(&mcentral[i].lock.state, 0);
  atomic_store_relaxed(&registry_lock.state, 0);
  scavenger_fork_child();
}
