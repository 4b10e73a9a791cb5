"""What loop_gate.py (x86) and arm_cycle_model.py (AArch64) share: a compiled object's functions
from objdump, their loops (backward branches), the compiler that built it."""

import os
import re
import subprocess
import sys

FUNC = re.compile(r"^([0-9a-f]+) <(.*)>:$")
INSN = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")


def simplify(name):
    """A demangled kernel name without namespaces and parameters (a GCC clone's suffix such as
    .constprop.0 kept)."""
    for junk in ("edgeattn::kernels::", "(anonymous namespace)::", "edgeattn::"):
        name = name.replace(junk, "")
    return re.sub(r"\(.*?\)( \[clone (\.[a-z]+\.\d+)\])?$", lambda m: m.group(2) or "", name)


def functions_of(path, objdump, comment):
    """{simplified name: [(address, mnemonic, operands)]}; `comment` starts objdump's comments."""
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-C", path], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"{objdump} failed on {path}: {out.stderr.strip()}")
    functions, current = {}, None
    for line in out.stdout.splitlines():
        m = FUNC.match(line)
        if m:
            current = functions.setdefault(simplify(m.group(2)), [])
            continue
        m = INSN.match(line)
        if m and current is not None:
            current.append((int(m.group(1), 16), m.group(2), m.group(3).split(comment)[0].strip()))
    return functions


def loops_in(insns, is_branch):
    """(first, last address) of each loop: a branch back to an address of the same function."""
    if not insns:
        return []
    loops = set()
    for a, mnem, ops in insns:
        t = re.search(r"\b([0-9a-f]+) <", ops)
        if is_branch(mnem) and t and insns[0][0] <= int(t.group(1), 16) <= a:
            loops.add((int(t.group(1), 16), a))
    return sorted(loops)


def innermost(loops):
    return [l for l in loops if not any(o != l and l[0] <= o[0] and o[1] <= l[1] for o in loops)]


def compiler_of(path):
    out = subprocess.run(["readelf", "-p", ".comment", path], capture_output=True, text=True)
    m = re.search(r"GCC: \([^)]*\) [0-9.]+|clang version [0-9.]+", out.stdout)
    return m.group(0) if m else "unknown"


def port_objects(object_arg, port):
    """The objects of `port` in a ';'-separated list (CMake's $<TARGET_OBJECTS:...>: those under
    ports/<port>/), or the one object given; None when they are missing."""
    objects = [o for o in object_arg.split(";") if o]
    if len(objects) > 1:
        objects = [o for o in objects if f"ports/{port}/" in o]
    if not objects or not all(os.path.exists(o) for o in objects):
        return None
    return objects
