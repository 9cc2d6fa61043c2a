# SPDX-License-Identifier: MIT
# Checks that a weft header compiled below C++20 stops with the one clear
# message of weft/fibers/config.hpp, as its first error. Run by CTest:
#   cmake -DCXX=<compiler> -DINCLUDE_DIRS=<dir|dir...> -DHEADERS=<h|h...>
#         -DWORK_DIR=<dir> -P cxx20_check.cmake
# 1. Every weft header (weft/ under an include directory) includes
#    weft/fibers/config.hpp among the includes that open it, before any code
#    of its own. Includes of other weft headers may come first: they obey the
#    same rule, so the check still runs before any weft code is parsed.
# 2. A TU including each of HEADERS, compiled with -std=c++17, fails and its
#    first error is the static_assert message.
cmake_minimum_required(VERSION 3.25)

foreach(v CXX INCLUDE_DIRS HEADERS WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "cxx20_check: -D${v}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" include_dirs "${INCLUDE_DIRS}")
string(REPLACE "|" ";" headers "${HEADERS}")
set(config "weft/fibers/config.hpp")
set(message_text "weft needs C++20: compile with -std=c++20 or later")
set(failures 0)

# 1. Every weft header includes config.hpp before its own code.
set(flags)
set(checked 0)
foreach(dir IN LISTS include_dirs)
  list(APPEND flags "-I${dir}")
  if(NOT EXISTS "${dir}/weft")
    continue()  # a dependency's include directory
  endif()
  file(GLOB_RECURSE files RELATIVE "${dir}" "${dir}/weft/*.hpp")
  foreach(f IN LISTS files)
    if(f STREQUAL config)
      continue()
    endif()
    math(EXPR checked "${checked} + 1")
    file(READ "${dir}/${f}" text)
    string(FIND "${text}" "\n#include \"${config}\"\n" at)
    if(at EQUAL -1)
      message(SEND_ERROR "cxx20_check: ${dir}/${f} does not include ${config}")
      math(EXPR failures "${failures} + 1")
      continue()
    endif()
    # Only comments, blank lines and preprocessor lines before it.
    string(SUBSTRING "${text}" 0 ${at} before)
    string(REGEX REPLACE "(//[^\n]*|#[^\n]*|[ \t]*)\n" "" rest "${before}\n")
    if(NOT rest STREQUAL "")
      message(SEND_ERROR "cxx20_check: ${dir}/${f}: code comes before #include \"${config}\"")
      math(EXPR failures "${failures} + 1")
    endif()
  endforeach()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "cxx20_check: no weft header under ${INCLUDE_DIRS}")
endif()

# 2. Below C++20 the first error is the message.
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach(h IN LISTS headers)
  string(MAKE_C_IDENTIFIER "${h}" id)
  set(tu "${WORK_DIR}/${id}.cpp")
  file(WRITE "${tu}" "#include \"${h}\"\nint main() { return 0; }\n")
  # -Wfatal-errors: stop at the first error, which must be ours.
  execute_process(
    COMMAND "${CXX}" -std=c++17 -fsyntax-only -Wfatal-errors ${flags} "${tu}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  string(REGEX MATCH "error: [^\n]*" first_error "${out}")
  # GCC: "static assertion failed: <text>"; Clang adds the condition first.
  string(FIND "${first_error}" "${message_text}" at)
  if(rc EQUAL 0)
    message(SEND_ERROR "cxx20_check: ${h} compiled with -std=c++17 (it must not)")
    math(EXPR failures "${failures} + 1")
  elseif(at EQUAL -1)
    message(SEND_ERROR "cxx20_check: ${h} with -std=c++17: the first error is not "
                       "weft's message:\n${out}")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "${h} with -std=c++17: ${first_error}")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "cxx20_check: ${failures} failure(s)")
endif()
message(STATUS "cxx20_check: ${checked} headers include ${config} before their code; "
               "the C++17 builds of ${HEADERS} stop with weft's message")
