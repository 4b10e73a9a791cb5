#!/usr/bin/python3
"""Prints the README's results table from an edgeattn_bench JSON file (medians of repetitions).

  tools/bench_table.py bench/results/x86_64-amd-epyc-2core.json

One row per standard shape: edgeattn and the OpenBLAS composition at 1 thread, their ratio,
edgeattn's GFLOP/s as a share of peak/fma/threads:1 of the same run, the same at 2 threads and
the 2:1 speed-up; then the kernel benchmarks with their counters.
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
    peak = {t: rows.get(f"peak/fma/threads:{t}", {}).get("GFLOPS") for t in (1, 2)}
    print(f"Machine: {ctx.get('cpu_model', '?')}, {ctx.get('num_cpus')} CPUs; port {ctx.get('edgeattn_port')}; "
          f"compiler {ctx.get('compiler')}; run {ctx.get('date')}")
    print(f"Peak FMA: {peak[1]:.1f} GFLOP/s at 1 thread" + (f", {peak[2]:.1f} at 2 (ratio {peak[2] / peak[1]:.2f})"
                                                          if peak[2] else ""))
    print()
    print("| shape | edgeattn 1 thr ms | OpenBLAS 1 thr ms | speed-up | edgeattn GFLOP/s (% of peak) "
          "| edgeattn 2 thr ms | OpenBLAS 2 thr ms | 2:1 thread speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    shapes = sorted({m.group(1) for n in rows for m in [re.match(r"mha/edgeattn/([^/]+)/threads:1", n)] if m})
    for s in shapes:
        e1 = rows[f"mha/edgeattn/{s}/threads:1/real_time"]
        o1 = rows.get(f"mha/openblas/{s}/threads:1/real_time")
        e2 = rows.get(f"mha/edgeattn/{s}/threads:2/real_time")
        o2 = rows.get(f"mha/openblas/{s}/threads:2/real_time")
        cells = [s, fmt(ms(e1)), fmt(ms(o1)) if o1 else "-", f"{ms(o1) / ms(e1):.2f}×" if o1 else "-",
                 f"{e1['GFLOPS']:.1f} ({e1['GFLOPS'] / peak[1]:.0%})" if peak[1] else "-",
                 fmt(ms(e2)) if e2 else "-", fmt(ms(o2)) if o2 else "-",
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
