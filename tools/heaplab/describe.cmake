# tools/heaplab/describe.cmake — run at every build (cmake -P): writes
# OUT (hl_describe.h) with `git describe --always --dirty --tags` of SRC,
# rewriting the file only when the description changed, so that result
# files name the commit the binary was built from without rebuilding the
# command each time.
execute_process(COMMAND git describe --always --dirty --tags
  WORKING_DIRECTORY ${SRC}
  OUTPUT_VARIABLE d OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT d)
  set(d unknown)
endif()
set(text "#define HL_GIT_DESCRIBE \"${d}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
