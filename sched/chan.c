/*
 * sched/chan.c — channels (Go's chan.go).
 *
 * Entry points: hl_chan_make, hl_chan_free, hl_chan_send, hl_chan_recv,
 * hl_chan_close, hl_chan_len, hl_chan_cap, hl_chan_trysend,
 * hl_chan_tryrecv, hl_chan_send_timeout, hl_chan_recv_timeout; for
 * select.c the hand-off helpers declared in chan.h.
 *
 * A channel is a lock, a circular buffer of dataqsiz values and two queues
 * of parked goroutines (sudogs, on their own stacks). Send (receive is the
 * mirror image):
 *  1. Fast path without the lock, non-blocking only: open and "full" (an
 *     unbuffered channel with no parked receiver, or a full buffer) means
 *     the send would block: fail at once (see chan_full for why two
 *     unlocked reads are enough).
 *  2. Lock. Closed: fatal "send on closed channel".
 *  3. A receiver is parked: dequeue it, copy the value straight into its
 *     destination (no buffer round trip), mark it successful, unlock and
 *     goready it — it goes to runnext, so on one P it runs next.
 *  4. Room in the buffer: copy the value in, unlock.
 *  5. Non-blocking: unlock and fail. Blocking: put a sudog (on this stack)
 *     pointing at the value on sendq and park; the park's unlock callback
 *     releases the lock once this goroutine's context is saved, so a
 *     receiver that finds the sudog can goready it at once.
 *  6. Woken: a receiver took the value (success), or close woke us
 *     (!success): fatal "send on closed channel".
 * Close: lock, mark closed, take every parked receiver (zero its
 * destination, !success) and sender (!success), unlock, ready them all.
 *
 * Operations with a timeout (and select) go through selectgo (select.c):
 * a timed wait is a select whose timer is one more way to be woken.
 *
 * The runtime never holds a channel lock across a park except through the
 * park's unlock callback, and readies goroutines only after unlocking (as
 * Go, so a readied goroutine never spins on a lock its waker holds).
 * Lock order: channel locks, in address order (select.c), before a timer
 * heap lock and sched.lock.
 */
#include "sched/chan.h"
#include "base/os.h"
#include "heaplab/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* -------------------------------------------------------------- misuse */

void chan_fatal(const char *what) {
  hl_printf(2, "fatal error: %s\n\n", what);
  goroutine_dump(2);
  _exit(2);
}

/* ------------------------------------------------------------- make/free */

static hl_lock_t chans_lock;
static hl_chan_t *chans;

HL_API hl_chan_t *hl_chan_make(size_t elemsize, size_t cap) {
  size_t bytes = 0;
  if (cap && elemsize) {
    if (elemsize > (SIZE_MAX - sizeof(hl_chan_t)) / cap) {
      errno = ENOMEM;
      return NULL;
    }
    bytes = elemsize * cap;
  }
  /* one block: the buffer follows the struct (values are copied with
   * memcpy, so it needs no particular alignment) */
  hl_chan_t *c = hl_calloc(1, sizeof *c + bytes);
  if (!c) {
    errno = ENOMEM;
    return NULL;
  }
  c->elemsize = elemsize;
  c->dataqsiz = cap;
  c->buf = (uint8_t *)(c + 1);
  if (bytes >= 8) {
    hl_lock(&chans_lock);
    c->gcnext = chans;
    if (chans)
      chans->gcprev = c;
    chans = c;
    hl_unlock(&chans_lock);
  }
  return c;
}

void chan_scan_buffers(void (*fn)(const void *p, size_t n, void *arg),
                       void *arg) {
  hl_lock(&chans_lock);
  for (hl_chan_t *c = chans; c; c = c->gcnext) {
    hl_lock(&c->lock);
    fn(c->buf, c->dataqsiz * c->elemsize, arg);
    hl_unlock(&c->lock);
  }
  hl_unlock(&chans_lock);
}

HL_API void hl_chan_free(hl_chan_t *c) {
  if (!c)
    return;
  hl_lock(&c->lock);
  bool busy = atomic_load_relaxed(&c->recvq.first) ||
              atomic_load_relaxed(&c->sendq.first);
  hl_unlock(&c->lock);
  if (busy)
    hl_misuse("hl_chan_free(%p): goroutines are still blocked on the "
              "channel",
              (void *)c);
  if (c->dataqsiz * c->elemsize >= 8) {
    hl_lock(&chans_lock);
    if (c->gcprev)
      c->gcprev->gcnext = c->gcnext;
    else
      chans = c->gcnext;
    if (c->gcnext)
      c->gcnext->gcprev = c->gcprev;
    hl_unlock(&chans_lock);
  }
  hl_free(c);
}

/* ------------------------------------------------------------ hand-off */

void chan_buf_put(hl_chan_t *c, const void *elem) {
  chan_copy(c, chanbuf(c, c->sendx), elem);
  if (++c->sendx == c->dataqsiz)
    c->sendx = 0;
  atomic_store_relaxed(&c->qcount, atomic_load_relaxed(&c->qcount) + 1);
}

void chan_buf_take(hl_chan_t *c, void *elem) {
  void *qp = chanbuf(c, c->recvx);
  if (elem)
    chan_copy(c, elem, qp);
  /* clear the slot, as Go does, so a stale value never outlives its
   * receipt in memory a collector may scan */
  chan_zero(c, qp);
  if (++c->recvx == c->dataqsiz)
    c->recvx = 0;
  atomic_store_relaxed(&c->qcount, atomic_load_relaxed(&c->qcount) - 1);
}

g_t *chan_send_to_waiter(hl_chan_t *c, sudog_t *sg, const void *elem) {
  if (sg->elem)
    chan_copy(c, sg->elem, elem);
  g_t *gp = sg->g;
  sg->success = true;
  gp->param = sg;
  return gp;
}

g_t *chan_recv_from_waiter(hl_chan_t *c, sudog_t *sg, void *elem) {
  if (c->dataqsiz == 0) {
    if (elem)
      chan_copy(c, elem, sg->elem);
  } else {
    /* The buffer is full (a sender waits). Take its head and put the
     * sender's value in the slot just freed: the tail, since head and tail
     * are the same slot of a full ring. */
    void *qp = chanbuf(c, c->recvx);
    if (elem)
      chan_copy(c, elem, qp);
    chan_copy(c, qp, sg->elem);
    if (++c->recvx == c->dataqsiz)
      c->recvx = 0;
    c->sendx = c->recvx;
  }
  g_t *gp = sg->g;
  sg->success = true;
  gp->param = sg;
  return gp;
}

/* ---------------------------------------------------------- fast paths */

/* A send would block: unbuffered with no parked receiver, or a full
 * buffer. Read without the lock by non-blocking sends (Go's full()). */
static inline bool chan_full(hl_chan_t *c) {
  if (c->dataqsiz == 0)
    return atomic_load_relaxed(&c->recvq.first) == NULL;
  return atomic_load_relaxed(&c->qcount) == c->dataqsiz;
}

/* A receive would block (ignoring close). Acquire: the load of closed
 * that follows in chanrecv must not be satisfied before this one (Go's
 * empty()). */
static inline bool chan_empty(hl_chan_t *c) {
  if (c->dataqsiz == 0)
    return atomic_load_acquire(&c->sendq.first) == NULL;
  return atomic_load_acquire(&c->qcount) == 0;
}

/* --------------------------------------------------------- send / recv */

static bool chan_park_commit(g_t *gp, void *arg) {
  (void)gp;
  hl_unlock(&((hl_chan_t *)arg)->lock);
  return true;
}

static __attribute__((noreturn)) void block_forever(void) {
  gopark(NULL, NULL, WAIT_CHAN_NIL);
  hl_throw("a goroutine blocked on a NULL channel was woken");
}

/* Go's chansend. Returns true when the value was sent (always, when
 * blocking). */
static bool chansend(hl_chan_t *c, const void *elem, bool block,
                     const char *fn) {
  g_t *gp = chan_enter(fn);
  if (!c) {
    if (!block)
      return false;
    block_forever();
  }
  /* Fast path: a non-blocking send on an open channel that is not ready.
   * closed is read first (acquire, so the reads of chan_full cannot move
   * before it); a closed channel never becomes "not ready" again, so if
   * both reads say open and not ready there was a moment when the channel
   * was both, and failing is correct (Go's argument in chansend). */
  if (!block && !atomic_load_acquire(&c->closed) && chan_full(c))
    return false;
  if (hl_unlikely(!elem && c->elemsize))
    hl_misuse("%s(%p): NULL value for a channel of %zu-byte elements", fn,
              (void *)c, c->elemsize);

  chan_lock_onp(c);
  if (atomic_load_relaxed(&c->closed)) {
    hl_unlock(&c->lock);
    chan_fatal("send on closed channel");
  }
  sudog_t *sg = waitq_dequeue(&c->recvq);
  if (sg) {
    g_t *rg = chan_send_to_waiter(c, sg, elem);
    hl_unlock(&c->lock);
    goready(rg);
    return true;
  }
  if (atomic_load_relaxed(&c->qcount) < c->dataqsiz) {
    chan_buf_put(c, elem);
    hl_unlock(&c->lock);
    return true;
  }
  if (!block) {
    hl_unlock(&c->lock);
    return false;
  }
  sudog_t mysg = {.g = gp, .elem = (void *)elem, .c = c};
  gp->waiting = &mysg;
  gp->param = NULL;
  waitq_enqueue(&c->sendq, &mysg);
  gopark(chan_park_commit, c, WAIT_CHAN_SEND);
  /* a receiver took the value, or close woke us; either way the sudog is
   * out of the queue and nobody touches it any more */
  if (gp->waiting != &mysg || gp->param != &mysg)
    hl_throw("chan send: goroutine woken with a corrupted wait state");
  gp->waiting = NULL;
  gp->param = NULL;
  if (!mysg.success)
    chan_fatal("send on closed channel");
  return true;
}

/* Go's chanrecv. Returns true when it completed (a value, or the close:
 * *ok says which); false only when non-blocking and nothing was ready. */
static bool chanrecv(hl_chan_t *c, void *elem, bool block, bool *ok,
                     const char *fn) {
  g_t *gp = chan_enter(fn);
  if (!c) {
    if (!block)
      return false;
    block_forever();
  }
  /* Fast path: a non-blocking receive that would block. Empty is read
   * before closed (acquire orders them): if the channel was empty and
   * then not closed, it was empty and open at the moment closed was read.
   * If it was closed, re-check emptiness: a value sent before the close
   * must still be received (the acquire of closed pairs with the release
   * in hl_chan_close, so every such value is visible). */
  if (!block && chan_empty(c)) {
    if (!atomic_load_acquire(&c->closed))
      return false;
    if (chan_empty(c)) {
      chan_zero(c, elem);
      *ok = false;
      return true;
    }
  }

  chan_lock_onp(c);
  if (atomic_load_relaxed(&c->closed) &&
      atomic_load_relaxed(&c->qcount) == 0) {
    hl_unlock(&c->lock);
    chan_zero(c, elem);
    *ok = false;
    return true;
  }
  sudog_t *sg = waitq_dequeue(&c->sendq);
  if (sg) {
    g_t *sgp = chan_recv_from_waiter(c, sg, elem);
    hl_unlock(&c->lock);
    goready(sgp);
    *ok = true;
    return true;
  }
  if (atomic_load_relaxed(&c->qcount) > 0) {
    chan_buf_take(c, elem);
    hl_unlock(&c->lock);
    *ok = true;
    return true;
  }
  if (!block) {
    hl_unlock(&c->lock);
    return false;
  }
  sudog_t mysg = {.g = gp, .elem = elem, .c = c};
  gp->waiting = &mysg;
  gp->param = NULL;
  waitq_enqueue(&c->recvq, &mysg);
  gopark(chan_park_commit, c, WAIT_CHAN_RECV);
  if (gp->waiting != &mysg || gp->param != &mysg)
    hl_throw("chan receive: goroutine woken with a corrupted wait state");
  gp->waiting = NULL;
  gp->param = NULL;
  *ok = mysg.success; /* on close, hl_chan_close zeroed *elem */
  return true;
}

HL_API void hl_chan_send(hl_chan_t *c, const void *elem) {
  chansend(c, elem, true, "hl_chan_send");
}

HL_API bool hl_chan_recv(hl_chan_t *c, void *elem) {
  bool ok = false;
  chanrecv(c, elem, true, &ok, "hl_chan_recv");
  return ok;
}

HL_API bool hl_chan_trysend(hl_chan_t *c, const void *elem) {
  return chansend(c, elem, false, "hl_chan_trysend");
}

HL_API int hl_chan_tryrecv(hl_chan_t *c, void *elem, bool *ok) {
  bool okv = false;
  bool done = chanrecv(c, elem, false, &okv, "hl_chan_tryrecv");
  if (ok)
    *ok = done && okv;
  return done ? 1 : 0;
}

HL_API int hl_chan_send_timeout(hl_chan_t *c, const void *elem,
                                int64_t timeout) {
  if (timeout < 0) {
    chansend(c, elem, true, "hl_chan_send_timeout");
    return 0;
  }
  if (timeout == 0) {
    if (chansend(c, elem, false, "hl_chan_send_timeout"))
      return 0;
  } else {
    curg_or_die("hl_chan_send_timeout");
    hl_select_case_t sc = {.chan = c, .dir = HL_SEND, .elem = (void *)elem};
    if (selectgo(&sc, 1, timeout, WAIT_CHAN_SEND) == 0)
      return 0;
  }
  errno = ETIMEDOUT;
  return -1;
}

HL_API int hl_chan_recv_timeout(hl_chan_t *c, void *elem, bool *ok,
                                int64_t timeout) {
  bool okv = false;
  int r = -1;
  if (timeout < 0) {
    chanrecv(c, elem, true, &okv, "hl_chan_recv_timeout");
    r = 0;
  } else if (timeout == 0) {
    if (chanrecv(c, elem, false, &okv, "hl_chan_recv_timeout"))
      r = 0;
  } else {
    curg_or_die("hl_chan_recv_timeout");
    hl_select_case_t sc = {.chan = c, .dir = HL_RECV, .elem = elem};
    if (selectgo(&sc, 1, timeout, WAIT_CHAN_RECV) == 0) {
      okv = sc.ok;
      r = 0;
    }
  }
  if (ok)
    *ok = r == 0 && okv;
  if (r < 0)
    errno = ETIMEDOUT;
  return r;
}

/* --------------------------------------------------------------- close */

HL_API void hl_chan_close(hl_chan_t *c) {
  chan_enter("hl_chan_close");
  if (!c)
    chan_fatal("close of nil channel");
  hl_lock(&c->lock);
  if (atomic_load_relaxed(&c->closed)) {
    hl_unlock(&c->lock);
    chan_fatal("close of closed channel");
  }
  /* release: pairs with the acquire loads of closed in the fast paths */
  atomic_store_release(&c->closed, 1);
  /* Collect every waiter (FIFO, through schedlink: a parked G is on no
   * run queue) and ready them after unlocking. */
  g_t *head = NULL, **tail = &head;
  sudog_t *sg;
  while ((sg = waitq_dequeue(&c->recvq))) {
    chan_zero(c, sg->elem);
    sg->success = false;
    sg->g->param = sg;
    *tail = sg->g;
    tail = &sg->g->schedlink;
  }
  while ((sg = waitq_dequeue(&c->sendq))) {
    sg->success = false; /* it dies with "send on closed channel" */
    sg->g->param = sg;
    *tail = sg->g;
    tail = &sg->g->schedlink;
  }
  *tail = NULL;
  hl_unlock(&c->lock);
  for (g_t *gp = head, *next; gp; gp = next) {
    next = gp->schedlink;
    goready(gp);
  }
}

/* ------------------------------------------------------------- len/cap */

HL_API size_t hl_chan_len(hl_chan_t *c) {
  return c ? atomic_load_relaxed(&c->qcount) : 0;
}

HL_API size_t hl_chan_cap(hl_chan_t *c) { return c ? c->dataqsiz : 0; }
