# Port `x86-avx2`: AVX2 + FMA through xsimd::fma3<xsimd::avx2>; only this file gets the flags.
set(_src ${CMAKE_CURRENT_LIST_DIR}/kernels.cpp)
target_sources(edgeattn PRIVATE ${_src})
set_source_files_properties(${_src} PROPERTIES
  COMPILE_OPTIONS "-mavx2;-mfma"
  COMPILE_DEFINITIONS "EDGEATTN_KERNELS_USE_XSIMD")
target_compile_definitions(edgeattn PRIVATE EDGEATTN_HAVE_PORT_X86_AVX2)
