/*
 * tests/gc/test_assist_cap.c — heaplab's cap on assists
 * (gc_assist_capped, HLDEBUG=gcassistcap; docs/gc.md "Pacer and knobs"):
 * Go's ratio when the cap is off or the cycle has no more to scan than
 * the last; pct/100/cons-mark below the goal on a growing heap; rising as
 * the heap goes from the goal to goal * (1 + growth) and gone there; never
 * past the ceiling it is given (the memory limit's).
 */
#include "gc/internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MB (1024.0 * 1024.0)
#define EPS 1e-9

/* a cycle that expects 20% more scan work than the last one did */
#define LAST (10 * MB)
#define GROW (12 * MB)
#define GOAL (100 * MB)
#define MOST (150 * MB)
#define MINB (16 * MB) /* the allowance's smallest base: below GOAL here */

static void assert_near(double got, double want) {
  if (fabs(got - want) > EPS * (fabs(want) + 1))
    fail_msg("got %.12g, want %.12g", got, want);
}

static void test_off_is_go(void **state) {
  (void)state;
  assert_near(gc_assist_capped(7.5, 0, 0.75, 50 * MB, GOAL, MOST, LAST, GROW, MINB),
              7.5);
}

static void test_no_growth_is_go(void **state) {
  (void)state;
  /* the same work as the last cycle, or less: uncapped */
  assert_near(gc_assist_capped(7.5, 5, 0.75, 50 * MB, GOAL, MOST, LAST, LAST, MINB),
              7.5);
  assert_near(
      gc_assist_capped(7.5, 5, 0.75, 50 * MB, GOAL, MOST, LAST, 8 * MB, MINB), 7.5);
}

static void test_capped_below_goal(void **state) {
  (void)state;
  /* 5% of the allocating CPU at cons/mark 0.5: 0.1 byte of scan work per
   * byte allocated */
  assert_near(gc_assist_capped(7.5, 5, 0.5, 50 * MB, GOAL, MOST, LAST, GROW, MINB),
              0.1);
  assert_near(gc_assist_capped(7.5, 5, 0.5, GOAL, GOAL, MOST, LAST, GROW, MINB),
              0.1);
  /* a ratio under the cap is left alone */
  assert_near(gc_assist_capped(0.01, 5, 0.5, 50 * MB, GOAL, MOST, LAST, GROW, MINB),
              0.01);
  /* no cons/mark measured yet: taken as 1 */
  assert_near(gc_assist_capped(7.5, 5, 0, 50 * MB, GOAL, MOST, LAST, GROW, MINB),
              0.05);
}

static void test_rises_past_goal(void **state) {
  (void)state;
  /* growth 0.2: the cap holds up to 120 MB; halfway there it is 4x */
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 110 * MB, GOAL, MOST, LAST, GROW, MINB), 0.4);
  /* at and past goal * 1.2: Go's ratio */
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 120 * MB, GOAL, MOST, LAST, GROW, MINB), 7.5);
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 130 * MB, GOAL, MOST, LAST, GROW, MINB), 7.5);
}

static void test_growth_bounded(void **state) {
  (void)state;
  /* three times the last cycle's work: the growth counts as 0.5 */
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 125 * MB, GOAL, MOST, LAST, 30 * MB, MINB), 0.4);
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 150 * MB, GOAL, MOST, LAST, 30 * MB, MINB), 7.5);
  /* the first cycle (no last one) counts as growing by 0.5 */
  assert_near(gc_assist_capped(7.5, 5, 0.5, 125 * MB, GOAL, MOST, 0, 5 * MB, MINB),
              0.4);
}

static void test_memory_limit_ceiling(void **state) {
  (void)state;
  /* the memory limit leaves 5% past the goal: the cap holds to 105 MB */
  double most = 105 * MB;
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 50 * MB, GOAL, most, LAST, GROW, MINB), 0.1);
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 102.5 * MB, GOAL, most, LAST, GROW, MINB), 0.4);
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 105 * MB, GOAL, most, LAST, GROW, MINB), 7.5);
  /* a limit at the goal itself: Go's ratio from the goal on */
  assert_near(gc_assist_capped(7.5, 5, 0.5, 50 * MB, GOAL, GOAL, LAST, GROW, MINB),
              0.1);
  assert_near(
      gc_assist_capped(7.5, 5, 0.5, 100.5 * MB, GOAL, GOAL, LAST, GROW, MINB), 7.5);
}

static void test_small_heap_allowance(void **state) {
  (void)state;
  /* a 4 MB goal growing by 0.5: the allowance is half of 16 MB, not of
   * 4 MB; the cap holds to 12 MB, 4x halfway (8 MB) */
  double goal = 4 * MB, most = goal + 8 * MB;
  assert_near(gc_assist_capped(7.5, 5, 0.5, 3 * MB, goal, most, 1 * MB,
                               3 * MB, MINB),
              0.1);
  assert_near(gc_assist_capped(7.5, 5, 0.5, 8 * MB, goal, most, 1 * MB,
                               3 * MB, MINB),
              0.4);
  assert_near(gc_assist_capped(7.5, 5, 0.5, 12 * MB, goal, most, 1 * MB,
                               3 * MB, MINB),
              7.5);
  /* without the floor the ceiling would be 6 MB: uncapped at 8 MB */
  assert_near(gc_assist_capped(7.5, 5, 0.5, 8 * MB, goal, most, 1 * MB,
                               3 * MB, 0),
              7.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off_is_go),
      cmocka_unit_test(test_no_growth_is_go),
      cmocka_unit_test(test_capped_below_goal),
      cmocka_unit_test(test_rises_past_goal),
      cmocka_unit_test(test_growth_bounded),
      cmocka_unit_test(test_memory_limit_ceiling),
      cmocka_unit_test(test_small_heap_allowance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
