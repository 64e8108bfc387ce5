/*
 * tests/sched/test_million.c — 1,000,000 goroutines parked at once.
 *
 * Each goroutine parks in hl_sleep until a common deadline (wake_at). The
 * main goroutine creates them all, checks that they all exist at once
 * (hl_numgoroutine) and none has run past its park, measures the resident
 * memory they cost (/proc/self/statm before and after), checks that the
 * stack layer went past vm.max_map_count with slab stacks, then lets the
 * deadline pass and checks that every goroutine ran to its end.
 *
 * The deadline: creating a million goroutines takes seconds, and how many
 * depends on the machine. wake_at starts 1 s ahead and, while creating,
 * main moves it to the projected end of creation plus a margin; a
 * goroutine reads it when it parks. One that wakes before main released
 * them (an early one whose deadline was overtaken by a slow creation)
 * parks again until the current wake_at. So the test never waits much
 * longer than creation takes, and never fails because the machine is
 * slow. Until it releases them, main keeps wake_at ahead of the clock. It prints the figures: creation time, RSS per parked goroutine,
 * wake-up time, stacks by kind.
 *
 * It needs about 9 GiB of memory at the default stack layout (see the
 * figures); it skips when /proc/meminfo says less is available.
 */
#include "harness.h"
#include "sched/internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 1000000 };

static unsigned char *ran;        /* ran[i]: goroutine i finished */
static _Atomic int64_t wake_at;   /* the common deadline */
static _Atomic int released;      /* main is done measuring */
static _Atomic int64_t arrived;   /* goroutines at their first park */
static _Atomic int64_t finished;  /* goroutines past their park */
static _Atomic int64_t reparked;  /* woke before release, parked again */

static void parked(void *arg) {
  intptr_t i = (intptr_t)arg;
  int64_t until = atomic_load(&wake_at);
  atomic_fetch_add(&arrived, 1);
  for (;;) {
    int64_t d = until - hl_nanotime();
    hl_sleep(d > HL_MILLISECOND ? d : HL_MILLISECOND);
    if (atomic_load(&released))
      break;
    /* woke before the release: park again, for at least a second (a
     * shorter nap would let the early ones churn and slow the creation
     * down, making more of them early) */
    atomic_fetch_add(&reparked, 1);
    int64_t w = atomic_load(&wake_at), soon = hl_nanotime() + HL_SECOND;
    until = w > soon ? w : soon;
  }
  ran[i] = 1;
  atomic_fetch_add(&finished, 1);
}

/* Resident bytes from /proc/self/statm (second field, in pages). */
static int64_t rss_bytes(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  long size = 0, res = 0;
  if (sscanf(buf, "%ld %ld", &size, &res) != 2)
    return -1;
  return (int64_t)res * sysconf(_SC_PAGESIZE);
}

static int64_t mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f)
    return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return (int64_t)kib << 10;
}

/* Lines of /proc/self/maps: the process's mappings. */
static int count_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return 0;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

static void test_million_parked(void **st) {
  (void)st;
  int64_t avail = mem_available();
  if (avail >= 0 && avail < (int64_t)12 << 30) {
    print_message("skipped: %lld MiB available, about 12 GiB wanted\n",
                  (long long)(avail >> 20));
    skip();
  }
  ran = calloc(N, 1);
  assert_non_null(ran);
  memset(ran, 0, N); /* resident before the first measurement */
  int64_t rss0 = rss_bytes();
  int64_t t0 = hl_nanotime();
  atomic_store(&wake_at, t0 + 2 * HL_SECOND);
  int64_t mark_t = t0;
  int mark_i = 0;
  for (int i = 0; i < N; i++) {
    hl_go(parked, (void *)(intptr_t)i);
    if ((i & 16383) == 16383) {
      /* move the deadline to the projected end of creation + margin, at
       * the rate of the last batch (the first 16382 stacks are guarded
       * mappings, slower than slab stacks) */
      int64_t now = hl_nanotime();
      int64_t left = (now - mark_t) / (i + 1 - mark_i) * (N - i - 1);
      int64_t want = now + left + left / 4 + 300 * HL_MILLISECOND;
      if (atomic_load(&wake_at) < want)
        atomic_store(&wake_at, want);
      mark_t = now;
      mark_i = i + 1;
    }
  }
  /* the last ones created have not reached their park yet */
  while (atomic_load(&arrived) < N)
    hl_sleep(HL_MILLISECOND);
  int64_t parked_at = hl_nanotime();
  hl_sleep(10 * HL_MILLISECOND); /* the last one is past gopark */
  double create_s = (double)(parked_at - t0) / 1e9;
  int64_t rss1 = rss_bytes();
  int64_t alive = hl_numgoroutine();
  int64_t done_early = atomic_load(&finished);

  /* parked goroutines, and stacks by kind: past vm.max_map_count they
   * come from slabs. Early ones parking again (a slow creation) are
   * runnable for a moment: sample a few times, keep the best. */
  int64_t waiting = 0, mmap_stacks = 0, slab_stacks = 0;
  for (int tries = 0; tries < 20 && waiting < N; tries++) {
    if (tries)
      hl_sleep(100 * HL_MILLISECOND);
    int64_t w = 0;
    mmap_stacks = slab_stacks = 0;
    hl_lock(&sched.allglock);
    for (g_t *gp = sched.allgs; gp; gp = gp->alllink) {
      w += atomic_load_explicit(&gp->status, memory_order_relaxed) ==
           G_WAITING;
      mmap_stacks += gp->stack.kind == STACK_MMAP;
      slab_stacks += gp->stack.kind == STACK_SLAB;
    }
    hl_unlock(&sched.allglock);
    if (w > waiting)
      waiting = w;
  }

  double per_g = (double)(rss1 - rss0) / N;
  print_message("1M goroutines: created and parked in %.2f s (%.2f us "
                "each); RSS %lld -> %lld MiB: %.2f KiB per parked "
                "goroutine (target 4.5 KiB)\n",
                create_s, create_s * 1e6 / N, (long long)(rss0 >> 20),
                (long long)(rss1 >> 20), per_g / 1024);
  print_message("%lld goroutines exist, %lld waiting; stacks: %lld guarded, "
                "%lld from slabs without guard; %d mappings\n",
                (long long)alive, (long long)waiting, (long long)mmap_stacks,
                (long long)slab_stacks, count_mappings());

  /* all exist at once, none ran past its park */
  assert_int_equal(alive, N + 1);
  assert_int_equal(done_early, 0);
  assert_int_equal(atomic_load(&arrived), N);
  /* all parked, but for early ones parking again after a slow creation */
  assert_true(waiting >= N - N / 10);
  /* 1M stacks exist: with guard markers (Linux >= 6.13) every one is
   * guarded inside a slab; without them the slab fallback took over past
   * the mapping budget. Either way the mapping count stayed far below
   * vm.max_map_count. */
  assert_true(mmap_stacks + slab_stacks >= N);
  assert_true(count_mappings() < 60000);
  /* the RSS target of a parked goroutine */
  assert_true(per_g < 4.5 * 1024);

  /* release: they wake at wake_at (or now, if it passed) */
  int64_t t1 = hl_nanotime();
  atomic_store(&released, 1);
  int64_t last = atomic_load(&wake_at);
  int64_t wait_ns = last - t1;
  int64_t end = last + 60 * HL_SECOND;
  while (atomic_load(&finished) < N && hl_nanotime() < end)
    hl_sleep(10 * HL_MILLISECOND);
  int64_t t2 = hl_nanotime();
  while (hl_numgoroutine() > 1 && hl_nanotime() < end)
    hl_sleep(HL_MILLISECOND);
  double wake_s = (double)(t2 - (t1 + (wait_ns > 0 ? wait_ns : 0))) / 1e9;
  print_message("released %.2f s before the deadline; all %d ran %.2f s "
                "after it (%lld parked twice)\n",
                (double)wait_ns / 1e9, N, wake_s,
                (long long)atomic_load(&reparked));
  assert_int_equal(atomic_load(&finished), N);
  assert_int_equal(hl_numgoroutine(), 1);
  for (int i = 0; i < N; i++)
    if (!ran[i])
      fail_msg("goroutine %d never ran to its end", i);
  free(ran);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_million_parked),
};

HL_SCHED_TEST_MAIN(tests)
