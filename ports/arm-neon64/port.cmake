# Port `arm-neon64`: xsimd::neon64; AArch64 always has Advanced SIMD, no extra flags.
set(_src ${CMAKE_CURRENT_LIST_DIR}/kernels.cpp)
target_sources(edgeattn PRIVATE ${_src})
set_source_files_properties(${_src} PROPERTIES COMPILE_DEFINITIONS "EDGEATTN_KERNELS_USE_XSIMD")
target_compile_definitions(edgeattn PRIVATE EDGEATTN_HAVE_PORT_ARM_NEON64)
