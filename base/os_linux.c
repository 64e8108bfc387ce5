/*
 * base/os_linux.c — the OS contract of base/os.h on Linux.
 *
 * Entry points: os_map/os_unmap/os_decommit (mmap, munmap, madvise),
 * futex_wait/futex_wake, os_thread_start, clocks, os_rss_bytes.
 *
 * Aligned mapping: mmap size + align bytes, then unmap the misaligned head
 * and the tail. (Rejected: MAP_FIXED probing at hinted addresses — it races
 * with other mappers in the process.)
 *
 * Fault injection (HLDEBUG=failmmap=N,failthread=N,maplimit=SIZE, or
 * os_fault_set from tests). Every mapping attempt (os_map, os_map_guarded)
 * takes a number from one counter, every thread start from another; both
 * count from 1 at process start.
 *  1. failmmap=N: attempts numbered N and above fail with ENOMEM without
 *     calling mmap. Every later one fails too, not only the Nth: the
 *     outcome then does not depend on how many times a caller retries or
 *     how many mappings a failure path makes on its way out (an injected
 *     failure that a retry silently absorbs tests nothing), and "the OS
 *     has no more memory" is the condition the runtime must survive.
 *     A test that wants to see recovery resets the fault (os_fault_set).
 *  2. failthread=N: the same for os_thread_start, which fails with EAGAIN
 *     as pthread_create does when the C library cannot map a thread stack.
 *     Separate numbering, because Ms are started when the scheduler decides
 *     (timing): one counter for both would make failmmap=N land on a
 *     different call from run to run.
 *  3. maplimit=SIZE: mapped_bytes is raised by the request first (a
 *     fetch-add, so concurrent mappers cannot both squeeze under the cap);
 *     if the sum passes SIZE the request is taken back and fails.
 * The limits are read from hl_debug (hl_env_init, idempotent) until a test
 * installs its own with os_fault_set; from then on the hook's values hold.
 */
#include "base/os.h"
#include "base/atomic.h"
#include "base/env.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t mapped_bytes;

/* ---- fault injection ---------------------------------------------------- */

static _Atomic uint64_t map_calls;    /* mapping attempts so far */
static _Atomic uint64_t thread_calls; /* thread starts so far */
static _Atomic int fault_hooked;      /* os_fault_set was called */
static _Atomic uint64_t hook_failmmap, hook_failthread, hook_maplimit;

typedef struct fault_limits {
  uint64_t failmmap, failthread, maplimit; /* 0: off */
} fault_limits_t;

static fault_limits_t fault_limits(void) {
  fault_limits_t f;
  /* acquire: pairs with the release store in os_fault_set */
  if (atomic_load_acquire(&fault_hooked)) {
    f.failmmap = atomic_load_relaxed(&hook_failmmap);
    f.failthread = atomic_load_relaxed(&hook_failthread);
    f.maplimit = atomic_load_relaxed(&hook_maplimit);
  } else {
    hl_env_init();
    f.failmmap = (uint64_t)hl_debug.failmmap;
    f.failthread = (uint64_t)hl_debug.failthread;
    f.maplimit = hl_debug.maplimit;
  }
  return f;
}

void os_fault_set(uint64_t failmmap, uint64_t failthread, uint64_t maplimit) {
  atomic_store_relaxed(&hook_failmmap, failmmap);
  atomic_store_relaxed(&hook_failthread, failthread);
  atomic_store_relaxed(&hook_maplimit, maplimit);
  /* release: the values above are seen by fault_limits' acquire load */
  atomic_store_release(&fault_hooked, 1);
}

uint64_t os_map_count(void) { return atomic_load_relaxed(&map_calls); }
uint64_t os_thread_count(void) { return atomic_load_relaxed(&thread_calls); }

/* Numbers a mapping of size bytes and charges it to mapped_bytes (steps 1
 * and 3). Returns 0, or -1 with errno ENOMEM and nothing charged. */
static int map_admit(size_t size) {
  fault_limits_t f = fault_limits();
  uint64_t n = atomic_add_relaxed(&map_calls, 1) + 1;
  if (f.failmmap && n >= f.failmmap) {
    errno = ENOMEM;
    return -1;
  }
  uint64_t before = atomic_add_relaxed(&mapped_bytes, size);
  if (f.maplimit && (before + size > f.maplimit || before + size < before)) {
    atomic_sub_relaxed(&mapped_bytes, size);
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

/* Takes back map_admit's charge after mmap itself failed. */
static void *map_refused(size_t size) {
  atomic_sub_relaxed(&mapped_bytes, size);
  errno = ENOMEM;
  return NULL;
}

size_t os_page_size(void) { return 4096; }

int os_ncpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void *os_map(size_t size, size_t align) {
  int prot = PROT_READ | PROT_WRITE;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (map_admit(size) != 0)
    return NULL;
  if (align <= os_page_size()) {
    void *p = mmap(NULL, size, prot, flags, -1, 0);
    if (p == MAP_FAILED)
      return map_refused(size);
    return p;
  }
  size_t total = size + align;
  if (total < size)
    return map_refused(size);
  char *raw = mmap(NULL, total, prot, flags, -1, 0);
  if (raw == MAP_FAILED)
    return map_refused(size);
  uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = start - (uintptr_t)raw;
  size_t tail = total - head - size;
  if (head)
    munmap(raw, head);
  if (tail)
    munmap((char *)start + size, tail);
  return (void *)start;
}

void *os_map_guarded(size_t size, size_t guard) {
  size_t total = size + guard;
  if (total < size) {
    errno = ENOMEM;
    return NULL;
  }
  if (map_admit(total) != 0)
    return NULL;
  char *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return map_refused(total);
  if (guard && mprotect(p, guard, PROT_NONE) != 0) {
    munmap(p, total);
    return map_refused(total);
  }
  return p;
}

void os_unmap(void *p, size_t size) {
  if (munmap(p, size) == 0)
    atomic_sub_relaxed(&mapped_bytes, size);
}

void os_decommit(void *p, size_t size) {
  int advice = hl_debug.madvdontneed ? MADV_DONTNEED : MADV_FREE;
  if (madvise(p, size, advice) != 0 && advice == MADV_FREE)
    madvise(p, size, MADV_DONTNEED);
}

uint64_t os_mapped_bytes(void) { return atomic_load_relaxed(&mapped_bytes); }

int64_t os_nanotime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t os_thread_cputime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void os_nanosleep(int64_t ns) {
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  nanosleep(&ts, NULL);
}

uint64_t os_rss_bytes(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  /* second field: resident pages */
  char *s = buf;
  while (*s && *s != ' ')
    s++;
  uint64_t pages = 0;
  while (*s == ' ')
    s++;
  while (*s >= '0' && *s <= '9')
    pages = pages * 10 + (uint64_t)(*s++ - '0');
  return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

int futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, tsp,
                   NULL, 0);
  if (r == -1 && errno == ETIMEDOUT)
    return -ETIMEDOUT;
  return 0;
}

void futex_wake(_Atomic uint32_t *addr, int n) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

int os_thread_start(void *(*fn)(void *), void *arg, size_t stacksize) {
  fault_limits_t f = fault_limits();
  uint64_t n = atomic_add_relaxed(&thread_calls, 1) + 1;
  if (f.failthread && n >= f.failthread)
    return -EAGAIN; /* step 2 */
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stacksize)
    pthread_attr_setstacksize(&attr, stacksize);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(&t, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return -r;
}

int os_gettid(void) { return (int)syscall(SYS_gettid); }
