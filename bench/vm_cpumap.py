#!/usr/bin/env python3
"""The cpumap redirect-again path in the instruction-counting guest, per kernel.

    bench/vm_cpumap.py OUT LABEL=cpumap.json...

Each file is devmap-bench's output of `--sections cpumap --cpumap-one-cpu` in
the -icount shift=0 guest (bench/vm.sh -a): one CPU, so the RX side (live
frame, rx_steer, cpumap enqueue) and the slot's side (kthread, cpu_policy,
redirect again into the devmap slot, egress_count, veth transmit, the sink's
NAPI) all run on it, and a guest nanosecond is a guest instruction. The
working program's frames/s over its own clock is then frames per 10^9
instructions: instructions/frame = 1000 / Mframes/s. 'single' is rx_single
doing the same policy on the RX side and redirecting straight into the devmap
slot; split minus single is what the cpumap hop adds per frame. Runs of
`--cpumap-pass` (rows with "verdict": "pass") have the policy pass each
frame to the stack instead: an skb built on the CPU doing the work, counted
and dropped at tc ingress. Writes
OUT.json and OUT.md; exits 1 when a run lost frames (the figure would then
count work on frames that never reached the sink).
"""
import json
import sys


def insns(mode):
    m = mode["mframes_per_s"]
    return {k: 1000.0 / m[k] for k in ("median", "min", "max") if m.get(k)}, mode["delivered_ratio"]


def main():
    out = sys.argv[1]
    runs = []
    for spec in sys.argv[2:]:
        label, path = spec.split("=", 1)
        with open(path) as f:
            runs.append((label, json.load(f)))
    table, problems, verdicts = {}, [], set()
    for label, r in runs:
        rows = r.get("cpumap", [])
        for row in rows:
            if "skipped" in row:
                problems.append(f"{label}: {row['skipped']}")
                continue
            verdicts.add(row.get("verdict", "redirect"))
            for mode in ("single", "split"):
                fig, delivered = insns(row[mode])
                if delivered < 1.0:
                    problems.append(f"{label}: {row['case']} {mode}: delivered {delivered:.4f} of the frames")
                table.setdefault((row["case"], mode), {})[label] = fig["median"]
            table.setdefault((row["case"], "hop"), {})[label] = (
                table[(row["case"], "split")][label] - table[(row["case"], "single")][label])
    labels = [l for l, _ in runs]
    if len(verdicts) > 1:
        problems.append("runs of both verdicts (pass and redirect) in one table")
    if verdicts == {"pass"}:
        names = {
            "single": "rx_single: policy on the RX side, XDP_PASS: an skb to the stack (tc drops it)",
            "split": "rx_steer -> cpumap slot (cpu_policy), XDP_PASS: the kthread builds an skb for the stack",
            "hop": "what the cpumap hop adds (split - single)",
        }
    else:
        names = {
            "single": "rx_single: policy on the RX side, redirect into the devmap slot (egress_count), transmit",
            "split": "rx_steer -> cpumap slot (cpu_policy) -> redirect again into the devmap slot (egress_count), "
                     "transmit",
            "hop": "what the cpumap hop adds (split - single)",
        }
    md = ["| policy | path | " + " | ".join(labels) +
          (f" | {labels[-1]} / {labels[0]}" if len(labels) > 1 else "") + " |",
          "|---|---|" + "---:|" * (len(labels) + (1 if len(labels) > 1 else 0))]
    for (case, mode), vals in table.items():
        cells = [f"{vals[l]:.1f}" if l in vals else "-" for l in labels]
        if len(labels) > 1:
            a, b = vals.get(labels[0]), vals.get(labels[-1])
            cells.append(f"x{b / a:.3f}" if a and b else "-")
        md.append(f"| {case} | {names[mode]} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("Guest instructions per frame (QEMU TCG, -icount shift=0, one CPU; median of the runs).")
    for p in problems:
        md.append(f"PROBLEM: {p}")
    with open(out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    with open(out + ".json", "w") as f:
        json.dump({"unit": "instructions/frame", "labels": labels,
                   "rows": [{"case": c, "path": m, **{l: v.get(l) for l in labels}} for (c, m), v in table.items()],
                   "problems": problems, "runs": {l: r for l, r in runs}}, f, indent=1)
    print("\n".join(md))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
