#!/usr/bin/python3
"""Instruction-count gate: a performance check that noise cannot fool.

Runs every case of edgeattn_icount (the kernel benchmarks' cases and the S1 end-to-end run, on
each port this CPU can run) under valgrind's callgrind, counting only the instructions executed
inside edgeattn_icount_measured() for a fixed number of calls, and compares the counts per call
with the committed ones (bench/icounts/<arch>.json).

  tools/scripts/icount_gate.py --driver build/native/bench/edgeattn_icount            # check
  tools/scripts/icount_gate.py --driver build/native/bench/edgeattn_icount --update   # re-record
  tools/scripts/icount_gate.py --driver build/slowdown/bench/edgeattn_icount \
      --filter x86.avx2 --expect-regression REGEX    # the slowed build's check (test.sh)

Exit status: 0 when every count is within the tolerance of the committed one; 1 when a case
executes more instructions (a regression) or fewer (the committed counts are stale: re-record
them with --update and commit them with the change that earned them), or has no committed
count; 2 for a usage error. With --expect-regression REGEX the verdict is inverted for a build
that must be slower: exit 0 only when at least one case matches REGEX and every matching case
has the verdict "regression" (a missing count does not count as one), else 1; 77 (ctest's "skipped") when this machine cannot check — no
valgrind, no counts for its architecture, or another compiler than the one named in the file
(EDGEATTN_ICOUNT_REQUIRED=1 turns that into exit 2, as tools/scripts/test.sh does).
"""

import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import subprocess
import sys

REPEATS = 3


def fail_usage(msg):
    print(f"icount_gate: {msg}", file=sys.stderr)
    sys.exit(2)


def cannot_check(msg):
    """Exit 77 (ctest's "skipped") when this machine cannot check the counts: no valgrind, no
    counts for its architecture, another compiler. EDGEATTN_ICOUNT_REQUIRED=1 (tools/scripts/test.sh)
    makes that a failure instead."""
    print(f"icount_gate: cannot check here: {msg}", file=sys.stderr)
    sys.exit(2 if os.environ.get("EDGEATTN_ICOUNT_REQUIRED") == "1" else 77)


def driver_output(driver, *args):
    out = subprocess.run([driver, *args], capture_output=True, text=True)
    if out.returncode != 0:
        fail_usage(f"{driver} {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def count_case(driver, case):
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
           "--toggle-collect=edgeattn_icount_measured", driver, case, str(REPEATS)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if out.returncode != 0 or not m:
        fail_usage(f"callgrind failed on {case}:\n{out.stderr[-2000:]}")
    total = int(m.group(1))
    if total == 0:
        fail_usage(f"{case}: nothing counted (is edgeattn_icount_measured inlined?)")
    return total // REPEATS


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", required=True, help="path of the edgeattn_icount binary")
    ap.add_argument("--counts", help="committed counts (default bench/icounts/<machine>.json)")
    ap.add_argument("--tolerance", type=float, default=0.02,
                    help="allowed relative change per case (default 0.02)")
    ap.add_argument("--filter", default="", help="only the cases whose name matches this regex")
    ap.add_argument("--update", action="store_true", help="write the measured counts to --counts")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--expect-regression", metavar="REGEX",
                    help="succeed only if every case matching REGEX is flagged as a regression")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    counts_path = args.counts or os.path.join(root, "bench", "icounts", f"{platform.machine()}.json")
    if not shutil.which("valgrind"):
        cannot_check("valgrind is not installed (tools/scripts/install-deps.sh installs it)")
    if not os.access(args.driver, os.X_OK):
        fail_usage(f"no driver at {args.driver} (build the target edgeattn_icount)")
    context = dict(line.split("=", 1) for line in driver_output(args.driver, "--context").splitlines())
    # The cases are listed as valgrind's virtual CPU sees them: it reports its own CPUID, with no
    # AVX-512 (valgrind cannot execute it), so the ports it cannot run are left out, and said so.
    native = [c for c in driver_output(args.driver, "--list").splitlines() if re.search(args.filter, c)]
    cases = [c for c in driver_output("valgrind", "--tool=none", "-q", args.driver, "--list").splitlines()
             if re.search(args.filter, c)]
    uncountable = sorted(set(native) - set(cases))
    if uncountable:
        ports = sorted({re.split(r"__|port:", c)[-1].split("/")[0] for c in uncountable})
        print(f"icount_gate: {len(uncountable)} cases of {', '.join(ports)} not counted: this CPU runs "
              "them, valgrind's CPU does not (valgrind has no AVX-512)")
    if not cases:
        fail_usage(f"no case matches '{args.filter}'")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        measured = dict(zip(cases, pool.map(lambda c: count_case(args.driver, c), cases)))

    if args.update:
        recorded = {"counts": {}}
        if os.path.exists(counts_path):
            with open(counts_path) as f:
                recorded = json.load(f)
        # Keep the counts of ports this CPU cannot run; drop cases of its own ports that the
        # driver no longer lists (renamed or removed kernels).
        ports_here = {re.split(r"__|port:", c)[-1].split("/")[0] for c in measured}
        kept = {c: n for c, n in recorded.get("counts", {}).items()
                if not any(p in c for p in ports_here)}
        counts = dict(sorted({**kept, **measured}.items()))
        recorded = {"about": ("Instructions per call inside edgeattn_icount_measured(), counted by "
                              "valgrind --tool=callgrind; written by tools/scripts/icount_gate.py --update"),
                    "compiler": context.get("compiler", ""),
                    "counts": counts}
        os.makedirs(os.path.dirname(counts_path), exist_ok=True)
        with open(counts_path, "w") as f:
            json.dump(recorded, f, indent=2)
            f.write("\n")
        for case, n in measured.items():
            print(f"{n:>14,}  {case}")
        print(f"icount_gate: wrote {len(measured)} counts to {counts_path}")
        return 0

    if not os.path.exists(counts_path):
        cannot_check(f"no committed counts at {counts_path} (record them with --update)")
    with open(counts_path) as f:
        recorded = json.load(f)
    if recorded.get("compiler") != context.get("compiler"):
        cannot_check(f"counts in {counts_path} were recorded with compiler {recorded.get('compiler')!r}, "
                   f"this driver was built with {context.get('compiler')!r}: re-record with --update")
    committed = recorded["counts"]

    failures = 0
    regressed = set()
    width = max(len(c) for c in cases)
    print(f"{'case':<{width}}  {'committed':>14}  {'measured':>14}  {'change':>8}  verdict")
    for case in cases:
        new = measured[case]
        old = committed.get(case)
        if old is None:
            verdict, change = "FAIL: no committed count (record with --update)", ""
            failures += 1
        else:
            rel = new / old - 1.0
            change = f"{rel:+.2%}"
            if rel > args.tolerance:
                verdict = "FAIL: regression"
                failures += 1
                regressed.add(case)
            elif rel < -args.tolerance:
                verdict = "FAIL: fewer instructions than committed (stale counts: --update and commit)"
                failures += 1
            else:
                verdict = "ok"
        print(f"{case:<{width}}  {old if old is not None else '-':>14}  {new:>14}  {change:>8}  {verdict}")
    print(f"icount_gate: {len(cases) - failures} of {len(cases)} cases within {args.tolerance:.0%} "
          f"of {os.path.relpath(counts_path, root)}")
    if args.expect_regression:
        expected = [c for c in cases if re.search(args.expect_regression, c)]
        unflagged = [c for c in expected if c not in regressed]
        if not expected or unflagged:
            print(f"icount_gate: expected a regression verdict on every case matching "
                  f"'{args.expect_regression}'; " +
                  ("none matches" if not expected else "not flagged: " + ", ".join(unflagged)))
            return 1
        print(f"icount_gate: all {len(expected)} cases matching '{args.expect_regression}' "
              f"flagged as regressions, as expected")
        return 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
