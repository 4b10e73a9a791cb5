# Port `x86-sse2`: xsimd::sse2, the x86-64 baseline (no extra flags needed).
# Its weight panels are 8 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(x86-sse2 8)
edgeattn_port(x86-sse2 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 10 SOURCES kernels.cpp XSIMD)
