#!/usr/bin/python3
"""A board's measurements next to the cycle model's predictions (the board kit's last step).

Reads bench/results/<board>.json (edgeattn_bench's JSON, written by tools/scripts/board_kit.sh
on the board) and bench/models/<board>.json (tools/scripts/arm_cycle_model.py), and prints, then
writes beside the results (<board>.md, <board>.svg):
  - the kernels the model predicts (f32 GEMM micro-kernel, attention tile, int8 sdot GEMM) and
    the FMA peak: predicted GFLOPS (model share × the core's peak at the board's maximum clock)
    against the measured ukernel/peak benchmarks, and measured / predicted;
  - the standard shapes S1–S6 end to end: edgeattn against the OpenBLAS composition, and the
    projections against XNNPACK (same-run ratios).
The measured kernels are whole tasks (micro-kernel plus stores and epilogue), so a measured share
somewhat below the micro-kernel's predicted one is expected; far below means the model misses
something (cache misses, a throttled clock) worth a look.

  tools/scripts/board_report.py --results bench/results/rpi5.json --model bench/models/rpi5.json
"""

import argparse
import json
import os
import re
import statistics
import sys

from arm_cycle_model import CORES  # the cores' multiply-add rates: the peaks predicted below


def peak_per_cycle(core, cls):
    """Operations per cycle at the core's peak for a class: fma_s 128-bit fmla (4 multiply-adds,
    8 FLOPs), dot sdot (16 multiply-adds, 32 operations); 0 where the core has none."""
    per_instruction = {"fma_s": 8.0, "dot": 32.0}[cls]
    return CORES[core]["fma_per_cycle"][cls] * per_instruction


# model headline -> benchmark name pattern ({isa}: the port's name with '_')
KERNELS = [
    ("f32 GEMM micro-kernel (projections)", r"^ukernel/f32_gemm_\d+x12__{isa}/"),
    ("attention tile, scores + P·V (fp32)", r"^ukernel/f32_attend_\d+x\d+_hd64__{isa}/"),
    ("int8 GEMM micro-kernel (sdot), with its fold of each 32-k block into fp32",
     r"^ukernel/qd8_f32_qc8w_gemm_\d+x12__{isa}/"),
]


def median_counter(benchmarks, pattern, counter):
    """Median of a counter over the repetitions of the benchmarks matching pattern."""
    values = [b[counter] for b in benchmarks
              if re.search(pattern, b["name"]) and b.get("run_type") == "iteration"
              and counter in b and not b.get("error_occurred")]
    return statistics.median(values) if values else None


def median_time(benchmarks, name):
    """(median real time, its unit) over the repetitions of one benchmark."""
    runs = [b for b in benchmarks
            if b.get("run_name", b["name"]) == name and b.get("run_type") == "iteration"]
    if not runs:
        return None, ""
    return statistics.median(b["real_time"] for b in runs), runs[0].get("time_unit", "ns")


def ghz_of(context):
    khz = float(context.get("cpu_max_khz") or 0)
    if khz > 0:
        return khz / 1e6
    return float(context.get("mhz_per_cpu") or 0) / 1e3


def report(results, model):
    context, benchmarks = results.get("context", {}), results.get("benchmarks", [])
    core = model["core"]
    ghz = ghz_of(context)
    lines = [f"# {context.get('board', '?')}: measured against the cycle model ({core})", "",
             f"Commit {context.get('commit', '?')}, {ghz:.2f} GHz (maximum clock), "
             f"{context.get('date', '?')}.", ""]
    bars = []
    peak_pred = peak_per_cycle(core, "fma_s") * ghz
    peak_meas = median_counter(benchmarks, r"^peak/fma128/real_time/threads:1$", "GFLOPS")
    lines += ["| figure | predicted GFLOPS (share of peak) | measured GFLOPS (share of measured "
              "peak) | measured / predicted |", "|---|---|---|---|"]

    # int8 operations are held to the sdot yardstick (16 multiply-adds per instruction), not to
    # the fp32 FMA peak.
    dot_meas = median_counter(benchmarks, r"^peak/dot128/real_time/threads:1$", "GFLOPS")

    def row(label, pred, pred_share, meas, peak=None):
        peak = peak or peak_meas
        share = f" ({100 * meas / peak:.0f} %)" if meas and peak else ""
        ratio = f"{meas / pred:.2f}" if meas and pred else "—"
        meas_text = f"{meas:.2f}{share}" if meas else "not measured"
        lines.append(f"| {label} | {pred:.2f} ({100 * pred_share:.0f} %) | {meas_text} | {ratio} |")
        bars.append((label, pred, meas))

    row("FMA peak (peak/fma128)", peak_pred, 1.0, peak_meas)
    if peak_per_cycle(core, "dot"):
        row("sdot peak (peak/dot128)", peak_per_cycle(core, "dot") * ghz, 1.0, dot_meas, dot_meas)
    for port, data in sorted(model.get("ports", {}).items()):
        isa = port.replace("-", "_")
        for label, pattern in KERNELS:
            h = data.get("headlines", {}).get(label)
            if not h:
                continue
            # multiply-adds per cycle × 2 FLOPs (int8: operations, as the benchmark counts them)
            pred = h["multiply_adds_per_cycle"] * 2 * ghz
            meas = median_counter(benchmarks, pattern.format(isa=isa), "GFLOPS")
            row(f"{port}: {label}", pred, h["fma_share"], meas,
                dot_meas if "int8" in label else None)
    lines += ["", "End to end, one thread (same-run ratios; > 1: edgeattn faster):", "",
              "| shape | edgeattn time | OpenBLAS composition / edgeattn |", "|---|---|---|"]
    shapes = sorted({m.group(1) for b in benchmarks
                     for m in [re.match(r"^mha/edgeattn/(S\d[^/]*)/threads:1/real_time$", b["name"])]
                     if m})
    for s in shapes:
        mine, unit = median_time(benchmarks, f"mha/edgeattn/{s}/threads:1/real_time")
        theirs, their_unit = median_time(benchmarks, f"mha/openblas/{s}/threads:1/real_time")
        if mine:
            ratio = f"{theirs / mine:.2f}" if theirs and their_unit == unit else "—"
            lines.append(f"| {s} | {mine:.3g} {unit} | {ratio} |")
    return "\n".join(lines) + "\n", bars


def svg_chart(title, bars):
    """Pairs of horizontal bars: predicted (outline) and measured (filled) GFLOPS."""
    width, left, bar_h, gap = 900, 420, 14, 12
    top = 40
    height = top + len(bars) * (2 * bar_h + gap) + 30
    scale = max([max(p or 0, m or 0) for _, p, m in bars] + [1e-9])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="14">{title}</text>']
    y = top
    for label, pred, meas in bars:
        out.append(f'<text x="10" y="{y + bar_h + 4}">{label[:60]}</text>')
        for value, style, name in ((pred, 'fill="none" stroke="#36c"', "predicted"),
                                   (meas, 'fill="#36c"', "measured")):
            w = (value or 0) / scale * (width - left - 80)
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" {style}/>')
            text = f"{value:.1f} {name}" if value else f"{name}: none"
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}">{text}</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", help="path of the .md and .svg without the extension (default: the "
                                  "results file's)")
    args = ap.parse_args()
    for path in (args.results, args.model):
        if not os.path.exists(path):
            print(f"board_report: {path} does not exist", file=sys.stderr)
            return 2
    with open(args.results) as f:
        results = json.load(f)
    with open(args.model) as f:
        model = json.load(f)
    if ghz_of(results.get("context", {})) <= 0:
        print("board_report: the results carry no clock (cpu_max_khz, mhz_per_cpu)", file=sys.stderr)
        return 2
    text, bars = report(results, model)
    print(text)
    base = args.out or os.path.splitext(args.results)[0]
    with open(base + ".md", "w") as f:
        f.write(text)
    with open(base + ".svg", "w") as f:
        f.write(svg_chart(f"{results['context'].get('board', '?')}: GFLOPS, predicted and measured",
                          bars))
    print(f"board_report: wrote {base}.md and {base}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
