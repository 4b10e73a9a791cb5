#!/usr/bin/python3
"""Compares edgeattn_bench results with Google Benchmark's compare.py and gives a verdict.

  tools/scripts/bench_compare.py files BASE.json NEW.json
      Compares two result files (edgeattn_bench --benchmark_repetitions=9
      --benchmark_out=NEW.json --benchmark_out_format=json), e.g. bench/results/<machine>.json
      against a new run of the same machine.

  tools/scripts/bench_compare.py ab REV_A REV_B [--filter REGEX] [--rounds 9]
      Builds edgeattn_bench of two commits, each in its own git worktree under build/ab/ (REV
      "." is the working tree as it is), then runs them interleaved: round r runs A then B (B
      then A on odd rounds), one repetition each, so that a noisy neighbour or a clock change
      hits both sides alike. What holds on a shared machine; a tool for people, not a CI stage.

The table is compare.py's (time change, and the Mann-Whitney U-test p-value per benchmark).
A benchmark REGRESSES when its median time grows by more than --threshold (default 5 %) AND the
U-test says the two samples differ (p < --alpha, default 0.05), which needs at least 9
repetitions per side; fewer is a usage error. A benchmark of BASE that NEW lacks (removed or
renamed) and one that reported an error in NEW fail as a regression does; one only NEW has is
listed. --chart OUT.svg (before the mode) also draws the verdict: each benchmark's change of
median time, coloured by verdict, with its p-value (tools/scripts/bench_chart.py). Exit status: 0 no regression, 1 a regression (or a missing or failed benchmark),
2 usage or build error. Needs Debian's libbenchmark-tools, python3-scipy and python3-numpy,
run with /usr/bin/python3.
"""

import argparse
import copy
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

COMPARE_PY = "/usr/share/benchmark/compare.py"
MIN_REPETITIONS = 9  # compare.py's UTEST_OPTIMAL_REPETITIONS
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def die(msg):
    print(f"bench_compare: {msg}", file=sys.stderr)
    sys.exit(2)


def run(cmd, **kw):
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        die(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return proc


def names_and_errors(path):
    """The benchmark names of a result file (repetitions and aggregates folded), and those that
    reported an error."""
    with open(path) as f:
        benchmarks = json.load(f).get("benchmarks", [])
    names, errors = set(), set()
    for b in benchmarks:
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            continue
        names.add(name)
        if b.get("error_occurred"):
            errors.add(name)
    return names, errors


def verdict(base_path, new_path, threshold, alpha, chart=None):
    """Prints compare.py's table, then our verdict; returns the exit status. With `chart`, also
    writes the verdict as an SVG (bench_chart.compare_chart)."""
    base_names, _ = names_and_errors(base_path)
    new_names, new_errors = names_and_errors(new_path)
    missing = sorted(base_names - new_names)
    added = sorted(new_names - base_names)
    failed = sorted(new_errors)
    if not os.path.exists(COMPARE_PY):
        die(f"{COMPARE_PY} not found (install libbenchmark-tools python3-scipy python3-numpy)")
    with tempfile.TemporaryDirectory() as tmp:
        report_path = os.path.join(tmp, "report.json")
        run(["/usr/bin/python3", COMPARE_PY, "-a", "--no-color", "--alpha", str(alpha), "-d", report_path,
             "benchmarks", base_path, new_path])
        with open(report_path) as f:
            report = json.load(f)

    by_name = {b["name"]: b for b in report}
    regressions, improvements, checked = [], [], 0
    entries = []  # (name, change, p-value, verdict) for the chart
    for b in report:
        if b.get("run_type") == "aggregate" or not b["measurements"]:
            continue
        u = b.get("utest") or {}
        reps = min(u.get("nr_of_repetitions", 0), u.get("nr_of_repetitions_other", 0))
        if reps < MIN_REPETITIONS:
            die(f"{b['name']}: {reps} repetitions per side; the U-test needs at least "
                f"{MIN_REPETITIONS} (--benchmark_repetitions={MIN_REPETITIONS})")
        median = by_name.get(b["name"] + "_median")
        if median:
            change = median["measurements"][0]["time"]
        else:
            old = statistics.median(m["real_time"] for m in b["measurements"])
            new = statistics.median(m["real_time_other"] for m in b["measurements"])
            change = new / old - 1.0
        checked += 1
        significant = u["time_pvalue"] < alpha
        if significant and change > threshold:
            regressions.append((b["name"], change, u["time_pvalue"]))
            entries.append((b["name"], change, u["time_pvalue"], "slower"))
        elif significant and change < -threshold:
            improvements.append((b["name"], change, u["time_pvalue"]))
            entries.append((b["name"], change, u["time_pvalue"], "faster"))
        else:
            entries.append((b["name"], change, u["time_pvalue"], "same"))

    print()
    for name in added:
        print(f"new:     {name}  (not in the base file: not compared)")
    for name in missing:
        print(f"MISSING: {name}  (in the base file, not in the new one: removed or renamed)")
    for name in failed:
        print(f"FAILED:  {name}  (reported an error in the new file)")
    for name, change, p in improvements:
        print(f"faster:  {name}  {change:+.1%} (U-test p = {p:.4f})")
    for name, change, p in regressions:
        print(f"SLOWER:  {name}  {change:+.1%} (U-test p = {p:.4f})")
    if chart:
        import bench_chart
        failed_set = set(failed)
        entries = [e if e[0] not in failed_set else (e[0], None, None, "failed") for e in entries]
        entries += [(n, None, None, "failed") for n in failed if n not in {e[0] for e in entries}]
        entries += [(n, None, None, "missing") for n in missing]
        bench_chart.compare_chart(entries, threshold, alpha, chart,
                                  f"{os.path.basename(base_path)} → {os.path.basename(new_path)}: "
                                  f"{len(regressions)} slower, {len(improvements)} faster, "
                                  f"{len(missing)} missing, {len(failed)} failed")
    print(f"bench_compare: {checked} benchmarks, {len(regressions)} regressed by more than "
          f"{threshold:.0%} at p < {alpha}, {len(improvements)} faster, {len(missing)} missing, "
          f"{len(failed)} failed, {len(added)} new")
    return 1 if regressions or missing or failed else 0


def build(rev, label, work, cmake_args):
    """Builds edgeattn_bench of `rev` ("." = the working tree) in its own worktree."""
    if rev == ".":
        src, sha = ROOT, "worktree"
    else:
        sha = run(["git", "-C", ROOT, "rev-parse", "--verify", rev + "^{commit}"], capture_output=True,
                  text=True).stdout.strip()
        src = os.path.join(work, "src-" + sha[:12])
        if not os.path.exists(src):
            run(["git", "-C", ROOT, "worktree", "add", "--detach", src, sha])
    # One build folder per (source, configure options): a reused folder must not keep another
    # configuration's cached options.
    config = hashlib.sha1("\0".join([sha, *cmake_args]).encode()).hexdigest()[:10]
    bdir = os.path.join(work, f"build-{label}-{config}")
    run(["cmake", "-S", src, "-B", bdir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         "-DEDGEATTN_BUILD_TESTS=OFF", "-DEDGEATTN_BUILD_TOOLS=OFF", "-DEDGEATTN_INSTALL=OFF",
         *cmake_args], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", bdir, "-j", str(os.cpu_count() or 1), "--target", "edgeattn_bench"],
        stdout=subprocess.DEVNULL)
    return os.path.join(bdir, "bench", "edgeattn_bench")


def with_medians(result):
    """Adds a `<name>_median` aggregate per benchmark, as --benchmark_repetitions would."""
    groups = {}
    for b in result["benchmarks"]:
        groups.setdefault(b["name"], []).append(b)
    for name, runs in groups.items():
        agg = copy.deepcopy(runs[0])
        agg.update(name=name + "_median", run_type="aggregate", aggregate_name="median",
                   aggregate_unit="time", repetitions=len(runs),
                   real_time=statistics.median(r["real_time"] for r in runs),
                   cpu_time=statistics.median(r["cpu_time"] for r in runs))
        agg.pop("repetition_index", None)
        result["benchmarks"].append(agg)
    return result


def ab(args):
    if args.rounds < MIN_REPETITIONS:
        die(f"--rounds must be at least {MIN_REPETITIONS} for the U-test")
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    binaries = {"a": build(args.rev_a, "a", work, args.cmake_a), "b": build(args.rev_b, "b", work, args.cmake_b)}
    results = {side: None for side in binaries}
    for r in range(args.rounds):
        for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
            out = run([binaries[side], f"--benchmark_filter={args.filter}",
                       f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"],
                      capture_output=True, text=True).stdout
            one = json.loads(out)
            if not one["benchmarks"]:
                die(f"no benchmark matches --filter={args.filter}")
            for b in one["benchmarks"]:
                b.update(repetition_index=r, repetitions=args.rounds)
            if results[side] is None:
                results[side] = one
            else:
                results[side]["benchmarks"] += one["benchmarks"]
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    paths = {}
    for side, rev in (("a", args.rev_a), ("b", args.rev_b)):
        results[side]["context"]["edgeattn_ab_revision"] = rev
        paths[side] = os.path.join(work, f"{side}.json")
        with open(paths[side], "w") as f:
            json.dump(with_medians(results[side]), f, indent=1)
    print(f"A = {args.rev_a} {' '.join(args.cmake_a)}   B = {args.rev_b} {' '.join(args.cmake_b)}   "
          f"({args.rounds} interleaved rounds; results in {paths['a']}, {paths['b']})")
    return verdict(paths["a"], paths["b"], args.threshold, args.alpha, args.chart)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--threshold", type=float, default=0.05, help="relative slowdown that counts (0.05)")
    ap.add_argument("--alpha", type=float, default=0.05, help="U-test significance level (0.05)")
    ap.add_argument("--chart", metavar="OUT.svg",
                    help="also draw the verdict: each benchmark's change with its p-value (bench_chart.py)")
    sub = ap.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("files", help="compare two edgeattn_bench JSON files")
    f.add_argument("base")
    f.add_argument("new")
    a = sub.add_parser("ab", help="interleaved A/B run of two commits")
    a.add_argument("rev_a")
    a.add_argument("rev_b")
    a.add_argument("--filter", default="ukernel/|mha/edgeattn/S[1-4]_.*/threads:1",
                   help="benchmarks to run (regex)")
    a.add_argument("--rounds", type=int, default=MIN_REPETITIONS)
    a.add_argument("--min-time", type=float, default=0.1, help="seconds per benchmark per round")
    a.add_argument("--work", default=os.path.join(ROOT, "build", "ab"), help="worktrees and builds")
    a.add_argument("--cmake-a", action="append", default=[], help="extra configure argument for A")
    a.add_argument("--cmake-b", action="append", default=[], help="extra configure argument for B")
    args = ap.parse_args()
    if args.mode == "files":
        for p in (args.base, args.new):
            if not os.path.exists(p):
                die(f"no such file: {p}")
        return verdict(args.base, args.new, args.threshold, args.alpha, args.chart)
    return ab(args)


if __name__ == "__main__":
    sys.exit(main())
