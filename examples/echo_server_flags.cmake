# SPDX-License-Identifier: MIT
# echo_server's command line: every bad option or value must print a message
# on stderr and exit with status 64 (EX_USAGE), never start serving, crash
# or abort; --help exits 0. Run by CTest:
#   cmake -DPROGRAM=<echo_server> -P echo_server_flags.cmake
cmake_minimum_required(VERSION 3.25)
if(NOT PROGRAM)
  message(FATAL_ERROR "echo_server_flags: -DPROGRAM=<echo_server> is required")
endif()

set(failures 0)
# expect(<status> <stderr regex> <args>...) runs PROGRAM <args>; a program
# that started serving instead is stopped by the 10 s timeout and fails.
function(expect status pattern)
  execute_process(COMMAND "${PROGRAM}" ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 10)
  list(JOIN ARGN " " shown)
  if(NOT rc STREQUAL "${status}" OR NOT err MATCHES "${pattern}")
    message(SEND_ERROR "echo_server ${shown}: status '${rc}' (want ${status}), "
                       "stderr '${err}' (want /${pattern}/)")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  else()
    string(REGEX REPLACE "\n.*" "" first "${err}${out}")
    message(STATUS "echo_server ${shown}: ${rc}: ${first}")
  endif()
endfunction()

# quoted(<var> <text>): <text> as a regular expression matching itself.
function(quoted var text)
  string(REGEX REPLACE "([][+.*()^$?|\\])" "\\\\\\1" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

expect(0 "^$" --help)
expect(64 "unknown option '--bogus'" --bogus)
expect(64 "unknown option 'extra'" extra)
foreach(flag --port --workers --idle-timeout --max-connections)
  expect(64 "${flag} needs a value" ${flag})
endforeach()
# (An empty value cannot be passed: CMake drops empty arguments.)
foreach(v abc 0 -5s +5s 1.5s 10parsecs "5 s" 5sec 25h 1441m 86400001
        99999999999999999999 18446744073709551616ms)
  quoted(q "${v}")
  expect(64 "bad value for --idle-timeout: '${q}'" --idle-timeout "${v}")
endforeach()
foreach(v 0 -1 ten 3x 1000001 99999999999999999999)
  quoted(q "${v}")
  expect(64 "bad value for --max-connections: '${q}'" --max-connections "${v}")
endforeach()
foreach(v -1 65536 port)
  quoted(q "${v}")
  expect(64 "bad value for --port: '${q}'" --port "${v}")
endforeach()
foreach(v 0 257 many)
  quoted(q "${v}")
  expect(64 "bad value for --workers: '${q}'" --workers "${v}")
endforeach()
expect(64 "bad value for --self-test: 'nonsense'" --self-test nonsense)
expect(64 "needs --idle-timeout of at most 10s" --self-test idle-timeout)
expect(64 "needs --idle-timeout of at most 10s" --idle-timeout 11s --self-test idle-timeout)
expect(64 "needs --max-connections of at most 64" --self-test max-connections)
expect(64 "needs --max-connections of at most 64" --max-connections 65 --self-test max-connections)

if(failures GREATER 0)
  message(FATAL_ERROR "echo_server_flags: ${failures} failure(s)")
endif()
