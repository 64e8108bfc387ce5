set_tests_properties(gc.test_sbrk PROPERTIES ENVIRONMENT "HLDEBUG=sbrk=1")
