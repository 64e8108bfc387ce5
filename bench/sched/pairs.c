/*
 * bench/sched/pairs.c — the heaplab side of the scheduler benchmark pairs
 * (executable sched_pairs). Each subcommand has a Go twin of the same name
 * in bench/sched/go/pairs.go with the same definition; the pairs are run
 * side by side, interleaved and repeated, by scripts/sched_bench.sh, which
 * writes docs/results/scheduler.md.
 *
 *   sched_pairs yield N        the main goroutine and one partner each call
 *                              hl_yield N times, then main yields until the
 *                              partner is done; value: elapsed / 2N, ns per
 *                              switch (run with HLMAXPROCS=1: every yield is
 *                              one goroutine-to-goroutine switch).
 *   sched_pairs spawn N        one untimed round, then a timed one:
 *                              wg add N, N goroutines that only call
 *                              hl_waitgroup_done, wg wait; value: ns per
 *                              goroutine (spawn + run + exit).
 *   sched_pairs pingpong N     main sends i on unbuffered channel ping, the
 *                              partner receives and sends it back on pong;
 *                              value: ns per round trip.
 *   sched_pairs ring HOPS      Benchmarks Game thread-ring: 503 goroutines,
 *                              goroutine i receives the token on ring[i] and
 *                              sends token-1 on ring[(i+1)%503]; whoever
 *                              receives 0 reports on `done`; value: ns per
 *                              hop, from the first send to the report.
 *   sched_pairs sleep N MS     N goroutines each hl_sleep(MS ms) then
 *                              hl_waitgroup_done; value: wall ms from the
 *                              first spawn to wg wait returning.
 *   sched_pairs parked N       RSS before; N goroutines each count
 *                              themselves and block receiving from one
 *                              channel; once all counted, 50 ms more, RSS
 *                              after; value: (after - before) / N, KiB.
 *   sched_pairs echo-server PORT SECONDS
 *                              echo server on 127.0.0.1:PORT (0: any port),
 *                              one goroutine per connection doing hl_read
 *                              then hl_write_all of what it read (4 KiB
 *                              buffer), TCP_NODELAY as Go's default; prints
 *                              "listening PORT" and exits after SECONDS.
 *                              Driven by sched_echo_client (echo_client.c).
 *
 * Processors: HLMAXPROCS (the script sets it, and GOMAXPROCS for Go, the
 * same). Every benchmark prints one line, parsed by the script:
 *
 *   result bench=NAME value=X unit=U procs=P n=N
 *
 * Nothing here is tuned for heaplab: where the Go program uses a WaitGroup
 * or a channel, this one uses hl_waitgroup_* or hl_chan_*, so a difference
 * is a difference of the runtimes.
 */
#include "heaplab/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "sched_pairs";

static void usage(void) {
  fprintf(stderr,
          "usage: %s BENCH [ARGS]\n"
          "  yield N            two goroutines, N hl_yield each: ns per "
          "switch\n"
          "  spawn N            N empty goroutines waited with a waitgroup: "
          "ns each\n"
          "  pingpong N         N round trips over two unbuffered channels: "
          "ns each\n"
          "  ring HOPS          503 goroutines in a ring of channels: ns per "
          "hop\n"
          "  sleep N MS         N goroutines each sleeping MS ms: total wall "
          "ms\n"
          "  parked N           N goroutines parked on a channel: RSS KiB "
          "each\n"
          "  echo-server PORT SECONDS\n"
          "                     echo server on 127.0.0.1:PORT (0: any), "
          "stops after\n"
          "                     SECONDS; prints \"listening PORT\"\n",
          prog);
  exit(2);
}

/* argv[i] as a positive integer (PORT may be 0), or usage. */
static long arg_long(int argc, char **argv, int i, long min) {
  if (i >= argc) usage();
  char *end;
  errno = 0;
  long v = strtol(argv[i], &end, 10);
  if (errno || end == argv[i] || *end || v < min) {
    fprintf(stderr, "%s: argument \"%s\": an integer >= %ld expected\n", prog,
            argv[i], min);
    exit(2);
  }
  return v;
}

static void result(const char *bench, double value, const char *unit, long n) {
  printf("result bench=%s value=%.3f unit=%s procs=%d n=%ld\n", bench, value,
         unit, hl_maxprocs(), n);
  fflush(stdout);
}

/* ---------------------------------------------------------------- yield */

static _Atomic int yield_done;

static void yield_partner(void *arg) {
  long n = (long)(intptr_t)arg;
  for (long i = 0; i < n; i++)
    hl_yield();
  atomic_store_explicit(&yield_done, 1, memory_order_release);
}

static void bench_yield(long n) {
  hl_go(yield_partner, (void *)(intptr_t)n);
  int64_t t0 = hl_nanotime();
  for (long i = 0; i < n; i++)
    hl_yield();
  while (!atomic_load_explicit(&yield_done, memory_order_acquire))
    hl_yield();
  int64_t el = hl_nanotime() - t0;
  result("yield", (double)el / (double)(2 * n), "ns/switch", n);
}

/* ---------------------------------------------------------------- spawn */

static void spawn_child(void *arg) {
  hl_waitgroup_done(arg);
}

static int64_t spawn_round(long n) {
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  int64_t t0 = hl_nanotime();
  hl_waitgroup_add(&wg, n);
  for (long i = 0; i < n; i++)
    hl_go(spawn_child, &wg);
  hl_waitgroup_wait(&wg);
  return hl_nanotime() - t0;
}

static void bench_spawn(long n) {
  spawn_round(n); /* warm-up: stacks and Gs exist, as in Go's run */
  int64_t el = spawn_round(n);
  result("spawn", (double)el / (double)n, "ns/goroutine", n);
}

/* ------------------------------------------------------------- pingpong */

struct pingpong {
  hl_chan_t *ping, *pong;
};

static void pingpong_partner(void *arg) {
  /* a copy: *arg is on main's stack, and main may have returned (after
   * its last receive) by the time this loops back to receive again */
  struct pingpong pp = *(struct pingpong *)arg;
  int64_t v;
  while (hl_chan_recv(pp.ping, &v))
    hl_chan_send(pp.pong, &v);
}

static hl_chan_t *chan_or_die(size_t elemsize, size_t cap) {
  hl_chan_t *c = hl_chan_make(elemsize, cap);
  if (!c) {
    fprintf(stderr, "%s: hl_chan_make: out of memory\n", prog);
    exit(1);
  }
  return c;
}

static void bench_pingpong(long n) {
  struct pingpong pp = {chan_or_die(sizeof(int64_t), 0),
                        chan_or_die(sizeof(int64_t), 0)};
  hl_go(pingpong_partner, &pp);
  int64_t t0 = hl_nanotime();
  for (int64_t i = 0; i < n; i++) {
    int64_t v = i;
    hl_chan_send(pp.ping, &v);
    hl_chan_recv(pp.pong, &v);
    if (v != i) {
      fprintf(stderr, "%s: pingpong: sent %ld, got %ld back\n", prog, (long)i,
              (long)v);
      exit(1);
    }
  }
  int64_t el = hl_nanotime() - t0;
  hl_chan_close(pp.ping);
  result("pingpong", (double)el / (double)n, "ns/roundtrip", n);
}

/* ----------------------------------------------------------------- ring */

#define RING_SIZE 503

static hl_chan_t *ring[RING_SIZE];
static hl_chan_t *ring_done;

static void ring_member(void *arg) {
  int64_t i = (int64_t)(intptr_t)arg;
  hl_chan_t *in = ring[i], *out = ring[(i + 1) % RING_SIZE];
  for (;;) {
    int64_t t;
    hl_chan_recv(in, &t);
    if (t == 0) {
      hl_chan_send(ring_done, &i);
      return;
    }
    t--;
    hl_chan_send(out, &t);
  }
}

static void bench_ring(long hops) {
  for (int i = 0; i < RING_SIZE; i++)
    ring[i] = chan_or_die(sizeof(int64_t), 0);
  ring_done = chan_or_die(sizeof(int64_t), 0);
  for (int i = 0; i < RING_SIZE; i++)
    hl_go(ring_member, (void *)(intptr_t)i);
  int64_t t0 = hl_nanotime();
  int64_t token = hops, who;
  hl_chan_send(ring[0], &token);
  hl_chan_recv(ring_done, &who);
  int64_t el = hl_nanotime() - t0;
  if (who != hops % RING_SIZE) {
    fprintf(stderr,
            "%s: ring: goroutine %ld holds the last token, %ld "
            "expected\n",
            prog, (long)who, hops % RING_SIZE);
    exit(1);
  }
  result("ring", (double)el / (double)hops, "ns/hop", hops);
  /* the other 502 goroutines stay parked; they are abandoned at exit */
}

/* ---------------------------------------------------------------- sleep */

struct sleeper {
  hl_waitgroup_t wg;
  int64_t ns;
};

static void sleep_child(void *arg) {
  struct sleeper *s = arg;
  hl_sleep(s->ns);
  hl_waitgroup_done(&s->wg);
}

static void bench_sleep(long n, long ms) {
  struct sleeper s = {HL_WAITGROUP_INIT, ms * HL_MILLISECOND};
  int64_t t0 = hl_nanotime();
  hl_waitgroup_add(&s.wg, n);
  for (long i = 0; i < n; i++)
    hl_go(sleep_child, &s);
  hl_waitgroup_wait(&s.wg);
  int64_t el = hl_nanotime() - t0;
  result("sleep", (double)el / 1e6, "ms", n);
}

/* --------------------------------------------------------------- parked */

/* Resident set size from /proc/self/statm (second field, pages). */
static long rss_bytes(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0) return -1;
  buf[r] = 0;
  long size, resident;
  if (sscanf(buf, "%ld %ld", &size, &resident) != 2) return -1;
  return resident * sysconf(_SC_PAGESIZE);
}

static hl_chan_t *park_chan;
static _Atomic long park_started;

static void parked_child(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&park_started, 1, memory_order_relaxed);
  hl_chan_recv(park_chan, NULL);
}

static void bench_parked(long n) {
  park_chan = chan_or_die(0, 0);
  long before = rss_bytes();
  for (long i = 0; i < n; i++)
    hl_go(parked_child, NULL);
  while (atomic_load_explicit(&park_started, memory_order_relaxed) < n)
    hl_sleep(HL_MILLISECOND);
  hl_sleep(50 * HL_MILLISECOND);
  long after = rss_bytes();
  if (before < 0 || after < 0) {
    fprintf(stderr, "%s: parked: cannot read /proc/self/statm\n", prog);
    exit(1);
  }
  result("parked", (double)(after - before) / 1024.0 / (double)n,
         "KiB/goroutine", n);
  /* the parked goroutines are abandoned when main returns */
}

/* ---------------------------------------------------------- echo server */

static void echo_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = hl_read(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (hl_write_all(fd, buf, (size_t)n, 0) < 0) break;
  }
  hl_fd_close(fd);
}

static int bench_echo_server(long port, long seconds) {
  int ls = hl_socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) {
    perror("echo-server: socket");
    return 1;
  }
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) {
    perror("echo-server: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &alen);
  printf("listening %d\n", ntohs(a.sin_port));
  fflush(stdout);
  int64_t deadline = hl_nanotime() + seconds * HL_SECOND;
  for (;;) {
    int c = hl_accept(ls, NULL, NULL, deadline);
    if (c < 0) {
      if (errno == ETIMEDOUT)
        return 0; /* time is up: the connections are abandoned */
      continue;
    }
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    hl_go(echo_conn, (void *)(intptr_t)c);
  }
}

/* ----------------------------------------------------------------- main */

struct args {
  int argc;
  char **argv;
};

static int run(void *arg) {
  struct args *a = arg;
  int argc = a->argc;
  char **argv = a->argv;
  const char *b = argv[1];
  if (!strcmp(b, "yield"))
    bench_yield(arg_long(argc, argv, 2, 1));
  else if (!strcmp(b, "spawn"))
    bench_spawn(arg_long(argc, argv, 2, 1));
  else if (!strcmp(b, "pingpong"))
    bench_pingpong(arg_long(argc, argv, 2, 1));
  else if (!strcmp(b, "ring"))
    bench_ring(arg_long(argc, argv, 2, 1));
  else if (!strcmp(b, "sleep"))
    bench_sleep(arg_long(argc, argv, 2, 1), arg_long(argc, argv, 3, 1));
  else if (!strcmp(b, "parked"))
    bench_parked(arg_long(argc, argv, 2, 1));
  else if (!strcmp(b, "echo-server"))
    return bench_echo_server(arg_long(argc, argv, 2, 0),
                             arg_long(argc, argv, 3, 1));
  else
    usage();
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  struct args a = {argc, argv};
  return hl_main(run, &a);
}
