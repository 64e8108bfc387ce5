set_tests_properties(gc.test_latency PROPERTIES ENVIRONMENT "HLMAXPROCS=2")
