/*
 * sched/stack.c — goroutine stacks.
 *
 * Entry points: stack_alloc, stack_free, stack_trim, stack_check,
 * stack_set_canary, stack_overflow_init, stack_thread_init.
 *
 * C stacks cannot move (pointers into them are everywhere), so each
 * goroutine gets a fixed virtual reservation (HLDEBUG=stacksize, default
 * 256 KiB) that the kernel commits page by page as it is touched: a parked
 * goroutine costs the pages it touched, not its reservation.
 *
 * Every stack has a guard page below it: running off the stack faults, and
 * the SIGSEGV handler (on an alternate stack) reports "goroutine N: stack
 * overflow". How the guard is made:
 *  1. Guard markers (Linux >= 6.13, MADV_GUARD_INSTALL): stacks are carved
 *     from slabs of 64 (one mapping each) and each guard page is a marker
 *     in the page tables — no extra mapping. This is the default where the
 *     kernel has it: 1,000,000 goroutines need 15,625 mappings.
 *  2. Otherwise a mapping per stack with a PROT_NONE page (mprotect). Linux
 *     caps a process at vm.max_map_count mappings (65530 on Debian) and
 *     such a stack costs two; past half of that limit (or when a mapping
 *     fails), stacks come from slabs without guards and a canary word at
 *     the bottom of each is checked every time its goroutine is switched
 *     out — an overflow is then caught at the next switch, after it may
 *     have written into the neighbouring stack. One notice goes to stderr
 *     the first time.
 * Trade-off of (2): a guard catches an overflow at the faulting
 * instruction; the canary catches it late and costs a resident page at the
 * bottom of every stack. Dead stacks are reused (with their G) and their
 * touched pages beyond the first are released when a P goes idle.
 */
#include "sched/internal.h"
#include "base/os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLAB_STACKS 64
#define STACK_CANARY 0x5a17c0ffee0ddba1ull
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* 1: guard markers work, 0: not supported, -1: not tried yet */
static _Atomic int guard_markers = -1;

static _Atomic int64_t guarded_stacks;
static int64_t guarded_limit;
static _Atomic int slab_notice;
static hl_lock_t slab_lock;
static uintptr_t *slab_free; /* free slab stacks, linked through word 0 of
                                their lowest page (slab_lock) */

static int64_t read_max_map_count(void) {
  int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 65530;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 65530;
  buf[n] = 0;
  int64_t v = 0;
  for (char *p = buf; *p >= '0' && *p <= '9'; p++)
    v = v * 10 + (*p - '0');
  return v > 0 ? v : 65530;
}

/* Takes a stack from the slab free list, making a new slab of 64 if it is
 * empty. With guard markers each slot is [guard page | stack]. */
static int stack_alloc_slab(stack_t_ *st) {
  size_t size = sched.stacksize;
  size_t slot = size + STACK_GUARD;
  hl_lock(&slab_lock);
  if (!slab_free) {
    char *chunk = os_map(slot * SLAB_STACKS, 0);
    if (!chunk) {
      hl_unlock(&slab_lock);
      return -ENOMEM;
    }
    int gm = atomic_load_relaxed(&guard_markers);
    for (int i = SLAB_STACKS; i-- > 0;) {
      char *s0 = chunk + (size_t)i * slot;
      if (gm != 0) {
        int r = madvise(s0, STACK_GUARD, MADV_GUARD_INSTALL);
        gm = r == 0;
        atomic_store_relaxed(&guard_markers, gm);
      }
      /* the free-list link lives in the stack's top word */
      uintptr_t *link = (uintptr_t *)(s0 + slot) - 1;
      *link = (uintptr_t)slab_free;
      slab_free = link;
    }
  }
  uintptr_t *link = slab_free;
  slab_free = (uintptr_t *)*link;
  hl_unlock(&slab_lock);
  uintptr_t top = (uintptr_t)(link + 1);
  st->map = top - slot;
  st->mapsize = slot;
  st->hi = top;
  if (atomic_load_relaxed(&guard_markers) == 1) {
    st->kind = STACK_MMAP; /* guarded: [map, map + STACK_GUARD) faults */
    st->lo = st->map + STACK_GUARD;
    st->slab = 1;
  } else {
    st->kind = STACK_SLAB;
    st->lo = st->map + STACK_GUARD + 64; /* canary at lo - 64 */
    st->slab = 1;
  }
  return 0;
}

int stack_alloc(stack_t_ *st) {
  if (atomic_load_relaxed(&guard_markers) != 0)
    return stack_alloc_slab(st); /* markers: tried, or worked */
  size_t size = sched.stacksize;
  if (!guarded_limit)
    guarded_limit = read_max_map_count() / 4; /* 2 mappings each: half */
  if (atomic_load_relaxed(&guarded_stacks) < guarded_limit) {
    /* through base/os: counted in the mapped bytes and subject to fault
     * injection (HLDEBUG=failmmap, maplimit) like every runtime mapping */
    char *p = os_map_guarded(size, STACK_GUARD);
    if (p) {
      atomic_add_relaxed(&guarded_stacks, 1);
      st->kind = STACK_MMAP;
      st->slab = 0;
      st->map = (uintptr_t)p;
      st->mapsize = size + STACK_GUARD;
      st->lo = (uintptr_t)p + STACK_GUARD;
      st->hi = (uintptr_t)p + size + STACK_GUARD;
      return 0;
    }
    /* refused (out of memory): a slab may still have a free stack */
    return stack_alloc_slab(st);
  }
  int expected = 0;
  if (atomic_cas_strong_relaxed(&slab_notice, &expected, 1))
    hl_printf(2,
              "heaplab: more goroutine stacks than vm.max_map_count allows "
              "with guard pages; new stacks come from slabs without guard "
              "pages (overflow is detected by a canary at each switch)\n");
  return stack_alloc_slab(st);
}

void stack_free(stack_t_ *st) {
  if (st->slab) {
    madvise((void *)st->map, st->mapsize, MADV_DONTNEED); /* keeps guards */
    uintptr_t *link = (uintptr_t *)st->hi - 1;
    hl_lock(&slab_lock);
    *link = (uintptr_t)slab_free;
    slab_free = link;
    hl_unlock(&slab_lock);
  } else if (st->kind == STACK_MMAP) {
    os_unmap((void *)st->map, st->mapsize);
    atomic_sub_relaxed(&guarded_stacks, 1);
  }
  st->kind = STACK_NONE;
}

void stack_trim(stack_t_ *st) {
  /* keep the top OS page (the entry frame), release the rest */
  uintptr_t keep = st->hi - 4096;
  uintptr_t from = st->lo & ~(uintptr_t)4095;
  if (st->kind == STACK_SLAB)
    from += 4096; /* keep the page holding the canary */
  if (keep > from)
    madvise((void *)from, keep - from, MADV_DONTNEED);
}

void stack_set_canary(g_t *gp) {
  if (gp->stack.kind == STACK_SLAB)
    *(uint64_t *)(gp->stack.lo - 64) = STACK_CANARY ^ (uint64_t)(uintptr_t)gp;
}

void stack_check(g_t *gp) {
  if (gp->stack.kind == STACK_SLAB &&
      *(uint64_t *)(gp->stack.lo - 64) !=
          (STACK_CANARY ^ (uint64_t)(uintptr_t)gp)) {
    hl_printf(2, "goroutine %ld: stack overflow (canary of its slab stack "
                 "overwritten; raise HLDEBUG=stacksize)\n",
              (long)gp->goid);
    goroutine_dump(2);
    _exit(2);
  }
}

/* ---------------------------------------------------- overflow handler */

static struct sigaction old_segv, old_bus;

static void segv_handler(int sig, siginfo_t *si, void *uc) {
  uintptr_t addr = (uintptr_t)si->si_addr;
  m_t *mp = tls_m;
  g_t *gp = mp ? mp->curg : NULL;
  if (gp && gp->stack.kind == STACK_MMAP && addr >= gp->stack.map &&
      addr < gp->stack.map + STACK_GUARD + 4096) {
    hl_printf(2, "goroutine %ld: stack overflow (stack of %zu KiB; raise "
                 "HLDEBUG=stacksize)\n",
              (long)gp->goid, (size_t)(gp->stack.hi - gp->stack.lo) >> 10);
    goroutine_dump(2);
    _exit(2);
  }
  /* not ours: let the previous handler (or the default) deal with it */
  struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
  if (old->sa_flags & SA_SIGINFO && old->sa_sigaction) {
    old->sa_sigaction(sig, si, uc);
    return;
  }
  if (old->sa_handler != SIG_IGN && old->sa_handler != SIG_DFL &&
      old->sa_handler) {
    old->sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void stack_overflow_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
}

void stack_thread_init(void) {
  /* Ms start with every signal blocked (os_thread_start), and a fault
   * while SIGSEGV is blocked kills the process without running the
   * overflow handler. */
  sigset_t faults;
  sigemptyset(&faults);
  sigaddset(&faults, SIGSEGV);
  sigaddset(&faults, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
  size_t sz = 64 << 10;
  void *alt = os_map(sz, 0);
  if (!alt)
    return;
  stack_t ss = {.ss_sp = alt, .ss_size = sz, .ss_flags = 0};
  sigaltstack(&ss, NULL);
}
