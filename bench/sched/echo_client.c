/*
 * bench/sched/echo_client.c — the load generator of the echo-server pair
 * (executable sched_echo_client). Plain C, no heaplab: the same client
 * process drives heaplab's server (sched_pairs echo-server) and Go's
 * (pairs.go echo-server), so only the servers differ.
 *
 *   sched_echo_client PORT CONNS SECONDS SIZE [WARMUP_MS]
 *
 * One thread, one epoll set (level-triggered), CONNS TCP connections to
 * 127.0.0.1:PORT with TCP_NODELAY. Each connection runs closed-loop
 * request/response round trips:
 *  1. write SIZE bytes (a pattern that changes with every request);
 *  2. read until SIZE bytes came back, check they are the bytes sent;
 *  3. count one request (only after the warm-up, default 200 ms) and go
 *     to 1, until SECONDS (after the warm-up) have passed.
 * Prints
 *   result bench=echo value=REQ_PER_SEC unit=req/s conns=C size=S seconds=D
 * and exits 0; exits 1 on any connection or protocol error (a server that
 * drops or corrupts data is not measured).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIZE_MAX_ 4096

struct conn {
  int fd;
  size_t sent, got; /* bytes of the current request written / read back */
  uint8_t seq;      /* pattern seed of the current request */
  bool wantout;     /* registered for EPOLLOUT too */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "sched_echo_client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long arg(char **argv, int i, long min, long max) {
  char *end;
  errno = 0;
  long v = strtol(argv[i], &end, 10);
  if (errno || end == argv[i] || *end || v < min || v > max) {
    fprintf(stderr,
            "sched_echo_client: argument \"%s\": an integer in "
            "%ld..%ld expected\n",
            argv[i], min, max);
    exit(2);
  }
  return v;
}

static void fill(uint8_t *buf, size_t n, uint8_t seq) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)(seq + i * 7);
}

static int epfd = -1;

/* Sets the events c waits for: EPOLLIN, plus EPOLLOUT while a request is
 * only partly written. */
static int want_out(struct conn *c, bool out) {
  if (c->wantout == out) return 0;
  c->wantout = out;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u),
                           .data.ptr = c};
  return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes the rest of c's request; returns 0, or -1 on error. */
static int send_more(struct conn *c, const uint8_t *req, size_t size) {
  while (c->sent < size) {
    ssize_t w = write(c->fd, req + c->sent, size - c->sent);
    if (w < 0) return errno == EAGAIN ? want_out(c, true) : -1;
    c->sent += (size_t)w;
  }
  return want_out(c, false);
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: %s PORT CONNS SECONDS SIZE [WARMUP_MS]\n", argv[0]);
    return 2;
  }
  int port = (int)arg(argv, 1, 1, 65535);
  int nconn = (int)arg(argv, 2, 1, 10000);
  int seconds = (int)arg(argv, 3, 1, 3600);
  size_t size = (size_t)arg(argv, 4, 1, SIZE_MAX_);
  int64_t warmup = (argc == 6 ? arg(argv, 5, 0, 60000) : 200) * 1000000LL;

  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ep = epfd = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct conn *conns = calloc((size_t)nconn, sizeof *conns);
  if (!conns) die("calloc");
  static uint8_t req[256][SIZE_MAX_]; /* one pattern per seq value */
  for (int s = 0; s < 256; s++)
    fill(req[s], size, (uint8_t)s);

  /* Connect blocking (the server is listening: the script waited for its
   * "listening" line), then switch to non-blocking for the loop. */
  for (int i = 0; i < nconn; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
    c->seq = (uint8_t)i;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  }

  /* Start every connection's first request. */
  for (int i = 0; i < nconn; i++)
    if (send_more(&conns[i], req[conns[i].seq], size) < 0) die("write");

  int64_t start = now_ns();
  int64_t measure_from = start + warmup;
  int64_t end = measure_from + (int64_t)seconds * 1000000000;
  uint64_t count = 0;
  uint8_t buf[SIZE_MAX_];
  struct epoll_event evs[256];
  for (;;) {
    int64_t now = now_ns();
    if (now >= end) break;
    int n = epoll_wait(ep, evs, 256, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    now = now_ns();
    for (int k = 0; k < n; k++) {
      struct conn *c = evs[k].data.ptr;
      if (c->sent < size) { /* a partial write: finish it first */
        if (send_more(c, req[c->seq], size) < 0) die("write");
        if (c->sent < size) continue;
      }
      ssize_t r = read(c->fd, buf, size - c->got);
      if (r == 0) {
        fprintf(stderr, "sched_echo_client: the server closed a "
                        "connection\n");
        return 1;
      }
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        die("read");
      }
      if (memcmp(buf, req[c->seq] + c->got, (size_t)r) != 0) {
        fprintf(stderr, "sched_echo_client: the server echoed different "
                        "bytes\n");
        return 1;
      }
      c->got += (size_t)r;
      if (c->got < size) continue;
      if (now >= measure_from && now < end) count++;
      c->got = 0;
      c->sent = 0;
      c->seq++;
      if (send_more(c, req[c->seq], size) < 0) die("write");
    }
  }
  double rate = (double)count / (double)seconds;
  printf("result bench=echo value=%.1f unit=req/s conns=%d size=%zu "
         "seconds=%d\n",
         rate, nconn, size, seconds);
  for (int i = 0; i < nconn; i++)
    close(conns[i].fd);
  free(conns);
  close(ep);
  return 0;
}
