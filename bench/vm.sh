#!/bin/bash
# devmap-bench's datapath cases in the instruction-counting guest (QEMU TCG,
# -icount shift=0,sleep=off, one CPU: a guest ns is a guest instruction, and
# a figure repeats exactly), on each given kernel, then side by side.
#
#   bench/vm.sh [-c LABEL] OUT LABEL=BZIMAGE...
#
# Writes OUT.json (every run) and OUT.md (the table). -c LABEL also runs the
# control-plane section on that kernel (the patched one: one default-program
# replace vs 1000 slot updates) into OUT-control.json and .md.
# -a also runs the cpumap redirect-again path on each kernel (devmap-bench
# --sections cpumap --cpumap-one-cpu: the slot on the guest's one CPU, so the
# split's figure is every instruction of the path per frame) into
# OUT-cpumap.json and .md, and again with the policy passing every frame to
# the stack (--cpumap-pass: the kthread builds skbs) into OUT-cpumap-pass.*.
# The queue (16384, cpumap's largest) holds a
# whole run (16000 frames): on one CPU the RX side fills it before the
# kthread runs, and with 2048 about 70% of the frames were dropped there
# (measured on arm64), which vm_cpumap.py refuses.
# Used by make bench-vm, bench-vm-steps and bench-vm-arm64; BENCH_VM_FLAGS,
# BENCH_VM_CONTROL_FLAGS and BENCH_VM_CPUMAP_FLAGS override the devmap-bench
# flags. KARCH=arm64 boots arm64 kernels (kernel-patches/vmtest.sh) and runs
# GUEST_BUILD's devmap-bench in them (default: BUILD's); the side-by-side
# tables come from BUILD's (the host's), or GUEST_BUILD's under qemu-user.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$REPO/build}
GUEST_BUILD=${GUEST_BUILD:-$BUILD}
# The side-by-side tables: the host's devmap-bench, or, with no native build,
# the guest's under qemu-user (it only reads and writes files then).
HOST_BENCH=("$BUILD/bench/devmap-bench")
if [ ! -x "$BUILD/bench/devmap-bench" ] && [ "${KARCH:-}" = arm64 ]; then
	HOST_BENCH=(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$GUEST_BUILD/bench/devmap-bench")
fi
FLAGS=${BENCH_VM_FLAGS:---sections datapath --sizes 64 --slots 1 --cp-slots 1 --veths 16 --runs 5 --packets 20000}
CONTROL_FLAGS=${BENCH_VM_CONTROL_FLAGS:---sections control --cp-slots 1000 --slots 1 --veths 2 --runs 3 --packets 1000}
CPUMAP_FLAGS=${BENCH_VM_CPUMAP_FLAGS:---sections cpumap --cpumap-one-cpu --cpumap-qsize 16384 --cpumap-frames 16000 --rx-ns 0 --heavy-ns 250 --runs 3 --sizes 64 --slots 1 --veths 2}
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
control= cpumap=0
while getopts "c:ah" o; do
	case $o in c) control=$OPTARG;; a) cpumap=1;; *) usage;; esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
out=$1; shift

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
commit=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)

# guest_bench KERNEL DIR NAME FLAGS...: devmap-bench in the counting guest,
# its NAME.json and NAME.md copied back into DIR.
guest_bench() {
	local kernel=$1 dir=$2 name=$3
	shift 3
	ICOUNT=1 SMP=1 "$REPO/kernel-patches/vmtest.sh" -k "$kernel" -t 1200 -o "$dir" -- \
		"$GUEST_BUILD/bench/devmap-bench" "$@" --commit "$commit" --out "/run/scratch/out/$name.json" >&2
}

files=() labels=() control_kernel=
for spec in "$@"; do
	label=${spec%%=*} kernel=${spec#*=}
	[ -f "$kernel" ] || { echo "bench/vm.sh: no kernel at $kernel" >&2; exit 2; }
	[ "$label" = "$control" ] && control_kernel=$kernel
	echo "== $label: $kernel" >&2
	# shellcheck disable=SC2086
	guest_bench "$kernel" "$tmp/$label" bench $FLAGS
	files+=("$tmp/$label/bench.json") labels+=("$label")
done
"${HOST_BENCH[@]}" --compare "${files[@]}" --labels "${labels[@]}" \
	--unit "instructions/pkt" --out "$out.json"
echo "wrote $out.json and $out.md" >&2

if [ -n "$control" ]; then
	[ -n "$control_kernel" ] || { echo "bench/vm.sh: -c $control names none of the kernels" >&2; exit 2; }
	echo "== $control: control plane" >&2
	# shellcheck disable=SC2086
	guest_bench "$control_kernel" "$tmp/control" control $CONTROL_FLAGS >/dev/null
	cp "$tmp/control/control.json" "$out-control.json"
	cp "$tmp/control/control.md" "$out-control.md"
	grep -E "^\| (update_policy|default_replace):|faster" "$out-control.md" || true
	echo "wrote $out-control.json and $out-control.md" >&2
fi

if [ "$cpumap" = 1 ]; then
	for verdict in redirect pass; do
		suffix= extra=
		[ "$verdict" = pass ] && suffix=-pass extra=--cpumap-pass
		cfiles=()
		for spec in "$@"; do
			label=${spec%%=*} kernel=${spec#*=}
			echo "== $label: cpumap, $verdict, one CPU" >&2
			# shellcheck disable=SC2086
			guest_bench "$kernel" "$tmp/cpumap$suffix-$label" cpumap $CPUMAP_FLAGS $extra >/dev/null
			cfiles+=("$label=$tmp/cpumap$suffix-$label/cpumap.json")
		done
		python3 "$HERE/vm_cpumap.py" "$out-cpumap$suffix" "${cfiles[@]}"
		echo "wrote $out-cpumap$suffix.json and $out-cpumap$suffix.md" >&2
	done
fi
