#!/usr/bin/python3
"""Runs edgeattn_bench's OpenBLAS composition under several OpenBLAS core types and says which
one to keep: the fastest whose results match the double-precision reference.

  tools/scripts/bench_openblas_coretypes.py [--bench build/native/bench/edgeattn_bench] [--rounds 3]

OPENBLAS_CORETYPE is read when OpenBLAS loads, so each core type is a process of its own,
started with the variable set (or removed, for "unset": OpenBLAS's own choice for the CPU).
Rounds run the core types in turn, so that a noisy neighbour hits all of them alike. Every
benchmark checks its output against the reference before timing; one that fails is reported
as an error and rules its core type out. Exit status 0 when at least one core type is correct.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

CORE_TYPES = ["unset", "Haswell", "SkylakeX", "Cooperlake"]


def run(bench, coretype, out, min_time):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype != "unset":
        env["OPENBLAS_CORETYPE"] = coretype
    subprocess.run([bench, "--benchmark_filter=mha/openblas/", "--benchmark_min_time=%g" % min_time,
                    "--benchmark_out=" + out, "--benchmark_out_format=json"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    return data["context"], data["benchmarks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/native/bench/edgeattn_bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.2)
    args = ap.parse_args()

    times = {c: {} for c in CORE_TYPES}    # core type -> benchmark -> [ms per round]
    errors = {c: set() for c in CORE_TYPES}
    cores = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for c in CORE_TYPES:
                context, benchmarks = run(args.bench, c, os.path.join(tmp, "%s-%d.json" % (c, r)), args.min_time)
                cores[c] = context.get("openblas_core", "?")
                for b in benchmarks:
                    if b.get("error_occurred"):
                        errors[c].add("%s: %s" % (b["name"], b.get("error_message", "")))
                        continue
                    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
                    times[c].setdefault(b["name"], []).append(b["real_time"] * scale)

    names = sorted({n for c in CORE_TYPES for n in times[c]})
    print("| benchmark | " + " | ".join("%s (%s)" % (c, cores.get(c, "?")) for c in CORE_TYPES) + " |")
    print("|---|" + "---|" * len(CORE_TYPES))
    for n in names:
        cells = []
        for c in CORE_TYPES:
            t = times[c].get(n)
            cells.append("%.3g ms" % statistics.median(t) if t else "error")
        print("| %s | %s |" % (n.replace("/real_time", ""), " | ".join(cells)))

    # Geometric mean of the medians over the benchmarks every correct core type ran.
    correct = [c for c in CORE_TYPES if not errors[c] and all(n in times[c] for n in names)]
    for c in CORE_TYPES:
        for e in sorted(errors[c]):
            print("%s: wrong result: %s" % (c, e))
    if not correct:
        print("no core type gave correct results", file=sys.stderr)
        return 1
    score = {c: math.exp(statistics.mean(math.log(statistics.median(times[c][n])) for n in names)) for c in correct}
    best = min(correct, key=score.get)
    for c in correct:
        print("%-10s (core %s): geometric mean %.3f ms, %+.1f%% against the fastest" %
              (c, cores[c], score[c], 100.0 * (score[c] / score[best] - 1.0)))
    print("fastest correct core type: %s (OpenBLAS core %s)" % (best, cores[best]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
