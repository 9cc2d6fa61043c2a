# SPDX-License-Identifier: MIT
# Installs weft so that another CMake project can
#   find_package(weft CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE weft::weft)
# and any other build can use `pkg-config --cflags --libs weft`.
# Layout: public headers under include/, libraries under lib/, the package
# files (weftConfig.cmake, weftConfigVersion.cmake, weftTargets*.cmake) under
# lib/cmake/weft and weft.pc under lib/pkgconfig. Only a module's include/ is
# installed, never its src/.
option(WEFT_INSTALL "Generate the install rules and package config" ${PROJECT_IS_TOP_LEVEL})
if(NOT WEFT_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)

# weft_installables builds exactly what `cmake --install` copies (the module
# libraries), so scripts/check-consumer.sh need not build tests or the CLI.
add_custom_target(weft_installables)

set(WEFT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/weft
    CACHE STRING "Where weftConfig.cmake is installed (relative to the prefix)")

# weft_install_module(<module>) installs library weft_<module> (exported as
# weft::<module>) into the weftTargets export set, and the public headers
# under <module>/include/. A new module is one more call (see the loop below).
# A module with a new *external* dependency also needs a find_dependency()
# line in cmake/weftConfig.cmake.in.
function(weft_install_module module)
  # An optional second argument is the module's include directory (relative
  # to the source root), for a module not at <module>/ (net/hook).
  set(include_dir ${module}/include)
  if(ARGC GREATER 1)
    set(include_dir ${ARGV1})
  endif()
  install(TARGETS weft_${module}
    EXPORT weftTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_development
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_runtime
            NAMELINK_COMPONENT weft_development
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT weft_runtime)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${include_dir}/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    COMPONENT weft_development
    FILES_MATCHING PATTERN "*.hpp")
  add_dependencies(weft_installables weft_${module})
  set_property(GLOBAL APPEND PROPERTY WEFT_INSTALLED_MODULES ${module})
endfunction()

weft_install_module(fibers)
# sync and net are installed as soon as their targets exist.
foreach(m sync net)
  if(TARGET weft_${m})
    weft_install_module(${m})
  endif()
endforeach()

# weft::hook (a shared library in every build, not part of weft::weft).
if(TARGET weft_hook)
  weft_install_module(hook net/hook/include)
endif()

# weft::weft, the INTERFACE target linking every module.
install(TARGETS weft EXPORT weftTargets)

install(EXPORT weftTargets
  NAMESPACE weft::
  DESTINATION ${WEFT_INSTALL_CMAKEDIR}
  COMPONENT weft_development)

# weftConfig.cmake needs the list of modules to report them as components.
get_property(WEFT_INSTALLED_MODULES GLOBAL PROPERTY WEFT_INSTALLED_MODULES)
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/weftConfig.cmake.in
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  INSTALL_DESTINATION ${WEFT_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  DESTINATION ${WEFT_INSTALL_CMAKEDIR}
  COMPONENT weft_development)

# weft.pc (from cmake/weft.pc.in) for pkg-config users.
#  - prefix is ${pcfiledir} plus the way up from the pkgconfig directory, so
#    `cmake --install --prefix`, DESTDIR and a moved tree all work (the
#    configure-time CMAKE_INSTALL_PREFIX would be wrong for them).
#  - Libs: weft's libraries in link order, then Boost.Fiber and
#    Boost.Context (Boost ships no .pc files): weft's public templates call
#    them, so every consumer links them, shared weft or static.
#  - libevent is private to libweft_fibers. A shared library records it in
#    its own DT_NEEDED; a static one needs it on every consumer's link line,
#    so a static build lists libevent_core and libevent_pthreads in Requires
#    (not Requires.private: plain `pkg-config --libs`, without --static,
#    must link).
#  - Cflags: -std=c++20, because g++ 12 defaults to gnu++17 (a -std= given
#    after pkg-config's output wins, e.g. for C++23).
set(WEFT_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    CACHE STRING "Where weft.pc is installed (relative to the prefix)")
if(IS_ABSOLUTE "${WEFT_INSTALL_PKGCONFIGDIR}")
  set(WEFT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH weft_pc_up "/${WEFT_INSTALL_PKGCONFIGDIR}" "/")
  string(REGEX REPLACE "/$" "" weft_pc_up "${weft_pc_up}")
  set(WEFT_PC_PREFIX "\${pcfiledir}/${weft_pc_up}")
endif()
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(WEFT_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(WEFT_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()

set(WEFT_PC_LIBS)
foreach(m IN ITEMS net sync fibers)  # dependents first, for static linking
  if(m IN_LIST WEFT_INSTALLED_MODULES)
    list(APPEND WEFT_PC_LIBS -lweft_${m})
  endif()
endforeach()
set(WEFT_PC_CFLAGS -std=c++20)
# Boost's directories, unless the compiler searches them anyway.
foreach(boost_lib fiber context)
  get_target_property(boost_cfgs Boost::${boost_lib} IMPORTED_CONFIGURATIONS)
  foreach(cfg IN LISTS boost_cfgs)
    get_target_property(boost_loc Boost::${boost_lib} IMPORTED_LOCATION_${cfg})
    if(boost_loc)
      get_filename_component(boost_dir "${boost_loc}" DIRECTORY)
      file(REAL_PATH "${boost_dir}" boost_dir)
      if(NOT boost_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND WEFT_PC_LIBS "-L${boost_dir}")
      endif()
      break()
    endif()
  endforeach()
  list(APPEND WEFT_PC_LIBS -lboost_${boost_lib})
endforeach()
get_target_property(boost_includes Boost::headers INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS boost_includes)
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    list(APPEND WEFT_PC_CFLAGS "-I${dir}")
  endif()
endforeach()
if(CMAKE_THREAD_LIBS_INIT)  # empty when libc holds pthreads (glibc >= 2.34)
  list(APPEND WEFT_PC_LIBS ${CMAKE_THREAD_LIBS_INIT})
endif()
list(REMOVE_DUPLICATES WEFT_PC_LIBS)
if(WEFT_BUILD_SHARED)
  set(WEFT_LIBRARY_KIND shared)
  set(WEFT_PC_REQUIRES)
else()
  set(WEFT_LIBRARY_KIND static)
  set(WEFT_PC_REQUIRES "libevent_core libevent_pthreads")
endif()
list(JOIN WEFT_PC_LIBS " " WEFT_PC_LIBS)
list(JOIN WEFT_PC_CFLAGS " " WEFT_PC_CFLAGS)
configure_file(${CMAKE_CURRENT_LIST_DIR}/weft.pc.in ${PROJECT_BINARY_DIR}/weft.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/weft.pc
  DESTINATION ${WEFT_INSTALL_PKGCONFIGDIR}
  COMPONENT weft_development)

# weft-hook.pc: `pkg-config --cflags --libs weft-hook` links the hook
# library before weft's own (whose runtime it binds to), kept even when the
# program calls no hooked function itself (--no-as-needed).
if(TARGET weft_hook)
  file(WRITE ${PROJECT_BINARY_DIR}/weft-hook.pc
    "# weft-hook.pc: weft's hook layer (docs/hooks.md). Generated by cmake/weft_install.cmake.\n"
    "prefix=${WEFT_PC_PREFIX}\n"
    "libdir=${WEFT_PC_LIBDIR}\n"
    "includedir=${WEFT_PC_INCLUDEDIR}\n\n"
    "Name: weft-hook\n"
    "Description: weft's interposed blocking libc calls: they park weft fibers\n"
    "Version: ${PROJECT_VERSION}\n"
    "Requires: weft\n"
    "Cflags: -I\${includedir}\n"
    "Libs: -L\${libdir} -Wl,--no-as-needed -lweft_hook -Wl,--as-needed -ldl\n")
  install(FILES ${PROJECT_BINARY_DIR}/weft-hook.pc
    DESTINATION ${WEFT_INSTALL_PKGCONFIGDIR}
    COMPONENT weft_development)
endif()

# The license and the changelog travel with an installed tree.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT weft_development)
