/*
 * tools/heaplab/experiment.h — what `heaplab run`, `sweep`, `compare` and
 * `plot` share: a run's configuration, how it is named, how one run is
 * executed in a fresh process, and how result files are read back.
 *
 * A run (runner.c, run_one):
 *   1. the parent validates the configuration (run_cfg_t) and names the
 *      result file after it: DIR/<stem>-r<rep>.json, the stem built from
 *      the fields (workload, strategy, gc or sbrk, procs, memory limit,
 *      trace, parameters that differ from their defaults);
 *   2. it re-executes itself (/proc/self/exe) as the hidden subcommand
 *      `heaplab run-child`, with the configuration in the runtime's
 *      environment (HLGC, HLMAXPROCS, HLMEMLIMIT, HLDEBUG=...,sbrk=1,
 *      HLTRACE) and on the command line;
 *   3. the child (child.c) runs the workload inside hl_main while a thread
 *      samples RSS and the collector's heap figures, then writes the whole
 *      result file to <file>.tmp and exits 0 (checks passed) or 1 (failed);
 *   4. the parent renames <file>.tmp to <file> once it parses; when the
 *      child crashed or wrote nothing it writes a result of its own with
 *      the status "crashed" or "error". So a result file, once present, is
 *      complete: `sweep` counts it as a finished cell.
 *
 * The result file (one JSON object, format 1) is documented in
 * docs/experiments.md ("Result files").
 */
#ifndef HL_TOOLS_HEAPLAB_EXPERIMENT_H
#define HL_TOOLS_HEAPLAB_EXPERIMENT_H

#include "tools/heaplab/cmd.h"
#include "tools/heaplab/json.h"
#include "workloads/workloads.h"

#include <stdio.h>

#define RESULT_FORMAT 1

/* One configuration of one workload (a cell of a sweep). */
typedef struct run_cfg {
  const wl_workload_t *w;
  char gc[16];       /* HLGC: a percentage or "off" */
  int sbrk;          /* HLDEBUG=sbrk=1 */
  int procs;         /* HLMAXPROCS (1..1024) */
  char memlimit[32]; /* HLMEMLIMIT as given, "" for none */
  int strategy;      /* index into w's strategies */
  int trace;         /* HLTRACE=<result stem>.hltrace */
  long values[WL_MAX_PARAMS];
} run_cfg_t;

/* ------------------------------------------------------------ runcfg.c */

/* The name of strategy i of w ("none" for a workload without strategies). */
const char *cfg_strategy_name(const wl_workload_t *w, int i);
/* Sets cfg to w's defaults: gc 100, procs = the CPUs this process may run
 * on, no memory limit, strategy 0, no trace, default parameters. */
void cfg_defaults(run_cfg_t *cfg, const wl_workload_t *w);
/* Value checks; each returns 0 or -1 after writing to stderr a line naming
 * the value and the accepted forms. */
int cfg_check_gc(const char *v);
int cfg_check_procs(const char *v, int *out);
int cfg_check_memlimit(const char *v);
/* "name=value,name=value" of the parameters that differ from their
 * defaults ("" when none). */
void cfg_params_changed(const run_cfg_t *cfg, char *buf, size_t len);
/* The file stem of cfg's results (no directory, no repetition). */
void cfg_stem(const run_cfg_t *cfg, char *buf, size_t len);
/* A short label: "gc=100 procs=2 strategy=pool depth=12". */
void cfg_label(const run_cfg_t *cfg, char *buf, size_t len);
/* Applies one argument of a single configuration (--gc=, --sbrk,
 * --procs=, --memlimit=, --strategy=, --trace, name=value). Returns 1 when
 * applied, 0 when arg is none of these, -1 after a message on stderr when
 * its value is bad. */
int cfg_parse_arg(run_cfg_t *cfg, const char *arg);
/* The runtime's environment for cfg: env[0..4] = "HLGC=...",
 * "HLMAXPROCS=...", "HLMEMLIMIT=...", "HLDEBUG=..." (this process's own
 * settings, plus sbrk=1), "HLTRACE=..." (empty: no trace); each buffer of
 * len bytes. */
void cfg_env(const run_cfg_t *cfg, const char *trace_path, char *env[5],
             size_t len);
/* Prints the workloads (name and summary) to out. */
void cfg_list_workloads(FILE *out);
/* Prints w's parameters and strategies to out. */
void cfg_workload_help(const wl_workload_t *w, FILE *out);

/* ----------------------------------------------------------- cmd_run.c */

/* Applies argv[*i] when it is an option shared by run and sweep (--repeat=N,
 * --out DIR, --verbose; may consume argv[*i + 1]). Returns 1 when applied,
 * 0 when not such an option, -1 after a usage error of c. */
int run_parse_common(const hl_cmd_t *c, int argc, char **argv, int *i,
                     int *repeat, const char **outdir, int *verbose);
/* The workload named by argv[1], or NULL after a usage error of c (which
 * lists the workloads). */
const wl_workload_t *run_workload_arg(const hl_cmd_t *c, int argc,
                                      char **argv);

/* ------------------------------------------------------------ runner.c */

enum run_status {
  RUN_OK = 0,        /* the workload ran and its checks passed */
  RUN_FAILED = 1,    /* checks failed, crash, error: recorded */
  RUN_INTERRUPTED = 2, /* SIGINT/SIGTERM: nothing recorded */
};

/* Runs cfg once in a fresh process (repetition rep, from 1), leaving
 * dir/<stem>-r<rep>.json; prints one line on stdout unless quiet.
 * verbose: the workload's own output goes to stderr. *seconds: the run's
 * wall time as the parent saw it. */
enum run_status run_one(const run_cfg_t *cfg, int rep, const char *dir,
                        int verbose, int quiet, double *seconds);
/* The line run_one prints: configuration, status and headline figures of
 * the result file at path. */
void run_print_line(const run_cfg_t *cfg, int rep, const char *path);
/* dir/<stem>-r<rep>.json into buf. */
void run_result_path(const run_cfg_t *cfg, int rep, const char *dir,
                     char *buf, size_t len);
/* mkdir -p; 0 or -1 after a message on stderr. */
int make_dirs(const char *dir);
/* Installs the SIGINT/SIGTERM handlers that let run_one stop a sweep
 * cleanly; run_interrupted() says whether one came. */
void run_catch_signals(void);
int run_interrupted(void);

/* Writes everything of a result file but the measurements: format,
 * status, timestamp, configuration, parameters, environment, machine and
 * build. Leaves the top-level object open. */
void result_write_head(jw_t *w, const run_cfg_t *cfg, int rep,
                       const char *status, const char *detail,
                       const char *trace_path);

/* ----------------------------------------------------------- results.c */

/* A result file read back. */
typedef struct result {
  char *path;
  jv_t *doc;
  const char *key;      /* config.key: equal for repetitions of a cell */
  const char *workload; /* config.workload */
  const char *status;   /* "ok", "check_failed", "crashed", "error" */
  int rep;
} result_t;

typedef struct result_set {
  result_t *r;
  int n;
} result_set_t;

/* Reads every *.json file of the directories (a directory argument may
 * also be a single result file). Files that are not heaplab results, or
 * not valid JSON, are skipped with a warning on stderr naming the file and
 * the reason. Returns 0, or -1 when a directory cannot be read (message
 * printed). */
int results_load(char **dirs, int ndirs, result_set_t *out);
void results_free(result_set_t *s);
/* 1 when path holds a complete, parseable result file. */
int result_file_valid(const char *path);

/* A numeric figure of a result by name: metrics.NAME, then extra.NAME.
 * Returns 0 and *v, or -1 when absent. */
int result_metric(const result_t *r, const char *name, double *v);

/* The configurations of a set (distinct keys, in a stable order: by
 * workload, strategy, sbrk, gc, procs, memlimit, trace, params), each with
 * the indexes of its results. */
typedef struct config_group {
  const char *key;
  char label[256]; /* the fields that differ between groups */
  int *idx;
  int n;
} config_group_t;

int results_group(const result_set_t *s, config_group_t **out);
void groups_free(config_group_t *g, int n);
/* The value of a configuration field (workload, strategy, gc, sbrk, procs,
 * memlimit, trace, params_changed, or a workload parameter) as a string,
 * "" if absent; booleans are "1"/"0", and gc is "sbrk" in sbrk mode. */
void result_config_field(const result_t *r, const char *field, char *buf,
                         size_t len);

/* Order statistics of v[0..n) (sorted in place). */
typedef struct spread {
  double median, min, max, q1, q3;
  int n;
} spread_t;
spread_t spread_of(double *v, int n);

#endif
