/*
 * tests/soak/soak.c — a mixed workload for long runs (scripts/soak.sh):
 * `soak SECONDS [REPORT_SECONDS]` runs, all at once, for SECONDS:
 *  1. graph: MUTATORS goroutines rewrite a shared object graph on the
 *     collected heap — a root table of SLOTS trees; each step replaces a
 *     random slot with a fresh tree of random depth, or re-links a random
 *     node's child to another slot's tree (HL_STORE), then walks a random
 *     slot and checks every node's check word (a function of its id and
 *     value): a node the collector freed while reachable, or memory reused
 *     under a live node, breaks it;
 *  2. channels: a producer sends 1..N on a buffered channel, a relay moves
 *     them to an unbuffered one, a consumer checks they arrive in order;
 *  3. timers: sleepers sleep random 0.1..5 ms and check they did not wake
 *     early;
 *  4. netpoll: an echo goroutine on one end of a socketpair, a client on
 *     the other end writing random-length messages and checking the echo;
 *  5. pools: POOLERS goroutines take buffers from one hl_pool and one
 *     hl_freelist, claim them (an owner word that must be 0: a buffer handed
 *     to two goroutines at once fails), fill them with their own pattern,
 *     yield, check the pattern and give them back; the collector empties
 *     the pool into its victim cache every cycle meanwhile.
 * Every REPORT_SECONDS (default 10) it prints one line: elapsed time, RSS,
 * heap live, collections run, operations of each kind, failures. At the
 * end a summary; exit status 0 only if there was no failure.
 * Run it with HLDEBUG=gccheckmark=1 (scripts/soak.sh does): every cycle is
 * re-marked under stop-the-world and a missed object aborts.
 */
#include "heaplab/heaplab.h"
#include "heaplab/pools.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOTS 4096
#define MUTATORS 4
#define SLEEPERS 8
#define POOLERS 4
#define BUFWORDS 64

struct node {
  struct node *left, *right;
  uint64_t id, value, check;
};
#define NODE_T HL_TYPE(struct node, left, right)

static struct node *slots[SLOTS]; /* a registered root */
static _Atomic uint64_t next_id = 1;
static _Atomic int stop;
static _Atomic uint64_t failures, graph_ops, chan_msgs, timer_sleeps,
    echo_msgs, pool_ops;

static uint64_t check_of(const struct node *n) {
  return (n->id * 0x9E3779B97F4A7C15ull) ^ (n->value + 0x5bd1e995);
}

static void fail(const char *what) {
  atomic_fetch_add(&failures, 1);
  fprintf(stderr, "soak: FAILURE: %s\n", what);
}

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static struct node *tree(int depth, uint64_t *rs) {
  struct node *n = hl_new(NODE_T);
  n->id = atomic_fetch_add(&next_id, 1);
  n->value = rnd(rs);
  n->check = check_of(n);
  if (depth > 0) {
    struct node *l = tree(depth - 1, rs);
    HL_STORE(n->left, l);
    struct node *r = tree(depth - 1, rs);
    HL_STORE(n->right, r);
  }
  return n;
}

/* Walks at most budget nodes (links may make cycles), checking each. */
static void walk(struct node *n, int *budget) {
  while (n && (*budget)-- > 0) {
    if (n->check != check_of(n)) {
      fail("graph: a reachable node was overwritten or freed");
      return;
    }
    walk(n->left, budget);
    n = n->right;
  }
}

static void mutator(void *arg) {
  uint64_t rs = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
  while (!atomic_load(&stop)) {
    int i = (int)(rnd(&rs) % SLOTS);
    switch (rnd(&rs) % 4) {
    case 0:
    case 1: {
      struct node *t = tree((int)(rnd(&rs) % 7), &rs);
      HL_STORE(slots[i], t);
      break;
    }
    case 2: { /* re-link: a child of slot i points into slot j's tree */
      struct node *a = slots[i], *b = slots[rnd(&rs) % SLOTS];
      if (a && b) {
        if (rnd(&rs) & 1)
          HL_STORE(a->left, b);
        else
          HL_STORE(a->right, b->left);
      }
      break;
    }
    default: {
      int budget = 2000;
      walk(slots[i], &budget);
      break;
    }
    }
    atomic_fetch_add(&graph_ops, 1);
    if ((rnd(&rs) & 63) == 0)
      hl_yield();
  }
}

/* ---- channels ----------------------------------------------------------- */

static hl_chan_t *c_buf, *c_unbuf;

static void producer(void *arg) {
  (void)arg;
  for (uint64_t v = 1; !atomic_load(&stop); v++)
    hl_chan_send(c_buf, &v);
  uint64_t zero = 0;
  hl_chan_send(c_buf, &zero);
}

static void relay(void *arg) {
  (void)arg;
  uint64_t v;
  do {
    hl_chan_recv(c_buf, &v);
    hl_chan_send(c_unbuf, &v);
  } while (v != 0);
}

static void consumer(void *arg) {
  hl_waitgroup_t *wg = arg;
  uint64_t v, want = 1;
  for (;;) {
    hl_chan_recv(c_unbuf, &v);
    if (v == 0)
      break;
    if (v != want++)
      fail("channels: a value was lost, repeated or reordered");
    atomic_fetch_add(&chan_msgs, 1);
  }
  hl_waitgroup_done(wg);
}

/* ---- timers ------------------------------------------------------------- */

static void sleeper(void *arg) {
  hl_waitgroup_t *wg = arg;
  uint64_t rs = (uintptr_t)&rs | 1;
  while (!atomic_load(&stop)) {
    int64_t d = 100 * HL_MICROSECOND + (int64_t)(rnd(&rs) % (5 * HL_MILLISECOND));
    int64_t t0 = hl_nanotime();
    hl_sleep(d);
    if (hl_nanotime() - t0 < d)
      fail("timers: a sleep ended early");
    atomic_fetch_add(&timer_sleeps, 1);
  }
  hl_waitgroup_done(wg);
}

/* ---- pools --------------------------------------------------------------- */

struct buf {
  _Atomic uint64_t owner; /* 0: free; else the goroutine that holds it */
  uint64_t w[BUFWORDS];
};

static hl_pool_t *pool;
static hl_freelist_t *flist;

static void *buf_new(void *arg) {
  (void)arg;
  return hl_alloc_noscan(sizeof(struct buf)); /* zeroed: owner 0 */
}

static void use_buf(struct buf *b, uint64_t me, uint64_t *rs) {
  uint64_t free_ = 0;
  if (!atomic_compare_exchange_strong(&b->owner, &free_, me)) {
    fail("pools: a buffer handed to two goroutines at once");
    return;
  }
  uint64_t salt = rnd(rs);
  for (int i = 0; i < BUFWORDS; i++)
    b->w[i] = salt ^ (uint64_t)i ^ me;
  if ((salt & 7) == 0)
    hl_yield();
  for (int i = 0; i < BUFWORDS; i++)
    if (b->w[i] != (salt ^ (uint64_t)i ^ me)) {
      fail("pools: a buffer changed while held");
      break;
    }
  atomic_store(&b->owner, 0);
}

static void pooler(void *arg) {
  hl_waitgroup_t *wg = arg;
  uint64_t me = atomic_fetch_add(&next_id, 1), rs = me * 0x9e3779b97f4a7c15u;
  while (!atomic_load(&stop)) {
    struct buf *b = hl_pool_get(pool);
    if (!b) {
      fail("pools: hl_pool_get returned NULL");
      break;
    }
    use_buf(b, me, &rs);
    hl_pool_put(pool, b);
    struct buf *f = hl_freelist_get(flist);
    if (!f) {
      fail("pools: hl_freelist_get returned NULL");
      break;
    }
    use_buf(f, me, &rs);
    hl_freelist_put(flist, f);
    atomic_fetch_add(&pool_ops, 2);
  }
  hl_waitgroup_done(wg);
}

/* ---- netpoll echo ------------------------------------------------------- */

static int sv[2];

static void echo_server(void *arg) {
  (void)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = hl_read(sv[1], buf, sizeof buf, 0);
    if (n <= 0)
      break;
    if (hl_write_all(sv[1], buf, (size_t)n, 0) != n)
      break;
  }
}

static void echo_client(void *arg) {
  hl_waitgroup_t *wg = arg;
  uint64_t rs = 88172645463325252ull;
  static char out[4096], in[4096];
  while (!atomic_load(&stop)) {
    size_t n = 1 + rnd(&rs) % sizeof out;
    for (size_t i = 0; i < n; i++)
      out[i] = (char)rnd(&rs);
    if (hl_write_all(sv[0], out, n, 0) != (ssize_t)n) {
      fail("netpoll: write failed");
      break;
    }
    size_t got = 0;
    while (got < n) {
      ssize_t r = hl_read(sv[0], in + got, n - got, hl_nanotime() + 5 * HL_SECOND);
      if (r <= 0)
        break;
      got += (size_t)r;
    }
    if (got != n || memcmp(in, out, n) != 0)
      fail("netpoll: echo differs or timed out");
    atomic_fetch_add(&echo_msgs, 1);
  }
  hl_waitgroup_done(wg);
}

/* ---- main --------------------------------------------------------------- */

static double seconds;
static double report_every = 10;

static uint64_t rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
      res = 0;
    fclose(f);
  }
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
}

static void report(double t, const char *tag) {
  hl_gc_stats_t st;
  hl_gc_stats(&st);
  printf("%s t=%.0fs rss=%lluMB live=%lluMB cycles=%llu graph=%llu chan=%llu "
         "sleeps=%llu echo=%llu pools=%llu failures=%llu\n",
         tag, t, (unsigned long long)rss_mb(),
         (unsigned long long)(st.heap_live >> 20),
         (unsigned long long)st.numgc,
         (unsigned long long)atomic_load(&graph_ops),
         (unsigned long long)atomic_load(&chan_msgs),
         (unsigned long long)atomic_load(&timer_sleeps),
         (unsigned long long)atomic_load(&echo_msgs),
         (unsigned long long)atomic_load(&pool_ops),
         (unsigned long long)atomic_load(&failures));
  fflush(stdout);
}

static int soak_main(void *arg) {
  (void)arg;
  hl_gc_add_root(slots, sizeof slots);
  c_buf = hl_chan_make(sizeof(uint64_t), 64);
  c_unbuf = hl_chan_make(sizeof(uint64_t), 0);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || hl_fd_open(sv[0]) != 0 ||
      hl_fd_open(sv[1]) != 0) {
    perror("soak: socketpair");
    return 1;
  }
  pool = hl_pool_create(buf_new, NULL);
  flist = hl_freelist_create(16, buf_new, NULL);
  if (!pool || !flist) {
    perror("soak: pools");
    return 1;
  }
  static hl_waitgroup_t wg;
  hl_waitgroup_add(&wg, 1 + SLEEPERS + 1 + POOLERS);
  for (int i = 0; i < MUTATORS; i++)
    hl_go(mutator, (void *)(uintptr_t)(i + 1));
  hl_go(producer, NULL);
  hl_go(relay, NULL);
  hl_go(consumer, &wg);
  for (int i = 0; i < SLEEPERS; i++)
    hl_go(sleeper, &wg);
  hl_go(echo_server, NULL);
  hl_go(echo_client, &wg);
  for (int i = 0; i < POOLERS; i++)
    hl_go(pooler, &wg);

  int64_t start = hl_nanotime(), next = start;
  for (;;) {
    int64_t now = hl_nanotime();
    double t = (double)(now - start) / 1e9;
    if (now >= next) {
      report(t, "soak:");
      next += (int64_t)(report_every * 1e9);
    }
    if (t >= seconds)
      break;
    hl_sleep(100 * HL_MILLISECOND);
  }
  atomic_store(&stop, 1);
  hl_waitgroup_wait(&wg);
  hl_fd_close(sv[0]); /* the echo server's read fails: it returns */
  report((double)(hl_nanotime() - start) / 1e9, "soak: end");
  return atomic_load(&failures) ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (seconds = atof(argv[1])) <= 0) {
    fprintf(stderr, "usage: soak SECONDS [REPORT_SECONDS]\n");
    return 2;
  }
  if (argc > 2 && (report_every = atof(argv[2])) <= 0) {
    fprintf(stderr, "soak: bad REPORT_SECONDS \"%s\"\n", argv[2]);
    return 2;
  }
  return hl_main(soak_main, NULL);
}
