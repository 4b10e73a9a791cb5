# Port `generic`: scalar C++ the compiler may vectorise; always built, always last.
edgeattn_port(generic PROCESSORS ".*" RANK 0 SOURCES kernels.cpp)
