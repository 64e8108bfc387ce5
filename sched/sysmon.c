/*
 * sched/sysmon.c — the system monitor: a thread of its own (no P) that
 * watches the Ps.
 *
 * Entry points: sysmon_start.
 *
 * Loop (Go's sysmon): sleep 20 us, doubling after 50 idle rounds up to
 * 10 ms, and on each round:
 *  1. retake: a P in SYSCALL whose syscall tick has not moved for one
 *     round and has been in the syscall > 20 us is taken (CAS SYSCALL ->
 *     IDLE) and handed to another M if there is work for it;
 *  2. preempt: a P whose G ran 10 ms without a safe point is taken from
 *     it (preempt.c);
 *  3. poll the network if nobody did for 10 ms, injecting what is ready.
 */
#include "sched/internal.h"
#include "base/os.h"

#define SYSMON_MIN_US 20
#define SYSMON_MAX_US 10000
#define SYSCALL_RETAKE_NS 20000

static void handoff_retaken(p_t *pp);

static bool retake(int64_t now) {
  bool did = false;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = sched.allp[i];
    uint32_t st = atomic_load_acquire(&pp->status);
    if (st != P_SYSCALL)
      continue;
    uint32_t tick = atomic_load_relaxed(&pp->syscalltick);
    if (tick != pp->sysmon_syscalltick) {
      pp->sysmon_syscalltick = tick;
      pp->sysmon_syscallwhen = now;
      continue;
    }
    if (now - pp->sysmon_syscallwhen < SYSCALL_RETAKE_NS)
      continue;
    /* nothing else to run and other Ps idle: leave it (Go does too) */
    if (runqempty(pp) && atomic_load_relaxed(&sched.runqsize) == 0 &&
        atomic_load_relaxed(&sched.nmspinning) +
                atomic_load_relaxed(&sched.npidle) >
            0 &&
        !atomic_load_relaxed(&pp->timer0))
      continue;
    /* acquire: pairs with the release store of P_SYSCALL. */
    if (atomic_cas_strong_acq_rel(&pp->status, &st, P_IDLE)) {
      atomic_store_relaxed(&pp->m, NULL);
      handoff_retaken(pp);
      did = true;
    }
  }
  return did;
}

void sysmon_handoffp(p_t *pp);

static void handoff_retaken(p_t *pp) { sysmon_handoffp(pp); }

static void *sysmon_main(void *arg) {
  (void)arg;
  int idle = 0;
  int64_t delay = SYSMON_MIN_US;
  int64_t lastpoll = os_nanotime();
  for (;;) {
    if (idle == 0)
      delay = SYSMON_MIN_US;
    else if (idle > 50)
      delay *= 2;
    if (delay > SYSMON_MAX_US)
      delay = SYSMON_MAX_US;
    os_nanosleep(delay * 1000);
    int64_t now = os_nanotime();
    atomic_store_relaxed(&sched.coarse_now, now);
    bool did = retake(now);
    preempt_check(now);
    schedtrace_tick(now);
    if (netpoll_inited() && atomic_load_relaxed(&netpoll_waiters) > 0 &&
        now - lastpoll > 10000000) {
      lastpoll = now;
      g_t *list = netpoll(0);
      if (list) {
        injectglist(list);
        did = true;
      }
    }
    idle = did ? 0 : idle + 1;
  }
  return NULL;
}

void sysmon_start(void) {
  hl_lock(&sched.lock);
  sched.nmsys++; /* sysmon is an M for nobody: not counted for deadlock */
  sched.mcount++;
  hl_unlock(&sched.lock);
  if (os_thread_start(sysmon_main, NULL, 256 << 10) != 0)
    hl_throw("cannot create the sysmon thread");
}
