#!/usr/bin/env python3
"""Per-function difference of two insn-profile.sh profiles.

  kernel-patches/tools/insn-diff.py [--inlined] [--min N] BASE NEW

BASE, NEW: output dirs of insn-profile.sh (make profile), or their
profile.json. Prints NEW - BASE in instructions per packet, per function
(by symbol; with --inlined, by innermost function from the debug info, so
inlined helpers show under their own names), largest differences first,
rows of at least --min instructions/pkt (default 0.05), then the totals.
Example: stock redirect against patched egress_pass,
  kernel-patches/tools/insn-diff.py build/insn-profile/redirect-stock \\
      build/insn-profile/egress_pass-patched"""
import argparse
import json
import os


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "profile.json")
    with open(path) as f:
        return json.load(f)


ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("base")
ap.add_argument("new")
ap.add_argument("--inlined", action="store_true", help="by innermost (inlined) function")
ap.add_argument("--min", type=float, default=0.05, help="smallest |difference| shown (default 0.05)")
a = ap.parse_args()
base, new = load(a.base), load(a.new)
key = "inlined" if a.inlined else "functions"
A = {f["function"]: f["per_packet"] for f in base[key]}
B = {f["function"]: f["per_packet"] for f in new[key]}
rows = [(f, B.get(f, 0.0) - A.get(f, 0.0), A.get(f, 0.0), B.get(f, 0.0)) for f in set(A) | set(B)]
rows = sorted((r for r in rows if abs(r[1]) >= a.min), key=lambda r: (-abs(r[1]), r[0]))
print("%s  minus  %s  (%s, instructions/pkt)" % (new["label"], base["label"], key))
print("%-46s %8s %9s %9s" % ("function", "diff", "base", "new"))
for f, d, x, y in rows:
    print("%-46s %+8.1f %9.1f %9.1f" % (f[:46], d, x, y))
tb, tn = base["instructions_per_packet"], new["instructions_per_packet"]
print("%-46s %+8.1f %9.1f %9.1f" % ("TOTAL", tn - tb, tb, tn))
