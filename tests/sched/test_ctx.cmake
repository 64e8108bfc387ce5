# One P: the two workers always switch directly to each other (hl_yield's
# direct path), not through the scheduler.
set_tests_properties(sched.test_ctx PROPERTIES ENVIRONMENT HLMAXPROCS=1)
target_link_libraries(test_ctx PRIVATE m) # fesetround
if(HL_CTX_UCONTEXT)
  target_compile_definitions(test_ctx PRIVATE HL_CTX_UCONTEXT=1)
endif()
