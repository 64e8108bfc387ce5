/*
 * tests/fuzz/cli/fuzz_cli.c — the argument parsers of the `heaplab`
 * command under a fuzzer.
 *
 * Input: byte 0 picks an entry of `parsers` below, the rest is its input.
 * Each entry must never crash or read out of bounds, and either accept
 * (with a result it checks) or reject with a non-zero return:
 *   duration   cli_parse_duration: accepted => 1 <= ns <= 9e18; rejected
 *              => *ns untouched
 *   wl_set     byte 1 picks a workload (wl_workloads), the rest is one
 *              NAME=VALUE option: accepted => the value is in the
 *              parameter's [min, max] and only that parameter changed;
 *              rejected => -EINVAL and no parameter changed
 *   flags      hlt_util_parse_flags (heaplab mmu --flags): rejected =>
 *              an error message
 *   mmu        the whole `heaplab mmu` argument loop (cmd_mmu.run) on the
 *              input split at newlines; file arguments have '/' replaced so
 *              that only files of the current directory can be named (no
 *              /dev/stdin to block on)
 * Adding a parser (the run/sweep/compare/plot subcommands, as they land):
 * one function and one row in `parsers`; the corpus keeps working because
 * existing rows keep their index (append only).
 *
 * main.c (cli_parse_duration, cli_usage_error) is compiled into this
 * target with its main renamed (CMakeLists.txt), so nothing in tools/ had
 * to change.
 */
#include "tools/heaplab/cmd.h"
#include "trace/mmu.h"
#include "workloads/workloads.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_duration(const char *s, size_t n) {
  (void)n;
  int64_t ns = -7;
  if (cli_parse_duration(s, &ns) == 0) {
    if (ns < 1 || ns > (int64_t)9e18)
      abort();
  } else if (ns != -7) {
    abort();
  }
}

static void fuzz_wl_set(const char *s, size_t n) {
  int nw = 0;
  while (wl_workloads[nw])
    nw++;
  if (nw == 0 || n == 0)
    return;
  const wl_workload_t *w = wl_workloads[(unsigned char)s[0] % nw];
  long v[64], before[64];
  if (w->nparams > 64)
    abort();
  wl_defaults(w, v);
  memcpy(before, v, sizeof v);
  int rc = wl_set(w, v, s + 1, NULL);
  int changed = -1;
  for (int i = 0; i < w->nparams; i++) {
    if (v[i] != before[i]) {
      if (changed >= 0)
        abort(); /* two parameters changed by one option */
      changed = i;
    }
  }
  if (rc == 0) {
    const char *eq = strchr(s + 1, '=');
    if (!eq)
      abort();
    for (int i = 0; i < w->nparams; i++) {
      const wl_param_t *p = &w->params[i];
      if (strlen(p->name) == (size_t)(eq - (s + 1)) &&
          strncmp(p->name, s + 1, strlen(p->name)) == 0) {
        if (v[i] < p->min || v[i] > p->max || (changed >= 0 && changed != i))
          abort();
        return;
      }
    }
    abort(); /* accepted an option that names no parameter */
  } else if (rc != -EINVAL || changed >= 0) {
    abort();
  }
}

static void fuzz_flags(const char *s, size_t n) {
  (void)n;
  unsigned flags = 0;
  char err[256] = "";
  if (hlt_util_parse_flags(s, &flags, err, sizeof err) != 0 && err[0] == 0)
    abort();
}

static void fuzz_mmu(const char *s, size_t n) {
  char buf[1024], *argv[34];
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  memcpy(buf, s, n);
  buf[n] = 0;
  int argc = 0;
  argv[argc++] = "mmu";
  for (char *tok = buf; tok && argc < 33;) {
    char *nl = strchr(tok, '\n');
    if (nl)
      *nl = 0;
    for (char *c = tok; *c; c++)
      if (*c == '/')
        *c = '_';
    argv[argc++] = tok;
    tok = nl ? nl + 1 : NULL;
  }
  argv[argc] = NULL;
  int rc = cmd_mmu.run(argc, argv);
  if (rc != 0 && rc != 1 && rc != 2)
    abort();
}

static const struct {
  const char *name;
  void (*fn)(const char *s, size_t n);
} parsers[] = {
    {"duration", fuzz_duration},
    {"wl_set", fuzz_wl_set},
    {"flags", fuzz_flags},
    {"mmu", fuzz_mmu},
};
#define NPARSERS (sizeof parsers / sizeof parsers[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet;
#ifdef HL_LIBFUZZER
  quiet = true; /* libFuzzer's -close_fd_mask=3 silences the target, not
                   its own reports */
#endif
  if (!quiet) { /* usage text on every rejected input: not worth keeping */
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    quiet = true;
  }
  if (size == 0)
    return 0;
  char s[1024];
  size_t n = size - 1 < sizeof s - 1 ? size - 1 : sizeof s - 1;
  memcpy(s, data + 1, n);
  s[n] = 0;
  parsers[data[0] % NPARSERS].fn(s, strlen(s));
  fflush(stdout);
  return 0;
}

#include "tests/fuzz/replay.h"
