# 1,000,000 parked goroutines: creation, a short wait and the wake-up take
# several seconds on 2 cores and about 4 GiB of RSS. Label big: left out
# of the sanitizer runs (their shadow memory would need several times it).
set_tests_properties(sched.test_million PROPERTIES TIMEOUT 120
  LABELS "unit;big")
