// XNNPACK on the boards, under qemu-user (tools/scripts/check-xnnpack-qemu.sh): xnn_initialize()
// (which reads the CPU through cpuinfo: /proc/cpuinfo and the auxiliary vector) and one
// fully-connected operator, as proj/xnnpack/... uses it, against a double-precision product.
#include <xnnpack.h>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>
int main() {
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::puts("xnn_initialize failed");
    return 1;
  }
  const int K = 64, N = 48, M = 5;
  std::vector<float> w(N * K), b(N), x(M * K), y(M * N);
  for (int i = 0; i < N * K; ++i) w[i] = std::sin(i * 0.1f);
  for (int i = 0; i < N; ++i) b[i] = 0.01f * i;
  for (int i = 0; i < M * K; ++i) x[i] = std::cos(i * 0.07f);
  xnn_operator_t op = nullptr;
  const float inf = std::numeric_limits<float>::infinity();
  if (xnn_create_fully_connected_nc_f32(K, N, K, N, w.data(), b.data(), -inf, inf, 0, &op) !=
      xnn_status_success) {
    std::puts("create failed");
    return 1;
  }
  if (xnn_setup_fully_connected_nc_f32(op, M, x.data(), y.data(), nullptr) != xnn_status_success ||
      xnn_run_operator(op, nullptr) != xnn_status_success) {
    std::puts("run failed");
    return 1;
  }
  double err = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double a = b[n];
      for (int k = 0; k < K; ++k) a += double(x[m * K + k]) * w[n * K + k];
      err = std::fmax(err, std::fabs(a - y[m * N + n]));
    }
  std::printf("xnn fully_connected ok, max abs error %.3g\n", err);
  return err < 1e-4 ? 0 : 1;
}
