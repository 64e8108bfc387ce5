/*
 * tests/misuse/child.h — runs one case of a test program in a child
 * process and checks how it ended, for outcomes that end the process
 * (fatal errors, misuse aborts, bad environment values).
 *
 * The child is the test executable itself, re-executed (/proc/self/exe)
 * with the case name as its only argument, a clean runtime environment
 * (HLDEBUG, HLGC, HLMEMLIMIT, HLMAXPROCS, HLTRACE unset, then the row's
 * settings applied), no core dumps, and a 60 s alarm so that a hang is a
 * failure (SIGALRM), not a stuck test. Its stderr is captured.
 *
 *   static const hl_expect_t rows[] = {
 *     {"double-free", {NULL}, "free(): double free of 0x", HL_END_SIGNAL, SIGABRT},
 *     ...};
 *   hl_child_t c; hl_child_run(&c, argv0, &rows[i]);
 *   const char *why = hl_expect_check(&rows[i], &c);  // NULL: as expected
 *   int nfailed = hl_expect_all(rows, nrows, argv0);  // every row
 */
#ifndef HL_TESTS_MISUSE_CHILD_H
#define HL_TESTS_MISUSE_CHILD_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum hl_end { HL_END_EXIT, HL_END_SIGNAL };

/* One row of a catalogue: run case `name` with `env` (NAME=VALUE strings,
 * NULL-terminated, at most 4) and expect stderr to contain `msg` and the
 * process to end by exit(code) or by signal `code`. */
typedef struct hl_expect {
  const char *name;
  const char *env[5];
  const char *msg;
  enum hl_end end;
  int code;
} hl_expect_t;

typedef struct hl_child {
  int status;         /* from waitpid */
  char out[1 << 17];  /* the child's stderr, NUL-terminated (truncated) */
  size_t len;
} hl_child_t;

static inline void hl_child_run(hl_child_t *c, const char *argv0,
                                const hl_expect_t *row) {
  int p[2];
  c->len = 0;
  c->out[0] = 0;
  c->status = -1;
  if (pipe(p) != 0)
    return;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return;
  if (pid == 0) {
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    static const char *const vars[] = {"HLDEBUG", "HLGC", "HLMEMLIMIT",
                                       "HLMAXPROCS", "HLTRACE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
      unsetenv(vars[i]);
    for (size_t i = 0; i < 4 && row->env[i]; i++)
      putenv((char *)row->env[i]);
    alarm(60);
    execl("/proc/self/exe", argv0, row->name, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    ssize_t n = read(p[0], c->out + c->len, sizeof c->out - 1 - c->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    c->len += (size_t)n;
    if (c->len == sizeof c->out - 1) { /* keep the head, drain the rest */
      char sink[4096];
      while (read(p[0], sink, sizeof sink) > 0)
        ;
      break;
    }
  }
  c->out[c->len] = 0;
  close(p[0]);
  while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
    ;
}

/* NULL if the child ended as the row says; otherwise what differed. */
static inline const char *hl_expect_check(const hl_expect_t *row,
                                          const hl_child_t *c) {
  if (row->end == HL_END_EXIT) {
    if (!WIFEXITED(c->status))
      return "did not exit (killed by a signal)";
    if (WEXITSTATUS(c->status) != row->code)
      return "exit status differs";
  } else {
    if (!WIFSIGNALED(c->status))
      return "was not killed by a signal";
    if (WTERMSIG(c->status) != row->code)
      return "killed by another signal";
  }
  if (!strstr(c->out, row->msg))
    return "message not found on stderr";
  return NULL;
}

/* Runs every row in a child; prints each row that differs (with the
 * child's status and the head of its stderr). Returns how many differed. */
static inline int hl_expect_all(const hl_expect_t *rows, size_t n,
                                const char *argv0) {
  static hl_child_t c;
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    hl_child_run(&c, argv0, &rows[i]);
    const char *why = hl_expect_check(&rows[i], &c);
    if (why) {
      fprintf(stderr, "row %zu (%s, %s): %s; status 0x%x, stderr:\n%.1500s\n",
              i, rows[i].name, rows[i].env[0] ? rows[i].env[0] : "-", why,
              c.status, c.out);
      failed++;
    }
  }
  return failed;
}

#endif
