# Runs the size-class generator and fails unless its output equals the
# committed table.
execute_process(COMMAND ${GEN} OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mksizeclasses failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${TABLE}
  RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "alloc/sizeclasses.h differs from the generator output "
    "(${OUT}); regenerate it with mksizeclasses")
endif()
message(STATUS "sizeclasses.h matches the generator")
