/*
 * trace/export.c — Chrome trace-event JSON (opens in Perfetto and
 * chrome://tracing), written while reading, so memory stays small.
 *
 * Tracks (pid 1, one tid each): "P<i>" (tid 2i+10) holds goroutine slices
 * — a slice runs from GO_START to the next GO_START, GO_BLOCK, GO_YIELD,
 * GO_END, GO_SYSCALL or PROC_STOP of that P; "P<i> GC" (tid 2i+11) holds
 * mark worker (args.mode: dedicated, fractional or idle), assist and
 * sweep slices; "GC" (tid 1) holds cycles and
 * stop-the-world pauses (begin/end events, which need not pair within one
 * P's stream); "no P" (tid 2) the global buffer's instants. Heap counters
 * are "C" events; regions async slices (id = goroutine), logs instants.
 */
#include "trace/analysis.h"

#include <stdbool.h>
#include <string.h>

typedef struct xstate {
  int64_t gstart; /* running goroutine's start ts, -1: none */
  uint64_t goid;
  int64_t wstart[3];
  uint64_t wmode; /* the running mark worker's mode (TRACE_NAMES_MARK) */
  bool named;
} xstate_t;

static void json_str(FILE *out, const char *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(out, "\\u%04x", c); /* bytes, not UTF-8: keep JSON valid */
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static void us(FILE *out, int64_t ns) {
  fprintf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

/* A complete slice's fields up to its duration; the caller closes it. */
static void slice_open(FILE *out, int tid, const char *name, int64_t t0,
                       int64_t t1) {
  fprintf(out, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"name\":\"%s\",\"ts\":",
          tid, name);
  us(out, t0);
  fputs(",\"dur\":", out);
  us(out, t1 > t0 ? t1 - t0 : 0);
}

static void slice(FILE *out, int tid, const char *name, int64_t t0, int64_t t1,
                  const char *argk, uint64_t argv) {
  slice_open(out, tid, name, t0, t1);
  if (argk)
    fprintf(out, ",\"args\":{\"%s\":%llu}", argk, (unsigned long long)argv);
  fputc('}', out);
}

/* A mark worker's slice, with its mode (dedicated, fractional, idle). */
static void mslice(FILE *out, int tid, const char *mode, int64_t t0,
                   int64_t t1) {
  slice_open(out, tid, "mark worker", t0, t1);
  fputs(",\"args\":{\"mode\":", out);
  json_str(out, mode, strlen(mode));
  fputs("}}", out);
}

static void gslice(FILE *out, int tid, xstate_t *x, int64_t t) {
  if (x->gstart < 0)
    return;
  char name[32];
  snprintf(name, sizeof name, "G%llu", (unsigned long long)x->goid);
  slice(out, tid, name, x->gstart, t, "goid", x->goid);
  x->gstart = -1;
}

static void instant(FILE *out, int tid, const char *name, int64_t t) {
  fprintf(out, ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,"
               "\"name\":\"%s\",\"ts\":",
          tid, name);
  us(out, t);
  fputc('}', out);
}

static void track_name(FILE *out, int tid, const char *name) {
  fprintf(out, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
               "\"args\":{\"name\":\"%s\"}}",
          tid, name);
  fprintf(out, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
               "\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
          tid, tid);
}

int hlt_export_perfetto(hlt_reader_t *r, FILE *out, char *err, size_t errlen) {
  static xstate_t xs[TRACE_MAX_PROCS + 1];
  for (int i = 0; i <= TRACE_MAX_PROCS; i++)
    xs[i] = (xstate_t){-1, 0, {-1, -1, -1}, 0, false};
  const hlt_header_t *h = hlt_header(r);
  fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
        "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\","
        "\"args\":{\"name\":\"heaplab\"}}",
        out);
  track_name(out, 1, "GC");
  track_name(out, 2, "no P");
  static const char *wname[3] = {"mark worker", "assist", "sweep"};
  hlt_event_t ev;
  int k;
  int64_t last = 0;
  while ((k = hlt_next(r, &ev)) > 0) {
    xstate_t *x = &xs[ev.p + 1];
    int tid = ev.p < 0 ? 2 : 2 * ev.p + 10, gtid = ev.p < 0 ? 2 : tid + 1;
    if (ev.ts > last)
      last = ev.ts;
    if (ev.p >= 0 && !x->named) {
      char n[32];
      x->named = true;
      snprintf(n, sizeof n, "P%d", ev.p);
      track_name(out, tid, n);
      snprintf(n, sizeof n, "P%d GC", ev.p);
      track_name(out, gtid, n);
    }
    int w = -1;
    bool wstart = false;
    switch (ev.kind) {
    case TRACE_EV_GO_START:
      gslice(out, tid, x, ev.ts);
      if (ev.p >= 0) {
        x->gstart = ev.ts;
        x->goid = ev.args[0];
      }
      break;
    case TRACE_EV_GO_BLOCK:
    case TRACE_EV_GO_YIELD:
    case TRACE_EV_GO_END:
    case TRACE_EV_GO_SYSCALL:
    case TRACE_EV_PROC_STOP:
      gslice(out, tid, x, ev.ts);
      if (ev.kind == TRACE_EV_GO_SYSCALL)
        instant(out, tid, "syscall", ev.ts);
      break;
    case TRACE_EV_GC_START:
    case TRACE_EV_GC_END:
    case TRACE_EV_STW_START:
    case TRACE_EV_STW_END: {
      bool b = ev.kind == TRACE_EV_GC_START || ev.kind == TRACE_EV_STW_START;
      bool gc = ev.kind == TRACE_EV_GC_START || ev.kind == TRACE_EV_GC_END;
      fprintf(out, ",\n{\"ph\":\"%s\",\"pid\":1,\"tid\":1,\"cat\":\"gc\","
                   "\"id\":%d,\"name\":\"%s\",\"ts\":",
              b ? "b" : "e", gc ? 1 : 2, gc ? "GC cycle" : "STW");
      us(out, ev.ts);
      if (ev.kind == TRACE_EV_STW_START)
        fprintf(out, ",\"args\":{\"reason\":\"%s\"}",
                hlt_name(h, TRACE_NAMES_STW, ev.args[0]));
      fputc('}', out);
      break;
    }
    case TRACE_EV_MARK_START:
      w = 0;
      wstart = true;
      x->wmode = ev.args[0];
      break;
    case TRACE_EV_MARK_END: w = 0; break;
    case TRACE_EV_ASSIST_START: w = 1; wstart = true; break;
    case TRACE_EV_ASSIST_END: w = 1; break;
    case TRACE_EV_SWEEP_START: w = 2; wstart = true; break;
    case TRACE_EV_SWEEP_END: w = 2; break;
    case TRACE_EV_HEAP_LIVE:
    case TRACE_EV_HEAP_GOAL:
    case TRACE_EV_HEAP_RSS:
      fprintf(out, ",\n{\"ph\":\"C\",\"pid\":1,\"name\":\"heap\",\"ts\":");
      us(out, ev.ts);
      fprintf(out, ",\"args\":{\"%s\":%llu}}",
              ev.kind == TRACE_EV_HEAP_LIVE   ? "live"
              : ev.kind == TRACE_EV_HEAP_GOAL ? "goal"
                                              : "rss",
              (unsigned long long)ev.args[0]);
      break;
    case TRACE_EV_REGION_BEGIN:
    case TRACE_EV_REGION_END:
      fprintf(out, ",\n{\"ph\":\"%s\",\"pid\":1,\"tid\":%d,\"cat\":\"region\","
                   "\"id\":%llu,\"name\":",
              ev.kind == TRACE_EV_REGION_BEGIN ? "b" : "e", tid,
              (unsigned long long)ev.args[0]);
      json_str(out, ev.str[0], ev.slen[0]);
      fputs(",\"ts\":", out);
      us(out, ev.ts);
      fputc('}', out);
      break;
    case TRACE_EV_LOG:
      fprintf(out, ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,"
                   "\"name\":",
              tid);
      json_str(out, ev.str[0], ev.slen[0]);
      fputs(",\"args\":{\"message\":", out);
      json_str(out, ev.str[1], ev.slen[1]);
      fprintf(out, ",\"goid\":%llu},\"ts\":", (unsigned long long)ev.args[0]);
      us(out, ev.ts);
      fputc('}', out);
      break;
    default:
      break;
    }
    if (w >= 0) {
      if (wstart) {
        x->wstart[w] = ev.ts;
      } else {
        if (w == 0) /* a mark worker says its mode */
          mslice(out, gtid, hlt_name(h, TRACE_NAMES_MARK, x->wmode),
                 x->wstart[w] >= 0 ? x->wstart[w] : 0, ev.ts);
        else
          slice(out, gtid, wname[w], x->wstart[w] >= 0 ? x->wstart[w] : 0,
                ev.ts, NULL, 0);
        x->wstart[w] = -1;
      }
    }
  }
  if (k == 0)
    last = hlt_end(r)->ts;
  for (int i = 0; i <= TRACE_MAX_PROCS; i++) {
    int tid = i == 0 ? 2 : 2 * (i - 1) + 10;
    gslice(out, tid, &xs[i], last);
    for (int w = 0; w < 3; w++) {
      if (xs[i].wstart[w] < 0)
        continue;
      if (w == 0)
        mslice(out, i == 0 ? 2 : tid + 1,
               hlt_name(h, TRACE_NAMES_MARK, xs[i].wmode), xs[i].wstart[w],
               last);
      else
        slice(out, i == 0 ? 2 : tid + 1, wname[w], xs[i].wstart[w], last,
              NULL, 0);
    }
  }
  fputs("\n]}\n", out);
  if (k < 0) {
    snprintf(err, errlen, "%s", hlt_error(r));
    return -1;
  }
  return 0;
}
