/*
 * tests/cli/test_json.c — the experiment runner's JSON writer and reader
 * (tools/heaplab/json.h): a document written and read back field by field
 * (escapes, control characters, UTF-8, non-finite numbers as null, inline
 * arrays), escapes and surrogate pairs decoded, and malformed texts
 * rejected with the offset of the fault.
 */
#include "harness.h"

#include <math.h>

static void test_round_trip(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  jw_t w;
  jw_init(&w, f);
  jw_obj_begin(&w, NULL);
  jw_str(&w, "s", "quote\" backslash\\ nl\n tab\t bell\a caf\xc3\xa9");
  jw_num(&w, "pi", 3.14159265358979);
  jw_num(&w, "nan", NAN);
  jw_int(&w, "big", INT64_MAX);
  jw_int(&w, "neg", -42);
  jw_bool(&w, "t", 1);
  jw_null(&w, "n");
  jw_str(&w, "nullstr", NULL);
  jw_arr_begin(&w, "rows");
  for (int i = 0; i < 3; i++) {
    jw_arr_begin_inline(&w, NULL);
    jw_int(&w, NULL, i);
    jw_numf(&w, NULL, i / 4.0, 6);
    jw_arr_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_begin(&w, "empty");
  jw_obj_end(&w);
  jw_obj_end(&w);
  jw_finish(&w);
  fclose(f);
  /* rows stay on one line each */
  assert_non_null(strstr(buf, "[0, 0]"));
  assert_non_null(strstr(buf, "[2, 0.5]"));
  char err[128];
  jv_t *v = json_parse(buf, len, err, sizeof err);
  if (!v)
    fail_msg("%s\n%s", err, buf);
  assert_string_equal(jv_str(jv_get(v, "s"), ""),
                      "quote\" backslash\\ nl\n tab\t bell\a caf\xc3\xa9");
  assert_true(fabs(jv_num(jv_get(v, "pi"), 0) - 3.14159265358979) < 1e-11);
  assert_int_equal(jv_get(v, "nan")->kind, JV_NULL);
  assert_true(jv_num(jv_get(v, "big"), 0) == (double)INT64_MAX);
  assert_true(jv_num(jv_get(v, "neg"), 0) == -42);
  assert_int_equal(jv_get(v, "t")->kind, JV_BOOL);
  assert_int_equal(jv_get(v, "n")->kind, JV_NULL);
  assert_int_equal(jv_get(v, "nullstr")->kind, JV_NULL);
  const jv_t *rows = jv_get(v, "rows");
  assert_int_equal(rows->n, 3);
  assert_true(jv_num(&rows->items[2].items[1], 0) == 0.5);
  assert_int_equal(jv_get(v, "empty")->kind, JV_OBJ);
  assert_int_equal(jv_get(v, "empty")->n, 0);
  assert_null(jv_get(v, "absent"));
  assert_null(jv_path(v, "rows.x"));
  jv_free(v);
  free(buf);
}

static void test_escapes(void **state) {
  (void)state;
  char err[128];
  const char *t = "{\"a\": {\"b\": \"\\u00e9\\ud83d\\ude00\\/\\b\\f\"}, "
                  "\"e\": -1.5e3, \"z\": 0, \"arr\": [true, false, null]}";
  jv_t *v = json_parse(t, strlen(t), err, sizeof err);
  if (!v)
    fail_msg("%s", err);
  assert_string_equal(jv_str(jv_path(v, "a.b"), ""),
                      "\xc3\xa9\xf0\x9f\x98\x80/\b\f");
  assert_true(jv_num(jv_get(v, "e"), 0) == -1500);
  assert_true(jv_num(jv_get(v, "z"), 1) == 0);
  assert_int_equal(jv_get(v, "arr")->n, 3);
  jv_free(v);
}

static void expect_reject(const char *text, const char *why, size_t off) {
  char err[128], want[32];
  jv_t *v = json_parse(text, strlen(text), err, sizeof err);
  if (v)
    fail_msg("accepted: %s", text);
  if (!strstr(err, why))
    fail_msg("%s: message \"%s\" lacks \"%s\"", text, err, why);
  snprintf(want, sizeof want, "offset %zu:", off);
  if (strncmp(err, want, strlen(want)) != 0)
    fail_msg("%s: message \"%s\", expected %s", text, err, want);
}

static void test_rejects(void **state) {
  (void)state;
  expect_reject("", "unexpected end", 0);
  expect_reject("{\"a\": 1} x", "text after", 9);
  expect_reject("{\"a\" 1}", "':' expected", 5);
  expect_reject("{\"a\": 1,}", "member name", 8);
  expect_reject("[1 2]", "',' or ']'", 3);
  expect_reject("[01]", "',' or ']'", 2);
  expect_reject("[1.]", "digits expected after '.'", 1);
  expect_reject("[-]", "bad number", 1);
  expect_reject("[1e]", "exponent", 1);
  expect_reject("\"abc", "unterminated", 1);
  expect_reject("\"a\\qb\"", "bad escape", 3);
  expect_reject("\"\\ud800x\"", "unpaired high surrogate", 7);
  expect_reject("\"\\udc00\"", "unpaired low surrogate", 7);
  expect_reject("\"\\u12g4\"", "bad hex digit", 6);
  expect_reject("\"a\tb\"", "control character", 2);
  expect_reject("tru", "unexpected 't'", 0);
  char deep[200];
  memset(deep, '[', 100);
  deep[100] = 0;
  expect_reject(deep, "nesting deeper than 64", 64);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_rejects),
  };
  return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
