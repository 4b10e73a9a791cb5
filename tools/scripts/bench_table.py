#!/usr/bin/python3
"""Prints the README's results table from an edgeattn_bench JSON file (medians of repetitions).

  tools/scripts/bench_table.py bench/results/x86_64-amd-epyc-2core.json

One row per standard shape: edgeattn and the OpenBLAS composition at 1 thread, their ratio,
edgeattn's GFLOP/s as a share of the peak (the widest peak/fma<bits> of the same run at 1
thread), the composition's softmax time, the same at 2 threads and edgeattn's 2:1 speed-up;
then where the layer's time goes (projection GEMMs measured alone, attention as the rest, the
softmax's exp estimated), edgeattn's projection GEMMs against XNNPACK's, the decode step against
the read bandwidth and the kernel benchmarks with their counters.
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


SHAPES = {  # q_len = kv_len, embed_dim, heads of the self-attention shapes (bench/shapes.hpp)
    "S1_tiny_edge": (64, 256, 4), "S2_vit_tiny": (197, 192, 3), "S3_minilm": (128, 384, 12),
    "S4_bert_base": (128, 768, 12), "S5_whisper_tiny": (1500, 384, 6)}


def breakdown(rows, peak1, width, port):
    """Where the time of the layer goes at 1 thread: the projection GEMMs measured alone
    (proj/edgeattn), the rest of the layer as the difference, and the softmax's exp estimated
    from the port's vectorised exp rate (ukernel/f32_exp__<port>). A profiler (perf) splits the
    layer itself; docs/benchmarks.md has such a split."""
    exp = next((b for n, b in rows.items()
                if n.startswith(f"ukernel/f32_exp__{port.replace('-', '_')}/")), None)
    exp_rate = exp["bytes_per_second"] / 8 if exp and "bytes_per_second" in exp else None
    lines = []
    for s, (L, E, H) in SHAPES.items():
        total = rows.get(f"mha/edgeattn/{s}/threads:1/real_time")
        qkv = rows.get(f"proj/edgeattn/{s}/qkv/threads:1")
        out = rows.get(f"proj/edgeattn/{s}/out/threads:1")
        if not (total and qkv and out) or any(b.get("error_occurred") for b in (total, qkv, out)):
            continue
        flops = {"Q/K/V projection": 2 * L * E * 3 * E, "rest of the layer (attention, head-major stores)": 4 * L * L * E,
                 "output projection": 2 * L * E * E}
        t_total = ms(total)
        times = {"Q/K/V projection": ms(qkv), "output projection": ms(out)}
        times["rest of the layer (attention, head-major stores)"] = t_total - times["Q/K/V projection"] - times["output projection"]
        all_flops = sum(flops.values())
        for stage in flops:
            t = times[stage]
            rate = flops[stage] / (t * 1e-3) * 1e-9 if t > 0 else float("nan")
            share = f"{rate / peak1:.0%}" if peak1 and t > 0 else "-"
            lines.append(f"| {s} | {stage} | {flops[stage] / all_flops:.0%} | {fmt(t)} | "
                         f"{t / t_total:.0%} | {rate:.1f} | {share} |")
        if exp_rate:
            t_exp = H * L * L / exp_rate * 1e3
            lines.append(f"| {s} | of which the softmax's exp (estimate) | 0% | {fmt(t_exp)} | "
                         f"{t_exp / t_total:.0%} | - | - |")
    if lines:
        print()
        print(f"Where the time goes, 1 thread: the projection GEMMs measured alone (proj/edgeattn, "
              f"row-major output), the rest of the layer as the difference (its FLOPs are attention's; "
              f"its time also holds whatever the layer's projections cost beyond the standalone "
              f"GEMMs); % of the {width}-bit peak:")
        print()
        print("| shape | stage | share of FLOPs | ms | share of time | GFLOP/s | % of peak |")
        print("|---|---|---|---|---|---|---|")
        for line in lines:
            print(line)


def projections(rows, peak1):
    """edgeattn's projection GEMMs against XNNPACK's fully-connected operator, 1 thread."""
    lines = []
    for n, b in sorted(rows.items()):
        m = re.match(r"proj/edgeattn/([^/]+)/(qkv|out)/threads:1$", n)
        if not m:
            continue
        x = rows.get(f"proj/xnnpack/{m.group(1)}/{m.group(2)}/threads:1")
        e_ok, x_ok = not b.get("error_occurred"), x and not x.get("error_occurred")
        cells = [m.group(1), m.group(2), f"{ms(b) * 1e3:.0f}" if e_ok else "error",
                 f"{ms(x) * 1e3:.0f}" if x_ok else "-",
                 f"{ms(x) / ms(b):.2f}×" if e_ok and x_ok else "-",
                 f"{b['GFLOPS'] / peak1:.0%}" if e_ok and peak1 else "-",
                 f"{x['GFLOPS'] / peak1:.0%}" if x_ok and peak1 else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if lines:
        print()
        print("| projection GEMM | | edgeattn µs | XNNPACK µs | speed-up | edgeattn % of peak | XNNPACK % of peak |")
        print("|---|---|---|---|---|---|---|")
        for line in lines:
            print(line)


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
    breakdown(rows, peak.get(1), widest, ctx.get("edgeattn_port", ""))
    projections(rows, peak.get(1))
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
