# FindCAF: the C++ Actor Framework 0.17 as packaged by Debian (libcaf-dev).
# Debian ships neither a CMake package config nor a pkg-config file, so we look
# for the header and the libraries ourselves and provide imported targets:
#   CAF::core  CAF::io  CAF::openssl (when the openssl component is requested)
# Usage: find_package(CAF REQUIRED COMPONENTS core io [openssl])

find_path(CAF_INCLUDE_DIR NAMES caf/all.hpp)

set(_caf_known core io openssl)
if(NOT CAF_FIND_COMPONENTS)
  set(CAF_FIND_COMPONENTS core)
endif()

foreach(_comp IN LISTS CAF_FIND_COMPONENTS)
  if(NOT _comp IN_LIST _caf_known)
    message(FATAL_ERROR "FindCAF: unknown component '${_comp}'")
  endif()
  find_library(CAF_${_comp}_LIBRARY NAMES caf_${_comp})
  if(CAF_${_comp}_LIBRARY AND CAF_INCLUDE_DIR)
    set(CAF_${_comp}_FOUND TRUE)
    if(NOT TARGET CAF::${_comp})
      add_library(CAF::${_comp} UNKNOWN IMPORTED)
      set_target_properties(CAF::${_comp} PROPERTIES
        IMPORTED_LOCATION "${CAF_${_comp}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
      if(NOT _comp STREQUAL "core")
        set_property(TARGET CAF::${_comp} APPEND PROPERTY INTERFACE_LINK_LIBRARIES CAF::core)
      endif()
    endif()
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR
  HANDLE_COMPONENTS)
mark_as_advanced(CAF_INCLUDE_DIR)
