/*
 * base/tls.h — thread-local variables read by code that goroutines run.
 *
 * A goroutine can leave its thread in the middle of a C function (a park,
 * a yield, a safe point that gives its P back) and resume on another one.
 * Compilers assume the thread pointer is constant within a function:
 *   - on AArch64, GCC and Clang read tpidr_el0 once and may keep it in a
 *     callee-saved register across calls, so an access to a __thread
 *     variable after a switch reaches the variable of the thread the
 *     goroutine left (in sched/proc.c's switch_direct, the thread pointer
 *     read for the tracer's goid before ctx_switch served to load tls_m
 *     after it: the resumed G ran the other M's pending action and left
 *     that M's critical section — "a dead goroutine was resumed");
 *   - on x86-64 an access is %fs-relative and so always current, unless
 *     the address is taken: ThreadSanitizer's instrumentation does, and
 *     GCC then computes it from %fs:0 once per function (a goroutine that
 *     parked on the main thread read the main thread's tls_m after it
 *     resumed on another: tests/gc/test_misuse.c under TSan). HL_TLS
 *     forms the address afresh in TSan builds.
 *
 * HL_TLS(var) is the calling thread's instance of var, an lvalue. On
 * AArch64 it reads tpidr_el0 in a volatile asm at every use (never reused
 * by the compiler, never moved across the calls around it) and adds var's
 * offset from the GOT, as the compiler's initial-exec sequence does: one
 * add more than that sequence. var must be an initial-exec __thread
 * variable with external linkage (the asm names its symbol). Elsewhere
 * HL_TLS(var) is var.
 *
 * Rejected: a non-inlined accessor per variable (what the TSan build does
 * for hl_lock_depth): a call on every lock and unlock; a compiler barrier
 * (asm volatile("" ::: "memory")) after each switch: it orders memory, not
 * the thread pointer, which compilers treat as a register-like constant.
 *
 * Rule: a runtime __thread variable that code running on a goroutine may
 * touch on both sides of a possible switch within one function (tls_m,
 * hl_lock_depth) is declared together with a macro that wraps it in
 * HL_TLS (sched/internal.h, base/lock.h). scripts/tls_check_aarch64.py
 * checks an AArch64 build for thread pointers kept across calls that can
 * switch goroutines.
 */
#ifndef HL_BASE_TLS_H
#define HL_BASE_TLS_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HL_TLS_TSAN_ 1
#endif
#endif

#if defined(__aarch64__)
#define HL_TLS(var)                                                            \
  (*__extension__({                                                            \
    __typeof__(var) *hl_tls_a_;                                                \
    __typeof__(var) *hl_tls_tp_;                                               \
    __asm__ volatile("mrs %1, tpidr_el0\n\t"                                   \
                     "adrp %0, :gottprel:" #var "\n\t"                         \
                     "ldr %0, [%0, #:gottprel_lo12:" #var "]\n\t"              \
                     "add %0, %0, %1"                                          \
                     : "=&r"(hl_tls_a_), "=&r"(hl_tls_tp_));                   \
    hl_tls_a_;                                                                 \
  }))
#elif defined(__x86_64__) && (defined(__SANITIZE_THREAD__) ||                 \
                               defined(HL_TLS_TSAN_))
/* ThreadSanitizer takes the variable's address, and GCC computes it from
 * %fs:0 once per function: the same hazard as AArch64's (a goroutine
 * resumed on another thread read the first thread's tls_m). The address
 * is formed afresh at every use, as the initial-exec sequence does. */
#define HL_TLS(var)                                                            \
  (*__extension__({                                                            \
    __typeof__(var) *hl_tls_a_;                                                \
    __asm__ volatile("movq " #var "@gottpoff(%%rip), %0\n\t"                   \
                     "addq %%fs:0, %0"                                         \
                     : "=r"(hl_tls_a_));                                       \
    hl_tls_a_;                                                                 \
  }))
#else
#define HL_TLS(var) (var)
#endif

#endif
