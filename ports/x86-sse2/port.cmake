# Port `x86-sse2`: xsimd::sse2, the x86-64 baseline (no extra flags needed).
edgeattn_port(x86-sse2 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 10 SOURCES kernels.cpp XSIMD)
