#!/usr/bin/python3
"""Renders edgeattn_bench results, or an A/B comparison, as an SVG chart (Debian's
python3-matplotlib), reproducibly: the same input gives the same bytes (fixed svg.hashsalt, no
date in the metadata, text kept as text).

  tools/scripts/bench_chart.py results bench/results/<machine>.json bench/results/<machine>.svg
      Per standard shape, edgeattn and each baseline as % of the machine's peak FMA rate (the
      widest peak/fma<bits> of the same run, at the same thread count): the whole layer
      (mha/edgeattn, mha/openblas) at 1 and 2 threads, the projection GEMMs (proj/edgeattn,
      proj/xnnpack) at 1 thread, and the decode step as % of the read bandwidth (stream/read).
      Medians where the file holds repetitions.

  tools/scripts/bench_compare.py ... --chart OUT.svg
      The A/B verdict (bench_compare.py calls compare_chart() below): each benchmark's change of
      median time, coloured by verdict, with its U-test p-value.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_table import medians  # noqa: E402

SALT = "edgeattn"
COLOURS = {"edgeattn": "#1f5fa8", "openblas": "#c9772b", "xnnpack": "#5a9e4b", "stream": "#888888"}


def pyplot():
    try:
        import matplotlib
    except ImportError:
        print("bench_chart: python3-matplotlib is not installed (tools/scripts/install-deps.sh "
              "installs it)", file=sys.stderr)
        sys.exit(2)
    matplotlib.use("svg")
    matplotlib.rcParams.update({"svg.hashsalt": SALT, "svg.fonttype": "none", "font.size": 9,
                                "font.family": "DejaVu Sans"})
    import matplotlib.pyplot as plt
    return plt


def save(fig, path):
    # No date, no creator version: the file changes only when the numbers do.
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})


def peaks(rows):
    """{threads: GFLOP/s} of the widest peak/fma<bits> in the file, and the width."""
    found = {}
    for n, b in rows.items():
        m = re.match(r"peak/fma(\d+)/(?:real_time/)?threads:(\d+)", n)
        if m and "GFLOPS" in b and not b.get("error_occurred"):
            found.setdefault(int(m.group(1)), {})[int(m.group(2))] = b["GFLOPS"]
    if not found:
        return None, {}
    widest = max(found)
    return widest, found[widest]


def rate(rows, pattern):
    b = next((b for n, b in rows.items() if re.fullmatch(pattern, n)), None)
    if b is None or b.get("error_occurred"):
        return None
    return b.get("GFLOPS")


def shape_names(rows, prefix):
    names = {m.group(1) for n in rows for m in [re.match(prefix + r"/([^/]+)/", n)] if m}
    return sorted(names)


def bars(ax, groups, series, ylabel, title):
    """Grouped bars: groups on x, one bar per (label, colour, values) series; values in %."""
    width = 0.8 / max(1, len(series))
    for i, (label, colour, hatch, values) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0 for v in values]
        rects = ax.bar(xs, heights, width, label=label, color=colour, hatch=hatch,
                       edgecolor="white", linewidth=0.5)
        for r, v in zip(rects, values):
            text = f"{v:.0f}" if v is not None else "n/a"
            ax.annotate(text, (r.get_x() + r.get_width() / 2, r.get_height()), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.replace("_", "\n", 1) for g in groups])
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, 130)
    ax.set_yticks(range(0, 101, 20))
    ax.axhline(100, color="#444444", linewidth=0.6, linestyle=":")
    ax.legend(fontsize=7, ncol=2, loc="upper left", frameon=False)


def results_chart(path, out):
    ctx, rows = medians(path)
    plt = pyplot()
    width, peak = peaks(rows)
    if not peak:
        print(f"bench_chart: {path} has no peak/fma benchmark to scale by", file=sys.stderr)
        return 2

    def pct(gflops, threads):
        return None if gflops is None or not peak.get(threads) else 100.0 * gflops / peak[threads]

    panels = []
    layer_shapes = [s for s in shape_names(rows, "mha/edgeattn") if not s.startswith("S6")]
    if layer_shapes:
        series = []
        for t in (1, 2):
            if not peak.get(t):
                continue
            for lib, hatch in (("edgeattn", None), ("openblas", "//")):
                vals = [pct(rate(rows, rf"mha/{lib}/{s}/threads:{t}(/real_time)?"), t)
                        for s in layer_shapes]
                if any(v is not None for v in vals):
                    label = {"edgeattn": "edgeattn", "openblas": "OpenBLAS composition"}[lib]
                    colour = COLOURS[lib] if t == 1 else COLOURS[lib] + "99"
                    series.append((f"{label}, {t} thread{'s' if t > 1 else ''}", colour, hatch, vals))
        panels.append(("layer", layer_shapes, series,
                       f"% of the {width}-bit FMA peak", "Whole layer (MHA forward)"))
    proj_shapes = shape_names(rows, "proj/edgeattn")
    if proj_shapes:
        groups = [f"{s}/{g}" for s in proj_shapes for g in ("qkv", "out")]
        series = []
        for lib in ("edgeattn", "xnnpack"):
            vals = [pct(rate(rows, rf"proj/{lib}/{g}/threads:1"), 1) for g in groups]
            if any(v is not None for v in vals):
                label = {"edgeattn": "edgeattn", "xnnpack": "XNNPACK fully_connected"}[lib]
                series.append((label + ", 1 thread", COLOURS[lib], None, vals))
        panels.append(("proj", groups, series, f"% of the {width}-bit FMA peak",
                       "Projection GEMMs (Q/K/V fused, output)"))
    decode = sorted(n for n in rows if n.startswith("decode/edgeattn/"))
    if decode:
        groups, vals = [], []
        for n in decode:
            t = int(re.search(r"threads:(\d+)", n).group(1))
            stream = rows.get(f"stream/read/real_time/threads:{t}", {}).get("bytes_per_second")
            got = rows[n].get("bytes_per_second")
            groups.append(f"{n.split('/')[2]}_{t} thr")
            vals.append(100.0 * got / stream if got and stream else None)
        panels.append(("decode", groups, [("edgeattn decode step", COLOURS["edgeattn"], None, vals)],
                       "% of the multi-stream read bandwidth", "Decode step from memory"))

    per_group = {"layer": 1.0, "proj": 0.55, "decode": 0.9}
    ratios = [max(2.0, per_group[p[0]] * len(p[1])) for p in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(sum(ratios) + 1.5, 4.2),
                             gridspec_kw={"width_ratios": ratios}, squeeze=False)
    for ax, (_, groups, series, ylabel, title) in zip(axes[0], panels):
        bars(ax, groups, series, ylabel, title)
        if len(groups) > 6:
            ax.tick_params(axis="x", labelsize=6)
    peak_text = ", ".join(f"{peak[t]:.0f} GFLOP/s at {t} thread{'s' if t > 1 else ''}"
                          for t in sorted(peak))
    fig.suptitle(f"edgeattn {ctx.get('edgeattn_version', '?')} on {ctx.get('cpu_model', '?')} "
                 f"({ctx.get('num_cpus', '?')} CPUs), port {ctx.get('edgeattn_port', '?')}; "
                 f"peak {peak_text}", fontsize=10)
    fig.tight_layout()
    save(fig, out)
    print(f"bench_chart: wrote {out}")
    return 0


def compare_chart(entries, threshold, alpha, out, title):
    """entries: (name, change, p-value or None, verdict) with verdict one of 'slower',
    'faster', 'same', 'missing', 'failed'; change is the relative change of median time."""
    plt = pyplot()
    colours = {"slower": "#c0392b", "faster": "#2e8b57", "same": "#9a9a9a",
               "missing": "#000000", "failed": "#000000"}
    height = max(2.5, 0.22 * len(entries) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height))
    ys = list(range(len(entries)))[::-1]
    for y, (name, change, p, verdict) in zip(ys, entries):
        value = 100.0 * change if change is not None else 0.0
        ax.barh(y, value, color=colours[verdict], height=0.7)
        label = {"missing": "MISSING", "failed": "FAILED"}.get(verdict)
        if label is None:
            label = f"{value:+.1f}%" + (f"  p={p:.3f}" if p is not None else "")
        ax.annotate(label, (value, y), xytext=(4 if value >= 0 else -4, 0),
                    textcoords="offset points", ha="left" if value >= 0 else "right",
                    va="center", fontsize=7)
    ax.set_yticks(ys)
    ax.set_yticklabels([e[0] for e in entries], fontsize=7)
    for x in (-100 * threshold, 100 * threshold):
        ax.axvline(x, color="#444444", linewidth=0.6, linestyle=":")
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.set_xlabel(f"change of median time (%); red: slower by > {threshold:.0%} at p < {alpha}, "
                  "green: faster, grey: noise")
    ax.set_title(title, fontsize=10)
    lo, hi = ax.get_xlim()
    span = max(abs(lo), abs(hi), 100 * threshold * 2)
    ax.set_xlim(-span * 1.35, span * 1.35)
    fig.tight_layout()
    save(fig, out)
    print(f"bench_compare: chart written to {out}")


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "results":
        print(__doc__, file=sys.stderr)
        return 2
    return results_chart(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    sys.exit(main())
