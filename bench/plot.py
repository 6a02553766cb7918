#!/usr/bin/python3
"""Plots of one devmap-bench results file (Debian's python3-matplotlib).

    bench/plot.py RESULTS.json OUTDIR

Writes OUTDIR/datapath.png (median ns/pkt with min-max bars, per case and frame
size), OUTDIR/slot-scaling.png (ns/pkt against the number of slots, per
case and program sharing) and OUTDIR/cpumap.png (Mframes/s of the CPU doing
the work, single CPU vs split over two, with min-max bars and the ratio), each
when the results have that section.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def datapath(results, out):
    rows = results.get("datapath", [])
    if not rows:
        return
    sizes = sorted({r["frame_bytes"] for r in rows})
    cases = []
    for r in rows:
        if r["case"] not in cases:
            cases.append(r["case"])
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(sizes)
    for i, size in enumerate(sizes):
        xs, med, lo, hi = [], [], [], []
        for j, case in enumerate(cases):
            r = next((r for r in rows if r["case"] == case and r["frame_bytes"] == size), None)
            if not r:
                continue
            s = r["ns_per_pkt"]
            xs.append(j + i * width)
            med.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
        ax.bar(xs, med, width, yerr=[lo, hi], capsize=3, label=f"{size} B")
    ax.set_xticks([j + width * (len(sizes) - 1) / 2 for j in range(len(cases))])
    ax.set_xticklabels(cases, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("ns per packet (median, min-max)")
    ax.set_title(f"Datapath, one target — kernel {results['environment']['kernel']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "datapath.png"), dpi=110)


def scaling(results, out):
    rows = results.get("scaling", [])
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    series = {}
    for r in rows:
        key = r["case"] if r["programs"] == "none" else f"{r['case']} ({r['programs']})"
        series.setdefault(key, []).append((r["slots"], r["ns_per_pkt"]["median"]))
    for key, points in sorted(series.items()):
        points.sort()
        style = "--" if "tailcall" in key else "-"
        ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=key)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("slots (traffic spread across them)")
    ax.set_ylabel("ns per packet (median)")
    ax.set_title("Slot scaling: prog-in-map (solid) vs tail call (dashed)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "slot-scaling.png"), dpi=110)


def cpumap(results, out):
    rows = [r for r in results.get("cpumap", []) if "skipped" not in r]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.38
    labels = []
    for i, r in enumerate(rows):
        label = r["case"]
        if r["case"] == "heavy":
            label += f" (+{r['policy_extra_ns']:.0f} ns)"
        if r["rx_work"]:
            label += f"\n+ RX work ~{r['rx_work_ns']:.0f} ns"
        labels.append(label)
        for j, mode in enumerate(("single", "split")):
            s = r[mode]["mframes_per_s"]
            ax.bar(i + (j - 0.5) * width, s["median"], width,
                   yerr=[[s["median"] - s["min"]], [s["max"] - s["median"]]], capsize=3,
                   color=("C0", "C1")[j], label=(f"single CPU (CPU {r['rx_cpu']})",
                                                 f"split (policy on CPU {r['work_cpu']})")[j] if i == 0 else None)
        top = max(r["single"]["mframes_per_s"]["max"], r["split"]["mframes_per_s"]["max"])
        ax.annotate(f"{r['ratio_split_to_single']:.2f}x", (i, top), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("Mframes/s of the CPU doing the work\n(median, min-max)")
    ax.set_title("cpumap: policy on a second CPU vs the same work on one (split / single)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "cpumap.png"), dpi=110)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        results = json.load(f)
    os.makedirs(sys.argv[2], exist_ok=True)
    datapath(results, sys.argv[2])
    scaling(results, sys.argv[2])
    cpumap(results, sys.argv[2])


if __name__ == "__main__":
    main()
