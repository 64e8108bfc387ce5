/*
 * trace/reader.c — the streaming trace reader (trace/reader.h).
 *
 * Entry points: hlt_open_file, hlt_open_stream, hlt_open_mem, hlt_next,
 * hlt_error, hlt_header, hlt_end, hlt_close, hlt_name, hlt_ticks_ns.
 *
 * Reading:
 *  1. open: the magic, the version (this reader reads only
 *     TRACE_VERSION: the format has no compatibility rules yet), the
 *     header length (bounded), then the header body, field by field.
 *  2. hlt_next: within a batch, decode the next event from the batch
 *     buffer (every varint and string bounded by the batch's end);
 *     between batches, read a tag: a batch header (checked) and its
 *     payload into the batch buffer, or the end record (its totals checked
 *     against what was read, then end of input required).
 * Input comes through src_*: a FILE with a 64 KiB buffer, or memory. The
 * offset of every error is the offset of the first byte that is wrong (or
 * of the record or event that is incomplete).
 */
#include "trace/reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SRC_BUF (64u << 10)

struct hlt_reader {
  /* input */
  FILE *f;
  bool own_f;
  const uint8_t *mem; /* memory input, or f's buffer */
  size_t memlen, pos; /* bytes in mem, next one */
  uint64_t base_off;  /* file offset of mem[0] */
  bool is_mem;
  uint8_t *fbuf;
  /* state */
  int state; /* 0 reading, 1 ended, -1 failed */
  char err[256];
  hlt_header_t h;
  hlt_end_t end;
  double scale; /* ns per tick */
  /* current batch */
  uint8_t *batch;
  uint32_t blen, bpos, bleft; /* bytes, next byte, events left */
  uint64_t boff;              /* file offset of batch[0] */
  int32_t bp;                 /* its P */
  uint64_t btick;             /* tick of the previous event */
  /* per stream: last tick (stream 0 = global, i+1 = P i) */
  uint64_t last[TRACE_MAX_PROCS + 1];
  uint64_t nevents, nbatches, maxtick;
};

static int fail(hlt_reader_t *r, uint64_t off, const char *fmt, ...) {
  int n = snprintf(r->err, sizeof r->err, "offset %llu: ",
                   (unsigned long long)off);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
  va_end(ap);
  r->state = -1;
  return -1;
}

/* ---- input ---- */

static uint64_t src_off(const hlt_reader_t *r) { return r->base_off + r->pos; }

/* Makes at least n bytes available at mem[pos] if the input has them;
 * returns how many are. */
static size_t src_avail(hlt_reader_t *r, size_t n) {
  if (r->memlen - r->pos >= n || r->is_mem)
    return r->memlen - r->pos;
  size_t keep = r->memlen - r->pos;
  memmove(r->fbuf, r->fbuf + r->pos, keep);
  r->base_off += r->pos;
  r->pos = 0;
  r->memlen = keep;
  while (r->memlen < n) {
    size_t got = fread(r->fbuf + r->memlen, 1, SRC_BUF - r->memlen, r->f);
    if (got == 0)
      break;
    r->memlen += got;
  }
  r->mem = r->fbuf;
  return r->memlen;
}

/* Reads a uvarint: 1, 0 at end of input inside it, -1 malformed. */
static int src_uvarint(hlt_reader_t *r, uint64_t *v) {
  size_t a = src_avail(r, TRACE_VARINT_MAX);
  int k = trace_get_uvarint(r->mem + r->pos, r->mem + r->pos + a, v);
  if (k > 0)
    r->pos += (size_t)k;
  return k > 0 ? 1 : k;
}

/* Copies n bytes out (n may exceed the buffer); false at end of input. */
static bool src_read(hlt_reader_t *r, void *dst, size_t n) {
  uint8_t *d = dst;
  while (n > 0) {
    size_t a = src_avail(r, n < SRC_BUF ? n : SRC_BUF);
    if (a == 0)
      return false;
    size_t k = a < n ? a : n;
    memcpy(d, r->mem + r->pos, k);
    r->pos += k;
    d += k;
    n -= k;
  }
  return true;
}

/* ---- header ---- */

/* Field reader over the header body in memory. */
typedef struct hcur {
  const uint8_t *p, *end;
  uint64_t off; /* file offset of p */
} hcur_t;

static int hget(hlt_reader_t *r, hcur_t *c, const char *what, uint64_t min,
                uint64_t max, uint64_t *out) {
  uint64_t v;
  int k = trace_get_uvarint(c->p, c->end, &v);
  if (k == 0)
    return fail(r, c->off, "header ends inside field %s", what);
  if (k < 0)
    return fail(r, c->off, "header field %s: malformed varint", what);
  if (v < min || v > max)
    return fail(r, c->off, "header field %s = %llu out of range %llu..%llu",
                what, (unsigned long long)v, (unsigned long long)min,
                (unsigned long long)max);
  c->p += k;
  c->off += (uint64_t)k;
  *out = v;
  return 0;
}

static int header_parse(hlt_reader_t *r, hcur_t *c) {
  hlt_header_t *h = &r->h;
  uint64_t v;
  if (hget(r, c, "clock", TRACE_CLOCK_NS, TRACE_CLOCK_CNTVCT, &v))
    return -1;
  h->clock = (int)v;
  if (hget(r, c, "tick0", 0, UINT64_MAX, &h->tick0) ||
      hget(r, c, "mono0", 0, INT64_MAX, &v))
    return -1;
  h->mono0 = (int64_t)v;
  if (hget(r, c, "cal_ticks", 1, UINT64_MAX, &h->cal_ticks) ||
      hget(r, c, "cal_ns", 1, UINT64_MAX, &h->cal_ns) ||
      hget(r, c, "nprocs", 1, TRACE_MAX_PROCS, &v))
    return -1;
  h->nprocs = (int)v;
  if (hget(r, c, "pid", 0, INT64_MAX, &v))
    return -1;
  h->pid = (int64_t)v;
  uint64_t ntab;
  if (hget(r, c, "name table count", 0, TRACE_NAMES_COUNT_ - 1, &ntab))
    return -1;
  for (uint64_t t = 0; t < ntab; t++) {
    uint64_t id, n;
    if (hget(r, c, "name table id", 1, TRACE_NAMES_COUNT_ - 1, &id))
      return -1;
    if (h->nnames[id])
      return fail(r, c->off, "name table %llu given twice",
                  (unsigned long long)id);
    if (hget(r, c, "name count", 0, TRACE_MAX_NAMES, &n))
      return -1;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t l;
      uint64_t off = c->off;
      if (hget(r, c, "name length", 0, TRACE_MAX_NAME, &l))
        return -1;
      if ((uint64_t)(c->end - c->p) < l)
        return fail(r, off, "header ends inside a name");
      memcpy(h->names[id][i], c->p, l);
      h->names[id][i][l] = 0;
      c->p += l;
      c->off += l;
    }
    h->nnames[id] = (int)n;
  }
  /* later fields of this version's header (none yet) are skipped */
  return 0;
}

static hlt_reader_t *open_common(hlt_reader_t *r, char *err, size_t errlen) {
  uint8_t magic[10];
  uint64_t hlen;
  uint8_t *body = NULL;
  if (!src_read(r, magic, 10)) {
    fail(r, 0, "truncated: %llu bytes, shorter than a trace header",
         (unsigned long long)src_off(r));
    goto bad;
  }
  if (memcmp(magic, TRACE_MAGIC, TRACE_MAGIC_LEN) != 0) {
    fail(r, 0, "not a heaplab trace (no \"HLTRACE\" magic)");
    goto bad;
  }
  r->h.version = magic[8] | magic[9] << 8;
  if (r->h.version != TRACE_VERSION) {
    fail(r, 8, "unsupported trace version %d (this reader reads version %d)",
         r->h.version, TRACE_VERSION);
    goto bad;
  }
  uint64_t off = src_off(r);
  int k = src_uvarint(r, &hlen);
  if (k <= 0 || hlen > TRACE_MAX_HEADER) {
    fail(r, off, k == 0 ? "truncated header" : "bad header length");
    goto bad;
  }
  body = malloc(hlen ? hlen : 1);
  if (!body) {
    fail(r, off, "out of memory");
    goto bad;
  }
  uint64_t boff = src_off(r);
  if (!src_read(r, body, hlen)) {
    fail(r, boff, "truncated header (%llu bytes announced)",
         (unsigned long long)hlen);
    goto bad;
  }
  hcur_t c = {body, body + hlen, boff};
  if (header_parse(r, &c))
    goto bad;
  free(body);
  body = NULL;
  r->scale = (double)r->h.cal_ns / (double)r->h.cal_ticks;
  for (int i = 0; i <= TRACE_MAX_PROCS; i++)
    r->last[i] = r->h.tick0;
  r->maxtick = r->h.tick0;
  return r;
bad:
  snprintf(err, errlen, "%s", r->err);
  free(body);
  hlt_close(r);
  return NULL;
}

static hlt_reader_t *reader_new(void) {
  hlt_reader_t *r = calloc(1, sizeof *r);
  if (r)
    r->batch = malloc(TRACE_MAX_BATCH);
  if (r && !r->batch) {
    free(r);
    r = NULL;
  }
  return r;
}

hlt_reader_t *hlt_open_stream(FILE *f, char *err, size_t errlen) {
  hlt_reader_t *r = reader_new();
  if (r)
    r->fbuf = malloc(SRC_BUF);
  if (!r || !r->fbuf) {
    hlt_close(r);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->f = f;
  r->mem = r->fbuf;
  return open_common(r, err, errlen);
}

hlt_reader_t *hlt_open_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open: %s", strerror(errno));
    return NULL;
  }
  hlt_reader_t *r = hlt_open_stream(f, err, errlen);
  if (!r) {
    fclose(f);
    return NULL;
  }
  r->own_f = true;
  return r;
}

hlt_reader_t *hlt_open_mem(const void *buf, size_t len, char *err,
                           size_t errlen) {
  hlt_reader_t *r = reader_new();
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->is_mem = true;
  r->mem = buf;
  r->memlen = len;
  return open_common(r, err, errlen);
}

void hlt_close(hlt_reader_t *r) {
  if (!r)
    return;
  if (r->own_f)
    fclose(r->f);
  free(r->fbuf);
  free(r->batch);
  free(r);
}

const char *hlt_error(const hlt_reader_t *r) { return r->err; }
const hlt_header_t *hlt_header(const hlt_reader_t *r) { return &r->h; }
const hlt_end_t *hlt_end(const hlt_reader_t *r) { return &r->end; }

const char *hlt_name(const hlt_header_t *h, int t, uint64_t i) {
  if (t <= 0 || t >= TRACE_NAMES_COUNT_ || i >= (uint64_t)h->nnames[t])
    return "?";
  return h->names[t][i];
}

int64_t hlt_ticks_ns(const hlt_header_t *h, uint64_t tick) {
  if (tick <= h->tick0)
    return 0;
  return (int64_t)((double)(tick - h->tick0) * (double)h->cal_ns /
                   (double)h->cal_ticks);
}

/* ---- records ---- */

static int rget(hlt_reader_t *r, uint64_t roff, const char *rec,
                const char *what, uint64_t *v) {
  int k = src_uvarint(r, v);
  if (k == 0)
    return fail(r, roff, "truncated %s record (ends inside %s)", rec, what);
  if (k < 0)
    return fail(r, src_off(r), "%s record: malformed varint in %s", rec, what);
  return 0;
}

static int read_batch(hlt_reader_t *r, uint64_t roff) {
  uint64_t p1, base, n, len;
  if (rget(r, roff, "batch", "the P id", &p1) ||
      rget(r, roff, "batch", "the base tick", &base) ||
      rget(r, roff, "batch", "the event count", &n) ||
      rget(r, roff, "batch", "the length", &len))
    return -1;
  if (p1 > TRACE_MAX_PROCS)
    return fail(r, roff, "batch of P %lld: P ids are 0..%d",
                (long long)p1 - 1, TRACE_MAX_PROCS - 1);
  if (len > TRACE_MAX_BATCH)
    return fail(r, roff, "batch of %llu bytes: at most %u",
                (unsigned long long)len, TRACE_MAX_BATCH);
  if (n == 0 || n * 2 > len)
    return fail(r, roff, "batch of %llu bytes cannot hold %llu events",
                (unsigned long long)len, (unsigned long long)n);
  if (base < r->last[p1])
    return fail(r, roff,
                "batch of P %lld starts at tick %llu, before the previous "
                "event of that P (tick %llu)",
                (long long)p1 - 1, (unsigned long long)base,
                (unsigned long long)r->last[p1]);
  r->boff = src_off(r);
  if (!src_read(r, r->batch, len))
    return fail(r, roff, "truncated batch (%llu bytes announced, file ends "
                         "at offset %llu)",
                (unsigned long long)len, (unsigned long long)src_off(r));
  r->blen = (uint32_t)len;
  r->bpos = 0;
  r->bleft = (uint32_t)n;
  r->bp = (int32_t)p1 - 1;
  r->btick = base;
  r->nbatches++;
  return 0;
}

static int read_end(hlt_reader_t *r, uint64_t roff) {
  uint64_t tick, mono, n, nb, lost;
  if (rget(r, roff, "end", "the tick", &tick) ||
      rget(r, roff, "end", "the clock", &mono) ||
      rget(r, roff, "end", "the event count", &n) ||
      rget(r, roff, "end", "the batch count", &nb) ||
      rget(r, roff, "end", "the lost count", &lost))
    return -1;
  if (n != r->nevents || nb != r->nbatches)
    return fail(r, roff,
                "end record counts %llu events in %llu batches, the file "
                "has %llu in %llu (events missing or added)",
                (unsigned long long)n, (unsigned long long)nb,
                (unsigned long long)r->nevents,
                (unsigned long long)r->nbatches);
  if (mono > INT64_MAX || (int64_t)mono < r->h.mono0)
    return fail(r, roff, "end record's clock is before the trace start");
  if (src_avail(r, 1) > 0)
    return fail(r, src_off(r), "data after the end record");
  r->end.tick = tick > r->maxtick ? tick : r->maxtick;
  r->end.ts = hlt_ticks_ns(&r->h, r->end.tick);
  r->end.mono = (int64_t)mono;
  r->end.nevents = n;
  r->end.nbatches = nb;
  r->end.nlost = lost;
  r->state = 1;
  return 0;
}

/* Checks an event's arguments against the header's tables. */
static int check_args(hlt_reader_t *r, uint64_t off, const hlt_event_t *ev) {
  const hlt_header_t *h = &r->h;
  switch (ev->kind) {
  case TRACE_EV_PROCS:
    if (ev->args[0] < 1 || ev->args[0] > TRACE_MAX_PROCS)
      return fail(r, off, "PROCS %llu: the P count is 1..%d",
                  (unsigned long long)ev->args[0], TRACE_MAX_PROCS);
    break;
  case TRACE_EV_GO_BLOCK:
    if (h->nnames[TRACE_NAMES_BLOCK] &&
        ev->args[1] >= (uint64_t)h->nnames[TRACE_NAMES_BLOCK])
      return fail(r, off, "GO_BLOCK reason %llu: the trace names %d reasons",
                  (unsigned long long)ev->args[1],
                  h->nnames[TRACE_NAMES_BLOCK]);
    break;
  case TRACE_EV_STW_START:
    if (ev->args[0] >= (uint64_t)h->nnames[TRACE_NAMES_STW])
      return fail(r, off, "STW_START reason %llu: the trace names %d reasons",
                  (unsigned long long)ev->args[0], h->nnames[TRACE_NAMES_STW]);
    break;
  case TRACE_EV_MARK_START:
    if (ev->args[0] >= (uint64_t)h->nnames[TRACE_NAMES_MARK])
      return fail(r, off, "MARK_START mode %llu: the trace names %d modes",
                  (unsigned long long)ev->args[0],
                  h->nnames[TRACE_NAMES_MARK]);
    break;
  default:
    break;
  }
  return 0;
}

static int decode_event(hlt_reader_t *r, hlt_event_t *ev) {
  const uint8_t *b = r->batch, *end = r->batch + r->blen;
  const uint8_t *p = b + r->bpos;
  uint64_t off = r->boff + r->bpos;
  if (p >= end)
    return fail(r, off, "batch ends with %u of its events missing",
                r->bleft);
  uint32_t kind = *p++;
  if (kind == TRACE_EV_NONE || kind >= TRACE_EV_COUNT_)
    return fail(r, off, "unknown event kind %u", kind);
  const trace_evinfo_t *info = &trace_evinfo[kind];
  uint64_t delta;
  int k = trace_get_uvarint(p, end, &delta);
  if (k <= 0)
    return fail(r, off, "%s event: %s tick delta", info->name,
                k ? "malformed" : "batch ends inside its");
  p += k;
  if (r->btick + delta < r->btick)
    return fail(r, off, "%s event: tick overflows", info->name);
  ev->kind = kind;
  ev->p = r->bp;
  ev->tick = r->btick + delta;
  ev->offset = off;
  for (int i = 0; i < info->nargs; i++) {
    k = trace_get_uvarint(p, end, &ev->args[i]);
    if (k <= 0)
      return fail(r, off, "%s event: %s argument %d", info->name,
                  k ? "malformed" : "batch ends inside", i + 1);
    p += k;
  }
  for (int i = info->nargs; i < TRACE_MAX_ARGS; i++)
    ev->args[i] = 0;
  for (int i = 0; i < TRACE_MAX_STRS; i++) {
    ev->str[i] = "";
    ev->slen[i] = 0;
  }
  for (int i = 0; i < info->nstr; i++) {
    uint64_t l;
    k = trace_get_uvarint(p, end, &l);
    if (k <= 0)
      return fail(r, off, "%s event: %s string length", info->name,
                  k ? "malformed" : "batch ends inside a");
    p += k;
    if (l > TRACE_MAX_STRING || l > (uint64_t)(end - p))
      return fail(r, off, "%s event: string of %llu bytes overruns the batch "
                          "or the %d-byte limit",
                  info->name, (unsigned long long)l, TRACE_MAX_STRING);
    ev->str[i] = (const char *)p;
    ev->slen[i] = (uint32_t)l;
    p += l;
  }
  if (check_args(r, off, ev))
    return -1;
  r->btick = ev->tick;
  r->bpos = (uint32_t)(p - b);
  r->bleft--;
  if (r->bleft == 0) {
    if (r->bpos != r->blen)
      return fail(r, r->boff + r->bpos,
                  "%u bytes after the batch's last event",
                  r->blen - r->bpos);
    r->last[r->bp + 1] = r->btick;
    if (r->btick > r->maxtick)
      r->maxtick = r->btick;
  }
  ev->ts = (int64_t)((double)(ev->tick - r->h.tick0) * r->scale);
  r->nevents++;
  return 1;
}

int hlt_next(hlt_reader_t *r, hlt_event_t *ev) {
  if (r->state != 0)
    return r->state > 0 ? 0 : -1;
  while (r->bleft == 0) {
    uint64_t roff = src_off(r);
    uint8_t tag;
    if (!src_read(r, &tag, 1))
      return fail(r, roff, "truncated: the file ends without an end record "
                           "(the trace was not stopped, or the file was cut)");
    if (tag == TRACE_REC_BATCH) {
      if (read_batch(r, roff))
        return -1;
    } else if (tag == TRACE_REC_END) {
      return read_end(r, roff) ? -1 : 0;
    } else {
      return fail(r, roff, "unknown record tag 0x%02x", tag);
    }
  }
  return decode_event(r, ev);
}
