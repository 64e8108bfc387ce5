/*
 * tools/heaplab/json.h — the small JSON writer and reader of the experiment
 * runner (result files of `heaplab run`, read back by sweep, compare and
 * plot).
 *
 * Writer (jw_*): streams to a FILE; objects are indented one member per
 * line, arrays opened with jw_arr_begin_inline stay on one line (the rows of
 * a time series). Strings are escaped (", \, control characters as \uXXXX;
 * other bytes are copied, so UTF-8 passes through). Non-finite numbers are
 * written as null (JSON has no NaN). The caller nests begin/end correctly:
 * the writer only checks it with assertions of its own depth.
 *
 * Reader (json_parse): RFC 8259 text into a tree of jv_t, all in one
 * allocation list freed by jv_free. Rejected with a message naming the
 * byte offset: anything after the value, nesting deeper than 64, bad
 * escapes, unpaired surrogates, control characters in strings, numbers
 * not in JSON's grammar. Duplicate keys are kept (jv_get returns the first).
 *
 * Rejected alternative: libjansson/libcjson. Both fine, but the writer must
 * be ours anyway (the layout above), and a reader of this size keeps the
 * command free of one more package for what is a simple format.
 */
#ifndef HL_TOOLS_HEAPLAB_JSON_H
#define HL_TOOLS_HEAPLAB_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------- writer */

#define JW_MAX_DEPTH 32

typedef struct jw {
  FILE *f;
  int depth;
  int count[JW_MAX_DEPTH];  /* members written at each level */
  int inline_[JW_MAX_DEPTH]; /* 1: this level is written on one line */
} jw_t;

void jw_init(jw_t *w, FILE *f);
/* key: the member name inside an object, NULL inside an array or at the
 * top level. */
void jw_obj_begin(jw_t *w, const char *key);
void jw_obj_end(jw_t *w);
void jw_arr_begin(jw_t *w, const char *key);
void jw_arr_begin_inline(jw_t *w, const char *key);
void jw_arr_end(jw_t *w);
void jw_str(jw_t *w, const char *key, const char *v); /* NULL: null */
void jw_num(jw_t *w, const char *key, double v);      /* %.12g, or null */
void jw_numf(jw_t *w, const char *key, double v, int digits); /* %.*g */
void jw_int(jw_t *w, const char *key, int64_t v);
void jw_bool(jw_t *w, const char *key, int v);
void jw_null(jw_t *w, const char *key);
/* Ends the document with a newline. */
void jw_finish(jw_t *w);

/* ------------------------------------------------------------- reader */

typedef enum jv_kind {
  JV_NULL,
  JV_BOOL,
  JV_NUM,
  JV_STR,
  JV_ARR,
  JV_OBJ
} jv_kind_t;

typedef struct jv {
  jv_kind_t kind;
  double num;       /* JV_NUM; JV_BOOL: 0 or 1 */
  char *str;        /* JV_STR (NUL-terminated; embedded \u0000 cut it) */
  int n;            /* JV_ARR, JV_OBJ: number of items */
  struct jv *items; /* JV_ARR, JV_OBJ: n values */
  char **keys;      /* JV_OBJ: n keys */
} jv_t;

/* Parses text[0..len). Returns the tree, or NULL after writing a message
 * ("offset N: what was wrong") to err. */
jv_t *json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a whole file; NULL with a message in err. */
jv_t *json_parse_file(const char *path, char *err, size_t errlen);
void jv_free(jv_t *v);

/* The member key of an object, or NULL (also when o is not an object). */
const jv_t *jv_get(const jv_t *o, const char *key);
/* A path of members separated by '.', e.g. "config.workload". */
const jv_t *jv_path(const jv_t *o, const char *path);
/* The value as a number / string, or dflt when v is NULL or of another
 * kind. */
double jv_num(const jv_t *v, double dflt);
const char *jv_str(const jv_t *v, const char *dflt);

#endif
