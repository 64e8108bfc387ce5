/*
 * tests/fuzz/malloc/fuzz_malloc.c — malloc, calloc, realloc, aligned_alloc,
 * posix_memalign and free sequences decoded from the fuzz input, checked
 * against a shadow model.
 *
 * Input: a sequence of 4-byte operations [op, slot, size-lo, size-hi].
 * 64 slots each hold one live block or nothing. The model keeps for each
 * live block its address, requested size, alignment and a seed; the block
 * is filled with a pattern made from the seed. Checked on every operation:
 *  - a new block is not NULL (sizes are bounded: at most 1 MiB), is aligned
 *    as asked (and to 8 at least, 16 when its usable size is a multiple of
 *    16), has hl_usable_size >= the request, and overlaps no live block;
 *  - calloc memory reads as zero; realloc keeps min(old, new) bytes of the
 *    pattern; free and realloc find the pattern intact (nothing else wrote
 *    into a live block). The pattern (and the zero check) covers the first
 *    and last 256 bytes of a block and one byte in 512 between (next_pos);
 *  - bad alignments are refused with EINVAL and change nothing;
 *  - at the end every block is freed and hl_heap_validate(1) walks the heap
 *    (it throws on a broken invariant).
 * Size decoding: the two size bytes give 0..65535; op bits pick a scale so
 * that small classes, the 32 KiB boundary and large blocks are all hit.
 */
#include "heaplab/alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSLOTS 64

typedef struct slot {
  unsigned char *p;
  size_t size;
  uint32_t seed;
} slot_t;

static slot_t slots[NSLOTS];
static uint32_t next_seed = 1;

static unsigned char pat(uint32_t seed, size_t i) {
  return (unsigned char)((seed * 2654435761u + (uint32_t)i * 40503u) >> 13);
}

/* The pattern covers the first and last EDGE bytes of a block and one
 * byte in STRIDE between: an overlap or a stray write at either end is
 * caught, and a 1 MiB block costs a few thousand writes, not a million
 * (a full fill ran the target at 3 inputs a second under ASan). */
#define EDGE 256
#define STRIDE 512

static inline size_t next_pos(size_t i, size_t size) {
  if (i + 1 < EDGE || i + 1 >= size - (size < EDGE ? size : EDGE))
    return i + 1;
  size_t j = (i + STRIDE) & ~(size_t)(STRIDE - 1);
  size_t tail = size - EDGE;
  return j < tail ? j : tail;
}

static void fill(slot_t *s) {
  for (size_t i = 0; i < s->size; i = next_pos(i, s->size))
    s->p[i] = pat(s->seed, i);
}

/* Checks the pattern positions below n (n <= the block's size). */
static void check(const slot_t *s, size_t n) {
  for (size_t i = 0; i < n; i = next_pos(i, s->size))
    if (s->p[i] != pat(s->seed, i))
      abort(); /* a live block was written by someone else */
}

static void check_new(unsigned char *p, size_t size, size_t align, int self) {
  if (!p)
    abort();
  size_t us = hl_usable_size(p);
  if (us < size)
    abort();
  uintptr_t a = (uintptr_t)p;
  if (a % 8 || (align && a % align) || (us % 16 == 0 && a % 16))
    abort();
  size_t span = size ? size : 1;
  for (int i = 0; i < NSLOTS; i++) {
    if (i == self || !slots[i].p)
      continue;
    uintptr_t b = (uintptr_t)slots[i].p;
    size_t bs = slots[i].size ? slots[i].size : 1;
    if (a < b + bs && b < a + span)
      abort(); /* two live blocks overlap */
  }
}

static void drop(slot_t *s) {
  if (!s->p)
    return;
  check(s, s->size);
  hl_free(s->p);
  s->p = NULL;
}

static size_t decode_size(uint8_t op, uint8_t lo, uint8_t hi) {
  size_t v = (size_t)lo | (size_t)hi << 8;
  switch ((op >> 4) & 3) {
  case 0:
    return v % 512; /* tiny and small classes */
  case 1:
    return v % 40000; /* up to and past the 32 KiB boundary */
  case 2:
    return v;
  default:
    return v * 16 % (1u << 20); /* large, up to 1 MiB */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (size_t k = 0; k + 4 <= size; k += 4) {
    uint8_t op = data[k];
    slot_t *s = &slots[data[k + 1] % NSLOTS];
    int self = (int)(s - slots);
    size_t n = decode_size(op, data[k + 2], data[k + 3]);
    size_t align = (size_t)1 << (data[k + 3] % 17); /* 1 .. 64 KiB */
    switch (op % 8) {
    case 0:
    case 1: /* malloc */
      drop(s);
      s->p = hl_malloc(n);
      s->size = n;
      check_new(s->p, n, 0, self);
      s->seed = next_seed++;
      fill(s);
      break;
    case 2: { /* calloc(count, elem) */
      drop(s);
      size_t cnt = 1 + data[k + 2] % 16, el = n / cnt;
      s->p = hl_calloc(cnt, el);
      s->size = cnt * el;
      check_new(s->p, s->size, 0, self);
      for (size_t i = 0; i < s->size; i = next_pos(i, s->size))
        if (s->p[i])
          abort(); /* calloc memory not zero */
      s->seed = next_seed++;
      fill(s);
      break;
    }
    case 3: { /* realloc (of NULL when the slot is empty) */
      size_t keep = s->p ? (s->size < n ? s->size : n) : 0;
      if (s->p)
        check(s, s->size);
      if (n == 0 && s->p) {
        (void)hl_realloc(s->p, 0); /* frees, as glibc does */
        s->p = NULL;
        break;
      }
      unsigned char *q = hl_realloc(s->p, n);
      slot_t old = *s;
      s->p = q;
      s->size = n;
      check_new(q, n, 0, self);
      old.p = q;
      check(&old, keep); /* the prefix moved with the block */
      /* the block keeps its seed: refill the part that is new */
      fill(s);
      break;
    }
    case 4: /* aligned_alloc */
      drop(s);
      s->p = hl_aligned_alloc(align, n);
      s->size = n;
      check_new(s->p, n, align, self);
      s->seed = next_seed++;
      fill(s);
      break;
    case 5: { /* posix_memalign, sometimes with a bad alignment */
      drop(s);
      size_t al = (op & 0x80) ? align * 3 : align; /* *3: not a power of 2 */
      void *out = (void *)0x1;
      int rc = hl_posix_memalign(&out, al, n);
      if (al < sizeof(void *) || (al & (al - 1))) {
        if (rc != EINVAL || out != (void *)0x1)
          abort();
        break;
      }
      if (rc != 0)
        abort();
      s->p = out;
      s->size = n;
      check_new(s->p, n, al, self);
      s->seed = next_seed++;
      fill(s);
      break;
    }
    case 6: /* free */
      drop(s);
      break;
    default: /* aligned_alloc with a bad alignment: EINVAL */
      errno = 0;
      if (hl_aligned_alloc(align * 3, n) != NULL || errno != EINVAL)
        abort();
      break;
    }
  }
  for (int i = 0; i < NSLOTS; i++)
    drop(&slots[i]);
  if (!hl_heap_validate(1))
    abort();
  return 0;
}

#include "tests/fuzz/replay.h"
