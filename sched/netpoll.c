/*
 * sched/netpoll.c — the network poller (epoll) and the goroutine-blocking
 * I/O calls: hl_fd_open, hl_fd_close, hl_socket, hl_read, hl_write,
 * hl_write_all, hl_accept, hl_connect.
 *
 * Entry points for the scheduler: netpoll, netpoll_inited, netpoll_break.
 *
 * Each registered fd has a poll descriptor with one waiter slot per
 * direction (Go's pollDesc.rg/wg). A slot holds NULL, PD_READY or the G
 * parked on it. Protocol (per direction):
 *  wait:   1. try the I/O; on EAGAIN:
 *          2. park with an unlock callback that CASes the slot NULL -> G;
 *             if the slot is PD_READY instead, it is consumed (-> NULL)
 *             and the G does not park (readiness arrived meanwhile);
 *          3. on wake-up, retry the I/O (or fail: deadline, close).
 *  notify (netpoll, edge-triggered epoll): swap the slot to PD_READY; if
 *          it held a G, that G is returned to the scheduler to run.
 * Deadlines use a timer per wait that CASes the slot G -> NULL and
 * readies the G with a timeout mark; close wakes both slots with EBADF.
 * netpoll_waiters counts parked Gs so idle Ms know whether to block in
 * epoll_wait and the deadlock detector knows someone may still wake.
 */
#include "sched/internal.h"
#include "base/os.h"
#include "heaplab/alloc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PD_READY ((g_t *)1)

typedef struct polldesc {
  int fd;
  _Atomic(g_t *) rg, wg;
  _Atomic int closing;
} polldesc_t;

HL_HIDDEN _Atomic int64_t netpoll_waiters;
static int epfd = -1;
static int breakfd = -1;
static _Atomic int inited;
static hl_lock_t init_lock;
static hl_lock_t table_lock;
static _Atomic(polldesc_t *) *table; /* fd -> polldesc (table_lock) */
static size_t table_size;

bool netpoll_inited(void) { return atomic_load_acquire(&inited) != 0; }

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
    epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev);
    atomic_store_release(&inited, 1);
  }
  hl_unlock(&init_lock);
}

void netpoll_break(void) {
  uint64_t one = 1;
  if (breakfd >= 0)
    (void)!write(breakfd, &one, sizeof one);
}

static polldesc_t *pd_get(int fd) {
  if (fd < 0)
    return NULL;
  hl_lock(&table_lock);
  polldesc_t *pd = (size_t)fd < table_size ? atomic_load_relaxed(&table[fd]) : NULL;
  hl_unlock(&table_lock);
  return pd;
}

/* Takes the G waiting on slot (if any), leaving PD_READY. */
static g_t *slot_notify(_Atomic(g_t *) *slot) {
  g_t *old = atomic_exchange_acq_rel(slot, PD_READY);
  return old == PD_READY ? NULL : old;
}

g_t *netpoll(int64_t block_ns) {
  if (!netpoll_inited())
    return NULL;
  struct epoll_event evs[128];
  int timeout = block_ns < 0 ? -1 : (int)((block_ns + 999999) / 1000000);
  if (block_ns > 0 && timeout == 0)
    timeout = 1;
  int n = epoll_wait(epfd, evs, 128, timeout);
  g_t *head = NULL, *tail = NULL;
  for (int i = 0; i < n; i++) {
    polldesc_t *pd = evs[i].data.ptr;
    if (!pd) { /* netpoll_break */
      uint64_t v;
      (void)!read(breakfd, &v, sizeof v);
      continue;
    }
    uint32_t e = evs[i].events;
    g_t *gs[2] = {NULL, NULL};
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      gs[0] = slot_notify(&pd->rg);
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
      gs[1] = slot_notify(&pd->wg);
    for (int k = 0; k < 2; k++) {
      if (!gs[k])
        continue;
      atomic_sub_relaxed(&netpoll_waiters, 1);
      atomic_store_release(&gs[k]->status, G_RUNNABLE);
      gs[k]->schedlink = NULL;
      if (tail)
        tail->schedlink = gs[k];
      else
        head = gs[k];
      tail = gs[k];
    }
  }
  return head;
}

/* ------------------------------------------------------------- waiting */

typedef struct pwait {
  _Atomic(g_t *) *slot;
  hl_timer_t timer;
  _Atomic int timedout;
  g_t *gp;
} pwait_t;

static bool pd_park(g_t *gp, void *arg) {
  pwait_t *w = arg;
  g_t *expected = NULL;
  atomic_add_relaxed(&netpoll_waiters, 1);
  if (atomic_cas_strong_acq_rel(w->slot, &expected, gp)) {
    if (w->timer.when)
      timer_add(&w->timer);
    return true;
  }
  /* PD_READY arrived before we could park: consume it, do not park */
  atomic_sub_relaxed(&netpoll_waiters, 1);
  atomic_store_relaxed(w->slot, NULL);
  return false;
}

static void pd_deadline(void *arg) {
  pwait_t *w = arg;
  g_t *gp = w->gp;
  if (atomic_cas_strong_acq_rel(w->slot, &gp, NULL)) {
    atomic_store_relaxed(&w->timedout, 1);
    atomic_sub_relaxed(&netpoll_waiters, 1);
    goready(w->gp);
  }
}

/* Waits until the fd may be ready in direction `slot`; 0, or -1 with
 * errno ETIMEDOUT (deadline) or EBADF (closed). */
static int pd_wait(polldesc_t *pd, _Atomic(g_t *) *slot, int64_t deadline) {
  if (atomic_load_relaxed(&pd->closing)) {
    errno = EBADF;
    return -1;
  }
  g_t *r = PD_READY;
  if (atomic_cas_strong_acq_rel(slot, &r, NULL))
    return 0; /* readiness seen since the last wait */
  if (deadline && deadline <= os_nanotime()) {
    errno = ETIMEDOUT;
    return -1;
  }
  g_t *gp = curg_or_die("hl_read/hl_write");
  pwait_t w = {.slot = slot, .gp = gp};
  if (deadline) {
    w.timer.when = deadline;
    w.timer.f = pd_deadline;
    w.timer.arg = &w;
  }
  gopark(pd_park, &w, WAIT_IO);
  if (deadline)
    timer_del(&w.timer);
  if (atomic_load_relaxed(&w.timedout)) {
    errno = ETIMEDOUT;
    return -1;
  }
  if (atomic_load_relaxed(&pd->closing)) {
    errno = EBADF;
    return -1;
  }
  /* woken by readiness: the notifier left PD_READY only if nobody was
   * parked; we were, so the slot is NULL or READY again — consume */
  r = PD_READY;
  atomic_cas_strong_acq_rel(slot, &r, NULL);
  return 0;
}

/* ---------------------------------------------------------------- API */

HL_API int hl_fd_open(int fd) {
  netpoll_init();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  polldesc_t *pd = hl_calloc(1, sizeof *pd);
  if (!pd) {
    errno = ENOMEM;
    return -1;
  }
  pd->fd = fd;
  hl_lock(&table_lock);
  if ((size_t)fd >= table_size) {
    size_t n = table_size ? table_size : 1024;
    while (n <= (size_t)fd)
      n *= 2;
    _Atomic(polldesc_t *) *nt = hl_calloc(n, sizeof *nt);
    if (!nt) {
      hl_unlock(&table_lock);
      hl_free(pd);
      errno = ENOMEM;
      return -1;
    }
    for (size_t i = 0; i < table_size; i++)
      atomic_store_relaxed(&nt[i], atomic_load_relaxed(&table[i]));
    hl_free(table); /* old readers hold table_lock: none now */
    table = nt;
    table_size = n;
  }
  atomic_store_relaxed(&table[fd], pd);
  hl_unlock(&table_lock);
  struct epoll_event ev = {
      .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = pd};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    hl_lock(&table_lock);
    atomic_store_relaxed(&table[fd], NULL);
    hl_unlock(&table_lock);
    hl_free(pd);
    errno = e;
    return -1;
  }
  return 0;
}

HL_API int hl_fd_close(int fd) {
  polldesc_t *pd = pd_get(fd);
  if (pd) {
    atomic_store_relaxed(&pd->closing, 1);
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    g_t *gs[2] = {slot_notify(&pd->rg), slot_notify(&pd->wg)};
    for (int k = 0; k < 2; k++)
      if (gs[k]) {
        atomic_sub_relaxed(&netpoll_waiters, 1);
        goready(gs[k]);
      }
    hl_lock(&table_lock);
    atomic_store_relaxed(&table[fd], NULL);
    hl_unlock(&table_lock);
    /* pd may still be referenced by an epoll event being handled or by a
     * woken G: it is leaked deliberately (a few bytes per closed fd)
     * rather than freed under them */
  }
  return close(fd);
}

HL_API int hl_socket(int domain, int type, int protocol) {
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0)
    return -1;
  if (hl_fd_open(fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static polldesc_t *pd_or_fail(int fd) {
  polldesc_t *pd = pd_get(fd);
  if (!pd)
    errno = EBADF;
  return pd;
}

HL_API ssize_t hl_read(int fd, void *buf, size_t n, int64_t deadline) {
  polldesc_t *pd = pd_or_fail(fd);
  if (!pd)
    return -1;
  for (;;) {
    ssize_t r = read(fd, buf, n);
    if (r >= 0 || (errno != EAGAIN && errno != EINTR))
      return r;
    if (errno == EINTR)
      continue;
    if (pd_wait(pd, &pd->rg, deadline) < 0)
      return -1;
  }
}

HL_API ssize_t hl_write(int fd, const void *buf, size_t n, int64_t deadline) {
  polldesc_t *pd = pd_or_fail(fd);
  if (!pd)
    return -1;
  for (;;) {
    ssize_t r = write(fd, buf, n);
    if (r >= 0 || (errno != EAGAIN && errno != EINTR))
      return r;
    if (errno == EINTR)
      continue;
    if (pd_wait(pd, &pd->wg, deadline) < 0)
      return -1;
  }
}

HL_API ssize_t hl_write_all(int fd, const void *buf, size_t n,
                            int64_t deadline) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = hl_write(fd, (const char *)buf + done, n - done, deadline);
    if (r < 0)
      return -1;
    done += (size_t)r;
  }
  return (ssize_t)n;
}

HL_API int hl_accept(int fd, struct sockaddr *addr, socklen_t *len,
                     int64_t deadline) {
  polldesc_t *pd = pd_or_fail(fd);
  if (!pd)
    return -1;
  for (;;) {
    int c = accept4(fd, addr, len, SOCK_CLOEXEC);
    if (c >= 0) {
      if (hl_fd_open(c) < 0) {
        int e = errno;
        close(c);
        errno = e;
        return -1;
      }
      return c;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno != EAGAIN)
      return -1;
    if (pd_wait(pd, &pd->rg, deadline) < 0)
      return -1;
  }
}

HL_API int hl_connect(int fd, const struct sockaddr *addr, socklen_t len,
                      int64_t deadline) {
  polldesc_t *pd = pd_or_fail(fd);
  if (!pd)
    return -1;
  if (connect(fd, addr, len) == 0)
    return 0;
  if (errno != EINPROGRESS && errno != EINTR)
    return -1;
  for (;;) {
    if (pd_wait(pd, &pd->wg, deadline) < 0)
      return -1;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
      return -1;
    if (err == 0)
      return 0;
    if (err != EINPROGRESS && err != EALREADY) {
      errno = err;
      return -1;
    }
  }
}
