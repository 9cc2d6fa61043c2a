# SPDX-License-Identifier: MIT
# How weft's module libraries are built: static by default, shared with
# WEFT_BUILD_SHARED=ON (which defaults to BUILD_SHARED_LIBS, so a parent
# project that builds shared libraries gets shared weft libraries too).
if(BUILD_SHARED_LIBS)
  set(weft_shared_default ON)
else()
  set(weft_shared_default OFF)
endif()
option(WEFT_BUILD_SHARED "Build weft_fibers, weft_sync and weft_net as shared libraries"
       ${weft_shared_default})
unset(weft_shared_default)
if(WEFT_BUILD_SHARED)
  set(WEFT_LIBRARY_TYPE SHARED)
else()
  set(WEFT_LIBRARY_TYPE STATIC)
endif()

# WEFT_SOVERSION: while weft is 0.x every minor release may break the ABI
# (as its API), so the soname carries major.minor (libweft_fibers.so.0.1);
# from 1.0 on, the major alone.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(WEFT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(WEFT_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# weft_library_properties(<target>) sets what every module library shares
# beyond its add_library(<target> ${WEFT_LIBRARY_TYPE} ...) line: for a
# shared build, the soname, the version and the install RPATH.
# Symbols keep the default visibility: every non-inline function in src/ is
# exported, and weft uses no per-declaration export macros.
function(weft_library_properties target)
  if(WEFT_BUILD_SHARED)
    # The installed libraries find each other (libweft_net needs
    # libweft_sync and libweft_fibers) in their own directory, wherever the
    # prefix is; the build tree keeps CMake's absolute build RPATH.
    set_target_properties(${target} PROPERTIES
      VERSION ${PROJECT_VERSION}
      SOVERSION ${WEFT_SOVERSION}
      POSITION_INDEPENDENT_CODE ON
      INSTALL_RPATH "$ORIGIN")
  endif()
endfunction()

# weft_installed_executable_rpath(<target>): an installed program of a shared
# build finds libweft_*.so in the prefix's library directory, relative to
# its own place, wherever the prefix is.
function(weft_installed_executable_rpath target)
  if(WEFT_BUILD_SHARED AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    file(RELATIVE_PATH up "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/${up}")
  elseif(WEFT_BUILD_SHARED)
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "${CMAKE_INSTALL_LIBDIR}")
  endif()
endfunction()
