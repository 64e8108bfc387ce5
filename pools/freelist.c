/*
 * pools/freelist.c — hl_freelist, Go's "leaky buffer" (Effective Go):
 * a buffered channel of free objects.
 *
 * Entry points: hl_freelist_create, hl_freelist_destroy, hl_freelist_get,
 * hl_freelist_put, hl_freelist_stats.
 *
 *   get: try-receive from the channel; empty: allocate (new_fn);
 *   put: try-send; full: drop the object (the collector takes it).
 *
 * The channel carries pointers (8-byte elements): the scheduler lists it
 * among the channels whose buffers the collector scans (gc_scan_runtime),
 * and every copy in or out of the buffer is shaded while marking
 * (gc_shade_hook), so listed objects stay alive and none is lost by a
 * concurrent mark. Unlike hl_pool, the list is never emptied by the
 * collector: up to cap objects stay allocated for as long as the list
 * exists, and every get and put takes the channel's lock.
 */
#include "pools/internal.h"

#include "base/throw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FREELIST_MAX_CAP ((size_t)1 << 24)

struct hl_freelist {
  hl_chan_t *ch;
  void *(*new_fn)(void *);
  void *arg;
  _Atomic uint64_t gets, hits, news, puts, drops;
};

HL_API hl_freelist_t *hl_freelist_create(size_t cap, void *(*new_fn)(void *),
                                         void *arg) {
  (void)curg_or_die("hl_freelist_create");
  if (cap == 0 || cap > FREELIST_MAX_CAP) {
    errno = EINVAL;
    return NULL;
  }
  hl_freelist_t *fl = calloc(1, sizeof *fl);
  if (fl == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  fl->ch = hl_chan_make(sizeof(void *), cap);
  if (fl->ch == NULL) {
    free(fl);
    errno = ENOMEM;
    return NULL;
  }
  fl->new_fn = new_fn;
  fl->arg = arg;
  return fl;
}

HL_API void hl_freelist_destroy(hl_freelist_t *fl) {
  if (fl == NULL)
    return;
  hl_chan_free(fl->ch);
  free(fl);
}

HL_API void *hl_freelist_get(hl_freelist_t *fl) {
  if (fl == NULL)
    hl_misuse("hl_freelist_get: NULL free list");
  void *x = NULL;
  bool ok;
  atomic_add_relaxed(&fl->gets, 1);
  if (hl_chan_tryrecv(fl->ch, &x, &ok) && ok) {
    atomic_add_relaxed(&fl->hits, 1);
    return x;
  }
  atomic_add_relaxed(&fl->news, 1);
  return fl->new_fn ? fl->new_fn(fl->arg) : NULL;
}

HL_API void hl_freelist_put(hl_freelist_t *fl, void *x) {
  if (fl == NULL)
    hl_misuse("hl_freelist_put: NULL free list");
  if (x == NULL)
    return;
  atomic_add_relaxed(&fl->puts, 1);
  if (!hl_chan_trysend(fl->ch, &x))
    atomic_add_relaxed(&fl->drops, 1);
}

HL_API void hl_freelist_stats(hl_freelist_t *fl, hl_freelist_stats_t *st) {
  st->gets = atomic_load_relaxed(&fl->gets);
  st->hits = atomic_load_relaxed(&fl->hits);
  st->news = atomic_load_relaxed(&fl->news);
  st->puts = atomic_load_relaxed(&fl->puts);
  st->drops = atomic_load_relaxed(&fl->drops);
}
