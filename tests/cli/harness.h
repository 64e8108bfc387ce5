/*
 * tests/cli/harness.h — what the experiment-runner tests share: running
 * the built `heaplab` (HEAPLAB_BIN) as a child process with its stdout and
 * stderr captured, a scratch directory per test program, and checks on
 * files (result JSON read back with the command's own reader, PNG
 * signatures).
 */
#ifndef HL_TESTS_CLI_HARNESS_H
#define HL_TESTS_CLI_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tools/heaplab/json.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char scratch[256];               /* this program's directory */
static char out[1 << 20], errb[1 << 18]; /* the last run's stdout, stderr */

static inline char *slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = 0;
  if (f)
    fclose(f);
  return buf;
}

/* Runs heaplab with argv[0..] (NULL-terminated); returns the exit status
 * (128 + signal when killed). */
static inline int run_argv(const char *const *args) {
  const char *argv[64] = {HEAPLAB_BIN};
  int n = 1;
  while (args[n - 1] && n < 63) {
    argv[n] = args[n - 1];
    n++;
  }
  argv[n] = NULL;
  char op[300], ep[300];
  snprintf(op, sizeof op, "%s/stdout", scratch);
  snprintf(ep, sizeof ep, "%s/stderr", scratch);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, op, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, ep, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, HEAPLAB_BIN, &fa, NULL,
                               (char *const *)argv, environ),
                   0);
  posix_spawn_file_actions_destroy(&fa);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  slurp(op, out, sizeof out);
  slurp(ep, errb, sizeof errb);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_msg("%s\n--- stdout:\n%s\n--- stderr:\n%s", #cond, out, errb);      \
  } while (0)

static inline int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline int scratch_setup(void **state) {
  (void)state;
  snprintf(scratch, sizeof scratch, "/tmp/hl_test_cli_XXXXXX");
  assert_non_null(mkdtemp(scratch));
  return 0;
}

static inline int scratch_teardown(void **state) {
  (void)state;
  nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* scratch/name into buf (created as a directory when mk). */
static inline const char *sub(char *buf, size_t len, const char *name, int mk) {
  snprintf(buf, len, "%s/%s", scratch, name);
  if (mk)
    mkdir(buf, 0777);
  return buf;
}

/* The number of *.json files in dir. */
static inline int count_json(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    n += l > 5 && strcmp(e->d_name + l - 5, ".json") == 0;
  }
  if (d)
    closedir(d);
  return n;
}

/* Asserts that path is a PNG (signature) of at least min_bytes. */
static inline void expect_png(const char *path, long min_bytes) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                       '\n'};
  unsigned char head[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("%s: not written\n--- stderr:\n%s", path, errb);
  size_t n = fread(head, 1, 8, f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  if (n != 8 || memcmp(head, sig, 8) != 0)
    fail_msg("%s: no PNG signature", path);
  if (size < min_bytes)
    fail_msg("%s: %ld bytes, expected at least %ld", path, size, min_bytes);
}

/* Counts the lines of s that contain needle. */
static inline int count_lines_with(const char *s, const char *needle) {
  int n = 0;
  while (*s) {
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)len, s);
    n += strstr(line, needle) != NULL;
    s += len + (nl != NULL);
  }
  return n;
}

/* The line of s containing needle, into buf ("" if none). */
static inline const char *line_with(const char *s, const char *needle, char *buf,
                             size_t len) {
  const char *p = strstr(s, needle);
  buf[0] = 0;
  if (!p)
    return buf;
  while (p > s && p[-1] != '\n')
    p--;
  size_t n = strcspn(p, "\n");
  snprintf(buf, len, "%.*s", (int)n, p);
  return buf;
}

#endif
