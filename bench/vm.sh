#!/bin/bash
# devmap-bench's datapath cases in the instruction-counting guest (QEMU TCG,
# -icount shift=0,sleep=off, one CPU: a guest ns is a guest instruction, and
# a figure repeats exactly), on each given kernel, then side by side.
#
#   bench/vm.sh OUT LABEL=BZIMAGE...
#
# Writes OUT.json (every run) and OUT.md (the table). Used by make bench-vm
# and make bench-vm-steps; BENCH_VM_FLAGS overrides the devmap-bench flags.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$REPO/build}
FLAGS=${BENCH_VM_FLAGS:---sections datapath --sizes 64 --slots 1 --cp-slots 1 --veths 2 --runs 5 --packets 20000}
[ $# -ge 2 ] || { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
out=$1; shift

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=() labels=()
commit=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
for spec in "$@"; do
	label=${spec%%=*} kernel=${spec#*=}
	[ -f "$kernel" ] || { echo "bench/vm.sh: no kernel at $kernel" >&2; exit 2; }
	echo "== $label: $kernel" >&2
	# shellcheck disable=SC2086
	ICOUNT=1 SMP=1 "$REPO/kernel-patches/vmtest.sh" -k "$kernel" -t 1200 -o "$tmp/$label" -- \
		"$BUILD/bench/devmap-bench" $FLAGS --commit "$commit" --out /run/scratch/out/bench.json >&2
	files+=("$tmp/$label/bench.json") labels+=("$label")
done
"$BUILD/bench/devmap-bench" --compare "${files[@]}" --labels "${labels[@]}" \
	--unit "instructions/pkt" --out "$out.json"
echo "wrote $out.json and $out.md" >&2
