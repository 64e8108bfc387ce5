/*
 * tests/base/test_throw.c — the allocation-free formatter and fatal errors.
 *
 * The formatter is checked two ways: against literal expectations where the
 * output is heaplab's own (NULL %s, %p of NULL, unknown conversions,
 * truncation), and against libc snprintf for every conversion, width and
 * flag both support. hl_throw/hl_throwf/hl_misuse end the process, so each
 * runs in a forked child whose stderr is captured through a pipe; the test
 * checks the child died of SIGABRT and printed exactly the expected text.
 */
#include "base/throw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- child-process helper ---------------------------------------------- */

typedef struct child {
  int status;     /* from waitpid */
  char out[8192]; /* the child's stderr, NUL-terminated */
  size_t len;
} child_t;

/* Runs fn in a forked child with stderr redirected into a pipe; the child
 * exits 0 if fn returns. No cmocka asserts may run in the child. */
static void run_child(void (*fn)(void), child_t *c) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore); /* the aborts are expected */
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    fn();
    _exit(0);
  }
  close(p[1]);
  c->len = 0;
  for (;;) {
    ssize_t n = read(p[0], c->out + c->len, sizeof c->out - 1 - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    c->len += (size_t)n;
  }
  c->out[c->len] = '\0';
  close(p[0]);
  assert_int_equal(waitpid(pid, &c->status, 0), pid);
}

static void assert_aborted(const child_t *c) {
  if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGABRT)
    fail_msg("child did not die of SIGABRT: status 0x%x, stderr \"%s\"",
             c->status, c->out);
}

/* ---- formatter: literal expectations ----------------------------------- */

/* Formats into a 256-byte buffer and checks text and return value. */
#define EXPECT(want, ...)                                                      \
  do {                                                                         \
    char b_[256];                                                              \
    int n_ = hl_snprintf(b_, sizeof b_, __VA_ARGS__);                          \
    assert_string_equal(b_, want);                                             \
    assert_int_equal(n_, (int)strlen(want));                                   \
  } while (0)

static void test_basic_conversions(void **state) {
  (void)state;
  EXPECT("", "%s", "");
  EXPECT("plain text", "plain text");
  EXPECT("42", "%d", 42);
  EXPECT("-42", "%i", -42);
  EXPECT("0", "%u", 0u);
  EXPECT("ff", "%x", 255u);
  EXPECT("FF", "%X", 255u);
  EXPECT("x", "%c", 'x');
  EXPECT("100%", "%d%%", 100);
  EXPECT("a=1 b=two c=0x3", "a=%d b=%s c=0x%x", 1, "two", 3u);
}

static void test_null_string_and_pointer(void **state) {
  (void)state;
  /* volatile: keeps the compiler from seeing (and rejecting) the NULL */
  const char *volatile nul = NULL;
  EXPECT("(null)", "%s", nul);
  EXPECT("  (null)|", "%8s|", nul);
  EXPECT("(nu", "%.3s", nul);
  EXPECT("0x0", "%p", (void *)NULL);
  EXPECT("0x1000", "%p", (void *)(uintptr_t)0x1000);
}

static void test_unknown_conversion_is_copied(void **state) {
  (void)state;
  char b[64];
  /* a non-literal format, so the compiler does not reject it */
  const char *volatile fmt = "a%qb";
  assert_int_equal(hl_snprintf(b, sizeof b, fmt, 1), 4);
  assert_string_equal(b, "a%qb");
  fmt = "end%";
  assert_int_equal(hl_snprintf(b, sizeof b, fmt, 1), 4);
  assert_string_equal(b, "end%");
  fmt = "%-0";
  assert_int_equal(hl_snprintf(b, sizeof b, fmt, 1), 3);
  assert_string_equal(b, "%-0");
}

static void test_width_and_flags(void **state) {
  (void)state;
  EXPECT("   42", "%5d", 42);
  EXPECT("42   |", "%-5d|", 42);
  EXPECT("00042", "%05d", 42);
  EXPECT("-0042", "%05d", -42);
  EXPECT("0000000000001234", "%016lx", 0x1234ul);
  EXPECT("      0x10|", "%10p|", (void *)(uintptr_t)16);
  EXPECT("ab", "%1s", "ab");
  EXPECT("  ab", "%*s", 4, "ab");
  EXPECT("ab  |", "%*s|", -4, "ab");
  EXPECT("abc", "%.*s", 3, "abcdef");
  EXPECT("  x", "%3c", 'x');
  EXPECT("x  |", "%-3c|", 'x');

  /* '-' wins over '0' (as in C); non-literal, since gcc warns about it */
  char b[32];
  const char *volatile fmt = "%-05d|%0-5x|";
  assert_int_equal(hl_snprintf(b, sizeof b, fmt, -5, 0xau), 12);
  assert_string_equal(b, "-5   |a    |");
}

/* ---- formatter: against libc ------------------------------------------- */

#define SAME(...)                                                              \
  do {                                                                         \
    char a_[256], b_[256];                                                     \
    int na_ = hl_snprintf(a_, sizeof a_, __VA_ARGS__);                         \
    int nb_ = snprintf(b_, sizeof b_, __VA_ARGS__);                            \
    assert_string_equal(a_, b_);                                               \
    assert_int_equal(na_, nb_);                                                \
  } while (0)

static void test_matches_libc(void **state) {
  (void)state;
  int x = 7;
  SAME("%d %d %d %d", 0, 1, INT_MAX, INT_MIN);
  SAME("%i %i", -1, INT_MIN + 1);
  SAME("%u %u", 0u, UINT_MAX);
  SAME("%ld %ld %ld", 0l, LONG_MAX, LONG_MIN);
  SAME("%lu %lu", 0ul, ULONG_MAX);
  SAME("%lld %lld %lld", -1ll, LLONG_MAX, LLONG_MIN);
  SAME("%llu %llu", 0ull, ULLONG_MAX);
  SAME("%zu %zu", (size_t)0, SIZE_MAX);
  SAME("%zd %zd %zd", (ssize_t)-5, (ssize_t)SSIZE_MAX, (ssize_t)-SSIZE_MAX - 1);
  SAME("%x %x %x", 0u, 0xdeadbeefu, UINT_MAX);
  SAME("%lx %lx", 0ul, ULONG_MAX);
  SAME("%llx %llx", 0x123456789abcdefull, ULLONG_MAX);
  SAME("%zx %zx", (size_t)4096, SIZE_MAX);
  SAME("%X %lX", 0xabcu, 0xfedcba98ul);
  SAME("%hhd %hhu %hd %hu", (signed char)-3, (unsigned char)250, (short)-300,
       (unsigned short)65000);
  SAME("%jd %td", (intmax_t)INT64_MIN, (ptrdiff_t)-12);
  SAME("%p %p", (void *)&x, (void *)test_matches_libc);
  SAME("%20p|%-20p|", (void *)&x, (void *)&x);
  SAME("%c%c%c", 'a', ' ', '~');
  SAME("%s|%10s|%-10s|%.2s|%5.1s|", "hey", "hey", "hey", "hey", "hey");
  SAME("%8d|%-8d|%08d|%08x|", -123, -123, -123, 0xbeefu);
  SAME("%3d|%03d|%1d", 123456, 123456, -7);
  SAME("%.5d|%.0d|%.0d|%8.3d|%-8.3d|", 42, 0, 5, -7, -7);
  SAME("%016lx|%016llx|%08zx", 0xfful, ULLONG_MAX, (size_t)0);
  SAME("%020lld|%-20lld|%20llu", LLONG_MIN, LLONG_MIN, ULLONG_MAX);
  SAME("100%% %%d %d", 5);
}

/* ---- formatter: truncation --------------------------------------------- */

static void test_truncation(void **state) {
  (void)state;
  char b[16];
  memset(b, 'Z', sizeof b);
  int n = hl_snprintf(b, 8, "hello world %d", 12345);
  assert_int_equal(n, (int)strlen("hello world 12345"));
  assert_string_equal(b, "hello w");
  for (size_t i = 8; i < sizeof b; i++)
    assert_int_equal(b[i], 'Z'); /* nothing written past len */

  /* len 0: nothing stored, not even the NUL; the length is still computed */
  memset(b, 'Z', sizeof b);
  assert_int_equal(hl_snprintf(b, 0, "%s", "abc"), 3);
  assert_int_equal(b[0], 'Z');
  assert_int_equal(hl_snprintf(NULL, 0, "%d-%s", -10, "xy"), 6);

  /* len 1: only the NUL */
  memset(b, 'Z', sizeof b);
  assert_int_equal(hl_snprintf(b, 1, "%s", "abc"), 3);
  assert_int_equal(b[0], '\0');
  assert_int_equal(b[1], 'Z');

  /* cut inside a padded number and inside a huge width */
  memset(b, 'Z', sizeof b);
  assert_int_equal(hl_snprintf(b, 5, "%010d", -7), 10);
  assert_string_equal(b, "-000");
  assert_int_equal(hl_snprintf(b, 8, "%100000d", 1), 100000);
  assert_string_equal(b, "       ");

  /* exactly fitting */
  assert_int_equal(hl_snprintf(b, 4, "abc"), 3);
  assert_string_equal(b, "abc");
}

/* ---- hl_printf ---------------------------------------------------------- */

static void test_printf_writes(void **state) {
  (void)state;
  int p[2];
  char b[4096];
  assert_int_equal(pipe(p), 0);

  assert_int_equal(hl_printf(p[1], "x=%d %s\n", 7, "ok"), 7);
  assert_int_equal(read(p[0], b, sizeof b), 7);
  assert_memory_equal(b, "x=7 ok\n", 7);

  /* longer than the 1 KiB stack buffer: truncated to 1023 bytes */
  char big[2001];
  memset(big, 'q', 2000);
  big[2000] = '\0';
  assert_int_equal(hl_printf(p[1], "<%s>", big), 1023);
  close(p[1]);
  ssize_t got = 0, n;
  while ((n = read(p[0], b + got, sizeof b - (size_t)got)) > 0)
    got += n;
  assert_int_equal(got, 1023);
  assert_int_equal(b[0], '<');
  for (ssize_t i = 1; i < got; i++)
    assert_int_equal(b[i], 'q');
  close(p[0]);
}

static void test_printf_error_keeps_errno(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  close(p[1]); /* p[1] is now a closed descriptor */
  errno = EDOM;
  assert_int_equal(hl_printf(p[1], "lost %d", 1), -1);
  assert_int_equal(errno, EDOM);
}

/* ---- hl_throw / hl_throwf / hl_misuse ---------------------------------- */

static void say(const char *s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

static void stats_hook(void) {
  say("stats\n");
}
static void dump_hook(void) {
  say("dump\n");
}
static void rethrow_hook(void) {
  say("dump\n");
  hl_throw("again");
}

static void child_throw(void) {
  hl_throw("boom");
}
static void child_throw_hooks(void) {
  hl_throw_stats_hook = stats_hook;
  hl_throw_hook = dump_hook;
  hl_throw("boom");
}
static void child_throw_recursive(void) {
  hl_throw_stats_hook = stats_hook;
  hl_throw_hook = rethrow_hook;
  hl_throw("boom");
}
static void child_throwf(void) {
  hl_throwf("span %d in state %s at 0x%lx", 3, "swept", 0xabcul);
}
static void child_throw_long(void) {
  static char big[3000];
  memset(big, 'a', sizeof big - 1);
  hl_throw(big);
}
static void child_misuse(void) {
  hl_throw_stats_hook = stats_hook; /* misuse must not run the hooks */
  hl_throw_hook = dump_hook;
  hl_misuse("free of foreign pointer %p", (void *)(uintptr_t)0x7f00dead0000);
}

static void test_throw_prints_and_aborts(void **state) {
  (void)state;
  child_t c;
  run_child(child_throw, &c);
  assert_aborted(&c);
  assert_string_equal(c.out, "fatal error: boom\n");
}

static void test_throw_runs_hooks_in_order(void **state) {
  (void)state;
  child_t c;
  run_child(child_throw_hooks, &c);
  assert_aborted(&c);
  assert_string_equal(c.out, "fatal error: boom\nstats\ndump\n");
}

static void test_throw_while_throwing(void **state) {
  (void)state;
  child_t c;
  run_child(child_throw_recursive, &c);
  assert_aborted(&c);
  assert_string_equal(c.out, "fatal error: boom\nstats\ndump\n"
                             "fatal error: again\n"
                             "fatal error: throw while throwing\n");
}

static void test_throwf_formats(void **state) {
  (void)state;
  child_t c;
  run_child(child_throwf, &c);
  assert_aborted(&c);
  assert_string_equal(c.out, "fatal error: span 3 in state swept at 0xabc\n");
}

static void test_throw_long_message_keeps_newline(void **state) {
  (void)state;
  child_t c;
  run_child(child_throw_long, &c);
  assert_aborted(&c);
  assert_true(c.len <= 1024);
  assert_true(c.len > 512);
  assert_memory_equal(c.out, "fatal error: aaaa", 17);
  assert_int_equal(c.out[c.len - 1], '\n');
  for (size_t i = 13; i < c.len - 1; i++)
    assert_int_equal(c.out[i], 'a');
}

static void test_misuse_prints_and_aborts(void **state) {
  (void)state;
  child_t c;
  run_child(child_misuse, &c);
  assert_aborted(&c);
  assert_string_equal(c.out,
                      "heaplab: free of foreign pointer 0x7f00dead0000\n");
}

/* A second thread throwing while the first runs its dump hook must let the
 * dump finish rather than abort under it. */
static atomic_int dump_started;

static void slow_dump_hook(void) {
  say("dump start\n");
  atomic_store(&dump_started, 1);
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  say("dump end\n");
}

static void *first_thrower(void *arg) {
  (void)arg;
  hl_throw("first");
}

static void child_two_throwers(void) {
  pthread_t t;
  hl_throw_hook = slow_dump_hook;
  if (pthread_create(&t, NULL, first_thrower, NULL) != 0) _exit(99);
  while (!atomic_load(&dump_started))
    sched_yield();
  hl_throw("second");
}

static void test_concurrent_throw_waits_for_dump(void **state) {
  (void)state;
  child_t c;
  run_child(child_two_throwers, &c);
  assert_aborted(&c);
  assert_string_equal(c.out, "fatal error: first\ndump start\n"
                             "fatal error: second\ndump end\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic_conversions),
      cmocka_unit_test(test_null_string_and_pointer),
      cmocka_unit_test(test_unknown_conversion_is_copied),
      cmocka_unit_test(test_width_and_flags),
      cmocka_unit_test(test_matches_libc),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_printf_writes),
      cmocka_unit_test(test_printf_error_keeps_errno),
      cmocka_unit_test(test_throw_prints_and_aborts),
      cmocka_unit_test(test_throw_runs_hooks_in_order),
      cmocka_unit_test(test_throw_while_throwing),
      cmocka_unit_test(test_throwf_formats),
      cmocka_unit_test(test_throw_long_message_keeps_newline),
      cmocka_unit_test(test_misuse_prints_and_aborts),
      cmocka_unit_test(test_concurrent_throw_waits_for_dump),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
