/*
 * tools/heaplab/runner.c — one run in a fresh process (experiment.h,
 * steps 1, 2 and 4) and the head of every result file.
 *
 * Why a fresh process per run: the runtime's state (heap size, pacer
 * history, cached stacks, the RSS high-water mark) would otherwise leak
 * from one run into the next, and a crash would end the whole sweep.
 *
 * Signals: SIGINT from a terminal reaches the child too (same process
 * group) and ends it; the parent's handler only sets a flag, so the
 * parent waits for the child, removes its partial output and reports
 * RUN_INTERRUPTED. A SIGTERM sent to the parent alone is forwarded.
 */
#include "tools/heaplab/experiment.h"
#include "hl_describe.h" /* HL_GIT_DESCRIBE, written at build time */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#ifndef HL_BUILD_TYPE
#define HL_BUILD_TYPE "unknown"
#endif

/* ------------------------------------------------------------- signals */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

void run_catch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int run_interrupted(void) { return interrupted != 0; }

/* ------------------------------------------------------------- helpers */

int make_dirs(const char *dir) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
    fprintf(stderr, "heaplab: directory name too long: %s\n", dir);
    return -1;
  }
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == 0) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "heaplab: cannot create directory %s: %s\n", buf,
                strerror(errno));
        return -1;
      }
      *p = c;
      if (!c)
        break;
    }
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "heaplab: %s is not a directory\n", dir);
    return -1;
  }
  return 0;
}

void run_result_path(const run_cfg_t *cfg, int rep, const char *dir,
                     char *buf, size_t len) {
  char stem[512];
  cfg_stem(cfg, stem, sizeof stem);
  snprintf(buf, len, "%s/%s-r%d.json", dir, stem, rep);
}

static void trace_path_of(const run_cfg_t *cfg, int rep, const char *dir,
                          char *buf, size_t len) {
  char stem[512];
  cfg_stem(cfg, stem, sizeof stem);
  snprintf(buf, len, "%s/%s-r%d.hltrace", dir, stem, rep);
}

/* First line of file starting with prefix, value after the ':' trimmed. */
static int proc_field(const char *file, const char *prefix, char *out,
                      size_t len) {
  FILE *f = fopen(file, "r");
  if (!f)
    return -1;
  char line[512];
  int found = -1;
  size_t pl = strlen(prefix);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, prefix, pl) == 0) {
      char *v = strchr(line, ':');
      if (!v)
        continue;
      v++;
      while (*v == ' ' || *v == '\t')
        v++;
      v[strcspn(v, "\n")] = 0;
      snprintf(out, len, "%s", v);
      found = 0;
      break;
    }
  fclose(f);
  return found;
}

/* ------------------------------------------------------- result header */

void result_write_head(jw_t *w, const run_cfg_t *cfg, int rep,
                       const char *status, const char *detail,
                       const char *trace_path) {
  char buf[512], stem[512];
  jw_obj_begin(w, NULL);
  jw_int(w, "heaplab_result", RESULT_FORMAT);
  jw_str(w, "status", status);
  jw_str(w, "detail", detail);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  jw_str(w, "timestamp", buf);

  jw_obj_begin(w, "config");
  cfg_stem(cfg, stem, sizeof stem);
  jw_str(w, "key", stem);
  jw_str(w, "workload", cfg->w->name);
  jw_str(w, "strategy", cfg_strategy_name(cfg->w, cfg->strategy));
  jw_str(w, "gc", cfg->gc);
  jw_bool(w, "sbrk", cfg->sbrk);
  jw_int(w, "procs", cfg->procs);
  jw_str(w, "memlimit", cfg->memlimit[0] ? cfg->memlimit : "off");
  jw_bool(w, "trace", cfg->trace);
  cfg_params_changed(cfg, buf, sizeof buf);
  jw_str(w, "params_changed", buf);
  jw_int(w, "rep", rep);
  cfg_label(cfg, buf, sizeof buf);
  jw_str(w, "label", buf);
  jw_obj_end(w);

  jw_obj_begin(w, "params");
  for (int i = 0; i < cfg->w->nparams; i++)
    jw_int(w, cfg->w->params[i].name, cfg->values[i]);
  jw_obj_end(w);

  char e0[256], e1[256], e2[256], e3[256], e4[PATH_MAX + 16];
  char *env[5] = {e0, e1, e2, e3, e4};
  cfg_env(cfg, trace_path, env, 256);
  if (trace_path)
    snprintf(e4, sizeof e4, "HLTRACE=%s", trace_path);
  jw_obj_begin(w, "env");
  for (int i = 0; i < 5; i++) {
    char *eq = strchr(env[i], '=');
    *eq = 0;
    jw_str(w, env[i], eq + 1);
    *eq = '=';
  }
  jw_obj_end(w);

  jw_obj_begin(w, "machine");
  if (proc_field("/proc/cpuinfo", "model name", buf, sizeof buf) &&
      proc_field("/proc/cpuinfo", "Model", buf, sizeof buf))
    snprintf(buf, sizeof buf, "unknown");
  jw_str(w, "cpu_model", buf);
  jw_int(w, "cores_online", sysconf(_SC_NPROCESSORS_ONLN));
  if (proc_field("/proc/meminfo", "MemTotal", buf, sizeof buf) == 0)
    jw_str(w, "memory", buf);
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.version);
    jw_str(w, "kernel", buf);
    jw_str(w, "arch", u.machine);
  }
  jw_obj_end(w);

  jw_obj_begin(w, "build");
#ifdef __clang__
  jw_str(w, "compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
  jw_str(w, "compiler", "gcc " __VERSION__);
#else
  jw_str(w, "compiler", "unknown");
#endif
  jw_str(w, "commit", HL_GIT_DESCRIBE);
  jw_str(w, "build_type", HL_BUILD_TYPE);
  jw_int(w, "hl_debug", HL_DEBUG);
#ifdef HL_SANITIZE
  jw_bool(w, "sanitized", 1);
#else
  jw_bool(w, "sanitized", 0);
#endif
  jw_obj_end(w);
  jw_str(w, "trace", trace_path);
}

/* A result of the parent's own: the child died or wrote nothing usable. */
static int write_failure(const run_cfg_t *cfg, int rep, const char *path,
                         const char *status, const char *detail,
                         const char *trace_path, double seconds) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "heaplab: cannot write %s: %s\n", tmp, strerror(errno));
    return -1;
  }
  jw_t w;
  jw_init(&w, f);
  result_write_head(&w, cfg, rep, status, detail, trace_path);
  jw_obj_begin(&w, "metrics");
  jw_num(&w, "process_wall_s", seconds);
  jw_obj_end(&w);
  jw_obj_end(&w);
  jw_finish(&w);
  int bad = ferror(f) | fclose(f);
  if (bad || rename(tmp, path) != 0) {
    fprintf(stderr, "heaplab: cannot write %s\n", path);
    unlink(tmp);
    return -1;
  }
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void run_print_line(const run_cfg_t *cfg, int rep, const char *path) {
  char label[256], err[256];
  cfg_label(cfg, label, sizeof label);
  jv_t *doc = json_parse_file(path, err, sizeof err);
  const jv_t *m = jv_get(doc, "metrics");
  const char *status = jv_str(jv_get(doc, "status"), "?");
  if (strcmp(status, "ok") != 0 && strcmp(status, "check_failed") != 0) {
    printf("%s %s rep %d: %s (%s) -> %s\n", cfg->w->name, label, rep, status,
           jv_str(jv_get(doc, "detail"), ""), path);
  } else {
    printf("%s %s rep %d: %s  wall %.3f s  cpu %.3f s  peak RSS %.1f MiB  "
           "GC %.0f (max pause %.3f ms) -> %s\n",
           cfg->w->name, label, rep, status,
           jv_num(jv_get(m, "wall_s"), NAN), jv_num(jv_get(m, "cpu_s"), NAN),
           jv_num(jv_get(m, "peak_rss_mib"), NAN),
           jv_num(jv_get(m, "gc_cycles"), NAN),
           jv_num(jv_get(m, "pause_max_ms"), NAN), path);
  }
  fflush(stdout);
  jv_free(doc);
}

enum run_status run_one(const run_cfg_t *cfg, int rep, const char *dir,
                        int verbose, int quiet, double *seconds) {
  char path[PATH_MAX], tmp[PATH_MAX + 8], trace[PATH_MAX], repbuf[16];
  run_result_path(cfg, rep, dir, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  trace_path_of(cfg, rep, dir, trace, sizeof trace);
  unlink(tmp);
  if (cfg->trace)
    unlink(trace); /* never mix an old trace with this run's */

  /* argv: run-child TMP REP TRACE|- VERBOSE WORKLOAD config... params... */
  char args[8 + WL_MAX_PARAMS][160];
  char *argv[16 + WL_MAX_PARAMS];
  int argc = 0;
  argv[argc++] = "heaplab";
  argv[argc++] = "run-child";
  argv[argc++] = tmp;
  snprintf(repbuf, sizeof repbuf, "%d", rep);
  argv[argc++] = repbuf;
  argv[argc++] = cfg->trace ? trace : "-";
  argv[argc++] = verbose ? "1" : "0";
  argv[argc++] = (char *)cfg->w->name;
  int na = 0;
  snprintf(args[na], sizeof args[na], "--gc=%s", cfg->gc);
  argv[argc++] = args[na++];
  snprintf(args[na], sizeof args[na], "--procs=%d", cfg->procs);
  argv[argc++] = args[na++];
  snprintf(args[na], sizeof args[na], "--strategy=%s",
           cfg_strategy_name(cfg->w, cfg->strategy));
  argv[argc++] = args[na++];
  if (cfg->memlimit[0]) {
    snprintf(args[na], sizeof args[na], "--memlimit=%s", cfg->memlimit);
    argv[argc++] = args[na++];
  }
  if (cfg->sbrk)
    argv[argc++] = "--sbrk";
  if (cfg->trace)
    argv[argc++] = "--trace";
  for (int i = 0; i < cfg->w->nparams; i++) {
    snprintf(args[na], sizeof args[na], "%s=%ld", cfg->w->params[i].name,
             cfg->values[i]);
    argv[argc++] = args[na++];
  }
  argv[argc] = NULL;

  /* environment: ours without the runtime's variables, then cfg's */
  size_t ne = 0;
  while (environ[ne])
    ne++;
  char **envp = malloc((ne + 6) * sizeof *envp);
  if (!envp) {
    fprintf(stderr, "heaplab: out of memory\n");
    return RUN_FAILED;
  }
  size_t k = 0;
  static const char *const ours[] = {"HLGC=", "HLMAXPROCS=", "HLMEMLIMIT=",
                                     "HLDEBUG=", "HLTRACE="};
  for (size_t i = 0; i < ne; i++) {
    int skip = 0;
    for (int j = 0; j < 5; j++)
      skip |= strncmp(environ[i], ours[j], strlen(ours[j])) == 0;
    if (!skip)
      envp[k++] = environ[i];
  }
  char e0[256], e1[256], e2[256], e3[256], e4[PATH_MAX + 16];
  char *env[5] = {e0, e1, e2, e3, e4};
  cfg_env(cfg, NULL, env, 256);
  if (cfg->trace)
    snprintf(e4, sizeof e4, "HLTRACE=%s", trace);
  for (int j = 0; j < 5; j++)
    envp[k++] = env[j];
  envp[k] = NULL;

  double t0 = now_s();
  pid_t pid;
  int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, envp);
  free(envp);
  if (err) {
    fprintf(stderr, "heaplab: cannot start /proc/self/exe: %s\n",
            strerror(err));
    return RUN_FAILED;
  }
  int wst, forwarded = 0;
  while (waitpid(pid, &wst, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "heaplab: waitpid: %s\n", strerror(errno));
      return RUN_FAILED;
    }
    if (interrupted && !forwarded) {
      kill(pid, SIGTERM);
      forwarded = 1;
    }
  }
  double secs = now_s() - t0;
  if (seconds)
    *seconds = secs;
  if (interrupted || (WIFSIGNALED(wst) && (WTERMSIG(wst) == SIGINT))) {
    unlink(tmp);
    interrupted = interrupted ? interrupted : SIGINT;
    return RUN_INTERRUPTED;
  }

  char detail[256];
  const char *status = NULL;
  if (WIFEXITED(wst) && WEXITSTATUS(wst) <= 1) {
    if (result_file_valid(tmp) && rename(tmp, path) == 0) {
      if (!quiet)
        run_print_line(cfg, rep, path);
      return WEXITSTATUS(wst) == 0 ? RUN_OK : RUN_FAILED;
    }
    status = "error";
    snprintf(detail, sizeof detail,
             "the child exited with status %d but wrote no valid result",
             WEXITSTATUS(wst));
  } else if (WIFEXITED(wst)) {
    status = "error";
    snprintf(detail, sizeof detail,
             "the child exited with status %d (see its message above)",
             WEXITSTATUS(wst));
  } else {
    status = "crashed";
    snprintf(detail, sizeof detail, "the child was killed by signal %d (%s)",
             WTERMSIG(wst), strsignal(WTERMSIG(wst)));
  }
  unlink(tmp);
  if (write_failure(cfg, rep, path, status, detail,
                    cfg->trace ? trace : NULL, secs) == 0 &&
      !quiet)
    run_print_line(cfg, rep, path);
  return RUN_FAILED;
}
