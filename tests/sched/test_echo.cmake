# 10,000 loopback connections (server here, clients in a child process):
# a few seconds on 2 cores; the bound leaves room for a loaded machine.
# Label big: left out of the sanitizer runs.
set_tests_properties(sched.test_echo PROPERTIES TIMEOUT 90 LABELS "unit;big")
