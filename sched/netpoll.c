/*
 * sched/netpoll.c — the network poller (epoll) and the goroutine-blocking
 * I/O calls: hl_fd_open, hl_fd_close, hl_socket, hl_read, hl_write,
 * hl_write_all, hl_accept, hl_connect.
 *
 * Entry points for the scheduler: netpoll, netpoll_inited, netpoll_break,
 * netpoll_waiters.
 *
 * Every registered fd has a poll descriptor (pd): a lock, and per
 * direction (read, write) an edge counter and a list of parked waiters.
 * The fd is registered edge-triggered (EPOLLET), so the kernel reports a
 * change once; the counter tells a goroutine whether an edge arrived
 * since it tried its I/O. Protocol (per direction), all steps on the
 * lists and counters under pd->lock:
 *  I/O (hl_read, ...):
 *   1. read the edge counter (pd_edges), then try the I/O; if it does
 *      not return EAGAIN, done;
 *   2. with a deadline: add the wait's timer now (before pd->lock: the
 *      timer lock comes first in the lock order, see step 6);
 *   3. lock; if the pd is closing: EBADF. If the counter moved since
 *      step 1: unlock, go to 1 (an edge arrived while or after the I/O
 *      failed: the retry tells). If the timer already fired: ETIMEDOUT.
 *      Else append a wait record (on the goroutine's stack) to the list
 *      and park; the park's unlock callback releases pd->lock once the
 *      goroutine is WAITING;
 *   4. woken with the record's result: READY (go to 1), TIMEOUT, CLOSED;
 *      then timer_del, which also waits for a timer callback still
 *      running with the record in hand.
 *  notify (netpoll, for each epoll event): lock; advance the counter;
 *   take every waiter (each retries its I/O: with edge triggering, waking
 *   only one could strand the others when one edge brought work for
 *   several, e.g. two pending connections); unlock.
 *  deadline (timer callback, timer lock held): lock; if the record is
 *   still listed, unlist it with TIMEOUT and ready its goroutine; if it is
 *   not listed yet, mark it TIMEOUT so step 3 does not park; unlock.
 *  close (hl_fd_close): lock; mark closing; take every waiter of both
 *   directions with CLOSED; unlock; ready them.
 *  Never lost: an edge after step 1's counter read either finds the
 *  waiter listed (wakes it) or moved the counter, which step 3 sees under
 *  the same lock. (A single `ready` flag, set only when nobody was
 *  listed, lost wake-ups: goroutine A fails its read, the edge wakes the
 *  waiters already listed and sets nothing, A lists itself and sleeps
 *  through the only edge. It hung one of test_echo's 10,000 goroutines
 *  waiting at a shared pipe until its 60 s deadline; a per-waiter
 *  snapshot of a counter cannot be consumed by another waiter as a flag
 *  can.)
 *
 * Life-time (Go's fdMutex reference count and pollcache, in one word):
 *  5. pd->refs counts the open registration (1) plus every I/O call in
 *     flight. A call takes a reference with a CAS that never raises 0
 *     (0 means the pd is free), then checks that the fd still maps to
 *     this pd and that it is not closing. hl_fd_close removes the fd from
 *     the table, wakes the waiters, drops the open reference under
 *     pd->lock and, if calls are still in flight, parks until the last
 *     one drops its reference (and wakes it); only then close(2) and the
 *     pd goes back to the cache. So close(2) never runs while a call of
 *     this package may still use the fd number (no I/O on a reused
 *     number), and a pd is never reused while a call holds it.
 *  Pds are type-stable: they are never given back to the allocator, only
 *  to a free list. An epoll event for a pd that was closed (the event was
 *  already queued) or reused for a new fd touches valid memory and at
 *  worst reports a spurious readiness, which step 1 tolerates (hl_connect
 *  checks that it is really connected).
 *  6. Lock order: timerslock -> pd->lock -> sched.lock. The deadline
 *     callback runs under its P's timerslock and takes pd->lock; nothing
 *     takes a timer lock while holding pd->lock. Readying goroutines
 *     happens after pd->lock is released, except in the deadline callback
 *     (goready takes no pd lock).
 *
 * The fd table maps fd -> pd without a lock for readers: a directory of
 * PD_CHUNK-entry chunks sized at start-up for the largest fd the kernel
 * can hand out (fs.nr_open); chunks are added under table_lock and never
 * move or go away. (Rejected: one array that doubles — readers then need
 * the lock, or the old array must outlive them.)
 *
 * netpoll_waiters counts parked waiters, so that idle Ms know whether to
 * block in epoll_wait and the deadlock detector knows someone may still
 * be woken.
 *
 * errno: a call that parks may return on another thread, so errno is read
 * and set only in small non-inlined helpers (see "errno and syscalls"
 * below); internally results are -errno values.
 */
#include "sched/internal.h"
#include "base/os.h"
#include "heaplab/alloc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { PD_READ = 0, PD_WRITE = 1 };
/* wait record states and results */
enum { PW_INIT = 0, PW_LISTED, PW_DONE };
enum { PW_NONE = 0, PW_READY, PW_TIMEOUT, PW_CLOSED };

typedef struct polldesc polldesc_t;

/* A parked I/O call, on its goroutine's stack. All fields after `gp` are
 * protected by pd->lock. */
typedef struct pwait {
  g_t *gp;
  polldesc_t *pd;
  struct pwait *next, *prev; /* in the direction's list while LISTED */
  uint8_t dir;
  uint8_t state;  /* PW_INIT -> PW_LISTED -> PW_DONE */
  uint8_t result; /* why it was woken (or PW_TIMEOUT set while INIT) */
  hl_timer_t timer;
} pwait_t;

typedef struct pddir {
  pwait_t *head, *tail;   /* parked waiters (pd->lock) */
  _Atomic uint32_t edges; /* edges seen (written under pd->lock) */
} pddir_t;

/* Invariants: refs > 0 while the pd is in the table or a call holds it;
 * refs == 0 means free (on the free list, or on its way there: no
 * reference can be taken any more). closing is set once per use, under
 * lock, before the pd leaves the table. */
struct polldesc {
  hl_lock_t lock;
  _Atomic int32_t fd;        /* written when (re)used; read lock-free */
  _Atomic uint32_t refs;     /* see step 5 */
  _Atomic uint32_t closing;  /* written under lock, read lock-free */
  bool pollable;             /* registered with epoll (not a plain file) */
  bool sock;                 /* a socket (written with send) */
  pddir_t dir[2];            /* lock */
  g_t *closer;               /* hl_fd_close waiting for refs (lock) */
  polldesc_t *next_free;     /* free list (cache_lock) */
};

#define PD_CHUNK 1024

HL_HIDDEN _Atomic int64_t netpoll_waiters;
static int epfd = -1;
static int breakfd = -1;
static _Atomic int inited;
static hl_lock_t init_lock;
static hl_lock_t table_lock; /* installs chunks and entries */
static _Atomic(_Atomic(polldesc_t *) *) *pdtab; /* directory of chunks */
static size_t pdtab_chunks;
static hl_lock_t cache_lock;
static polldesc_t *pd_free_list; /* cache_lock */
static _Atomic int no_pwait2;    /* epoll_pwait2 unavailable (ENOSYS) */

static void pd_release(polldesc_t *pd);

bool netpoll_inited(void) {
  /* acquire: pairs with the release in netpoll_init (epfd, the table). */
  return atomic_load_acquire(&inited) != 0;
}

/* The largest number of fds a process can have (fs.nr_open). */
static size_t read_nr_open(void) {
  size_t v = 0;
  int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
      v = v * 10 + (size_t)(buf[i] - '0');
  }
  if (v == 0)
    v = 1u << 20; /* the kernel's default */
  if (v > (size_t)INT_MAX)
    v = (size_t)INT_MAX;
  return v;
}

static void netpoll_init(void) {
  if (netpoll_inited())
    return;
  hl_lock(&init_lock);
  if (!netpoll_inited()) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    breakfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd < 0 || breakfd < 0)
      hl_throwf("netpoll: cannot create epoll/eventfd (errno %d)", errno);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev) < 0)
      hl_throwf("netpoll: cannot register the eventfd (errno %d)", errno);
    pdtab_chunks = (read_nr_open() + PD_CHUNK - 1) / PD_CHUNK;
    size_t bytes = pdtab_chunks * sizeof *pdtab;
    bytes = (bytes + os_page_size() - 1) & ~(os_page_size() - 1);
    pdtab = os_map(bytes, 0); /* zeroed; pages committed when touched */
    if (!pdtab)
      hl_throw("netpoll: out of memory for the fd table");
    /* release: pairs with the acquire in netpoll_inited. */
    atomic_store_release(&inited, 1);
  }
  hl_unlock(&init_lock);
}

void netpoll_break(void) {
  uint64_t one = 1;
  if (netpoll_inited())
    (void)!write(breakfd, &one, sizeof one);
}

/* ------------------------------------------------------------ fd table */

static polldesc_t *table_load(int fd) {
  if (fd < 0 || (size_t)fd / PD_CHUNK >= pdtab_chunks)
    return NULL;
  /* acquire: pairs with the release in table_slot (the chunk is zeroed). */
  _Atomic(polldesc_t *) *c = atomic_load_acquire(&pdtab[fd / PD_CHUNK]);
  /* acquire: pairs with the release in table_store (the pd's fields). */
  return c ? atomic_load_acquire(&c[fd % PD_CHUNK]) : NULL;
}

/* The table entry of fd, creating its chunk. Caller holds table_lock.
 * NULL: fd out of range (*err = -EBADF) or no memory (-ENOMEM). */
static _Atomic(polldesc_t *) *table_slot(int fd, int *err) {
  if (fd < 0 || (size_t)fd / PD_CHUNK >= pdtab_chunks) {
    *err = -EBADF;
    return NULL;
  }
  _Atomic(polldesc_t *) *c = atomic_load_relaxed(&pdtab[fd / PD_CHUNK]);
  if (!c) {
    c = hl_calloc(PD_CHUNK, sizeof *c);
    if (!c) {
      *err = -ENOMEM;
      return NULL;
    }
    /* release: pairs with the acquire in table_load. */
    atomic_store_release(&pdtab[fd / PD_CHUNK], c);
  }
  return &c[fd % PD_CHUNK];
}

/* ------------------------------------------------------- pd life-time */

static polldesc_t *pd_alloc(int fd) {
  hl_lock(&cache_lock);
  polldesc_t *pd = pd_free_list;
  if (pd)
    pd_free_list = pd->next_free;
  hl_unlock(&cache_lock);
  if (!pd) {
    pd = hl_calloc(1, sizeof *pd); /* never freed: pds are type-stable */
    if (!pd)
      return NULL;
  }
  /* a stale epoll event may be notifying this pd right now: reset the
   * lock-protected state under the lock (the lock itself is never
   * re-initialised) */
  hl_lock(&pd->lock);
  memset(pd->dir, 0, sizeof pd->dir);
  pd->closer = NULL;
  pd->pollable = true;
  pd->sock = false;
  atomic_store_relaxed(&pd->closing, 0);
  /* release: pairs with the acquire in netpoll (the pd is initialised
   * before any event for it) */
  atomic_store_release(&pd->fd, fd);
  hl_unlock(&pd->lock);
  /* relaxed: published by the release store into the table. */
  atomic_store_relaxed(&pd->refs, 1); /* the open reference */
  return pd;
}

static void pd_free(polldesc_t *pd) {
  HL_ASSERT(atomic_load_relaxed(&pd->refs) == 0);
  hl_lock(&cache_lock);
  pd->next_free = pd_free_list;
  pd_free_list = pd;
  hl_unlock(&cache_lock);
}

/* Takes a reference to fd's pd for an I/O call; NULL (the fd is not
 * registered, or is being closed). */
static polldesc_t *pd_acquire(int fd) {
  polldesc_t *pd = table_load(fd);
  if (!pd)
    return NULL;
  uint32_t r = atomic_load_relaxed(&pd->refs);
  do {
    if (r == 0)
      return NULL; /* freed meanwhile: the fd was closed */
    /* acquire: pairs with the release of the last pd_release before the
     * pd was reused (its new fields are seen). */
  } while (!atomic_cas_weak_acq_rel(&pd->refs, &r, r + 1));
  /* the pd may have been closed and reused for another fd in between */
  if (table_load(fd) != pd || atomic_load_relaxed(&pd->fd) != fd ||
      atomic_load_acquire(&pd->closing)) {
    pd_release(pd);
    return NULL;
  }
  return pd;
}

/* Drops a reference. The last one (only possible once hl_fd_close or an
 * eviction dropped the open reference) wakes the closer, or frees the pd
 * when nobody waits to close it. */
static void pd_release(polldesc_t *pd) {
  /* acq_rel: the release orders this call's uses of the pd before the
   * closer's close(2) and reuse; the acquire pairs with the other
   * droppers' releases. */
  if (atomic_sub_acq_rel(&pd->refs, 1) != 1)
    return;
  hl_lock(&pd->lock);
  g_t *closer = pd->closer;
  pd->closer = NULL;
  hl_unlock(&pd->lock);
  if (closer)
    goready(closer); /* it closes the fd and frees the pd */
  else
    pd_free(pd);
}

/* --------------------------------------------------------------- notify */

/* Caller holds pd->lock. Unlinks w. */
static void pwait_unlist(polldesc_t *pd, pwait_t *w) {
  pddir_t *d = &pd->dir[w->dir];
  if (w->prev)
    w->prev->next = w->next;
  else
    d->head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    d->tail = w->prev;
  w->next = w->prev = NULL;
  w->state = PW_DONE;
  atomic_sub_relaxed(&netpoll_waiters, 1);
}

/* Caller holds pd->lock. Takes every waiter of direction dir with result
 * `result` and appends their goroutines to the list head..tail (schedlink). The
 * goroutines stay WAITING until the caller readies them, so their records
 * are not touched after this. */
static void pd_take_all(polldesc_t *pd, int dir, uint8_t result, g_t **head,
                        g_t **tail) {
  pddir_t *d = &pd->dir[dir];
  while (d->head) {
    pwait_t *w = d->head;
    g_t *gp = w->gp;
    w->result = result;
    pwait_unlist(pd, w);
    gp->schedlink = NULL;
    if (*tail)
      (*tail)->schedlink = gp;
    else
      *head = gp;
    *tail = gp;
  }
}

/* An edge in direction dir: count it and wake every waiter. */
static void pd_notify(polldesc_t *pd, int dir, g_t **head, g_t **tail) {
  hl_lock(&pd->lock);
  atomic_store_relaxed(&pd->dir[dir].edges,
                       atomic_load_relaxed(&pd->dir[dir].edges) + 1);
  pd_take_all(pd, dir, PW_READY, head, tail);
  hl_unlock(&pd->lock);
}

/* Step 1: the edge count before an I/O attempt. Acquire: pairs with the
 * lock release of the notify that advanced it (an edge counted before
 * the I/O is one whose readiness the I/O sees). */
static inline uint32_t pd_edges(polldesc_t *pd, int dir) {
  return atomic_load_acquire(&pd->dir[dir].edges);
}

static int epoll_wait_ns(struct epoll_event *evs, int max, int64_t block_ns) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35)
  if (!atomic_load_relaxed(&no_pwait2)) {
    struct timespec ts, *tsp = NULL;
    if (block_ns >= 0) {
      ts.tv_sec = (time_t)(block_ns / HL_SECOND);
      ts.tv_nsec = (long)(block_ns % HL_SECOND);
      tsp = &ts;
    }
    int n = epoll_pwait2(epfd, evs, max, tsp, NULL);
    if (n >= 0 || errno != ENOSYS)
      return n;
    atomic_store_relaxed(&no_pwait2, 1);
  }
#endif
  /* epoll_wait counts milliseconds: round up, so a timer is not missed */
  int ms = -1;
  if (block_ns >= 0) {
    int64_t v = (block_ns + HL_MILLISECOND - 1) / HL_MILLISECOND;
    ms = v > INT_MAX ? INT_MAX : (int)v;
  }
  return epoll_wait(epfd, evs, max, ms);
}

g_t *netpoll(int64_t block_ns) {
  if (!netpoll_inited())
    return NULL;
  struct epoll_event evs[128];
  int n = epoll_wait_ns(evs, 128, block_ns);
  g_t *head = NULL, *tail = NULL;
  for (int i = 0; i < n; i++) {
    polldesc_t *pd = evs[i].data.ptr;
    if (!pd) { /* netpoll_break */
      /* once the main goroutine has exited, leave the eventfd readable
       * (level-triggered): every M blocked here returns, m0 among them,
       * which hl_main must return on. (epoll wakes one waiter per event,
       * but re-wakes another while the fd stays ready.) */
      uint64_t v;
      if (!atomic_load_acquire(&sched.main_done))
        (void)!read(breakfd, &v, sizeof v);
      continue;
    }
    /* acquire: pairs with the release in pd_alloc. The kernel orders
     * epoll_ctl before the event, but neither the C memory model nor
     * ThreadSanitizer sees that. */
    (void)atomic_load_acquire(&pd->fd);
    uint32_t e = evs[i].events;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      pd_notify(pd, PD_READ, &head, &tail);
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
      pd_notify(pd, PD_WRITE, &head, &tail);
  }
  for (g_t *gp = head; gp; gp = gp->schedlink)
    /* release: pairs with the scheduler's acquire loads of status. */
    atomic_store_release(&gp->status, G_RUNNABLE);
  return head;
}

/* ------------------------------------------------------------- waiting */

/* Park callback: the goroutine is WAITING and listed; let others see it. */
static bool pd_park_unlock(g_t *gp, void *arg) {
  (void)gp;
  hl_unlock(&((polldesc_t *)arg)->lock);
  return true;
}

/* Deadline timer callback (its P's timerslock held; a P held). */
static void pd_deadline(void *arg) {
  pwait_t *w = arg;
  polldesc_t *pd = w->pd;
  g_t *gp = NULL;
  hl_lock(&pd->lock);
  if (w->state == PW_LISTED) {
    w->result = PW_TIMEOUT;
    gp = w->gp;
    pwait_unlist(pd, w);
  } else if (w->state == PW_INIT) {
    w->result = PW_TIMEOUT; /* step 3 will not park */
  }
  hl_unlock(&pd->lock);
  if (gp)
    goready(gp); /* WAITING until here: nobody else can ready it */
}

/* Waits for an edge in direction dir after the I/O returned EAGAIN;
 * edges0: pd_edges before that I/O. Returns 0 (retry the I/O),
 * -ETIMEDOUT or -EBADF. May resume on another thread: touches no errno
 * (see "errno" above). */
static int pd_wait(polldesc_t *pd, int dir, int64_t deadline,
                   uint32_t edges0) {
  g_t *gp = curg_or_die("hl_read/hl_write/hl_accept/hl_connect");
  if (!pd->pollable) { /* not in epoll: nothing would wake us */
    hl_yield();
    return 0;
  }
  pwait_t w = {.gp = gp, .pd = pd, .dir = (uint8_t)dir};
  if (deadline) {
    if (deadline <= os_nanotime()) {
      /* past: fail unless an edge is pending (the retry may succeed) */
      hl_lock(&pd->lock);
      bool ready = atomic_load_relaxed(&pd->dir[dir].edges) != edges0;
      bool closing = atomic_load_relaxed(&pd->closing);
      hl_unlock(&pd->lock);
      if (closing)
        return -EBADF;
      return ready ? 0 : -ETIMEDOUT;
    }
    w.timer.when = deadline;
    w.timer.f = pd_deadline;
    w.timer.arg = &w;
    timer_add(&w.timer); /* before pd->lock: lock order (step 6) */
  }
  hl_lock(&pd->lock);
  uint8_t result;
  if (atomic_load_relaxed(&pd->closing)) {
    result = PW_CLOSED;
  } else if (atomic_load_relaxed(&pd->dir[dir].edges) != edges0) {
    result = PW_READY;
  } else if (w.result == PW_TIMEOUT) {
    result = PW_TIMEOUT;
  } else {
    pddir_t *d = &pd->dir[dir];
    w.prev = d->tail;
    if (d->tail)
      d->tail->next = &w;
    else
      d->head = &w;
    d->tail = &w;
    w.state = PW_LISTED;
    atomic_add_relaxed(&netpoll_waiters, 1);
    gopark(pd_park_unlock, pd, WAIT_IO); /* unlocks pd->lock */
    /* the waker unlisted w (state DONE) and wrote its result before
     * readying us (goready orders it before this read) */
    result = w.result;
    goto out;
  }
  w.state = PW_DONE; /* a deadline callback from now on leaves w alone */
  hl_unlock(&pd->lock);
out:
  if (deadline)
    timer_del(&w.timer); /* waits for a callback still using w */
  switch (result) {
  case PW_READY:
    return 0;
  case PW_TIMEOUT:
    return -ETIMEDOUT;
  default:
    return -EBADF;
  }
}

/* ---------------------------------------------------- errno and syscalls */

/* errno is per thread, and a goroutine that parks may resume on another
 * thread. glibc declares __errno_location() const, so the compiler
 * computes errno's address once per function and reuses it after a call
 * that parked; it even hoists it out of a retry loop. The goroutine would
 * then read or write the errno of the thread it ran on before. So in this
 * file errno is touched only by the non-inlined helpers below: each makes
 * one system call and turns errno into a -errno result on the thread that
 * made it (sys_*), or sets errno for the caller just before returning to
 * it (fail). Everything in between passes -errno values. */

static HL_NOINLINE ssize_t sys_read(int fd, void *buf, size_t n) {
  ssize_t r = read(fd, buf, n);
  return r < 0 ? -errno : r;
}

/* Sockets are written with send(MSG_NOSIGNAL): a closed peer gives EPIPE,
 * not SIGPIPE (as Go does for every fd but stdout and stderr). */
static HL_NOINLINE ssize_t sys_write(int fd, const void *buf, size_t n,
                                     bool sock) {
  ssize_t r = sock ? send(fd, buf, n, MSG_NOSIGNAL) : write(fd, buf, n);
  return r < 0 ? -errno : r;
}

static HL_NOINLINE int sys_accept(int fd, struct sockaddr *addr,
                                  socklen_t *len) {
  int r = accept4(fd, addr, len, SOCK_CLOEXEC | SOCK_NONBLOCK);
  return r < 0 ? -errno : r;
}

static HL_NOINLINE int sys_connect(int fd, const struct sockaddr *addr,
                                   socklen_t len) {
  return connect(fd, addr, len) < 0 ? -errno : 0;
}

/* 0 if fd is a connected socket, else -errno (its pending error, or
 * -EINPROGRESS while the connection is still being made). */
static HL_NOINLINE int sys_connected(int fd) {
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
    return -errno;
  if (err)
    return -err;
  struct sockaddr_storage peer;
  socklen_t pl = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
    return 0;
  /* a stale readiness (an edge from before the connect, or from a
   * previous use of the pd): not connected yet */
  return errno == ENOTCONN ? -EINPROGRESS : -errno;
}

static HL_NOINLINE int sys_close(int fd) { return close(fd) < 0 ? -errno : 0; }

static HL_NOINLINE int sys_epoll_add(int fd, polldesc_t *pd) {
  struct epoll_event ev = {
      .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = pd};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Returns -1 with errno = -e (e < 0) to the API caller. */
static HL_NOINLINE int fail(int e) {
  errno = -e;
  return -1;
}

/* ---------------------------------------------------------------- API */

/* Registers fd (already non-blocking); sock: it is a socket. 0 or
 * -errno. */
static int pd_register(int fd, bool sock) {
  netpoll_init();
  polldesc_t *pd = pd_alloc(fd);
  if (!pd)
    return -ENOMEM;
  pd->sock = sock;
  hl_lock(&table_lock);
  int err = 0;
  _Atomic(polldesc_t *) *slot = table_slot(fd, &err);
  if (!slot)
    goto fail_locked;
  err = sys_epoll_add(fd, pd);
  if (err == -EEXIST && atomic_load_relaxed(slot)) {
    /* registered already (hl_fd_open twice, or an accepted fd) */
    hl_unlock(&table_lock);
    pd_release(pd); /* not pd_free: a stale pd_acquire may hold it */
    return 0;
  }
  if (err == -EPERM)
    pd->pollable = false; /* a regular file: always ready, never waits */
  else if (err < 0)
    goto fail_locked;
  polldesc_t *old = atomic_load_relaxed(slot);
  /* release: pairs with the acquire in table_load (pd's fields). */
  atomic_store_release(slot, pd);
  hl_unlock(&table_lock);
  if (old) {
    /* the old fd was closed with close(2), not hl_fd_close, and its
     * number came back: evict its pd (waiters fail with EBADF) */
    g_t *head = NULL, *tail = NULL;
    hl_lock(&old->lock);
    if (!atomic_load_relaxed(&old->closing)) {
      atomic_store_release(&old->closing, 1);
      pd_take_all(old, PD_READ, PW_CLOSED, &head, &tail);
      pd_take_all(old, PD_WRITE, PW_CLOSED, &head, &tail);
      hl_unlock(&old->lock);
      for (g_t *gp = head, *next; gp; gp = next) {
        next = gp->schedlink;
        goready(gp);
      }
      pd_release(old); /* the open reference; nobody waits to close */
    } else {
      hl_unlock(&old->lock); /* its closer is finishing */
    }
  }
  return 0;
fail_locked:
  hl_unlock(&table_lock);
  pd_release(pd);
  return err;
}

HL_API int hl_fd_open(int fd) {
  curg_or_die("hl_fd_open");
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -1;
  if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  struct stat sb;
  bool sock = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
  int err = pd_register(fd, sock);
  return err < 0 ? fail(err) : 0;
}

/* Closing parks until in-flight calls drop their references (step 5). */
static bool pd_close_park(g_t *gp, void *arg) {
  (void)gp;
  hl_unlock(&((polldesc_t *)arg)->lock);
  return true;
}

HL_API int hl_fd_close(int fd) {
  g_t *self = curg_or_die("hl_fd_close");
  polldesc_t *pd = pd_acquire(fd);
  if (!pd) {
    if (table_load(fd)) /* being closed by another goroutine */
      return fail(-EBADF);
    int err = sys_close(fd); /* not registered: a plain close */
    return err < 0 ? fail(err) : 0;
  }
  g_t *head = NULL, *tail = NULL;
  hl_lock(&pd->lock);
  if (atomic_load_relaxed(&pd->closing)) { /* lost a race with a closer */
    hl_unlock(&pd->lock);
    pd_release(pd);
    return fail(-EBADF);
  }
  /* release: pairs with the acquire in pd_acquire. */
  atomic_store_release(&pd->closing, 1);
  pd_take_all(pd, PD_READ, PW_CLOSED, &head, &tail);
  pd_take_all(pd, PD_WRITE, PW_CLOSED, &head, &tail);
  hl_unlock(&pd->lock);
  hl_lock(&table_lock);
  int unused;
  _Atomic(polldesc_t *) *slot = table_slot(fd, &unused);
  if (slot && atomic_load_relaxed(slot) == pd)
    atomic_store_release(slot, NULL);
  hl_unlock(&table_lock);
  if (pd->pollable)
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  for (g_t *gp = head, *next; gp; gp = next) {
    next = gp->schedlink;
    goready(gp);
  }
  /* our call's reference cannot be the last: the open one remains */
  atomic_sub_acq_rel(&pd->refs, 1);
  hl_lock(&pd->lock);
  /* acq_rel: see pd_release. */
  if (atomic_sub_acq_rel(&pd->refs, 1) != 1) {
    pd->closer = self; /* the last pd_release wakes us (it locks pd) */
    gopark(pd_close_park, pd, WAIT_IO);
  } else {
    hl_unlock(&pd->lock);
  }
  int err = sys_close(fd);
  pd_free(pd);
  return err < 0 ? fail(err) : 0;
}

HL_API int hl_socket(int domain, int type, int protocol) {
  curg_or_die("hl_socket");
  int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0)
    return -1;
  int err = pd_register(fd, true);
  if (err < 0) {
    close(fd);
    return fail(err);
  }
  return fd;
}

HL_API ssize_t hl_read(int fd, void *buf, size_t n, int64_t deadline) {
  polldesc_t *pd = pd_acquire(fd);
  if (!pd)
    return fail(-EBADF);
  ssize_t r;
  for (;;) {
    uint32_t e = pd_edges(pd, PD_READ);
    r = sys_read(fd, buf, n);
    if (r >= 0 || (r != -EAGAIN && r != -EINTR))
      break;
    if (r == -EAGAIN && (r = pd_wait(pd, PD_READ, deadline, e)) < 0)
      break;
  }
  pd_release(pd);
  return r < 0 ? fail((int)r) : r;
}

HL_API ssize_t hl_write(int fd, const void *buf, size_t n, int64_t deadline) {
  polldesc_t *pd = pd_acquire(fd);
  if (!pd)
    return fail(-EBADF);
  ssize_t r;
  for (;;) {
    uint32_t e = pd_edges(pd, PD_WRITE);
    r = sys_write(fd, buf, n, pd->sock);
    if (r >= 0 || (r != -EAGAIN && r != -EINTR))
      break;
    if (r == -EAGAIN && (r = pd_wait(pd, PD_WRITE, deadline, e)) < 0)
      break;
  }
  pd_release(pd);
  return r < 0 ? fail((int)r) : r;
}

HL_API ssize_t hl_write_all(int fd, const void *buf, size_t n,
                            int64_t deadline) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = hl_write(fd, (const char *)buf + done, n - done, deadline);
    if (r < 0)
      return -1; /* errno set by hl_write, on this thread */
    done += (size_t)r;
  }
  return (ssize_t)n;
}

HL_API int hl_accept(int fd, struct sockaddr *addr, socklen_t *len,
                     int64_t deadline) {
  polldesc_t *pd = pd_acquire(fd);
  if (!pd)
    return fail(-EBADF);
  int c;
  for (;;) {
    uint32_t e = pd_edges(pd, PD_READ);
    c = sys_accept(fd, addr, len);
    if (c >= 0) {
      int err = pd_register(c, true);
      if (err < 0) {
        close(c);
        c = err;
      }
      break;
    }
    if (c == -EINTR || c == -ECONNABORTED)
      continue;
    if (c != -EAGAIN || (c = pd_wait(pd, PD_READ, deadline, e)) < 0)
      break;
  }
  pd_release(pd);
  return c < 0 ? fail(c) : c;
}

HL_API int hl_connect(int fd, const struct sockaddr *addr, socklen_t len,
                      int64_t deadline) {
  polldesc_t *pd = pd_acquire(fd);
  if (!pd)
    return fail(-EBADF);
  uint32_t e = pd_edges(pd, PD_WRITE);
  int r = sys_connect(fd, addr, len);
  /* in progress: writable means finished (or failed) */
  while (r == -EINPROGRESS || r == -EINTR || r == -EALREADY) {
    if ((r = pd_wait(pd, PD_WRITE, deadline, e)) < 0)
      break;
    e = pd_edges(pd, PD_WRITE);
    r = sys_connected(fd);
  }
  pd_release(pd);
  return r < 0 ? fail(r) : 0;
}
