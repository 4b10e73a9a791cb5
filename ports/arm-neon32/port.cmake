# Port `arm-neon32`: xsimd::neon. The NEON flags come from the toolchain (they must apply to
# the whole program for the hard-float ABI), so nothing is added here; without them (an ARMv7
# toolchain that does not enable NEON) the port is left out.
# Its weight panels are 8 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(arm-neon32 8)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  include(CheckCXXSourceCompiles)
  check_cxx_source_compiles("#include <arm_neon.h>
int main() { float32x4_t v = vdupq_n_f32(1.f); return (int)vgetq_lane_f32(v, 0); }"
                            EDGEATTN_HAVE_NEON)
  if(EDGEATTN_HAVE_NEON)
    edgeattn_port(arm-neon32 PROCESSORS "^arm" RANK 20 SOURCES kernels.cpp XSIMD)
  endif()
endif()
