# SPDX-License-Identifier: MIT
# Runs `cmake -DEXPECT_RC=2 -DEXPECT_STDERR=<regex> -P expect_usage_error.cmake -- <command...>`
# and fails unless the command exits with EXPECT_RC, prints a line matching
# EXPECT_STDERR on stderr and prints nothing on stdout (a rejected flag must
# stop fiber-bench before any run). CTest alone can check the message or the
# exit code, not both; an abort would pass a WILL_FAIL test.
set(cmd)
set(seen_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(seen_separator)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(seen_separator TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "expect_usage_error.cmake: no command after --")
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 30)
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit status '${rc}', expected ${EXPECT_RC}\nstderr: ${err}\nstdout: ${out}")
endif()
if(NOT err MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}':\n${err}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "the command printed on stdout (it ran?):\n${out}")
endif()
message(STATUS "exit ${rc}: ${err}")
