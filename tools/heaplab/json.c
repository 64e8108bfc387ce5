/*
 * tools/heaplab/json.c — the JSON writer and reader of json.h.
 *
 * The reader is a recursive-descent parser over the whole text:
 *   1. value := object | array | string | number | true | false | null,
 *      white space around it;
 *   2. containers collect their items in a growing array, copied into the
 *      node when the container closes (so a node never moves while its
 *      children are being parsed);
 *   3. every failure stops at once with the offset and what was expected.
 */
#include "tools/heaplab/json.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- writer */

void jw_init(jw_t *w, FILE *f) {
  memset(w, 0, sizeof *w);
  w->f = f;
}

static void jw_escape(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", f);
      break;
    case '\\':
      fputs("\\\\", f);
      break;
    case '\n':
      fputs("\\n", f);
      break;
    case '\t':
      fputs("\\t", f);
      break;
    case '\r':
      fputs("\\r", f);
      break;
    default:
      if (*p < 0x20)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

/* Separator, indentation and key before a member of the current level. */
static void jw_member(jw_t *w, const char *key) {
  int d = w->depth;
  if (d > 0) {
    if (w->count[d - 1]++)
      fputc(',', w->f);
    if (w->inline_[d - 1]) {
      if (w->count[d - 1] > 1)
        fputc(' ', w->f);
    } else {
      fputc('\n', w->f);
      for (int i = 0; i < d; i++)
        fputs("  ", w->f);
    }
  }
  if (key) {
    jw_escape(w->f, key);
    fputs(": ", w->f);
  }
}

static void jw_open(jw_t *w, const char *key, char c, int inl) {
  jw_member(w, key);
  assert(w->depth < JW_MAX_DEPTH);
  /* a container inside an inline array stays inline */
  int parent_inline = w->depth > 0 && w->inline_[w->depth - 1];
  w->count[w->depth] = 0;
  w->inline_[w->depth] = inl || parent_inline;
  w->depth++;
  fputc(c, w->f);
}

static void jw_close(jw_t *w, char c) {
  assert(w->depth > 0);
  w->depth--;
  if (w->count[w->depth] && !w->inline_[w->depth]) {
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++)
      fputs("  ", w->f);
  }
  fputc(c, w->f);
}

void jw_obj_begin(jw_t *w, const char *key) { jw_open(w, key, '{', 0); }
void jw_obj_end(jw_t *w) { jw_close(w, '}'); }
void jw_arr_begin(jw_t *w, const char *key) { jw_open(w, key, '[', 0); }
void jw_arr_begin_inline(jw_t *w, const char *key) {
  jw_open(w, key, '[', 1);
}
void jw_arr_end(jw_t *w) { jw_close(w, ']'); }

void jw_str(jw_t *w, const char *key, const char *v) {
  jw_member(w, key);
  if (v)
    jw_escape(w->f, v);
  else
    fputs("null", w->f);
}

void jw_numf(jw_t *w, const char *key, double v, int digits) {
  jw_member(w, key);
  if (isfinite(v))
    fprintf(w->f, "%.*g", digits, v);
  else
    fputs("null", w->f);
}

void jw_num(jw_t *w, const char *key, double v) { jw_numf(w, key, v, 12); }

void jw_int(jw_t *w, const char *key, int64_t v) {
  jw_member(w, key);
  fprintf(w->f, "%lld", (long long)v);
}

void jw_bool(jw_t *w, const char *key, int v) {
  jw_member(w, key);
  fputs(v ? "true" : "false", w->f);
}

void jw_null(jw_t *w, const char *key) {
  jw_member(w, key);
  fputs("null", w->f);
}

void jw_finish(jw_t *w) {
  assert(w->depth == 0);
  fputc('\n', w->f);
}

/* ------------------------------------------------------------- reader */

#define JSON_MAX_DEPTH 64

typedef struct parser {
  const char *s;
  size_t len, pos;
  int depth;
  char *err;
  size_t errlen;
  int failed;
} parser_t;

static int fail(parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(parser_t *p, const char *fmt, ...) {
  if (p->failed)
    return -1;
  p->failed = 1;
  int n = snprintf(p->err, p->errlen, "offset %zu: ", p->pos);
  if (n >= 0 && (size_t)n < p->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void skip_ws(parser_t *p) {
  while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static void jv_clear(jv_t *v) {
  if (v->kind == JV_STR)
    free(v->str);
  if (v->kind == JV_ARR || v->kind == JV_OBJ) {
    for (int i = 0; i < v->n; i++) {
      jv_clear(&v->items[i]);
      if (v->keys)
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
}

void jv_free(jv_t *v) {
  if (!v)
    return;
  jv_clear(v);
  free(v);
}

static int hex4(parser_t *p, unsigned *out) {
  if (p->len - p->pos < 4)
    return fail(p, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos++];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return fail(p, "bad hex digit in \\u escape");
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* p->s[p->pos] is the opening quote. The decoded string is never longer
 * than its escaped form, so one buffer of that size is enough. */
static char *parse_string(parser_t *p) {
  size_t start = ++p->pos, end = start;
  while (end < p->len && p->s[end] != '"')
    end += p->s[end] == '\\' ? 2 : 1;
  if (end >= p->len) {
    fail(p, "unterminated string");
    return NULL;
  }
  char *out = malloc(end - start + 1), *o = out;
  if (!out) {
    fail(p, "out of memory");
    return NULL;
  }
  while (p->pos < end) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c < 0x20) {
      fail(p, "control character in a string");
      goto bad;
    }
    if (c != '\\') {
      *o++ = (char)c;
      p->pos++;
      continue;
    }
    char e = p->s[++p->pos];
    p->pos++;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      *o++ = e;
      break;
    case 'b':
      *o++ = '\b';
      break;
    case 'f':
      *o++ = '\f';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 'r':
      *o++ = '\r';
      break;
    case 't':
      *o++ = '\t';
      break;
    case 'u': {
      unsigned cp, lo;
      if (hex4(p, &cp))
        goto bad;
      if (cp >= 0xdc00 && cp <= 0xdfff) {
        fail(p, "unpaired low surrogate");
        goto bad;
      }
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->pos + 2 > end || p->s[p->pos] != '\\' ||
            p->s[p->pos + 1] != 'u') {
          fail(p, "unpaired high surrogate");
          goto bad;
        }
        p->pos += 2;
        if (hex4(p, &lo))
          goto bad;
        if (lo < 0xdc00 || lo > 0xdfff) {
          fail(p, "high surrogate not followed by a low one");
          goto bad;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      /* 6 escaped bytes (12 for a pair) always hold the UTF-8 form */
      o += put_utf8(o, cp);
      break;
    }
    default:
      p->pos--;
      fail(p, "bad escape \\%c", e);
      goto bad;
    }
  }
  if (p->pos != end) { /* an escape ran past the closing quote */
    fail(p, "unterminated string");
    goto bad;
  }
  p->pos = end + 1;
  *o = 0;
  return out;
bad:
  free(out);
  return NULL;
}

static int parse_value(parser_t *p, jv_t *v);

static int parse_number(parser_t *p, jv_t *v) {
  size_t i = p->pos;
  const char *s = p->s;
  if (i < p->len && s[i] == '-')
    i++;
  if (i < p->len && s[i] == '0')
    i++;
  else if (i < p->len && s[i] >= '1' && s[i] <= '9')
    while (i < p->len && s[i] >= '0' && s[i] <= '9')
      i++;
  else
    return fail(p, "bad number");
  if (i < p->len && s[i] == '.') {
    i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9')
      return fail(p, "bad number: digits expected after '.'");
    while (i < p->len && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < p->len && (s[i] == '+' || s[i] == '-'))
      i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9')
      return fail(p, "bad number: digits expected in the exponent");
    while (i < p->len && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  char buf[64];
  size_t n = i - p->pos;
  if (n >= sizeof buf)
    return fail(p, "number too long");
  memcpy(buf, s + p->pos, n);
  buf[n] = 0;
  v->kind = JV_NUM;
  v->num = strtod(buf, NULL);
  p->pos = i;
  return 0;
}

static int parse_container(parser_t *p, jv_t *v, int obj) {
  if (++p->depth > JSON_MAX_DEPTH)
    return fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
  p->pos++;
  v->kind = obj ? JV_OBJ : JV_ARR;
  int cap = 0;
  char close = obj ? '}' : ']';
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    p->depth--;
    return 0;
  }
  for (;;) {
    if (v->n == cap) {
      cap = cap ? 2 * cap : 8;
      jv_t *items = realloc(v->items, (size_t)cap * sizeof *items);
      char **keys = obj ? realloc(v->keys, (size_t)cap * sizeof *keys) : NULL;
      if (items)
        v->items = items;
      if (keys)
        v->keys = keys;
      if (!items || (obj && !keys))
        return fail(p, "out of memory");
    }
    skip_ws(p);
    char *key = NULL;
    if (obj) {
      if (p->pos >= p->len || p->s[p->pos] != '"')
        return fail(p, "a member name (string) expected");
      if (!(key = parse_string(p)))
        return -1;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':') {
        free(key);
        return fail(p, "':' expected after a member name");
      }
      p->pos++;
    }
    jv_t *item = &v->items[v->n];
    memset(item, 0, sizeof *item);
    if (obj)
      v->keys[v->n] = key;
    v->n++; /* counted before parsing: a failure frees what it built */
    if (parse_value(p, item))
      return -1;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->len && p->s[p->pos] == close) {
      p->pos++;
      p->depth--;
      return 0;
    }
    return fail(p, "',' or '%c' expected", close);
  }
}

static int parse_value(parser_t *p, jv_t *v) {
  skip_ws(p);
  if (p->pos >= p->len)
    return fail(p, "unexpected end of input");
  char c = p->s[p->pos];
  switch (c) {
  case '{':
    return parse_container(p, v, 1);
  case '[':
    return parse_container(p, v, 0);
  case '"':
    v->kind = JV_STR;
    return (v->str = parse_string(p)) ? 0 : -1;
  case 't':
  case 'f':
  case 'n': {
    const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
      return fail(p, "unexpected '%c'", c);
    p->pos += n;
    v->kind = c == 'n' ? JV_NULL : JV_BOOL;
    v->num = c == 't';
    return 0;
  }
  default:
    if (c == '-' || (c >= '0' && c <= '9'))
      return parse_number(p, v);
    return fail(p, "unexpected character '%c'", c);
  }
}

jv_t *json_parse(const char *text, size_t len, char *err, size_t errlen) {
  parser_t p = {.s = text, .len = len, .err = err, .errlen = errlen};
  jv_t *v = calloc(1, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (parse_value(&p, v) == 0) {
    skip_ws(&p);
    if (p.pos == p.len)
      return v;
    fail(&p, "text after the JSON value");
  }
  jv_free(v);
  return NULL;
}

jv_t *json_parse_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  int rerr = ferror(f);
  fclose(f);
  if (!buf || rerr) {
    free(buf);
    snprintf(err, errlen, rerr ? "read error" : "out of memory");
    return NULL;
  }
  jv_t *v = json_parse(buf, n, err, errlen);
  free(buf);
  return v;
}

const jv_t *jv_get(const jv_t *o, const char *key) {
  if (!o || o->kind != JV_OBJ)
    return NULL;
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->keys[i], key) == 0)
      return &o->items[i];
  return NULL;
}

const jv_t *jv_path(const jv_t *o, const char *path) {
  char part[128];
  while (o && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof part)
      return NULL;
    memcpy(part, path, n);
    part[n] = 0;
    o = jv_get(o, part);
    path += n + (dot != NULL);
  }
  return o;
}

double jv_num(const jv_t *v, double dflt) {
  return v && (v->kind == JV_NUM || v->kind == JV_BOOL) ? v->num : dflt;
}

const char *jv_str(const jv_t *v, const char *dflt) {
  return v && v->kind == JV_STR ? v->str : dflt;
}
