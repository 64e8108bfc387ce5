# hl_fuzz_target(NAME SOURCE LIBS...): a fuzz target in tests/fuzz/NAME.
#  - always: fuzz_NAME_replay, a plain program replaying NAME/corpus, run by
#    ctest as fuzz.NAME_replay (label unit: also in the sanitizer builds);
#  - with -DHL_FUZZ=ON (clang): fuzz_NAME, the libFuzzer binary.
# The source defines LLVMFuzzerTestOneInput and includes tests/fuzz/replay.h.
function(hl_fuzz_target name src)
  add_executable(fuzz_${name}_replay ${src})
  target_link_libraries(fuzz_${name}_replay PRIVATE ${ARGN})
  add_test(NAME fuzz.${name}_replay COMMAND fuzz_${name}_replay
    ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
  set_tests_properties(fuzz.${name}_replay PROPERTIES LABELS unit TIMEOUT 120)
  if(HL_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
      message(FATAL_ERROR "HL_FUZZ needs clang (-DCMAKE_C_COMPILER=clang)")
    endif()
    add_executable(fuzz_${name} ${src})
    target_compile_definitions(fuzz_${name} PRIVATE HL_LIBFUZZER=1)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${ARGN})
  endif()
endfunction()
