# stress_chan THREADS SCALE ITER [SEED] (included by tests/sched/CMakeLists.txt
# after the executable is added). The short runs are part of the default
# suite (label stress); the long one needs -L stress-long.
add_test(NAME sched.stress_chan_1p COMMAND stress_chan 1 2 30000 1)
set_tests_properties(sched.stress_chan_1p PROPERTIES LABELS stress TIMEOUT 300)
add_test(NAME sched.stress_chan_4p COMMAND stress_chan 4 2 30000 2)
set_tests_properties(sched.stress_chan_4p PROPERTIES LABELS stress TIMEOUT 300)
add_test(NAME sched.stress_chan_long COMMAND stress_chan 8 8 100000 3)
set_tests_properties(sched.stress_chan_long PROPERTIES LABELS stress-long
  TIMEOUT 3600)
