/*
 * sched/types.h — G, M, P and the scheduler's global state, with the
 * invariants each keeps and what protects each field.
 *
 * Vocabulary (Go's proc.go): a G is a goroutine (a stack and a saved
 * context); an M is an OS thread that runs Gs; a P is a processor: the
 * right to run Gs, with a local run queue and an allocation cache. An M
 * runs Gs only while it holds a P; there are exactly gomaxprocs Ps.
 *
 * Every M has a g0: the M's own thread stack, where the scheduler runs.
 * A G gives up the CPU by switching to its M's g0, which runs the action
 * the G left (m->after: park, yield, exit, ...) and then schedule().
 */
#ifndef HL_SCHED_TYPES_H
#define HL_SCHED_TYPES_H

#include "alloc/types.h"
#include "base/atomic.h"
#include "base/lock.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RUNQ_SIZE 256      /* per-P ring; a power of two */
#define GLOBAL_RUNQ_TICK 61 /* schedule() checks the global queue so often */
#define STACK_DEFAULT (256u << 10)
#define STACK_GUARD 4096u  /* PROT_NONE page below each mmap'ed stack */
#define STACKCACHE_MAX 32  /* dead stacks kept per P */
#define GFREE_MAX 64       /* dead Gs kept per P */
#define GOID_BATCH 16      /* goroutine ids a P takes from goidgen at once */

/* G status. Transitions:
 *   IDLE -> RUNNABLE (newproc) -> RUNNING (execute)
 *   RUNNING -> RUNNABLE (yield, preempted) | WAITING (park) |
 *              SYSCALL (hl_syscall_enter) | DEAD (exit)
 *   WAITING -> RUNNABLE (ready);  SYSCALL -> RUNNING | RUNNABLE
 * Written by the G's M, or by whoever readies a WAITING G. */
enum gstatus {
  G_IDLE = 0,
  G_RUNNABLE,
  G_RUNNING,
  G_SYSCALL,
  G_WAITING,
  G_DEAD,
};

/* Why a G waits (shown in goroutine dumps). */
enum waitreason {
  WAIT_NONE = 0,
  WAIT_CHAN_SEND,
  WAIT_CHAN_RECV,
  WAIT_CHAN_NIL,
  WAIT_SELECT,
  WAIT_SELECT_NO_CASES,
  WAIT_SLEEP,
  WAIT_IO,
  WAIT_MUTEX,
  WAIT_RWMUTEX_R,
  WAIT_RWMUTEX_W,
  WAIT_COND,
  WAIT_WAITGROUP,
  WAIT_SEMA,
  WAIT_ONCE,
  WAIT_LOCKED_THREAD,
  WAIT_GC_WORKER,    /* mark worker waiting to be scheduled */
  WAIT_GC_ASSIST,    /* assist waiting for background credit */
  WAIT_GC_SWEEP,     /* background sweeper with nothing to sweep */
  WAIT_GC_FINALIZER, /* finalizer goroutine with an empty queue */
  WAIT_GC_CYCLE,     /* hl_gc waiting for a cycle to end */
  WAIT_COUNT_
};

/* P status. Transitions (CAS on status):
 *   IDLE <-> RUNNING (acquirep/releasep, under sched.lock when idle-listed)
 *   RUNNING -> SYSCALL (hl_syscall_enter) -> RUNNING (exit fast path)
 *   SYSCALL -> IDLE (retaken by sysmon or taken by the exit slow path)
 *   RUNNING -> PREEMPTED (a hogging G's P taken away) -> IDLE
 *   IDLE -> TRANSIT (startm hands it to a sleeping or new M) -> IDLE ->
 *     RUNNING (acquirep on that M), or TRANSIT -> GCSTOP (a stop-the-world
 *     took it first: the M goes back to sleep) */
/* The most Ps (HLMAXPROCS; the CPU count is capped to it). */
#define SCHED_MAXPROCS 1024

enum pstatus {
  P_IDLE = 0,
  P_RUNNING,
  P_SYSCALL,
  P_PREEMPTED,
  P_GCSTOP, /* stopped for a stop-the-world (proc.c stw_stop) */
  P_TRANSIT, /* handed to an M that has not woken yet (startm) */
};

typedef struct g g_t;
typedef struct m m_t;
typedef struct p p_t;

/* Where a G's stack came from (stack.c). */
enum stack_kind {
  STACK_NONE = 0,
  STACK_MMAP,  /* guard page below: [map, map + STACK_GUARD) faults */
  STACK_SLAB,  /* no guard (kernel without guard markers, past the mapping
                  budget): a canary below lo, checked at each switch */
  STACK_NATIVE /* an M's thread stack (g0) */
};

typedef struct stack {
  uintptr_t lo, hi; /* usable range: sp starts at hi, must stay above lo */
  uintptr_t map;    /* STACK_MMAP: mapping base (guard page first) */
  size_t mapsize;
  uint8_t kind;
  uint8_t dirty; /* used since its pages were last released */
  uint8_t slab;  /* carved from a slab (stack.c) */
} stack_t_;

struct g {
  void *sp;      /* saved stack pointer while not running */
  stack_t_ stack;
  int64_t goid;
  _Atomic uint32_t status; /* enum gstatus */
  uint32_t waitreason;     /* enum waitreason, while WAITING */
  int64_t waitsince;       /* nanotime when it started waiting */
  m_t *m;                  /* M running it (RUNNING/SYSCALL) */
  m_t *lockedm;            /* M it is wired to (hl_lock_os_thread) */
  uint32_t lockcount;      /* nested hl_lock_os_thread calls */
  void (*fn)(void *);
  void *arg;               /* until the G starts: a collector root */
  uintptr_t startarg;      /* arg as created, for the goroutine dump */
  g_t *schedlink;          /* run queue / free list link */
  /* Parking protocol (used by channels, select, sync, timers): */
  void *param;             /* set by the waker before ready */
  void *waiting;           /* the sudog(s) the G waits on */
  _Atomic uint32_t selectdone;
  void *timer;             /* sleep / timeout timer of this G */
  /* Sanitizer fiber state (ctx.c). */
  void *asan_fake_stack;
  void *tsan_fiber;
  g_t *alllink;            /* allgs list (sched.allglock) */
  /* Collector state (gc/): allocation credit in bytes (negative: debt to
   * pay by assisting), and whether this is a runtime goroutine (mark
   * worker, sweeper, finalizer runner: not counted by hl_numgoroutine). */
  int64_t gcassistbytes;
  uint32_t gcassistcycle; /* the cycle gcassistbytes counts for */
  bool system;
};

/* Post-switch actions run on g0 after a G switches away (m->after). */
enum after_action {
  AFTER_NONE = 0,
  AFTER_PARK,    /* WAITING; call after_unlock(g, after_arg) */
  AFTER_YIELD,   /* RUNNABLE; back on a run queue */
  AFTER_YIELD_NEXT, /* RUNNABLE; runnext: the P's next G after what
                     * schedule() picks first (gosched_next) */
  AFTER_EXIT,    /* DEAD; free the G */
  AFTER_EXITSYSCALL, /* came back from a syscall without a P */
  AFTER_PREEMPTED,   /* lost its P while running */
  AFTER_YIELD_DIRECT, /* (on the next G) queue after_g: it yielded to us */
  AFTER_GO_DIRECT,    /* (on a new G) put after_g, its creator, in runnext */
  AFTER_PARK_DIRECT,  /* (on the next G) as AFTER_PARK, for after_g */
  AFTER_EXIT_DIRECT,  /* (on the next G) free after_g: it exited */
};

struct m {
  g_t g0;                 /* the thread's own stack: scheduler context */
  g_t *curg;              /* G running on this M (NULL on g0) */
  p_t *p;                 /* attached P (NULL while idle or in syscall) */
  _Atomic(p_t *) nextp;   /* P handed over by startm (release/acquire) */
  p_t *oldp;              /* P held before a syscall */
  int64_t id;
  /* Runtime critical sections of this thread: the preemption signal
   * leaves a thread alone while locks != 0. Only this thread writes it. */
  volatile int32_t locks;
  bool spinning;          /* looking for work (counted in nmspinning) */
  bool idle;              /* on the idle M list */
  _Atomic uint32_t note;  /* futex word: 0 asleep/clear, 1 woken */
  m_t *schedlink;         /* idle M list (sched.lock) */
  m_t *alllink;           /* allm list */
  g_t *lockedg;           /* G wired to this M */
  /* post-switch action */
  uint32_t after;
  bool (*after_unlock)(g_t *gp, void *arg);
  void *after_arg;
  g_t *after_g;
  mcache_t *mcache;       /* cache used while this M holds no P */
  mcache_t *held_mcache;  /* a P's cache kept when the P was taken from
                             a hogging G (preempt.c); tls_mcache */
  uint64_t rand;          /* per-M random state */
  pthread_t thread;
  int tid;
  void *tsan_fiber;       /* g0's fiber */
  _Atomic int64_t syscallwhen;
  _Atomic uint32_t preempt_request; /* set by sysmon before SIGURG */
  /* Suspension for the collector (preempt.c sched_suspend_g): the
   * scanner sets suspend_g and suspend_request, the signal handler saves
   * the interrupted registers and answers in suspend_ack (1: suspended,
   * 2: declined), then waits until suspend_request is cleared. */
  _Atomic(g_t *) suspend_g;
  _Atomic uint32_t suspend_request;
  _Atomic uint32_t suspend_ack;
  uintptr_t suspend_sp;
  uintptr_t suspend_regs[32];
  int suspend_nregs;
};

struct p {
  int32_t id;
  _Atomic uint32_t status; /* enum pstatus */
  _Atomic(m_t *) m;        /* M holding it (RUNNING), NULL otherwise */
  _Atomic uint32_t schedtick; /* per schedule (owner; sysmon reads) */
  uint32_t preempt_tick;   /* schedtick when sysmon asked to preempt */
  /* set by sysmon when the running G overstayed: its next runtime call
   * yields (cooperative); the signal comes only if it makes none */
  _Atomic uint32_t preempt_coop;
  _Atomic uint32_t syscalltick; /* incremented per syscall (owner) */
  /* run queue: a lock-free ring. The owner puts at tail and gets at head;
   * thieves take from head with CAS. runnext runs before the ring. */
  _Atomic uint32_t runqhead;
  _Atomic uint32_t runqtail;
  _Atomic(g_t *) runq[RUNQ_SIZE];
  _Atomic(g_t *) runnext;
  /* dead Gs with their stacks, reused by newproc (owner only) */
  g_t *gfree;
  int32_t ngfree;
  /* goroutine ids handed out by newproc1: [goidcache, goidcacheend),
   * a batch of GOID_BATCH taken from sched.goidgen (owner only) */
  int64_t goidcache, goidcacheend;
  /* user goroutines created and exited on this P: written by the owner
   * only (load + store-release, no read-modify-write), summed by
   * hl_numgoroutine and checkdead (see gcount in proc.c) */
  _Atomic int64_t ncreated;
  _Atomic int64_t nexited;
  mcache_t *mcache;        /* allocation cache of Gs running here */
  /* given to the P when a hogging G keeps its mcache (preempt.c);
   * written by sysmon, taken by the preemption signal handler */
  _Atomic(mcache_t *) spare_mcache;
  p_t *link;               /* idle P list (sched.lock) */
  /* sysmon's view (sysmon only) */
  uint32_t sysmon_schedtick;
  int64_t sysmon_schedwhen;
  uint32_t sysmon_syscalltick;
  int64_t sysmon_syscallwhen;
  void *timers;            /* timer heap (timer.c), timerslock */
  hl_lock_t timerslock;
  _Atomic int64_t timer0;  /* earliest deadline in the heap, 0: none */
  uint32_t timerpoll;      /* timers_poll calls (owner only) */
  bool timerkick;          /* timers due: schedule() runs them (owner) */
  struct gcache *gc;       /* collector's per-P state (gc/), owner only */
};

/* Global scheduler state. */
typedef struct schedt {
  hl_lock_t lock; /* idle M/P lists, global run queue, counters below */
  m_t *midle;
  int32_t nmidle;
  int32_t mcount;
  p_t *pidle;
  _Atomic int32_t npidle;
  _Atomic int32_t nmspinning;
  _Atomic int32_t netpoll_blocked; /* an M is blocked in netpoll */
  _Atomic int64_t coarse_now; /* nanotime, refreshed by sysmon */
  g_t *runqhead, *runqtail;
  _Atomic int32_t runqsize;
  g_t *gfree; /* dead Gs beyond the per-P caches */
  _Atomic int32_t ngfree; /* under lock; read without it as a hint */
  _Atomic int64_t goidgen; /* last id handed to a P's goidcache */
  _Atomic int64_t nsystem; /* runtime goroutines (go_system) alive */
  _Atomic int64_t mnext;
  int32_t nmsys; /* Ms not counted for deadlock (sysmon) */
  int32_t nmidlelocked; /* wired Ms asleep waiting for their G */
  hl_lock_t allglock;
  g_t *allgs;
  m_t *allm;
  int gomaxprocs;
  p_t **allp;
  size_t stacksize;
  _Atomic int started;
  m_t *m0;
  g_t *main_g;
  /* stop-the-world (proc.c stw_stop): Ps still to stop (sched.lock);
   * the stopper sleeps on stopnote until they are */
  _Atomic uint32_t gcwaiting;
  int32_t stopwait;
  _Atomic uint32_t stopnote;
  _Atomic int main_done;
  int main_result;
} schedt_t;

#endif
