/*
 * base/lock.c — slow paths of the futex mutex (base/lock.h).
 *
 * States: 0 unlocked, 1 locked, 2 locked and maybe waiters.
 *  lock:   1. CAS 0->1 (fast path, in the header).
 *          2. spin a little while the lock looks held, retrying the CAS.
 *          3. exchange in 2; if the old value was 0 we own it, else sleep
 *             on the futex while the value is 2 and repeat 3.
 *  unlock: exchange 0 (header); if the old value was 2, wake one waiter.
 */
#define HL_LOCK_C /* hl_lock_depth is the variable here (lock.h) */
#include "base/lock.h"
#include "base/os.h"

__thread uint32_t hl_lock_depth __attribute__((tls_model("initial-exec")));

#ifdef __SANITIZE_THREAD__
__attribute__((noinline)) uint32_t *hl_lock_depth_addr(void) {
  return &hl_lock_depth;
}
#endif

void hl_lock_slow(hl_lock_t *m) {
  for (int i = 0; i < 100; i++) {
    uint32_t e = 0;
    if (atomic_load_relaxed(&m->state) == 0 &&
        atomic_cas_weak_acquire(&m->state, &e, 1))
      return;
    cpu_relax();
  }
  /* acquire: pairs with the release exchange in hl_unlock. */
  while (atomic_exchange_acquire(&m->state, 2) != 0)
    futex_wait(&m->state, 2, -1);
}

void hl_unlock_slow(hl_lock_t *m) { futex_wake(&m->state, 1); }
