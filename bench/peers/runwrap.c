/*
 * runwrap — runs one program and reports its wall time and peak RSS.
 *
 *   runwrap RESULT_FILE PROGRAM [ARGS...]
 *   env RUNWRAP_PRELOAD=/path/lib.so   LD_PRELOAD for PROGRAM only
 *
 * Why not measure from Python directly: Linux carries the peak RSS of the
 * memory image a process replaces in execve() into the new program's
 * ru_maxrss (exec_mmap -> setmax_mm_hiwater_rss), and a child forked or
 * vforked from the harness starts with the harness's image, so every
 * program would report at least the Python interpreter's RSS (~14 MiB,
 * more than some workloads use). Forked from this small program instead,
 * the floor is ~1 MiB. The same goes for LD_PRELOAD: it is set in the
 * child only, so this program never runs on the allocator being measured.
 *
 * 1. Read the clock, fork; the child sets or clears LD_PRELOAD and execs
 *    PROGRAM (exit status 127 if it cannot).
 * 2. wait4() for it, read the clock.
 * 3. Write one line to RESULT_FILE:
 *      exit=N signal=N wall_s=S maxrss_kib=K utime_s=S stime_s=S
 *    and exit with the program's status (128 + signal if it was killed).
 * ru_maxrss covers the program and the descendants it waited for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tv_s(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RESULT_FILE PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const char *preload = getenv("RUNWRAP_PRELOAD");
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) {
    perror("runwrap: fork");
    return 2;
  }
  if (pid == 0) {
    unsetenv("RUNWRAP_PRELOAD");
    if (preload && *preload)
      setenv("LD_PRELOAD", preload, 1);
    else
      unsetenv("LD_PRELOAD");
    execvp(argv[2], argv + 2);
    fprintf(stderr, "runwrap: %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("runwrap: wait4");
      return 2;
    }
  }
  double wall = now() - t0;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    fprintf(stderr, "runwrap: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  fprintf(f,
          "exit=%d signal=%d wall_s=%.6f maxrss_kib=%ld utime_s=%.6f "
          "stime_s=%.6f\n",
          code, sig, wall, ru.ru_maxrss, tv_s(ru.ru_utime), tv_s(ru.ru_stime));
  if (fclose(f)) {
    fprintf(stderr, "runwrap: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  return sig ? 128 + sig : code;
}
