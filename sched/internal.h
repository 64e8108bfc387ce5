/*
 * sched/internal.h — cross-file prototypes of the scheduler, grouped by
 * defining file. Lock order: sched.lock -> (channel / sema locks are
 * leaves taken by a G; never hold one across a park except through
 * gopark's unlock callback) — see docs/design/locking.md.
 *
 * Rule for every runtime entry that reads m->p or touches P state: enter
 * with rt_enter() (m_lock plus "hold a P": a goroutine whose P was taken by
 * the preemption signal gets one back, possibly on another thread) and
 * leave with m_unlock(getm()). Nested calls may use m_lock/m_unlock: while
 * m->locks > 0 the preemption signal leaves the thread alone, so the P
 * (and the thread) cannot change under them except across a park.
 */
#ifndef HL_SCHED_INTERNAL_H
#define HL_SCHED_INTERNAL_H

#include "base/debug.h"
#include "base/tls.h"
#include "sched/types.h"

extern HL_HIDDEN schedt_t sched;
extern HL_HIDDEN __thread m_t *tls_m __attribute__((tls_model("initial-exec")));
/* The M of the thread running the caller *now*: a goroutine that read it
 * before a switch may resume on another thread, where a thread pointer
 * kept by the compiler would still name the first one (base/tls.h). */
#define tls_m HL_TLS(tls_m)

/* ---- ctx.c / ctx_<arch>.S ---- */
#if defined(__SANITIZE_ADDRESS__)
#define HL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_ASAN 1
#endif
#endif
void hl_ctx_switch(void **save_sp, void *load_sp);
/* Prepares gp's stack so that switching to it calls entry(arg). */
void ctx_make(g_t *gp, void (*entry)(void *), void *arg);
/* Switches from the running G `from` to `to` (sanitizer-annotated). Out of
 * line (ctx.c) in sanitizer and ucontext builds; otherwise the assembly
 * switch called in place: a call and a frame less on every switch. */
#if defined(HL_ASAN) || defined(HL_TSAN) || defined(HL_CTX_UCONTEXT)
#define HL_CTX_SWITCH_OUTOFLINE 1
void ctx_switch(g_t *from, g_t *to);
#else
static inline void ctx_switch(g_t *from, g_t *to) {
  hl_ctx_switch(&from->sp, to->sp);
}
#endif
void ctx_g_created(g_t *gp); /* sanitizer fiber set-up */
void ctx_first_entry(void);  /* first thing a new G does */
void ctx_g_destroyed(g_t *gp);

/* ---- stack.c ---- */
/* Allocates a stack of sched.stacksize; 0 or -ENOMEM. */
int stack_alloc(stack_t_ *st);
void stack_free(stack_t_ *st);
/* Releases the touched pages of a dead stack beyond its first. */
void stack_trim(stack_t_ *st);
/* Checks a slab stack's canary (fatal if overwritten). */
void stack_check(g_t *gp);
void stack_set_canary(g_t *gp); /* slab stacks: write the canary */
void stack_overflow_init(void); /* SIGSEGV handler on an alternate stack */
void stack_thread_init(void);   /* per-thread alternate signal stack */

/* ---- proc.c ---- */
static inline m_t *getm(void) { return tls_m; }
/* Current G (NULL outside the runtime; g0 while on the scheduler). */
static inline g_t *getg(void) {
  m_t *mp = tls_m;
  return mp ? (mp->curg ? mp->curg : &mp->g0) : NULL;
}
/* The preemption signal handler runs on this thread and reads locks:
 * the signal fences keep the compiler from moving reads of P state (mp->p,
 * its caches) above m_lock or writes below m_unlock, where the handler
 * could take the P between the two. */
static inline void m_lock(m_t *mp) {
  HL_ASSERT(mp == tls_m);
  mp->locks++;
  atomic_signal_fence(memory_order_seq_cst);
}
static inline void m_unlock(m_t *mp) {
  HL_ASSERT(mp->locks > 0 && mp == tls_m);
  atomic_signal_fence(memory_order_seq_cst);
  mp->locks--;
}
/* The calling goroutine, or a fatal error naming `fn` when called from
 * outside a goroutine. */
g_t *curg_or_die(const char *fn);
/* Enters a runtime critical section on the calling goroutine's M (m_lock)
 * and makes sure the M holds a P (a hogging G may have lost it: then it
 * gets one back, which may park it until one is free). Leave with
 * m_unlock(getm()) — the M may have changed. Inline: the common case (a
 * P held, no cooperative preemption asked) is two loads and a branch on
 * every runtime entry; rt_enter_slow does the rest. */
m_t *rt_enter_slow(g_t *gp);
static inline m_t *rt_enter(g_t *gp) {
  m_t *mp = gp->m;
  m_lock(mp);
  p_t *pp = mp->p;
  if (hl_likely(pp != NULL && !atomic_load_relaxed(&pp->preempt_coop)))
    return mp;
  return rt_enter_slow(gp);
}

/* Gives the P to what schedule() picks first (a mark worker whose turn
 * it is: gc/gc.c) and resumes next, from runnext — unlike hl_yield, which
 * queues the G behind every runnable one: a goroutine that steps aside
 * for a worker slice keeps its place. */
void gosched_next(void);
/* Parks the current G (status WAITING, reason) after its context is saved;
 * then, on g0, unlockf(gp, arg) runs: if it returns false the G is
 * resumed at once. The G resumes when someone calls goready. */
void gopark(bool (*unlockf)(g_t *gp, void *arg), void *arg, int reason);
/* Makes a WAITING G runnable on the current P (runnext). Callable from a
 * G or from g0 with a P; without a P (sysmon, signal-free threads) use
 * goready_global. */
void goready(g_t *gp);
void goready_global(g_t *gp);
/* Current P of the calling M (NULL without one). */
static inline p_t *getp(void) { return tls_m ? tls_m->p : NULL; }
uint32_t fastrand(void);
int64_t sched_nanotime(void);
/* User goroutines alive (never below the true count; see proc.c). */
int64_t gcount(void);
/* New work was queued: start a spinning M on an idle P if there is one
 * and nobody spins yet. The test for an idle P is inline (every goready
 * and hl_go makes it; with every P busy it is all wakep does). */
void wakep_slow(void);
static inline void wakep(void) {
  if (atomic_load_relaxed(&sched.npidle) != 0)
    wakep_slow();
}
/* Puts a list of G (linked by schedlink) on the global run queue and
 * starts Ms for them. */
void injectglist(g_t *head);

/* ---- runq.c ---- */
void runqput_slow(p_t *pp, g_t *gp, bool next);
g_t *runqget_slow(p_t *pp, bool *inherit);
/* Puts gp on pp's queue (owner): in runnext if next (the G there moves to
 * the ring), else at the ring's tail. Inline for the case of every channel
 * hand-off with one P: runnext empty, nobody to race with (runq.c). */
static inline void runqput(p_t *pp, g_t *gp, bool next) {
  if (next && sched.gomaxprocs == 1 && !atomic_load_relaxed(&pp->runnext)) {
    /* release: runqempty on other threads reads it with acquire */
    atomic_store_release(&pp->runnext, gp);
    return;
  }
  runqput_slow(pp, gp, next);
}
/* Takes pp's next G (owner): runnext (then *inherit: it inherits the time
 * slice), else the ring's head; NULL when both are empty. The one-P
 * runnext case is inline, as for runqput. */
static inline g_t *runqget(p_t *pp, bool *inherit) {
  if (sched.gomaxprocs == 1) {
    g_t *next = atomic_load_relaxed(&pp->runnext);
    if (next) {
      atomic_store_relaxed(&pp->runnext, NULL);
      *inherit = true;
      return next;
    }
  }
  return runqget_slow(pp, inherit);
}
g_t *runqget_ring(p_t *pp); /* the ring's head only, not runnext (owner) */
g_t *runqsteal(p_t *pp, p_t *victim, bool stealnext);
bool runqempty(p_t *pp);
/* Whether pp's ring has at most one free slot: room for the G a put in
 * runnext pushes out, no more (owner; a stale head only makes it look
 * fuller). */
static inline bool runq_full(p_t *pp) {
  return atomic_load_relaxed(&pp->runqtail) -
             atomic_load_acquire(&pp->runqhead) >=
         RUNQ_SIZE - 1;
}
void globrunqput(g_t *gp);      /* caller holds sched.lock */
void globrunqputhead(g_t *gp);  /* caller holds sched.lock */
g_t *globrunqget(p_t *pp, int max); /* caller holds sched.lock */

/* ---- timer.c ---- */
/* A one-shot timer: at `when` (nanotime) f(arg) runs on some M's g0 with
 * a P held (so it may goready) and the timer heap's lock held (so it must
 * not add or delete timers). Owned by its creator; must stay valid until
 * it fires or timer_del returns. */
typedef struct hl_timer {
  int64_t when;
  void (*f)(void *arg);
  void *arg;
  p_t *pp;     /* heap it is in (NULL: none) */
  int32_t idx; /* index in that heap */
} hl_timer_t;
/* Adds t to the current P's heap. */
void timer_add(hl_timer_t *t);
/* Removes t if it has not fired yet; returns true if it was removed. */
bool timer_del(hl_timer_t *t);
/* Runs pp's expired timers (may ready Gs); returns the next deadline
 * (0: none). Called by the scheduler with pp held. */
int64_t timers_run(p_t *pp, int64_t now);
/* Earliest deadline over all Ps (0: none). */
int64_t timers_next_all(void);
/* Number of timers in pp's heap (takes its timerslock). */
int32_t timers_len(p_t *pp);

/* ---- netpoll.c ---- */
/* Polls for I/O readiness; block_ns < 0 blocks, 0 does not. Readies the
 * Gs whose I/O is ready through *list (schedlink) and returns them. */
g_t *netpoll(int64_t block_ns);
bool netpoll_inited(void);
void netpoll_break(void); /* wakes a blocked netpoll */
extern HL_HIDDEN _Atomic int64_t netpoll_waiters;

/* ---- preempt.c ---- */
void preempt_init(void);
/* sysmon: takes the P of a G that ran > 10 ms without a safe point. */
void preempt_check(int64_t now);
/* Back from losing the P: get one (caller is in a critical section). */
void regain_p(g_t *gp);

/* Collector support: suspends the thread of mp while it runs gp (on gp's
 * own stack: user code or a syscall), calls fn with the interrupted stack
 * pointer and registers, then resumes it. Returns false, without calling
 * fn, when mp was not running gp there (the caller looks again). */
bool sched_suspend_g(g_t *gp, m_t *mp,
                     void (*fn)(uintptr_t sp, const uintptr_t *regs,
                                int nregs, void *arg),
                     void *arg);

/* ---- proc.c: stop-the-world and the collector's goroutines ---- */
/* Stops every P (bounded even against goroutines in C loops without safe
 * points); returns in a runtime critical section. stw_start ends it.
 * reason: enum trace_stw_reason, for the tracer's STW_START event. */
void stw_stop(int reason);
void stw_start(void);
g_t *go_system(void (*fn)(void *), void *arg);
/* Set by the collector: shades the words of a value a channel copies. */
extern HL_HIDDEN void (*gc_shade_hook)(const void *p, size_t n);
/* Calls fn on the buffer of every channel holding pointer-sized values
 * (under the channel's lock). */
void chan_scan_buffers(void (*fn)(const void *p, size_t n, void *arg),
                       void *arg);
extern HL_HIDDEN _Atomic uint32_t gc_blacken_enabled;
extern HL_HIDDEN g_t *(*gc_worker_hook)(p_t *pp, bool idle);

/* ---- sysmon.c ---- */
void sysmon_start(void);

/* ---- sema.c ---- */
/* Semaphores keyed by address (Go's sema.go), for the sync primitives.
 * *addr counts tokens. semacquire waits until it can take one; lifo
 * queues the caller first among addr's waiters (a woken mutex waiter that
 * lost the race keeps its turn); reason is an enum waitreason.
 * semrelease adds a token and wakes addr's first waiter; with handoff it
 * takes the token for that waiter and yields to it. Called from a
 * goroutine holding no runtime lock. */
bool cansemacquire(_Atomic uint32_t *addr); /* takes a token if any */
void semacquire(_Atomic uint32_t *addr, bool lifo, int reason);
void semrelease(_Atomic uint32_t *addr, bool handoff);
/* Ticket-based waiter list of hl_cond (Go's notifyList); valid when
 * zeroed. notifylist_add takes a ticket (before releasing the user's
 * mutex), notifylist_wait(t) sleeps unless t was notified since. */
struct semawaiter;
typedef struct notifylist {
  _Atomic uint32_t wait;   /* next ticket to hand out (atomic add) */
  _Atomic uint32_t notify; /* next ticket to notify (written under lock) */
  hl_lock_t lock;
  uint32_t pad_;
  struct semawaiter *head, *tail; /* parked waiters (lock) */
} notifylist_t;
uint32_t notifylist_add(notifylist_t *l);
void notifylist_wait(notifylist_t *l, uint32_t t);
void notifylist_notify_one(notifylist_t *l);
void notifylist_notify_all(notifylist_t *l);
/* Active spinning of hl_mutex (Go's sync_runtime_canSpin/doSpin): true
 * if spin round iter is worth it (several CPUs, another P running, this
 * P's run queue empty). */
bool sync_canspin(int iter);
void sync_dospin(void);

/* ---- dump.c ---- */
/* Diagnostics (dump.c, dump_stack.c, schedtrace.c) read other threads'
 * fields without synchronization, as Go's do: a snapshot, not a race for
 * ThreadSanitizer to report. */
/* AddressSanitizer too: a parked goroutine's saved frame can be read just
 * as the goroutine runs again and its new frames' redzones cover it (a
 * report seen once in sched.test_dump/test_dump_while_switching); the
 * read is a snapshot that the dump checks for staleness afterwards. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DIAG_RACY __attribute__((no_sanitize("address", "thread")))
#endif
#endif
#ifndef DIAG_RACY
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DIAG_RACY __attribute__((no_sanitize_address, no_sanitize_thread))
#else
#define DIAG_RACY
#endif
#endif
void goroutine_dump(int fd);
void sched_checkdead(void); /* caller holds sched.lock */
/* Stack traces, hl_throw_hook and the SIGQUIT handler; hl_main calls it
 * once, after stack_overflow_init. */
void diag_init(void);
const char *gstatus_string(uint32_t status);
const char *waitreason_string(uint32_t reason);
/* Prints gp's stack for the dump (set by dump_stack.c; NULL: the entry
 * function only); gp == NULL: the calling thread's own stack. */
extern void (*goroutine_dump_stack_hook)(int fd, g_t *gp);

/* ---- dump_stack.c ---- */
void dump_stack_init(void); /* installs goroutine_dump_stack_hook */

/* ---- schedtrace.c ---- */
void schedtrace_tick(int64_t now); /* sysmon, every round */

#endif
