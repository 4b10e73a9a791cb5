# Port `x86-sse2`: xsimd::sse2, the x86-64 baseline (no extra flags needed).
set(_src ${CMAKE_CURRENT_LIST_DIR}/kernels.cpp)
target_sources(edgeattn PRIVATE ${_src})
set_source_files_properties(${_src} PROPERTIES COMPILE_DEFINITIONS "EDGEATTN_KERNELS_USE_XSIMD")
target_compile_definitions(edgeattn PRIVATE EDGEATTN_HAVE_PORT_X86_SSE2)
