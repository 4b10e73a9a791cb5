# Port `generic`: no flags beyond the project's; always built.
target_sources(edgeattn PRIVATE ${CMAKE_CURRENT_LIST_DIR}/kernels.cpp)
