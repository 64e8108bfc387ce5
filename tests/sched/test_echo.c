/*
 * tests/sched/test_echo.c — an echo server over the netpoller with 10,000
 * concurrent loopback connections, each verified.
 *
 * The server (this process, the cmocka test) accepts on 127.0.0.1 and
 * runs one goroutine per connection that, once all connections are
 * accepted (a gate as below), echoes what it reads until EOF.
 * The clients run in a child process (this executable again, with
 * --client), so that each process holds about 10,000 fds (the hard
 * RLIMIT_NOFILE here is 20,000): one goroutine per connection connects,
 * waits at a gate until all are connected (every client goroutine parks
 * reading one pipe; closing its write end wakes them all with EOF), sends
 * a payload of its own (length and bytes derived from its index), shuts
 * down its sending side and checks that exactly the payload comes back.
 * The server checks that all connections were open at once and that every
 * byte was echoed; the child's exit status says whether every echo was
 * right. Both print their timings.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { NCONN = 10000 };

/* Payload of connection i: 16..4015 bytes of an xorshift stream. */
static size_t payload_len(int i) { return 16 + (size_t)(i * 7919u % 4000u); }
static uint64_t payload_seed(int i) {
  return 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) | 1;
}
static unsigned char payload_next(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return (unsigned char)(*x >> 24);
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static double ms_since(int64_t t0) {
  return (double)(hl_nanotime() - t0) / 1e6;
}

/* ------------------------------------------------------------- server */

static _Atomic int srv_accepted, srv_open, srv_max_open, srv_done;
static int srv_gate[2]; /* echoing starts when all NCONN are accepted */
static _Atomic int64_t srv_bytes;
static _Atomic int srv_errors;

static void echo_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[2048];
  int64_t n = 0, t0 = hl_nanotime();
  if (hl_read(srv_gate[0], buf, 1, t0 + 30 * HL_SECOND) != 0)
    fprintf(stderr, "echo server: fd %d: the gate failed (errno %d)\n", fd,
            errno);
  for (;;) {
    ssize_t r = hl_read(fd, buf, sizeof buf, hl_nanotime() + 30 * HL_SECOND);
    if (r == 0)
      break;
    if (r < 0 || hl_write_all(fd, buf, (size_t)r, 0) < 0) {
      if (atomic_fetch_add(&srv_errors, 1) < 5)
        fprintf(stderr,
                "echo server: fd %d: %s failed (errno %d) after %.0f ms, "
                "%lld bytes echoed\n",
                fd, r < 0 ? "read" : "write", errno, ms_since(t0),
                (long long)n);
      break;
    }
    n += r;
  }
  atomic_fetch_add(&srv_bytes, n);
  atomic_fetch_sub(&srv_open, 1);
  hl_fd_close(fd);
  atomic_fetch_add(&srv_done, 1);
}

static void acceptor(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int c = hl_accept(lfd, NULL, NULL, 0);
    if (c < 0)
      break; /* the listener was closed */
    atomic_fetch_add(&srv_accepted, 1);
    int open = atomic_fetch_add(&srv_open, 1) + 1, max;
    while ((max = atomic_load(&srv_max_open)) < open &&
           !atomic_compare_exchange_weak(&srv_max_open, &max, open))
      ;
    hl_go(echo_conn, (void *)(intptr_t)c);
    if (atomic_load(&srv_accepted) == NCONN)
      hl_fd_close(srv_gate[1]); /* EOF: every echo goroutine goes on */
  }
}

static void test_echo_10k(void **st) {
  (void)st;
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  assert_int_equal(pipe2(srv_gate, O_CLOEXEC), 0);
  assert_int_equal(hl_fd_open(srv_gate[0]), 0);
  assert_int_equal(hl_fd_open(srv_gate[1]), 0);
  int lfd = hl_socket(AF_INET, SOCK_STREAM, 0);
  assert_true(lfd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(lfd, 4096), 0);
  socklen_t l = sizeof a;
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &l), 0);
  hl_go(acceptor, (void *)(intptr_t)lfd);

  char port[16], n[16];
  snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
  snprintf(n, sizeof n, "%d", NCONN);
  char *argv[] = {"test_echo", "--client", port, n, NULL};
  int64_t t0 = hl_nanotime();
  pid_t pid;
  char *xargv[16];
  const char *prog = hl_test_self_exec(argv, xargv);
  assert_int_equal(posix_spawn(&pid, prog, NULL, NULL, xargv, environ), 0);
  int status = 0;
  assert_int_equal(hl_sys_waitpid(pid, &status, 0), pid);
  double total_ms = ms_since(t0);
  int64_t end = hl_nanotime() + 10 * HL_SECOND;
  while (atomic_load(&srv_done) < NCONN && hl_nanotime() < end)
    hl_sleep(HL_MILLISECOND);
  hl_fd_close(lfd);
  hl_fd_close(srv_gate[0]);

  int64_t want = 0;
  for (int i = 0; i < NCONN; i++)
    want += (int64_t)payload_len(i);
  print_message("echo server: %d connections accepted, %d open at once, "
                "%lld bytes echoed, %.0f ms in all\n",
                atomic_load(&srv_accepted), atomic_load(&srv_max_open),
                (long long)atomic_load(&srv_bytes), total_ms);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0); /* every echo verified */
  assert_int_equal(atomic_load(&srv_accepted), NCONN);
  assert_int_equal(atomic_load(&srv_max_open), NCONN);
  assert_int_equal(atomic_load(&srv_done), NCONN);
  assert_int_equal(atomic_load(&srv_errors), 0);
  assert_int_equal(atomic_load(&srv_bytes), want);
}

/* ------------------------------------------------------------- client */

struct client_cfg {
  int port, n;
  int gate; /* read end of the gate pipe */
};
static struct client_cfg ccfg;
static _Atomic int cl_connected, cl_done, cl_ok, cl_fail_connect,
    cl_fail_io, cl_fail_data;

/* A failed connection says where it stopped (the first few only). */
static _Atomic int cl_reported;
static void client_report(int i, const char *stage, size_t sent, size_t got,
                          int64_t t0) {
  int e = errno;
  if (atomic_fetch_add(&cl_reported, 1) < 5)
    fprintf(stderr,
            "echo client: connection %d failed in %s (errno %d) after "
            "%.0f ms, %zu of %zu bytes sent, %zu received\n",
            i, stage, e, ms_since(t0), sent, payload_len(i), got);
}

static void client_conn(void *arg) {
  int i = (int)(intptr_t)arg;
  int64_t t0 = hl_nanotime(), deadline = t0 + 60 * HL_SECOND;
  int fd = hl_socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)ccfg.port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || hl_connect(fd, (struct sockaddr *)&a, sizeof a, deadline)) {
    client_report(i, "connect", 0, 0, t0);
    atomic_fetch_add(&cl_fail_connect, 1);
    atomic_fetch_add(&cl_connected, 1);
    goto out;
  }
  atomic_fetch_add(&cl_connected, 1);
  char c;
  if (hl_read(ccfg.gate, &c, 1, deadline) != 0) /* EOF: the gate opened */
    client_report(i, "the gate", 0, 0, t0);

  size_t len = payload_len(i), sent = 0, got = 0;
  uint64_t sx = payload_seed(i), rx = sx;
  unsigned char buf[512], in[512];
  while (sent < len) {
    size_t k = len - sent < sizeof buf ? len - sent : sizeof buf;
    for (size_t j = 0; j < k; j++)
      buf[j] = payload_next(&sx);
    if (hl_write_all(fd, buf, k, deadline) < 0) {
      client_report(i, "write", sent, 0, t0);
      atomic_fetch_add(&cl_fail_io, 1);
      goto out;
    }
    sent += k;
  }
  shutdown(fd, SHUT_WR);
  bool same = true;
  for (;;) {
    ssize_t r = hl_read(fd, in, sizeof in, deadline);
    if (r < 0) {
      client_report(i, "read", sent, got, t0);
      atomic_fetch_add(&cl_fail_io, 1);
      goto out;
    }
    if (r == 0)
      break;
    for (ssize_t j = 0; j < r; j++)
      same &= got + (size_t)j < len && in[j] == payload_next(&rx);
    got += (size_t)r;
  }
  if (same && got == len)
    atomic_fetch_add(&cl_ok, 1);
  else
    atomic_fetch_add(&cl_fail_data, 1);
out:
  if (fd >= 0)
    hl_fd_close(fd);
  atomic_fetch_add(&cl_done, 1);
}

static void wait_at_least(_Atomic int *v, int n) {
  while (atomic_load(v) < n)
    hl_sleep(HL_MILLISECOND);
}

static int client_main(void *arg) {
  (void)arg;
  /* keep the main goroutine on m0 (as the harness does): hl_main must
   * return on m0, and an unwired m0 may sit in epoll_wait when main ends
   * (see docs/sched/io-and-timers.md, "known limits") */
  hl_lock_os_thread();
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0 || hl_fd_open(gate[0]) < 0 ||
      hl_fd_open(gate[1]) < 0)
    return 3;
  ccfg.gate = gate[0];
  int64_t t0 = hl_nanotime();
  for (int i = 0; i < ccfg.n; i++)
    hl_go(client_conn, (void *)(intptr_t)i);
  wait_at_least(&cl_connected, ccfg.n);
  double connect_ms = ms_since(t0);
  int64_t live = hl_numgoroutine() - 1;
  int64_t t1 = hl_nanotime();
  hl_fd_close(gate[1]); /* EOF: every client goroutine goes on */
  wait_at_least(&cl_done, ccfg.n);
  double echo_ms = ms_since(t1);
  hl_fd_close(gate[0]);
  printf("echo client: %d connections (%lld goroutines parked at the gate) "
         "in %.0f ms; echoes in %.0f ms: %d verified, %d connect errors, "
         "%d I/O errors, %d wrong echoes\n",
         ccfg.n, (long long)live, connect_ms, echo_ms, atomic_load(&cl_ok),
         atomic_load(&cl_fail_connect), atomic_load(&cl_fail_io),
         atomic_load(&cl_fail_data));
  fflush(stdout);
  return atomic_load(&cl_ok) == ccfg.n ? 0 : 1;
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_echo_10k),
};

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--client") == 0) {
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    ccfg.port = atoi(argv[2]);
    ccfg.n = atoi(argv[3]);
    return hl_main(client_main, NULL);
  }
  struct hl_test_group g = {tests, sizeof tests / sizeof tests[0], "echo"};
  return hl_main(hl_test_group_main, &g);
}
