# Port `arm-neon64-fp16dot`: ARMv8.2-A cores with fp16 arithmetic and dot products (Cortex-A76
# of the Pi 5, A55, A78). Only kernels.cpp gets -march=armv8.2-a+fp16+dotprod (the later -march
# wins over the toolchain's; EDGEATTN_CPU sets -march/-mtune, never -mcpu, on aarch64), so the
# rest of the binary runs on ARMv8.0 cores; cpu.cpp (the HWCAP check) is compiled plain.
# -fno-schedule-insns: as arm-neon64 (the lane-FMA micro-kernel's accumulators stay in registers).
# Its weight panels are 12 columns wide, as arm-neon64's: the same packed blobs serve both.
edgeattn_pack_layout(arm-neon64-fp16dot 12)
edgeattn_port(arm-neon64-fp16dot PROCESSORS "^(aarch64|arm64)$" RANK 25 SOURCES kernels.cpp
              PLAIN_SOURCES cpu.cpp
              COMPILE_OPTIONS -march=armv8.2-a+fp16+dotprod -fno-schedule-insns XSIMD)
