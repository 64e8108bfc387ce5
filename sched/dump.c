/*
 * sched/dump.c — goroutine dumps, the fatal-error and SIGQUIT hooks, and
 * deadlock detection.
 *
 * Entry points: diag_init, goroutine_dump, sched_checkdead,
 * gstatus_string, waitreason_string.
 *
 * goroutine_dump prints every goroutine: id, status or wait reason (and
 * for how long, once a minute has passed), "locked to thread" when wired,
 * then its stack (goroutine_dump_stack_hook, from dump_stack.c) and the
 * function it was started with, in the spirit of Go's traceback:
 *
 *   goroutine 7 [chan receive, 3 minutes]:
 *   	gopark+0x8f(...)
 *   		0x55d3c2a1b7ef
 *   	...
 *   started as worker(0x7f31c0001000)
 *
 * The calling goroutine comes first, then the others in the order of the
 * list of all goroutines (newest first; a G reused from the free list
 * keeps its place). Dead Gs are not shown. The dump allocates nothing and
 * takes no lock: it runs in fatal paths where any lock may be held (allgs
 * only grows at its head and a G is never freed, so the walk is safe; the
 * fields it reads are a racy snapshot).
 *
 * diag_init (called once by hl_main, after stack_overflow_init) installs:
 *  1. stack traces (dump_stack_init);
 *  2. hl_throw_hook: every fatal error prints, after "fatal error: msg",
 *     the stack of the throwing thread when it is not a goroutine ("runtime
 *     stack:"), then the goroutine dump; hl_throw then aborts;
 *  3. a SIGQUIT handler, unless SIGQUIT is already handled or ignored:
 *     "SIGQUIT: quit", the interrupted pc, the dump, exit status 2 (Go's
 *     behaviour). The signal is handled on whichever thread accepts it:
 *     Ms block every signal, so that is the thread that called hl_main
 *     (m0) or a thread of the application.
 * One fatal dump at a time: the first of a throw, SIGQUIT and a deadlock
 * to claim dump_owner prints; a later one from another thread waits for
 * it to end the process (bounded, as hl_throw does), one from the same
 * thread (a fault inside the dump) gives up at once.
 *
 * Deadlock (Go's checkdead): when the last M goes idle while goroutines
 * exist, no timer is pending and nobody waits on the network, nothing can
 * ever wake them: "fatal error: all goroutines are asleep - deadlock!",
 * the dump, exit status 2.
 */
#include "sched/internal.h"
#include "base/os.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define DUMP_WAIT_NS ((int64_t)10 * 1000 * 1000 * 1000)
#define DUMP_POLL_NS ((int64_t)10 * 1000 * 1000)

static const char *const reasons[WAIT_COUNT_] = {
    [WAIT_NONE] = "",
    [WAIT_CHAN_SEND] = "chan send",
    [WAIT_CHAN_RECV] = "chan receive",
    [WAIT_CHAN_NIL] = "chan send (nil chan)",
    [WAIT_SELECT] = "select",
    [WAIT_SELECT_NO_CASES] = "select (no cases)",
    [WAIT_SLEEP] = "sleep",
    [WAIT_IO] = "IO wait",
    [WAIT_MUTEX] = "sync.Mutex.Lock",
    [WAIT_RWMUTEX_R] = "sync.RWMutex.RLock",
    [WAIT_RWMUTEX_W] = "sync.RWMutex.Lock",
    [WAIT_COND] = "sync.Cond.Wait",
    [WAIT_WAITGROUP] = "sync.WaitGroup.Wait",
    [WAIT_SEMA] = "semacquire",
    [WAIT_ONCE] = "sync.Once.Do",
    [WAIT_LOCKED_THREAD] = "locked to thread",
    [WAIT_GC_WORKER] = "GC worker (idle)",
    [WAIT_GC_ASSIST] = "GC assist wait",
    [WAIT_GC_SWEEP] = "GC sweep wait",
    [WAIT_GC_FINALIZER] = "finalizer wait",
    [WAIT_GC_CYCLE] = "GC cycle wait",
};

const char *waitreason_string(uint32_t reason) {
  return reason < WAIT_COUNT_ && reasons[reason] ? reasons[reason] : "?";
}

const char *gstatus_string(uint32_t st) {
  switch (st) {
  case G_IDLE: return "idle";
  case G_RUNNABLE: return "runnable";
  case G_RUNNING: return "running";
  case G_SYSCALL: return "syscall";
  case G_WAITING: return "waiting";
  case G_DEAD: return "dead";
  }
  return "?";
}

/* Per-goroutine traceback (dump_stack.c); NULL: the entry function only.
 * gp == NULL asks for the calling thread's own stack. */
void (*goroutine_dump_stack_hook)(int fd, g_t *gp);

/* -------------------------------------------------------------- the dump */

DIAG_RACY static void dump_one(int fd, g_t *gp, int64_t now) {
  uint32_t st = atomic_load_relaxed(&gp->status);
  char head[160];
  size_t n = 0;
  if (st == G_WAITING) {
    n += (size_t)hl_snprintf(head, sizeof head, "%s",
                             waitreason_string(gp->waitreason));
    int64_t mins = (now - gp->waitsince) / (60 * 1000000000LL);
    if (mins > 0 && n < sizeof head)
      n += (size_t)hl_snprintf(head + n, sizeof head - n, ", %ld minutes",
                               (long)mins);
  } else {
    n += (size_t)hl_snprintf(head, sizeof head, "%s", gstatus_string(st));
  }
  if (gp->lockedm && n < sizeof head)
    hl_snprintf(head + n, sizeof head - n, ", locked to thread");
  hl_printf(fd, "goroutine %ld [%s]:\n", (long)gp->goid, head);
  if (goroutine_dump_stack_hook)
    goroutine_dump_stack_hook(fd, gp);
  else
    hl_printf(fd, "started as %p(%p)\n", (void *)(uintptr_t)gp->fn,
              (void *)gp->startarg);
  hl_printf(fd, "\n");
}

DIAG_RACY void goroutine_dump(int fd) {
  int64_t now = os_nanotime();
  m_t *mp = getm();
  g_t *self = mp ? mp->curg : NULL;
  if (self)
    dump_one(fd, self, now);
  for (g_t *gp = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE); gp;
       gp = gp->alllink) {
    uint32_t st = atomic_load_relaxed(&gp->status);
    if (st == G_DEAD || st == G_IDLE || gp == self)
      continue;
    dump_one(fd, gp, now);
  }
}

/* The calling thread's stack when it is not running a goroutine (the
 * scheduler on an M's g0, or a thread of the application). */
static void dump_thread_stack(int fd, const char *title) {
  hl_printf(fd, "%s\n", title);
  if (goroutine_dump_stack_hook)
    goroutine_dump_stack_hook(fd, NULL);
  hl_printf(fd, "\n");
}

/* ------------------------------------------------------ one fatal dump */

/* Thread id of the thread printing a fatal dump, 0 if none. */
static _Atomic int dump_owner;

/* True if the caller may print the fatal dump. Otherwise another thread
 * is printing one and will end the process: wait for that (bounded), then
 * return false; a second claim by the owner itself returns false at once. */
static bool dump_claim(void) {
  int me = os_gettid(), prev = 0;
  /* acq_rel: only elects the printer, no data is handed over */
  if (atomic_cas_strong_acq_rel(&dump_owner, &prev, me))
    return true;
  if (prev == me)
    return false;
  for (int64_t waited = 0; waited < DUMP_WAIT_NS; waited += DUMP_POLL_NS)
    os_nanosleep(DUMP_POLL_NS);
  return false;
}

/* -------------------------------------------------------------- hooks */

static void (*prev_throw_hook)(void);

/* hl_throw_hook: "fatal error: msg" is already printed. */
static void diag_throw_hook(void) {
  if (prev_throw_hook)
    prev_throw_hook();
  if (!dump_claim())
    return;
  hl_printf(2, "\n");
  m_t *mp = getm();
  if (!mp)
    dump_thread_stack(2, "runtime stack (not a runtime thread):");
  else if (!mp->curg)
    dump_thread_stack(2, "runtime stack:");
  goroutine_dump(2);
}

static uintptr_t signal_pc(const void *ucv) {
  const ucontext_t *uc = ucv;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0;
#endif
}

static void sigquit_handler(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  if (!dump_claim())
    return; /* a fatal dump is under way; it ends the process */
  m_t *mp = getm();
  hl_printf(2, "SIGQUIT: quit\nPC=%p m=%ld sigcode=%d\n\n",
            (void *)signal_pc(ucv), mp ? (long)mp->id : -1L, si->si_code);
  if (!mp)
    dump_thread_stack(2, "signal received on a thread that runs no "
                         "goroutines:");
  else if (!mp->curg)
    dump_thread_stack(2, "goroutine 0 [idle]:");
  goroutine_dump(2);
  _exit(2);
}

void diag_init(void) {
  dump_stack_init();
  prev_throw_hook = hl_throw_hook;
  hl_throw_hook = diag_throw_hook;
  /* SIGQUIT is the application's if it already handles or ignores it */
  struct sigaction old;
  if (sigaction(SIGQUIT, NULL, &old) == 0 &&
      !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigquit_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask); /* nothing else interrupts the dump */
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    sigaction(SIGQUIT, &sa, NULL);
  }
}

/* ------------------------------------------------------------ deadlock */

void sched_checkdead(void) {
  HL_ASSERT_INTERNAL(hl_lock_held(&sched.lock));
  if (atomic_load_relaxed(&sched.main_done) || !atomic_load_relaxed(&sched.started))
    return;
  int32_t run = sched.mcount - sched.nmidle - sched.nmidlelocked - sched.nmsys;
  if (run > 0)
    return;
  if (run < 0)
    hl_throwf("checkdead: inconsistent M counts (mcount %d, idle %d, "
              "locked idle %d, sys %d)",
              sched.mcount, sched.nmidle, sched.nmidlelocked, sched.nmsys);
  if (gcount() == 0)
    return;
  /* a P taken from a hogging G (preempt.c) is handed to an M by sysmon;
   * until then its Gs look stranded while the M it left sleeps */
  for (int i = 0; i < sched.gomaxprocs; i++)
    if (atomic_load_acquire(&sched.allp[i]->status) == P_PREEMPTED)
      return;
  if (timers_next_all() != 0)
    return; /* a timer will wake somebody */
  if (atomic_load_relaxed(&netpoll_waiters) > 0)
    return;
  /* every goroutine waits on something no one can do */
  if (dump_claim()) {
    hl_printf(2, "fatal error: all goroutines are asleep - deadlock!\n\n");
    if (hl_throw_stats_hook)
      hl_throw_stats_hook();
    goroutine_dump(2);
  }
  _exit(2);
}
