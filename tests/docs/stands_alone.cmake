# SPDX-License-Identifier: MIT
# cmake -DROOT=<repo> -P stands_alone.cmake: fails when README.md, docs/,
# a source or a header refers to the maintainers' notes (DESIGN.md,
# BENCHMARKS.md, STYLE.md, ../shared/), which a user of the repository does not
# have. docs/design.md and docs/benchmarks.md are the user's copies.
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/README.md ${ROOT}/CHANGELOG.md ${ROOT}/Makefile ${ROOT}/docs/*.md
     ${ROOT}/fibers/* ${ROOT}/sync/* ${ROOT}/net/* ${ROOT}/cli/*.cpp ${ROOT}/cli/*.hpp
     ${ROOT}/cli/README.md ${ROOT}/examples/* ${ROOT}/scripts/* ${ROOT}/tests/*.cpp
     ${ROOT}/tests/*.hpp)
set(bad 0)
foreach(f IN LISTS files)
  file(STRINGS ${ROOT}/${f} hits REGEX "(DESIGN|BENCHMARKS|STYLE)\\.md|\\.\\./shared/")
  foreach(h IN LISTS hits)
    message(SEND_ERROR "${f}: refers outside the repository: ${h}")
    set(bad 1)
  endforeach()
endforeach()
list(LENGTH files n)
if(NOT bad)
  message(STATUS "${n} files refer only to files in the repository")
endif()
