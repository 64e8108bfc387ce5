/*
 * tools/heaplab/main.c — the `heaplab` command: dispatches to the
 * subcommand named by its first argument through the table below (see
 * cmd.h for adding one).
 */
#include "tools/heaplab/cmd.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const hl_cmd_t *const commands[] = {
    &cmd_run,   &cmd_sweep, &cmd_compare,   &cmd_plot,
    &cmd_trace, &cmd_mmu,   &cmd_hiccup,    &cmd_run_child,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
  fprintf(out, "usage: heaplab COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (commands[i]->summary)
      fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\n'heaplab help COMMAND' shows a command's usage.\n");
}

int cli_usage_error(const hl_cmd_t *c, const char *fmt, ...) {
  fprintf(stderr, "heaplab %s: ", c->name);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  c->usage(stderr);
  return 2;
}

int cli_parse_duration(const char *s, int64_t *ns) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v > 0) || !isfinite(v))
    return -1;
  double mul = 1;
  if (*end == 0 || strcmp(end, "ns") == 0)
    mul = 1;
  else if (strcmp(end, "us") == 0)
    mul = 1e3;
  else if (strcmp(end, "ms") == 0)
    mul = 1e6;
  else if (strcmp(end, "s") == 0)
    mul = 1e9;
  else
    return -1;
  double r = v * mul;
  if (r < 1 || r > 9e18)
    return -1;
  *ns = (int64_t)(r + 0.5);
  return 0;
}

static const hl_cmd_t *find(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    const hl_cmd_t *c = argc > 2 ? find(argv[2]) : NULL;
    if (argc > 2 && !c) {
      fprintf(stderr, "heaplab: unknown command \"%s\"\n", argv[2]);
      usage(stderr);
      return 2;
    }
    if (c)
      c->usage(stdout);
    else
      usage(stdout);
    return 0;
  }
  const hl_cmd_t *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "heaplab: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
  }
  return c->run(argc - 1, argv + 1);
}
