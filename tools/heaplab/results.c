/*
 * tools/heaplab/results.c — result files read back (experiment.h): loading
 * whole directories with foreign and corrupt files skipped, grouping the
 * repetitions of a configuration, metric look-up and order statistics.
 *
 * A file is a heaplab result when it parses and its top-level object has
 * "heaplab_result" (the format number), a "status" string and a "config"
 * object with "key" and "workload". Anything else in a results directory
 * (notes, traces, plots, a half-copied file) is skipped: *.json files
 * with a warning naming the reason, other files silently (traces and plots
 * live there by design).
 */
#include "tools/heaplab/experiment.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *is_result(const jv_t *doc) {
  if (!doc || doc->kind != JV_OBJ)
    return "not a JSON object";
  const jv_t *f = jv_get(doc, "heaplab_result");
  if (!f || f->kind != JV_NUM)
    return "not a heaplab result (no \"heaplab_result\" member)";
  if (f->num != RESULT_FORMAT)
    return "a result file of another format version";
  if (!jv_str(jv_get(doc, "status"), NULL) ||
      !jv_str(jv_path(doc, "config.key"), NULL) ||
      !jv_str(jv_path(doc, "config.workload"), NULL))
    return "a heaplab result without status or configuration";
  return NULL;
}

int result_file_valid(const char *path) {
  char err[256];
  jv_t *doc = json_parse_file(path, err, sizeof err);
  int ok = doc && !is_result(doc);
  jv_free(doc);
  return ok;
}

static int add_file(result_set_t *s, int *cap, const char *path) {
  char err[256];
  jv_t *doc = json_parse_file(path, err, sizeof err);
  const char *why = doc ? is_result(doc) : err;
  if (why) {
    fprintf(stderr, "heaplab: warning: skipping %s: %s\n", path, why);
    jv_free(doc);
    return 0;
  }
  if (s->n == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    result_t *r = realloc(s->r, (size_t)*cap * sizeof *r);
    if (!r) {
      jv_free(doc);
      fprintf(stderr, "heaplab: out of memory\n");
      return -1;
    }
    s->r = r;
  }
  result_t *r = &s->r[s->n++];
  r->path = strdup(path);
  r->doc = doc;
  r->key = jv_str(jv_path(doc, "config.key"), "");
  r->workload = jv_str(jv_path(doc, "config.workload"), "");
  r->status = jv_str(jv_get(doc, "status"), "");
  r->rep = (int)jv_num(jv_path(doc, "config.rep"), 0);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int results_load(char **dirs, int ndirs, result_set_t *out) {
  int cap = 0;
  out->r = NULL;
  out->n = 0;
  for (int d = 0; d < ndirs; d++) {
    struct stat st;
    if (stat(dirs[d], &st) != 0) {
      fprintf(stderr, "heaplab: %s: %s\n", dirs[d], strerror(errno));
      return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (add_file(out, &cap, dirs[d]))
        return -1;
      continue;
    }
    DIR *dir = opendir(dirs[d]);
    if (!dir) {
      fprintf(stderr, "heaplab: %s: %s\n", dirs[d], strerror(errno));
      return -1;
    }
    /* sorted, so that warnings and ties come out in a stable order */
    char **names = NULL;
    int n = 0, ncap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
      size_t len = strlen(e->d_name);
      if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
        continue;
      if (n == ncap) {
        ncap = ncap ? 2 * ncap : 64;
        char **nn = realloc(names, (size_t)ncap * sizeof *nn);
        if (!nn)
          break;
        names = nn;
      }
      names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    if (n)
      qsort(names, (size_t)n, sizeof *names, cmp_str);
    int rc = 0;
    for (int i = 0; i < n; i++) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
      if (!rc)
        rc = add_file(out, &cap, path);
      free(names[i]);
    }
    free(names);
    if (rc)
      return -1;
  }
  return 0;
}

void results_free(result_set_t *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->r[i].path);
    jv_free(s->r[i].doc);
  }
  free(s->r);
  s->r = NULL;
  s->n = 0;
}

int result_metric(const result_t *r, const char *name, double *v) {
  const jv_t *x = jv_get(jv_get(r->doc, "metrics"), name);
  if (!x)
    x = jv_get(jv_get(r->doc, "extra"), name);
  if (!x || x->kind != JV_NUM)
    return -1;
  *v = x->num;
  return 0;
}

void result_config_field(const result_t *r, const char *field, char *buf,
                         size_t len) {
  const jv_t *v = NULL;
  if (strcmp(field, "key") && strcmp(field, "rep") && strcmp(field, "label"))
    v = jv_get(jv_get(r->doc, "config"), field);
  if (!v)
    v = jv_get(jv_get(r->doc, "params"), field);
  buf[0] = 0;
  if (!v)
    return;
  if (!strcmp(field, "gc") &&
      jv_num(jv_get(jv_get(r->doc, "config"), "sbrk"), 0) != 0) {
    snprintf(buf, len, "sbrk"); /* sbrk mode: the percentage is moot */
    return;
  }
  if (v->kind == JV_STR)
    snprintf(buf, len, "%s", v->str);
  else if (v->kind == JV_BOOL)
    snprintf(buf, len, "%s", v->num ? "1" : "0");
  else if (v->kind == JV_NUM)
    snprintf(buf, len, "%.17g", v->num);
}

/* ------------------------------------------------------------ grouping */

static const char *const order_fields[] = {"workload", "strategy", "sbrk",
                                           "gc",       "procs",    "memlimit",
                                           "trace",    "params_changed"};
#define NFIELDS (int)(sizeof order_fields / sizeof order_fields[0])

/* Numbers compare as numbers ("50" < "100"), "off" after every number. */
static int cmp_field(const char *a, const char *b) {
  char *ea, *eb;
  double x = strtod(a, &ea), y = strtod(b, &eb);
  int na = *a && !*ea, nb = *b && !*eb;
  if (na && nb)
    return (x > y) - (x < y);
  if (na != nb)
    return na ? -1 : 1;
  return strcmp(a, b);
}

static const result_set_t *sort_set;

static int cmp_group(const void *pa, const void *pb) {
  const config_group_t *a = pa, *b = pb;
  const result_t *ra = &sort_set->r[a->idx[0]], *rb = &sort_set->r[b->idx[0]];
  char fa[256], fb[256];
  for (int i = 0; i < NFIELDS; i++) {
    result_config_field(ra, order_fields[i], fa, sizeof fa);
    result_config_field(rb, order_fields[i], fb, sizeof fb);
    int c = cmp_field(fa, fb);
    if (c)
      return c;
  }
  return strcmp(a->key, b->key);
}

int results_group(const result_set_t *s, config_group_t **out) {
  config_group_t *g = calloc((size_t)s->n + 1, sizeof *g);
  int ng = 0;
  if (!g)
    return -1;
  for (int i = 0; i < s->n; i++) {
    int j = 0;
    while (j < ng && strcmp(g[j].key, s->r[i].key) != 0)
      j++;
    if (j == ng) {
      g[ng].key = s->r[i].key;
      g[ng].idx = malloc((size_t)s->n * sizeof(int));
      if (!g[ng].idx) {
        groups_free(g, ng);
        return -1;
      }
      ng++;
    }
    g[j].idx[g[j].n++] = i;
  }
  sort_set = s;
  qsort(g, (size_t)ng, sizeof *g, cmp_group);
  /* labels: the fields whose value is not the same in every group; sbrk
   * and gc make one "mode" (sbrk mode ignores the GC percentage) */
  for (int f = 0; f < NFIELDS; f++) {
    char first[256], v[256];
    int varies = 0;
    if (!strcmp(order_fields[f], "sbrk"))
      continue;
    for (int j = 0; j < ng; j++) {
      result_config_field(&s->r[g[j].idx[0]], order_fields[f], v, sizeof v);
      if (j == 0)
        strcpy(first, v);
      else if (strcmp(first, v) != 0)
        varies = 1;
    }
    if (!varies)
      continue;
    for (int j = 0; j < ng; j++) {
      result_config_field(&s->r[g[j].idx[0]], order_fields[f], v, sizeof v);
      size_t o = strlen(g[j].label);
      const char *name = order_fields[f];
      if (!strcmp(name, "params_changed"))
        snprintf(g[j].label + o, sizeof g[j].label - o, "%s%s", o ? " " : "",
                 v[0] ? v : "defaults");
      else if (!strcmp(name, "trace"))
        snprintf(g[j].label + o, sizeof g[j].label - o, "%s%s",
                 o ? " " : "", v[0] == '1' ? "trace" : "no-trace");
      else if (!strcmp(name, "gc") && !strcmp(v, "sbrk"))
        snprintf(g[j].label + o, sizeof g[j].label - o, "%ssbrk",
                 o ? " " : "");
      else
        snprintf(g[j].label + o, sizeof g[j].label - o, "%s%s=%s",
                 o ? " " : "", name, v);
    }
  }
  for (int j = 0; j < ng; j++)
    if (!g[j].label[0])
      snprintf(g[j].label, sizeof g[j].label, "%s",
               jv_str(jv_path(s->r[g[j].idx[0]].doc, "config.label"),
                      g[j].key));
  *out = g;
  return ng;
}

void groups_free(config_group_t *g, int n) {
  for (int i = 0; i < n; i++)
    free(g[i].idx);
  free(g);
}

/* ----------------------------------------------------------- statistics */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Linear interpolation between closest ranks (R's type 7). */
static double quantile(const double *v, int n, double q) {
  double pos = q * (n - 1);
  int lo = (int)pos;
  if (lo + 1 >= n)
    return v[n - 1];
  return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

spread_t spread_of(double *v, int n) {
  spread_t s = {NAN, NAN, NAN, NAN, NAN, n};
  if (n <= 0)
    return s;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  s.min = v[0];
  s.max = v[n - 1];
  s.median = quantile(v, n, 0.5);
  s.q1 = quantile(v, n, 0.25);
  s.q3 = quantile(v, n, 0.75);
  return s;
}
