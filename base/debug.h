/*
 * base/debug.h — assertion levels and branch hints.
 *
 * HL_DEBUG (a compile definition, 0..3) selects what runs:
 *   HL_ASSERT           level >= 1: cheap checks on public paths
 *   HL_ASSERT_INTERNAL  level >= 2: internal invariants on hot paths
 *   HL_ASSERT_EXPENSIVE level >= 3: whole-structure validity walkers
 * Misuse detection (bad free, double free) is not an assertion: it is on at
 * every level.
 */
#ifndef HL_BASE_DEBUG_H
#define HL_BASE_DEBUG_H

#include "base/throw.h"

#ifndef HL_DEBUG
#define HL_DEBUG 0
#endif

#define hl_likely(x) __builtin_expect(!!(x), 1)
#define hl_unlikely(x) __builtin_expect(!!(x), 0)

#define HL_STR_(x) #x
#define HL_STR(x) HL_STR_(x)
#define HL_CHECK_(c)                                                           \
  do {                                                                         \
    if (hl_unlikely(!(c)))                                                     \
      hl_throw("assertion failed: " #c " at " __FILE__ ":" HL_STR(__LINE__));  \
  } while (0)

#if HL_DEBUG >= 1
#define HL_ASSERT(c) HL_CHECK_(c)
#else
#define HL_ASSERT(c) ((void)0)
#endif
#if HL_DEBUG >= 2
#define HL_ASSERT_INTERNAL(c) HL_CHECK_(c)
#else
#define HL_ASSERT_INTERNAL(c) ((void)0)
#endif
#if HL_DEBUG >= 3
#define HL_ASSERT_EXPENSIVE(c) HL_CHECK_(c)
#else
#define HL_ASSERT_EXPENSIVE(c) ((void)0)
#endif

#define HL_NOINLINE __attribute__((noinline))
#define HL_INLINE static inline __attribute__((always_inline))
#define HL_COLD __attribute__((cold, noinline))
#define HL_HIDDEN __attribute__((visibility("hidden")))

#endif
