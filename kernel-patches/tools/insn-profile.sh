#!/bin/bash
# Per-function guest instruction profile of one devmap-bench datapath case:
# how many instructions one packet costs in each kernel function (and in the
# JIT'd BPF programs), over one batch of 64 live frames. `make profile` runs it.
#
#   kernel-patches/tools/insn-profile.sh [options] CASE
#
# CASE: xdp_drop redirect egress_pass egress_drop_rule tailcall_pass
#       tailcall_drop_rule broadcast_N broadcast_pass_N (N slots), built by build/bench/insn-case as devmap-bench
#       builds them for make bench-vm (--sections datapath --sizes 64
#       --slots 1 --veths 2).
#
# How: vmtest.sh boots the kernel in QEMU TCG (one CPU, single-threaded,
# -icount shift=0,sleep=off, nokaslr) with the gdbstub on and the guest
# paused (-S); the guest runs insn-case CASE (a 4096-frame warm-up run, then a
# 20000-frame run). gdb (insn_profile.py) lets SKIP calls of the kernel's
# xdp_test_run_batch() go by, then single-steps from the entry of the next
# call to the entry of the one after: the 64 ingress program runs and their
# redirects, xdp_do_flush(), the softirq that local_bh_enable() runs at the
# end of the batch (veth NAPI poll, the peer's XDP_DROP program) and the loop
# step of bpf_test_run_xdp_live(): what the kernel's own test-run timer counts
# per batch. PCs map to vmlinux symbols, and to the guest's bpf_kallsyms
# (bpf_prog_<tag>_<name>, dispatcher, trampolines) for JIT code. A second,
# plain boot (no gdb: its stops advance the icount clock, so the profiled
# boot's own timing is void) runs the same driver for the kernel's own figure
# (instructions/pkt, as make bench-vm measures it), to compare the total with.
# About 1-2 minutes a case on a 2-core machine (most of it single-stepping,
# ~1000-1500 instructions/s).
#
# Options:
#   -f FLAVOUR   patched (default) or stock: the kernel build.sh builds,
#                $KBUILD_DIR/out-FLAVOUR (KDEBUG=1: out-FLAVOUR-debug)
#   -k DIR       any kernel dir instead: DIR/vmlinux, and DIR/bzImage or
#                DIR/arch/x86/boot/bzImage (e.g. a bench-vm-steps kernel)
#   -o DIR       output dir (default: $BUILD/insn-profile/CASE-FLAVOUR, or
#                CASE-<basename of the -k dir>): profile.json, profile.txt,
#                pcs.txt (the PC trace), guest.log, gdb.log, figure.log
#   -s SKIP      calls of xdp_test_run_batch to let run before stepping
#                (default 72: the 64 of the warm-up run and 8 of the measured
#                run, so a steady-state batch in the middle of a run)
#   -n BATCHES   consecutive batches to step (default 1; figures are per
#                packet over all of them)
#   -p PORT      gdbstub TCP port (default: a free one from 1234 up)
#   -r ROWS      rows of the printed table (default 40; the JSON has all)
#   -t SECONDS   give up after this long (default 3600)
#   -F           skip the plain boot for the kernel's own figure
# Environment: KBUILD_DIR (default <repo>/kbuild, as build.sh), BUILD (the
#   CMake build dir, default <repo>/build: bench/insn-case comes from there;
#   make build), INSN_CASE (the guest driver instead), VMTEST (default
#   kernel-patches/vmtest.sh).
# Compare two profiles: kernel-patches/tools/insn-diff.py A/profile.json
# B/profile.json; print one again: kernel-patches/tools/insn_profile.py DIR.
# Needs: qemu-system-x86, gdb with python (make profile installs them).
# Runs one QEMU at a time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KBUILD_DIR=${KBUILD_DIR:-$REPO/kbuild}
BUILD=${BUILD:-$REPO/build}
INSN_CASE=${INSN_CASE:-$BUILD/bench/insn-case}
VMTEST=${VMTEST:-$REPO/kernel-patches/vmtest.sh}
FLAVOUR=patched
KDIR=
OUT=
SKIP=72
BATCHES=1
PORT=
ROWS=40
TIMEOUT=3600
FIGURE=1

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "insn-profile: $*" >&2; exit 2; }
while getopts "f:k:o:s:n:p:r:t:Fh" o; do
	case $o in
	f) FLAVOUR=$OPTARG;; k) KDIR=$OPTARG;; o) OUT=$OPTARG;; s) SKIP=$OPTARG;;
	n) BATCHES=$OPTARG;; p) PORT=$OPTARG;; r) ROWS=$OPTARG;; t) TIMEOUT=$OPTARG;;
	F) FIGURE=0;; *) usage;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
CASE=$1
case $CASE in
xdp_drop) PROG=bench_drop;;
redirect | egress_pass | egress_drop_rule) PROG=bench_redirect;;
tailcall_pass | tailcall_drop_rule) PROG=bench_tailcall;;
broadcast_[0-9]* | broadcast_pass_[0-9]*) PROG=bench_broadcast;;
*) echo "insn-profile: unknown case '$CASE'" >&2; usage;;
esac

if [ -n "$KDIR" ]; then
	LABEL=$(basename "$(cd "$KDIR" && pwd)")
else
	case $FLAVOUR in patched | stock) ;; *) die "-f takes patched or stock";; esac
	LABEL=$FLAVOUR
	[ "${KDEBUG:-0}" = 1 ] && LABEL=$FLAVOUR-debug
	KDIR=$KBUILD_DIR/out-$LABEL
fi
[ -d "$KDIR" ] || die "no kernel dir $KDIR (build it: make -C kernel-patches kernel / kernel-stock)"
KDIR=$(cd "$KDIR" && pwd)
BZIMAGE=$KDIR/arch/x86/boot/bzImage
[ -f "$BZIMAGE" ] || BZIMAGE=$KDIR/bzImage
[ -f "$BZIMAGE" ] || die "no bzImage in $KDIR or $KDIR/arch/x86/boot"
[ -f "$KDIR/vmlinux" ] || die "no $KDIR/vmlinux"
[ -x "$INSN_CASE" ] || die "no guest driver $INSN_CASE (make build)"
OUT=${OUT:-$BUILD/insn-profile/$CASE-$LABEL}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/profile.json" "$OUT/profile.txt" "$OUT/figure.log"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "$PORT" ]; then
	PORT=1234
	while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
fi

VPID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
		kill "$VPID" 2>/dev/null || true
		wait "$VPID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The instruction-counting guest of make bench-vm; nokaslr: the addresses in
# vmlinux are the running kernel's.
export ICOUNT=1 SMP=1 ACCEL=tcg TCG_THREAD=single APPEND_EXTRA=nokaslr

echo "insn-profile: $CASE on $KDIR, gdbstub :$PORT, skip $SKIP, $BATCHES batch(es) -> $OUT" >&2
t0=$(date +%s)
# vmtest.sh in the background (its own timeout kills QEMU); QEMU waits for
# gdb (-S).
QEMU_EXTRA="-gdb tcp:127.0.0.1:$PORT -S" \
	"$VMTEST" -k "$BZIMAGE" -t "$TIMEOUT" -- "$INSN_CASE" "$CASE" >"$OUT/guest.log" 2>&1 &
VPID=$!

grc=0
IP_PORT=$PORT IP_SKIP=$SKIP IP_BATCHES=$BATCHES IP_OUT=$OUT IP_PROG=$PROG \
	IP_LABEL="$CASE on $KDIR" \
	gdb -q -batch -nx -x "$HERE/insn_profile.py" "$KDIR/vmlinux" 2>&1 | tee "$OUT/gdb.log" >&2 || grc=$?
vrc=0
wait "$VPID" || vrc=$?
VPID=
if [ ! -s "$OUT/profile.json" ]; then
	echo "insn-profile: no profile (gdb failed, see $OUT/gdb.log); the guest's log:" >&2
	tail -20 "$OUT/guest.log" >&2
	exit 1
fi
[ "$vrc" = 0 ] || echo "insn-profile: WARNING: the guest run ended with $vrc (see $OUT/guest.log)" >&2
if [ "$FIGURE" = 1 ]; then
	echo "insn-profile: plain boot for the kernel's own figure" >&2
	"$VMTEST" -k "$BZIMAGE" -t 900 -- "$INSN_CASE" "$CASE" >"$OUT/figure.log" 2>&1 ||
		echo "insn-profile: WARNING: the plain boot failed (see $OUT/figure.log)" >&2
fi
t1=$(date +%s)

python3 "$HERE/insn_profile.py" --rows "$ROWS" "$OUT" | tee "$OUT/profile.txt"
echo "whole run (both boots): $((t1 - t0)) s" | tee -a "$OUT/profile.txt"
exit "$grc"
