/*
 * base/lock.h — a futex mutex and a spin lock.
 *
 * hl_lock_t is the runtime's internal lock (Go's runtime.mutex; goroutines
 * use the scheduler's hl_mutex_t): Drepper's three-state futex mutex (0
 * unlocked, 1 locked, 2 locked with waiters) with a short spin before
 * sleeping. It never allocates and may be statically initialised with
 * HL_LOCK_INIT (zero).
 * Lock order across the runtime is written in docs/design/locking.md.
 */
#ifndef HL_BASE_LOCK_H
#define HL_BASE_LOCK_H

#include "base/atomic.h"
#include "base/debug.h"
#include "base/tls.h"

/* Runtime locks held by the calling thread (all kinds below). The
 * scheduler never preempts or parks a goroutine cooperatively while this is
 * non-zero (Go's lock() counts in m.locks the same way). */
extern __thread uint32_t hl_lock_depth
    __attribute__((tls_model("initial-exec")));
#if defined(__SANITIZE_THREAD__) && !defined(HL_LOCK_C)
/* ThreadSanitizer's instrumentation computes a TLS variable's address
 * once per function (from the thread pointer at entry) and reports the
 * access there, while the access itself is %fs-relative. A goroutine that
 * parks in the middle of the function and resumes on another thread then
 * shows as touching the first thread's TLS: a false race. Through a call,
 * the address is taken on the thread that runs the access. */
uint32_t *hl_lock_depth_addr(void);
#define hl_lock_depth (*hl_lock_depth_addr())
#elif !defined(HL_LOCK_C)
/* A goroutine may take a lock before a switch and release it after (or
 * test the depth on both sides): always the current thread's counter,
 * never one found through a thread pointer the compiler kept across the
 * switch (base/tls.h). */
#define hl_lock_depth HL_TLS(hl_lock_depth)
#endif

typedef struct hl_lock {
  _Atomic uint32_t state;
} hl_lock_t;
#define HL_LOCK_INIT {0}

void hl_lock_slow(hl_lock_t *m);
void hl_unlock_slow(hl_lock_t *m);

static inline void hl_lock(hl_lock_t *m) {
  uint32_t expected = 0;
  hl_lock_depth++;
  /* the preemption signal reads hl_lock_depth on this thread: counted
   * before the lock can be held */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  /* acquire: pairs with the release in hl_unlock. */
  if (hl_likely(atomic_cas_weak_acquire(&m->state, &expected, 1)))
    return;
  hl_lock_slow(m);
}

static inline bool hl_trylock(hl_lock_t *m) {
  uint32_t expected = 0;
  hl_lock_depth++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  bool ok = atomic_cas_strong_acq_rel(&m->state, &expected, 1);
  hl_lock_depth -= !ok;
  return ok;
}

static inline void hl_unlock(hl_lock_t *m) {
  /* release: pairs with the acquire in hl_lock. */
  uint32_t old = atomic_exchange_release(&m->state, 0);
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* uncounted once released */
  hl_lock_depth--;
  if (hl_unlikely(old == 2))
    hl_unlock_slow(m);
}

/* True when some thread holds m (for assertions: "caller holds m"). */
static inline bool hl_lock_held(hl_lock_t *m) {
  return atomic_load_relaxed(&m->state) != 0;
}

typedef struct hl_spinlock {
  _Atomic uint32_t locked;
} hl_spinlock_t;

static inline void hl_spin_lock(hl_spinlock_t *l) {
  hl_lock_depth++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  for (;;) {
    uint32_t e = 0;
    /* acquire: pairs with the release in hl_spin_unlock. */
    if (atomic_cas_weak_acquire(&l->locked, &e, 1))
      return;
    while (atomic_load_relaxed(&l->locked))
      cpu_relax();
  }
}
static inline void hl_spin_unlock(hl_spinlock_t *l) {
  atomic_store_release(&l->locked, 0);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  hl_lock_depth--;
}

#endif
