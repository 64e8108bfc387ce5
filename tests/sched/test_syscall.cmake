# One P: a goroutine blocked in a system call must not stop the others,
# which is only visible when there is no second P to run them.
set_tests_properties(sched.test_syscall PROPERTIES ENVIRONMENT HLMAXPROCS=1)
