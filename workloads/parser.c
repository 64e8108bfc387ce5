/*
 * workloads/parser.c — a tokenizer that allocates many small strings
 * (definition in workloads.h).
 *
 * Entry point: wl_parser_run.
 *
 * Per document (numbered as in workloads.h):
 *   1. gen_text writes the text into a pointer-free collected buffer and
 *      hashes each token as it writes it: the generator knows its tokens,
 *      so its hash does not go through the tokenizer or the collected
 *      token list at all;
 *   2. tokenize scans the text and builds the list in order (the tail
 *      pointer and the head are locals: this goroutine's stack);
 *   3. walk hashes the list: a string freed while its token was alive and
 *      reused by another allocation, or a lost link, changes the hash or
 *      the count;
 *   4. the list goes into slot d % keep of a ring (collected array of
 *      pointers); the list it replaces is garbage, and so is the text.
 * The hash of a document: H = H * FNV_PRIME + wl_mix64(fnv1a(token) +
 * kind), over its tokens in order, from H = d + 1.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

enum { TOK_WORD, TOK_NUMBER, TOK_PUNCT };
enum { MAX_TOKEN = 12, SLACK = 16 }; /* a token and its separator fit */

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = FNV_OFFSET;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
  return h;
}

static uint64_t hash_step(uint64_t h, const char *s, size_t n, unsigned kind) {
  return h * FNV_PRIME + wl_mix64(fnv1a(s, n) + kind);
}

struct doc_hash {
  uint64_t hash, tokens;
};

/* 1. Writes about size bytes (< size + SLACK) into text; returns the
 * length, and the generator's hash and token count in *dh. */
static size_t gen_text(char *text, long size, uint64_t seed, long d,
                       struct doc_hash *dh) {
  uint64_t rng = seed ^ wl_mix64((uint64_t)d + 1);
  size_t len = 0;
  dh->hash = (uint64_t)d + 1;
  dh->tokens = 0;
  while (len < (size_t)size) {
    uint64_t r = wl_rand_below(&rng, 100);
    char *tok = text + len;
    size_t n;
    unsigned kind;
    if (r < 85) {
      n = 1 + wl_rand_below(&rng, MAX_TOKEN);
      for (size_t i = 0; i < n; i++)
        tok[i] = (char)('a' + wl_rand_below(&rng, 26));
      kind = TOK_WORD;
    } else {
      n = 1 + wl_rand_below(&rng, 6);
      for (size_t i = 0; i < n; i++)
        tok[i] = (char)('0' + wl_rand_below(&rng, 10));
      kind = TOK_NUMBER;
    }
    dh->hash = hash_step(dh->hash, tok, n, kind);
    dh->tokens++;
    len += n;
    r = wl_rand_below(&rng, 100);
    if (r < 22) { /* a punctuation token */
      text[len] = r < 12 ? ',' : '.';
      dh->hash = hash_step(dh->hash, text + len, 1, TOK_PUNCT);
      dh->tokens++;
      len++;
    }
    text[len++] = r >= 92 ? '\n' : ' ';
  }
  return len;
}

struct doc_slot {
  struct wl_token *head;
};

static const hl_type_t *token_type(void) {
  return HL_TYPE(struct wl_token, next, str);
}

static int is_letter(char c) { return c >= 'a' && c <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* 2. The token list of text[0..len), in order. *bytes += what the
 * strings and nodes asked for; *count = the tokens. */
static struct wl_token *tokenize(const char *text, size_t len,
                                 uint64_t *bytes, uint64_t *count) {
  struct wl_token *head = NULL, *tail = NULL;
  size_t i = 0;
  while (i < len) {
    char c = text[i];
    size_t n;
    unsigned kind;
    if (is_letter(c)) {
      for (n = 1; i + n < len && is_letter(text[i + n]); n++) {}
      kind = TOK_WORD;
    } else if (is_digit(c)) {
      for (n = 1; i + n < len && is_digit(text[i + n]); n++) {}
      kind = TOK_NUMBER;
    } else if (c == ',' || c == '.') {
      n = 1;
      kind = TOK_PUNCT;
    } else {
      i++; /* white space */
      continue;
    }
    char *s = hl_alloc_noscan(n + 1);
    memcpy(s, text + i, n);
    struct wl_token *t = hl_new(token_type());
    HL_STORE(t->str, s);
    t->len = (uint32_t)n;
    t->kind = kind;
    if (tail != NULL) HL_STORE(tail->next, t);
    else head = t;
    tail = t;
    *bytes += n + 1 + sizeof *t;
    ++*count;
    i += n;
  }
  return head;
}

/* 3. */
static void walk(const struct wl_token *t, long d, struct doc_hash *dh) {
  dh->hash = (uint64_t)d + 1;
  dh->tokens = 0;
  for (; t != NULL; t = t->next) {
    if (t->str[t->len] != '\0') dh->hash ^= 1; /* a corrupted string */
    dh->hash = hash_step(dh->hash, t->str, t->len, t->kind);
    dh->tokens++;
  }
}

int wl_parser_run(const wl_parser_params_t *p, FILE *out, wl_metrics_t *m) {
  if (p->documents < 1 || p->documents > 100000000L || p->doc_size < 64 ||
      p->doc_size > (64L << 20) || p->keep < 0 || p->keep > 1000000)
    return -EINVAL;
  *m = (wl_metrics_t){0};
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);

  int64_t t0 = hl_nanotime();
  struct doc_slot *ring =
      p->keep > 0
          ? hl_new_array(HL_TYPE(struct doc_slot, head), (size_t)p->keep)
          : NULL;
  uint64_t tokens = 0, text_bytes = 0, gen_tokens = 0;
  m->objects = ring != NULL;
  m->bytes = (uint64_t)p->keep * sizeof(struct doc_slot);
  for (long d = 0; d < p->documents; d++) {
    struct doc_hash gen, seen;
    char *text = hl_alloc_noscan((size_t)p->doc_size + SLACK);
    size_t len = gen_text(text, p->doc_size, (uint64_t)p->seed, d, &gen);
    uint64_t count = 0;
    struct wl_token *head = tokenize(text, len, &m->bytes, &count);
    walk(head, d, &seen);
    if (ring != NULL) HL_STORE(ring[d % p->keep].head, head);
    m->check += seen.hash;
    m->expected += gen.hash;
    gen_tokens += gen.tokens;
    tokens += count;
    text_bytes += len;
    m->objects += 1 + 2 * count;
    m->bytes += (uint64_t)p->doc_size + SLACK;
    if (seen.tokens != count) gen_tokens = ~UINT64_C(0); /* a lost link */
  }
  /* the kept documents, walked again after the run's collections */
  int kept_ok = 1;
  char *scratch = ring != NULL ? malloc((size_t)p->doc_size + SLACK) : NULL;
  if (ring != NULL && scratch == NULL) kept_ok = 0;
  for (long k = 0; scratch != NULL && k < p->keep && k < p->documents; k++) {
    long d = p->documents - 1 - k;
    struct doc_hash again, gen;
    walk(ring[d % p->keep].head, d, &again);
    gen_text(scratch, p->doc_size, (uint64_t)p->seed, d, &gen);
    kept_ok &= again.hash == gen.hash && again.tokens == gen.tokens;
  }
  free(scratch);
  int64_t t1 = hl_nanotime();

  m->wall_ns = t1 - t0;
  m->ok = kept_ok && tokens == gen_tokens && m->check == m->expected;
  double s = (double)(t1 - t0 > 0 ? t1 - t0 : 1) / 1e9;
  wl_metric(m, "docs_per_s", "docs/s", (double)p->documents / s);
  wl_metric(m, "tokens", "", (double)tokens);
  wl_metric(m, "text_bytes", "bytes", (double)text_bytes);
  wl_metric(m, "mb_per_s", "MB/s", (double)text_bytes / 1e6 / s);
  wl_gc_figures(m, &gc0);
  if (out != NULL)
    fprintf(out,
            "parser: %ld documents, %" PRIu64 " bytes, %" PRIu64
            " tokens: %.0f docs/s, %.1f MB/s%s\n",
            p->documents, text_bytes, tokens, (double)p->documents / s,
            (double)text_bytes / 1e6 / s, m->ok ? "" : " (CHECK FAILED)");
  return 0;
}
