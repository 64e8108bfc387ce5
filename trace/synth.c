/*
 * trace/synth.c — writing traces from given events (trace/synth.h).
 * Each P has a batch buffer of 64 KiB flushed when full and at close.
 */
#include "trace/synth.h"

#include <stdlib.h>
#include <string.h>

#define SYNTH_BATCH (64u << 10)

typedef struct sbuf {
  uint8_t *data;
  uint32_t len, n;
  uint64_t base, last;
} sbuf_t;

struct hlt_synth {
  FILE *f;
  int err;
  sbuf_t bufs[TRACE_MAX_PROCS + 1]; /* 0: global */
  uint64_t nevents, nbatches;
};

static void flush(hlt_synth_t *s, int idx) {
  sbuf_t *b = &s->bufs[idx];
  if (!b->n)
    return;
  uint8_t hdr[1 + 4 * TRACE_VARINT_MAX], *p = hdr;
  *p++ = TRACE_REC_BATCH;
  p = trace_put_uvarint(p, (uint64_t)idx);
  p = trace_put_uvarint(p, b->base);
  p = trace_put_uvarint(p, b->n);
  p = trace_put_uvarint(p, b->len);
  if (fwrite(hdr, 1, (size_t)(p - hdr), s->f) != (size_t)(p - hdr) ||
      fwrite(b->data, 1, b->len, s->f) != b->len)
    s->err = 1;
  s->nevents += b->n;
  s->nbatches++;
  b->len = b->n = 0;
}

hlt_synth_t *hlt_synth_open(const char *path, int nprocs) {
  hlt_synth_t *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->f = fopen(path, "wb");
  if (!s->f) {
    free(s);
    return NULL;
  }
  trace_hdr_t h = {.clock = TRACE_CLOCK_NS,
                   .cal_ticks = 1,
                   .cal_ns = 1,
                   .nprocs = nprocs};
  uint8_t *hdr = malloc(TRACE_HEADER_CAP);
  size_t n = hdr ? trace_header_encode(hdr, TRACE_HEADER_CAP, &h) : 0;
  if (!n || fwrite(hdr, 1, n, s->f) != n)
    s->err = 1;
  free(hdr);
  return s;
}

int hlt_synth_event(hlt_synth_t *s, int32_t pid, uint32_t kind, uint64_t t,
                    const uint64_t *args, const char *const *strs) {
  int idx = pid + 1;
  if (idx < 0 || idx > TRACE_MAX_PROCS || kind == 0 || kind >= TRACE_EV_COUNT_)
    return -1;
  sbuf_t *b = &s->bufs[idx];
  if (!b->data && !(b->data = malloc(SYNTH_BATCH)))
    return -1;
  const trace_evinfo_t *in = &trace_evinfo[kind];
  size_t need = 1 + TRACE_VARINT_MAX * (1 + in->nargs);
  for (int i = 0; i < in->nstr; i++)
    need += TRACE_VARINT_MAX + strnlen(strs[i], TRACE_MAX_STRING);
  if (b->len + need > SYNTH_BATCH)
    flush(s, idx);
  if (b->n == 0)
    b->base = b->last = t;
  if (t < b->last)
    return -1;
  uint8_t *p = b->data + b->len;
  *p++ = (uint8_t)kind;
  p = trace_put_uvarint(p, t - b->last);
  for (int i = 0; i < in->nargs; i++)
    p = trace_put_uvarint(p, args[i]);
  for (int i = 0; i < in->nstr; i++) {
    size_t l = strnlen(strs[i], TRACE_MAX_STRING);
    p = trace_put_uvarint(p, l);
    memcpy(p, strs[i], l);
    p += l;
  }
  b->last = t;
  b->len = (uint32_t)(p - b->data);
  b->n++;
  return s->err ? -1 : 0;
}

int hlt_synth_close(hlt_synth_t *s, uint64_t end_t) {
  for (int i = 0; i <= TRACE_MAX_PROCS; i++) {
    flush(s, i);
    free(s->bufs[i].data);
  }
  uint8_t end[1 + 5 * TRACE_VARINT_MAX], *p = end;
  *p++ = TRACE_REC_END;
  p = trace_put_uvarint(p, end_t);
  p = trace_put_uvarint(p, end_t);
  p = trace_put_uvarint(p, s->nevents);
  p = trace_put_uvarint(p, s->nbatches);
  p = trace_put_uvarint(p, 0);
  if (fwrite(end, 1, (size_t)(p - end), s->f) != (size_t)(p - end))
    s->err = 1;
  if (fclose(s->f) != 0)
    s->err = 1;
  int r = s->err ? -1 : 0;
  free(s);
  return r;
}
