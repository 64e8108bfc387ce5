/*
 * sched/ctx.c — preparing and switching goroutine contexts.
 *
 * Entry points: ctx_make, ctx_switch, ctx_g_created, ctx_g_destroyed.
 * ctx_switch is defined here only in sanitizer and ucontext builds; in
 * the others it is the assembly switch called in place (inline in
 * sched/internal.h).
 *
 * The switch itself is a few instructions of assembly per architecture
 * (ctx_x86_64.S, ctx_aarch64.S). With -DHL_CTX_UCONTEXT=ON the build uses
 * ucontext's swapcontext instead: portable, and about 50x slower because
 * it saves and restores the signal mask with a system call.
 *
 * Sanitizers: AddressSanitizer must be told about every stack switch
 * (__sanitizer_start/finish_switch_fiber) or it reports false stack
 * overflows; ThreadSanitizer needs one fiber per goroutine
 * (__tsan_create_fiber/__tsan_switch_to_fiber) to keep its shadow state
 * per stack.
 */
#include "sched/internal.h"

#include <string.h>

/* defined in ctx_<arch>.S */
void hl_ctx_start(void);
static inline void *hl_ctx_start_addr(void) { return (void *)hl_ctx_start; }

#ifdef HL_ASAN /* sched/internal.h */
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
                                     const void **bottom_old,
                                     size_t *size_old);
#endif
#ifdef HL_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#ifdef HL_CTX_UCONTEXT
#include <ucontext.h>
/* ucontext fallback: the G's saved "sp" points at its ucontext_t, kept at
 * the top of its stack. */
static void uctx_entry(unsigned hi, unsigned lo, unsigned fhi, unsigned flo,
                       unsigned ahi, unsigned alo) {
  (void)hi;
  (void)lo;
  void (*entry)(void *) =
      (void (*)(void *))(((uintptr_t)fhi << 32) | (uintptr_t)flo);
  void *arg = (void *)(((uintptr_t)ahi << 32) | (uintptr_t)alo);
  entry(arg);
  hl_throw("goroutine entry returned");
}

void ctx_make(g_t *gp, void (*entry)(void *), void *arg) {
  uintptr_t top = gp->stack.hi - sizeof(ucontext_t);
  top &= ~(uintptr_t)63;
  ucontext_t *uc = (ucontext_t *)top;
  memset(uc, 0, sizeof *uc);
  getcontext(uc);
  uc->uc_stack.ss_sp = (void *)gp->stack.lo;
  uc->uc_stack.ss_size = top - gp->stack.lo - 64;
  uc->uc_link = NULL;
  uintptr_t f = (uintptr_t)entry, a = (uintptr_t)arg;
  makecontext(uc, (void (*)(void))uctx_entry, 6, 0u, 0u, (unsigned)(f >> 32),
              (unsigned)f, (unsigned)(a >> 32), (unsigned)a);
  gp->sp = uc;
}

static void raw_switch(g_t *from, g_t *to) {
  ucontext_t here;
  ucontext_t *target = to->sp;
  from->sp = &here;
  swapcontext(&here, target);
}
#else
void ctx_make(g_t *gp, void (*entry)(void *), void *arg) {
  uintptr_t *sp = (uintptr_t *)(gp->stack.hi & ~(uintptr_t)15);
#if defined(__x86_64__)
  /* After hl_ctx_switch pops the frame and returns into hl_ctx_start,
   * rsp must be 16-byte aligned for its call: the return address sits at
   * an address == 8 (mod 16), just below the 16-aligned top. */
  *--sp = (uintptr_t)hl_ctx_start_addr(); /* return address */
  *--sp = 0;                          /* rbp */
  *--sp = 0;                          /* rbx */
  *--sp = (uintptr_t)entry;           /* r12 */
  *--sp = (uintptr_t)arg;             /* r13 */
  *--sp = 0;                          /* r14 */
  *--sp = 0;                          /* r15 */
  /* MXCSR default 0x1f80 (all exceptions masked, round to nearest) and
   * the x87 control word default 0x037f. */
  *--sp = (uintptr_t)0x1f80 | ((uintptr_t)0x037f << 32);
#elif defined(__aarch64__)
  sp -= 22; /* 176 bytes, 16-aligned */
  memset(sp, 0, 176);
  sp[0] = (uintptr_t)entry;              /* x19 */
  sp[1] = (uintptr_t)arg;                /* x20 */
  sp[11] = (uintptr_t)hl_ctx_start_addr(); /* x30 */
#else
#error "no context switch for this architecture: build with HL_CTX_UCONTEXT"
#endif
  gp->sp = sp;
}

static inline void raw_switch(g_t *from, g_t *to) {
  hl_ctx_switch(&from->sp, to->sp);
}
#endif

void ctx_g_created(g_t *gp) {
#ifdef HL_TSAN
  gp->tsan_fiber = __tsan_create_fiber(0);
#else
  (void)gp;
#endif
}

void ctx_g_destroyed(g_t *gp) {
#ifdef HL_TSAN
  if (gp->tsan_fiber)
    __tsan_destroy_fiber(gp->tsan_fiber);
  gp->tsan_fiber = NULL;
#else
  (void)gp;
#endif
}

void ctx_first_entry(void) {
#ifdef HL_ASAN
  /* the switch into a new G ends here, not in ctx_switch */
  __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

#ifdef HL_CTX_SWITCH_OUTOFLINE /* else inline in sched/internal.h */
void ctx_switch(g_t *from, g_t *to) {
#ifdef HL_TSAN
  if (!to->tsan_fiber) /* g0 of an M: its thread's own fiber */
    to->tsan_fiber = __tsan_get_current_fiber();
  if (!from->tsan_fiber)
    from->tsan_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#ifdef HL_ASAN
  __sanitizer_start_switch_fiber(
      from->status == G_DEAD ? NULL : &from->asan_fake_stack,
      (const void *)to->stack.lo, to->stack.hi - to->stack.lo);
#endif
  raw_switch(from, to);
#ifdef HL_ASAN
  __sanitizer_finish_switch_fiber(from->asan_fake_stack, NULL, NULL);
#endif
}
#endif
