/*
 * tests/sched/stress_chan.c — seeded stress of channels and select.
 *
 *   stress_chan THREADS SCALE ITER [SEED]
 *
 * THREADS processors (HLMAXPROCS), 4*SCALE channels of random capacity
 * (0, 1, 3 or 16), 4*SCALE producers sending ITER messages each and
 * 4*SCALE consumers. Even channels carry 24-byte messages {producer, seq,
 * check}, odd ones 8-byte packed messages, so both the word-sized and the
 * general copies are exercised. Every operation is picked at random: plain
 * send/receive, the timed variants with timeouts of 0-20 us, the try
 * variants, and selects over 1-6 cases (random channels, duplicates, NULL
 * channels) that block, have a default or a timeout.
 *
 * Checks, all fatal at the end (exit status 1):
 *  - each message's check word matches its producer and sequence number
 *    (no torn or mixed-up copies);
 *  - each (producer, seq) is received exactly once (a bitmap);
 *  - a consumer sees one producer's messages on one channel in increasing
 *    order (channels are FIFO);
 *  - once main has closed every channel (after all producers finished),
 *    every consumer sees each close as ok == false and exits.
 * No deadlock by construction: consumer i always includes channel
 * i % nchan in an operation that may block forever, so every channel has
 * a consumer that will come back to it.
 * Not a benchmark: the time printed is for orientation only.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab/alloc.h"
#include "heaplab/sched.h"

typedef struct msg {
  uint32_t prod, seq;
  uint64_t check;
  uint64_t pad;
} msg_t;

static int nchan, nprod, ncons;
static long iters;
static uint64_t seed0;
static hl_chan_t **chans;
static hl_chan_t *prod_done, *cons_done;
static _Atomic uint64_t *received; /* bitmap: nprod * iters bits */
static int32_t *lastseq;           /* [ncons][nprod][nchan] */
static _Atomic long failures;
static _Atomic long nops[8], ntimeouts, nexpired; /* expired: a timer fired */

#define FAIL(...)                                                              \
  do {                                                                         \
    if (atomic_fetch_add(&failures, 1) < 20)                                   \
      fprintf(stderr, "stress_chan: " __VA_ARGS__);                            \
  } while (0)

static uint64_t rnd(uint64_t *s) {
  /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t check_of(uint32_t p, uint32_t seq) {
  uint64_t s = ((uint64_t)p << 32 | seq) ^ seed0;
  return rnd(&s);
}

/* Packed form for the 8-byte channels: 20 bits producer, 28 bits seq,
 * 16 bits of check. */
static uint64_t pack(uint32_t p, uint32_t seq) {
  return (uint64_t)p << 44 | (uint64_t)seq << 16 | (check_of(p, seq) & 0xffff);
}

static size_t esize(int ch) { return ch % 2 == 0 ? sizeof(msg_t) : 8; }

static void encode(int ch, uint32_t p, uint32_t seq, void *buf) {
  if (ch % 2 == 0) {
    msg_t m = {p, seq, check_of(p, seq), ~check_of(p, seq)};
    memcpy(buf, &m, sizeof m);
  } else {
    uint64_t v = pack(p, seq);
    memcpy(buf, &v, 8);
  }
}

/* Verifies a received message and records it. */
static void receive(int self, int ch, const void *buf) {
  uint32_t p, seq;
  if (ch % 2 == 0) {
    msg_t m;
    memcpy(&m, buf, sizeof m);
    p = m.prod;
    seq = m.seq;
    if ((int)p >= nprod || seq >= iters || m.check != check_of(p, seq) ||
        m.pad != ~m.check) {
      FAIL("consumer %d, channel %d: corrupt message {%u, %u, %" PRIx64
           "}\n",
           self, ch, p, seq, m.check);
      return;
    }
  } else {
    uint64_t v;
    memcpy(&v, buf, 8);
    p = (uint32_t)(v >> 44);
    seq = (uint32_t)(v >> 16) & 0xfffffff;
    if ((int)p >= nprod || seq >= iters || v != pack(p, seq)) {
      FAIL("consumer %d, channel %d: corrupt packed message %" PRIx64 "\n",
           self, ch, v);
      return;
    }
  }
  uint64_t bit = (uint64_t)p * (uint64_t)iters + seq;
  uint64_t old = atomic_fetch_or(&received[bit / 64], 1ull << (bit % 64));
  if (old & (1ull << (bit % 64)))
    FAIL("message {%u, %u} received twice\n", p, seq);
  int32_t *last = &lastseq[((size_t)self * nprod + p) * nchan + ch];
  if ((int32_t)seq <= *last)
    FAIL("consumer %d, channel %d, producer %u: seq %u after %d\n", self, ch,
         p, seq, *last);
  *last = (int32_t)seq;
}

static int64_t pick_timeout(uint64_t *s) {
  switch (rnd(s) % 4) {
  case 0: return HL_SELECT_BLOCK;
  case 1: return HL_SELECT_DEFAULT;
  default: return (int64_t)(rnd(s) % 20) * HL_MICROSECOND;
  }
}

/* ------------------------------------------------------------ producer */

static void producer(void *arg) {
  int self = (int)(intptr_t)arg;
  uint64_t s = seed0 ^ (0x1000u + (uint64_t)self) * 0x632BE59BD9B4E019ull;
  for (uint32_t seq = 0; seq < iters; seq++) {
    int op = (int)(rnd(&s) % 8);
    atomic_fetch_add_explicit(&nops[op], 1, memory_order_relaxed);
    int ch = (int)(rnd(&s) % (uint64_t)nchan);
    unsigned char buf[sizeof(msg_t)];
    encode(ch, (uint32_t)self, seq, buf);
    switch (op) {
    case 0:
    case 1:
    case 2:
      hl_chan_send(chans[ch], buf);
      break;
    case 3: {
      int64_t t = (int64_t)(rnd(&s) % 21) * HL_MICROSECOND;
      while (hl_chan_send_timeout(chans[ch], buf, t) != 0) {
        atomic_fetch_add_explicit(t ? &nexpired : &ntimeouts, 1,
                                  memory_order_relaxed);
        hl_yield();
      }
      break;
    }
    case 4:
      while (!hl_chan_trysend(chans[ch], buf))
        hl_yield();
      break;
    default: {
      /* a select over k cases; the message is encoded per case (the
       * channel decides the format) */
      int k = 1 + (int)(rnd(&s) % 6);
      hl_select_case_t cs[6];
      unsigned char bufs[6][sizeof(msg_t)];
      int chof[6];
      for (int i = 0; i < k; i++) {
        int c = (int)(rnd(&s) % (uint64_t)nchan);
        if (i > 0 && rnd(&s) % 4 == 0)
          c = chof[i - 1]; /* a duplicate */
        chof[i] = c;
        encode(c, (uint32_t)self, seq, bufs[i]);
        bool nil = i > 0 && rnd(&s) % 6 == 0;
        cs[i] = (hl_select_case_t){.chan = nil ? NULL : chans[c],
                                   .dir = HL_SEND, .elem = bufs[i]};
      }
      int64_t t = pick_timeout(&s);
      while (hl_select(cs, k, t) < 0) {
        atomic_fetch_add_explicit(t > 0 ? &nexpired : &ntimeouts, 1,
                                  memory_order_relaxed);
        hl_yield();
      }
      break;
    }
    }
  }
  hl_chan_send(prod_done, NULL);
}

/* ------------------------------------------------------------ consumer */

typedef struct cstate {
  int self;
  bool *closed;
  int open;
  uint64_t s;
} cstate_t;

static int random_open(cstate_t *st) {
  int start = (int)(rnd(&st->s) % (uint64_t)nchan);
  for (int i = 0; i < nchan; i++) {
    int c = (start + i) % nchan;
    if (!st->closed[c])
      return c;
  }
  return -1;
}

static void saw_closed(cstate_t *st, int ch) {
  if (!st->closed[ch]) {
    st->closed[ch] = true;
    st->open--;
  }
}

static void consumer(void *arg) {
  cstate_t st = {.self = (int)(intptr_t)arg};
  st.s = seed0 ^ (0x2000u + (uint64_t)st.self) * 0x9E3779B97F4A7C15ull;
  bool closed[256] = {false};
  st.closed = closed;
  st.open = nchan;
  int own = st.self % nchan;
  while (st.open > 0) {
    int op = (int)(rnd(&st.s) % 8);
    unsigned char buf[sizeof(msg_t)];
    bool ok = false;
    /* the only channel it may block on without a timeout is its own
     * (see the header) */
    int ch = closed[own] ? random_open(&st) : own;
    switch (op) {
    case 0:
    case 1:
      if (hl_chan_recv(chans[ch], buf))
        receive(st.self, ch, buf);
      else
        saw_closed(&st, ch);
      break;
    case 2:
    case 3: {
      ch = random_open(&st);
      int64_t t = (int64_t)(rnd(&st.s) % 21) * HL_MICROSECOND;
      if (hl_chan_recv_timeout(chans[ch], buf, &ok, t) != 0) {
        atomic_fetch_add_explicit(t ? &nexpired : &ntimeouts, 1,
                                  memory_order_relaxed);
        hl_yield();
      } else if (ok) {
        receive(st.self, ch, buf);
      } else {
        saw_closed(&st, ch);
      }
      break;
    }
    case 4:
      ch = random_open(&st);
      if (hl_chan_tryrecv(chans[ch], buf, &ok) == 0)
        hl_yield();
      else if (ok)
        receive(st.self, ch, buf);
      else
        saw_closed(&st, ch);
      break;
    default: {
      int k = 1 + (int)(rnd(&st.s) % 6);
      hl_select_case_t cs[6];
      unsigned char bufs[6][sizeof(msg_t)];
      int chof[6];
      int64_t t = pick_timeout(&st.s);
      for (int i = 0; i < k; i++) {
        int c = i == 0 ? ch : random_open(&st);
        if (i > 0 && rnd(&st.s) % 4 == 0)
          c = chof[i - 1];
        chof[i] = c;
        bool nil = i > 0 && rnd(&st.s) % 6 == 0;
        cs[i] = (hl_select_case_t){.chan = nil ? NULL : chans[c],
                                   .dir = HL_RECV, .elem = bufs[i]};
      }
      int r = hl_select(cs, k, t);
      if (r < 0) {
        atomic_fetch_add_explicit(t > 0 ? &nexpired : &ntimeouts, 1,
                                  memory_order_relaxed);
        hl_yield();
      } else if (cs[r].ok) {
        receive(st.self, chof[r], bufs[r]);
      } else {
        saw_closed(&st, chof[r]);
      }
      break;
    }
    }
  }
  hl_chan_send(cons_done, NULL);
}

/* ---------------------------------------------------------------- main */

static int stress_main(void *arg) {
  (void)arg;
  uint64_t s = seed0;
  static const size_t caps[] = {0, 0, 1, 3, 16};
  chans = calloc((size_t)nchan, sizeof *chans);
  for (int i = 0; i < nchan; i++) {
    chans[i] = hl_chan_make(esize(i), caps[rnd(&s) % 5]);
    if (!chans[i]) {
      fprintf(stderr, "stress_chan: hl_chan_make failed\n");
      return 1;
    }
  }
  prod_done = hl_chan_make(0, (size_t)nprod);
  cons_done = hl_chan_make(0, (size_t)ncons);
  int64_t t0 = hl_nanotime();
  for (int i = 0; i < ncons; i++)
    hl_go(consumer, (void *)(intptr_t)i);
  for (int i = 0; i < nprod; i++)
    hl_go(producer, (void *)(intptr_t)i);
  for (int i = 0; i < nprod; i++)
    hl_chan_recv(prod_done, NULL);
  /* every message is sent: close everything; the consumers drain what is
   * buffered, then see the closes */
  for (int i = 0; i < nchan; i++)
    hl_chan_close(chans[i]);
  for (int i = 0; i < ncons; i++)
    hl_chan_recv(cons_done, NULL);
  double secs = (double)(hl_nanotime() - t0) / 1e9;
  uint64_t missing = 0;
  for (uint64_t b = 0; b < (uint64_t)nprod * (uint64_t)iters; b++)
    if (!(atomic_load(&received[b / 64]) & (1ull << (b % 64))))
      missing++;
  if (missing)
    FAIL("%" PRIu64 " messages never received\n", missing);
  for (int i = 0; i < nchan; i++) {
    if (hl_chan_len(chans[i]) != 0)
      FAIL("channel %d not drained\n", i);
    hl_chan_free(chans[i]);
  }
  hl_chan_free(prod_done);
  hl_chan_free(cons_done);
  long f = atomic_load(&failures);
  printf("stress_chan: procs %d, %d channels, %d producers, %d consumers, "
         "%ld messages each; ops send %ld timed %ld try %ld select %ld; "
         "%ld timers expired, %ld would-blocks; %.2f s; %s\n",
         hl_maxprocs(), nchan, nprod, ncons, iters,
         atomic_load(&nops[0]) + atomic_load(&nops[1]) + atomic_load(&nops[2]),
         atomic_load(&nops[3]), atomic_load(&nops[4]),
         atomic_load(&nops[5]) + atomic_load(&nops[6]) + atomic_load(&nops[7]),
         atomic_load(&nexpired), atomic_load(&ntimeouts), secs,
         f ? "FAILED" : "ok");
  return f ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: stress_chan THREADS SCALE ITER [SEED]\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  int scale = atoi(argv[2]);
  iters = atol(argv[3]);
  seed0 = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;
  if (threads < 1 || scale < 1 || scale > 16 || iters < 1 ||
      iters > (1L << 28)) {
    fprintf(stderr, "stress_chan: THREADS >= 1, SCALE 1..16, ITER "
                    "1..2^28\n");
    return 2;
  }
  char procs[16];
  snprintf(procs, sizeof procs, "%d", threads);
  setenv("HLMAXPROCS", procs, 1);
  nchan = 4 * scale;
  nprod = 4 * scale;
  ncons = 4 * scale;
  size_t bits = (size_t)nprod * (size_t)iters;
  received = calloc(bits / 64 + 1, sizeof *received);
  lastseq = malloc((size_t)ncons * nprod * nchan * sizeof *lastseq);
  if (!received || !lastseq)
    return 2;
  for (size_t i = 0; i < (size_t)ncons * nprod * nchan; i++)
    lastseq[i] = -1;
  return hl_main(stress_main, NULL);
}
