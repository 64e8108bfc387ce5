/*
 * base/atomic.h — atomics named by memory order.
 *
 * Every atomic field in heaplab is `_Atomic` and touched only through these
 * wrappers, so the order of each access is visible at the call site and
 * never passed as an argument. Conventions (STYLE.md):
 *   - every acquire names its release partner in a comment, and vice versa;
 *   - every seq_cst says which StoreLoad ordering it needs.
 */
#ifndef HL_BASE_ATOMIC_H
#define HL_BASE_ATOMIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define atomic_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define atomic_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define atomic_load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)

#define atomic_store_relaxed(p, v)                                             \
  atomic_store_explicit((p), (v), memory_order_relaxed)
#define atomic_store_release(p, v)                                             \
  atomic_store_explicit((p), (v), memory_order_release)
#define atomic_store_seq_cst(p, v)                                             \
  atomic_store_explicit((p), (v), memory_order_seq_cst)

#define atomic_exchange_relaxed(p, v)                                          \
  atomic_exchange_explicit((p), (v), memory_order_relaxed)
#define atomic_exchange_acquire(p, v)                                          \
  atomic_exchange_explicit((p), (v), memory_order_acquire)
#define atomic_exchange_release(p, v)                                          \
  atomic_exchange_explicit((p), (v), memory_order_release)
#define atomic_exchange_acq_rel(p, v)                                          \
  atomic_exchange_explicit((p), (v), memory_order_acq_rel)

/* CAS: on failure *expected receives the current value (acquire for the
 * acq_rel/acquire forms, relaxed for the relaxed and release forms). */
#define atomic_cas_weak_relaxed(p, e, d)                                       \
  atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_relaxed,   \
                                        memory_order_relaxed)
#define atomic_cas_weak_release(p, e, d)                                       \
  atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_release,   \
                                        memory_order_relaxed)
#define atomic_cas_weak_acquire(p, e, d)                                       \
  atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_acquire,   \
                                        memory_order_acquire)
#define atomic_cas_weak_acq_rel(p, e, d)                                       \
  atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_acq_rel,   \
                                        memory_order_acquire)
#define atomic_cas_strong_acq_rel(p, e, d)                                     \
  atomic_compare_exchange_strong_explicit((p), (e), (d), memory_order_acq_rel, \
                                          memory_order_acquire)
#define atomic_cas_strong_relaxed(p, e, d)                                     \
  atomic_compare_exchange_strong_explicit((p), (e), (d), memory_order_relaxed, \
                                          memory_order_relaxed)

#define atomic_add_relaxed(p, v)                                               \
  atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define atomic_add_acq_rel(p, v)                                               \
  atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define atomic_sub_relaxed(p, v)                                               \
  atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define atomic_sub_acq_rel(p, v)                                               \
  atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define atomic_or_relaxed(p, v)                                                \
  atomic_fetch_or_explicit((p), (v), memory_order_relaxed)
#define atomic_and_relaxed(p, v)                                               \
  atomic_fetch_and_explicit((p), (v), memory_order_relaxed)

/* Owner-only statistics counters (plain uint64_t) read by other threads.
 * The owner increments with a plain add: one instruction on a hot path.
 * Readers use a relaxed atomic load; an aligned 64-bit store is single-copy
 * atomic on every target heaplab runs on, so a reader sees an old or a new
 * value, never a torn one. Under ThreadSanitizer the owner uses a relaxed
 * atomic load and store instead, so the tool sees no race. */
#if defined(__SANITIZE_THREAD__)
#define HL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HL_TSAN 1
#endif
#endif
#ifdef HL_TSAN
#define counter_add(p, v)                                                      \
  __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (v),          \
                   __ATOMIC_RELAXED)
#else
#define counter_add(p, v) (*(p) += (v))
#endif
#define counter_read(p) __atomic_load_n((p), __ATOMIC_RELAXED)

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer does not model fences (GCC rejects them under -Werror):
 * a seq_cst read-modify-write of one shared word orders the same
 * StoreLoad pairs and is understood by the race detector. */
static _Atomic unsigned hl_tsan_fence_word __attribute__((unused));
#define atomic_fence_seq_cst()                                                 \
  ((void)atomic_fetch_add_explicit(&hl_tsan_fence_word, 0,                     \
                                   memory_order_seq_cst))
#else
#define atomic_fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
