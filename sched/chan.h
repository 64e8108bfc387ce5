/*
 * sched/chan.h — the channel (Go's hchan), the wait-queue element (sudog)
 * and the helpers that chan.c and select.c share.
 *
 * Invariants of a channel (Go's chan.go), under c->lock:
 *  - at least one of recvq and sendq is empty, except for an unbuffered
 *    channel on which one goroutine waits in a select both to send and to
 *    receive (then each queue holds only that goroutine's sudogs);
 *  - buffered: qcount > 0 implies recvq is empty, and qcount < dataqsiz
 *    implies sendq is empty (a waiter is never left behind a slot or a
 *    value it could have taken);
 *  - closed only goes 0 -> 1; once closed, sendq is empty.
 *
 * A sudog stands for one goroutine waiting on one channel. It lives on that
 * goroutine's stack (never allocated on the send/receive paths): the
 * goroutine cannot return while the sudog is in a queue, because only the
 * goroutine itself takes a sudog it enqueued out of a queue it did not win
 * (select.c) and a winner's partner stops touching it before goready.
 */
#ifndef HL_SCHED_CHAN_H
#define HL_SCHED_CHAN_H

#include "sched/internal.h"
#include "heaplab/sched.h"
#include "heaplab/gc.h"

#include <string.h>

typedef struct sudog sudog_t;

struct sudog {
  g_t *g;               /* the waiting goroutine (immutable while queued) */
  sudog_t *next, *prev; /* links in c->recvq or c->sendq (c->lock) */
  /* The waiter's value (send) or destination (receive; NULL: dropped).
   * Read or written by the partner under c->lock while g is parked. */
  void *elem;
  hl_chan_t *c;
  /* g waits on several sudogs (select, or an operation with a timeout):
   * whoever wakes it must first win g->selectdone 0 -> 1 (waitq_dequeue,
   * the timeout timer). */
  bool isselect;
  /* Written by the waker before goready: true when a value passed, false
   * when the channel was closed. */
  bool success;
};

typedef struct waitq {
  /* first is read without the lock by the non-blocking fast paths
   * (chan_empty/chan_full); written only under c->lock. */
  _Atomic(sudog_t *) first;
  sudog_t *last;
} waitq_t;

struct hl_chan {
  hl_lock_t lock; /* everything below except the immutable fields */
  /* all channels with a buffer of pointer-sized values (chan.c chans_lock):
   * their buffers are roots of the collector */
  struct hl_chan *gcprev, *gcnext;
  /* 0 -> 1 once, under lock, with release; read without the lock with
   * acquire by the fast paths. */
  _Atomic uint32_t closed;
  /* Values in the buffer. Written under lock; read without it by
   * hl_chan_len and the fast paths (relaxed / acquire). */
  _Atomic size_t qcount;
  size_t dataqsiz; /* buffer slots (immutable) */
  size_t elemsize; /* bytes per value (immutable; 0 allowed) */
  uint8_t *buf;    /* dataqsiz * elemsize bytes after the struct */
  size_t sendx;    /* next slot to fill */
  size_t recvx;    /* next slot to empty */
  waitq_t recvq;   /* receivers parked on the channel */
  waitq_t sendq;   /* senders parked on the channel */
};

/* ---- wait queues (caller holds the channel's lock) ---- */

static inline void waitq_enqueue(waitq_t *q, sudog_t *sg) {
  sg->next = NULL;
  sudog_t *last = q->last;
  sg->prev = last;
  if (last)
    last->next = sg;
  else
    atomic_store_relaxed(&q->first, sg);
  q->last = sg;
}

/* Takes the first sudog whose goroutine can be woken. A select waiter is
 * taken only if this call wins its selectdone; one that lost (another case
 * or its timer won) is dropped from the queue here and its goroutine, once
 * it runs, finds it already gone (waitq_remove). */
static inline sudog_t *waitq_dequeue(waitq_t *q) {
  for (;;) {
    sudog_t *sg = atomic_load_relaxed(&q->first);
    if (!sg)
      return NULL;
    sudog_t *y = sg->next;
    if (!y) {
      atomic_store_relaxed(&q->first, NULL);
      q->last = NULL;
    } else {
      y->prev = NULL;
      atomic_store_relaxed(&q->first, y);
      sg->next = NULL;
    }
    if (sg->isselect) {
      uint32_t zero = 0;
      /* acq_rel: pairs with the CAS of the timer (select_timer_fire) or of
       * another channel's waker; exactly one wins per park. */
      if (!atomic_cas_strong_acq_rel(&sg->g->selectdone, &zero, 1))
        continue;
    }
    return sg;
  }
}

/* Unlinks sg from q if it is still there (Go's dequeueSudoG). */
static inline void waitq_remove(waitq_t *q, sudog_t *sg) {
  sudog_t *x = sg->prev, *y = sg->next;
  if (x) {
    x->next = y;
    if (y)
      y->prev = x;
    else
      q->last = x;
  } else if (y) {
    y->prev = NULL;
    atomic_store_relaxed(&q->first, y);
  } else if (atomic_load_relaxed(&q->first) == sg) {
    atomic_store_relaxed(&q->first, NULL);
    q->last = NULL;
  } /* else: already taken by waitq_dequeue */
  sg->next = sg->prev = NULL;
}

/* ---- entry ---- */

/* The calling goroutine (fatal outside one), at a safe point: a goroutine
 * that lost its P gets one back first, since a channel operation may
 * goready, which needs one. Inline: it is on every operation. */
static inline g_t *chan_enter(const char *fn) {
  m_t *mp = tls_m;
  if (hl_unlikely(!mp || !mp->curg))
    curg_or_die(fn);
  g_t *gp = mp->curg; /* the M may change in hl_safepoint, the G does not */
  m_lock(mp);
  bool nop = mp->p == NULL;
  m_unlock(mp);
  if (hl_unlikely(nop))
    hl_safepoint();
  return gp;
}

/* Takes c's lock on a P. chan_enter made sure of a P, but the
 * preemption signal may have taken it since (it acts while the goroutine
 * holds no runtime lock and is in no critical section); the copies made
 * under the lock shade values through the P's write-barrier buffer
 * (chan_copy), and without a P they went unshaded while the collector
 * marked: a value received from a buffer the marker had not reached yet
 * onto a stack it had scanned was found by nobody and swept while held
 * (the pool stress test's freelist, "owner changed while held"). Holding
 * a runtime lock, the P cannot be taken again until the unlock. */
static inline void chan_lock_onp(hl_chan_t *c) {
  for (;;) {
    hl_lock(&c->lock);
    if (hl_likely(tls_m->p != NULL))
      return;
    hl_unlock(&c->lock);
    hl_safepoint();
  }
}

/* ---- buffer ---- */

static inline void *chanbuf(hl_chan_t *c, size_t i) {
  return c->buf + i * c->elemsize;
}

static inline void chan_copy(hl_chan_t *c, void *dst, const void *src) {
  /* while the collector marks, the value is shaded: it may move from a
   * scanned stack into an unscanned buffer or back (gc/mark.c) */
  if (hl_unlikely(__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_RELAXED)) && c->elemsize >= 8 && gc_shade_hook)
    gc_shade_hook(src, c->elemsize);
  /* constant sizes let the compiler inline the common word copies */
  switch (c->elemsize) {
  case 0: return;
  case 4: memcpy(dst, src, 4); return;
  case 8: memcpy(dst, src, 8); return;
  case 16: memcpy(dst, src, 16); return;
  default: memcpy(dst, src, c->elemsize);
  }
}

static inline void chan_zero(hl_chan_t *c, void *dst) {
  if (dst && c->elemsize)
    memset(dst, 0, c->elemsize);
}

/* ---- chan.c ---- */
/* Caller holds c->lock; sg (a parked receiver) was just dequeued. Copies
 * elem straight into the receiver and marks it successful. Returns the
 * goroutine to goready once the caller has released its locks. */
g_t *chan_send_to_waiter(hl_chan_t *c, sudog_t *sg, const void *elem);
/* Caller holds c->lock; sg (a parked sender) was just dequeued. Unbuffered:
 * copies the sender's value into elem (may be NULL). Buffered (then full):
 * takes the head of the buffer and puts the sender's value at its tail.
 * Returns the goroutine to goready once the caller has released its locks. */
g_t *chan_recv_from_waiter(hl_chan_t *c, sudog_t *sg, void *elem);
/* Buffer operations; caller holds c->lock and checked there is a value
 * (recv) or a free slot (send). */
void chan_buf_put(hl_chan_t *c, const void *elem);
void chan_buf_take(hl_chan_t *c, void *elem);
/* User misuse Go reports as a panic: "fatal error: <what>", the goroutine
 * dump, exit status 2. */
__attribute__((noreturn, cold)) void chan_fatal(const char *what);

/* ---- select.c ---- */
/* hl_select's engine, also used by the channel operations with a timeout
 * (one case; reason WAIT_CHAN_SEND/RECV). timeout: < 0 blocks, 0 never
 * waits, > 0 waits at most that many ns. Returns the case done or -1. */
int selectgo(hl_select_case_t *cases, int n, int64_t timeout, int reason);

#endif
