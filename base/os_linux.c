/*
 * base/os_linux.c — the OS contract of base/os.h on Linux.
 *
 * Entry points: os_map/os_unmap/os_decommit (mmap, munmap, madvise),
 * futex_wait/futex_wake, os_thread_start, clocks, os_rss_bytes.
 *
 * Aligned mapping: mmap size + align bytes, then unmap the misaligned head
 * and the tail. (Rejected: MAP_FIXED probing at hinted addresses — it races
 * with other mappers in the process.)
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
  if (align <= os_page_size()) {
    void *p = mmap(NULL, size, prot, flags, -1, 0);
    if (p == MAP_FAILED) {
      errno = ENOMEM;
      return NULL;
    }
    atomic_add_relaxed(&mapped_bytes, size);
    return p;
  }
  size_t total = size + align;
  if (total < size) {
    errno = ENOMEM;
    return NULL;
  }
  char *raw = mmap(NULL, total, prot, flags, -1, 0);
  if (raw == MAP_FAILED) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = start - (uintptr_t)raw;
  size_t tail = total - head - size;
  if (head)
    munmap(raw, head);
  if (tail)
    munmap((char *)start + size, tail);
  atomic_add_relaxed(&mapped_bytes, size);
  return (void *)start;
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
