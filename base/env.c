/*
 * base/env.c — HLDEBUG and size/integer parsing.
 *
 * What it is for: turning the HLDEBUG environment variable into the
 * process-wide settings `hl_debug`, rejecting anything it does not
 * understand with a message that names the key and its accepted forms.
 * Nothing here allocates: it runs inside malloc on the first call.
 *
 * Entry points (base/env.h):
 *   hl_debug            the settings, statically initialised to the defaults
 *   hl_debug_defaults   the defaults
 *   hl_debug_parse      parse one HLDEBUG string into a hl_debug_vars_t
 *   hl_env_init         parse getenv("HLDEBUG") once into hl_debug
 *   hl_parse_size       "4GiB" -> 4294967296
 *   hl_parse_int        decimal integer in [min, max]
 *
 * HLDEBUG grammar, and the choices made where GODEBUG is lenient:
 *   list  := item (',' item)*     NULL or "" means "no settings".
 *   item  := key '=' value        Keys and values are case-sensitive; no
 *                                 white space is trimmed (" sbrk=1" names
 *                                 the unknown key " sbrk").
 *   Rejected: an unknown key, an item without '=', an empty value, a value
 *   that is not a plain decimal number (no sign, no trailing characters),
 *   a value out of the key's range, and an empty item — so a leading,
 *   trailing or doubled comma is an error, not something skipped.
 *   A key given twice takes its last value (as GODEBUG does), so
 *   HLDEBUG="$HLDEBUG,sbrk=1" overrides an earlier setting.
 *   On error the output is left unchanged: the string is parsed into a
 *   copy that is stored only when every item was accepted.
 *
 * Size keys (maplimit) take what hl_parse_size takes: digits and an
 * optional unit (K/KB/KiB = 1024, ... T); a malformed or overflowing size
 * is a "bad value".
 *
 * Adding a key: add its field to hl_debug_vars_t (env.h), its default to
 * HL_DEBUG_DEFAULTS and one row to `keys` below. The row's field type is
 * taken from the struct by _Generic, so a field of an unsupported type
 * fails to compile rather than being written with the wrong width.
 *
 * hl_env_init runs the parse once per process:
 *   1. CAS env_state UNINIT -> RUNNING; the winner parses getenv("HLDEBUG"),
 *      stores hl_debug, and publishes DONE with a release store.
 *   2. Any other caller spins (cpu_relax) until it reads DONE with an
 *      acquire load, so it sees the winner's hl_debug.
 *   3. On a bad HLDEBUG the winner prints "heaplab: HLDEBUG: <message>" and
 *      calls _exit(2); spinning threads end with the process.
 * Rejected: pthread_once (may not be usable from inside malloc before the
 * thread library is set up, and cannot report a parse error differently).
 */
#include "base/env.h"
#include "base/atomic.h"
#include "base/throw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define HL_DEBUG_DEFAULTS                                                      \
  { .sbrk = 0, .scavdelay_ms = 1000, .madvdontneed = 1, .scavenger = 1,     \
    .stacksize_kib = 256, .schedtrace_ms = 0, .scheddetail = 0,             \
    .gctrace = 0, .gccheckmark = 0, .gcstoptheworld = 0, .gctrigger = 30,   \
    .gcassistcap = 5, .failmmap = 0, .failthread = 0, .maplimit = 0 }

hl_debug_vars_t hl_debug = HL_DEBUG_DEFAULTS;

void hl_debug_defaults(hl_debug_vars_t *out) {
  *out = (hl_debug_vars_t)HL_DEBUG_DEFAULTS;
}

/* ---- number parsing ---------------------------------------------------- */

/* Parses s[0..n) as a non-empty run of decimal digits into *out.
 * Returns 0, or -1 if it is empty, has a non-digit, or exceeds limit. */
static int parse_digits(const char *s, size_t n, uint64_t limit,
                        uint64_t *out) {
  if (n == 0) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned d = (unsigned)(s[i] - '0');
    /* v*10 + d <= limit, without overflowing */
    if (v > limit / 10 || (v == limit / 10 && d > limit % 10)) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* hl_parse_int on a slice. */
static int parse_int_n(const char *s, size_t n, int64_t min, int64_t max,
                       int64_t *out) {
  uint64_t v;
  if (min > max || max < 0) return -1;
  if (parse_digits(s, n, (uint64_t)max, &v) < 0) return -1;
  if ((int64_t)v < min) return -1;
  *out = (int64_t)v;
  return 0;
}

int hl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  if (s == NULL) return -1;
  size_t n = 0;
  while (s[n] != '\0')
    n++;
  return parse_int_n(s, n, min, max, out);
}

static bool str_eq_n(const char *a, size_t an, const char *b) {
  size_t i = 0;
  for (; i < an; i++)
    if (b[i] != a[i]) /* also stops at b's NUL, since a[i] != '\0' there */
      return false;
  return b[i] == '\0';
}

static const struct size_unit {
  const char *name;
  unsigned shift;
} size_units[] = {
    {"", 0},     {"B", 0},   {"K", 10},   {"KB", 10},  {"KiB", 10},
    {"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},   {"GB", 30},
    {"GiB", 30}, {"T", 40},  {"TB", 40},  {"TiB", 40},
};

/* hl_parse_size on a slice s[0..n). */
static int parse_size_n(const char *s, size_t n, uint64_t *out) {
  size_t nd = 0;
  while (nd < n && s[nd] >= '0' && s[nd] <= '9')
    nd++;
  const char *unit = s + nd;
  size_t ul = n - nd;
  for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
    if (!str_eq_n(unit, ul, size_units[i].name)) continue;
    unsigned sh = size_units[i].shift;
    uint64_t v;
    if (parse_digits(s, nd, UINT64_MAX >> sh, &v) < 0) return -1;
    *out = v << sh;
    return 0;
  }
  return -1;
}

int hl_parse_size(const char *s, uint64_t *out) {
  if (s == NULL) return -1;
  size_t n = 0;
  while (s[n] != '\0')
    n++;
  return parse_size_n(s, n, out);
}

/* ---- the key table ----------------------------------------------------- */

typedef enum key_kind {
  KIND_BOOL, /* exactly "0" or "1" */
  KIND_INT,  /* decimal integer in [min, max] */
  KIND_SIZE, /* byte size with an optional unit (hl_parse_size) */
} key_kind_t;

typedef enum field_type {
  FIELD_INT,
  FIELD_I64,
  FIELD_U64,
} field_type_t;

typedef struct debug_key {
  const char *name;
  key_kind_t kind;
  int64_t min, max;   /* KIND_INT only */
  const char *unit;   /* KIND_INT: what the number counts, for messages */
  size_t offset;      /* of the field in hl_debug_vars_t */
  field_type_t ftype; /* of that field */
} debug_key_t;

/* clang-format off */
#define FIELD(f)                                                               \
  .offset = offsetof(hl_debug_vars_t, f),                                      \
  .ftype = _Generic(((hl_debug_vars_t *)0)->f, int: FIELD_INT,                 \
                    int64_t: FIELD_I64, uint64_t: FIELD_U64)
/* clang-format on */

static const debug_key_t keys[] = {
    {.name = "sbrk", .kind = KIND_BOOL, FIELD(sbrk)},
    {.name = "scavdelay",
     .kind = KIND_INT,
     .min = 0,
     .max = 3600000,
     .unit = "milliseconds",
     FIELD(scavdelay_ms)},
    {.name = "madvdontneed", .kind = KIND_BOOL, FIELD(madvdontneed)},
    {.name = "scavenger", .kind = KIND_BOOL, FIELD(scavenger)},
    {.name = "stacksize",
     .kind = KIND_INT,
     .min = 16,
     .max = 65536,
     .unit = "KiB",
     FIELD(stacksize_kib)},
    {.name = "schedtrace",
     .kind = KIND_INT,
     .min = 0,
     .max = 3600000,
     .unit = "milliseconds",
     FIELD(schedtrace_ms)},
    {.name = "scheddetail", .kind = KIND_BOOL, FIELD(scheddetail)},
    {.name = "gctrace", .kind = KIND_BOOL, FIELD(gctrace)},
    {.name = "gccheckmark", .kind = KIND_BOOL, FIELD(gccheckmark)},
    {.name = "gcstoptheworld", .kind = KIND_BOOL, FIELD(gcstoptheworld)},
    {.name = "gctrigger",
     .kind = KIND_INT,
     .min = 0,
     .max = 95,
     .unit = "percent of the way from the marked heap to the goal",
     FIELD(gctrigger)},
    {.name = "gcassistcap",
     .kind = KIND_INT,
     .min = 0,
     .max = 100,
     .unit = "percent of an allocating goroutine's CPU (0: no cap)",
     FIELD(gcassistcap)},
    {.name = "failmmap",
     .kind = KIND_INT,
     .min = 0,
     .max = 1000000000,
     .unit = "(mapping number; 0: off)",
     FIELD(failmmap)},
    {.name = "failthread",
     .kind = KIND_INT,
     .min = 0,
     .max = 1000000,
     .unit = "(thread creation number; 0: off)",
     FIELD(failthread)},
    {.name = "maplimit", .kind = KIND_SIZE, FIELD(maplimit)},
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS == 15,
               "a key was added or removed: update the key list in env.h "
               "and the known-keys message in tests/base/test_env.c");

static const debug_key_t *key_find(const char *s, size_t n) {
  for (size_t i = 0; i < NKEYS; i++)
    if (str_eq_n(s, n, keys[i].name)) return &keys[i];
  return NULL;
}

/* Writes the accepted forms of k ("0 or 1", "0..3600000 milliseconds"). */
static void key_forms(const debug_key_t *k, char *buf, size_t len) {
  if (k->kind == KIND_BOOL)
    hl_snprintf(buf, len, "0 or 1");
  else if (k->kind == KIND_SIZE)
    hl_snprintf(buf, len, "a byte count with an optional unit K, M, G, T, "
                          "KiB, MiB, GiB, TiB; 0: no limit");
  else
    hl_snprintf(buf, len, "%lld..%lld %s", (long long)k->min, (long long)k->max,
                k->unit);
}

static void key_store(const debug_key_t *k, hl_debug_vars_t *v, uint64_t x) {
  char *p = (char *)v + k->offset;
  switch (k->ftype) {
  case FIELD_INT:
    *(int *)p = (int)x; /* in range: bool, or max checked by the table */
    break;
  case FIELD_I64:
    *(int64_t *)p = (int64_t)x; /* the table's max is an int64_t */
    break;
  case FIELD_U64:
    *(uint64_t *)p = x;
    break;
  }
}

/* Writes "unknown key ... (known: a, b, c)" into err. */
static void err_unknown(char *err, size_t errlen, const char *s, size_t n) {
  char known[256];
  size_t pos = 0;
  for (size_t i = 0; i < NKEYS && pos < sizeof known; i++) {
    int w = hl_snprintf(known + pos, sizeof known - pos, "%s%s",
                        i > 0 ? ", " : "", keys[i].name);
    pos += (size_t)w;
  }
  hl_snprintf(err, errlen, "unknown key \"%.*s\" (known: %s)", (int)n, s,
              known);
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return n > 0;
}

/* Parses one item s[0..n) into *v. Returns 0 or -1 with err filled. */
static int parse_item(const char *s, size_t n, size_t at, hl_debug_vars_t *v,
                      char *err, size_t errlen) {
  char forms[96];
  if (n == 0) {
    hl_snprintf(err, errlen,
                "empty setting at offset %zu (expected key=value[,...])", at);
    return -1;
  }
  size_t eq = 0;
  while (eq < n && s[eq] != '=')
    eq++;
  const debug_key_t *k = key_find(s, eq);
  if (k == NULL) {
    err_unknown(err, errlen, s, eq);
    return -1;
  }
  key_forms(k, forms, sizeof forms);
  if (eq == n) {
    hl_snprintf(err, errlen,
                "missing value for %s (expected %s=V, accepted: %s)", k->name,
                k->name, forms);
    return -1;
  }
  const char *val = s + eq + 1;
  size_t vn = n - eq - 1;

  uint64_t x = 0;
  if (k->kind == KIND_BOOL) {
    if (vn != 1 || (val[0] != '0' && val[0] != '1')) goto bad;
    x = (uint64_t)(val[0] - '0');
  } else if (k->kind == KIND_SIZE) {
    if (parse_size_n(val, vn, &x) < 0) goto bad; /* malformed or > 2^64-1 */
  } else {
    int64_t ix;
    if (!all_digits(val, vn)) goto bad;
    if (parse_int_n(val, vn, k->min, k->max, &ix) < 0) {
      hl_snprintf(err, errlen,
                  "value \"%.*s\" out of range for %s (accepted: %s)", (int)vn,
                  val, k->name, forms);
      return -1;
    }
    x = (uint64_t)ix;
  }
  key_store(k, v, x);
  return 0;

bad:
  hl_snprintf(err, errlen, "bad value \"%.*s\" for %s (accepted: %s)", (int)vn,
              val, k->name, forms);
  return -1;
}

int hl_debug_parse(const char *s, hl_debug_vars_t *out, char *err,
                   size_t errlen) {
  if (err != NULL && errlen > 0)
    err[0] = '\0';
  else
    errlen = 0; /* hl_snprintf with len 0 writes nothing */
  if (s == NULL || s[0] == '\0') return 0;

  hl_debug_vars_t v = *out;
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (s[j] != '\0' && s[j] != ',')
      j++;
    if (parse_item(s + i, j - i, i, &v, err, errlen) < 0) return -1;
    if (s[j] == '\0') break;
    i = j + 1; /* past ','; a trailing ',' makes the next item empty */
  }
  *out = v;
  return 0;
}

/* ---- hl_env_init ------------------------------------------------------- */

enum { ENV_UNINIT, ENV_RUNNING, ENV_DONE };
static _Atomic int env_state = ENV_UNINIT;

void hl_env_init(void) {
  /* acquire: pairs with the release store of ENV_DONE below */
  int st = atomic_load_acquire(&env_state);
  if (st == ENV_DONE) return;
  st = ENV_UNINIT;
  if (!atomic_cas_strong_acq_rel(&env_state, &st, ENV_RUNNING)) {
    /* step 2; acquire: pairs with the release store of ENV_DONE */
    while (atomic_load_acquire(&env_state) != ENV_DONE)
      cpu_relax();
    return;
  }

  char err[256];
  hl_debug_vars_t v = hl_debug;
  if (hl_debug_parse(getenv("HLDEBUG"), &v, err, sizeof err) < 0) {
    hl_printf(2, "heaplab: HLDEBUG: %s\n", err); /* step 3 */
    _exit(2);
  }
  hl_debug = v;
  /* release: publishes hl_debug to the acquire loads above */
  atomic_store_release(&env_state, ENV_DONE);
}
