# stress_mutate GOROUTINES SECONDS SEED, with the checkmark verifier (and
# the poisoning of swept objects it enables) on every cycle.
add_test(NAME gc.stress_mutate_2p COMMAND gc_stress_mutate 8 3 1)
set_tests_properties(gc.stress_mutate_2p PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT "HLMAXPROCS=2;HLDEBUG=gccheckmark=1")
add_test(NAME gc.stress_mutate_4p COMMAND gc_stress_mutate 16 3 2)
set_tests_properties(gc.stress_mutate_4p PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT "HLMAXPROCS=4;HLDEBUG=gccheckmark=1")
add_test(NAME gc.stress_mutate_stw COMMAND gc_stress_mutate 8 2 3)
set_tests_properties(gc.stress_mutate_stw PROPERTIES LABELS stress TIMEOUT 300
  ENVIRONMENT "HLMAXPROCS=2;HLDEBUG=gcstoptheworld=1,gccheckmark=1")
add_test(NAME gc.stress_mutate_long COMMAND gc_stress_mutate 32 120 4)
set_tests_properties(gc.stress_mutate_long PROPERTIES LABELS stress-long
  TIMEOUT 3600 ENVIRONMENT "HLDEBUG=gccheckmark=1")
