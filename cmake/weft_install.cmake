# SPDX-License-Identifier: MIT
# Installs weft so that another CMake project can
#   find_package(weft CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE weft::weft)
# Layout: public headers under include/, libraries under lib/, and the package
# files (weftConfig.cmake, weftConfigVersion.cmake, weftTargets*.cmake) under
# lib/cmake/weft. Only a module's include/ is installed, never its src/.
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
  install(TARGETS weft_${module}
    EXPORT weftTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_development
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT weft_runtime
            NAMELINK_COMPONENT weft_development
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT weft_runtime)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${module}/include/
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
