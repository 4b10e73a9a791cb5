#!/usr/bin/env bash
# The board kit: run on a Raspberry Pi (or any ARM Linux board) from the repository root, after
# copying the cross-built binaries (build/<preset>/tools/cli/edgeattn, build/<preset>/bench/
# edgeattn_bench) to the same paths, or after building natively. It prints the CPU, clocks and
# caches, runs `edgeattn info` and edgeattn_bench (edgeattn, the OpenBLAS composition and XNNPACK
# side by side, the peak-FMA and read-bandwidth yardsticks, the ARM kernels one by one), writes
# bench/results/<board>.json (the commit inside), then a table and a chart that put the measured
# figures next to the cycle model's prediction (tools/scripts/board_report.py,
# bench/models/<board>.json).
#
#   tools/scripts/board_kit.sh <board> [build dir]     e.g.  tools/scripts/board_kit.sh rpi5
#
# <board>: rpi3, zero2w, rpi4 or rpi5 (the model to compare with). The build dir defaults to
# build/rpi3 (the one aarch64 binary), else build/native. EDGEATTN_KIT_MIN_TIME (seconds per
# benchmark, default 0.5) and EDGEATTN_KIT_REPS (repetitions, default 3) trade time for noise.
# Needs: bash, python3 (standard library only). Close other programs; a fan or heat sink keeps
# the clock from throttling (the script prints the clock and temperature before and after).
set -euo pipefail
cd "$(dirname "$0")/../.."
board=${1:-}
case "$board" in
  rpi3 | zero2w | rpi4 | rpi5) ;;
  *) echo "usage: $0 rpi3|zero2w|rpi4|rpi5 [build dir]" >&2; exit 2 ;;
esac
build=${2:-}
if [ -z "$build" ]; then
  for d in build/rpi3 build/native; do
    [ -x "$d/bench/edgeattn_bench" ] && build=$d && break
  done
fi
bench="$build/bench/edgeattn_bench"
cli="$build/tools/cli/edgeattn"
for f in "$bench" "$cli"; do
  [ -x "$f" ] || { echo "board_kit: $f is missing (build or copy it first)" >&2; exit 2; }
done
mkdir -p bench/results
out=bench/results/$board.json

clock() {  # current and maximum clock of cpu0, the governor, the SoC temperature
  local f=/sys/devices/system/cpu/cpu0/cpufreq
  printf 'clock: cur %s kHz, max %s kHz, governor %s; ' "$(cat $f/scaling_cur_freq 2>/dev/null || echo ?)" \
    "$(cat $f/cpuinfo_max_freq 2>/dev/null || echo ?)" "$(cat $f/scaling_governor 2>/dev/null || echo ?)"
  printf 'temperature %s m°C' "$(cat /sys/class/thermal/thermal_zone0/temp 2>/dev/null || echo ?)"
  command -v vcgencmd > /dev/null && printf '; %s; %s' "$(vcgencmd measure_clock arm)" "$(vcgencmd get_throttled)"
  echo
}

echo "== board: $board, build: $build, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
uname -a
grep -m1 -E '^(Model|Hardware)' /proc/cpuinfo || true
grep -E '^(CPU part|CPU revision|Features)' /proc/cpuinfo | sort -u
command -v lscpu > /dev/null && lscpu | grep -E 'Model name|^CPU\(s\)|MHz|cache' || true
clock
echo "== edgeattn info"
"$cli" info
max_khz=$(cat /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq 2>/dev/null || echo 0)
echo "== edgeattn_bench (results to $out)"
"$bench" \
  --benchmark_filter='^(mha/(edgeattn|openblas)/S[1-6][^/]*/threads:1|proj/|peak/|stream/read|decode/edgeattn/S6_decode/.*threads:1|ukernel/.*__arm_neon)' \
  --benchmark_min_time="${EDGEATTN_KIT_MIN_TIME:-0.5}" \
  --benchmark_repetitions="${EDGEATTN_KIT_REPS:-3}" --benchmark_enable_random_interleaving=true \
  --benchmark_context=board="$board" \
  --benchmark_context=commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --benchmark_context=cpu_max_khz="$max_khz" \
  --benchmark_out="$out" --benchmark_out_format=json
clock
model=$board
[ "$board" = zero2w ] && model=rpi3  # the same Cortex-A53
python3 tools/scripts/board_report.py --results "$out" --model "bench/models/$model.json"
