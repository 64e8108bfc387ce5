set_tests_properties(gc.test_sweep_pin PROPERTIES ENVIRONMENT "HLMAXPROCS=2")
