/*
 * sched/dump.c — goroutine dumps and deadlock detection.
 *
 * Entry points: goroutine_dump, sched_checkdead.
 *
 * goroutine_dump prints every goroutine: id, status, wait reason and for
 * how long, and where it was created, in the spirit of Go's traceback
 * ("goroutine 7 [chan receive, 3 minutes]:"). It runs on fatal errors
 * (hl_throw's hook), on SIGQUIT and for a deadlock; it allocates nothing.
 *
 * Deadlock (Go's checkdead): when the last M goes idle while goroutines
 * exist, no timer is pending and nobody waits on the network, nothing can
 * ever wake them: "fatal error: all goroutines are asleep - deadlock!",
 * the dump, exit status 2.
 */
#include "sched/internal.h"
#include "base/os.h"

#include <unistd.h>

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
};

static const char *status_name(uint32_t st) {
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

/* Hook for a richer per-goroutine traceback (dump_stack.c). */
void (*goroutine_dump_stack_hook)(int fd, g_t *gp);

void goroutine_dump(int fd) {
  int64_t now = os_nanotime();
  /* no lock: the dump runs in fatal paths where the lock may be held;
   * allgs only grows at its head, so walking it is safe */
  for (g_t *gp = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE); gp;
       gp = gp->alllink) {
    uint32_t st = atomic_load_relaxed(&gp->status);
    if (st == G_DEAD || st == G_IDLE)
      continue;
    if (st == G_WAITING) {
      int64_t mins = (now - gp->waitsince) / (60 * 1000000000LL);
      const char *why =
          gp->waitreason < WAIT_COUNT_ ? reasons[gp->waitreason] : "?";
      if (mins > 0)
        hl_printf(fd, "goroutine %ld [%s, %ld minutes]:\n", (long)gp->goid,
                  why, (long)mins);
      else
        hl_printf(fd, "goroutine %ld [%s]:\n", (long)gp->goid, why);
    } else {
      hl_printf(fd, "goroutine %ld [%s]:\n", (long)gp->goid, status_name(st));
    }
    if (goroutine_dump_stack_hook)
      goroutine_dump_stack_hook(fd, gp);
    else
      hl_printf(fd, "\tfunction %p(%p)\n", (void *)(uintptr_t)gp->fn, gp->arg);
    hl_printf(fd, "\n");
  }
}

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
  if (atomic_load_relaxed(&sched.ngoroutines) == 0)
    return;
  if (timers_next_all() != 0)
    return; /* a timer will wake somebody */
  if (atomic_load_relaxed(&netpoll_waiters) > 0)
    return;
  /* every goroutine waits on something no one can do */
  hl_printf(2, "fatal error: all goroutines are asleep - deadlock!\n\n");
  goroutine_dump(2);
  _exit(2);
}
