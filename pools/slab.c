/*
 * pools/slab.c — hl_slab, batch allocation on the collected heap.
 *
 * Entry points: hl_slab_create, hl_slab_create_bytes, hl_slab_alloc,
 * hl_slab_stats.
 *
 * A slab is one collected allocation of `batch` objects: hl_new_array of
 * the objects' type (their pointer fields are scanned precisely, as if
 * each were allocated alone) or, for byte objects, one noscan allocation.
 * hl_slab_alloc hands out the next object; when the slab is used up, the
 * next call allocates a new one. The collector sees one object per slab:
 * every pointer into it, at any offset, resolves to the slab's start
 * (gc_find_object maps an interior address to its object through the
 * arena's span table and the span's element size, for stack words and
 * pointer fields alike) and keeps the whole slab alive. So the cost of a
 * slab is one allocation per batch, and its price is retention: one
 * object still referenced keeps its batch - 1 neighbours' memory, and
 * nothing is ever reused until all are dead (there is no free).
 *
 * The hl_slab_t itself is a collected object (its `cur` field is a
 * pointer to the current slab), so a slab needs no registration and no
 * destroy: it is garbage when nobody refers to it.
 */
#include "pools/internal.h"

#include "base/throw.h"

#include <errno.h>

#define SLAB_MAX_BYTES ((size_t)1 << 30)
#define SLAB_MAX_BATCH ((size_t)1 << 20)
#define SLAB_MAX_OBJ ((size_t)1 << 20)

struct hl_slab {
  char *cur;              /* current slab (collected), NULL before the first */
  const hl_type_t *type;  /* NULL: noscan objects of `size` bytes */
  uint64_t size;          /* bytes per object */
  uint64_t batch;         /* objects per slab */
  uint64_t next;          /* index of the next free object in cur */
  uint64_t objects, slabs; /* stats */
};

static const hl_type_t *slab_type(void) {
  return HL_TYPE(struct hl_slab, cur);
}

static hl_slab_t *slab_new(const hl_type_t *t, size_t size, size_t batch) {
  if (batch == 0 || batch > SLAB_MAX_BATCH || size == 0 ||
      size > SLAB_MAX_BYTES / batch) {
    errno = EINVAL;
    return NULL;
  }
  hl_slab_t *s = hl_new(slab_type());
  s->type = t;
  s->size = size;
  s->batch = batch;
  s->next = batch; /* the first alloc starts a slab */
  return s;
}

HL_API hl_slab_t *hl_slab_create(const hl_type_t *t, size_t batch) {
  (void)curg_or_die("hl_slab_create");
  if (t == NULL) {
    errno = EINVAL;
    return NULL;
  }
  return slab_new(t, t->size, batch);
}

HL_API hl_slab_t *hl_slab_create_bytes(size_t size, size_t batch) {
  (void)curg_or_die("hl_slab_create_bytes");
  if (size == 0 || size > SLAB_MAX_OBJ) {
    errno = EINVAL;
    return NULL;
  }
  return slab_new(NULL, (size + 7) & ~(size_t)7, batch);
}

HL_API void *hl_slab_alloc(hl_slab_t *s) {
  if (s == NULL)
    hl_misuse("hl_slab_alloc: NULL slab");
  if (__builtin_expect(s->next >= s->batch, 0)) {
    char *slab = s->type ? hl_new_array(s->type, s->batch)
                         : hl_alloc_noscan(s->size * s->batch);
    HL_STORE(s->cur, slab);
    s->next = 0;
    s->slabs++;
  }
  s->objects++;
  return s->cur + s->size * s->next++;
}

HL_API void hl_slab_stats(const hl_slab_t *s, hl_slab_stats_t *st) {
  st->objects = s->objects;
  st->slabs = s->slabs;
  st->bytes = s->slabs * s->size * s->batch;
}
