set_tests_properties(gc.test_wb_late PROPERTIES ENVIRONMENT "HLMAXPROCS=2")
