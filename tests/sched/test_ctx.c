/*
 * tests/sched/test_ctx.c — the context switch (sched/ctx_<arch>.S) keeps
 * what the ABI says a call keeps: the callee-saved general registers
 * (x86-64: rbx, r12-r15; AArch64: x19-x28), AArch64's callee-saved FP
 * registers d8-d15, and the FP control state (x86-64: MXCSR and the x87
 * control word; AArch64: FPCR), per goroutine.
 *
 * Two goroutines on one P yield to each other (each yield is a direct
 * switch to the other). Each loads its own values into the registers,
 * yields, and checks they survived while the other ran with different
 * ones; each runs with its own rounding mode. A new goroutine starts with
 * the default FP environment, whatever its creator's.
 */
#include "harness.h"

#include "sched/internal.h"

#include <fenv.h>
#include <stdatomic.h>

#define ROUNDS 2000

/* regs_check_yield(s) loads values derived from s into every
 * callee-saved register, calls hl_yield and returns how many of them
 * changed; regs_check_switch(s, save, load) does the same around
 * hl_ctx_switch(save, load) itself. In assembly: compiled C could keep a
 * copy of a value on its stack across the call and never look at the
 * register again. Through hl_yield, a register that a C frame between
 * here and the switch saves and restores is not really tested; the
 * direct switch tests them all. */
uint64_t regs_check_yield(uint64_t s);
uint64_t regs_check_switch(uint64_t s, void **save_sp, void *load_sp);
#if defined(__aarch64__)
/* x19-x28 = s + 19..28, d8-d15 = the bits of s + 108..115 */
#define SET(r, k) "add " #r ", x0, #" #k "\n"
#define SETD(d, k) "add x9, x0, #" #k "\nfmov " #d ", x9\n"
#define CHK(r, k) "add x9, x0, #" #k "\ncmp " #r ", x9\ncinc x10, x10, ne\n"
#define CHKD(d, k)                                                             \
  "add x9, x0, #" #k "\nfmov x11, " #d "\ncmp x11, x9\ncinc x10, x10, ne\n"
#define REGS_CHECK(name, call)                                                 \
  ".pushsection .text\n.p2align 2\n.globl " name "\n.type " name              \
  ", %function\n" name ":\n"                                                   \
  "stp x29, x30, [sp, #-176]!\nmov x29, sp\n"                                  \
  "stp x19, x20, [sp, #16]\nstp x21, x22, [sp, #32]\n"                         \
  "stp x23, x24, [sp, #48]\nstp x25, x26, [sp, #64]\n"                         \
  "stp x27, x28, [sp, #80]\nstp d8, d9, [sp, #96]\n"                           \
  "stp d10, d11, [sp, #112]\nstp d12, d13, [sp, #128]\n"                       \
  "stp d14, d15, [sp, #144]\nstr x0, [sp, #160]\n" SET(x19, 19)              \
  SET(x20, 20) SET(x21, 21) SET(x22, 22) SET(x23, 23) SET(x24, 24)             \
  SET(x25, 25) SET(x26, 26) SET(x27, 27) SET(x28, 28) SETD(d8, 108)            \
  SETD(d9, 109) SETD(d10, 110) SETD(d11, 111) SETD(d12, 112) SETD(d13, 113)    \
  SETD(d14, 114) SETD(d15, 115) call "ldr x0, [sp, #160]\nmov x10, #0\n"       \
  CHK(x19, 19) CHK(x20, 20) CHK(x21, 21) CHK(x22, 22) CHK(x23, 23)             \
  CHK(x24, 24) CHK(x25, 25) CHK(x26, 26) CHK(x27, 27) CHK(x28, 28)             \
  CHKD(d8, 108) CHKD(d9, 109) CHKD(d10, 110) CHKD(d11, 111) CHKD(d12, 112)     \
  CHKD(d13, 113) CHKD(d14, 114) CHKD(d15, 115) "mov x0, x10\n"                 \
  "ldp x19, x20, [sp, #16]\nldp x21, x22, [sp, #32]\n"                         \
  "ldp x23, x24, [sp, #48]\nldp x25, x26, [sp, #64]\n"                         \
  "ldp x27, x28, [sp, #80]\nldp d8, d9, [sp, #96]\n"                           \
  "ldp d10, d11, [sp, #112]\nldp d12, d13, [sp, #128]\n"                       \
  "ldp d14, d15, [sp, #144]\nldp x29, x30, [sp], #176\nret\n"                  \
  ".size " name ", .-" name "\n.popsection\n"
__asm__(REGS_CHECK("regs_check_yield", "bl hl_yield\n"));
__asm__(REGS_CHECK("regs_check_switch",
                   "mov x0, x1\nmov x1, x2\nbl hl_ctx_switch\n"));
#define HAVE_REGS_CHECK 1
#elif defined(__x86_64__)
/* rbx, rbp, r12-r15 = s + 3, 5, 12..15 */
#define CHK(r, k)                                                              \
  "lea " #k "(%rdi), %rcx\ncmp %rcx, " #r "\nsetne %dl\nmovzbl %dl, %edx\n"   \
  "add %rdx, %rax\n"
#define REGS_CHECK(name, call)                                                 \
  ".pushsection .text\n.p2align 4\n.globl " name "\n.type " name              \
  ", @function\n" name ":\n"                                                   \
  "push %rbp\npush %rbx\npush %r12\npush %r13\npush %r14\npush %r15\n"         \
  "sub $24, %rsp\nmov %rdi, (%rsp)\n" /* 16-byte aligned at the call */       \
  "lea 3(%rdi), %rbx\nlea 5(%rdi), %rbp\nlea 12(%rdi), %r12\n"                 \
  "lea 13(%rdi), %r13\nlea 14(%rdi), %r14\nlea 15(%rdi), %r15\n" call          \
  "mov (%rsp), %rdi\nxor %eax, %eax\n" CHK(%rbx, 3) CHK(%rbp, 5)              \
  CHK(%r12, 12) CHK(%r13, 13) CHK(%r14, 14) CHK(%r15, 15)                      \
  "add $24, %rsp\n"                                                            \
  "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbx\npop %rbp\nret\n"          \
  ".size " name ", .-" name "\n.popsection\n"
__asm__(REGS_CHECK("regs_check_yield", "call hl_yield@PLT\n"));
__asm__(REGS_CHECK("regs_check_switch",
                   "mov %rsi, %rdi\nmov %rdx, %rsi\ncall hl_ctx_switch\n"));
#define HAVE_REGS_CHECK 1
#else
uint64_t regs_check_yield(uint64_t s) {
  (void)s;
  hl_yield();
  return 0;
}
#endif

struct worker {
  uint64_t seed;
  int round; /* FE_* rounding mode this goroutine runs with */
  _Atomic int bad_regs, bad_round, done;
};

/* 1/3 rounded by the current mode: differs between FE_UPWARD and
 * FE_DOWNWARD, so the hardware mode (MXCSR / FPCR) is checked, not only
 * what fegetround reads. */
static double third(void) {
  volatile double one = 1.0, three = 3.0;
  return one / three;
}

static void worker_main(void *arg) {
  struct worker *w = arg;
  fesetround(w->round);
  double expect = third();
  for (int i = 0; i < ROUNDS; i++) {
    uint64_t s = w->seed * 0x9E3779B97F4A7C15ull + (uint64_t)i * 4096;
    atomic_fetch_add(&w->bad_regs, (int)regs_check_yield(s));
    if (fegetround() != w->round || third() != expect)
      atomic_fetch_add(&w->bad_round, 1);
  }
  atomic_store(&w->done, 1);
}

static void test_callee_saved_and_fp_control(void **st) {
  (void)st;
  static struct worker w[2];
  w[0].seed = 1;
  w[0].round = FE_UPWARD;
  w[1].seed = 2;
  w[1].round = FE_DOWNWARD;
  for (int i = 0; i < 2; i++) {
    atomic_store(&w[i].bad_regs, 0);
    atomic_store(&w[i].bad_round, 0);
    atomic_store(&w[i].done, 0);
    hl_go(worker_main, &w[i]);
  }
  while (!atomic_load(&w[0].done) || !atomic_load(&w[1].done))
    hl_sleep(HL_MILLISECOND);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(atomic_load(&w[i].bad_regs), 0);
    assert_int_equal(atomic_load(&w[i].bad_round), 0);
  }
}

/* Without the scheduler: the test switches to a context of its own
 * (ctx_make + hl_ctx_switch) and back, each side checking its registers
 * and its rounding mode. Not under the sanitizers (a switch they are not
 * told about) nor with the ucontext fallback (no hl_ctx_switch). */
#if defined(HAVE_REGS_CHECK) && !defined(HL_SANITIZE) && !defined(HL_CTX_UCONTEXT)
static void *main_sp;
static g_t raw_g;
static int raw_bad_regs, raw_bad_round;

static void raw_entry(void *arg) {
  (void)arg;
  fesetround(FE_DOWNWARD);
  double expect = third();
  for (int i = 0; i < ROUNDS; i++) {
    raw_bad_regs += (int)regs_check_switch(0x5555000000ull + (uint64_t)i * 256,
                                           &raw_g.sp, main_sp);
    if (fegetround() != FE_DOWNWARD || third() != expect)
      raw_bad_round++;
  }
  hl_ctx_switch(&raw_g.sp, main_sp); /* never resumed */
}

static void test_raw_switch(void **st) {
  (void)st;
  size_t size = 64 << 10;
  char *stack = malloc(size);
  assert_non_null(stack);
  memset(&raw_g, 0, sizeof raw_g);
  raw_g.stack.lo = (uintptr_t)stack;
  raw_g.stack.hi = (uintptr_t)stack + size;
  ctx_make(&raw_g, raw_entry, NULL);
  raw_bad_regs = raw_bad_round = 0;
  int bad_regs = 0, bad_round = 0;
  fesetround(FE_UPWARD);
  double expect = third();
  for (int i = 0; i < ROUNDS; i++) {
    bad_regs += (int)regs_check_switch(0xAAAA000000ull + (uint64_t)i * 256,
                                       &main_sp, raw_g.sp);
    if (fegetround() != FE_UPWARD || third() != expect)
      bad_round++;
  }
  hl_ctx_switch(&main_sp, raw_g.sp); /* lets raw_entry finish its loop */
  fesetround(FE_TONEAREST);
  free(stack);
  assert_int_equal(bad_regs, 0);
  assert_int_equal(bad_round, 0);
  assert_int_equal(raw_bad_regs, 0);
  assert_int_equal(raw_bad_round, 0);
}
#else
static void test_raw_switch(void **st) {
  (void)st;
  skip();
}
#endif

static _Atomic int child_round = -1;
static void report_round(void *arg) {
  (void)arg;
  atomic_store(&child_round, fegetround());
}

static void test_new_goroutine_default_fp_env(void **st) {
  (void)st;
  fesetround(FE_TOWARDZERO);
  atomic_store(&child_round, -1);
  hl_go(report_round, NULL);
  while (atomic_load(&child_round) == -1)
    hl_sleep(HL_MILLISECOND);
  fesetround(FE_TONEAREST);
  assert_int_equal(atomic_load(&child_round), FE_TONEAREST);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_raw_switch),
    cmocka_unit_test(test_callee_saved_and_fp_control),
    cmocka_unit_test(test_new_goroutine_default_fp_env),
};

HL_SCHED_TEST_MAIN(tests)
