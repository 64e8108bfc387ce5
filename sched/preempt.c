/*
 * sched/preempt.c — taking the P from a goroutine that runs too long
 * without a safe point.
 *
 * Entry points: preempt_init, preempt_check (sysmon), regain_p.
 *
 * The runtime never switches goroutines inside arbitrary C code (it cannot
 * know what locks or invariants that code holds), so a goroutine in a
 * tight C loop keeps its thread. What it must not keep is its P, or the
 * other goroutines of that P starve. Protocol:
 *  1. sysmon sees a P RUNNING whose schedtick has not moved for 10 ms.
 *     First it sets p->preempt_coop: the G's next runtime call yields
 *     (rt_enter), which costs nothing more than a yield. If after another
 *     10 ms the tick still has not moved, the G makes no runtime calls:
 *     sysmon makes sure the P has a spare mcache, records the tick in
 *     p->preempt_tick, sets m->preempt_request and sends SIGURG to the M's
 *     thread (tgkill).
 *  2. The handler, on that thread, acts only if the M runs a G outside the
 *     runtime (m->locks == 0: every runtime path that touches P state is in
 *     a critical section; hl_lock_depth == 0: it holds no runtime lock),
 *     still holds that P, and the tick is unchanged.
 *     It then detaches the P: the thread keeps the P's mcache (held_mcache,
 *     still tls_mcache: an allocation interrupted half-way finishes on it),
 *     the P gets the spare, m->p = NULL, and a release CAS RUNNING ->
 *     PREEMPTED publishes it.
 *  3. sysmon sees PREEMPTED, CASes it to IDLE and hands the P to another M
 *     (handoffp): the other goroutines run again.
 *  4. The hog goes on without a P. At its next runtime call (rt_enter,
 *     hl_safepoint) it gets one back: an idle P if any, otherwise it is
 *     queued on the global run queue and its thread sleeps (as after a
 *     syscall). The held mcache becomes the spare of the next P it holds.
 * While it runs without a P the hog uses a CPU beyond HLMAXPROCS, as a
 * goroutine in a long syscall does; nothing else is affected.
 */
#include "sched/internal.h"
#include "alloc/internal.h"
#include "base/os.h"
#include "trace/emit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define PREEMPT_NS 10000000 /* 10 ms, as Go's forcePreemptNS */

/* The interrupted stack pointer and registers (general-purpose) of a
 * signal's ucontext. */
static int uc_regs(void *ucv, uintptr_t *sp, uintptr_t *regs) {
  ucontext_t *uc = ucv;
#if defined(__x86_64__)
  *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  for (int i = 0; i < NGREG; i++)
    regs[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
  return NGREG;
#elif defined(__aarch64__)
  *sp = (uintptr_t)uc->uc_mcontext.sp;
  for (int i = 0; i < 31; i++)
    regs[i] = (uintptr_t)uc->uc_mcontext.regs[i];
  return 31;
#else
#error "uc_regs: unsupported architecture"
#endif
}

/* Collector suspension (sched_suspend_g): answers request number r;
 * when this thread runs the wanted G on that G's stack, parks the thread
 * here (the handler runs on the alternate signal stack) until the scanner
 * is done with request r. Requests are numbered so that a handler still
 * waking from request r never mistakes r + 1 (whose signal stays pending
 * until this handler returns) for its own. */
#define SUSPEND_DECLINED 0x80000000u

static void suspend_answer(m_t *mp, void *uc, uint32_t r) {
  g_t *want = atomic_load_acquire(&mp->suspend_g);
  uintptr_t sp;
  int n = uc_regs(uc, &sp, mp->suspend_regs);
  /* declined while the thread holds a runtime lock: the scanner may need
   * it (heap metadata) and would wait on a suspended holder forever */
  if (!want || mp->curg != want || sp < want->stack.lo ||
      sp >= want->stack.hi || hl_lock_depth != 0) {
    atomic_store_release(&mp->suspend_ack, r | SUSPEND_DECLINED);
    futex_wake(&mp->suspend_ack, 1);
    return;
  }
  mp->suspend_sp = sp;
  mp->suspend_nregs = n;
  atomic_store_release(&mp->suspend_ack, r);
  futex_wake(&mp->suspend_ack, 1);
  while (atomic_load_acquire(&mp->suspend_request) == r)
    futex_wait(&mp->suspend_request, r, -1);
}

/* A hint, read without synchronisation (mp->curg is written plainly by
 * its M): a stale answer only delays the withdrawal by one wait. */
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize_thread))
#endif
static g_t *curg_hint(m_t *mp) {
  return *(g_t *volatile *)&mp->curg;
}

bool sched_suspend_g(g_t *gp, m_t *mp,
                     void (*fn)(uintptr_t sp, const uintptr_t *regs,
                                int nregs, void *arg),
                     void *arg) {
  static hl_lock_t suspend_lock; /* one suspension at a time per process */
  static uint32_t seq;
  hl_lock(&suspend_lock);
  uint32_t r = (++seq & ~SUSPEND_DECLINED);
  if (r == 0)
    r = seq = 1;
  atomic_store_relaxed(&mp->suspend_ack, 0);
  atomic_store_relaxed(&mp->suspend_g, gp);
  atomic_store_release(&mp->suspend_request, r);
  syscall(SYS_tgkill, getpid(), mp->tid, SIGURG);
  uint32_t ack;
  bool cancelled = false;
  while (((ack = atomic_load_acquire(&mp->suspend_ack)) & ~SUSPEND_DECLINED) != r) {
    if (curg_hint(mp) != gp) {
      /* the G left that thread (parked, or moved): the caller looks at
       * it again. The thread may not run the handler soon — idle in a
       * futex wait, or under ThreadSanitizer, which holds signals back
       * until its next intercepted call — so do not wait for the answer:
       * withdraw the request (a handler that reads it later sees 0) */
      uint32_t want = r;
      if (atomic_cas_strong_acq_rel(&mp->suspend_request, &want, 0)) {
        cancelled = true;
        break;
      }
    }
    futex_wait(&mp->suspend_ack, ack, 1000000);
  }
  bool ok = !cancelled && !(ack & SUSPEND_DECLINED);
  if (ok)
    fn(mp->suspend_sp, mp->suspend_regs, mp->suspend_nregs, arg);
  atomic_store_relaxed(&mp->suspend_g, NULL);
  atomic_store_release(&mp->suspend_request, 0);
  futex_wake(&mp->suspend_request, 1);
  hl_unlock(&suspend_lock);
  return ok;
}

static void preempt_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  int saved = errno;
  m_t *mp = tls_m;
  if (mp) {
    uint32_t r = atomic_load_acquire(&mp->suspend_request);
    if (r && (atomic_load_relaxed(&mp->suspend_ack) & ~SUSPEND_DECLINED) != r)
      suspend_answer(mp, uc, r);
  }
  /* acquire: pairs with sysmon's release store (preempt_tick is set) */
  if (!mp || !atomic_exchange_acquire(&mp->preempt_request, 0))
    goto out;
  p_t *pp = mp->p;
  if (!mp->curg || mp->locks != 0 || hl_lock_depth != 0 || !pp ||
      atomic_load_relaxed(&pp->schedtick) !=
          __atomic_load_n(&pp->preempt_tick, __ATOMIC_RELAXED))
    goto out;
  mcache_t *spare = atomic_exchange_acq_rel(&pp->spare_mcache, NULL);
  if (!spare)
    goto out;
  mp->held_mcache = pp->mcache; /* == tls_mcache: stays with the thread */
  pp->mcache = spare;
  mp->p = NULL;
  trace_proc_lost();
  atomic_store_relaxed(&pp->m, NULL);
  uint32_t st = P_RUNNING;
  /* release: sysmon's acquire load of PREEMPTED sees the new mcache. */
  if (!atomic_cas_strong_acq_rel(&pp->status, &st, P_PREEMPTED)) {
    /* cannot happen while we hold it; undo rather than guess */
    pp->mcache = mp->held_mcache;
    mp->held_mcache = NULL;
    mp->p = pp;
    atomic_store_relaxed(&pp->m, mp);
    atomic_store_relaxed(&pp->spare_mcache, spare);
  }
out:
  errno = saved;
}

void preempt_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = preempt_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGURG, &sa, NULL);
}

void sysmon_handoffp(p_t *pp);

void preempt_check(int64_t now) {
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = sched.allp[i];
    uint32_t st = atomic_load_acquire(&pp->status);
    if (st == P_PREEMPTED) {
      /* acquire: pairs with the handler's release CAS. */
      if (atomic_cas_strong_acq_rel(&pp->status, &st, P_IDLE))
        sysmon_handoffp(pp);
      continue;
    }
    if (st != P_RUNNING)
      continue;
    uint32_t tick = atomic_load_relaxed(&pp->schedtick);
    if (tick != pp->sysmon_schedtick) {
      pp->sysmon_schedtick = tick;
      pp->sysmon_schedwhen = now;
      continue;
    }
    if (now - pp->sysmon_schedwhen < PREEMPT_NS)
      continue;
    pp->sysmon_schedwhen = now; /* next try in 10 ms at the earliest */
    m_t *mp = atomic_load_relaxed(&pp->m);
    if (!mp)
      continue;
    /* nobody else waits for this P: leave the goroutine alone */
    if (runqempty(pp) && atomic_load_relaxed(&sched.runqsize) == 0 &&
        atomic_load_relaxed(&pp->timer0) == 0)
      continue;
    /* first ask politely: its next runtime call yields */
    if (!atomic_load_relaxed(&pp->preempt_coop) ||
        __atomic_load_n(&pp->preempt_tick, __ATOMIC_RELAXED) != tick) {
      __atomic_store_n(&pp->preempt_tick, tick, __ATOMIC_RELAXED);
      atomic_store_relaxed(&pp->preempt_coop, 1);
      continue;
    }
    if (!atomic_load_relaxed(&pp->spare_mcache)) {
      mcache_t *c = mcache_create();
      mcache_t *none = NULL;
      if (!atomic_cas_strong_acq_rel(&pp->spare_mcache, &none, c))
        mcache_destroy(c);
    }
    __atomic_store_n(&pp->preempt_tick, tick, __ATOMIC_RELAXED);
    atomic_store_release(&mp->preempt_request, 1);
    syscall(SYS_tgkill, getpid(), mp->tid, SIGURG);
  }
}

void regain_p(g_t *gp) {
  m_t *mp = gp->m;
  HL_ASSERT(mp->locks > 0 && mp->p == NULL);
  hl_lock(&sched.lock);
  p_t *pp = NULL;
  extern p_t *sched_pidleget(void);
  pp = sched_pidleget();
  hl_unlock(&sched.lock);
  if (pp) {
    extern void sched_acquirep(m_t * mp, p_t * pp);
    sched_acquirep(mp, pp);
    return;
  }
  /* no P free: queue this G and let the thread sleep until one is */
  extern void sched_mcall_exitsyscall(g_t * gp);
  sched_mcall_exitsyscall(gp);
  m_lock(tls_m); /* resumed with a P, outside the critical section */
}
