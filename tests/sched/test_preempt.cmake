set_tests_properties(sched.test_preempt PROPERTIES ENVIRONMENT "HLMAXPROCS=1")
