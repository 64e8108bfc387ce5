/*
 * trace/emit.c — event emission: per-P buffers, the global buffer, the
 * writer thread, hl_trace_start/stop and the user annotations.
 *
 * Entry points: trace_ev0_/1_/2_, trace_ev_, trace_go_start_same_,
 * trace_ev_gc_, trace_procs, trace_init,
 * hl_trace_start, hl_trace_stop, hl_trace_enabled, hl_trace_region_begin,
 * hl_trace_region_end, hl_trace_log.
 *
 * Buffers. Every P id has a slot holding the buffer its events go to,
 * with the write position and a limit below which a small event fits.
 * Only the thread holding the P appends to it (the scheduler's P handoff
 * orders one owner's appends before the next's), so an append is plain
 * stores: no lock, no atomic read-modify-write. A thread without a P
 * appends to the global buffer under trace_lock. A full buffer (256 KiB)
 * goes on the full queue for the writer thread and the appender takes an
 * empty one (free list, or a new mapping) — the only lock an appender on
 * a P ever takes, once per buffer.
 *
 * An append (ev_fast, for every event of at most two integers; ev_slow
 * and ev_write for the rest, the global buffer and a full buffer):
 *  1. hl_lock_depth++ (the preemption signal then leaves the thread and
 *     its P alone: the P cannot move to another thread mid-append).
 *  2. pid = trace_tls_pid; with a P: slot->busy = 1, then a full barrier
 *     between that store and the next load (see "Stopping").
 *  3. If trace_on is 0 now, nothing is written (the trace stopped).
 *  4. If the event fits below the slot's limit: read the clock, clamp it
 *     to the slot's last tick (ticks read on different cores must not go
 *     back within one P's stream), encode kind, delta and arguments at
 *     the write position and bump it. Else steps 1-5 are undone and done
 *     again out of line (ev_slow), which swaps the buffer.
 *  5. slot->busy = 0 (release: the stopper's acquire load sees the bytes).
 * The fast path calls nothing, so it saves no register: on x86-64 about
 * 45 instructions, most of its time the rdtsc.
 *
 * Where the time goes (thread-ring, 3 events a hop of ~70 ns; measured
 * with perf, docs/results/trace.md): the clock read is most of an event's
 * cost (rdtsc takes 7-10 ns on this class of machine, clock_gettime 16),
 * so a goroutine started by a direct switch right after its predecessor
 * parked or yielded takes that event's tick (trace_go_start_same_) and a
 * hop reads the clock twice. Rejected: stamping GO_UNBLOCK with a later
 * event's tick too (it would move a wake-up by whatever the waker does
 * next, unbounded); merging GO_BLOCK and GO_START into one event (a new
 * format version for 2 bytes and ~3 ns a hop); coarser ticks as Go's
 * (ticks/64: the read costs the same, and only the byte count shrinks).
 * The batch's base tick is the P's last tick when the buffer is taken,
 * so the first event is a delta like every other.
 *
 * Stopping (hl_trace_stop) must collect every P's partly filled buffer
 * while their owners may be appending. The owners must stay cheap, so the
 * barrier is asymmetric (Dekker's protocol with membarrier(2), as
 * userspace RCU does):
 *  1. The stopper stores trace_on = 0.
 *  2. membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) runs a full barrier on
 *     every running thread of the process: after it, an appender either
 *     has its busy = 1 visible to the stopper, or will see trace_on == 0
 *     at step 3 and write nothing. The appender's own barrier at step 2 is
 *     then a compiler barrier only.
 *  3. For each slot: wait until busy == 0 (acquire), then take its buffer.
 * Without membarrier (old kernels, ThreadSanitizer builds) the appender's
 * barrier is a real fence (trace_fence_strong).
 *
 * Rejected: a per-buffer lock or atomic position (an atomic per event);
 * stopping the world to flush (the tracer must work below the scheduler,
 * and the collector is the one that stops the world); flushing only full
 * buffers and losing the tails (the last milliseconds are often the
 * interesting ones).
 *
 * The writer thread sleeps on a futex until a buffer is queued, writes
 * each as a batch (header + the buffer's bytes) with writev, and puts the
 * buffer back on the free list. An appender wakes it only when its futex
 * word goes from 0 to 1 (the writer clears the word before it looks at
 * the queue): one wake-up per round of the writer, not per buffer. At
 * stop it drains the queue and exits; the stopper then writes the end
 * record and closes the file.
 *
 * Lock order: trace_ctl (start/stop) -> trace_lock (queues, global
 * buffer). Both are leaves with respect to every runtime lock: no hook
 * takes any other lock while holding one of them.
 */
#include "trace/emit.h"
#include "base/lock.h"
#include "base/os.h"
#include "base/throw.h"
#include "heaplab/trace.h"
#include "trace/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define TBUF_BYTES (256u << 10)

typedef struct tbuf {
  struct tbuf *next; /* full queue / free list (trace_lock) */
  int32_t pid;       /* -1: global */
  uint32_t len;      /* bytes of events in data (set when sealed) */
  uint32_t nevents;  /* (set when sealed) */
  uint32_t pad_;
  uint64_t base; /* the slot's last tick when the buffer was taken: the
                    first event's delta is from here */
  uint8_t data[];
} tbuf_t;
#define TBUF_DATA (TBUF_BYTES - sizeof(tbuf_t))
_Static_assert(TBUF_DATA < TRACE_MAX_BATCH, "a buffer fits in a batch");

/* The most bytes a fast-path event takes: kind, delta, two arguments. */
#define EV_FAST_MAX (1 + 3 * TRACE_VARINT_MAX)

/* Invariant: buf is NULL (then pos == lim == NULL) or a buffer of this
 * slot's P holding n events in [buf->data, pos), in tick order, all >=
 * the previous buffer's; lim = buf->data + TBUF_DATA - EV_FAST_MAX, so a
 * fast-path event starting below lim fits. last is the tick of the last
 * event written through the slot (tick0 before the first). All fields
 * but busy are written by the P's owner while busy, by the stopper once
 * busy is 0 and trace_on is 0 (the global slot: under tr.lock). */
typedef struct tslot {
  _Atomic uint32_t busy;
  uint32_t n;
  uint8_t *pos, *lim;
  tbuf_t *buf;
  uint64_t last;
} __attribute__((aligned(64))) tslot_t;

_Atomic uint32_t trace_on;
__thread int32_t trace_tls_pid __attribute__((tls_model("initial-exec"))) = -1;
__thread int64_t trace_tls_goid __attribute__((tls_model("initial-exec")));
static __thread int trace_tls_tid;

static tslot_t slots[TRACE_MAX_PROCS];

static struct {
  hl_lock_t ctl;  /* serialises start and stop */
  hl_lock_t lock; /* the fields below and the global slot */
  tslot_t global;
  tbuf_t *full_head, *full_tail;
  tbuf_t *free;
  _Atomic uint32_t wake;        /* futex: 1 = work queued or stop asked */
  _Atomic uint32_t writer_done; /* futex: writer exited */
  bool stopping;                /* writer: drain and exit */
  int fd;
  int err;            /* first write error (writer), as errno */
  uint64_t nevents;   /* events handed to the writer (lock) */
  uint64_t nbatches;  /* (lock) */
  _Atomic uint64_t nlost; /* events dropped: no memory for a buffer */
  uint64_t tick0;     /* ticks at start: no event is earlier */
  _Atomic uint64_t gcseq;
  int nprocs;
  const char *(*block_name)(uint32_t);
  int nblock;
  bool fence_strong; /* no membarrier: appenders fence */
  bool membarrier_ok;
} tr = {.fd = -1};

/* ------------------------------------------------------------- buffers */

/* Caller holds tr.lock. */
static tbuf_t *tbuf_get_locked(int32_t pid) {
  tbuf_t *b = tr.free;
  if (b) {
    tr.free = b->next;
  } else {
    b = os_map(TBUF_BYTES, os_page_size());
    if (!b)
      return NULL;
  }
  b->next = NULL;
  b->pid = pid;
  b->len = 0;
  b->nevents = 0;
  return b;
}

/* Caller holds tr.lock. Queues b for the writer (empty ones are freed). */
static void tbuf_queue_locked(tbuf_t *b) {
  if (b->len == 0) {
    b->next = tr.free;
    tr.free = b;
    return;
  }
  b->next = NULL;
  if (tr.full_tail)
    tr.full_tail->next = b;
  else
    tr.full_head = b;
  tr.full_tail = b;
  tr.nevents += b->nevents;
  tr.nbatches++;
}

/* Caller holds tr.lock and may write s: queues s's buffer (its length
 * and count taken from the slot) and leaves the slot without one. */
static void slot_seal_locked(tslot_t *s) {
  tbuf_t *b = s->buf;
  if (!b)
    return;
  b->len = (uint32_t)(s->pos - b->data);
  b->nevents = s->n;
  tbuf_queue_locked(b);
  s->buf = NULL;
  s->pos = s->lim = NULL;
  s->n = 0;
}

/* Wakes the writer when it may be asleep: only the store that turns wake
 * from 0 to 1 makes the futex call (the writer clears it before it looks
 * at the queue, so a later buffer is never left unseen), at most one
 * system call per round of the writer instead of one per buffer. */
static void writer_wake(void) {
  /* acq_rel: release pairs with the writer's acquire exchange (it also
   * takes tr.lock; this only publishes the futex word's change). */
  if (atomic_exchange_acq_rel(&tr.wake, 1) == 0)
    futex_wake(&tr.wake, 1);
}

/* Gives s an empty buffer, queueing the one it has (the writer is woken
 * then); returns the new write position, NULL when there is no memory
 * (the event is lost). Caller is the slot's owner (or holds tr.lock for
 * the global slot: locked). Once per buffer, out of the fast path. */
static HL_NOINLINE uint8_t *slot_refill(tslot_t *s, int32_t pid, bool locked) {
  if (!locked)
    hl_lock(&tr.lock);
  bool queued = s->buf != NULL;
  slot_seal_locked(s);
  tbuf_t *b = tbuf_get_locked(pid);
  if (b) {
    b->base = s->last;
    s->buf = b;
    s->pos = b->data;
    s->lim = b->data + TBUF_DATA - EV_FAST_MAX;
  }
  if (!locked)
    hl_unlock(&tr.lock);
  if (queued)
    writer_wake();
  return b ? s->pos : NULL;
}

/* ------------------------------------------------------------ appending */

static inline void fence_appender(void) {
#ifdef HL_TSAN
  atomic_fence_seq_cst();
#else
  if (hl_unlikely(tr.fence_strong))
    atomic_fence_seq_cst(); /* StoreLoad: busy = 1 before trace_on load */
  else
    atomic_signal_fence(memory_order_seq_cst); /* membarrier does it */
#endif
}

/* A uvarint, with the one-byte case (most deltas and small arguments)
 * first. */
static inline uint8_t *put_uv(uint8_t *p, uint64_t v) {
  if (hl_likely(v < 0x80)) {
    *p = (uint8_t)v;
    return p + 1;
  }
  if (v < 0x4000) {
    p[0] = (uint8_t)(v | 0x80);
    p[1] = (uint8_t)(v >> 7);
    return p + 2;
  }
  return trace_put_uvarint(p, v);
}

/* The delta from the slot's last tick to t, which becomes the slot's
 * last: clamped to 0 when t is not later, so that one P's stream never
 * goes back (its owner may have moved to another core). */
static inline uint64_t slot_tick_delta(tslot_t *s, uint64_t t) {
  uint64_t last = s->last;
  if (hl_unlikely(t <= last))
    return 0;
  s->last = t;
  return t - last;
}

static void ev_global(uint32_t kind, const uint64_t *args, int nargs,
                      const char *const *strs, int nstr);

/* Writes an event of at most two integer arguments, its tick delta d,
 * at p (room for EV_FAST_MAX bytes); returns the end. */
static inline uint8_t *ev_put(uint8_t *p, uint32_t kind, uint64_t d,
                              int nargs, uint64_t a0, uint64_t a1) {
  *p++ = (uint8_t)kind;
  p = put_uv(p, d);
  if (nargs > 0)
    p = put_uv(p, a0);
  if (nargs > 1)
    p = put_uv(p, a1);
  return p;
}

/* Steps 1-5 when the fast path cannot: no P (the global buffer), the
 * trace stopped, or the buffer full. Redoes the steps from the start (the
 * fast path undid its own). */
static HL_NOINLINE void ev_slow(uint32_t kind, int nargs, uint64_t a0,
                                uint64_t a1, bool same) {
  hl_lock_depth++;
  atomic_signal_fence(memory_order_seq_cst); /* before reading the P */
  int32_t pid = trace_tls_pid;
  if ((uint32_t)pid >= TRACE_MAX_PROCS) {
    uint64_t args[2] = {a0, a1};
    ev_global(kind, args, nargs, NULL, 0);
  } else {
    tslot_t *s = &slots[pid];
    atomic_store_relaxed(&s->busy, 1);
    fence_appender();
    /* acquire: pairs with the release store in hl_trace_start. */
    if (atomic_load_acquire(&trace_on)) {
      uint8_t *p = s->pos;
      if (p >= s->lim)
        p = slot_refill(s, pid, false);
      if (p) {
        uint64_t d = same ? 0 : slot_tick_delta(s, trace_ticks());
        s->pos = ev_put(p, kind, d, nargs, a0, a1);
        s->n++;
      } else {
        atomic_add_relaxed(&tr.nlost, 1);
      }
    }
    /* release: pairs with the stopper's acquire load of busy. */
    atomic_store_release(&s->busy, 0);
  }
  atomic_signal_fence(memory_order_seq_cst);
  hl_lock_depth--;
}

/* Steps 1-5 for an event of at most two integer arguments: the whole
 * fast path, inlined into each entry point below with the kind's
 * argument count a constant. It calls nothing (ev_slow only as its last
 * act, after undoing its steps; so also for a clock that is not a
 * hardware counter), so it saves no registers: a few TLS and slot loads,
 * plain stores around the clock read, the bytes. */
static inline __attribute__((always_inline)) void
ev_fast(uint32_t kind, int nargs, uint64_t a0, uint64_t a1, bool same) {
  hl_lock_depth++;
  atomic_signal_fence(memory_order_seq_cst); /* before reading the P */
  int32_t pid = trace_tls_pid;
  if (hl_likely((uint32_t)pid < TRACE_MAX_PROCS)) {
    tslot_t *s = &slots[pid];
    atomic_store_relaxed(&s->busy, 1);
    fence_appender();
    uint8_t *p;
    uint64_t t = 0;
    /* acquire: pairs with the release store in hl_trace_start (the slots
     * were reset before it). The slot is read only after: a stopper that
     * saw busy == 0 may be resetting it while trace_on is 0. */
    if (hl_likely(atomic_load_acquire(&trace_on) && (p = s->pos) < s->lim &&
                  (same || trace_ticks_hw(&t)))) {
      s->pos = ev_put(p, kind, same ? 0 : slot_tick_delta(s, t), nargs, a0, a1);
      s->n++;
      /* release: pairs with the stopper's acquire load of busy. */
      atomic_store_release(&s->busy, 0);
      atomic_signal_fence(memory_order_seq_cst);
      hl_lock_depth--;
      return;
    }
    atomic_store_release(&s->busy, 0);
  }
  atomic_signal_fence(memory_order_seq_cst);
  hl_lock_depth--;
  ev_slow(kind, nargs, a0, a1, same);
}

HL_NOINLINE void trace_ev0_(uint32_t kind) { ev_fast(kind, 0, 0, 0, false); }
HL_NOINLINE void trace_ev1_(uint32_t kind, uint64_t a0) {
  ev_fast(kind, 1, a0, 0, false);
}
HL_NOINLINE void trace_ev2_(uint32_t kind, uint64_t a0, uint64_t a1) {
  ev_fast(kind, 2, a0, a1, false);
}
HL_NOINLINE void trace_go_start_same_(int64_t goid) {
  ev_fast(TRACE_EV_GO_START, 1, (uint64_t)goid, 0, true);
}

/* Any kind without strings, its argument count from the table. */
HL_NOINLINE void trace_ev_(uint32_t kind, uint64_t a0, uint64_t a1) {
  if (kind == TRACE_EV_PROC_START) {
    if (!trace_tls_tid)
      trace_tls_tid = os_gettid();
    a0 = (uint64_t)trace_tls_tid;
  }
  switch (trace_evinfo[kind].nargs) {
  case 0:
    ev_fast(kind, 0, 0, 0, false);
    break;
  case 1:
    ev_fast(kind, 1, a0, 0, false);
    break;
  default:
    ev_fast(kind, 2, a0, a1, false);
    break;
  }
}

/* Appends one event (integers then strings) to s, which has a buffer
 * position; the general path (global buffer, strings). */
static void ev_write(tslot_t *s, int32_t pid, bool locked, uint32_t kind,
                     const uint64_t *args, int nargs, const char *const *strs,
                     int nstr) {
  size_t slen[TRACE_MAX_STRS] = {0};
  size_t need = 1 + TRACE_VARINT_MAX * (1 + (size_t)nargs);
  for (int i = 0; i < nstr; i++) {
    slen[i] = strs[i] ? strnlen(strs[i], TRACE_MAX_STRING) : 0;
    need += TRACE_VARINT_MAX + slen[i];
  }
  uint8_t *p = s->pos;
  if (!s->buf || (size_t)(s->buf->data + TBUF_DATA - p) < need)
    p = slot_refill(s, pid, locked);
  if (!p) {
    atomic_add_relaxed(&tr.nlost, 1);
    return;
  }
  *p++ = (uint8_t)kind;
  p = put_uv(p, slot_tick_delta(s, trace_ticks()));
  for (int i = 0; i < nargs; i++)
    p = put_uv(p, args[i]);
  for (int i = 0; i < nstr; i++) {
    p = put_uv(p, slen[i]);
    memcpy(p, strs[i] ? strs[i] : "", slen[i]);
    p += slen[i];
  }
  s->pos = p;
  s->n++;
}

/* An event of a thread holding no P: the global buffer, under tr.lock. */
static void ev_global(uint32_t kind, const uint64_t *args, int nargs,
                      const char *const *strs, int nstr) {
  hl_lock(&tr.lock);
  /* tr.lock orders this with hl_trace_stop's collection of the global
   * buffer: after it, trace_on is 0 here. */
  if (atomic_load_relaxed(&trace_on))
    ev_write(&tr.global, -1, true, kind, args, nargs, strs, nstr);
  hl_unlock(&tr.lock);
}

HL_NOINLINE void trace_ev_gc_(uint32_t kind) {
  uint64_t seq = kind == TRACE_EV_GC_START
                     ? atomic_add_relaxed(&tr.gcseq, 1) + 1
                     : atomic_load_relaxed(&tr.gcseq);
  trace_ev_(kind, seq, 0);
}

static void ev_strings(uint32_t kind, const char *s0, const char *s1) {
  if (!trace_enabled())
    return;
  uint64_t goid = (uint64_t)trace_tls_goid;
  const char *strs[2] = {s0, s1};
  int nstr = trace_evinfo[kind].nstr;
  hl_lock_depth++;
  atomic_signal_fence(memory_order_seq_cst); /* before reading the P */
  int32_t pid = trace_tls_pid;
  if ((uint32_t)pid >= TRACE_MAX_PROCS) {
    ev_global(kind, &goid, 1, strs, nstr);
  } else {
    tslot_t *s = &slots[pid];
    atomic_store_relaxed(&s->busy, 1);
    fence_appender();
    /* acquire: pairs with the release store in hl_trace_start. */
    if (atomic_load_acquire(&trace_on))
      ev_write(s, pid, false, kind, &goid, 1, strs, nstr);
    /* release: pairs with the stopper's acquire load of busy. */
    atomic_store_release(&s->busy, 0);
  }
  atomic_signal_fence(memory_order_seq_cst);
  hl_lock_depth--;
}

HL_API void hl_trace_region_begin(const char *name) {
  ev_strings(TRACE_EV_REGION_BEGIN, name, NULL);
}
HL_API void hl_trace_region_end(const char *name) {
  ev_strings(TRACE_EV_REGION_END, name, NULL);
}
HL_API void hl_trace_log(const char *category, const char *message) {
  ev_strings(TRACE_EV_LOG, category, message);
}
HL_API bool hl_trace_enabled(void) { return atomic_load_relaxed(&trace_on); }

void trace_procs(int n) {
  tr.nprocs = n;
  if (trace_enabled())
    trace_ev_(TRACE_EV_PROCS, (uint64_t)n, 0);
}

/* -------------------------------------------------------------- writing */

static int write_all(int fd, const struct iovec *iov0, int n) {
  struct iovec iov[4];
  memcpy(iov, iov0, sizeof(struct iovec) * (size_t)n);
  struct iovec *v = iov;
  while (n > 0) {
    ssize_t w = writev(fd, v, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    while (n > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (char *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
  return 0;
}

static void write_batch(tbuf_t *b) {
  uint8_t hdr[1 + 4 * TRACE_VARINT_MAX], *p = hdr;
  *p++ = TRACE_REC_BATCH;
  p = trace_put_uvarint(p, (uint64_t)(b->pid + 1));
  p = trace_put_uvarint(p, b->base);
  p = trace_put_uvarint(p, b->nevents);
  p = trace_put_uvarint(p, b->len);
  struct iovec iov[2] = {{hdr, (size_t)(p - hdr)}, {b->data, b->len}};
  int r = tr.err ? 0 : write_all(tr.fd, iov, 2);
  if (r < 0)
    tr.err = -r;
}

static void *writer_main(void *arg) {
  (void)arg;
  for (;;) {
    /* acquire: pairs with writer_wake's release. */
    atomic_exchange_acquire(&tr.wake, 0);
    hl_lock(&tr.lock);
    tbuf_t *list = tr.full_head;
    tr.full_head = tr.full_tail = NULL;
    bool stop = tr.stopping;
    hl_unlock(&tr.lock);
    if (!list) {
      if (stop)
        break;
      futex_wait(&tr.wake, 0, 100 * 1000000);
      continue;
    }
    tbuf_t *last = list;
    for (tbuf_t *b = list; b; b = b->next) {
      write_batch(b);
      last = b;
    }
    hl_lock(&tr.lock);
    last->next = tr.free;
    tr.free = list;
    hl_unlock(&tr.lock);
  }
  /* release: pairs with the stopper's acquire load. */
  atomic_store_release(&tr.writer_done, 1);
  futex_wake(&tr.writer_done, 1);
  return NULL;
}

/* The header of a trace starting at (tick0, mono0). */
static size_t header_encode(uint8_t *out, size_t cap, uint64_t tick0,
                            int64_t mono0) {
  trace_hdr_t h = {.clock = trace_clock_kind,
                   .tick0 = tick0,
                   .mono0 = mono0,
                   .nprocs = tr.nprocs > 0 ? tr.nprocs : 1,
                   .pid = getpid(),
                   .block_name = tr.block_name,
                   .nblock = tr.block_name ? tr.nblock : 0};
  trace_clock_calibrate(&h.cal_ticks, &h.cal_ns);
  return trace_header_encode(out, cap, &h);
}

/* ------------------------------------------------------- start and stop */

HL_API int hl_trace_start(const char *path) {
  trace_clock_init();
  uint64_t ct, cn;
  trace_clock_calibrate(&ct, &cn); /* outside the lock: 2 ms once */
  hl_lock(&tr.ctl);
  int r = 0;
  if (atomic_load_relaxed(&trace_on)) {
    r = -EBUSY;
    goto out;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    r = -errno;
    goto out;
  }
  if (!tr.membarrier_ok) {
    tr.membarrier_ok =
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                0) == 0;
    tr.fence_strong = !tr.membarrier_ok;
  }
  uint64_t tick0;
  int64_t mono0;
  trace_clock_pair(&tick0, &mono0);
  size_t cap = TRACE_HEADER_CAP;
  uint8_t *hdr = malloc(cap);
  size_t hlen = hdr ? header_encode(hdr, cap, tick0, mono0) : 0;
  struct iovec iov = {hdr, hlen};
  r = hlen ? write_all(fd, &iov, 1) : -ENOMEM;
  free(hdr);
  if (r < 0) {
    close(fd);
    goto out;
  }
  tr.fd = fd;
  tr.err = 0;
  tr.nevents = tr.nbatches = 0;
  atomic_store_relaxed(&tr.nlost, 0);
  atomic_store_relaxed(&tr.gcseq, 0);
  tr.stopping = false;
  tr.tick0 = tick0;
  for (int i = 0; i < TRACE_MAX_PROCS; i++)
    slots[i].last = tick0;
  tr.global.last = tick0;
  atomic_store_relaxed(&tr.wake, 0);
  atomic_store_relaxed(&tr.writer_done, 0);
  r = os_thread_start(writer_main, NULL, 256 << 10);
  if (r < 0) {
    close(fd);
    tr.fd = -1;
    goto out;
  }
  /* release: pairs with the acquire in ev_begin (the slots are reset). */
  atomic_store_release(&trace_on, 1);
  trace_ev_(TRACE_EV_PROCS, (uint64_t)(tr.nprocs > 0 ? tr.nprocs : 1), 0);
  if (trace_tls_pid >= 0)
    trace_ev_(TRACE_EV_PROC_START, 0, 0);
out:
  hl_unlock(&tr.ctl);
  return r;
}

HL_API int hl_trace_stop(void) {
  hl_lock(&tr.ctl);
  if (!atomic_load_relaxed(&trace_on)) {
    hl_unlock(&tr.ctl);
    return -EINVAL;
  }
  /* seq_cst: with the membarrier below (or the appenders' fences), the
   * StoreLoad between this store and the loads of busy. */
  atomic_store_seq_cst(&trace_on, 0);
  if (tr.membarrier_ok)
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  for (int i = 0; i < TRACE_MAX_PROCS; i++) {
    tslot_t *s = &slots[i];
    /* acquire: pairs with the release in ev_end (the bytes written). */
    for (int spin = 0; atomic_load_acquire(&s->busy); spin++)
      if (spin > 100)
        sched_yield();
    if (s->buf) {
      hl_lock(&tr.lock);
      slot_seal_locked(s);
      hl_unlock(&tr.lock);
    }
  }
  hl_lock(&tr.lock);
  slot_seal_locked(&tr.global);
  tr.stopping = true;
  uint64_t nevents = tr.nevents, nbatches = tr.nbatches;
  hl_unlock(&tr.lock);
  writer_wake();
  /* acquire: pairs with the writer's release at exit. */
  while (!atomic_load_acquire(&tr.writer_done))
    futex_wait(&tr.writer_done, 0, -1);
  uint64_t tick1;
  int64_t mono1;
  trace_clock_pair(&tick1, &mono1);
  uint8_t end[1 + 5 * TRACE_VARINT_MAX], *p = end;
  *p++ = TRACE_REC_END;
  p = trace_put_uvarint(p, tick1 < tr.tick0 ? tr.tick0 : tick1);
  p = trace_put_uvarint(p, (uint64_t)mono1);
  p = trace_put_uvarint(p, nevents);
  p = trace_put_uvarint(p, nbatches);
  p = trace_put_uvarint(p, atomic_load_relaxed(&tr.nlost));
  struct iovec iov = {end, (size_t)(p - end)};
  int r = tr.err ? -tr.err : write_all(tr.fd, &iov, 1);
  if (close(tr.fd) < 0 && r == 0)
    r = -errno;
  tr.fd = -1;
  hl_unlock(&tr.ctl);
  return r;
}

/* ---------------------------------------------------------------- HLTRACE */

static void trace_atexit(void) {
  if (atomic_load_relaxed(&trace_on))
    hl_trace_stop();
}

void trace_init(int nprocs, const char *(*block_reason_name)(uint32_t),
                int nreasons) {
  tr.nprocs = nprocs;
  tr.block_name = block_reason_name;
  tr.nblock = nreasons;
  const char *path = getenv("HLTRACE");
  if (!path || !*path)
    return;
  int r = hl_trace_start(path);
  if (r < 0) {
    hl_printf(2, "heaplab: HLTRACE: cannot write a trace to \"%s\": %s\n",
              path, strerror(-r));
    _exit(2);
  }
  atexit(trace_atexit);
}
