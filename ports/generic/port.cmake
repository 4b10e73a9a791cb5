# Port `generic`: scalar C++ the compiler may vectorise; always built, always last.
# Its weight panels are 8 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(generic 8)
edgeattn_port(generic PROCESSORS ".*" RANK 0 SOURCES kernels.cpp)
