set_tests_properties(gc.test_pacer PROPERTIES LABELS pacer
  ENVIRONMENT "HLMAXPROCS=2")
