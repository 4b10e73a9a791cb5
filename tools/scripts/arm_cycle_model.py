#!/usr/bin/python3
"""Cycle model of the ARM ports' inner loops, per Raspberry Pi core (no board needed).

No board is attached to this project, so a change to an ARM kernel is judged here: this script
disassembles a port's cross-built object (aarch64-linux-gnu-objdump), finds in every kernel
function the innermost loops that do vector multiply-adds (fmla .4s / .8h, sdot), counts their
instructions by class, and predicts the cycles of one iteration on a core from the table CORES
below (per-class issue costs, pipes and latencies; the sources are named in each entry). From
that: the loop's share of the core's FMA peak (the multiply-adds alone at the core's best rate,
divided by the prediction). Beside it, what llvm-mca (Debian llvm-16) predicts for the same loop
with -mcpu=<core>: a second, independent opinion (see its caveats in CORES).

  arm_cycle_model.py --object build/rpi3/.../ports/arm-neon64/kernels.cpp.o --port arm-neon64 \
      --board rpi3 [--update]

The results are committed (bench/models/<board>.json) and compared like the instruction counts
(tools/scripts/icount_gate.py): the prediction depends only on the compiler and the code, never on
the machine it runs on, so a loop predicted slower (more cycles per iteration, more stack
accesses), a headline share below the committed one, or a changed set of loops fails until it is
re-recorded with --update and committed with the change that earned it.

Exit status: 0 same or faster; 1 slower or a changed set of loops; 2 usage error; 77 (ctest's
"skipped") when the committed model was recorded from another compiler's code (2 with
EDGEATTN_ICOUNT_REQUIRED=1, as in CI).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from objdump_loops import compiler_of, functions_of, innermost, loops_in, port_objects

BRANCH = re.compile(r"^(b|b\.[a-z]+|cbn?z|tbn?z)$")

# Per-core issue model. Classes (see classify()):
#   fma_s   fmla/fmls on .4s (four fp32 multiply-adds)   fma_h  fmla/fmls on .8h (eight fp16)
#   dot     sdot/udot .4s (sixteen int8 multiply-adds)   fma_d  64-bit forms (.2s, .4h)
#   vfp     other vector fp/convert ops                  valu   other vector integer/permute ops
#   ldq     128-bit vector loads (per register)          ldd    64-bit or narrower vector loads,
#                                                                ld1r
#   ldx     integer loads                                 st     stores (per register)
#   int     integer arithmetic                            br     branches
# "pipes": resource -> units; "use": class -> (resource, cycles it occupies one unit).
# Out-of-order cores: cycles = the largest of the resource bounds, the decode-width bound and the
# accumulator chain bound (fmla into the same register, at the accumulate latency). In-order
# (A53): issue slots in program order with the dual-issue rules below.
CORES = {
    "cortex-a53": {
        "boards": ["rpi3", "zero2w"],
        "in_order": True,
        "fma_per_cycle": {"fma_s": 1.0, "fma_h": 0.0, "dot": 0.0},
        "sources": [
            "ARM publishes no Software Optimization Guide for the Cortex-A53: its in-order issue "
            "costs are llvm-mca's Cortex-A53 model (llvm-16, AArch64SchedA53.td), which issues "
            "one 128-bit fmla per cycle, latency 4",
            "dual-issue rules measured by ncnn (docs/developer-guide/arm-a53-a55-dual-issue.md): "
            "a 128-bit vector load cannot dual-issue with an fmla and costs 2 issue cycles, a "
            "64-bit vector load 1; integer loads, pointer updates and branches dual-issue with "
            "an fmla at no cost; a 64-bit vector load and an insert from an integer register "
            "(ins v.d[1], x) dual-issue",
        ],
        # issue cycles of each class in program order; int/ldx/br pair with a vector instruction
        "issue": {"fma_s": 1, "fma_h": 1, "dot": 1, "fma_d": 1, "vfp": 1, "valu": 1, "ldq": 2,
                  "ldd": 1, "ins": 1, "st": 1},
        "pairs_free": ["int", "ldx", "br"],
        # result latencies (llvm's Cortex-A53 model): loads 3 (4 for 128-bit), an insert from an
        # integer register 3 after its operand, FP multiply-add 4 (the accumulator chain too)
        "latency": {"fma_s": 4, "fma_h": 4, "dot": 4, "fma_d": 4, "vfp": 4, "cvt": 4, "valu": 2,
                    "ins": 3, "ldq": 4, "ldd": 3, "ldx": 3, "int": 1, "br": 1, "st": 1},
    },
    "cortex-a72": {
        "boards": ["rpi4"],
        "in_order": False,
        "decode_width": 3,
        "fma_per_cycle": {"fma_s": 1.0, "fma_h": 0.0, "dot": 0.0},
        "sources": [
            "Cortex-A72 Software Optimization Guide (ARM UAN 0016A, 2015): 3-wide decode; FP/ASIMD "
            "pipes F0 and F1, one load pipe L, one store pipe S, two integer pipes I0/I1, branch B; "
            "ASIMD FP multiply-accumulate latency 7, 3 into the accumulator of a preceding fmla",
            "a Q-form FP multiply occupies its pipe 2 cycles (so one 128-bit fmla per cycle over "
            "F0+F1: 8 fp32 FLOPs per cycle), as llvm's Cortex-A57/A72 model also has it",
        ],
        "pipes": {"F": 2, "F0": 1, "L": 1, "S": 1, "I": 2, "B": 1},
        "use": {"fma_s": ("F", 2), "fma_d": ("F", 1), "vfp": ("F", 2), "valu": ("F", 1),
                "cvt": ("F0", 2), "ins": ("F", 1), "ldq": ("L", 1), "ldd": ("L", 1), "ldx": ("L", 1),
                "st": ("S", 1), "int": ("I", 1), "br": ("B", 1)},
        "acc_latency": {"fma_s": 3, "fma_d": 3},
    },
    "cortex-a76": {
        "boards": ["rpi5"],
        "in_order": False,
        "decode_width": 4,
        "fma_per_cycle": {"fma_s": 2.0, "fma_h": 2.0, "dot": 2.0},
        "sources": [
            "Cortex-A76 Software Optimization Guide (ARM PJDOC-466751330-7215): 4-wide decode; two "
            "FP/ASIMD pipes V0 and V1, two load pipes L01, one store data pipe, three integer "
            "pipes and one branch pipe; ASIMD FP multiply-accumulate (fp32 and fp16 lanes) "
            "latency 4, 2 into the accumulator of a preceding fmla, throughput 2 per cycle; "
            "ASIMD dot product (sdot, udot) latency 2, throughput 2 per cycle; FP convert long "
            "(fcvtl) V0 only",
            "llvm-mca's cortex-a76 model (the Neoverse-N1 one) issues one 128-bit fmla per cycle, "
            "where the guide and measurements give two: its predictions for the A76 are about "
            "twice the cycles of FMA-bound loops",
        ],
        "pipes": {"V": 2, "V0": 1, "L": 2, "S": 1, "I": 3, "B": 1},
        "use": {"fma_s": ("V", 1), "fma_h": ("V", 1), "dot": ("V", 1), "fma_d": ("V", 1),
                "vfp": ("V", 1), "valu": ("V", 1), "cvt": ("V0", 1), "ins": ("V", 1), "ldq": ("L", 1),
                "ldd": ("L", 1), "ldx": ("L", 1), "st": ("S", 1), "int": ("I", 1),
                "br": ("B", 1)},
        "acc_latency": {"fma_s": 2, "fma_h": 2, "dot": 1, "fma_d": 2},
    },
}
BOARDS = {b: core for core, c in CORES.items() for b in c["boards"]}
FMA_CLASSES = ("fma_s", "fma_h", "dot")
# multiply-adds per instruction of each class (fp32 FLOPs count 2 per multiply-add)
MACS = {"fma_s": 4, "fma_h": 8, "dot": 16, "fma_d": 2}


def vector_regs(operands):
    """Registers listed in a load/store's register list or operands ({v0.4s, v1.4s}, q0, d1)."""
    m = re.match(r"\{([^}]*)\}", operands)
    if m:
        regs = [r.strip() for r in m.group(1).split(",")]
        if len(regs) == 1 and "-" in regs[0]:
            a, b = (int(re.search(r"\d+", x).group()) for x in regs[0].split("-"))
            return [regs[0].split("-")[0]] * ((b - a) % 32 + 1)
        return regs
    return [r.strip() for r in operands.split("[")[0].split(",") if r.strip()]


def classify(mnemonic, operands):
    """(class, registers it counts for, touches the stack)."""
    stack = "[sp" in operands
    m = mnemonic
    if m in ("fmla", "fmls"):
        if ".4s" in operands.split(",")[0]:
            return "fma_s", 1, stack
        if ".8h" in operands.split(",")[0]:
            return "fma_h", 1, stack
        return "fma_d", 1, stack
    if m in ("sdot", "udot", "usdot"):
        return ("dot" if ".4s" in operands.split(",")[0] else "fma_d"), 1, stack
    if BRANCH.match(m):
        return "br", 1, stack
    first = operands.split(",")[0].strip()
    is_vec = bool(re.match(r"^\{?[vqdsbh]\d", first))
    if m.startswith(("ld", "st")) and "[" in operands:
        regs = vector_regs(operands)
        if m.startswith("st"):
            return "st", max(1, len(regs)), stack
        if not is_vec:
            return "ldx", 1, stack
        if m.startswith("ld1r") or m.startswith(("ld2r", "ld3r", "ld4r")):
            return "ldd", 1, stack
        wide = any(r.startswith("q") or r.endswith((".4s", ".8h", ".16b", ".2d")) for r in regs)
        return ("ldq" if wide else "ldd"), max(1, len(regs)), stack
    if m in ("ins", "mov") and re.match(r"^v\d+\.d\[1\], x\d+$", operands):
        return "ins", 1, stack  # the upper half of a vector from an integer register
    if m in ("fcvtl", "fcvtl2", "fcvtn", "fcvtn2", "scvtf", "ucvtf", "fcvtzs", "fcvtzu"):
        return ("cvt" if is_vec else "int"), 1, stack
    if is_vec:
        return ("vfp" if m.startswith("f") else "valu"), 1, stack
    return "int", 1, stack


def loops_of(path, objdump):
    """{function: [loop instruction lists]} for every function with a multiply-add loop."""
    functions = functions_of(path, objdump, "//")
    result = {}
    for name, insns in functions.items():
        name = re.sub(r"^void ", "", name)
        loops = loops_in(insns, BRANCH.match)
        inner = innermost(loops)
        body = []
        every = set(loops)
        for lo, hi in sorted(inner):
            ins = [(mn, ops) for a, mn, ops in insns if lo <= a <= hi]
            if not any(classify(mn, ops)[0] in FMA_CLASSES for mn, ops in ins):
                continue
            # The enclosing loop's own instructions (the loops nested in it left out), recorded
            # beside the loop (enclosing_cycles): what its trips are amortised against, e.g. a
            # per-block fold or a tile's stores. Not gated.
            parents = [l for l in every if l != (lo, hi) and l[0] <= lo and hi <= l[1]]
            rest = []
            if parents:
                plo, phi = min(parents, key=lambda l: l[1] - l[0])
                nested = [l for l in every if l != (plo, phi) and plo <= l[0] and l[1] <= phi]
                rest = [(mn, ops) for a, mn, ops in insns if plo <= a <= phi
                        and not any(nlo <= a <= nhi for nlo, nhi in nested)]
            body.append((ins, rest))
        if body:
            result[name] = body
    return result


def counts_of(ins):
    c = {}
    stack = 0
    for mn, ops in ins:
        cls, n, st = classify(mn, ops)
        c[cls] = c.get(cls, 0) + n
        stack += st
    c["total"] = len(ins)
    c["stack"] = stack
    return c


def chain_bound(ins, core):
    """Cycles per iteration forced by multiply-adds into the same accumulator register."""
    per_reg = {}
    for mn, ops in ins:
        cls = classify(mn, ops)[0]
        lat = core["acc_latency"].get(cls)
        if lat:
            reg = ops.split(",")[0].split(".")[0].strip()
            per_reg[reg] = per_reg.get(reg, 0) + lat
    return max(per_reg.values(), default=0)


REG = re.compile(r"\b([vqdsbhxw])(\d+)\b|\b(sp|xzr|wzr)\b")


def registers(text):
    """The registers named in an operand text, as v<n> (SIMD&FP) or x<n> (general)."""
    out = []
    for m in REG.finditer(text):
        if m.group(3):
            continue  # sp, zero registers: no dependency worth modelling
        out.append(("v" if m.group(1) in "vqdsbh" else "x") + m.group(2))
    return out


def dests_and_sources(mn, ops):
    """(written registers, read registers) of an AArch64 instruction in objdump's syntax."""
    mem = ops.find("[")
    regs_part, mem_part = (ops[:mem], ops[mem:]) if mem >= 0 else (ops, "")
    regs = registers(regs_part)
    base = registers(mem_part)
    writeback = mem_part.endswith("!") or bool(re.search(r"\],\s*#", mem_part))
    if BRANCH.match(mn) or mn in ("cmp", "cmn", "tst", "fcmp"):
        return [], regs + base
    if mn.startswith("st"):
        return (base[:1] if writeback else []), regs + base
    if mn.startswith("ld"):
        return regs + (base[:1] if writeback else []), base
    if not regs:
        return [], []
    dest, srcs = regs[0], regs[1:]
    # Accumulating instructions and inserts also read their destination.
    if mn in ("fmla", "fmls", "sdot", "udot", "mla", "mls", "sadalp", "uadalp", "bsl", "bit",
              "bif", "smlal", "smlal2", "umlal", "umlal2") or mn == "ins" or (
            mn == "mov" and "[" in ops.split(",")[0]):
        srcs = srcs + [dest]
    return [dest], srcs


def in_order_cycles(ins, core):
    """Steady-state cycles per iteration of an in-order dual-issue core: the loop body issued in
    program order, each instruction when its operands are ready (core["latency"]) and an issue
    slot is free (core["issue"] cycles of the single vector/load issue port; integer, integer
    loads and branches pair with the previous instruction; a 64-bit vector load pairs with an
    insert). Simulated over 12 iterations, the last 8 averaged."""
    lat, issue, free_cls = core["latency"], core["issue"], set(core["pairs_free"])
    ready = {}
    cycle = 0.0  # the cycle in which the next instruction may issue
    slot_used = None  # class issued in this cycle when one more may pair with it
    marks = []
    for it in range(12):
        for mn, ops in ins:
            cls, n, _ = classify(mn, ops)
            dests, srcs = dests_and_sources(mn, ops)
            # every source, the accumulator included, must be ready at issue (core["latency"])
            t = cycle
            for r in srcs:
                if r in ready:
                    t = max(t, ready[r])
            if t > cycle:
                cycle, slot_used = t, None
            pairs = slot_used is not None and (cls in free_cls or {cls, slot_used} == {"ins", "ldd"}
                                               or (slot_used in free_cls and cls not in free_cls
                                                   and issue.get(cls, 1) <= 1))
            if pairs:
                start = cycle - 1 if cycle >= 1 else cycle
                slot_used = None
                cost = 0
            else:
                start = cycle
                cost = issue.get(cls, 1) * n if cls not in free_cls else 1
                slot_used = cls
            done = start + lat.get(cls, 1)
            for r in dests:
                ready[r] = done
            cycle = start + cost if cost else cycle
        marks.append(cycle)
    return round((marks[-1] - marks[3]) / 8, 2)


def predict(ins, core):
    """Predicted cycles of one iteration of a loop body on a core."""
    if core["in_order"]:
        return in_order_cycles(ins, core)
    load = {p: 0.0 for p in core["pipes"]}
    for mn, ops in ins:
        cls, n, _ = classify(mn, ops)
        pipe, cyc = core["use"].get(cls, ("I", 1))
        load[pipe] += cyc * n
    bounds = [load[p] / u for p, u in core["pipes"].items()]
    if "F0" in load:  # F0's work also occupies one of the F pair
        bounds.append((load["F"] + load["F0"]) / core["pipes"]["F"])
    if "V0" in load:
        bounds.append((load["V"] + load["V0"]) / core["pipes"]["V"])
    bounds.append(len(ins) / core["decode_width"])
    bounds.append(chain_bound(ins, core))
    return max(bounds)


def ideal_cycles(c, core):
    """Cycles of the loop's multiply-adds alone at the core's peak rate for their class."""
    t = 0.0
    for cls in FMA_CLASSES:
        if c.get(cls):
            rate = core["fma_per_cycle"][cls] or core["fma_per_cycle"]["fma_s"]
            t += c[cls] / rate
    return t


def llvm_mca(ins, cpu):
    """llvm-mca-16's cycles per iteration for the loop body, or None where it is missing."""
    tool = shutil.which("llvm-mca-16") or shutil.which("llvm-mca")
    if not tool:
        return None
    lines = [".Lloop:"]
    for mn, ops in ins:
        if BRANCH.match(mn):  # every branch of the body goes back to its top
            ops = re.sub(r"[0-9a-f]+ <.*$", ".Lloop", ops)
        lines.append(f"  {mn} {ops}")
    iterations = 100
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        name = f.name
    try:
        out = subprocess.run([tool, "-mtriple=aarch64-linux-gnu", f"-mcpu={cpu}",
                              f"-iterations={iterations}", name], capture_output=True, text=True)
    finally:
        os.unlink(name)
    m = re.search(r"Total Cycles:\s+(\d+)", out.stdout)
    return round(int(m.group(1)) / iterations, 2) if m else None


def model(functions, cpu):
    core = CORES[cpu]
    result = {}
    for name, bodies in sorted(functions.items()):
        rows = []
        for ins, rest in bodies:
            c = counts_of(ins)
            cycles = predict(ins, core)
            ideal = ideal_cycles(c, core)
            mca = llvm_mca(ins, cpu)
            rows.append({"counts": {k: c[k] for k in sorted(c)},
                         "cycles": round(cycles, 2),
                         "fma_share": round(ideal / cycles, 3) if cycles else 0.0,
                         "llvm_mca_cycles": mca,
                         "llvm_mca_fma_share": round(ideal / mca, 3) if mca else None,
                         "enclosing_cycles": round(predict(rest, core), 2) if rest else None,
                         "enclosing_counts": ({k: v for k, v in sorted(counts_of(rest).items()) if v}
                                              if rest else None)})
        result[name] = rows
    return result


# The headline figures: (label, {part: function pattern}). Each part is the loop with the most
# multiply-adds among the functions its pattern matches (the slowest such loop where several
# copies exist: GCC clones the attention's micro-kernel per call site); a figure of several parts
# (attention: the scores Q·Kᵀ and P·V, equal multiply-adds for a square tile) adds their cycles.
NEON = r"SimdVec<xsimd::neon64>"
HEADLINES = [
    ("f32 GEMM micro-kernel (projections)",
     {"gemm": rf"^gemm_block<{NEON}, [2-9]\d*, 12, ElemF32>$"}),
    ("attention tile, scores + P·V (fp32)",
     {"scores": rf"^gemm_ukernel_neon_lanes<{NEON}, \d+, 12, false, ElemF32>(\.constprop\.\d+)?$",
      "P·V": rf"^gemm_ukernel_neon_lanes<{NEON}, \d+, 12, true, ElemF32>(\.constprop\.\d+)?$"}),
    ("int8 GEMM micro-kernel (sdot), with its fold of each 32-k block into fp32",
     {"gemm": r"^gemm_i8_block<I8NeonDot, [2-9]\d*, 12>$"}),
]
def fmas(row):
    return sum(row["counts"].get(c, 0) for c in FMA_CLASSES)


def headlines(loops, cpu):
    core = CORES[cpu]
    out = {}
    f32_rate = None
    for label, parts in HEADLINES:
        rows, names = [], []
        for part, pattern in parts.items():
            found = [(n, r) for n, rs in loops.items() if re.search(pattern, n) for r in rs]
            if not found:
                break
            most = max(fmas(r) for _, r in found)
            name, row = min(((n, r) for n, r in found if fmas(r) == most),
                            key=lambda nr: nr[1]["fma_share"])
            rows.append(row)
            names.append(name)
        if len(rows) != len(parts):
            continue
        ideal = sum(ideal_cycles(r["counts"], core) for r in rows)
        cycles = sum(r["cycles"] for r in rows)
        macs = sum(sum(r["counts"].get(c, 0) * MACS[c] for c in FMA_CLASSES) for r in rows)
        rate = macs / cycles if cycles else 0.0
        h = {"functions": names, "fma_share": round(ideal / cycles, 3),
             "multiply_adds_per_cycle": round(rate, 2)}
        if f32_rate is None:
            f32_rate = rate
        elif label != HEADLINES[1][0]:
            h["vs_f32_gemm"] = round(rate / f32_rate, 2)
        out[label] = h
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--object", required=True,
                    help="the port's compiled kernels, a ';'-separated list of objects allowed "
                         "(those under ports/<port>/ are read)")
    ap.add_argument("--port", required=True, help="the port (arm-neon64, arm-neon64-fp16dot)")
    ap.add_argument("--board", required=True, choices=sorted(BOARDS),
                    help="the board whose core is modelled: bench/models/<board>.json")
    ap.add_argument("--model", help="committed results (default bench/models/<board>.json)")
    ap.add_argument("--objdump", default="aarch64-linux-gnu-objdump")
    ap.add_argument("--update", action="store_true", help="write the results found")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = args.model or os.path.join(root, "bench", "models", f"{args.board}.json")
    objects = port_objects(args.object, args.port)
    if not objects:
        print(f"arm_cycle_model: no object of port {args.port} in {args.object}", file=sys.stderr)
        return 2
    cpu = BOARDS[args.board]
    functions = {}
    for o in objects:
        functions.update(loops_of(o, args.objdump))
    if not functions:
        print(f"arm_cycle_model: no multiply-add loop in {args.object}", file=sys.stderr)
        return 2
    loops = model(functions, cpu)
    heads = headlines(loops, cpu)
    for label, h in heads.items():
        extra = f", {h['vs_f32_gemm']}x the f32 GEMM's rate" if "vs_f32_gemm" in h else ""
        print(f"{args.board} ({cpu}) {args.port}: {label}: {100 * h['fma_share']:.1f} % of FMA "
              f"peak, {h['multiply_adds_per_cycle']} multiply-adds per cycle{extra}")
    compiler = compiler_of(objects[0])
    committed = {}
    if os.path.exists(path):
        with open(path) as f:
            committed = json.load(f)
    if args.update:
        committed.setdefault("about", f"Predicted cycles per iteration of the ARM ports' "
                                      f"multiply-add loops on the {cpu} ({args.board}), from "
                                      "tools/scripts/arm_cycle_model.py --update")
        committed["core"] = cpu
        committed["sources"] = CORES[cpu]["sources"]
        committed.pop("compiler", None)
        committed.setdefault("ports", {})[args.port] = {"compiler": compiler, "headlines": heads,
                                                        "loops": loops}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(committed, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"arm_cycle_model: wrote {sum(len(v) for v in loops.values())} loops of "
              f"{len(loops)} functions ({args.port}) to {path}")
        return 0
    old_port = committed.get("ports", {}).get(args.port)
    if old_port is None:
        print(f"arm_cycle_model: no committed model of {args.port} at {path} (record it with "
              "--update)", file=sys.stderr)
        return 2
    if old_port.get("compiler") != compiler:
        print(f"arm_cycle_model: model recorded from {old_port.get('compiler')!r} code, this "
              f"object was built with {compiler!r}: cannot compare (re-record with --update)")
        return 2 if os.environ.get("EDGEATTN_ICOUNT_REQUIRED") == "1" else 77
    failures = 0
    old = old_port["loops"]
    for name in sorted(set(loops) | set(old)):
        new_rows, old_rows = loops.get(name), old.get(name)
        if new_rows is None or old_rows is None or len(new_rows) != len(old_rows):
            print(f"FAIL  {name}: {len(old_rows or [])} loops committed, {len(new_rows or [])} found")
            failures += 1
            continue
        for i, (n, o) in enumerate(zip(new_rows, old_rows)):
            slower = n["cycles"] > o["cycles"] + 1e-9 or n["counts"]["stack"] > o["counts"]["stack"]
            verdict = "FAIL" if slower else ("faster" if n["cycles"] < o["cycles"] else "ok")
            failures += slower
            if verdict != "ok":
                print(f"{verdict:<6} {name} loop {i}: {o['cycles']} -> {n['cycles']} cycles, "
                      f"stack {o['counts']['stack']} -> {n['counts']['stack']}")
    for label, h in old_port.get("headlines", {}).items():
        new = heads.get(label)
        if new is None or new["fma_share"] < h["fma_share"] - 1e-9:
            print(f"FAIL  {label}: share {h['fma_share']} -> {new and new['fma_share']}")
            failures += 1
    print(f"arm_cycle_model: {args.board} {args.port}: {sum(len(v) for v in loops.values())} loops "
          f"of {len(loops)} functions, {failures} predicted slower")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
