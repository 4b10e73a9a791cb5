# Port `arm-neon32`: xsimd::neon. The NEON flags come from the toolchain (they must apply to
# the whole program for the hard-float ABI), so nothing is added here.
set(_src ${CMAKE_CURRENT_LIST_DIR}/kernels.cpp)
target_sources(edgeattn PRIVATE ${_src})
set_source_files_properties(${_src} PROPERTIES COMPILE_DEFINITIONS "EDGEATTN_KERNELS_USE_XSIMD")
target_compile_definitions(edgeattn PRIVATE EDGEATTN_HAVE_PORT_ARM_NEON32)
