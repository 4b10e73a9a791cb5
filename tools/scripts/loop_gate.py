#!/usr/bin/python3
"""Inner-loop gate: the instructions of a port's hot loops, read from its compiled object.

For a port that valgrind cannot run (x86-avx512: valgrind has no AVX-512), the callgrind gate
cannot count instructions. This gate reads them instead: it disassembles the port's object
(objdump), finds in every kernel function the innermost loops that do vector FMAs (or int8
dot products), and counts
each loop's instructions by class — FMAs, broadcasts, vector loads and stores, accesses to the
stack (register spills) and the rest — then compares them with the committed counts
(bench/loops/<port>.json; GCC's -O3 x86-64 code). The counts depend only on the compiler and the code, never on the
machine, so they are exact: a loop that grows, spills, or a loop that appears or disappears
fails until re-recorded with --update (and committed with the change that earned it).

  tools/scripts/loop_gate.py --object build/native/.../ports/x86-avx512/kernels.cpp.o --port x86-avx512
  tools/scripts/loop_gate.py --object ... --port x86-avx512 --update

Exit status: 0 same counts (or fewer instructions in a loop: reported, not failed); 1 a loop
with more instructions or more stack accesses, or a changed set of loops; 2 usage error; 77
(ctest's "skipped") when the counts were recorded by another compiler (2 with
EDGEATTN_ICOUNT_REQUIRED=1, as in CI).
"""

import argparse
import json
import os
import re
import sys

from objdump_loops import compiler_of, functions_of, innermost, loops_in, port_objects

JUMP = re.compile(r"^j[a-z]+$")


def classify(mnemonic, operands):
    memory = "(" in operands
    # Multiply-adds: fp32 FMAs, and the int8 kernels' dot products (vpdpbusd; vpmaddubsw and
    # vpmaddwd where the CPU lacks VNNI), so their loops are gated too.
    if mnemonic.startswith(("vfmadd", "vfnmadd", "vfmsub", "vfnmsub", "vpdpbusd", "vpmaddubsw",
                            "vpmaddwd")):
        kind = "fma"
    elif mnemonic.startswith(("vbroadcast", "vpbroadcast")):
        kind = "broadcast"
    elif mnemonic.startswith("vmov") and memory:
        # AT&T syntax: source first. A memory operand before the comma is a load.
        kind = "load" if operands.index("(") < operands.index(",") else "store"
    else:
        kind = "other"
    return kind, "(%rsp" in operands


def loops_of(path):
    """{function: [loop counts, in address order]} for every function with an FMA loop."""
    functions = functions_of(path, "objdump", "#")
    result = {}
    for name, insns in functions.items():
        counted = []
        for lo, hi in innermost(loops_in(insns, JUMP.match)):
            c = {"fma": 0, "broadcast": 0, "load": 0, "store": 0, "other": 0, "stack": 0, "total": 0}
            for a, mnem, ops in insns:
                if lo <= a <= hi:
                    kind, stack = classify(mnem, ops)
                    c[kind] += 1
                    c["stack"] += stack
                    c["total"] += 1
            if c["fma"]:
                counted.append(c)
        if counted:
            result[name] = counted
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--object", required=True,
                    help="the port's compiled kernels.cpp.o, or a ';'-separated list of objects "
                         "(CMake's $<TARGET_OBJECTS:...>): those under ports/<port>/ are read")
    ap.add_argument("--port", required=True, help="the port's name (bench/loops/<port>.json)")
    ap.add_argument("--counts", help="committed counts (default bench/loops/<port>.json)")
    ap.add_argument("--update", action="store_true", help="write the counts found")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = args.counts or os.path.join(root, "bench", "loops", f"{args.port}.json")
    objects = port_objects(args.object, args.port)  # kernels.cpp.o, int8_vnni.cpp.o, ...
    if not objects:
        print(f"loop_gate: no object of port {args.port} in {args.object}", file=sys.stderr)
        return 2
    args.object = ";".join(objects)
    found = {}
    for o in objects:
        found.update(loops_of(o))
    compiler = compiler_of(objects[0])
    if not found:
        print(f"loop_gate: no FMA loop in {args.object}", file=sys.stderr)
        return 2
    if args.update:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"about": "Innermost FMA loops of each kernel function, counted from the "
                                "object by tools/scripts/loop_gate.py --update",
                       "compiler": compiler, "loops": dict(sorted(found.items()))}, f, indent=1)
            f.write("\n")
        print(f"loop_gate: wrote {sum(len(v) for v in found.values())} loops of {len(found)} "
              f"functions to {path}")
        return 0
    if not os.path.exists(path):
        print(f"loop_gate: no committed counts at {path} (record them with --update)", file=sys.stderr)
        return 2
    with open(path) as f:
        committed = json.load(f)
    if committed.get("compiler") != compiler:
        print(f"loop_gate: counts recorded with {committed.get('compiler')!r}, this object was built "
              f"with {compiler!r}: cannot compare (re-record with --update)")
        # As icount_gate.py: CI (EDGEATTN_ICOUNT_REQUIRED=1) must not skip.
        return 2 if os.environ.get("EDGEATTN_ICOUNT_REQUIRED") == "1" else 77
    failures = 0
    for name in sorted(set(found) | set(committed["loops"])):
        new, old = found.get(name), committed["loops"].get(name)
        if new is None or old is None or len(new) != len(old):
            print(f"FAIL  {name}: {len(old or [])} FMA loops committed, {len(new or [])} found")
            failures += 1
            continue
        for i, (n, o) in enumerate(zip(new, old)):
            grew = n["total"] > o["total"] or n["stack"] > o["stack"]
            verdict = "FAIL" if grew else ("fewer" if n != o else "ok")
            failures += grew
            detail = " ".join(f"{k} {o[k]}->{n[k]}" if o[k] != n[k] else f"{k} {n[k]}"
                              for k in ("total", "fma", "broadcast", "load", "store", "stack"))
            print(f"{verdict:<5} {name} loop {i}: {detail}")
    print(f"loop_gate: {sum(len(v) for v in found.values())} loops of {len(found)} functions, "
          f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
