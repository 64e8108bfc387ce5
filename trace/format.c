/*
 * trace/format.c — the tables of trace/format.h: what each event kind
 * carries, and the names of the reasons and modes the trace itself
 * defines (written into every trace's header, so a reader needs no
 * table of its own).
 */
#include "trace/format.h"

#include <string.h>

const trace_evinfo_t trace_evinfo[TRACE_EV_COUNT_] = {
    [TRACE_EV_NONE] = {"none", 0, 0},
#define TRACE_X_(name, na, ns) [TRACE_EV_##name] = {#name, na, ns},
    TRACE_EVENTS(TRACE_X_)
#undef TRACE_X_
};

const char *const trace_stw_names[TRACE_STW_COUNT_] = {
    [TRACE_STW_OTHER] = "other",
    [TRACE_STW_SWEEP_TERM] = "sweep termination",
    [TRACE_STW_MARK_TERM] = "mark termination",
    [TRACE_STW_GC_FORCED] = "forced GC",
    [TRACE_STW_MAXPROCS] = "maxprocs",
    [TRACE_STW_READ_STATS] = "read stats",
};

const char *const trace_mark_names[TRACE_MARK_COUNT_] = {
    [TRACE_MARK_DEDICATED] = "dedicated",
    [TRACE_MARK_FRACTIONAL] = "fractional",
    [TRACE_MARK_IDLE] = "idle",
};

static uint8_t *put_name(uint8_t *p, const char *s) {
  size_t l = s ? strnlen(s, TRACE_MAX_NAME) : 0;
  p = trace_put_uvarint(p, l);
  if (l)
    memcpy(p, s, l);
  return p + l;
}

size_t trace_header_encode(uint8_t *out, size_t cap, const trace_hdr_t *h) {
  /* the body is at most 3 tables of TRACE_MAX_NAMES names plus a few
   * fields: it fits in TRACE_MAX_HEADER */
  _Static_assert(3 * TRACE_MAX_NAMES * (TRACE_MAX_NAME + 2) + 128 <
                     TRACE_MAX_HEADER,
                 "header body bound");
  if (cap < TRACE_HEADER_CAP)
    return 0;
  uint8_t *body = out + TRACE_MAGIC_LEN + 2 + 3; /* room for the length */
  uint8_t *p = body;
  p = trace_put_uvarint(p, (uint64_t)h->clock);
  p = trace_put_uvarint(p, h->tick0);
  p = trace_put_uvarint(p, (uint64_t)h->mono0);
  p = trace_put_uvarint(p, h->cal_ticks);
  p = trace_put_uvarint(p, h->cal_ns);
  p = trace_put_uvarint(p, (uint64_t)h->nprocs);
  p = trace_put_uvarint(p, (uint64_t)h->pid);
  p = trace_put_uvarint(p, 3); /* name tables */
  int nblock = h->nblock > TRACE_MAX_NAMES ? TRACE_MAX_NAMES : h->nblock;
  p = trace_put_uvarint(p, TRACE_NAMES_BLOCK);
  p = trace_put_uvarint(p, (uint64_t)nblock);
  for (int i = 0; i < nblock; i++)
    p = put_name(p, h->block_name((uint32_t)i));
  p = trace_put_uvarint(p, TRACE_NAMES_STW);
  p = trace_put_uvarint(p, TRACE_STW_COUNT_);
  for (int i = 0; i < TRACE_STW_COUNT_; i++)
    p = put_name(p, trace_stw_names[i]);
  p = trace_put_uvarint(p, TRACE_NAMES_MARK);
  p = trace_put_uvarint(p, TRACE_MARK_COUNT_);
  for (int i = 0; i < TRACE_MARK_COUNT_; i++)
    p = put_name(p, trace_mark_names[i]);
  size_t blen = (size_t)(p - body);
  memcpy(out, TRACE_MAGIC, TRACE_MAGIC_LEN); /* with its NUL */
  out[8] = TRACE_VERSION & 0xff;
  out[9] = TRACE_VERSION >> 8;
  /* the length as a 3-byte varint (padded), so the body need not move */
  uint8_t *q = out + TRACE_MAGIC_LEN + 2;
  q[0] = (uint8_t)(blen | 0x80);
  q[1] = (uint8_t)((blen >> 7) | 0x80);
  q[2] = (uint8_t)(blen >> 14);
  return (size_t)(p - out);
}
