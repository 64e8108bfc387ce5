/*
 * tools/heaplab/cmd.h — the subcommands of the `heaplab` command.
 *
 * Adding a subcommand: a file cmd_<name>.c defining a `const hl_cmd_t
 * cmd_<name>` and a row in the table of main.c (the CMake glob picks the
 * file up). Conventions: bad arguments print the message and the
 * subcommand's usage (listing the valid choices) on stderr and exit 2;
 * an input that cannot be read exits 1; output goes to stdout.
 */
#ifndef HL_TOOLS_HEAPLAB_CMD_H
#define HL_TOOLS_HEAPLAB_CMD_H

#include <stdint.h>
#include <stdio.h>

typedef struct hl_cmd {
  const char *name;
  const char *summary; /* one line for `heaplab help`; NULL: hidden */
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
  void (*usage)(FILE *out);
} hl_cmd_t;

extern const hl_cmd_t cmd_trace;
extern const hl_cmd_t cmd_mmu;
extern const hl_cmd_t cmd_run;
extern const hl_cmd_t cmd_run_child; /* hidden: started by run and sweep */
extern const hl_cmd_t cmd_sweep;
extern const hl_cmd_t cmd_compare;
extern const hl_cmd_t cmd_plot;
extern const hl_cmd_t cmd_hiccup;

/* Prints "heaplab NAME: message", the usage of c, returns 2. */
int cli_usage_error(const hl_cmd_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses a duration: a number with a unit ns, us, ms or s (a bare number
 * is ns). 0 or -1. */
int cli_parse_duration(const char *s, int64_t *ns);

#endif
