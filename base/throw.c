/*
 * base/throw.c — fatal errors and an allocation-free printf.
 *
 * What it is for: the one way heaplab reports a broken invariant or an API
 * misuse, and the only printing it does from inside malloc, signal handlers
 * and broken heaps. Nothing here allocates, locks or touches stdio: text is
 * formatted into caller or stack buffers and written with write(2).
 *
 * Entry points (base/throw.h):
 *   hl_vsnprintf, hl_snprintf  format into a caller buffer
 *   hl_printf(fd, ...)         format into a 1 KiB stack buffer, write(2) it
 *   hl_throw, hl_throwf        "fatal error: msg", stats hook, dump hook, abort
 *   hl_misuse                  "heaplab: msg", abort
 *   hl_throw_hook, hl_throw_stats_hook   set by higher layers at start-up
 *
 * Formatter. Conversions: %s %c %d %i %u %x %X %p %%, length modifiers
 * hh h l ll z j t, flags '-' (left-justify) and '0' (zero pad), a width
 * (digits or '*') and a precision ('.' then digits or '*'; for %s the
 * maximum number of bytes taken, so "%.*s" prints a slice of a string; for
 * integers the minimum number of digits, as in C). Beyond C: %s of NULL
 * prints "(null)", %p prints "0x" and lowercase hex (NULL is "0x0"), and an
 * unknown conversion is copied to the output verbatim. The return value is
 * what C's snprintf returns: the length the whole output would have had
 * (clamped to INT_MAX); at most len-1 bytes plus a NUL are stored.
 *
 * Throw protocol (hl_throw / hl_throwf):
 *   1. Print "fatal error: <msg>\n" with one write(2), always first, so the
 *      message survives whatever the hooks do.
 *   2. Claim the thrower slot: CAS `thrower` from 0 to this thread's id.
 *   3. Lost to this same thread (a hook, or a signal handler on this
 *      thread, threw again): print "fatal error: throw while throwing\n"
 *      and abort without running any hook again.
 *   4. Lost to another thread: that thread is printing its dump; wait for
 *      it to abort the process (bounded: THROW_WAIT_NS, so a hook that
 *      hangs cannot hang us as well), then abort.
 *   5. Won: run hl_throw_stats_hook, then hl_throw_hook (each if non-NULL),
 *      then abort().
 * Rejected: a thread-local "throwing" flag (a _Thread_local in a library
 * preloaded as malloc may need __tls_get_addr, which can allocate) and
 * aborting at once when a second thread throws (it would cut the first
 * thread's goroutine dump in half).
 */
#include "base/throw.h"
#include "base/atomic.h"
#include "base/os.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

void (*hl_throw_hook)(void) = NULL;
void (*hl_throw_stats_hook)(void) = NULL;

/* Size of the stack buffer of hl_printf and of one fatal message line. */
#define PRINT_BUF 1024
/* How long a second thrower waits for the first one to abort. */
#define THROW_WAIT_NS ((int64_t)10 * 1000 * 1000 * 1000)
#define THROW_POLL_NS ((int64_t)10 * 1000 * 1000)

/* ---- formatter --------------------------------------------------------- */

/* Output cursor. pos counts every byte produced, stored or not; bytes at
 * pos >= len-1 are dropped (the last byte is kept for the NUL). */
typedef struct out {
  char *buf;
  size_t len;
  size_t pos;
} out_t;

static inline void out_char(out_t *o, char c) {
  if (o->pos + 1 < o->len) o->buf[o->pos] = c;
  o->pos++;
}

static void out_bytes(out_t *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    out_char(o, s[i]);
}

/* n copies of c; past the end of the buffer only the count moves, so a
 * huge width costs nothing. */
static void out_pad(out_t *o, char c, size_t n) {
  while (n > 0 && o->pos + 1 < o->len) {
    o->buf[o->pos++] = c;
    n--;
  }
  o->pos += n;
}

typedef struct spec {
  bool left; /* '-' */
  bool zero; /* '0' */
  size_t width;
  int prec; /* -1: none */
} spec_t;

static void fmt_str(out_t *o, const spec_t *sp, const char *s) {
  if (s == NULL) s = "(null)";
  size_t n = 0;
  while (s[n] != '\0' && (sp->prec < 0 || n < (size_t)sp->prec))
    n++;
  size_t pad = sp->width > n ? sp->width - n : 0;
  if (!sp->left) out_pad(o, ' ', pad);
  out_bytes(o, s, n);
  if (sp->left) out_pad(o, ' ', pad);
}

/* Prints [-][prefix]digits of mag in base (10 or 16). */
static void fmt_num(out_t *o, const spec_t *sp, unsigned long long mag,
                    bool neg, unsigned base, bool upper, const char *prefix) {
  const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[24]; /* 2^64-1 has 20 decimal digits */
  size_t nd = 0;
  if (!(mag == 0 && sp->prec == 0)) { /* C: %.0d of 0 prints no digits */
    do {
      tmp[nd++] = digs[mag % base];
      mag /= base;
    } while (mag != 0);
  }
  size_t prec = sp->prec > 0 ? (size_t)sp->prec : 0;
  size_t body = nd > prec ? nd : prec;
  size_t plen = 0;
  while (prefix != NULL && prefix[plen] != '\0')
    plen++;
  size_t total = (neg ? 1 : 0) + plen + body;
  size_t pad = sp->width > total ? sp->width - total : 0;
  bool zeropad = sp->zero && !sp->left && sp->prec < 0;

  if (!sp->left && !zeropad) out_pad(o, ' ', pad);
  if (neg) out_char(o, '-');
  out_bytes(o, prefix, plen);
  if (zeropad) out_pad(o, '0', pad);
  out_pad(o, '0', body - nd);
  while (nd > 0)
    out_char(o, tmp[--nd]);
  if (sp->left) out_pad(o, ' ', pad);
}

enum { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

static long long arg_signed(va_list *ap, int lenmod) {
  switch (lenmod) {
  case LEN_HH:
    return (signed char)va_arg(*ap, int);
  case LEN_H:
    return (short)va_arg(*ap, int);
  case LEN_L:
    return va_arg(*ap, long);
  case LEN_LL:
    return va_arg(*ap, long long);
  case LEN_Z:
    return va_arg(*ap, ssize_t);
  case LEN_J:
    return va_arg(*ap, intmax_t);
  case LEN_T:
    return va_arg(*ap, ptrdiff_t);
  default:
    return va_arg(*ap, int);
  }
}

static unsigned long long arg_unsigned(va_list *ap, int lenmod) {
  switch (lenmod) {
  case LEN_HH:
    return (unsigned char)va_arg(*ap, unsigned);
  case LEN_H:
    return (unsigned short)va_arg(*ap, unsigned);
  case LEN_L:
    return va_arg(*ap, unsigned long);
  case LEN_LL:
    return va_arg(*ap, unsigned long long);
  case LEN_Z:
    return va_arg(*ap, size_t);
  case LEN_J:
    return va_arg(*ap, uintmax_t);
  case LEN_T:
    return (unsigned long long)va_arg(*ap, ptrdiff_t);
  default:
    return va_arg(*ap, unsigned);
  }
}

/* Reads digits or '*' at *fp; saturates instead of overflowing. */
static int parse_count(const char **fp, va_list *ap) {
  const char *f = *fp;
  if (*f == '*') {
    *fp = f + 1;
    return va_arg(*ap, int);
  }
  int n = 0;
  while (*f >= '0' && *f <= '9') {
    n = n > (INT_MAX - 9) / 10 ? INT_MAX : n * 10 + (*f - '0');
    f++;
  }
  *fp = f;
  return n;
}

int hl_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap0) {
  out_t o = {.buf = buf, .len = len, .pos = 0};
  va_list ap;
  va_copy(ap, ap0);

  for (const char *f = fmt; *f != '\0'; f++) {
    if (*f != '%') {
      out_char(&o, *f);
      continue;
    }
    const char *start = f++;
    spec_t sp = {.left = false, .zero = false, .width = 0, .prec = -1};
    for (;; f++) {
      if (*f == '-')
        sp.left = true;
      else if (*f == '0')
        sp.zero = true;
      else
        break;
    }
    int w = parse_count(&f, &ap);
    if (w < 0) { /* C: a negative '*' width means '-' */
      sp.left = true;
      w = w == INT_MIN ? INT_MAX : -w;
    }
    sp.width = (size_t)w;
    if (*f == '.') {
      f++;
      int p = parse_count(&f, &ap);
      sp.prec = p < 0 ? -1 : p; /* C: a negative '*' precision is none */
    }
    int lenmod = LEN_NONE;
    switch (*f) {
    case 'h':
      lenmod = f[1] == 'h' ? LEN_HH : LEN_H;
      f += lenmod == LEN_HH ? 2 : 1;
      break;
    case 'l':
      lenmod = f[1] == 'l' ? LEN_LL : LEN_L;
      f += lenmod == LEN_LL ? 2 : 1;
      break;
    case 'z':
      lenmod = LEN_Z;
      f++;
      break;
    case 'j':
      lenmod = LEN_J;
      f++;
      break;
    case 't':
      lenmod = LEN_T;
      f++;
      break;
    default:
      break;
    }

    switch (*f) {
    case 'd':
    case 'i': {
      long long v = arg_signed(&ap, lenmod);
      /* -(v+1)+1 computes |v| without overflowing on LLONG_MIN */
      unsigned long long mag =
          v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
      fmt_num(&o, &sp, mag, v < 0, 10, false, NULL);
      break;
    }
    case 'u':
      fmt_num(&o, &sp, arg_unsigned(&ap, lenmod), false, 10, false, NULL);
      break;
    case 'x':
    case 'X':
      fmt_num(&o, &sp, arg_unsigned(&ap, lenmod), false, 16, *f == 'X', NULL);
      break;
    case 'p':
      fmt_num(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, "0x");
      break;
    case 's':
      fmt_str(&o, &sp, va_arg(ap, const char *));
      break;
    case 'c': {
      char c = (char)va_arg(ap, int);
      size_t pad = sp.width > 1 ? sp.width - 1 : 0;
      if (!sp.left) out_pad(&o, ' ', pad);
      out_char(&o, c);
      if (sp.left) out_pad(&o, ' ', pad);
      break;
    }
    case '%':
      out_char(&o, '%');
      break;
    case '\0': /* a lone '%' (and flags) at the end: copy it, stop */
      out_bytes(&o, start, (size_t)(f - start));
      f--;
      break;
    default: /* unknown conversion: copy it verbatim */
      out_bytes(&o, start, (size_t)(f - start) + 1);
      break;
    }
  }
  va_end(ap);

  if (len > 0) buf[o.pos < len ? o.pos : len - 1] = '\0';
  return o.pos > INT_MAX ? INT_MAX : (int)o.pos;
}

int hl_snprintf(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = hl_vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return n;
}

/* ---- output ------------------------------------------------------------ */

/* Writes all n bytes, retrying partial writes and EINTR. Returns n, or -1
 * when write fails otherwise (the bytes before the failure are written).
 * Leaves errno as it found it, so callers in signal handlers and in malloc
 * need not save it. */
static int write_all(int fd, const char *p, size_t n) {
  int saved = errno;
  size_t done = 0;
  int rc = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      rc = -1;
      break;
    }
    if (w == 0) { /* should not happen for n > 0; do not spin */
      rc = -1;
      break;
    }
    done += (size_t)w;
  }
  errno = saved;
  return rc < 0 ? -1 : (int)done;
}

/* Returns the number of bytes written (output longer than PRINT_BUF-1
 * bytes is truncated to PRINT_BUF-1) or -1 if write(2) failed. */
int hl_printf(int fd, const char *fmt, ...) {
  char buf[PRINT_BUF];
  va_list ap;
  va_start(ap, fmt);
  int n = hl_vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
  return write_all(fd, buf, len);
}

/* Writes prefix + formatted message + "\n" to fd 2 in one write. A message
 * too long for the line buffer is cut, but the newline is always kept. */
static void write_line(const char *prefix, const char *fmt, va_list ap) {
  char buf[PRINT_BUF];
  size_t p = 0;
  while (prefix[p] != '\0' && p < sizeof buf / 2) {
    buf[p] = prefix[p];
    p++;
  }
  /* room for message + NUL, keeping one byte for the '\n' */
  size_t room = sizeof buf - p - 1;
  int n = hl_vsnprintf(buf + p, room, fmt, ap);
  size_t m = (size_t)n < room ? (size_t)n : room - 1;
  buf[p + m] = '\n';
  write_all(2, buf, p + m + 1);
}

__attribute__((format(printf, 2, 3))) static void
write_linef(const char *prefix, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_line(prefix, fmt, ap);
  va_end(ap);
}

/* ---- throw ------------------------------------------------------------- */

/* Thread id of the thread running the throw hooks, 0 if none. Written once
 * per process (the CAS in throw_tail); read by later throwers. */
static _Atomic int thrower = 0;

/* Steps 2-5 of the throw protocol; the message is already printed. */
__attribute__((noreturn)) static void throw_tail(void) {
  int me = os_gettid();
  int prev = 0;
  /* acq_rel, though no data is handed over: the CAS only elects the one
   * thread that runs the hooks. */
  if (!atomic_cas_strong_acq_rel(&thrower, &prev, me)) {
    if (prev == me) { /* step 3 */
      write_linef("fatal error: ", "%s", "throw while throwing");
      abort();
    }
    /* step 4: the other thread aborts the process when its hooks are done */
    for (int64_t waited = 0; waited < THROW_WAIT_NS; waited += THROW_POLL_NS)
      os_nanosleep(THROW_POLL_NS);
    abort();
  }

  if (hl_throw_stats_hook != NULL) /* step 5 */
    hl_throw_stats_hook();
  if (hl_throw_hook != NULL) hl_throw_hook();
  abort();
}

void hl_throw(const char *msg) {
  write_linef("fatal error: ", "%s", msg); /* step 1 */
  throw_tail();
}

void hl_throwf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_line("fatal error: ", fmt, ap); /* step 1 */
  va_end(ap);
  throw_tail();
}

void hl_misuse(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_line("heaplab: ", fmt, ap);
  va_end(ap);
  abort();
}
