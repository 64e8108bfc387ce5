# stress_sync THREADS SCALE ITER [SEED] (included by tests/sched/
# CMakeLists.txt after the target is defined). The short runs are part of
# the default suite (label stress), on 1, 2 and 4 processors; the long one
# needs -L stress-long.
add_test(NAME stress.sync COMMAND stress_sync 16 4 200000 1)
set_tests_properties(stress.sync PROPERTIES LABELS stress TIMEOUT 300)
add_test(NAME stress.sync_p1 COMMAND stress_sync 8 2 200000 2)
set_tests_properties(stress.sync_p1 PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT HLMAXPROCS=1)
add_test(NAME stress.sync_p2 COMMAND stress_sync 16 1 100000 3)
set_tests_properties(stress.sync_p2 PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT HLMAXPROCS=2)
add_test(NAME stress.sync_p4 COMMAND stress_sync 32 8 50000 4)
set_tests_properties(stress.sync_p4 PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT HLMAXPROCS=4)
add_test(NAME stress.sync_long COMMAND stress_sync 64 16 2000000 5)
set_tests_properties(stress.sync_long PROPERTIES LABELS stress-long
  TIMEOUT 3600)
