#!/usr/bin/python3
"""Prints the README's results table from an edgeattn_bench JSON file (medians of repetitions).

  tools/scripts/bench_table.py bench/results/x86_64-amd-epyc-2core.json

One row per standard shape: edgeattn and the OpenBLAS composition at 1 thread, their ratio,
edgeattn's GFLOP/s as a share of the peak (the widest peak/fma<bits> of the same run at 1
thread), the composition's softmax time, the same at 2 threads and edgeattn's 2:1 speed-up;
then the decode step against the read bandwidth and the kernel benchmarks with their counters.
"""

import json
import re
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]) if b.get("run_type") == "aggregate" else b["name"]
        if b.get("run_type") == "aggregate" or name not in rows:
            rows[name] = b
    return data["context"], rows


def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ctx, rows = medians(sys.argv[1])
    peaks = {}  # width -> {threads: GFLOP/s}
    for n, b in rows.items():
        m = re.match(r"peak/fma(\d+)/(?:real_time/)?threads:(\d+)", n)
        if m:
            peaks.setdefault(int(m.group(1)), {})[int(m.group(2))] = b["GFLOPS"]
    widest = max(peaks) if peaks else None
    peak = peaks.get(widest, {})
    print(f"Machine: {ctx.get('cpu_model', '?')}, {ctx.get('num_cpus')} CPUs; port {ctx.get('edgeattn_port')}; "
          f"compiler {ctx.get('compiler')}; OpenBLAS core {ctx.get('openblas_core', '?')} "
          f"(OPENBLAS_CORETYPE {ctx.get('openblas_coretype', '?')}); run {ctx.get('date')}")
    for width in sorted(peaks, reverse=True):
        p = peaks[width]
        print(f"Peak FMA, {width}-bit vectors: {p[1]:.1f} GFLOP/s at 1 thread"
              + (f", {p[2]:.1f} at 2 (ratio {p[2] / p[1]:.2f})" if p.get(2) else ""))
    print()
    print(f"| shape | edgeattn 1 thr ms | OpenBLAS 1 thr ms | speed-up | edgeattn GFLOP/s (% of {widest}-bit peak) "
          "| OpenBLAS softmax ms | edgeattn 2 thr ms | OpenBLAS 2 thr ms | speed-up | edgeattn 2:1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    shapes = sorted({m.group(1) for n in rows for m in [re.match(r"mha/edgeattn/([^/]+)/threads:1", n)] if m})
    for s in shapes:
        e1 = rows[f"mha/edgeattn/{s}/threads:1/real_time"]
        o1 = rows.get(f"mha/openblas/{s}/threads:1/real_time")
        e2 = rows.get(f"mha/edgeattn/{s}/threads:2/real_time")
        o2 = rows.get(f"mha/openblas/{s}/threads:2/real_time")
        cells = [s, fmt(ms(e1)), fmt(ms(o1)) if o1 else "-", f"{ms(o1) / ms(e1):.2f}×" if o1 else "-",
                 f"{e1['GFLOPS']:.1f} ({e1['GFLOPS'] / peak[1]:.0%})" if peak.get(1) else "-",
                 fmt(o1["softmax_ms"]) if o1 and "softmax_ms" in o1 else "-",
                 fmt(ms(e2)) if e2 else "-", fmt(ms(o2)) if o2 else "-",
                 f"{ms(o2) / ms(e2):.2f}×" if e2 and o2 else "-",
                 f"{ms(e1) / ms(e2):.2f}" if e2 else "-"]
        print("| " + " | ".join(cells) + " |")
    decode = [(n, b) for n, b in rows.items() if n.startswith("decode/")]
    if decode:
        print()
        print("| decode step (KV cache) | threads | time µs | GB/s | STREAM-like read GB/s | share |")
        print("|---|---|---|---|---|---|")
        for name, b in sorted(decode):
            t = int(re.search(r"threads:(\d+)", name).group(1))
            stream = rows.get(f"stream/read/real_time/threads:{t}", {}).get("bytes_per_second")
            gbs = b["bytes_per_second"] * 1e-9
            print(f"| {name.split('/')[2]} | {t} | {ms(b) * 1e3:.0f} | {gbs:.1f} | "
                  + (f"{stream * 1e-9:.1f} | {gbs / (stream * 1e-9):.0%} |" if stream else "- | - |"))
    print()
    print("| kernel benchmark | time µs | rate |")
    print("|---|---|---|")
    for name, b in rows.items():
        if not name.startswith("ukernel/"):
            continue
        if "GFLOPS" in b:
            rate = f"{b['GFLOPS']:.1f} GFLOP/s"
        elif "bytes_per_second" in b:
            rate = f"{b['bytes_per_second'] * 1e-9:.1f} GB/s"
        else:
            rate = b.get("error_message", "-")
        print(f"| {name} | {ms(b) * 1e3:.3g} | {rate} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
